//! What every stand-in object shares: the root, the broker socket, the uci binary, the event
//! connection and the environment testbed scripts run with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::events::Events;
use crate::rootfs::Root;

pub struct Ctx {
    pub root: Root,
    pub socket: String,
    pub uci_bin: PathBuf,
    pub events: Events,
    /// Serialises uci calls with the apply-rollback timer, as rpcd's single thread does.
    pub uci: Mutex<ApplyState>,
    pub triggers: Triggers,
}

pub type Shared = Arc<Ctx>;

/// rpcd's apply bookkeeping: the session whose apply awaits confirmation, and a generation so a
/// cancelled timer knows it is stale.
#[derive(Default)]
pub struct ApplyState {
    pub apply_sid: Option<String>,
    pub generation: u64,
}

/// Pending trigger runs, by script and arguments: a newer event re-arms the delay (procd
/// debounces the same way), so a burst of commits reloads once.
#[derive(Default)]
pub struct Triggers {
    pub pending: Mutex<HashMap<Vec<String>, u64>>,
}

/// Where testbed init scripts find their helper; written at start-up (see `rc::HELPER`).
pub const RC_COMMON: &str = "/var/run/testbed/rc.common";
/// Service state files: one `<name>.json` per service, as `service list` would dump it.
pub const SERVICE_DIR: &str = "/var/run/testbed/service";

impl Ctx {
    /// Sets the environment a testbed script (init script, `file exec` command, reload trigger)
    /// runs with. `IPKG_INSTROOT` is what OpenWrt's own rc.common prefixes to /etc/rc.d, so
    /// enable/disable land inside the root; the rest lets a script find the root, the broker and
    /// the uci binary.
    pub fn script_env(&self, cmd: &mut Command) {
        cmd.env("IPKG_INSTROOT", &self.root.dir)
            .env("TESTBED_ROOT", &self.root.dir)
            .env("TESTBED_RC_COMMON", self.root.join(RC_COMMON))
            .env("TESTBED_UCI", &self.uci_bin)
            .env("UBUS_SOCKET", &self.socket)
            .current_dir(&self.root.dir);
    }
}

/// A method handler over the shared context, for `Object::method`.
pub fn bind(
    ctx: &Shared,
    f: fn(&Shared, &crate::blob::Args) -> crate::provider::Reply,
) -> impl Fn(&crate::blob::Args) -> crate::provider::Reply + Send + Sync + 'static {
    let ctx = Arc::clone(ctx);
    move |a| f(&ctx, a)
}
