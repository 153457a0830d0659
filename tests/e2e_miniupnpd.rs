//! End to end with the real miniupnpd (Debian miniupnpd-nftables) in network namespaces: an
//! "ISP", a router with an fw4-style `inet fw4` table, a camera and a PC on its LAN. The camera
//! maps RTSP with `upnpc`; camguard, running in the router namespace against the testbed
//! (rpcd stand-in over the real uci CLI), enforces upnp 'restricted' and then 'off', and reverts.
//! Every address lives inside the namespaces this test creates; nothing leaves the machine.
//! Needs root (CI has it), ip, nft, miniupnpd and upnpc (scripts/setup installs them).
#[path = "support/testbed.rs"]
mod testbed;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use camguard::ports::Protocol;
use testbed::{repo, wait_until, Testbed};

const CAMERA_IP: &str = "192.168.1.64";
const CAMERA_MAC: &str = "4c:bd:8f:00:00:64";
const PC_IP: &str = "192.168.1.31";
const PC_MAC: &str = "7c:ed:8d:00:00:31";
const IGD: &str = "http://192.168.1.1:5000/rootDesc.xml";

/// The namespaces, removed again however the test ends.
struct Net {
    router: String,
    isp: String,
    camera: String,
    pc: String,
}

impl Net {
    /// `tag` keeps the namespaces of tests running side by side apart.
    fn new(tag: &str) -> Net {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the namespace test needs root (CI runs it as root)"
        );
        for tool in ["ip", "nft", "miniupnpd", "upnpc"] {
            assert!(
                Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap().status.success(),
                "{tool} not found: run scripts/setup (Debian: iproute2 nftables miniupnpd-nftables miniupnpc)"
            );
        }
        let id = format!("{tag}{}", std::process::id());
        let net = Net {
            router: format!("cgr{id}"),
            isp: format!("cgi{id}"),
            camera: format!("cgc{id}"),
            pc: format!("cgp{id}"),
        };
        for ns in [&net.router, &net.isp, &net.camera, &net.pc] {
            run("ip", &["netns", "add", ns]);
            run("ip", &["-n", ns, "link", "set", "lo", "up"]);
        }
        let r = net.router.as_str();
        // WAN: a public-looking address, so miniupnpd needs no STUN; the route ends at the ISP
        // namespace, which routes nowhere.
        run(
            "ip",
            &[
                "-n", r, "link", "add", "wan", "type", "veth", "peer", "name", "up0", "netns",
                &net.isp,
            ],
        );
        run(
            "ip",
            &["-n", r, "addr", "add", "45.77.0.2/24", "dev", "wan"],
        );
        run("ip", &["-n", r, "link", "set", "wan", "up"]);
        run(
            "ip",
            &["-n", &net.isp, "addr", "add", "45.77.0.1/24", "dev", "up0"],
        );
        run("ip", &["-n", &net.isp, "link", "set", "up0", "up"]);
        run(
            "ip",
            &["-n", r, "route", "add", "default", "via", "45.77.0.1"],
        );
        // LAN: a bridge named lan with the camera and the PC on it.
        run("ip", &["-n", r, "link", "add", "lan", "type", "bridge"]);
        run(
            "ip",
            &["-n", r, "addr", "add", "192.168.1.1/24", "dev", "lan"],
        );
        run("ip", &["-n", r, "link", "set", "lan", "up"]);
        for (ns, port, ip, mac) in [
            (&net.camera, "cam0", CAMERA_IP, CAMERA_MAC),
            (&net.pc, "pc0", PC_IP, PC_MAC),
        ] {
            run(
                "ip",
                &[
                    "-n", r, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
                    ns,
                ],
            );
            run("ip", &["-n", r, "link", "set", port, "master", "lan", "up"]);
            run("ip", &["-n", ns, "link", "set", "eth0", "address", mac]);
            run(
                "ip",
                &["-n", ns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
            );
            run("ip", &["-n", ns, "link", "set", "eth0", "up"]);
            run(
                "ip",
                &["-n", ns, "route", "add", "default", "via", "192.168.1.1"],
            );
        }
        // fw4's table with miniupnpd's three chains and the jumps its nftables.d includes add.
        let skeleton = repo().join("tests/fixtures/nft/miniupnpd-live.nft");
        run(
            "ip",
            &["netns", "exec", r, "nft", "-f", skeleton.to_str().unwrap()],
        );
        net
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .unwrap()
    }

    /// The live UPnP DNATs in the router: (proto, ext port, internal address, internal port).
    fn live_mappings(&self) -> Vec<(Protocol, u16, IpAddr, u16)> {
        let out = self.exec(&self.router, &["nft", "-j", "list", "table", "inet", "fw4"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        camguard::formats::nft::parse_ruleset(&out.stdout)
            .unwrap()
            .upnp_redirects()
            .iter()
            .filter_map(|r| Some((r.proto?, r.ext_port()?, r.int_addr, r.int_port?)))
            .collect()
    }

    fn upnp_rules(&self) -> usize {
        let out = self.exec(&self.router, &["nft", "-j", "list", "table", "inet", "fw4"]);
        camguard::formats::nft::parse_ruleset(&out.stdout)
            .unwrap()
            .rules
            .iter()
            .filter(|r| r.chain.starts_with("upnp_"))
            .count()
    }

    /// `upnpc -a` from a LAN host: true when miniupnpd granted the mapping.
    fn map(&self, ns: &str, ip: &str, int: u16, ext: u16, proto: &str, lease: u32) -> bool {
        let out = self.exec(
            ns,
            &[
                "upnpc",
                "-u",
                IGD,
                "-e",
                "e2e",
                "-a",
                ip,
                &int.to_string(),
                &ext.to_string(),
                proto,
                &lease.to_string(),
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        text.contains("is redirected to internal") && !text.contains("failed")
    }

    /// A TCP echo server on `port` in `ns` (Debian's python3), one thread per connection; it
    /// ends with the namespace (Drop) or when killed.
    fn listen(&self, ns: &str, port: u16) -> std::process::Child {
        let script = format!(
            "import socket,threading\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('0.0.0.0',{port}))\ns.listen(16)\n\
             def echo(c):\n try:\n  while True:\n   d=c.recv(16)\n   if not d: break\n   c.sendall(d)\n except OSError: pass\n\
             while True:\n c,_=s.accept()\n threading.Thread(target=echo,args=(c,),daemon=True).start()\n"
        );
        Command::new("ip")
            .args(["netns", "exec", ns, "/usr/bin/python3", "-c", &script])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// A long-lived TCP connection from `ns` to `host:port` that sends a byte every 0.3 s and
    /// waits for its echo; the process exits once the connection is reset, closed or stalls.
    fn hold_open(&self, ns: &str, host: &str, port: u16) -> std::process::Child {
        let script = format!(
            "import socket,time\ns=socket.create_connection(('{host}',{port}),timeout=3)\n\
             while True:\n try:\n  s.sendall(b'x')\n  d=s.recv(16)\n  if not d: break\n except OSError: break\n time.sleep(0.3)\n"
        );
        Command::new("ip")
            .args(["netns", "exec", ns, "/usr/bin/python3", "-c", &script])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Whether a TCP connection from the ISP side to the router's WAN address and `port` is
    /// accepted.
    fn reachable_from_wan(&self, port: u16) -> bool {
        let script = format!(
            "import socket,sys\ntry:\n socket.create_connection(('45.77.0.2',{port}),timeout=2).close()\n\
             except OSError:\n sys.exit(1)\n"
        );
        self.exec(&self.isp, &["/usr/bin/python3", "-c", &script])
            .status
            .success()
    }

    /// Rules in the router's `upnp_forward` chain.
    fn forward_rules(&self) -> usize {
        let out = self.exec(&self.router, &["nft", "-j", "list", "table", "inet", "fw4"]);
        camguard::formats::nft::parse_ruleset(&out.stdout)
            .unwrap()
            .rules
            .iter()
            .filter(|r| r.chain == "upnp_forward")
            .count()
    }

    /// Each rule of miniupnpd's DNAT and forward chains as the kernel holds it: its chain, its
    /// expressions with their registers, its userdata (`nft --debug=netlink`), handles left out.
    /// Sorted, so rules re-added in another order compare equal.
    fn rules_as_written(&self) -> Vec<String> {
        let mut rules = Vec::new();
        for chain in ["upnp_prerouting", "upnp_forward"] {
            let out = self.exec(
                &self.router,
                &[
                    "nft",
                    "--debug=netlink",
                    "list",
                    "chain",
                    "inet",
                    "fw4",
                    chain,
                ],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            for line in text.lines() {
                if line.starts_with(&format!("inet fw4 {chain} ")) {
                    rules.push(format!("{chain}:"));
                } else if line.starts_with("  ") && !rules.is_empty() {
                    rules.last_mut().unwrap().push_str(line);
                } else if line.starts_with("table") {
                    break;
                }
            }
        }
        rules.sort();
        rules
    }

    fn unmap(&self, ns: &str, ext: u16, proto: &str) -> bool {
        let out = self.exec(ns, &["upnpc", "-u", IGD, "-d", &ext.to_string(), proto]);
        String::from_utf8_lossy(&out.stdout).contains("returned : 0")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.router, &self.isp, &self.camera, &self.pc] {
            // Deleting a namespace does not end what runs in it (miniupnpd, started by the
            // testbed's init script, would outlive the test): stop every process in it first.
            for signal in [libc::SIGTERM, libc::SIGKILL] {
                let pids = Command::new("ip").args(["netns", "pids", ns]).output();
                let pids = pids.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
                for pid in pids.unwrap_or_default().split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        // SAFETY: kill(2) on a process inside this test's own namespace.
                        unsafe { libc::kill(pid, signal) };
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The router's root: shipped-style firewall, upnpd as OpenWrt ships it but enabled, DHCP leases
/// naming the camera (a Hikvision OUI) and the PC, and camguard's policy allowing UPnP for now.
fn router_root(dir: &Path) -> PathBuf {
    let root = dir.join("src");
    for d in ["etc/config", "etc/init.d", "etc/rc.d", "tmp", "var/run"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let write = |path: &str, text: &str| std::fs::write(root.join(path), text).unwrap();
    write("etc/config/firewall", "\nconfig defaults\n\toption input 'REJECT'\n\toption output 'ACCEPT'\n\toption forward 'REJECT'\n\nconfig zone\n\toption name 'lan'\n\tlist network 'lan'\n\toption input 'ACCEPT'\n\toption output 'ACCEPT'\n\toption forward 'ACCEPT'\n\nconfig zone\n\toption name 'wan'\n\tlist network 'wan'\n\toption input 'REJECT'\n\toption output 'ACCEPT'\n\toption forward 'REJECT'\n\toption masq '1'\n\nconfig forwarding\n\toption src 'lan'\n\toption dest 'wan'\n\n");
    write("etc/config/network", "\nconfig interface 'lan'\n\toption device 'lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n\nconfig interface 'wan'\n\toption device 'wan'\n\toption proto 'dhcp'\n\n");
    write("etc/config/upnpd", "\nconfig upnpd 'config'\n\toption enabled '1'\n\toption enable_natpmp '1'\n\toption enable_upnp '1'\n\toption secure_mode '1'\n\toption log_output '0'\n\toption internal_iface 'lan'\n\toption port '5000'\n\toption upnp_lease_file '/var/run/miniupnpd.leases'\n\toption igdv1 '1'\n\nconfig perm_rule\n\toption action 'allow'\n\toption ext_ports '1024-65535'\n\toption int_addr '0.0.0.0/0'\n\toption int_ports '1-65535'\n\toption comment 'Allow high ports'\n\nconfig perm_rule\n\toption action 'deny'\n\toption ext_ports '0-65535'\n\toption int_addr '0.0.0.0/0'\n\toption int_ports '0-65535'\n\toption comment 'Default deny'\n\n");
    write(
        "etc/config/dhcp",
        "\nconfig dnsmasq\n\toption leasefile '/tmp/dhcp.leases'\n\n",
    );
    write("etc/config/camguard", "\nconfig camguard 'main'\n\toption enforce '0'\n\toption upnp 'allow'\n\toption forwards 'allow'\n\toption camera_internet 'allow'\n\n");
    write(
        "tmp/dhcp.leases",
        &format!("0 {CAMERA_MAC} {CAMERA_IP} garden-cam *\n0 {PC_MAC} {PC_IP} gaming-pc *\n"),
    );
    write(
        "etc/openwrt_release",
        "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='25.12.0'\n",
    );
    std::fs::copy(
        repo().join("tests/fixtures/e2e/miniupnpd.init"),
        root.join("etc/init.d/miniupnpd"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../init.d/miniupnpd", root.join("etc/rc.d/S94miniupnpd")).unwrap();
    root
}

fn set_policy(tb: &Testbed, upnp: &str) {
    set_policy_option(tb, "upnp", upnp);
}

fn set_policy_option(tb: &Testbed, option: &str, value: &str) {
    let set =
        format!(r#"{{"config":"camguard","section":"main","values":{{"{option}":"{value}"}}}}"#);
    assert!(tb.ubus(&["call", "uci", "set", &set]).status.success());
    assert!(tb
        .ubus(&["call", "uci", "commit", r#"{"config":"camguard"}"#])
        .status
        .success());
}

fn leases(tb: &Testbed) -> String {
    String::from_utf8(std::fs::read(tb.root.join("var/run/miniupnpd.leases")).unwrap_or_default())
        .unwrap()
}

fn miniupnpd_pid(tb: &Testbed) -> Option<i32> {
    std::fs::read_to_string(tb.root.join("var/run/miniupnpd.pid"))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
}

fn miniupnpd_runs(tb: &Testbed) -> bool {
    std::fs::read_to_string(tb.root.join("var/run/miniupnpd.pid"))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .is_some_and(|pid| unsafe { libc::kill(pid, 0) } == 0)
}

#[test]
fn restricted_then_off_with_the_real_miniupnpd_and_revert() {
    let net = Net::new("a");
    let dir = std::env::temp_dir().join(format!("camguard-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = router_root(&dir);
    let mut tb = Testbed::new("e2e", &src).in_netns(&net.router);
    // The e2e init script replaces the testbed's recording-only one.
    std::fs::copy(
        repo().join("tests/fixtures/e2e/miniupnpd.init"),
        tb.root.join("etc/init.d/miniupnpd"),
    )
    .unwrap();
    let tb_up = tb.up_without_daemon();
    tb = tb_up;
    assert!(tb
        .ubus(&[
            "call",
            "rc",
            "init",
            r#"{"name":"miniupnpd","action":"start"}"#
        ])
        .status
        .success());
    assert!(
        wait_until(Duration::from_secs(10), || net
            .exec(&net.camera, &["upnpc", "-u", IGD, "-s"])
            .status
            .success()),
        "miniupnpd answers"
    );
    let upnpd_before = std::fs::read(tb.root.join("etc/config/upnpd")).unwrap();

    // The camera maps its RTSP port; the PC maps a game port.
    assert!(
        net.map(&net.camera, CAMERA_IP, 554, 10554, "TCP", 3600),
        "camera mapping granted while UPnP is allowed"
    );
    assert!(net.map(&net.pc, PC_IP, 3074, 3074, "UDP", 3600));
    let cam: IpAddr = CAMERA_IP.parse().unwrap();
    assert!(
        net.live_mappings()
            .contains(&(Protocol::Tcp, 10554, cam, 554)),
        "live in nft"
    );
    assert!(
        leases(&tb)
            .lines()
            .any(|l| l.starts_with("TCP:10554:192.168.1.64:554:")),
        "in the lease file"
    );

    // camguard, in the router namespace, live over the testbed, reading nft itself.
    tb.start_daemon(&["--nft", "command"]);
    let status = tb.call("status", "{}");
    assert!(status["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "upnp.mapping"
            && f["severity"] == "high"
            && f["evidence"]["ext_port"] == 10554
            && f["evidence"]["seen_in"] == "nft"));

    // upnp 'restricted': the camera's mapping is revoked and denied, the PC's stays.
    set_policy(&tb, "restricted");
    let outcome = tb.call("enforce", "{}");
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
    let verified = outcome["verified"].as_array().unwrap();
    assert!(
        verified
            .iter()
            .any(|c| c["check"] == "mapping TCP/10554 revoked" && c["ok"] == true),
        "{outcome:#}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || miniupnpd_runs(&tb)),
        "miniupnpd back with the new rules"
    );
    let live = net.live_mappings();
    assert!(
        !live.iter().any(|m| m.1 == 10554),
        "camera mapping gone from nft: {live:?}"
    );
    assert!(!leases(&tb).contains("10554"), "and from the lease file");
    assert!(
        live.iter().any(|m| m.1 == 3074),
        "the PC's mapping survives: {live:?}"
    );
    assert_eq!(
        tb.call("plan", "{}")["actions"],
        serde_json::json!([]),
        "compliant"
    );
    // The camera is refused now; the PC may still map.
    assert!(
        !net.map(&net.camera, CAMERA_IP, 554, 10554, "TCP", 3600),
        "camera refused under restricted"
    );
    assert!(
        net.map(&net.pc, PC_IP, 27015, 27015, "UDP", 3600),
        "a non-camera host may still map"
    );
    // miniupnpd stays consistent after camguard's edits: delete and expiry of other mappings work.
    assert!(net.map(&net.pc, PC_IP, 40000, 40000, "TCP", 3600));
    assert!(net.unmap(&net.pc, 40000, "TCP"), "delete works");
    assert!(
        !net.live_mappings().iter().any(|m| m.1 == 40000) && !leases(&tb).contains("TCP:40000:")
    );
    assert!(net.map(&net.pc, PC_IP, 40001, 40001, "TCP", 2));
    assert!(
        wait_until(Duration::from_secs(15), || !net
            .live_mappings()
            .iter()
            .any(|m| m.1 == 40001)),
        "a 2-second lease expires"
    );

    // upnp 'off': stopped, disabled, chains flushed, lease file emptied.
    set_policy(&tb, "off");
    let off = tb.call("enforce", "{}");
    assert_eq!(off["failed"], serde_json::json!([]), "{off:#}");
    assert!(!miniupnpd_runs(&tb), "miniupnpd stopped");
    assert_eq!(net.upnp_rules(), 0, "upnp chains empty");
    assert_eq!(leases(&tb), "", "lease file emptied");
    assert!(!tb.root.join("etc/rc.d/S94miniupnpd").exists(), "disabled");
    assert!(
        off["verified"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{off:#}"
    );

    // Revert 'off', then 'restricted': the previous configuration comes back exactly.
    set_policy(&tb, "allow");
    let r1 = tb.call("revert", "{}");
    assert_eq!(r1["failed"], serde_json::json!([]), "{r1:#}");
    assert!(
        wait_until(Duration::from_secs(10), || miniupnpd_runs(&tb)),
        "running again after revert"
    );
    assert!(
        tb.root.join("etc/rc.d/S94miniupnpd").exists(),
        "enabled again"
    );
    assert!(
        wait_until(Duration::from_secs(10), || net
            .live_mappings()
            .iter()
            .any(|m| m.1 == 3074)),
        "the PC's mapping is replayed from the restored lease file"
    );
    let r2 = tb.call("revert", "{}");
    assert_eq!(r2["failed"], serde_json::json!([]), "{r2:#}");
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(tb.root.join("etc/config/upnpd")).unwrap()),
        String::from_utf8_lossy(&upnpd_before),
        "upnpd byte-identical after both reverts"
    );
    let _ = tb.ubus(&[
        "call",
        "rc",
        "init",
        r#"{"name":"miniupnpd","action":"stop"}"#,
    ]);
    drop(tb);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The router forwards (a new namespace starts with forwarding off), the testbed runs in it
/// and the real miniupnpd answers.
fn router_with_miniupnpd(net: &Net, dir: &Path) -> Testbed {
    run(
        "ip",
        &[
            "netns",
            "exec",
            &net.router,
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv4/ip_forward",
        ],
    );
    let src = router_root(dir);
    let tb = Testbed::new(&format!("e2e-{}", net.router), &src).in_netns(&net.router);
    std::fs::copy(
        repo().join("tests/fixtures/e2e/miniupnpd.init"),
        tb.root.join("etc/init.d/miniupnpd"),
    )
    .unwrap();
    // fw4's reload as far as UPnP sees it: the chains come back empty.
    std::fs::copy(
        repo().join("tests/fixtures/e2e/firewall.init"),
        tb.root.join("etc/init.d/firewall"),
    )
    .unwrap();
    let tb = tb.up_without_daemon();
    for service in ["firewall", "miniupnpd"] {
        let start = format!(r#"{{"name":"{service}","action":"start"}}"#);
        assert!(tb.ubus(&["call", "rc", "init", &start]).status.success());
    }
    assert!(
        wait_until(Duration::from_secs(10), || net
            .exec(&net.pc, &["upnpc", "-u", IGD, "-s"])
            .status
            .success()),
        "miniupnpd answers"
    );
    tb
}

/// Two mappings to the same host and port own two identical accept rules; revoking one takes
/// its DNAT, its lease line and one accept rule, and the other mapping keeps working from the
/// WAN (issue 13, item 1).
#[test]
fn a_revoke_leaves_an_identical_neighbour_working() {
    let net = Net::new("b");
    let dir = std::env::temp_dir().join(format!("camguard-e2e-b-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tb = router_with_miniupnpd(&net, &dir);
    let mut server = net.listen(&net.pc, 8080);
    assert!(net.map(&net.pc, PC_IP, 8080, 18080, "TCP", 3600));
    assert!(net.map(&net.pc, PC_IP, 8080, 18081, "TCP", 3600));
    assert_eq!(
        net.forward_rules(),
        2,
        "one accept rule per mapping, identical"
    );
    assert!(
        wait_until(Duration::from_secs(5), || net.reachable_from_wan(18080)
            && net.reachable_from_wan(18081)),
        "both mappings reach the PC from the WAN"
    );

    // A connection through each mapping, open while the revoke runs.
    let mut through_kept = net.hold_open(&net.isp, "45.77.0.2", 18080);
    let mut through_revoked = net.hold_open(&net.isp, "45.77.0.2", 18081);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        through_revoked.try_wait().unwrap().is_none(),
        "open before the revoke"
    );

    tb.start_daemon(&["--nft", "command"]);
    let leases_before = leases(&tb);
    // The daemon reads fw4's table over nf_tables netlink: it sees the live mappings nft lists
    // for miniupnpd's raw rules, each with its DNAT's handle.
    let listed = tb.call("mappings", "{}");
    let mut seen: Vec<(Protocol, u16, IpAddr, u16)> = listed["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["live"] == true && m["handle"].is_u64())
        .map(|m| {
            (
                Protocol::from_name(m["proto"].as_str().unwrap()).unwrap(),
                m["ext_port"].as_u64().unwrap() as u16,
                m["int_addr"].as_str().unwrap().parse().unwrap(),
                m["int_port"].as_u64().unwrap() as u16,
            )
        })
        .collect();
    seen.sort();
    let mut by_nft = net.live_mappings();
    by_nft.sort();
    assert_eq!(seen, by_nft, "{listed:#}");
    assert_eq!(seen.len(), 2);
    let outcome = tb.call("revoke", r#"{"proto":"TCP","ext_port":18081}"#);
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
    let verified = outcome["verified"].as_array().unwrap();
    for check in [
        "mapping TCP/18081 revoked",
        "other UPnP mappings intact",
        "mapping TCP/18081 has no open connection",
    ] {
        assert!(
            verified
                .iter()
                .any(|c| c["check"] == check && c["ok"] == true),
            "{check}: {outcome:#}"
        );
    }
    let pc: IpAddr = PC_IP.parse().unwrap();
    assert_eq!(
        net.live_mappings(),
        vec![(Protocol::Tcp, 18080, pc, 8080)],
        "only the revoked DNAT is gone"
    );
    assert_eq!(net.forward_rules(), 1, "exactly one accept rule deleted");
    assert!(
        wait_until(Duration::from_secs(5), || through_revoked
            .try_wait()
            .unwrap()
            .is_some()),
        "the connection through the revoked mapping is closed"
    );
    assert!(
        through_kept.try_wait().unwrap().is_none(),
        "the neighbour's connection stays open"
    );
    let _ = through_kept.kill();
    let _ = through_kept.wait();
    assert!(net.reachable_from_wan(18080), "the neighbour still works");
    assert!(
        !net.reachable_from_wan(18081),
        "the revoked mapping does not"
    );
    let lease_text = leases(&tb);
    assert!(
        lease_text.contains("TCP:18080:192.168.1.31:8080:"),
        "{lease_text}"
    );
    assert!(!lease_text.contains("TCP:18081:"), "{lease_text}");
    // Nothing changed the lease file since the revoke: revert writes back exactly what
    // miniupnpd had written, the revoked line in its place.
    let reverted = tb.call("revert", "{}");
    assert_eq!(reverted["failed"], serde_json::json!([]), "{reverted:#}");
    assert_eq!(reverted["notes"], serde_json::json!([]), "{reverted:#}");
    assert_eq!(leases(&tb), leases_before);
    // miniupnpd's own delete of the survivor still finds its DNAT. (Debian's 2.3.1 leaves the
    // accept rule behind on every delete, camguard or not: miniupnp issue 791, fixed in 2025.)
    assert!(net.unmap(&net.pc, 18080, "TCP"));
    assert_eq!(net.live_mappings(), vec![]);

    let _ = tb.ubus(&[
        "call",
        "rc",
        "init",
        r#"{"name":"miniupnpd","action":"stop"}"#,
    ]);
    let _ = server.kill();
    let _ = server.wait();
    drop(tb);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A firewall reload empties miniupnpd's chains while it runs: the audit reports the loss with a
/// fix that brings every mapping back, and after camguard's own firewall commit it restores
/// them by itself (issue 13, item 2).
#[test]
fn mappings_a_firewall_reload_emptied_come_back() {
    let net = Net::new("c");
    let dir = std::env::temp_dir().join(format!("camguard-e2e-c-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tb = router_with_miniupnpd(&net, &dir);
    let mut server = net.listen(&net.pc, 8080);
    assert!(net.map(&net.pc, PC_IP, 8080, 18080, "TCP", 3600));
    assert!(net.map(&net.pc, PC_IP, 8080, 18081, "TCP", 3600));
    let reachable = |net: &Net| net.reachable_from_wan(18080) && net.reachable_from_wan(18081);
    assert!(wait_until(Duration::from_secs(5), || reachable(&net)));
    let written_by_miniupnpd = net.rules_as_written();
    assert_eq!(written_by_miniupnpd.len(), 4, "{written_by_miniupnpd:#?}");
    let pid = miniupnpd_pid(&tb);
    tb.start_daemon(&["--nft", "command"]);

    // Someone else's reload (LuCI's Save & Apply, `fw4 reload`): reported, with its fix.
    assert!(tb
        .ubus(&[
            "call",
            "rc",
            "init",
            r#"{"name":"firewall","action":"reload"}"#
        ])
        .status
        .success());
    assert!(
        wait_until(Duration::from_secs(3), || net.upnp_rules() == 0),
        "the reload emptied the chains: {}",
        String::from_utf8_lossy(
            &net.exec(&net.router, &["nft", "list", "table", "inet", "fw4"])
                .stdout
        )
    );
    assert!(!net.reachable_from_wan(18080));
    let report = tb.call("audit", "{}");
    let lost = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "upnp.rules_lost")
        .unwrap_or_else(|| panic!("no upnp.rules_lost: {report:#}"))
        .clone();
    assert_eq!(lost["evidence"]["lost"], 2, "{lost:#}");
    assert_eq!(
        lost["fix"]["actions"][0]["kind"], "restore_mappings",
        "{lost:#}"
    );
    let outcome = tb.call("enforce", r#"{"finding":"upnp.rules_lost"}"#);
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
    let verified = outcome["verified"].as_array().unwrap();
    assert!(
        verified
            .iter()
            .any(|c| c["check"] == "UPnP mappings restored" && c["ok"] == true),
        "{outcome:#}"
    );
    // Re-added over netlink, not by a restart: miniupnpd kept running all along.
    assert!(
        verified.iter().any(|c| c["check"] == "UPnP rules re-added"
            && c["detail"]
                .as_str()
                .unwrap()
                .starts_with("4 rules of 2 mappings re-added over nf_tables netlink")),
        "{outcome:#}"
    );
    assert_eq!(miniupnpd_pid(&tb), pid, "miniupnpd was not restarted");
    assert!(reachable(&net), "both mappings work from the WAN again");
    // Expression for expression, register for register, userdata included: miniupnpd's form.
    assert_eq!(net.rules_as_written(), written_by_miniupnpd);
    assert!(!finding_ids(&tb.call("audit", "{}")).contains(&"upnp.rules_lost".to_owned()));

    // The camera's long-lived cloud connection, open before it is blocked.
    let mut cloud = net.listen(&net.isp, 9000);
    let mut camera_flow = None;
    assert!(
        wait_until(Duration::from_secs(5), || {
            let mut c = net.hold_open(&net.camera, "45.77.0.1", 9000);
            std::thread::sleep(Duration::from_millis(700));
            let open = c.try_wait().unwrap().is_none();
            if open {
                camera_flow = Some(c);
            }
            open
        }),
        "the camera reaches its cloud"
    );
    let mut camera_flow = camera_flow.unwrap();

    // camguard's own firewall commit (a camera cut off) makes procd reload the firewall a
    // second later; camguard restores the mappings by itself, enforcement on or not, and cuts
    // the camera's open connection once its block rule is live.
    set_policy_option(&tb, "camera_internet", "block");
    let block = tb.call("enforce", r#"{"finding":"camera.internet"}"#);
    assert_eq!(block["failed"], serde_json::json!([]), "{block:#}");
    assert!(
        wait_until(Duration::from_secs(3), || net.upnp_rules() == 0),
        "procd reloaded the firewall after camguard's commit"
    );
    assert!(
        wait_until(Duration::from_secs(15), || reachable(&net)),
        "camguard restored the mappings after its own commit"
    );
    assert!(
        wait_until(Duration::from_secs(15), || camera_flow
            .try_wait()
            .unwrap()
            .is_some()),
        "the blocked camera's established connection is closed"
    );
    let _ = cloud.kill();
    let _ = cloud.wait();
    let journal = tb.call("journal", "{}");
    assert!(
        journal["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "restore-upnp"),
        "{journal:#}"
    );
    assert_eq!(net.rules_as_written(), written_by_miniupnpd);
    assert_eq!(miniupnpd_pid(&tb), pid, "miniupnpd was not restarted");

    // miniupnpd takes the restored rules for its own: its delete finds one mapping's DNAT and
    // accept rule by what they match and removes them by handle, and the other mapping keeps
    // working. miniupnpd 2.3 caches rule handles until its own next write, so after any firewall
    // reload its first delete of a mapping would use a handle the reload made stale; here a
    // client's new mapping is that write, as any client's traffic would be.
    assert!(net.map(&net.pc, PC_IP, 8082, 18082, "TCP", 3600));
    assert!(net.unmap(&net.pc, 18081, "TCP"));
    assert!(
        wait_until(Duration::from_secs(3), || net.forward_rules() == 2),
        "{:#?}",
        net.rules_as_written()
    );
    let mut left: Vec<u16> = net.live_mappings().iter().map(|m| m.1).collect();
    left.sort();
    assert_eq!(left, [18080, 18082]);
    assert!(!leases(&tb).contains(":18081:"), "{}", leases(&tb));
    assert!(net.reachable_from_wan(18080));
    assert!(!net.reachable_from_wan(18081));

    // Where the rules cannot be written as miniupnpd would (here its config names no external
    // device), miniupnpd is restarted to replay its lease file instead, and the outcome says so.
    let conf = tb.root.join("var/etc/miniupnpd.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("ext_ifname=wan\n", "")).unwrap();
    assert!(tb
        .ubus(&[
            "call",
            "rc",
            "init",
            r#"{"name":"firewall","action":"reload"}"#
        ])
        .status
        .success());
    assert!(wait_until(Duration::from_secs(3), || net.upnp_rules() == 0));
    let outcome = tb.call("enforce", r#"{"finding":"upnp.rules_lost"}"#);
    assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
    let verified = outcome["verified"].as_array().unwrap();
    assert!(
        verified.iter().any(|c| c["check"] == "UPnP rules re-added"
            && c["detail"]
                == "/var/etc/miniupnpd.conf has no ext_ifname; miniupnpd is restarted to replay \
                    its lease file instead"),
        "{outcome:#}"
    );
    assert!(
        verified
            .iter()
            .any(|c| c["check"] == "UPnP mappings restored" && c["ok"] == true),
        "{outcome:#}"
    );
    assert_ne!(miniupnpd_pid(&tb), pid, "miniupnpd was restarted");
    let mut left: Vec<u16> = net.live_mappings().iter().map(|m| m.1).collect();
    left.sort();
    assert_eq!(left, [18080, 18082]);
    assert!(net.reachable_from_wan(18080));

    let _ = tb.ubus(&[
        "call",
        "rc",
        "init",
        r#"{"name":"miniupnpd","action":"stop"}"#,
    ]);
    let _ = server.kill();
    let _ = server.wait();
    drop(tb);
    let _ = std::fs::remove_dir_all(&dir);
}

fn finding_ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect()
}

/// Sends `count` copies of `payload` from `src` (an address of namespace `ns`) to the SSDP /
/// WS-Discovery / SADP group on `port`, out of the interface `src` is on.
fn announce(net: &Net, ns: &str, src: &str, port: u16, payload: &str, count: usize) {
    let script = format!(
        "import socket,sys\n\
         s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         s.bind(('{src}',0))\n\
         s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('{src}'))\n\
         p=bytes.fromhex(sys.argv[1])\n\
         for _ in range({count}): s.sendto(p,('239.255.255.250',{port}))\n"
    );
    let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
    let out = net.exec(ns, &["/usr/bin/python3", "-c", &script, &hex]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A unicast M-SEARCH from `ns` to the router's port 1900: true when miniupnpd answered.
fn unicast_msearch_answered(net: &Net, ns: &str) -> bool {
    let script = "import socket\n\
        s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(2)\n\
        s.sendto(b'M-SEARCH * HTTP/1.1\\r\\nHOST: 192.168.1.1:1900\\r\\nMAN: \"ssdp:discover\"\\r\\n\
        ST: ssdp:all\\r\\n\\r\\n',('192.168.1.1',1900))\n\
        print(s.recvfrom(2048)[0].decode(errors='replace'))\n";
    let out = net.exec(ns, &["/usr/bin/python3", "-c", script]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("rootDesc.xml")
}

/// The `devices` row holding `ip`.
fn device_with(tb: &Testbed, ip: &str) -> serde_json::Value {
    let reply = tb.call("devices", "{}");
    reply["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ips"].as_array().unwrap().iter().any(|a| a == ip))
        .cloned()
        .unwrap_or_else(|| panic!("no device with {ip}: {reply:#}"))
}

const SADP_ANNOUNCEMENT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ProbeMatch>\
    <Uuid>7F1C0A34-2B4E-4C7D-9A11-3C2D4E5F6A7B</Uuid><Types>inquiry</Types>\
    <DeviceType>138153</DeviceType><DeviceDescription>DS-2CD2143G0-I</DeviceDescription>\
    <DeviceSN>DS-2CD2143G0-I20190101AAWRD12345678</DeviceSN><MAC>4c-bd-8f-00-00-64</MAC>\
    <IPv4Address>192.168.1.64</IPv4Address><SoftwareVersion>V5.5.800build 210628</SoftwareVersion>\
    </ProbeMatch>";
const WS_HELLO: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope \
    xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
    xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
    xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
    xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\"><s:Header>\
    <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action>\
    <a:MessageID>uuid:0e2a5a3c-1b7e-4c1a-9d7e-5a1b2c3d4e5f</a:MessageID></s:Header><s:Body>\
    <d:Hello><a:EndpointReference><a:Address>urn:uuid:0e2a5a3c</a:Address></a:EndpointReference>\
    <d:Types>dn:NetworkVideoTransmitter</d:Types>\
    <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/IPC-HDW1230S</d:Scopes>\
    <d:XAddrs>http://192.168.1.65/onvif/device_service</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>\
    </d:Hello></s:Body></s:Envelope>";
const NOTIFY: &str = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n\
    LOCATION: http://192.168.1.66:49152/rootDesc.xml\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\
    NTS: ssdp:alive\r\nSERVER: Linux/4.9 UPnP/1.1 TV/1.0\r\n\
    USN: uuid:5d1f0a3c-0000-1000-8000-001122334466::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";

/// Issue 17: the daemon hears what LAN devices multicast by themselves (a SADP announcement, a
/// WS-Discovery Hello, an SSDP NOTIFY) and shows it as `passive` evidence; a flooding source
/// is cut off at its rate while the daemon keeps answering; an announcement from an address
/// outside the LAN subnet is ignored; and the real miniupnpd keeps answering M-SEARCHes,
/// multicast and unicast, whether it started after camguard or before.
#[test]
fn announcements_are_heard_beside_the_real_miniupnpd() {
    let net = Net::new("l");
    let dir = std::env::temp_dir().join(format!("camguard-e2e-l-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = router_root(&dir);
    let tb = Testbed::new(&format!("e2e-{}", net.router), &src).in_netns(&net.router);
    std::fs::copy(
        repo().join("tests/fixtures/e2e/miniupnpd.init"),
        tb.root.join("etc/init.d/miniupnpd"),
    )
    .unwrap();
    // Three more addresses in the camera's namespace, each a device of its own in the leases,
    // and one outside the LAN subnet on the same wire.
    for a in [
        "192.168.1.65/24",
        "192.168.1.66/24",
        "192.168.1.67/24",
        "10.9.9.9/32",
    ] {
        run("ip", &["-n", &net.camera, "addr", "add", a, "dev", "eth0"]);
    }
    // The router accepts what arrives from 10.9.9.9 on the LAN (no reverse-path filter), so
    // that only camguard's own check can refuse it.
    for conf in ["all", "lan"] {
        let key = format!("net.ipv4.conf.{conf}.rp_filter=0");
        run("ip", &["netns", "exec", &net.router, "sysctl", "-qw", &key]);
    }
    let leases = tb.root.join("tmp/dhcp.leases");
    let mut text = std::fs::read_to_string(&leases).unwrap();
    text.push_str(
        "0 02:00:00:00:00:65 192.168.1.65 porch *\n0 b8:27:eb:00:00:66 192.168.1.66 living-room *\n\
         0 02:00:00:00:09:09 10.9.9.9 stranger *\n0 02:00:00:00:00:67 192.168.1.67 shed *\n",
    );
    std::fs::write(&leases, text).unwrap();
    let mut tb = tb.up_without_daemon();

    // camguard first, then miniupnpd: miniupnpd's bind of UDP 1900 must still succeed.
    tb.start_daemon(&[]);
    let start = r#"{"name":"miniupnpd","action":"start"}"#;
    assert!(tb.ubus(&["call", "rc", "init", start]).status.success());
    let discovered = || {
        // No -u: upnpc finds the gateway by a multicast M-SEARCH, as a LAN device would.
        let out = net.exec(&net.pc, &["upnpc", "-s"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("192.168.1.1:5000")
    };
    assert!(
        wait_until(Duration::from_secs(10), discovered),
        "upnpc -s finds miniupnpd while camguard listens"
    );
    assert!(
        unicast_msearch_answered(&net, &net.pc),
        "unicast M-SEARCH answered"
    );

    // A flood from the PC, its last datagram a SADP announcement: dropped above the rate.
    let flood_start = std::time::Instant::now();
    announce(
        &net,
        &net.pc,
        PC_IP,
        1900,
        &NOTIFY.replace("ssdp:alive", "ssdp:byebye"),
        150,
    );
    announce(&net, &net.pc, PC_IP, 37020, SADP_ANNOUNCEMENT, 1);
    assert!(
        flood_start.elapsed() < Duration::from_secs(5),
        "the flood took {:?}: too slow to exceed the rate",
        flood_start.elapsed()
    );
    let answered = std::time::Instant::now();
    tb.call("status", "{}");
    assert!(
        answered.elapsed() < Duration::from_secs(2),
        "status took {:?} after the flood",
        answered.elapsed()
    );

    announce(&net, &net.camera, CAMERA_IP, 37020, SADP_ANNOUNCEMENT, 1);
    announce(&net, &net.camera, "192.168.1.65", 3702, WS_HELLO, 1);
    announce(&net, &net.camera, "192.168.1.66", 1900, NOTIFY, 1);
    announce(&net, &net.camera, "10.9.9.9", 37020, SADP_ANNOUNCEMENT, 1);
    // Heard announcements are judged at the next coalesced audit (10 s).
    assert!(
        wait_until(Duration::from_secs(30), || !device_with(
            &tb,
            "192.168.1.66"
        )["info"]
            .is_null()),
        "the NOTIFY was never shown: {:#}",
        device_with(&tb, "192.168.1.66")
    );
    let camera = device_with(&tb, CAMERA_IP);
    let info = &camera["info"];
    assert_eq!(info["model"], "DS-2CD2143G0-I", "{camera:#}");
    assert_eq!(info["firmware"], "V5.5.800build 210628");
    assert_eq!(
        (&info["protocol"], &info["passive"]),
        (&"SADP".into(), &true.into())
    );
    let porch = device_with(&tb, "192.168.1.65");
    assert_eq!(porch["info"]["model"], "IPC-HDW1230S", "{porch:#}");
    assert_eq!(porch["info"]["protocol"], "WS-Discovery");
    assert_eq!(porch["info"]["passive"], true);
    assert_eq!(
        porch["class"], "camera",
        "a Hello from an ONVIF camera is evidence: {porch:#}"
    );
    let tv = device_with(&tb, "192.168.1.66");
    assert_eq!(
        tv["info"]["device_type"],
        "urn:schemas-upnp-org:device:MediaRenderer:1"
    );
    assert_eq!(tv["info"]["passive"], true);
    // With probe '0' the NOTIFY's LOCATION is not fetched: the device type is all there is.
    assert!(tv["info"]["model"].is_null() && tv["info"]["manufacturer"].is_null());
    assert!(
        device_with(&tb, PC_IP)["info"].is_null(),
        "the flooder's SADP came above its rate"
    );
    assert!(
        device_with(&tb, "10.9.9.9")["info"].is_null(),
        "an address outside the LAN subnet is not heard"
    );
    // The flooder's bucket refills: heard again a few seconds on.
    std::thread::sleep(Duration::from_secs(3));
    announce(&net, &net.pc, PC_IP, 37020, SADP_ANNOUNCEMENT, 1);
    assert!(
        wait_until(Duration::from_secs(30), || !device_with(&tb, PC_IP)["info"]
            .is_null()),
        "the PC was never heard again"
    );

    // option listen '0' closes the sockets at the next audit; '1' opens them again.
    let listening = || {
        let out = net.exec(&net.router, &["ss", "-uan"]);
        String::from_utf8_lossy(&out.stdout).contains("239.255.255.250:37020")
    };
    assert!(listening());
    set_policy_option(&tb, "listen", "0");
    assert!(
        wait_until(Duration::from_secs(10), || !listening()),
        "still listening with option listen '0'"
    );
    set_policy_option(&tb, "listen", "1");
    assert!(wait_until(Duration::from_secs(10), listening));

    // miniupnpd first, then camguard: M-SEARCHes are still answered.
    tb.stop_daemon();
    tb.start_daemon(&[]);
    assert!(discovered(), "upnpc -s after camguard restarted");
    assert!(unicast_msearch_answered(&net, &net.pc));

    // netifd recreating the LAN bridge drops every membership on it: the next audit (here
    // after a SIGHUP) joins again.
    let _ = tb.ubus(&[
        "call",
        "rc",
        "init",
        r#"{"name":"miniupnpd","action":"stop"}"#,
    ]);
    let r = net.router.as_str();
    run("ip", &["-n", r, "link", "del", "lan"]);
    run("ip", &["-n", r, "link", "add", "lan", "type", "bridge"]);
    run(
        "ip",
        &["-n", r, "addr", "add", "192.168.1.1/24", "dev", "lan"],
    );
    for port in ["cam0", "pc0"] {
        run("ip", &["-n", r, "link", "set", port, "master", "lan", "up"]);
    }
    run("ip", &["-n", r, "link", "set", "lan", "up"]);
    let pid = tb.daemon_pid().unwrap() as i32;
    // SAFETY: kill(2) on the daemon this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    // Announced again and again, as devices do, until the next judgement shows it.
    assert!(
        wait_until(Duration::from_secs(30), || {
            announce(
                &net,
                &net.camera,
                "192.168.1.67",
                37020,
                SADP_ANNOUNCEMENT,
                1,
            );
            !device_with(&tb, "192.168.1.67")["info"].is_null()
        }),
        "not heard after the bridge was recreated"
    );
    drop(tb);
    let _ = std::fs::remove_dir_all(&dir);
}
