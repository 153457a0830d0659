//! Outgoing ubus events (`config.change`), on a connection of their own.
//!
//! A provider connection must not carry outgoing requests (replies to them would interleave
//! with INVOKEs), so events go through a separate client connection, opened lazily and reopened
//! once when the broker was restarted in between.

use std::sync::Mutex;
use std::time::Duration;

use ubus::client::UbusClient;
use ubus::unix::UnixUbusTransport;
use ubus::{BlobBuilder, BlobMsgTable, UbusError};

use crate::blob::{Fields, V};
use crate::provider::log;

pub struct Events {
    socket: String,
    client: Mutex<Option<UbusClient<UnixUbusTransport>>>,
}

impl Events {
    pub fn new(socket: &str) -> Events {
        Events {
            socket: socket.to_string(),
            client: Mutex::new(None),
        }
    }

    /// Broadcasts event `name` with `data`. Failures are logged, not returned: rpcd does not fail
    /// a commit because procd could not be told.
    pub fn send(&self, name: &str, data: &Fields) {
        let table = BlobMsgTable::build(|b| put_fields(b, data));
        let mut guard = match self.client.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        for attempt in 0..2 {
            if guard.is_none() {
                match self.connect() {
                    Ok(c) => *guard = Some(c),
                    Err(e) => {
                        log(&format!(
                            "event {name}: cannot connect to {}: {e}",
                            self.socket
                        ));
                        return;
                    }
                }
            }
            let Some(client) = guard.as_mut() else { return };
            client
                .transport_mut()
                .set_deadline(Some(Duration::from_secs(2)));
            match client.send_event(name, &table) {
                Ok(()) => return,
                Err(e) => {
                    *guard = None;
                    if attempt == 1 {
                        log(&format!("event {name}: {e}"));
                    }
                }
            }
        }
    }

    fn connect(&self) -> Result<UbusClient<UnixUbusTransport>, UbusError> {
        let mut transport = UnixUbusTransport::connect(&self.socket)?;
        transport.set_deadline(Some(Duration::from_secs(2)));
        UbusClient::connect(transport)
    }
}

fn put_fields(b: &mut BlobBuilder, fields: &Fields) {
    for (k, v) in fields {
        put(b, Some(k), v);
    }
}

fn put(b: &mut BlobBuilder, name: Option<&str>, v: &V) {
    match v {
        V::Null => b.put_null(name),
        V::Bool(x) => b.put_bool(name, *x),
        V::I16(n) => b.put_i32(name, i32::from(*n)),
        V::I32(n) => b.put_i32(name, *n),
        V::I64(n) => b.put_i64(name, *n),
        V::Double(d) => b.put_double(name, *d),
        V::Str(s) => b.put_str(name, s),
        V::Bytes(bytes) => b.put_str(name, &String::from_utf8_lossy(bytes)),
        V::Table(fields) => {
            b.open_table(name);
            put_fields(b, fields);
            b.close_table();
        }
        V::Array(items) => {
            b.open_array(name);
            for item in items {
                put(b, None, item);
            }
            b.close_array();
        }
    }
}
