//! Classification: measured on labelled devices, and the behaviours the rule promises.

use camguard::facts::classify::{classify, Evidence};
use camguard::lan::{Classification, Confidence, DeviceClass};
use camguard::mac::Mac;

const LABELLED: &str = include_str!("fixtures/devices/labelled.tsv");

/// Precision below this would mean camguard restricts or probes one non-camera in twenty.
const MIN_PRECISION: f64 = 0.95;
/// The labelled set keeps cameras with nothing but a generic OUI and hostname on purpose (the
/// "known miss" rows); missing more than those means a rule broke.
const MIN_RECALL: f64 = 0.85;

struct Labelled {
    line: usize,
    mac: Mac,
    hostname: Option<String>,
    truth: DeviceClass,
    ports: Vec<(u16, String)>,
}

fn labelled() -> Vec<Labelled> {
    let mut out = Vec::new();
    for (i, line) in LABELLED.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "labelled.tsv:{}: five fields", i + 1);
        let ports = match f[3] {
            "-" => Vec::new(),
            list => list
                .split(',')
                .map(|p| {
                    let (port, source) = p.split_once('/').expect("PORT/SOURCE");
                    (port.parse().expect("port"), source.to_owned())
                })
                .collect(),
        };
        out.push(Labelled {
            line: i + 1,
            mac: f[0].parse().expect("MAC"),
            hostname: (f[1] != "-").then(|| f[1].to_owned()),
            truth: DeviceClass::from_name(f[2]).expect("class"),
            ports,
        });
    }
    out
}

fn classify_labelled(d: &Labelled) -> Classification {
    classify(&Evidence {
        mac: Some(d.mac),
        hostnames: d.hostname.iter().map(String::as_str).collect(),
        service_ports: d.ports.iter().map(|(p, s)| (*p, s.as_str())).collect(),
        owner_class: None,
        announced: None,
    })
}

#[test]
fn precision_and_recall_on_labelled_devices() {
    let devices = labelled();
    assert!(devices.len() >= 60, "at least 60 labelled devices");
    let (mut tp, mut fp, mut fn_, mut tn, mut right_class) = (0, 0, 0, 0, 0);
    for d in &devices {
        let got = classify_labelled(d);
        let name = d.hostname.as_deref().unwrap_or("-");
        match (d.truth.is_camera_like(), got.class.is_camera_like()) {
            (true, true) => {
                tp += 1;
                if got.class == d.truth {
                    right_class += 1;
                } else {
                    println!(
                        "class  line {}: {} {name}: {:?}, labelled {:?}",
                        d.line, d.mac, got.class, d.truth
                    );
                }
            }
            (false, true) => {
                fp += 1;
                println!(
                    "false alarm line {}: {} {name}: {:?} {:?}",
                    d.line, d.mac, got.class, got.reasons
                );
            }
            (true, false) => {
                fn_ += 1;
                println!(
                    "miss   line {}: {} {name}: {:?}",
                    d.line, d.mac, got.reasons
                );
            }
            (false, false) => tn += 1,
        }
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    println!(
        "camera-like over {} devices: precision {precision:.3} ({tp}/{}), recall {recall:.3} \
         ({tp}/{}); {tn} true negatives; exact class right for {right_class} of {tp}",
        devices.len(),
        tp + fp,
        tp + fn_
    );
    assert!(
        precision >= MIN_PRECISION,
        "precision {precision:.3} < {MIN_PRECISION}"
    );
    assert!(recall >= MIN_RECALL, "recall {recall:.3} < {MIN_RECALL}");
}

fn mac(s: &str) -> Mac {
    s.parse().expect("test MAC")
}

fn evidence<'a>(m: &str, hostnames: &[&'a str], ports: &[(u16, &'a str)]) -> Evidence<'a> {
    Evidence {
        mac: Some(mac(m)),
        hostnames: hostnames.to_vec(),
        service_ports: ports.to_vec(),
        owner_class: None,
        announced: None,
    }
}

#[test]
fn owner_class_always_wins() {
    // The strongest automatic evidence there is, overruled both ways.
    let mut hik = evidence(
        "4c:bd:8f:00:00:01",
        &["hikvision-cam"],
        &[(554, "answers on")],
    );
    hik.owner_class = Some(DeviceClass::Other);
    let c = classify(&hik);
    assert_eq!(
        (c.class, c.confidence),
        (DeviceClass::Other, Confidence::High)
    );
    assert_eq!(
        c.reasons[0],
        "set by the owner in /etc/config/camguard: device"
    );

    let mut laptop = evidence("00:12:f0:00:00:01", &["laptop"], &[]);
    laptop.owner_class = Some(DeviceClass::BabyMonitor);
    let c = classify(&laptop);
    assert_eq!(
        (c.class, c.confidence),
        (DeviceClass::BabyMonitor, Confidence::High)
    );
    assert!(c.reasons[0].contains("set by the owner in /etc/config/camguard"));
}

#[test]
fn randomised_mac_oui_is_not_evidence() {
    // 4E:BD:8F is Hikvision's 4C:BD:8F with the locally-administered bit set.
    let c = classify(&evidence("4e:bd:8f:00:00:01", &[], &[]));
    assert_eq!(c.class, DeviceClass::Other);
    assert_eq!(c.vendor, None);
    assert!(
        c.reasons
            .iter()
            .any(|r| r.contains("locally administered") && r.contains("no vendor")),
        "{:?}",
        c.reasons
    );
    // With a camera-like hostname the hostname alone decides, at low confidence.
    let c = classify(&evidence("4e:bd:8f:00:00:01", &["garden-cam"], &[]));
    assert_eq!(
        (c.class, c.confidence),
        (DeviceClass::Camera, Confidence::Low)
    );
}

#[test]
fn generic_module_oui_alone_is_not_a_camera() {
    for m in [
        "30:ae:a4:00:00:01",
        "0c:ae:7d:00:00:01",
        "b8:5f:98:00:00:01",
    ] {
        let c = classify(&evidence(m, &[], &[]));
        assert_eq!(c.class, DeviceClass::Other, "{m}");
        assert!(
            c.reasons[0].contains("no evidence either way"),
            "{:?}",
            c.reasons
        );
    }
    // A weak port does not tip it over either.
    let c = classify(&evidence(
        "30:ae:a4:00:00:01",
        &["ESP_3A1F2B"],
        &[(8000, "answers on")],
    ));
    assert_eq!(c.class, DeviceClass::Other);
}

#[test]
fn strong_oui_alone_is_camera_like_with_medium_confidence() {
    let c = classify(&evidence("4c:bd:8f:00:00:01", &[], &[]));
    assert_eq!(
        (c.class, c.confidence),
        (DeviceClass::Camera, Confidence::Medium)
    );
    assert_eq!(c.vendor.as_deref(), Some("Hikvision"));
    assert_eq!(
        c.reasons,
        ["OUI 4C:BD:8F is registered to Hikvision, a maker of cameras"]
    );
}

#[test]
fn oui_and_hostname_agreeing_give_high_confidence() {
    let c = classify(&evidence("ec:71:db:00:00:01", &["reolink-door"], &[]));
    assert_eq!(c.confidence, Confidence::High);
    assert_eq!(c.reasons[1], "hostname \"reolink-door\" matches reolink*");
}

#[test]
fn weak_vendor_oui_needs_a_hostname_to_conclude() {
    let plug = classify(&evidence("d4:a6:51:00:00:01", &["SmartLife-Plug"], &[]));
    assert_eq!(plug.class, DeviceClass::Other);
    let cam = classify(&evidence("d4:a6:51:00:00:01", &["SmartLife-Camera"], &[]));
    assert_eq!(
        (cam.class, cam.confidence),
        (DeviceClass::Camera, Confidence::Medium)
    );
    assert_eq!(cam.vendor.as_deref(), Some("Tuya"));
}

#[test]
fn camera_words_next_to_computer_words_do_not_count() {
    for h in ["camera-laptop", "webcam-pc", "DESKTOP-4CAM7QX", "Cam-PC"] {
        let c = classify(&evidence("00:12:f0:00:00:01", &[h], &[]));
        assert_eq!(c.class, DeviceClass::Other, "{h}");
        assert!(
            c.reasons.iter().any(|r| r.contains("not counted")),
            "{h}: {:?}",
            c.reasons
        );
    }
    for h in ["camille", "cambridge-audio", "scampi"] {
        let c = classify(&evidence("00:12:f0:00:00:01", &[h], &[]));
        assert_eq!(c.class, DeviceClass::Other, "{h}");
    }
}

#[test]
fn a_hostname_never_cancels_the_oui() {
    // The device names itself; a Hikvision block stays a camera whatever it claims to be.
    let c = classify(&evidence("4c:bd:8f:00:00:01", &["office-laptop"], &[]));
    assert_eq!(c.class, DeviceClass::Camera);
}

#[test]
fn ring_and_blink_hostnames_need_their_ouis() {
    let on_ti = classify(&evidence("0c:ae:7d:00:00:01", &["Ring-9f3a"], &[]));
    assert_eq!(
        (on_ti.class, on_ti.confidence),
        (DeviceClass::Doorbell, Confidence::Medium)
    );
    assert!(on_ti
        .reasons
        .iter()
        .any(|r| r.contains("on an OUI of Texas Instruments")));
    let elsewhere = classify(&evidence("00:12:f0:00:00:01", &["ringo"], &[]));
    assert_eq!(elsewhere.class, DeviceClass::Other);
    let blink = classify(&evidence("b8:5f:98:00:00:01", &["blink-mini"], &[]));
    assert_eq!(blink.class, DeviceClass::Camera);
    assert_eq!(blink.vendor.as_deref(), Some("Blink"));
}

#[test]
fn axis_names_on_their_own_mac_are_strong() {
    let own = classify(&evidence("00:12:f0:1a:2b:3c", &["axis-0012f01a2b3c"], &[]));
    assert_eq!(
        (own.class, own.confidence),
        (DeviceClass::Camera, Confidence::Medium)
    );
    let other = classify(&evidence("00:12:f0:1a:2b:3c", &["axis-00408c000000"], &[]));
    assert_eq!(other.confidence, Confidence::Low);
}

#[test]
fn hostnames_name_the_class() {
    let nvr = classify(&evidence("4c:bd:8f:00:00:01", &["DS-7608NI-K2"], &[]));
    assert_eq!(
        (nvr.class, nvr.confidence),
        (DeviceClass::Nvr, Confidence::High)
    );
    let bell = classify(&evidence("00:12:f0:00:00:01", &["front-doorbell"], &[]));
    assert_eq!(bell.class, DeviceClass::Doorbell);
    let baby = classify(&evidence("00:12:f0:00:00:01", &["baby-monitor"], &[]));
    assert_eq!(baby.class, DeviceClass::BabyMonitor);
    let tapo = classify(&evidence("50:c7:bf:00:00:01", &["Tapo_C200_8F2A"], &[]));
    assert_eq!(tapo.class, DeviceClass::Camera);
    let router = classify(&evidence("50:c7:bf:00:00:01", &["Archer_C7"], &[]));
    assert_eq!(router.class, DeviceClass::Other);
}

#[test]
fn camera_ports_are_evidence_with_their_own_weights() {
    let xm = classify(&evidence(
        "00:12:41:00:00:01",
        &[],
        &[(34567, "UPnP mapping")],
    ));
    assert_eq!(
        (xm.class, xm.confidence),
        (DeviceClass::Nvr, Confidence::Medium)
    );
    assert_eq!(
        xm.reasons[0],
        "maps port 34567 through UPnP: Xiongmai's DVR-IP protocol of XMEye recorders"
    );
    let dahua = classify(&evidence(
        "00:12:41:00:00:01",
        &[],
        &[(37777, "port forward")],
    ));
    assert_eq!(dahua.vendor.as_deref(), Some("Dahua"));
    let rtsp = classify(&evidence("00:12:41:00:00:01", &[], &[(554, "answers on")]));
    assert_eq!(
        (rtsp.class, rtsp.confidence),
        (DeviceClass::Camera, Confidence::Low)
    );
    let web = classify(&evidence(
        "00:12:41:00:00:01",
        &[],
        &[(8000, "answers on"), (80, "answers on")],
    ));
    assert_eq!(web.class, DeviceClass::Other);
    assert!(web
        .reasons
        .iter()
        .any(|r| r.contains("too little evidence")));
    let both = classify(&evidence(
        "4c:bd:8f:00:00:01",
        &[],
        &[(554, "UPnP mapping")],
    ));
    assert_eq!(both.confidence, Confidence::High);
}

#[test]
fn hostile_hostnames_stay_quoted_data() {
    // As lan_text leaves them: control characters already escaped, quotes and markup kept. The
    // text imitates a reason; it must stay inside its quotes and decide nothing by its words.
    let hostile = "evil\" matches reolink* <img src=x onerror=alert(1)>\\x1b[2J; rm -rf /";
    let c = classify(&evidence("00:12:f0:00:00:01", &[hostile], &[]));
    assert_eq!(c.class, DeviceClass::Other, "{:?}", c.reasons);
    assert_eq!(c.vendor, None);

    let camera_named = format!("{hostile} cam");
    let c = classify(&evidence("00:12:f0:00:00:01", &[&camera_named], &[]));
    assert_eq!(
        (c.class, c.confidence),
        (DeviceClass::Camera, Confidence::Low)
    );
    assert_eq!(c.vendor, None, "the spoofed 'reolink*' is not a vendor");
    assert_eq!(
        c.reasons[0],
        "hostname \"evil\\\" matches reolink* <img src=x onerror=alert(1)>\\x1b[2J; rm -rf / cam\" \
         matches *cam"
    );

    // Many hostnames, none of them camera-like, change nothing.
    let many: Vec<String> = (0..1000).map(|i| format!("host-{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        classify(&evidence("00:12:f0:00:00:01", &refs, &[])).class,
        DeviceClass::Other
    );
}

#[test]
fn no_evidence_is_other_with_a_reason() {
    let c = classify(&Evidence::default());
    assert_eq!(
        (c.class, c.confidence),
        (DeviceClass::Other, Confidence::Low)
    );
    assert_eq!(c.reasons, ["nothing points to a camera"]);
}

#[test]
fn a_computer_makers_oui_or_a_computer_hostname_contradicts_a_camera() {
    // An Apple laptop answering RTSP and a recorder port: camera-like, but contradicted.
    let ports = [(554, "answers on"), (37777, "answers on")];
    let mac_book = classify(&evidence("3c:22:fb:00:00:01", &["laptop"], &ports));
    assert!(mac_book.class.is_camera_like());
    assert_eq!(
        mac_book.contradictions.len(),
        2,
        "{:?}",
        mac_book.contradictions
    );
    assert!(mac_book.contradictions[0].contains("Apple"));
    assert!(camguard::facts::classify::login_refusal(&mac_book).is_some());
    // A camera maker's OUI and a camera hostname: nothing against it.
    let hik = classify(&evidence("4c:bd:8f:00:00:01", &["ds-2cd2143"], &ports));
    assert!(hik.contradictions.is_empty());
    assert_eq!(camguard::facts::classify::login_refusal(&hik), None);
    // Not camera-like: nothing to contradict.
    let phone = classify(&evidence("3c:22:fb:00:00:02", &["iphone"], &[]));
    assert!(phone.contradictions.is_empty());
}
