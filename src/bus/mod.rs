//! camguard's side of ubus, over the ubus-zero protocol core.
//!
//! ubus-zero does the wire protocol; this module adds what the daemon needs around it: a
//! transport on a std socket whose descriptor the event loop can poll, per-call deadlines, JSON
//! in and out, a client that survives the callee re-registering, and a provider that registers
//! its methods' argument types and can answer any ubus status (ubus-zero's own provider
//! registers methods without arguments and answers handler errors with 9 only).
pub mod blob;
pub mod policy;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use ubus::client::UbusClient;
use ubus::envelope::{try_find, EnvBuilder, UbusAttr};
use ubus::msg::{InboundMsg, OutboundMsg};
use ubus::wire::{Codec, Frame, MsgType, ObjId, PeerId, HEADER_SIZE, MAX_MSG_LEN};
use ubus::{BlobMsgTable, Transport, UbusError};

use policy::Signature;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusError {
    /// The callee answered with a non-zero ubus status (4: no such object or entry, …).
    Status(i32),
    /// No answer before the deadline.
    Timeout,
    /// The broker connection is gone: reconnect.
    Disconnected,
    Other(String),
}

impl BusError {
    /// The broker or the callee went away (or stopped answering) mid-conversation: the calls
    /// after this one fail too, and a change half made must wait until ubus is back.
    pub fn interrupts(&self) -> bool {
        matches!(self, BusError::Disconnected | BusError::Timeout)
    }
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Status(s) => write!(f, "ubus status {s} ({})", status_text(*s)),
            BusError::Timeout => f.write_str("no answer before the deadline"),
            BusError::Disconnected => f.write_str("the ubus connection is closed"),
            BusError::Other(m) => f.write_str(m),
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

impl From<UbusError> for BusError {
    fn from(e: UbusError) -> Self {
        match e {
            UbusError::Status(s) => BusError::Status(s),
            UbusError::Timeout(_) => BusError::Timeout,
            UbusError::Closed => BusError::Disconnected,
            other => BusError::Other(format!("{other:?}")),
        }
    }
}

/// A ubus connection on a non-blocking Unix socket with an optional deadline.
pub struct SocketTransport {
    stream: UnixStream,
    rx: Vec<u8>,
    deadline: Option<Instant>,
}

impl SocketTransport {
    pub fn connect(path: &str) -> io::Result<SocketTransport> {
        let stream = UnixStream::connect(path)?;
        stream.set_nonblocking(true)?;
        Ok(SocketTransport {
            stream,
            rx: Vec::with_capacity(4096),
            deadline: None,
        })
    }

    /// Operations fail with a timeout after this long (None: no deadline).
    pub fn set_deadline(&mut self, timeout: Option<Duration>) {
        self.deadline = timeout.map(|t| Instant::now() + t);
    }

    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn wait(&self, events: libc::c_short) {
        let remaining = self.deadline.map_or(Duration::from_millis(50), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let mut fd = libc::pollfd {
            fd: self.stream.as_raw_fd(),
            events,
            revents: 0,
        };
        let ms = remaining.min(Duration::from_millis(50)).as_millis() as libc::c_int;
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut fd, 1, ms) };
    }
}

impl AsRawFd for SocketTransport {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

impl Transport for SocketTransport {
    fn send(&mut self, frame: &Frame) -> Result<(), UbusError> {
        let bytes = Codec::write_frame(frame);
        let mut sent = 0;
        let hard_stop = Instant::now() + Duration::from_secs(5);
        while sent < bytes.len() {
            match self.stream.write(&bytes[sent..]) {
                Ok(0) => return Err(UbusError::Closed),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.expired() || Instant::now() >= hard_stop {
                        return Err(UbusError::Timeout("send"));
                    }
                    self.wait(libc::POLLOUT);
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

    fn recv(&mut self) -> Result<Option<Frame>, UbusError> {
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
        self.wait(libc::POLLIN);
    }
}

/// Calls other ubus objects (rpcd, procd, netifd), each call bounded by a deadline.
pub struct Client {
    inner: UbusClient<SocketTransport>,
    ids: HashMap<String, u32>,
    timeout: Duration,
    /// Set after a timeout: a late reply may still arrive and be taken for the next call's, so
    /// the connection is not used again (every later call fails at once; reconnect instead).
    broken: bool,
}

impl Client {
    pub fn connect(socket: &str, timeout: Duration) -> Result<Client, BusError> {
        let mut transport = SocketTransport::connect(socket)
            .map_err(|e| BusError::Other(format!("{socket}: {e}")))?;
        transport.set_deadline(Some(timeout));
        let inner = UbusClient::connect(transport)?;
        Ok(Client {
            inner,
            ids: HashMap::new(),
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
        let table =
            ubus::json::json_to_blobmsg(args).map_err(|e| BusError::Other(format!("{e:?}")))?;
        let mut retried = false;
        loop {
            let id = self.object_id(object)?;
            self.inner.transport_mut().set_deadline(Some(self.timeout));
            match self.inner.invoke(id, method, &table) {
                Ok(reply) if reply.is_empty() => return Ok(Value::Object(Default::default())),
                Ok(reply) => {
                    return ubus::json::blobmsg_to_json(&reply)
                        .map_err(|e| BusError::Other(format!("{e:?}")))
                }
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
        let table =
            ubus::json::json_to_blobmsg(args).map_err(|e| BusError::Other(format!("{e:?}")))?;
        let id = self.object_id(object)?;
        self.inner.transport_mut().set_deadline(Some(self.timeout));
        self.inner
            .invoke(id, method, &table)
            .map_err(BusError::from)
    }

    /// Broadcasts a ubus event (`ubus send NAME DATA`).
    pub fn send_event(&mut self, name: &str, data: &Value) -> Result<(), BusError> {
        let table =
            ubus::json::json_to_blobmsg(data).map_err(|e| BusError::Other(format!("{e:?}")))?;
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
            .map_err(|e| BusError::Other(format!("{socket}: {e}")))?;
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
        let object_id = object_id.and_then(ObjId::new).ok_or_else(|| {
            BusError::Other("the broker registered the object without an id".into())
        })?;
        client.transport_mut().set_deadline(None);
        Ok(Provider { client, object_id })
    }

    pub fn fd(&mut self) -> RawFd {
        self.client.transport_mut().as_raw_fd()
    }

    /// Answers every request already received. `handler(method, args)` returns the reply object
    /// or a ubus status. Err means the connection is gone.
    pub fn serve(
        &mut self,
        mut handler: impl FnMut(&str, &Map<String, Value>) -> Result<BlobMsgTable, i32>,
    ) -> Result<(), BusError> {
        let obj = Some(self.object_id);
        loop {
            self.client.transport_mut().set_deadline(None);
            let Some(frame) = self.client.recv_frame()? else {
                return Ok(());
            };
            let Ok(InboundMsg::Invoke {
                seq,
                peer,
                method,
                data,
                ..
            }) = InboundMsg::parse(&frame)
            else {
                continue;
            };
            let Some(peer) = PeerId::new(peer) else {
                continue;
            };
            let args = match data.map(ubus::json::blobmsg_to_json) {
                None => Ok(Map::new()),
                Some(Ok(Value::Object(map))) => Ok(map),
                Some(_) => Err(status::INVALID_ARGUMENT),
            };
            let result = args.and_then(|a| handler(method, &a));
            let transport = self.client.transport_mut();
            let code = match result {
                // A reply over ubus's 1 MiB limit cannot be sent; callers page long lists.
                Ok(table) if table.contents().len() > MAX_MSG_LEN - 1024 => status::UNKNOWN_ERROR,
                Ok(table) => {
                    let data_frame = OutboundMsg::DataReply {
                        peer,
                        obj_id: obj,
                        data: &table,
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
