//! rpcd-standin: a stand-in for the rpcd, procd and netifd ubus objects of an OpenWrt router,
//! for tests. Not shipped, not for routers.
//!
//! No package registry ships rpcd, procd or netifd, so camguard's tests run this instead, on the
//! crates.io `ubusd` broker, over a directory laid out like a router's root filesystem (ROOT).
//! It registers `uci`, `file`, `rc` (rpcd), `service`, `system` (procd), `network.interface`
//! (netifd) and `luci-rpc` (rpcd-mod-luci), answering field for field like the real daemons
//! (checked against reference/rpcd-transcripts by tests/testbed_standin.rs): same keys, same
//! blobmsg types, same status codes. `uci` is backed by the real `uci` CLI on ROOT/etc/config.
//!
//! Each object has its own connection (ubus-zero's model). When the broker goes away the
//! objects reconnect and register again for `--reconnect-for` seconds (default 30), then the
//! stand-in exits with status 1, so a testbed whose broker was killed for good does not linger.

mod blob;
mod ctx;
mod events;
mod file;
mod luci;
mod network;
mod provider;
mod rc;
mod rootfs;
mod service;
mod system;
mod uci;
mod util;

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::ctx::{Ctx, RC_COMMON, SERVICE_DIR};
use crate::events::Events;
use crate::provider::log;
use crate::rootfs::Root;

const HELP: &str = "\
rpcd-standin --root DIR --socket PATH [--uci PATH] [--reconnect-for SECS]

A stand-in for rpcd, procd and netifd on an OpenWrt router, for tests (camguard's testbed).
Registers the ubus objects uci, file, rc, service, system, network.interface and luci-rpc on
the ubus broker at PATH, answering from the router root filesystem DIR:

  uci                ROOT/etc/config through the real uci CLI; staged changes in ROOT/tmp/.uci,
                     or ROOT/var/run/rpcd/uci-<session> for calls with ubus_rpc_session
  file               router paths mapped under DIR (never outside it)
  rc                 ROOT/etc/init.d scripts, enabled by ROOT/etc/rc.d/S<NN><name>
  service            ROOT/var/run/testbed/service/<name>.json, written by testbed init scripts
  system             ROOT/usr/lib/os-release or ROOT/etc/openwrt_release, ROOT/tmp/sysinfo/*
  network.interface  ROOT/var/run/testbed/network.interface.json, else ROOT/etc/config/network
  luci-rpc           lease files and dhcp host sections under DIR

Options:
  --root DIR           the router's root filesystem (required)
  --socket PATH        the ubus broker's socket (required)
  --uci PATH           the uci CLI (default: $CAMGUARD_UCI; scripts/build-uci builds one into
                       .tools/uci/bin/uci)
  --reconnect-for SECS keep re-registering this long after the broker goes away (default 30)
  -h, --help           this help

Normally started by scripts/testbed up ROOT SOCK, which also starts the broker.";

struct Options {
    root: PathBuf,
    socket: String,
    uci: PathBuf,
    reconnect_for: Duration,
}

fn parse_args() -> Result<Option<Options>, String> {
    let mut root = None;
    let mut socket = None;
    let mut uci = std::env::var_os("CAMGUARD_UCI").map(PathBuf::from);
    let mut reconnect_for = Duration::from_secs(30);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--root" => root = Some(PathBuf::from(value("--root")?)),
            "--socket" => socket = Some(value("--socket")?),
            "--uci" => uci = Some(PathBuf::from(value("--uci")?)),
            "--reconnect-for" => {
                let v = value("--reconnect-for")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--reconnect-for wants whole seconds, not {v:?}"))?;
                reconnect_for = Duration::from_secs(secs);
            }
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    let root = root.ok_or("--root DIR is required (the router root the objects answer from)")?;
    let root = root
        .canonicalize()
        .map_err(|e| format!("--root {}: {e}", root.display()))?;
    if !root.is_dir() {
        return Err(format!("--root {}: not a directory", root.display()));
    }
    let socket = socket.ok_or("--socket PATH is required (the ubus broker's socket)")?;
    let uci = uci.ok_or(
        "no uci CLI: pass --uci PATH or set CAMGUARD_UCI (scripts/build-uci builds one into \
         .tools/uci/bin/uci)",
    )?;
    if !uci.is_file() {
        return Err(format!(
            "uci CLI {} does not exist; run scripts/build-uci (or point --uci elsewhere)",
            uci.display()
        ));
    }
    Ok(Some(Options {
        root,
        socket,
        uci,
        reconnect_for,
    }))
}

/// Runtime directories and the init-script helper, as a booted router would have /var/run.
fn prepare_root(root: &Root) -> Result<(), String> {
    for dir in ["/tmp", SERVICE_DIR] {
        let p = root.join(dir);
        fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let helper = root.join(RC_COMMON);
    fs::write(&helper, rc::HELPER).map_err(|e| format!("{}: {e}", helper.display()))
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("rpcd-standin: {e}");
            return ExitCode::from(64);
        }
    };
    let root = Root::new(opts.root);
    if let Err(e) = prepare_root(&root) {
        eprintln!("rpcd-standin: cannot prepare the root: {e}");
        return ExitCode::from(1);
    }
    let ctx = Arc::new(Ctx {
        root,
        socket: opts.socket.clone(),
        uci_bin: opts.uci,
        events: Events::new(&opts.socket),
        uci: Mutex::new(ctx::ApplyState::default()),
        triggers: ctx::Triggers::default(),
    });
    let objects = vec![
        uci::object(ctx.clone()),
        file::object(ctx.clone()),
        rc::object(ctx.clone()),
        service::object(ctx.clone()),
        system::object(ctx.clone()),
        network::object(ctx.clone()),
        luci::object(ctx),
    ];
    let total = objects.len();
    let (registered_tx, registered_rx) = mpsc::channel::<String>();
    let (gone_tx, gone_rx) = mpsc::channel::<String>();
    for object in objects {
        let object = Arc::new(object);
        let socket = opts.socket.clone();
        let registered = registered_tx.clone();
        let gone = gone_tx.clone();
        let reconnect_for = opts.reconnect_for;
        thread::spawn(move || {
            let why = provider::serve(&socket, object, reconnect_for, |name| {
                let _ = registered.send(name.to_string());
            });
            let _ = gone.send(why);
        });
    }
    drop(registered_tx);
    let mut seen = std::collections::HashSet::new();
    thread::spawn(move || {
        for name in registered_rx {
            if seen.insert(name) && seen.len() == total {
                log(&format!(
                    "all {total} objects registered on {}",
                    opts.socket
                ));
            }
        }
    });
    match gone_rx.recv() {
        Ok(why) => log(&format!("exiting: {why}")),
        Err(_) => log("exiting: every object thread ended"),
    }
    ExitCode::from(1)
}
