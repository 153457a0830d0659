//! camguard's side of ubus, over the ubus-zero protocol core.
//!
//! ubus-zero does the wire protocol; this module adds what the daemon needs around it: a
//! transport on a std socket whose descriptor the event loop can poll, per-call deadlines, JSON
//! in and out, a client that survives the callee re-registering, and a provider that registers
//! its methods' argument types and can answer any ubus status (ubus-zero's own provider
//! registers methods without arguments and answers handler errors with 9 only).
pub mod blob;
pub mod policy;

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ubus::client::UbusClient;
use ubus::envelope::{try_find, EnvBuilder, UbusAttr};
use ubus::msg::{InboundMsg, OutboundMsg};
use ubus::wire::{Codec, Frame, MsgType, ObjId, PeerId, HEADER_SIZE, MAX_MSG_LEN};
use ubus::{BlobMsgTable, Transport, UbusError};

use crate::sorted::SortedMap;

use policy::Signature;

use crate::json::{Map, Value};
use crate::sys::{wait_until_ready, Interest};

/// Where OpenWrt's ubusd listens.
pub const DEFAULT_SOCKET: &str = "/var/run/ubus/ubus.sock";

/// ubus status codes (libubus `enum ubus_msg_status`).
pub mod status {
    pub const INVALID_ARGUMENT: i32 = 2;
    pub const METHOD_NOT_FOUND: i32 = 3;
    pub const NOT_FOUND: i32 = 4;
    pub const PERMISSION_DENIED: i32 = 6;
    pub const TIMEOUT: i32 = 7;
    pub const NOT_SUPPORTED: i32 = 8;
    pub const UNKNOWN_ERROR: i32 = 9;
}

/// A failed ubus call, in the terms a caller acts on.
#[derive(Debug)]
pub enum BusError {
    /// The callee answered with a non-zero ubus status (4: no such object or entry, …).
    Status(i32),
    /// No answer before the deadline.
    Timeout,
    /// The broker connection is gone: reconnect.
    Disconnected,
    /// The broker's socket (the path) could not be opened.
    Connect(Box<(String, std::io::Error)>),
    /// A message ubus-zero could not encode or decode (a value blobmsg cannot carry, a
    /// malformed reply).
    Protocol(Box<UbusError>),
    /// The broker accepted the object but named no id for it.
    NoObjectId,
}

impl BusError {
    /// The broker or the callee went away (or stopped answering) mid-conversation: the calls
    /// after this one fail too, and a change half made must wait until ubus is back.
    pub fn interrupts(&self) -> bool {
        self.interruption().is_some()
    }

    /// The interruption this error is, to keep beside the error itself.
    pub fn interruption(&self) -> Option<BusError> {
        match self {
            BusError::Disconnected => Some(BusError::Disconnected),
            BusError::Timeout => Some(BusError::Timeout),
            _ => None,
        }
    }
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Status(s) => write!(f, "ubus status {s} ({})", status_text(*s)),
            BusError::Timeout => f.write_str("no answer before the deadline"),
            BusError::Disconnected => f.write_str("the ubus connection is closed"),
            BusError::Connect(failure) => write!(f, "{}: {}", failure.0, failure.1),
            BusError::Protocol(e) => write!(f, "{e:?}"),
            BusError::NoObjectId => f.write_str("the broker registered the object without an id"),
        }
    }
}

impl std::error::Error for BusError {}

pub fn status_text(code: i32) -> &'static str {
    match code {
        0 => "ok",
        1 => "invalid command",
        2 => "invalid argument",
        3 => "method not found",
        4 => "not found",
        5 => "no data",
        6 => "permission denied",
        7 => "timeout",
        8 => "not supported",
        9 => "unknown error",
        10 => "connection failed",
        _ => "unknown status",
    }
}

impl BusError {
    fn protocol(e: UbusError) -> BusError {
        BusError::Protocol(Box::new(e))
    }
}

impl From<UbusError> for BusError {
    fn from(e: UbusError) -> Self {
        match e {
            UbusError::Status(s) => BusError::Status(s),
            UbusError::Timeout(_) => BusError::Timeout,
            UbusError::Closed => BusError::Disconnected,
            other => BusError::protocol(other),
        }
    }
}

/// A ubus connection on a non-blocking Unix socket with an optional deadline.
pub struct SocketTransport {
    stream: UnixStream,
    rx: Vec<u8>,
    deadline: Option<Instant>,
    /// A send failed after writing part of its frame. The broker takes whatever comes next as
    /// the rest of that frame, so every later send and receive fails as `Closed`: the caller
    /// reconnects instead of talking past the broker.
    frame_cut_short: bool,
}

impl SocketTransport {
    pub fn connect(path: &str) -> io::Result<SocketTransport> {
        SocketTransport::over(UnixStream::connect(path)?)
    }

    fn over(stream: UnixStream) -> io::Result<SocketTransport> {
        stream.set_nonblocking(true)?;
        Ok(SocketTransport {
            stream,
            rx: Vec::with_capacity(4096),
            deadline: None,
            frame_cut_short: false,
        })
    }

    /// Operations fail with a timeout after this long (None: no deadline).
    pub fn set_deadline(&mut self, timeout: Option<Duration>) {
        self.deadline = timeout.map(|t| Instant::now() + t);
    }

    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn wait(&self, interest: Interest) {
        let remaining = self.deadline.map_or(Duration::from_millis(50), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let timeout = remaining.min(Duration::from_millis(50));
        wait_until_ready(self.stream.as_fd(), interest, timeout);
    }

    /// Writes all of `bytes`, counting in `sent` what went out even when it fails.
    fn write_all(&mut self, bytes: &[u8], sent: &mut usize) -> Result<(), UbusError> {
        let hard_stop = Instant::now() + Duration::from_secs(5);
        while *sent < bytes.len() {
            match self.stream.write(&bytes[*sent..]) {
                Ok(0) => return Err(UbusError::Closed),
                Ok(n) => *sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.expired() || Instant::now() >= hard_stop {
                        return Err(UbusError::Timeout("send"));
                    }
                    self.wait(Interest::Write);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return Err(UbusError::Closed)
                }
                Err(e) => return Err(UbusError::Io(e.to_string())),
            }
        }
        Ok(())
    }
}

impl AsFd for SocketTransport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl Transport for SocketTransport {
    fn send(&mut self, frame: &Frame) -> Result<(), UbusError> {
        if self.frame_cut_short {
            return Err(UbusError::Closed);
        }
        let bytes = Codec::write_frame(frame);
        let mut sent = 0;
        let result = self.write_all(&bytes, &mut sent);
        // Nothing written leaves the stream in step, and the connection usable.
        self.frame_cut_short = result.is_err() && sent > 0;
        result
    }

    fn recv(&mut self) -> Result<Option<Frame>, UbusError> {
        if self.frame_cut_short {
            return Err(UbusError::Closed);
        }
        let mut chunk = [0u8; 4096];
        loop {
            if self.rx.len() >= HEADER_SIZE + 4 {
                match Codec::read_frame(&self.rx) {
                    Ok((frame, used)) => {
                        self.rx.drain(..used);
                        return Ok(Some(frame));
                    }
                    Err(UbusError::Short { .. }) => {}
                    Err(e) => {
                        self.rx.clear();
                        return Err(e);
                    }
                }
            }
            if self.expired() {
                return Err(UbusError::Timeout("receive"));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(UbusError::Closed),
                Ok(n) => {
                    if self.rx.len() + n > 2 * MAX_MSG_LEN {
                        self.rx.clear();
                        return Err(UbusError::Malformed("receive buffer over its cap"));
                    }
                    self.rx.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(UbusError::Closed)
                }
                Err(e) => return Err(UbusError::Io(e.to_string())),
            }
        }
    }

    fn wait_recv(&mut self) {
        self.wait(Interest::Read);
    }
}

/// Calls other ubus objects (rpcd, procd, netifd), each call bounded by a deadline.
pub struct Client {
    inner: UbusClient<SocketTransport>,
    /// A few objects (rpcd's, procd's): a sorted Vec, not a hash table.
    ids: SortedMap<String, u32>,
    timeout: Duration,
    /// Set after a timeout: a late reply may still arrive and be taken for the next call's, so
    /// the connection is not used again (every later call fails at once; reconnect instead).
    broken: bool,
}

impl Client {
    pub fn connect(socket: &str, timeout: Duration) -> Result<Client, BusError> {
        let mut transport = SocketTransport::connect(socket)
            .map_err(|error| BusError::Connect(Box::new((socket.to_owned(), error))))?;
        transport.set_deadline(Some(timeout));
        let inner = UbusClient::connect(transport)?;
        Ok(Client {
            inner,
            ids: SortedMap::new(),
            timeout,
            broken: false,
        })
    }

    fn object_id(&mut self, object: &str) -> Result<u32, BusError> {
        if let Some(id) = self.ids.get(object) {
            return Ok(*id);
        }
        self.inner.transport_mut().set_deadline(Some(self.timeout));
        let id = self.inner.lookup(object).map_err(BusError::from)?;
        self.ids.insert(object.to_owned(), id);
        Ok(id)
    }

    /// Calls `object.method(args)`; `args` must be a JSON object. A missing object or method is
    /// `Status(4)`/`Status(3)`, which callers treat as "not installed".
    pub fn call(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError> {
        let result = self.call_once(object, method, args);
        if result.as_ref().is_err_and(BusError::interrupts) {
            self.broken = true;
        }
        result
    }

    /// [`Client::call`] with its own deadline instead of the connection's.
    pub fn call_within(
        &mut self,
        object: &str,
        method: &str,
        args: &Value,
        deadline: Duration,
    ) -> Result<Value, BusError> {
        let usual = std::mem::replace(&mut self.timeout, deadline);
        let result = self.call(object, method, args);
        self.timeout = usual;
        result
    }

    /// Whether the connection is unusable (a call timed out or the broker went away).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    fn call_once(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError> {
        if self.broken {
            return Err(BusError::Disconnected);
        }
        let table = blob::args_to_blobmsg(args).map_err(BusError::protocol)?;
        let mut retried = false;
        loop {
            let id = self.object_id(object)?;
            self.inner.transport_mut().set_deadline(Some(self.timeout));
            match self.inner.invoke(id, method, &table) {
                Ok(reply) if reply.is_empty() => return Ok(Value::Object(Default::default())),
                Ok(reply) => return blob::table_to_value(&reply).map_err(BusError::protocol),
                // The object may have been re-registered (rpcd restarted) under a new id.
                Err(UbusError::Status(status::NOT_FOUND)) if !retried => {
                    self.ids.remove(object);
                    retried = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Like [`Client::call`], but returns the reply's raw blobmsg bytes (benchmarks measure the
    /// callee without the client's JSON decoding).
    pub fn call_raw(
        &mut self,
        object: &str,
        method: &str,
        args: &Value,
    ) -> Result<Vec<u8>, BusError> {
        let table = blob::args_to_blobmsg(args).map_err(BusError::protocol)?;
        let id = self.object_id(object)?;
        self.inner.transport_mut().set_deadline(Some(self.timeout));
        self.inner
            .invoke(id, method, &table)
            .map_err(BusError::from)
    }

    /// Broadcasts a ubus event (`ubus send NAME DATA`).
    pub fn send_event(&mut self, name: &str, data: &Value) -> Result<(), BusError> {
        let table = blob::args_to_blobmsg(data).map_err(BusError::protocol)?;
        self.inner.transport_mut().set_deadline(Some(self.timeout));
        self.inner.send_event(name, &table).map_err(BusError::from)
    }
}

/// Calls on the bus; [`crate::bus::Client`] in the daemon, a scripted stand-in in tests.
pub trait Bus {
    fn call(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError>;

    /// A call whose callee answers only when its work is done and may take up to `deadline`
    /// (rpcd's `rc init` replies when the init script exits).
    fn call_within(
        &mut self,
        object: &str,
        method: &str,
        args: &Value,
        deadline: std::time::Duration,
    ) -> Result<Value, BusError> {
        let _ = deadline;
        self.call(object, method, args)
    }
}

impl Bus for Client {
    fn call(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError> {
        Client::call(self, object, method, args)
    }

    fn call_within(
        &mut self,
        object: &str,
        method: &str,
        args: &Value,
        deadline: std::time::Duration,
    ) -> Result<Value, BusError> {
        Client::call_within(self, object, method, args, deadline)
    }
}

/// One registered ubus object whose requests the caller answers from its own poll loop.
pub struct Provider {
    client: UbusClient<SocketTransport>,
    object_id: ObjId,
    /// The anonymous object ubus events arrive at, once [`Provider::listen`] asked for them.
    listener: Option<ObjId>,
}

/// A ubus event the provider's connection received: its name and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub data: Map<String, Value>,
}

impl Provider {
    /// Connects and registers the object `name` with its methods' argument types, as libubus's
    /// `ubus_add_object` does (ubus-zero's own registration sends every method without them).
    pub fn register(
        socket: &str,
        name: &str,
        signature: &Signature,
        timeout: Duration,
    ) -> Result<Provider, BusError> {
        let mut transport = SocketTransport::connect(socket)
            .map_err(|error| BusError::Connect(Box::new((socket.to_owned(), error))))?;
        transport.set_deadline(Some(timeout));
        let mut client = UbusClient::connect(transport)?;
        let mut envelope = EnvBuilder::new();
        envelope.push_str(UbusAttr::ObjPath, name);
        envelope.push_signature(signature.as_bytes());
        // Both brokers send the new id in a DATA frame before STATUS 0; libubus reads it only
        // there.
        let mut object_id = None;
        client.request(MsgType::AddObject, 0, envelope, |frame| {
            object_id = try_find(&frame.payload, UbusAttr::ObjId)?.and_then(|a| a.as_u32());
            Ok(())
        })?;
        let object_id = object_id.and_then(ObjId::new).ok_or(BusError::NoObjectId)?;
        client.transport_mut().set_deadline(None);
        Ok(Provider {
            client,
            object_id,
            listener: None,
        })
    }

    pub fn fd(&mut self) -> BorrowedFd<'_> {
        let transport: &SocketTransport = self.client.transport_mut();
        transport.as_fd()
    }

    /// Answers every request already received. `handler(method, args)` returns the reply object
    /// or a ubus status. Err means the connection is gone.
    /// Asks the broker for the events matching `pattern` (`ubus.object.add`) on this
    /// connection; [`Provider::serve`] returns them. libubus does the same: an anonymous object
    /// and a `register` call to the broker's event object.
    pub fn listen(&mut self, pattern: &str) -> Result<(), BusError> {
        let transport = self.client.transport_mut();
        transport.set_deadline(Some(Duration::from_secs(2)));
        let id = self.client.add_anonymous_object()?;
        self.client.register_event(id, pattern)?;
        self.listener = ObjId::new(id);
        Ok(())
    }

    /// Answers every request already received, and returns the events that arrived with them.
    /// `handler(method, args)` returns the reply object or a ubus status. Err means the
    /// connection is gone.
    pub fn serve<R: std::borrow::Borrow<BlobMsgTable>>(
        &mut self,
        mut handler: impl FnMut(&str, &Map<String, Value>) -> Result<R, i32>,
    ) -> Result<Vec<Event>, BusError> {
        let obj = Some(self.object_id);
        let mut events = Vec::new();
        loop {
            self.client.transport_mut().set_deadline(None);
            let Some(frame) = self.client.recv_frame()? else {
                return Ok(events);
            };
            let Ok(InboundMsg::Invoke {
                seq,
                peer,
                obj_id,
                method,
                data,
            }) = InboundMsg::parse(&frame)
            else {
                continue;
            };
            let args = match data.map(blob::table_to_value) {
                None => Ok(Map::new()),
                Some(Ok(Value::Object(map))) => Ok(map),
                Some(_) => Err(status::INVALID_ARGUMENT),
            };
            // An event is a one-way INVOKE to the listener object: the broker expects no reply.
            if Some(obj_id) == self.listener {
                events.push(Event {
                    name: method.to_owned(),
                    data: args.unwrap_or_default(),
                });
                continue;
            }
            let Some(peer) = PeerId::new(peer) else {
                continue;
            };
            let result = args.and_then(|a| handler(method, &a));
            let transport = self.client.transport_mut();
            let code = match result {
                // A reply over ubus's 1 MiB limit cannot be sent; callers page long lists.
                Ok(table) if table.borrow().contents().len() > MAX_MSG_LEN - 1024 => {
                    status::UNKNOWN_ERROR
                }
                Ok(table) => {
                    let data_frame = OutboundMsg::DataReply {
                        peer,
                        obj_id: obj,
                        data: table.borrow(),
                    }
                    .into_frame(seq);
                    transport.set_deadline(Some(Duration::from_secs(2)));
                    transport.send(&data_frame)?;
                    0
                }
                Err(code) => code,
            };
            transport.set_deadline(Some(Duration::from_secs(2)));
            transport.send(
                &OutboundMsg::Status {
                    peer,
                    obj_id: obj,
                    status: code,
                }
                .into_frame(seq),
            )?;
        }
    }

    /// Removes the object from the broker (on a clean shutdown).
    pub fn unregister(&mut self) {
        self.client
            .transport_mut()
            .set_deadline(Some(Duration::from_secs(1)));
        let mut envelope = EnvBuilder::new();
        envelope.push_u32(UbusAttr::ObjId, self.object_id.get());
        let _ = self
            .client
            .request(MsgType::RemoveObject, 0, envelope, |_| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ubus::MsgType;

    /// A frame the socket buffer cannot take at once (about 200 KB on Linux).
    fn frame_larger_than_the_socket_buffer() -> Frame {
        Frame::to_broker(MsgType::Ping, 1, vec![0x55; 512 * 1024])
    }

    fn small_frame() -> Frame {
        Frame::to_broker(MsgType::Ping, 2, Vec::new())
    }

    /// What the broker side has received so far.
    fn drain(broker: &mut UnixStream) -> usize {
        broker.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while let Ok(n @ 1..) = broker.read(&mut buf) {
            total += n;
        }
        total
    }

    #[test]
    fn a_send_cut_short_makes_every_later_send_and_receive_fail() {
        let (ours, mut broker) = UnixStream::pair().unwrap();
        let mut transport = SocketTransport::over(ours).unwrap();
        transport.set_deadline(Some(Duration::from_millis(50)));
        assert!(matches!(
            transport.send(&frame_larger_than_the_socket_buffer()),
            Err(UbusError::Timeout(_))
        ));
        assert!(drain(&mut broker) > 0, "part of the frame went out");
        // The buffer has room again: a send now would append to the unfinished frame.
        transport.set_deadline(Some(Duration::from_secs(1)));
        assert!(matches!(
            transport.send(&small_frame()),
            Err(UbusError::Closed)
        ));
        assert!(matches!(transport.recv(), Err(UbusError::Closed)));
        assert_eq!(drain(&mut broker), 0, "nothing follows the cut-short frame");
    }

    #[test]
    fn a_send_that_times_out_before_writing_anything_keeps_the_connection() {
        let (ours, mut broker) = UnixStream::pair().unwrap();
        // Fill the socket buffer first, so that the send cannot write a byte.
        let mut filler = ours.try_clone().unwrap();
        filler.set_nonblocking(true).unwrap();
        while filler.write(&[0u8; 4096]).is_ok() {}
        let mut transport = SocketTransport::over(ours).unwrap();
        transport.set_deadline(Some(Duration::from_millis(50)));
        assert!(matches!(
            transport.send(&small_frame()),
            Err(UbusError::Timeout(_))
        ));
        drain(&mut broker);
        transport.set_deadline(Some(Duration::from_secs(1)));
        assert!(transport.send(&small_frame()).is_ok());
        assert_eq!(drain(&mut broker), Codec::write_frame(&small_frame()).len());
    }
}
