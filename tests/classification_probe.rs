//! Classification with the probe's evidence: the labelled set measured with and without it,
//! and what probe replies can and cannot do to the figures.
//!
//! The labelled set (tests/fixtures/devices/labelled.tsv) records what each device was seen
//! serving, "answers on" being the probe's word (ProbeReport::service_ports). Two scenarios
//! bound the probe's effect where the set says nothing: every device that is no camera
//! answering on the web ports the probe visits (8000, 88 and 80: NAS boxes, printers and
//! development laptops do), and every camera answering RTSP on 554 (most wired IP cameras and
//! recorders do; battery and cloud-only cameras do not). They are what-ifs, not observations,
//! and are reported as such.
#![cfg(feature = "lan-probe")]
use camguard::facts::classify::{classify, Evidence};
use camguard::lan::{DeviceClass, ProbeReport, ANSWERS_ON};
use camguard::mac::Mac;
use camguard::probe::scan::interpret;

const LABELLED: &str = include_str!("fixtures/devices/labelled.tsv");

struct Row {
    mac: Mac,
    hostname: Option<String>,
    truth: DeviceClass,
    ports: Vec<(u16, String)>,
}

fn rows() -> Vec<Row> {
    LABELLED
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Row {
                mac: f[0].parse().unwrap(),
                hostname: (f[1] != "-").then(|| f[1].to_owned()),
                truth: DeviceClass::from_name(f[2]).unwrap(),
                ports: match f[3] {
                    "-" => Vec::new(),
                    list => list
                        .split(',')
                        .map(|p| {
                            let (port, how) = p.split_once('/').unwrap();
                            (port.parse().unwrap(), how.to_owned())
                        })
                        .collect(),
                },
            }
        })
        .collect()
}

#[derive(Debug, PartialEq, Clone, Copy)]
struct Figures {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Figures {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_) as f64
    }
    fn line(&self, what: &str) -> String {
        format!(
            "{what}: precision {:.3} ({}/{}), recall {:.3} ({}/{})",
            self.precision(),
            self.tp,
            self.tp + self.fp,
            self.recall(),
            self.tp,
            self.tp + self.fn_
        )
    }
}

/// Figures with each row's ports rewritten by `ports`.
fn measure(ports: impl Fn(&Row) -> Vec<(u16, String)>) -> Figures {
    let mut f = Figures {
        tp: 0,
        fp: 0,
        fn_: 0,
        tn: 0,
    };
    for r in rows() {
        let p = ports(&r);
        let got = classify(&Evidence {
            mac: Some(r.mac),
            hostnames: r.hostname.iter().map(String::as_str).collect(),
            service_ports: p.iter().map(|(n, s)| (*n, s.as_str())).collect(),
            owner_class: None,
            announced: None,
        });
        match (r.truth.is_camera_like(), got.class.is_camera_like()) {
            (true, true) => f.tp += 1,
            (false, true) => f.fp += 1,
            (true, false) => f.fn_ += 1,
            (false, false) => f.tn += 1,
        }
    }
    f
}

fn without_probe(r: &Row) -> Vec<(u16, String)> {
    r.ports
        .iter()
        .filter(|(_, how)| how != ANSWERS_ON)
        .cloned()
        .collect()
}

/// The row's ports plus the evidence the probe would draw from these replies.
fn with_replies(r: &Row, replies: &[(u16, Option<&[u8]>)]) -> Vec<(u16, String)> {
    let report = ProbeReport {
        ip: "192.168.1.50".parse().unwrap(),
        at: 0,
        services: replies
            .iter()
            .map(|&(port, reply)| interpret(port, reply))
            .collect(),
        refused: None,
        info: None,
    };
    let mut ports = r.ports.clone();
    ports.extend(
        report
            .service_ports()
            .into_iter()
            .map(|(p, how)| (p, how.to_owned())),
    );
    ports
}

const HTTP: &[u8] = b"HTTP/1.0 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n";
const RTSP: &[u8] = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n";

#[test]
fn the_labelled_set_with_and_without_probe_evidence() {
    let with = measure(|r| r.ports.clone());
    let without = measure(without_probe);
    println!("{}", with.line("labelled set, with the probe's evidence"));
    println!("{}", without.line("labelled set, without it"));
    assert!(with.precision() >= without.precision());
    assert!(with.recall() >= without.recall());
}

#[test]
fn web_servers_on_every_other_device_add_no_false_alarm() {
    let base = measure(|r| r.ports.clone());
    let web = measure(|r| {
        if r.truth.is_camera_like() {
            r.ports.clone()
        } else {
            with_replies(r, &[(80, Some(HTTP)), (8000, Some(HTTP))])
        }
    });
    println!(
        "{}",
        web.line("what-if, every non-camera serving HTTP on 80 and 8000")
    );
    assert_eq!(web, base, "a web server is no camera sign");
}

#[test]
fn camera_ports_on_every_other_device_are_the_residual_risk() {
    // The worst case: every device that is no camera answering HTTP on 88 (Foscam's port) and
    // accepting connections on 8000 without speaking HTTP (as Hikvision's SDK does). A weak
    // port and a maker-of-many-things OUI (Tuya, Google, Nest) together reach the camera-like
    // threshold, by the classifier's rule (as does a weak hostname such as "blink*" without
    // Amazon's OUI); a device with no other sign never flips.
    let base = measure(|r| r.ports.clone());
    let worst = measure(|r| {
        if r.truth.is_camera_like() {
            r.ports.clone()
        } else {
            with_replies(r, &[(88, Some(HTTP)), (8000, None)])
        }
    });
    println!(
        "{}",
        worst.line("what-if, every non-camera answering on 88 (HTTP) and 8000 (binary)")
    );
    assert!(worst.fp >= base.fp);
    for r in rows().iter().filter(|r| !r.truth.is_camera_like()) {
        let got = classify(&Evidence {
            mac: Some(r.mac),
            hostnames: r.hostname.iter().map(String::as_str).collect(),
            service_ports: with_replies(r, &[(88, Some(HTTP)), (8000, None)])
                .iter()
                .map(|(n, s)| (*n, s.as_str()))
                .collect(),
            owner_class: None,
            announced: None,
        });
        let before = classify(&Evidence {
            mac: Some(r.mac),
            hostnames: r.hostname.iter().map(String::as_str).collect(),
            service_ports: Vec::new(),
            owner_class: None,
            announced: None,
        });
        if got.class.is_camera_like() && !before.class.is_camera_like() {
            println!("  flips: {} {:?}", r.mac, r.hostname);
            assert!(
                before
                    .reasons
                    .iter()
                    .any(|x| x.contains("one weak sign only")),
                "{}: flipped by a weak port alone: {:?}",
                r.mac,
                got.reasons
            );
        }
    }
}

#[test]
fn rtsp_answering_on_the_cameras_recovers_the_misses() {
    let base = measure(|r| r.ports.clone());
    let rtsp = measure(|r| {
        if r.truth.is_camera_like() {
            with_replies(r, &[(554, Some(RTSP))])
        } else {
            r.ports.clone()
        }
    });
    println!(
        "{}",
        rtsp.line("what-if, every camera answering RTSP on 554")
    );
    assert_eq!(rtsp.fn_, 0, "RTSP is medium evidence: enough on its own");
    assert!(rtsp.precision() >= base.precision());
}
