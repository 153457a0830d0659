//! The safety rules against scripted cameras. The real-server tests are in
//! tests/credcheck_netns.rs; these cover every branch without a network.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::*;
use crate::audit::credentials::remembered_findings;
use crate::audit::Severity;
use crate::lan::{Classification, Confidence, DeviceClass};
use crate::probe::digest::{hex, md5};
use crate::probe::guard::LanPrefix;

const DAY: u64 = 86_400;
const T0: u64 = 1_795_608_000;

#[derive(Clone, Copy, PartialEq)]
enum Scheme {
    Digest,
    Basic,
    Sha256Only,
}

/// A camera's login logic: HTTP or RTSP, Digest or Basic, counting what it receives.
struct Camera {
    user: &'static str,
    password: &'static str,
    realm: &'static str,
    scheme: Scheme,
    rtsp: bool,
    /// Paths that demand a login; others answer 200 (or 404 for RTSP).
    protected: Vec<&'static str>,
    lock_after: u32,
    /// Hikvision-style XML bodies with retryLoginTime.
    hik_body: bool,
    /// Hikvision ISAPI JSON bodies (`{"UserCheck":{…}}`) on every 401, the prompt included.
    json_body: bool,
    /// Answer every request with this status instead (a locked or broken camera).
    fixed_status: Option<u16>,
    /// Text to put in every 401 body.
    body_401: &'static str,
    // Counters.
    connects: u32,
    requests: u32,
    attempts: u32,
    failures: u32,
    locked: bool,
    nonces: u32,
    /// Set by the test's save closure: attempts recorded in the saved state.
    saved_attempts: Rc<RefCell<usize>>,
    /// An attempt arrived that the saved state did not record yet.
    unrecorded_attempt: bool,
}

impl Camera {
    fn new(user: &'static str, password: &'static str, realm: &'static str) -> Camera {
        Camera {
            user,
            password,
            realm,
            scheme: Scheme::Digest,
            rtsp: false,
            protected: vec![
                "/ISAPI/Security/userCheck",
                "/cgi-bin/magicBox.cgi?action=getDeviceType",
                "/",
            ],
            lock_after: 3,
            hik_body: false,
            json_body: false,
            fixed_status: None,
            body_401: "",
            connects: 0,
            requests: 0,
            attempts: 0,
            failures: 0,
            locked: false,
            nonces: 0,
            saved_attempts: Rc::new(RefCell::new(0)),
            unrecorded_attempt: false,
        }
    }

    fn challenge(&mut self) -> String {
        self.nonces += 1;
        match self.scheme {
            Scheme::Digest => format!(
                "WWW-Authenticate: Digest realm=\"{}\", qop=\"auth\", nonce=\"n{}\", opaque=\"op\"\r\n",
                self.realm, self.nonces
            ),
            Scheme::Basic => format!("WWW-Authenticate: Basic realm=\"{}\"\r\n", self.realm),
            Scheme::Sha256Only => format!(
                "WWW-Authenticate: Digest realm=\"{}\", nonce=\"n\", algorithm=SHA-256\r\n",
                self.realm
            ),
        }
    }

    fn verify(&self, method: &str, auth: &str) -> bool {
        match self.scheme {
            Scheme::Basic => {
                auth == format!(
                    "Basic {}",
                    digest::base64(format!("{}:{}", self.user, self.password).as_bytes())
                )
            }
            _ => {
                let ch = &digest::parse_challenges([auth])[0];
                let p = |k: &str| ch.param(k).unwrap_or("").to_owned();
                if p("username") != self.user || p("realm") != self.realm {
                    return false;
                }
                let h = |s: String| hex(&md5(s.as_bytes()));
                let ha1 = h(format!("{}:{}:{}", self.user, self.realm, self.password));
                let ha2 = h(format!("{method}:{}", p("uri")));
                let want = h(format!(
                    "{ha1}:{}:{}:{}:{}:{ha2}",
                    p("nonce"),
                    p("nc"),
                    p("cnonce"),
                    p("qop")
                ));
                p("response") == want
            }
        }
    }

    fn answer(&mut self, request: &str) -> String {
        self.requests += 1;
        let proto = if self.rtsp { "RTSP/1.0" } else { "HTTP/1.1" };
        let cseq = request
            .lines()
            .find_map(|l| l.strip_prefix("CSeq: "))
            .map(|c| format!("CSeq: {c}\r\n"))
            .unwrap_or_default();
        if let Some(status) = self.fixed_status {
            return format!("{proto} {status} Status\r\n{cseq}Content-Length: 0\r\n\r\n");
        }
        let mut words = request.split(' ');
        let method = words.next().unwrap_or("").to_owned();
        let target = words.next().unwrap_or("").to_owned();
        let path = if self.rtsp {
            target
                .strip_prefix("rtsp://")
                .and_then(|t| t.find('/').map(|i| t[i..].to_owned()))
                .unwrap_or_default()
        } else {
            target.clone()
        };
        if !self.protected.contains(&path.as_str()) {
            let status = if self.rtsp { "404 Not Found" } else { "200 OK" };
            return format!("{proto} {status}\r\n{cseq}Content-Length: 0\r\n\r\n");
        }
        let auth = request
            .lines()
            .find_map(|l| l.strip_prefix("Authorization: "))
            .map(str::to_owned);
        let Some(auth) = auth else {
            let ch = self.challenge();
            let body = if self.json_body {
                self.json()
            } else {
                String::new()
            };
            return format!(
                "{proto} 401 Unauthorized\r\n{cseq}{ch}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
        };
        self.attempts += 1;
        if (*self.saved_attempts.borrow() as u32) < self.attempts {
            self.unrecorded_attempt = true;
        }
        if self.locked {
            return self.fail_reply(proto, &cseq);
        }
        if self.verify(&method, &auth) {
            let body = if self.hik_body {
                "<userCheck><statusValue>200</statusValue></userCheck>"
            } else {
                ""
            };
            return format!(
                "{proto} 200 OK\r\n{cseq}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
        self.failures += 1;
        if self.failures >= self.lock_after {
            self.locked = true;
        }
        self.fail_reply(proto, &cseq)
    }

    /// The body of a Hikvision ISAPI JSON 401 (the shape of issue 17's adversarial camera).
    fn json(&self) -> String {
        format!(
            "{{\"UserCheck\":{{\"statusValue\":401,\"statusString\":\"Unauthorized\",\
             \"isDefaultPassword\":false,\"lockStatus\":\"{}\",\"unlockTime\":{},\
             \"retryLoginTime\":{}}}}}",
            if self.locked { "lock" } else { "unlock" },
            if self.locked { 1800 } else { 0 },
            self.lock_after.saturating_sub(self.failures)
        )
    }

    fn fail_reply(&mut self, proto: &str, cseq: &str) -> String {
        let body = if self.json_body {
            self.json()
        } else if self.hik_body {
            format!(
                "<userCheck><statusValue>401</statusValue><lockStatus>{}</lockStatus>\
                 <unlockTime>0</unlockTime><retryLoginTime>{}</retryLoginTime></userCheck>",
                if self.locked { "lock" } else { "unlock" },
                self.lock_after.saturating_sub(self.failures)
            )
        } else {
            self.body_401.to_owned()
        };
        let ch = self.challenge();
        format!(
            "{proto} 401 Unauthorized\r\n{cseq}{ch}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }
}

type Shared = Rc<RefCell<Camera>>;

struct FakeNet {
    cameras: HashMap<SocketAddr, Shared>,
    connects_elsewhere: u32,
}

struct FakeConn(Shared);

impl Connection for FakeConn {
    fn exchange(&mut self, request: &[u8]) -> io::Result<Vec<u8>> {
        let text = String::from_utf8_lossy(request).into_owned();
        Ok(self.0.borrow_mut().answer(&text).into_bytes())
    }
}

impl Transport for FakeNet {
    fn connect(&mut self, addr: SocketAddr) -> io::Result<Box<dyn Connection>> {
        match self.cameras.get(&addr) {
            Some(c) => {
                c.borrow_mut().connects += 1;
                Ok(Box::new(FakeConn(c.clone())))
            }
            None => {
                self.connects_elsewhere += 1;
                Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"))
            }
        }
    }

    fn cnonce(&mut self) -> String {
        "0a4f113b".into()
    }
}

fn guard() -> LanGuard {
    LanGuard::new(vec![LanPrefix::parse("192.168.1.1/24").unwrap()])
}

fn device(mac: &str, ip: &str, class: DeviceClass, vendor: Option<&str>) -> Arc<Device> {
    Arc::new(Device::new(
        Some(mac.parse().unwrap()),
        vec![ip.parse().unwrap()],
        vec!["cam1".into()],
        vec!["DHCP lease"],
        Classification {
            class,
            confidence: Confidence::High,
            vendor: vendor.map(str::to_owned),
            reasons: vec![],
            contradictions: vec![],
        },
    ))
}

fn target(d: &Arc<Device>, http: &[u16], rtsp: &[u16]) -> Target {
    let ip = d.ips[0];
    Target {
        key: d.mac.unwrap().to_string(),
        device: d.clone(),
        ip,
        vendor: d.classification.vendor.clone(),
        http_ports: http.to_vec(),
        rtsp_ports: rtsp.to_vec(),
    }
}

struct Rig {
    net: FakeNet,
    state: CredState,
    saved: Vec<Vec<u8>>,
    fail_saves: bool,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            net: FakeNet {
                cameras: HashMap::new(),
                connects_elsewhere: 0,
            },
            state: CredState::default(),
            saved: Vec::new(),
            fail_saves: false,
        }
    }

    fn camera(&mut self, addr: &str, cam: Camera) -> Shared {
        let shared = Rc::new(RefCell::new(cam));
        self.net
            .cameras
            .insert(addr.parse().unwrap(), shared.clone());
        shared
    }

    fn run(&mut self, targets: &[Target], now: u64) -> Vec<CredentialResult> {
        let cams: Vec<Shared> = self.net.cameras.values().cloned().collect();
        let saved = &mut self.saved;
        let fail = self.fail_saves;
        let mut save = |s: &CredState| -> io::Result<()> {
            if fail {
                return Err(io::Error::other("disk full"));
            }
            saved.push(s.to_json());
            let recorded: usize = s.devices.values().map(|r| r.attempts.len()).sum();
            for c in &cams {
                let c = c.borrow();
                let before = *c.saved_attempts.borrow();
                *c.saved_attempts.borrow_mut() = recorded.max(before);
            }
            Ok(())
        };
        check(
            targets,
            &guard(),
            &mut self.state,
            now,
            &mut self.net,
            &mut save,
        )
    }
}

fn hikvision_camera() -> Camera {
    let mut c = Camera::new("admin", "12345", "IP Camera(A1B2)");
    c.hik_body = true;
    c
}

/// Every way a result can be shown, for the no-password assertions.
fn every_output(results: &[CredentialResult], rig: &Rig) -> String {
    let mut all = String::new();
    for r in results {
        all.push_str(&r.log_line());
        all.push_str(&format!("{r:?}"));
    }
    for f in findings(results) {
        all.push_str(&crate::encode::to_string(&f).unwrap());
    }
    all.push_str(&String::from_utf8_lossy(&rig.state.to_json()));
    for s in &rig.saved {
        all.push_str(&String::from_utf8_lossy(s));
    }
    all.push_str(&format!("{FACTORY_DEFAULTS:?}"));
    all
}

#[test]
fn finds_the_hikvision_factory_login_with_one_attempt_and_says_so_without_the_password() {
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.64:80", hikvision_camera());
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let results = rig.run(&[target(&d, &[80], &[554])], T0);
    let Outcome::DefaultLogin(w) = &results[0].outcome else {
        panic!("{:?}", results[0].outcome)
    };
    assert_eq!(
        (
            w.user.as_str(),
            w.vendor.as_str(),
            w.protocol.as_str(),
            w.port
        ),
        ("admin", "Hikvision", "HTTP", 80)
    );
    assert_eq!(results[0].attempts, 1);
    let c = cam.borrow();
    assert_eq!((c.attempts, c.failures, c.locked), (1, 0, false));
    assert!(
        !c.unrecorded_attempt,
        "the attempt was saved before it was sent"
    );
    drop(c);

    let f = findings(&results);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "camera.default_credentials");
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(
        f[0].detail
            .contains("admin with Hikvision's factory password"),
        "{}",
        f[0].detail
    );
    assert!(f[0]
        .detail
        .contains("\"cam1\" (192.168.1.64, 4c:bd:8f:00:00:01)"));
    assert_eq!(
        f[0].evidence.to_json()["matched"],
        "Hikvision's factory password"
    );
    assert!(results[0]
        .log_line()
        .contains("accepts admin with Hikvision's factory password"));
    let all = every_output(&results, &rig);
    assert!(!all.contains("12345"), "a password leaked: {all}");
}

#[test]
fn one_run_a_day_and_a_daily_reconfirmation() {
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.64:80", hikvision_camera());
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let t = [target(&d, &[80], &[])];
    rig.run(&t, T0);
    let requests = cam.borrow().requests;
    // Every audit of the day after that: remembered, not re-checked.
    for minutes in [5, 60, 23 * 60] {
        let r = rig.run(&t, T0 + minutes * 60);
        assert!(
            matches!(r[0].outcome, Outcome::DefaultLogin(_)),
            "{:?}",
            r[0].outcome
        );
        assert_eq!(r[0].attempts, 0);
    }
    assert_eq!(cam.borrow().requests, requests, "no request within the day");
    assert_eq!(
        findings(&rig.run(&t, T0 + 7200)).len(),
        1,
        "the finding stays"
    );
    // The next day: one attempt to see whether it still works.
    let r = rig.run(&t, T0 + DAY);
    let Outcome::DefaultLogin(w) = &r[0].outcome else {
        panic!()
    };
    assert_eq!((w.first_found, w.confirmed), (T0, T0 + DAY));
    assert_eq!(cam.borrow().attempts, 2);
}

#[test]
fn a_changed_password_after_a_success_is_a_lockout_sign_and_clears_the_finding() {
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.64:80", hikvision_camera());
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let t = [target(&d, &[80], &[])];
    rig.run(&t, T0);
    cam.borrow_mut().password = "a-long-new-one";
    let r = rig.run(&t, T0 + DAY);
    assert!(
        matches!(r[0].outcome, Outcome::Lockout(_)),
        "{:?}",
        r[0].outcome
    );
    assert!(findings(&r).is_empty());
    let attempts = cam.borrow().attempts;
    for day in 2..10 {
        let r = rig.run(&t, T0 + day * DAY);
        assert!(matches!(r[0].outcome, Outcome::Lockout(_)));
    }
    assert_eq!(cam.borrow().attempts, attempts, "never again");
    assert_eq!(cam.borrow().failures, 1);
}

#[test]
fn a_changed_password_costs_at_most_two_failures_ever_and_never_locks() {
    // Dahua has two factory logins; the camera locks at its third failure and never forgets.
    let mut rig = Rig::new();
    let cam = rig.camera(
        "192.168.1.70:80",
        Camera::new("admin", "Owner-Chosen-7", "Login to 7K02D8"),
    );
    let d = device(
        "3c:ef:8c:00:00:01",
        "192.168.1.70",
        DeviceClass::Camera,
        Some("Dahua"),
    );
    let t = [target(&d, &[80], &[554])];
    let r = rig.run(&t, T0);
    assert_eq!(
        r[0].outcome,
        Outcome::Refused {
            vendor: "Dahua".into(),
            tried: 2
        }
    );
    assert_eq!(r[0].attempts, 2);
    for day in 1..30 {
        let r = rig.run(&t, T0 + day * DAY);
        assert!(
            matches!(r[0].outcome, Outcome::Refused { .. }),
            "{:?}",
            r[0].outcome
        );
        assert_eq!(r[0].attempts, 0);
    }
    let c = cam.borrow();
    assert_eq!((c.attempts, c.failures, c.locked), (2, 2, false));
    assert!(!c.unrecorded_attempt);
    assert_eq!(rig.net.connects_elsewhere, 0, "RTSP was not needed");
}

#[test]
fn hikvision_saying_one_try_is_left_stops_the_check() {
    // A Dahua-named device with Hikvision-style bodies: after the first failure it says only
    // one try is left (someone else failed before), so the second login is not tried.
    let mut rig = Rig::new();
    let mut c = Camera::new("admin", "other", "IP Camera(X)");
    c.hik_body = true;
    c.failures = 1;
    let cam = rig.camera("192.168.1.70:80", c);
    let d = device(
        "3c:ef:8c:00:00:01",
        "192.168.1.70",
        DeviceClass::Camera,
        Some("Dahua"),
    );
    let r = rig.run(&[target(&d, &[80], &[])], T0);
    let Outcome::Lockout(l) = &r[0].outcome else {
        panic!("{:?}", r[0].outcome)
    };
    assert!(l.sign.contains("1 login try is left"), "{}", l.sign);
    assert_eq!(cam.borrow().attempts, 1);
    assert!(!cam.borrow().locked);
}

#[test]
fn lockout_signs_at_the_prompt_stop_before_any_attempt() {
    for status in [403u16, 503, 429] {
        let mut rig = Rig::new();
        let mut c = hikvision_camera();
        c.fixed_status = Some(status);
        let cam = rig.camera("192.168.1.64:80", c);
        let d = device(
            "4c:bd:8f:00:00:01",
            "192.168.1.64",
            DeviceClass::Camera,
            Some("Hikvision"),
        );
        let t = [target(&d, &[80], &[554])];
        let r = rig.run(&t, T0);
        let Outcome::Lockout(l) = &r[0].outcome else {
            panic!("{status}: {:?}", r[0].outcome)
        };
        assert!(l.sign.contains(&status.to_string()));
        assert_eq!(cam.borrow().attempts, 0);
        let requests = cam.borrow().requests;
        rig.run(&t, T0 + 5 * DAY);
        assert_eq!(cam.borrow().requests, requests, "{status}: never again");
    }
}

#[test]
fn lockout_text_in_a_refusal_stops_the_check() {
    let mut rig = Rig::new();
    let mut c = Camera::new("admin", "x", "Login to 7K02D8");
    c.body_401 = "<html>Too many failed logins, try again later</html>";
    let cam = rig.camera("192.168.1.70:80", c);
    let d = device(
        "3c:ef:8c:00:00:01",
        "192.168.1.70",
        DeviceClass::Camera,
        Some("Dahua"),
    );
    let r = rig.run(&[target(&d, &[80], &[])], T0);
    assert!(
        matches!(&r[0].outcome, Outcome::Lockout(l) if l.sign.contains("too many")),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(cam.borrow().attempts, 1);
}

#[test]
fn words_inside_other_words_are_no_lockout_sign() {
    let r = Response::parse(b"HTTP/1.1 401 x\r\n\r\n<lockStatus>unlock</lockStatus><retryLoginTime>5</retryLoginTime>unlocked").unwrap();
    assert_eq!(lockout_sign(&r), None);
    let r = Response::parse(b"HTTP/1.1 401 x\r\n\r\n<lockStatus>lock</lockStatus>").unwrap();
    assert!(lockout_sign(&r).is_some());
    let r = Response::parse(b"HTTP/1.1 401 x\r\n\r\n<unlockTime>1800</unlockTime>").unwrap();
    assert!(lockout_sign(&r).is_some());
    let ok = Response::parse(b"HTTP/1.1 200 OK\r\n\r\nAccount locked after 5 failures (help text)")
        .unwrap();
    assert_eq!(lockout_sign(&ok), None, "a success is a success");
}

#[test]
fn devices_that_are_not_cameras_are_never_touched() {
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.80:80", hikvision_camera());
    // A Hikvision-vendored device the owner says is no camera, passed in by mistake.
    let d = device(
        "4c:bd:8f:00:00:09",
        "192.168.1.80",
        DeviceClass::Other,
        Some("Hikvision"),
    );
    let r = rig.run(&[target(&d, &[80], &[554])], T0);
    assert_eq!(r[0].outcome, Outcome::Skipped(Skip::NotACamera));
    assert_eq!(cam.borrow().connects, 0);
    assert_eq!(rig.net.connects_elsewhere, 0);
}

#[test]
fn addresses_outside_the_lan_are_never_touched() {
    let mut rig = Rig::new();
    for ip in ["192.168.2.64", "8.8.8.8", "192.168.1.1"] {
        let d = device(
            "4c:bd:8f:00:00:01",
            ip,
            DeviceClass::Camera,
            Some("Hikvision"),
        );
        let r = rig.run(&[target(&d, &[80], &[554])], T0);
        assert!(
            matches!(r[0].outcome, Outcome::Skipped(Skip::AddressRefused(_))),
            "{ip}"
        );
    }
    assert_eq!(rig.net.connects_elsewhere, 0);
    // The real transport refuses too, for a caller that bypassed check().
    let mut tcp = TcpTransport::new(guard());
    let e = tcp.connect("8.8.8.8:80".parse().unwrap()).err().unwrap();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
}

#[test]
fn an_attempt_that_cannot_be_recorded_is_not_sent() {
    let mut rig = Rig::new();
    rig.fail_saves = true;
    let cam = rig.camera("192.168.1.64:80", hikvision_camera());
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let r = rig.run(&[target(&d, &[80], &[])], T0);
    assert!(
        matches!(r[0].outcome, Outcome::Skipped(Skip::StateNotSaved(_))),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(cam.borrow().attempts, 0);
}

#[test]
fn rtsp_describe_with_digest_on_the_challenge_connection() {
    let mut rig = Rig::new();
    let mut c = hikvision_camera();
    c.rtsp = true;
    c.hik_body = false;
    c.protected = vec!["/Streaming/Channels/101"];
    let cam = rig.camera("192.168.1.64:554", c);
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    // No web port: RTSP it is.
    let r = rig.run(&[target(&d, &[], &[554])], T0);
    let Outcome::DefaultLogin(w) = &r[0].outcome else {
        panic!("{:?}", r[0].outcome)
    };
    assert_eq!((w.protocol.as_str(), w.port), ("RTSP", 554));
    assert_eq!(
        cam.borrow().connects,
        1,
        "challenge and login on one connection"
    );
}

#[test]
fn http_basic_when_that_is_all_it_offers() {
    let mut rig = Rig::new();
    let mut c = Camera::new("root", "pass", "AXIS_ACCC8E000111");
    c.scheme = Scheme::Basic;
    c.protected = vec!["/axis-cgi/param.cgi?action=list&group=Brand"];
    rig.camera("192.168.1.90:80", c);
    let d = device(
        "ac:cc:8e:00:01:11",
        "192.168.1.90",
        DeviceClass::Camera,
        Some("Axis"),
    );
    let r = rig.run(&[target(&d, &[80], &[])], T0);
    assert!(
        matches!(&r[0].outcome, Outcome::DefaultLogin(w) if w.user == "root"),
        "{:?}",
        r[0].outcome
    );
    assert!(
        !every_output(&r, &rig).contains("cm9vdDpwYXNz"),
        "no Basic header anywhere"
    );
}

#[test]
fn authentication_camguard_does_not_speak_costs_no_attempt() {
    let mut rig = Rig::new();
    let mut c = hikvision_camera();
    c.scheme = Scheme::Sha256Only;
    let cam = rig.camera("192.168.1.64:80", c);
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let r = rig.run(&[target(&d, &[80], &[])], T0);
    assert!(
        matches!(&r[0].outcome, Outcome::Inconclusive(w) if w.contains("does not speak")),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(cam.borrow().attempts, 0);
}

#[test]
fn vendors_without_factory_logins_and_unknown_vendors_are_skipped() {
    let mut rig = Rig::new();
    for vendor in [Some("Ring"), Some("Tuya"), None] {
        let d = device(
            "4c:bd:8f:00:00:01",
            "192.168.1.64",
            DeviceClass::Camera,
            vendor,
        );
        let r = rig.run(&[target(&d, &[80], &[554])], T0);
        assert!(matches!(
            r[0].outcome,
            Outcome::Skipped(Skip::NoFactoryLogins(_))
        ));
    }
    assert_eq!(rig.net.connects_elsewhere, 0);
}

#[test]
fn a_clock_that_went_back_does_not_reopen_the_budget() {
    let mut rig = Rig::new();
    let cam = rig.camera(
        "192.168.1.70:80",
        Camera::new("admin", "x", "Login to 7K02D8"),
    );
    let d = device(
        "3c:ef:8c:00:00:01",
        "192.168.1.70",
        DeviceClass::Camera,
        Some("Dahua"),
    );
    let t = [target(&d, &[80], &[])];
    // A run dated in the future (the clock was ahead, then corrected).
    rig.state.devices.insert(
        t[0].key.clone(),
        DeviceRecord {
            last_run: Some(T0 + 3600),
            attempts: vec![T0 + 3600],
            ..DeviceRecord::default()
        },
    );
    let r = rig.run(&t, T0);
    assert!(
        matches!(r[0].outcome, Outcome::Skipped(Skip::NotDue(_))),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(cam.borrow().requests, 0);
}

#[test]
fn a_login_remembered_for_another_maker_is_not_a_refusal() {
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.64:80", hikvision_camera());
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let t = [target(&d, &[80], &[])];
    rig.state.devices.insert(
        t[0].key.clone(),
        DeviceRecord {
            last_run: Some(T0 - 2 * DAY),
            works: Some(WorkingLogin {
                vendor: "Dahua".into(),
                user: "admin".into(),
                login: "Dahua#0:admin".into(),
                protocol: "HTTP".into(),
                port: 80,
                first_found: T0 - 2 * DAY,
                confirmed: T0 - 2 * DAY,
            }),
            ..DeviceRecord::default()
        },
    );
    let r = rig.run(&t, T0);
    assert!(
        matches!(&r[0].outcome, Outcome::DefaultLogin(w) if w.vendor == "Hikvision"),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(cam.borrow().attempts, 1);
}

#[test]
fn remembered_findings_come_from_the_state_alone() {
    let mut rig = Rig::new();
    rig.camera("192.168.1.64:80", hikvision_camera());
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    rig.run(&[target(&d, &[80], &[])], T0);
    let state = CredState::parse(&rig.state.to_json()).unwrap();
    let snap = crate::snapshot::Snapshot::new(T0, "test");
    let mut inv = Inventory::build(&snap);
    inv.devices.push(d.clone());
    let f = remembered_findings(&inv, &state);
    assert_eq!(f.len(), 1);
    assert!(f[0].title.contains("accepts its factory password"));
    // The same state with the device now classified as no camera: no finding.
    let mut inv = Inventory::build(&snap);
    inv.devices.push(device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Other,
        Some("Hikvision"),
    ));
    assert!(remembered_findings(&inv, &state).is_empty());
}

#[test]
fn hostile_replies_never_panic_and_cost_at_most_the_budget() {
    // xorshift: reproducible garbage, including truncated and oversized heads.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    struct Garbage(Vec<u8>);
    impl Connection for Garbage {
        fn exchange(&mut self, _: &[u8]) -> io::Result<Vec<u8>> {
            Ok(self.0.clone())
        }
    }
    struct GarbageNet(Vec<Vec<u8>>, usize);
    impl Transport for GarbageNet {
        fn connect(&mut self, _: SocketAddr) -> io::Result<Box<dyn Connection>> {
            self.1 += 1;
            Ok(Box::new(Garbage(self.0[self.1 % self.0.len()].clone())))
        }
        fn cnonce(&mut self) -> String {
            "00".into()
        }
    }
    let pieces: [&[u8]; 8] = [
        b"HTTP/1.1 401 U\r\n",
        b"WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"\r\n",
        b"WWW-Authenticate: Basic\r\n",
        b"\r\n",
        b"RTSP/1.0 200 OK\r\n",
        b"<retryLoginTime>x</retryLoginTime>",
        b"\xff\x00\"\\,=",
        b"HTTP/1.1 200 OK\r\n\r\n",
    ];
    let d = device(
        "3c:ef:8c:00:00:01",
        "192.168.1.70",
        DeviceClass::Camera,
        Some("Dahua"),
    );
    for round in 0..300 {
        let replies: Vec<Vec<u8>> = (0..3)
            .map(|_| {
                let n = (next() % 8) as usize;
                (0..n)
                    .flat_map(|_| pieces[(next() % 8) as usize].to_vec())
                    .collect()
            })
            .collect();
        let mut net = GarbageNet(replies, 0);
        let mut state = CredState::default();
        let mut save = |_: &CredState| Ok(());
        let r = check(
            &[target(&d, &[80], &[554])],
            &guard(),
            &mut state,
            T0,
            &mut net,
            &mut save,
        );
        assert!(r[0].attempts <= MAX_ATTEMPTS_PER_DAY, "round {round}");
    }
}

#[test]
fn the_table_names_vendors_the_inventory_knows_and_few_logins_each() {
    let known: Vec<&str> = crate::facts::oui::VENDORS
        .iter()
        .map(|v| v.name)
        .chain(["HiWatch (Hikvision)", "Foscam", "Xiongmai (XMEye)"])
        .collect();
    for d in FACTORY_DEFAULTS {
        assert!(
            !d.logins.is_empty() && d.logins.len() <= MAX_FAILURES as usize,
            "{}",
            d.vendor
        );
        for a in d.aliases {
            assert!(
                known.contains(a),
                "{a} is no vendor name classification or the probe gives"
            );
        }
    }
    for hint in ["Hikvision", "Dahua", "Axis"] {
        assert!(defaults_for(hint).is_some(), "probe hint {hint}");
    }
}

fn reply(head_and_body: &str) -> Response {
    Response::parse(head_and_body.as_bytes()).unwrap()
}

#[test]
fn json_lock_states_unlock_times_and_retry_times_are_lockout_signs() {
    let issue = r#"HTTP/1.1 401 Unauthorized

{"UserCheck":{"statusValue":401,"statusString":"Unauthorized","lockStatus":"lock","unlockTime":1800,"retryLoginTime":0}}"#
        .replace('\n', "\r\n");
    assert!(lockout_sign(&reply(&issue)).is_some());
    for locked in [
        "HTTP/1.1 401 x\r\n\r\n{\"lockStatus\": \"locked\"}",
        "HTTP/1.1 401 x\r\n\r\n{\"user\":{\"unlock_time\": 60}}",
        "HTTP/1.1 401 x\r\n\r\n{\"isLocked\":true}",
        "HTTP/1.1 401 x\r\n\r\n{\"remainLockTime\":\"300\"}",
        "HTTP/1.1 401 x\r\n\r\nlock_status=lock&x=1",
        "HTTP/1.1 401 x\r\n\r\n<r><retryAfter>30</retryAfter></r>",
        "HTTP/1.1 401 x\r\n\r\n{\"waitTime\":120}",
        "HTTP/1.1 401 x\r\n\r\n{\"retryTimes\":1}",
        "HTTP/1.1 401 x\r\nRetry-After: 120\r\n\r\n",
        "HTTP/1.1 401 x\r\nX-Lock-Status: locked\r\n\r\n",
        "HTTP/1.1 401 x\r\nX-Unlock-Time: 600\r\n\r\n",
        "HTTP/1.1 401 x\r\n\r\nPlease try again in 30 minutes",
        "RTSP/1.0 401 x\r\nCSeq: 1\r\n\r\n{\"lockStatus\":\"lock\"}",
    ] {
        assert!(lockout_sign(&reply(locked)).is_some(), "{locked:?}");
    }
    for open in [
        "HTTP/1.1 401 x\r\n\r\n{\"UserCheck\":{\"statusValue\":401,\"lockStatus\":\"unlock\",\"unlockTime\":0,\"retryLoginTime\":5}}",
        "HTTP/1.1 401 x\r\n\r\n{\"isLocked\":false,\"clockTime\":5,\"blockSize\":512}",
        "HTTP/1.1 401 x\r\nDate: Mon, 07 Dec 2026 06:00:00 GMT\r\n\r\n<html>Login</html>",
        "HTTP/1.1 401 x\r\n\r\n<lockStatus>unlock</lockStatus></lockStatus>lock",
    ] {
        assert_eq!(lockout_sign(&reply(open)), None, "{open:?}");
    }
    // Never the device's text: the sign is camguard's words.
    let sign = lockout_sign(&reply(
        "HTTP/1.1 401 x\r\nX-Lock-State: locked<script>\r\n\r\n",
    ));
    assert!(sign.is_none_or(|s| !s.contains("script")));
}

#[test]
fn field_scanner_survives_hostile_bodies() {
    let mut bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\"".to_vec(),
        b"lockstatus".to_vec(),
        b"lockstatus:".to_vec(),
        b"lockstatus:\"".to_vec(),
        b"<lockstatus>".to_vec(),
        "lockstatus=\u{e9}\u{e9}\u{e9}".repeat(40).into_bytes(),
        vec![0xff; 4096],
        b"a=".repeat(10_000),
    ];
    let long_value = format!("unlocktime:{}", "\u{1F600}".repeat(30));
    bodies.push(long_value.into_bytes());
    for body in bodies {
        let mut bytes = b"HTTP/1.1 401 x\r\n\r\n".to_vec();
        bytes.extend(body);
        if let Some(r) = Response::parse(&bytes) {
            let _ = lockout_sign(&r);
        }
    }
    // Bounded: the scanner stops after MAX_FIELDS fields.
    assert_eq!(body_fields(&"a=1 ".repeat(5000)).count(), MAX_FIELDS);
}

#[test]
fn a_camera_locked_in_json_gets_no_login() {
    let mut rig = Rig::new();
    let mut c = hikvision_camera();
    c.hik_body = false;
    c.json_body = true;
    c.locked = true; // locked by someone else before camguard came
    let cam = rig.camera("192.168.1.64:80", c);
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let t = [target(&d, &[80], &[554])];
    let r = rig.run(&t, T0);
    let Outcome::Lockout(l) = &r[0].outcome else {
        panic!("{:?}", r[0].outcome)
    };
    assert!(l.sign.contains("locked"), "{}", l.sign);
    assert_eq!(cam.borrow().attempts, 0, "no login to a locked camera");
    assert!(r[0].new_lockout, "found now: logged");
    let again = rig.run(&t, T0 + 3 * DAY);
    assert_eq!(cam.borrow().attempts, 0);
    assert!(!again[0].new_lockout, "remembered: not logged again");
    assert!(matches!(again[0].outcome, Outcome::Lockout(_)));
}

#[test]
fn a_camera_answering_in_json_is_stopped_before_it_locks() {
    let mut rig = Rig::new();
    let mut c = Camera::new("admin", "changed", "IP Camera(A1B2)");
    c.json_body = true;
    c.lock_after = 2;
    let cam = rig.camera("192.168.1.64:80", c);
    let d = device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    );
    let r = rig.run(&[target(&d, &[80], &[])], T0);
    // One refusal leaves retryLoginTime 1: the check stops there.
    assert!(
        matches!(&r[0].outcome, Outcome::Lockout(l) if l.sign.contains("1 login try")),
        "{:?}",
        r[0].outcome
    );
    assert_eq!(cam.borrow().attempts, 1);
    assert!(!cam.borrow().locked);
}

/// Issue 17's adversarial laptop: an Apple OUI, the hostname "laptop", RTSP answering on 554
/// with a Hikvision-style web header. Classified by the real classifier, it gets no login.
#[test]
fn a_camera_looking_laptop_gets_no_login() {
    use crate::facts::classify::{classify, Evidence};
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.50:80", hikvision_camera());
    let rtsp = rig.camera("192.168.1.50:554", {
        let mut c = hikvision_camera();
        c.rtsp = true;
        c.protected = vec!["/Streaming/Channels/101", "/"];
        c
    });
    // 3c:22:fb is an Apple MA-L block.
    for (mac, hostnames) in [
        ("3c:22:fb:00:00:01", vec!["laptop"]),
        ("3c:22:fb:00:00:01", vec![]),
        ("02:11:22:33:44:55", vec!["DESKTOP-CAM"]),
        ("02:11:22:33:44:56", vec!["Johns-iPhone"]),
    ] {
        let c = classify(&Evidence {
            mac: Some(mac.parse().unwrap()),
            hostnames: hostnames.clone(),
            // RTSP and a recorder port: enough for a medium-confidence camera on their own.
            service_ports: vec![(554, "answers on"), (37777, "answers on")],
            owner_class: None,
            announced: None,
        });
        assert!(c.confidence >= Confidence::Medium, "{mac}: {c:?}");
        let d = Arc::new(Device::new(
            Some(mac.parse().unwrap()),
            vec!["192.168.1.50".parse().unwrap()],
            hostnames.iter().map(|h| h.to_string()).collect(),
            vec!["DHCP lease"],
            c,
        ));
        let mut t = target(&d, &[80], &[554]);
        t.vendor = Some("Hikvision".into()); // the probe's vendor hint
        let r = rig.run(&[t], T0);
        assert!(
            matches!(&r[0].outcome, Outcome::Skipped(Skip::Doubtful(why)) if why.contains("contradicts")),
            "{mac} {hostnames:?}: {:?}",
            r[0].outcome
        );
        assert!(!r[0].log_line().contains("12345"));
    }
    assert_eq!(cam.borrow().requests + rtsp.borrow().requests, 0);
}

#[test]
fn low_confidence_and_contradicted_cameras_are_skipped_and_say_why() {
    let mut rig = Rig::new();
    let cam = rig.camera("192.168.1.64:80", hikvision_camera());
    let mut d = (*device(
        "4c:bd:8f:00:00:01",
        "192.168.1.64",
        DeviceClass::Camera,
        Some("Hikvision"),
    ))
    .clone();
    d.classification.confidence = Confidence::Low;
    let r = rig.run(&[target(&Arc::new(d.clone()), &[80], &[])], T0);
    let Outcome::Skipped(Skip::Doubtful(why)) = &r[0].outcome else {
        panic!("{:?}", r[0].outcome)
    };
    assert!(why.contains("low confidence"), "{why}");
    d.classification.confidence = Confidence::Medium;
    d.classification.contradictions = vec!["hostname \"ipad\" names another kind of device".into()];
    let r = rig.run(&[target(&Arc::new(d), &[80], &[])], T0);
    assert!(
        r[0].log_line().contains("contradicts"),
        "{}",
        r[0].log_line()
    );
    assert_eq!(cam.borrow().requests, 0);
}

/// Past [`MAX_RECORDS`] the records without a lockout and with the oldest run go first, the
/// first key first among equals: what removing the least record one at a time leaves.
#[test]
fn bound_keeps_lockouts_and_the_newest_runs() {
    let mut state = CredState::default();
    for i in 0..MAX_RECORDS as u64 + 40 {
        let record = DeviceRecord {
            // Runs repeat every 7 keys, so equal records must be told apart by key order.
            last_run: (i % 5 != 0).then_some(T0 + i % 7),
            lockout: (i % 9 == 0).then(|| LockoutRecord {
                at: T0,
                sign: "answered 503".into(),
            }),
            ..DeviceRecord::default()
        };
        state.devices.insert(format!("device-{i:04}"), record);
    }
    let mut expected: std::collections::BTreeMap<_, _> =
        state.devices.clone().into_iter().collect();
    while expected.len() > MAX_RECORDS {
        let least = expected
            .iter()
            .min_by_key(|(_, r)| (r.lockout.is_some(), r.last_run.unwrap_or(0)))
            .map(|(k, _)| k.clone())
            .unwrap();
        expected.remove(&least);
    }
    state.bound();
    assert_eq!(state.devices.len(), MAX_RECORDS);
    assert_eq!(
        state.devices.iter().collect::<Vec<_>>(),
        expected.iter().collect::<Vec<_>>()
    );
    let lockouts = state.devices.values().filter(|r| r.lockout.is_some());
    assert_eq!(lockouts.count(), 62, "every lockout kept");
    assert!(!state.devices.contains_key("device-0005"), "first to go");
}
