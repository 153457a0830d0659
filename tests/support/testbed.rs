//! A router in a box for tests: a copy of a router root served by scripts/testbed (crates.io
//! ubusd + the rpcd stand-in over the real uci CLI) and `camguard daemon --sysroot` on it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn tool(name: &str) -> PathBuf {
    let path = repo().join(".tools/bin").join(name);
    assert!(
        path.exists(),
        "{} not found: run scripts/install-ubus-tools",
        path.display()
    );
    path
}

pub fn wait_until(within: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    ok()
}

/// What identifies a finding across two reports (ubus-client prints keys sorted, camguard in
/// field order, so the subject is compared as a map).
pub fn finding_keys(report: &Value) -> Vec<String> {
    let mut keys: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let subject: BTreeMap<String, Value> =
                serde_json::from_value(f["subject"].clone()).unwrap();
            format!("{} {} {subject:?}", f["id"], f["severity"])
        })
        .collect();
    keys.sort();
    keys
}

/// Every file under `dir` by relative path (the byte-identity checks compare these).
pub fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), bytes);
            }
        }
    }
    out
}

pub struct Testbed {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub socket: PathBuf,
    daemon: Option<Child>,
    /// Runs the testbed and the daemon inside this network namespace, when set.
    netns: Option<String>,
}

impl Testbed {
    /// A fresh root: a copy of `src` (an example router or a generated one) with the testbed's
    /// init scripts, so rc and procd behave as the stand-in models them.
    pub fn new(name: &str, src: &Path) -> Testbed {
        let dir = std::env::temp_dir().join(format!("camguard-tb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("root");
        assert!(Command::new("cp")
            .arg("-a")
            .arg(src)
            .arg(&root)
            .status()
            .unwrap()
            .success());
        let init_src = repo().join("tests/fixtures/testbed/root/etc/init.d");
        std::fs::create_dir_all(root.join("etc/init.d")).unwrap();
        for script in ["miniupnpd", "firewall"] {
            std::fs::copy(init_src.join(script), root.join("etc/init.d").join(script)).unwrap();
        }
        let socket = dir.join("ubus.sock");
        Testbed {
            dir,
            root,
            socket,
            daemon: None,
            netns: None,
        }
    }

    /// Tells the stand-in's procd that miniupnpd runs (the testbed starts no process itself).
    pub fn miniupnpd_running(self) -> Testbed {
        let dir = self.root.join("var/run/testbed/service");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("miniupnpd.json"),
            r#"{"instances":{"instance1":{"running":true,"pid":1,"command":["/usr/sbin/miniupnpd","-f","/var/etc/miniupnpd.conf"],"term_timeout":5}}}"#,
        )
        .unwrap();
        self
    }

    /// Switches the copied router's camguard policy to `enforce '1'`.
    pub fn enforcing(self) -> Testbed {
        let policy = self.root.join("etc/config/camguard");
        let text = std::fs::read_to_string(&policy).unwrap();
        assert!(text.contains("option enforce '0'"), "{text}");
        std::fs::write(
            &policy,
            text.replace("option enforce '0'", "option enforce '1'"),
        )
        .unwrap();
        self
    }

    pub fn in_netns(mut self, netns: &str) -> Testbed {
        self.netns = Some(netns.to_owned());
        self
    }

    fn command(&self, program: &Path) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    pub fn up(mut self) -> Testbed {
        self = self.up_without_daemon();
        self.start_daemon(&[]);
        self
    }

    /// The broker and the stand-in only; start the daemon with [`Testbed::start_daemon`].
    pub fn up_without_daemon(self) -> Testbed {
        let out = self
            .command(&repo().join("scripts/testbed"))
            .arg("up")
            .arg(&self.root)
            .arg(&self.socket)
            .env("CAMGUARD_UCI", repo().join(".tools/uci/bin/uci"))
            .output()
            .expect("scripts/testbed runs");
        assert!(
            out.status.success(),
            "testbed up: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self
    }

    pub fn start_daemon(&mut self, extra: &[&str]) {
        // CAMGUARD_BIN: another build of camguard (a bench comparing releases).
        let program = std::env::var_os("CAMGUARD_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_camguard")));
        let child = self
            .command(&program)
            .arg("daemon")
            .arg("--socket")
            .arg(&self.socket)
            .arg("--sysroot")
            .arg(&self.root)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("camguard daemon starts");
        self.daemon = Some(child);
        assert!(
            wait_until(Duration::from_secs(10), || self
                .ubus(&["list", "camguard"])
                .status
                .success()
                && !self.ubus(&["list", "camguard"]).stdout.is_empty()),
            "camguard never registered"
        );
    }

    /// The running daemon's process id (a bench reads its CPU time).
    #[allow(dead_code)]
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Child::id)
    }

    pub fn stop_daemon(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            // SAFETY: plain kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    pub fn ubus(&self, args: &[&str]) -> Output {
        Command::new(tool("ubus-client"))
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// `ubus call camguard METHOD ARGS`, which must succeed.
    pub fn call(&self, method: &str, args: &str) -> Value {
        let out = self.ubus(&["-t", "60", "call", "camguard", method, args]);
        assert!(
            out.status.success(),
            "camguard {method} {args}: status {:?} {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn uci_files(&self) -> BTreeMap<String, Vec<u8>> {
        files_under(&self.root.join("etc/config"))
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.stop_daemon();
        let _ = self
            .command(&repo().join("scripts/testbed"))
            .arg("down")
            .arg(&self.socket)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
