//! A ubus object provider on ubus-zero's wire types.
//!
//! ubus-zero's own `UbusObject` registers every method with an empty signature and turns every
//! handler error into UNKNOWN_ERROR (9). rpcd advertises typed policies (`ubus list` shows
//! `"config":3`) and answers 2, 4, 5, 6, 8 where it must, sometimes with no DATA at all; camguard
//! has to cope with exactly those replies, so this loop sends ADD_OBJECT with the policies and
//! lets a handler choose the status and whether there is a DATA frame.
//!
//! One connection per object (the library's model, and how the broker accounts objects); each
//! runs in its own thread. When the broker goes away the thread reconnects and registers again,
//! for up to the configured window, then reports failure.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ubus::envelope::{try_find, EnvBuilder, UbusAttr};
use ubus::msg::{InboundMsg, OutboundMsg};
use ubus::unix::UnixUbusTransport;
use ubus::wire::{Frame, MsgType, ObjId, PeerId, MAX_MSG_LEN};
use ubus::{Transport, UbusError};

use crate::blob::{decode_fields, encode_fields, Args, Fields, Ty, V};

pub const OK: i32 = 0;
pub const INVALID_ARGUMENT: i32 = 2;
pub const METHOD_NOT_FOUND: i32 = 3;
pub const NOT_FOUND: i32 = 4;
pub const NO_DATA: i32 = 5;
pub const PERMISSION_DENIED: i32 = 6;
pub const TIMEOUT: i32 = 7;
pub const NOT_SUPPORTED: i32 = 8;
pub const UNKNOWN_ERROR: i32 = 9;

/// What a method answers: a status and, only when there is one, a DATA table. rpcd methods that
/// never call `ubus_send_reply` (uci set, commit, …) produce no DATA, which the CLI prints as
/// nothing; an empty table prints as `{}`. The two differ and camguard sees the difference.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub status: i32,
    pub data: Option<Fields>,
}

impl Reply {
    pub fn data(fields: Fields) -> Reply {
        Reply {
            status: OK,
            data: Some(fields),
        }
    }

    pub fn status(status: i32) -> Reply {
        Reply { status, data: None }
    }

    pub fn ok() -> Reply {
        Reply::status(OK)
    }
}

pub type Handler = Box<dyn Fn(&Args) -> Reply + Send + Sync>;

pub struct Method {
    pub name: &'static str,
    /// Argument names and types, advertised in the signature like rpcd's blobmsg policies.
    pub policy: Vec<(&'static str, Ty)>,
    pub handler: Handler,
}

pub struct Object {
    pub name: String,
    pub methods: Vec<Method>,
}

impl Object {
    pub fn new(name: impl Into<String>) -> Object {
        Object {
            name: name.into(),
            methods: Vec::new(),
        }
    }

    pub fn method(
        mut self,
        name: &'static str,
        policy: &[(&'static str, Ty)],
        handler: impl Fn(&Args) -> Reply + Send + Sync + 'static,
    ) -> Object {
        self.methods.push(Method {
            name,
            policy: policy.to_vec(),
            handler: Box::new(handler),
        });
        self
    }

    fn signature(&self) -> Vec<u8> {
        let fields: Fields = self
            .methods
            .iter()
            .map(|m| {
                let args = m
                    .policy
                    .iter()
                    .map(|(arg, ty)| (arg.to_string(), V::I32(*ty as i32)))
                    .collect();
                (m.name.to_string(), V::Table(args))
            })
            .collect();
        encode_fields(&fields)
    }
}

/// How long to poll for replies during registration before giving up on a broker.
const REGISTER_DEADLINE: Duration = Duration::from_secs(5);

struct Registered {
    transport: UnixUbusTransport,
    object_id: ObjId,
}

fn register(socket: &str, object: &Object) -> Result<Registered, UbusError> {
    let mut transport = UnixUbusTransport::connect(socket)?;
    transport.set_deadline(Some(REGISTER_DEADLINE));
    transport.send(&OutboundMsg::Hello.into_frame(1))?;
    loop {
        match transport.recv()? {
            Some(frame) if frame.hdr.ty == MsgType::Hello => break,
            Some(_) => continue,
            None => transport.wait_recv(),
        }
    }
    let signature = object.signature();
    transport.send(
        &OutboundMsg::AddObject {
            path: &object.name,
            signature: &signature,
        }
        .into_frame(2),
    )?;
    let mut object_id = None;
    loop {
        let Some(frame) = transport.recv()? else {
            transport.wait_recv();
            continue;
        };
        if frame.hdr.seq != 2 || frame.hdr.peer != 0 {
            continue;
        }
        match frame.hdr.ty {
            MsgType::Data => {
                if let Some(id) =
                    try_find(&frame.payload, UbusAttr::ObjId)?.and_then(|a| a.as_u32())
                {
                    object_id = Some(id);
                }
            }
            MsgType::Status => {
                let status = ubus::envelope::read_status(&frame.payload)?;
                if status != 0 {
                    return Err(UbusError::Status(status));
                }
                if object_id.is_none() {
                    object_id = try_find(&frame.payload, UbusAttr::ObjId)?.and_then(|a| a.as_u32());
                }
                let object_id = object_id.and_then(ObjId::new).ok_or(UbusError::Malformed(
                    "ADD_OBJECT reply without an object id",
                ))?;
                transport.set_deadline(None);
                return Ok(Registered {
                    transport,
                    object_id,
                });
            }
            _ => {}
        }
    }
}

/// Serves `object` on `socket` until the broker has been unreachable for longer than
/// `reconnect_for`. Returns why it stopped. `on_registered` runs after every (re)registration.
pub fn serve(
    socket: &str,
    object: Arc<Object>,
    reconnect_for: Duration,
    on_registered: impl Fn(&str),
) -> String {
    let mut lost_since = Instant::now();
    loop {
        let last_error;
        match register(socket, &object) {
            Ok(mut conn) => {
                on_registered(&object.name);
                match dispatch_loop(&mut conn, &object) {
                    Ok(()) => return format!("{}: stopped", object.name),
                    Err(e) => last_error = format!("connection lost: {e}"),
                }
                lost_since = Instant::now();
            }
            Err(e) => last_error = format!("cannot register: {e}"),
        }
        if lost_since.elapsed() > reconnect_for {
            return format!(
                "{}: broker at {socket} unreachable for {}s ({last_error})",
                object.name,
                reconnect_for.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn dispatch_loop(conn: &mut Registered, object: &Object) -> Result<(), UbusError> {
    loop {
        let Some(frame) = conn.transport.recv()? else {
            conn.transport.wait_recv();
            continue;
        };
        if frame.hdr.ty != MsgType::Invoke {
            continue;
        }
        let seq = frame.hdr.seq;
        let peer = frame.hdr.peer;
        let reply = match InboundMsg::parse(&frame) {
            Ok(InboundMsg::Invoke {
                obj_id,
                method,
                data,
                ..
            }) if obj_id == conn.object_id => invoke(object, method, data.unwrap_or(&[])),
            _ => Reply::status(INVALID_ARGUMENT),
        };
        send_reply(conn, seq, peer, reply)?;
    }
}

fn invoke(object: &Object, method: &str, data: &[u8]) -> Reply {
    let Some(m) = object.methods.iter().find(|m| m.name == method) else {
        return Reply::status(METHOD_NOT_FOUND);
    };
    let args = match decode_fields(data) {
        Ok(fields) => Args::new(fields),
        Err(e) => {
            log(&format!(
                "{}.{method}: malformed arguments: {e}",
                object.name
            ));
            return Reply::status(INVALID_ARGUMENT);
        }
    };
    // A handler bug must cost one call, never the object: answer UNKNOWN_ERROR and keep serving.
    match catch_unwind(AssertUnwindSafe(|| (m.handler)(&args))) {
        Ok(reply) => reply,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?");
            log(&format!(
                "{}.{method}: handler panicked: {what}",
                object.name
            ));
            Reply::status(UNKNOWN_ERROR)
        }
    }
}

fn send_reply(conn: &mut Registered, seq: u16, peer: u32, reply: Reply) -> Result<(), UbusError> {
    let Some(peer_id) = PeerId::new(peer) else {
        return Ok(());
    };
    let mut status = reply.status;
    if let (OK, Some(fields)) = (status, reply.data) {
        let mut env = EnvBuilder::new();
        env.push_u32(UbusAttr::ObjId, conn.object_id.get());
        env.push_data(&encode_fields(&fields));
        let payload = env.finish();
        if payload.len() > MAX_MSG_LEN {
            status = UNKNOWN_ERROR;
        } else {
            conn.transport
                .send(&Frame::to_peer(MsgType::Data, seq, peer, payload))?;
        }
    }
    conn.transport.send(
        &OutboundMsg::Status {
            peer: peer_id,
            obj_id: Some(conn.object_id),
            status,
        }
        .into_frame(seq),
    )
}

pub fn log(message: &str) {
    eprintln!("rpcd-standin: {message}");
}
