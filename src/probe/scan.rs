//! The optional camera-port probe: which of a LAN device's camera ports answer, and what.
//!
//! A camera with a generic Wi-Fi module and a generic hostname shows nothing in DHCP; what it
//! serves gives it away. The probe connects to [`CAMERA_PROBE_PORTS`] of LAN addresses only
//! (every address passes [`LanGuard`] first), with a short connect timeout and a few worker
//! threads (no async runtime on the router). On RTSP ports it sends one `OPTIONS` and
//! recognises an `RTSP/1.0` reply; on web ports one `GET /`, whose `Server` header and
//! `WWW-Authenticate` realm often name the maker. On the vendors' binary SDK ports (Dahua
//! 37777, Xiongmai 34567) it only connects: an open port is the evidence, and nothing is sent
//! that a recorder's parser could choke on. No credentials are ever sent by the probe.
//!
//! The result feeds classification as `(port, "answers on")` service ports
//! ([`ProbeReport::service_ports`]) and the default-password check as the ports to use.
// What LAN devices send is parsed here: it must not be able to panic the daemon (probe/mod.rs).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::guard::LanGuard;
use super::wire::{self, Response};
use crate::lan::{ProbeReport, Service, ServiceKind, VendorHint, HTTP_PORTS, RTSP_PORTS};
use crate::ports::CAMERA_PROBE_PORTS;
use crate::text::lan_text;

/// How long a connect may take. LAN hosts answer in milliseconds; a silent port (a firewall
/// dropping SYNs) costs this much.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// The whole request/response on an open port.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub ports: Vec<u16>,
    pub connect_timeout: Duration,
    pub exchange_timeout: Duration,
    /// Connections open at once. Small: the router is busy routing.
    pub concurrency: usize,
    /// No new connection is started after this much time; the probe then returns what it has.
    pub deadline: Duration,
}

impl Default for ProbeOptions {
    fn default() -> ProbeOptions {
        ProbeOptions {
            ports: CAMERA_PROBE_PORTS.to_vec(),
            connect_timeout: CONNECT_TIMEOUT,
            exchange_timeout: EXCHANGE_TIMEOUT,
            concurrency: 8,
            deadline: Duration::from_secs(60),
        }
    }
}

/// Probes every port of `opts.ports` on each address the guard allows. Blocks for at most
/// about `opts.deadline + connect_timeout + exchange_timeout`: run it off the daemon's event
/// loop. Returns one report per address, in the order given.
pub fn probe(ips: &[IpAddr], guard: &LanGuard, now: u64, opts: &ProbeOptions) -> Vec<ProbeReport> {
    let mut reports: Vec<ProbeReport> = ips
        .iter()
        .map(|&ip| ProbeReport {
            ip,
            at: now,
            services: Vec::new(),
            refused: guard.check(ip).err().map(|r| r.to_string()),
            info: None,
        })
        .collect();
    let jobs: Vec<(usize, IpAddr, u16)> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.refused.is_none())
        .flat_map(|(i, r)| opts.ports.iter().map(move |&p| (i, r.ip, p)))
        .collect();
    let found: Mutex<Vec<(usize, Service)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let work = || loop {
        if started.elapsed() >= opts.deadline {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&(report, ip, port)) = jobs.get(i) else {
            break;
        };
        if let Some(service) = probe_port(ip, port, opts) {
            found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((report, service));
        }
    };
    std::thread::scope(|scope| {
        let mut spawned = 0;
        for _ in 0..opts.concurrency.clamp(1, 64).min(jobs.len()) {
            // Small stacks: the workers only hold a 16 KiB buffer.
            if std::thread::Builder::new()
                .name("camguard-probe".into())
                .stack_size(128 * 1024)
                .spawn_scoped(scope, work)
                .is_ok()
            {
                spawned += 1;
            }
        }
        if spawned == 0 && !jobs.is_empty() {
            work(); // No threads to be had: probe one port at a time.
        }
    });
    for (report, service) in found.into_inner().unwrap_or_else(|e| e.into_inner()) {
        if let Some(r) = reports.get_mut(report) {
            r.services.push(service);
        }
    }
    for r in &mut reports {
        r.services.sort_by_key(|s| s.port);
    }
    reports
}

fn probe_port(ip: IpAddr, port: u16, opts: &ProbeOptions) -> Option<Service> {
    let addr = SocketAddr::new(ip, port);
    let mut stream = wire::connect(addr, opts.connect_timeout).ok()?;
    let request = request_for(ip, port);
    let reply = match &request {
        Some(req) => wire::exchange(&mut stream, req.as_bytes(), opts.exchange_timeout)
            .ok()
            .map(|(bytes, _)| bytes),
        None => None,
    };
    Some(interpret(port, reply.as_deref()))
}

/// The one request sent to a port, if any.
fn request_for(ip: IpAddr, port: u16) -> Option<String> {
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    if RTSP_PORTS.contains(&port) {
        Some(format!(
            "OPTIONS rtsp://{host}:{port}/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camguard\r\n\r\n"
        ))
    } else if HTTP_PORTS.contains(&port) {
        Some(format!(
            "GET / HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: camguard\r\nConnection: close\r\n\r\n"
        ))
    } else {
        None
    }
}

/// What an open port's reply (None: nothing sent, or no reply) says. Pure, for the tests.
pub fn interpret(port: u16, reply: Option<&[u8]>) -> Service {
    let parsed = reply.and_then(Response::parse);
    let kind = match &parsed {
        Some(r) if r.is_rtsp() && RTSP_PORTS.contains(&port) => ServiceKind::Rtsp,
        Some(r) if !r.is_rtsp() && HTTP_PORTS.contains(&port) => ServiceKind::Http,
        // An RTSP reply on a web port or the reverse is odd but still RTSP/HTTP.
        Some(r) if r.is_rtsp() => ServiceKind::Rtsp,
        Some(_) => ServiceKind::Http,
        None => ServiceKind::Tcp,
    };
    let mut service = Service {
        port,
        kind,
        server: None,
        realm: None,
        auth: Vec::new(),
        vendor_hint: None,
    };
    if let Some(r) = parsed {
        let challenges = r.challenges();
        service.server = r.server();
        service.realm = challenges
            .iter()
            .find_map(|c| c.realm())
            .map(|realm| lan_text(realm.as_bytes()));
        // The scheme is the device's text too (any bytes up to the first space): cleaned like
        // the realm, it reaches ubus, the state file and LuCI (tests/fuzz_regressions.rs).
        service.auth = challenges
            .iter()
            .map(|c| lan_text(c.scheme.as_bytes()))
            .collect();
        service.auth.dedup();
        service.vendor_hint = vendor_hint(&r);
    }
    service
}

/// Web-server names and realms that name a camera maker. Sources, as seen in public client and
/// scanner code (none is a vendor document, so each is a strong hint, not a proof):
/// - Hikvision: `Server: App-webs/`, `DNVRS-Webs`, `DVRDVS-Webs`, `Hikvision-Webs` (nmap's
///   http-default-accounts fingerprints list these four); the web UI's `/doc/page/login.asp`;
///   the ISAPI/RTSP realm `IP Camera(<digits>)` (several independent clients; GUESS that only
///   Hikvision uses that exact form).
/// - Dahua (and its OEMs such as Amcrest and Lorex): realm `Login to <serial>`, on HTTP and
///   RTSP (many independent clients and captures).
/// - Axis: realm `AXIS_<MAC>` or `AXIS_WS_<MAC>` (VAPIX clients and captures).
pub fn vendor_hint(r: &Response) -> Option<VendorHint> {
    let server = r.header("server").unwrap_or("").to_ascii_lowercase();
    for name in ["app-webs", "dnvrs-webs", "dvrdvs-webs", "hikvision-webs"] {
        if server.starts_with(name) {
            return Some(VendorHint {
                vendor: "Hikvision".into(),
                reason: format!(
                    "its web server calls itself \"{}\", as Hikvision's do",
                    lan_text(r.header("server").unwrap_or("").as_bytes())
                ),
            });
        }
    }
    for challenge in r.challenges() {
        let Some(realm) = challenge.realm() else {
            continue;
        };
        let shown = lan_text(realm.as_bytes());
        if realm.starts_with("AXIS_") {
            return Some(VendorHint {
                vendor: "Axis".into(),
                reason: format!("its login realm \"{shown}\" is Axis's AXIS_<MAC> form"),
            });
        }
        if realm.starts_with("Login to ") {
            return Some(VendorHint {
                vendor: "Dahua".into(),
                reason: format!(
                    "its login realm \"{shown}\" is the \"Login to <serial>\" form of Dahua \
                     and the makers that use Dahua's firmware"
                ),
            });
        }
        if let Some(inner) = realm
            .strip_prefix("IP Camera(")
            .and_then(|s| s.strip_suffix(')'))
        {
            if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Some(VendorHint {
                    vendor: "Hikvision".into(),
                    reason: format!("its login realm \"{shown}\" is Hikvision's form"),
                });
            }
        }
    }
    let body = String::from_utf8_lossy(&r.body).to_ascii_lowercase();
    if body.contains("/doc/page/login.asp") {
        return Some(VendorHint {
            vendor: "Hikvision".into(),
            reason: "its web page leads to /doc/page/login.asp, Hikvision's login page".into(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lan::ANSWERS_ON;

    #[test]
    fn rtsp_reply_on_554_is_rtsp_and_evidence() {
        let s = interpret(
            554,
            Some(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\nServer: GStreamer RTSP server\r\n\r\n"),
        );
        assert_eq!(s.kind, ServiceKind::Rtsp);
        assert_eq!(s.server.as_deref(), Some("GStreamer RTSP server"));
        let report = ProbeReport {
            ip: "192.168.1.5".parse().unwrap(),
            at: 0,
            services: vec![s, interpret(554, None)],
            refused: None,
            info: None,
        };
        assert_eq!(report.service_ports(), vec![(554, ANSWERS_ON)]);
    }

    #[test]
    fn web_servers_on_8000_are_no_hikvision_sdk_and_only_http_on_88_is_foscam() {
        let report = |services| ProbeReport {
            ip: "192.168.1.5".parse().unwrap(),
            at: 0,
            services,
            refused: None,
            info: None,
        };
        let http = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11\r\n\r\n";
        assert_eq!(
            report(vec![interpret(8000, Some(http)), interpret(88, None)]).service_ports(),
            []
        );
        assert_eq!(
            report(vec![interpret(8000, None), interpret(88, Some(http))]).service_ports(),
            [(8000, ANSWERS_ON), (88, ANSWERS_ON)]
        );
    }

    #[test]
    fn silent_554_is_no_rtsp_evidence_but_37777_is() {
        let report = ProbeReport {
            ip: "192.168.1.5".parse().unwrap(),
            at: 0,
            services: vec![
                interpret(554, Some(b"SSH-2.0-x\r\n")),
                interpret(37777, None),
            ],
            refused: None,
            info: None,
        };
        assert_eq!(report.service_ports(), vec![(37777, ANSWERS_ON)]);
    }

    #[test]
    fn vendors_from_server_and_realm() {
        let hik = interpret(
            80,
            Some(b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Length: 0\r\n\r\n"),
        );
        assert_eq!(hik.kind, ServiceKind::Http);
        assert_eq!(hik.vendor_hint.unwrap().vendor, "Hikvision");
        let dahua = interpret(
            554,
            Some(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm=\"Login to 4M0747EPAA1D284\", nonce=\"n\"\r\n\r\n"),
        );
        assert_eq!(dahua.vendor_hint.as_ref().unwrap().vendor, "Dahua");
        assert_eq!(dahua.realm.as_deref(), Some("Login to 4M0747EPAA1D284"));
        assert_eq!(dahua.auth, ["digest"]);
        let axis = interpret(
            80,
            Some(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"AXIS_ACCC8E000111\", nonce=\"n\"\r\n\r\n"),
        );
        assert_eq!(axis.vendor_hint.unwrap().vendor, "Axis");
        let plain = interpret(
            80,
            Some(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"IP Camera\"\r\n\r\n",
            ),
        );
        assert_eq!(
            plain.vendor_hint, None,
            "a bare \"IP Camera\" names no maker"
        );
        let page = interpret(
            80,
            Some(b"HTTP/1.0 200 OK\r\n\r\n<script>location='/doc/page/login.asp'</script>"),
        );
        assert_eq!(page.vendor_hint.unwrap().vendor, "Hikvision");
    }

    #[test]
    fn hostile_replies_are_cleaned_and_never_panic() {
        let s = interpret(
            80,
            Some(b"HTTP/1.1 401 x\r\nServer: \x1b]0;pwned\x07\r\nWWW-Authenticate: Digest realm=\"a\xe2\x80\xaeb\"\r\n\r\n"),
        );
        assert_eq!(s.server.as_deref(), Some("\\x1b]0;pwned\\x07"));
        assert_eq!(s.realm.as_deref(), Some("a\\u{202e}b"));
        for junk in [
            &b""[..],
            b"\r\n\r\n",
            b"HTTP/",
            b"RTSP/1.0",
            b"\xff\xfe\x00",
            b"HTTP/1.1 200",
        ] {
            let _ = interpret(80, Some(junk));
            let _ = interpret(554, Some(junk));
        }
    }

    #[test]
    fn refused_addresses_get_no_connection() {
        let guard = LanGuard::new(vec![
            super::super::guard::LanPrefix::parse("10.1.1.1/24").unwrap()
        ]);
        // 198.51.100.7 is unroutable here anyway; the point is that it is refused before any
        // connect, so the report says why and lists no services.
        let reports = probe(
            &["198.51.100.7".parse().unwrap()],
            &guard,
            5,
            &ProbeOptions::default(),
        );
        assert_eq!(reports.len(), 1);
        assert!(reports[0]
            .refused
            .as_deref()
            .unwrap()
            .contains("not a private"));
        assert!(reports[0].services.is_empty());
    }
}
