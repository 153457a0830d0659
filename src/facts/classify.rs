//! Which LAN devices are cameras, doorbells, baby monitors or NVR/DVRs, and why we think so.
//!
//! # The rule
//!
//! Four kinds of evidence are weighed: the MAC address's IEEE block (OUI), the hostnames, the
//! service ports, and what the device said about itself in a discovery reply (`option probe`).
//! Each kind contributes the weight of its strongest sign, so that ten hostnames saying "cam"
//! count no more than one:
//!
//! | weight | OUI | hostname | port | discovery reply |
//! |---|---|---|---|---|
//! | 3 strong | a camera maker's (Hikvision, Reolink, Ring…) | a camera brand or model (`reolink*`, `ds-2cd*`, `ring*` on a Ring/TI OUI) | a recorder protocol (Dahua 37777, Xiongmai 34567) | a camera maker's own protocol (Hikvision SADP, Dahua discovery), an ONVIF video transmitter |
//! | 2 medium | – | a camera word (`camera`, `…cam`, `ipc`, `nvr`, `doorbell`) | RTSP 554/8554 | a UPnP description of a security camera, or naming a camera brand or model |
//! | 1 weak | a maker of cameras among much else (Tuya, Nest, Google) | `ring*`/`blink*` without their OUIs | 8000, 9000, 1935, 88 | – |
//! | 0 | a Wi-Fi module maker's (Espressif, TI…), a randomised MAC, any other | – | – | any other |
//!
//! The score is the sum of the four. A device is camera-like from **2**: one medium sign, or a
//! weak sign backed by another. Confidence: **High** from 5 (two kinds agree, one of them
//! strongly), **Medium** at 3–4 (one strong sign, or two that agree), **Low** at 2. A device
//! below 2 is `Other` with Low confidence: missing evidence does not prove it is no camera.
//! The class is the one the discovery reply names (its model: a `DS-76…` is an NVR), else the
//! hostname's, else the port's, else the OUI vendor's, else camera.
//! The owner's `option class` in /etc/config/camguard always wins, with High confidence.
//!
//! Hostnames are chosen by the device itself, so they are matched as plain data and can only
//! add evidence: a hostname never cancels what the OUI or a port says. A hostname that also
//! names a computer or phone ("camera-laptop", "DESKTOP-CAM1") is not counted at all. A
//! discovery reply is as much the device's word as its hostname: it can add evidence, and a
//! UPnP description of another kind of device (a media renderer, a printer) is recorded as a
//! contradiction, which keeps the default-password check away ([`login_refusal`]).

use super::oui::{self, Strength};
use crate::lan::{Classification, Confidence, DeviceClass, DeviceInfo};
use crate::mac::Mac;

/// What is known about one device.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    pub mac: Option<Mac>,
    /// DHCP hostnames, static host names and host hints, already cleaned.
    pub hostnames: Vec<&'a str>,
    /// Ports the device is known to serve, with where that was seen ("UPnP mapping",
    /// "port forward", "answers on"), e.g. (554, "UPnP mapping").
    pub service_ports: Vec<(u16, &'a str)>,
    /// The owner's `option class` for this MAC in /etc/config/camguard: always wins.
    pub owner_class: Option<DeviceClass>,
    /// What the device said about itself in its latest discovery reply.
    pub announced: Option<&'a DeviceInfo>,
}

/// Lowest score at which a device counts as camera-like.
pub const CAMERA_LIKE_SCORE: u8 = 2;
/// Lowest score for Medium confidence.
pub const MEDIUM_SCORE: u8 = 3;
/// Lowest score for High confidence.
pub const HIGH_SCORE: u8 = 5;

const STRONG: u8 = 3;
const MEDIUM: u8 = 2;
const WEAK: u8 = 1;
const NONE: u8 = 0;

/// One sign found in the evidence.
struct Sign {
    weight: u8,
    class: Option<DeviceClass>,
    vendor: Option<&'static str>,
    reason: String,
}

/// Signs of one kind (OUI, hostname or port); the kind counts with its strongest sign.
#[derive(Default)]
struct Signs(Vec<Sign>);

impl Signs {
    fn weight(&self) -> u8 {
        self.0.iter().map(|s| s.weight).max().unwrap_or(NONE)
    }

    /// The class of the strongest sign that names one (the first among equals).
    fn class(&self) -> Option<DeviceClass> {
        self.strongest(|s| s.class)
    }

    /// The vendor of the strongest sign that names one.
    fn vendor(&self) -> Option<&'static str> {
        self.strongest(|s| s.vendor)
    }

    fn strongest<T>(&self, get: impl Fn(&Sign) -> Option<T>) -> Option<T> {
        let mut best: Option<(u8, T)> = None;
        for sign in self.0.iter().filter(|s| s.weight > NONE) {
            if let Some(v) = get(sign) {
                if best.as_ref().is_none_or(|(w, _)| sign.weight > *w) {
                    best = Some((sign.weight, v));
                }
            }
        }
        best.map(|(_, v)| v)
    }
}

/// Classifies one device. Pure: the same evidence always gives the same answer.
pub fn classify(evidence: &Evidence) -> Classification {
    let (oui_signs, oui_vendor) = oui_signs(evidence.mac);
    let host_signs = hostname_signs(&evidence.hostnames, evidence.mac, oui_vendor);
    let port_signs = port_signs(&evidence.service_ports);
    let reply_signs = announcement_signs(evidence.announced);
    let score =
        oui_signs.weight() + host_signs.weight() + port_signs.weight() + reply_signs.weight();

    // Vendor: a camera maker's OUI is a registry fact; a maker's own discovery protocol comes
    // next; a hostname brand beats a mixed maker's OUI (a Tuya module inside a branded
    // camera); a port only hints at a protocol's owner.
    let vendor = match oui_vendor {
        Some(v) if v.strength == Strength::Strong => Some(v.name),
        _ => reply_signs
            .vendor()
            .or(host_signs.vendor())
            .or(oui_vendor
                .filter(|v| v.strength == Strength::Weak)
                .map(|v| v.name))
            .or(port_signs.vendor()),
    };

    let detected = reply_signs
        .class()
        .or(host_signs.class())
        .or(port_signs.class())
        .or(oui_signs.class())
        .unwrap_or(DeviceClass::Camera);
    let (class, confidence) = match score {
        s if s >= HIGH_SCORE => (detected, Confidence::High),
        s if s >= MEDIUM_SCORE => (detected, Confidence::Medium),
        s if s >= CAMERA_LIKE_SCORE => (detected, Confidence::Low),
        _ => (DeviceClass::Other, Confidence::Low),
    };

    // Strongest first; among equals OUI, hostname, port. Buckets instead of a sort: a generic
    // stable sort costs kilobytes of router flash.
    let mut by_weight: [Vec<String>; STRONG as usize + 1] = Default::default();
    for sign in oui_signs
        .0
        .into_iter()
        .chain(host_signs.0)
        .chain(port_signs.0)
        .chain(reply_signs.0)
    {
        by_weight[usize::from(sign.weight.min(STRONG))].push(sign.reason);
    }
    let mut reasons: Vec<String> = by_weight.into_iter().rev().flatten().collect();
    if score < CAMERA_LIKE_SCORE {
        reasons.push(if score == NONE && reasons.is_empty() {
            "nothing points to a camera".to_owned()
        } else if score == NONE {
            "nothing else points to a camera".to_owned()
        } else {
            "too little evidence for a camera: one weak sign only".to_owned()
        });
    }

    match evidence.owner_class {
        // The owner has looked at the device: what speaks against a camera no longer counts.
        Some(owner) => {
            reasons.insert(
                0,
                format!(
                    "set by the owner in /etc/config/camguard: {}",
                    owner.label()
                ),
            );
            Classification {
                class: owner,
                confidence: Confidence::High,
                vendor: vendor.map(str::to_owned),
                reasons,
                contradictions: Vec::new(),
            }
        }
        None => Classification {
            class,
            confidence,
            vendor: vendor.map(str::to_owned),
            reasons,
            contradictions: if class.is_camera_like() {
                contradictions(evidence)
            } else {
                Vec::new()
            },
        },
    }
}

fn not_a_camera_maker(prefix: &str, name: &str) -> String {
    format!("OUI {prefix} is registered to {name}, a maker of computers, phones and consoles, not cameras")
}

/// What speaks against a camera-like classification: an OUI of a maker of computers, phones
/// and consoles only, or a hostname that names another kind of device ("laptop", "iphone").
/// It does not change the class (a web header or an RTSP port may still be right), but the
/// default-password check sends no login to such a device ([`login_refusal`]).
fn contradictions(evidence: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = evidence.mac.and_then(oui::assignment_of) {
        if a.vendor.strength == Strength::NotCamera {
            out.push(not_a_camera_maker(&a.prefix_text(), a.vendor.name));
        }
    }
    for hostname in &evidence.hostnames {
        if let Some(word) = words(hostname)
            .into_iter()
            .find(|w| NOT_A_CAMERA_WORDS.contains(&w.as_str()))
        {
            out.push(format!(
                "hostname {} names another kind of device (\"{word}\")",
                quoted(hostname)
            ));
        }
    }
    if let Some(what) = evidence.announced.and_then(other_upnp_device) {
        out.push(what);
    }
    out.dedup();
    out
}

/// UPnP device types (`urn:schemas-upnp-org:device:<type>:<v>` and vendors' own) of devices
/// that are not cameras: TVs and speakers, NAS media servers, routers, printers, Sonos.
const NOT_A_CAMERA_UPNP_TYPES: &[&str] = &[
    "MediaRenderer",
    "MediaServer",
    "InternetGatewayDevice",
    "WANDevice",
    "WANConnectionDevice",
    "WLANAccessPointDevice",
    "Printer",
    "ZonePlayer",
    "dial",
];

/// The UPnP type of a device description of another kind of device, as a contradiction.
fn other_upnp_device(info: &DeviceInfo) -> Option<String> {
    if info.protocol != "SSDP" {
        return None;
    }
    let urn = info.device_type.as_deref()?;
    let kind = urn.split(':').find(|part| {
        NOT_A_CAMERA_UPNP_TYPES
            .iter()
            .any(|t| part.eq_ignore_ascii_case(t))
    })?;
    Some(format!(
        "its UPnP description says it is a {kind} ({}), not a camera",
        quoted(urn)
    ))
}

/// The class a model name gives ("DS-7608NI" an NVR, "IPC-HDW1230S" a camera): the first
/// hostname rule naming a class that matches it.
fn model_class(model: &str) -> Option<DeviceClass> {
    let lower = model.to_ascii_lowercase();
    let words = words(&lower);
    HOST_RULES
        .iter()
        .filter(|r| r.needs_oui_of.is_empty())
        .filter(|r| matches(r.pattern, &lower, &words))
        .find_map(|r| r.class)
}

/// A camera brand a model or maker name matches (a brand rule of the hostname table).
fn model_brand(text: &str) -> Option<(&'static str, Option<DeviceClass>)> {
    let lower = text.to_ascii_lowercase();
    let words = words(&lower);
    HOST_RULES
        .iter()
        .filter(|r| r.needs_oui_of.is_empty() && r.weight == STRONG)
        .find(|r| matches(r.pattern, &lower, &words))
        .and_then(|r| r.brand.map(|b| (b, r.class)))
}

/// What a discovery reply says: a camera maker's own protocol and ONVIF's video transmitter
/// are strong signs (with the class the model names), a UPnP description of a security
/// camera or naming a camera brand a medium one.
fn announcement_signs(info: Option<&DeviceInfo>) -> Signs {
    let mut signs = Signs::default();
    let Some(info) = info else {
        return signs;
    };
    let model = info.model.as_deref().unwrap_or_default();
    let as_model = if model.is_empty() {
        String::new()
    } else {
        format!(" as {}", quoted(model))
    };
    let from_model = model_class(model);
    let onvif_video = info
        .device_type
        .as_deref()
        .is_some_and(|t| t.contains("NetworkVideoTransmitter"));
    let sign = match info.protocol.as_str() {
        "SADP" => Some(Sign {
            weight: STRONG,
            class: Some(from_model.unwrap_or(Camera)),
            vendor: Some("Hikvision"),
            reason: format!("answers Hikvision's SADP discovery{as_model}"),
        }),
        "Dahua discovery" => {
            let w = words(model);
            let recorder = ["nvr", "dvr", "xvr", "hcvr"]
                .iter()
                .any(|r| w.iter().any(|x| x == r));
            let class = if recorder {
                Nvr
            } else if w.iter().any(|x| x == "vto") {
                Doorbell
            } else {
                from_model.unwrap_or(Camera)
            };
            Some(Sign {
                weight: STRONG,
                class: Some(class),
                vendor: Some("Dahua"),
                reason: format!("answers Dahua's discovery{as_model}"),
            })
        }
        "ONVIF" | "WS-Discovery" if info.protocol == "ONVIF" || onvif_video => Some(Sign {
            weight: STRONG,
            class: Some(from_model.unwrap_or(Camera)),
            vendor: None,
            reason: format!(
                "answers ONVIF discovery as a network video transmitter{}",
                {
                    if model.is_empty() {
                        String::new()
                    } else {
                        format!(" (model {})", quoted(model))
                    }
                }
            ),
        }),
        "SSDP" => {
            let urn = info.device_type.as_deref().unwrap_or_default();
            let brand = [model, info.manufacturer.as_deref().unwrap_or_default()]
                .into_iter()
                .find_map(model_brand);
            if urn.contains("DigitalSecurityCamera") {
                Some(Sign {
                    weight: MEDIUM,
                    class: Some(Camera),
                    vendor: brand.map(|(b, _)| b),
                    reason: format!(
                        "its UPnP description says it is a security camera ({})",
                        quoted(urn)
                    ),
                })
            } else {
                brand.map(|(b, class)| Sign {
                    weight: MEDIUM,
                    class: class.or(from_model),
                    vendor: Some(b),
                    reason: format!("its UPnP description names {b}{as_model}"),
                })
            }
        }
        _ => None,
    };
    signs.0.extend(sign);
    signs
}

/// Why the default-password check must not send a factory login to a device classified so,
/// or None when it may: only camera-like devices with at least medium confidence whose
/// evidence does not contradict itself (issue 17: a laptop with an Apple OUI that answered on
/// the RTSP port with a Hikvision-style web header was a low-confidence camera and got a
/// Hikvision login). The owner's class is High confidence and has no contradictions.
pub fn login_refusal(c: &Classification) -> Option<String> {
    if !c.class.is_camera_like() {
        return Some("it is not classified as a camera".to_owned());
    }
    if c.confidence < Confidence::Medium {
        return Some(
            "it is a camera with low confidence only, and factory logins go only to devices \
             classified with medium confidence or more"
                .to_owned(),
        );
    }
    if !c.contradictions.is_empty() {
        return Some(format!(
            "its evidence contradicts itself ({}), so camguard sends it no login; set its class \
             in /etc/config/camguard if it is a camera",
            c.contradictions.join("; ")
        ));
    }
    None
}

fn oui_signs(mac: Option<Mac>) -> (Signs, Option<&'static oui::Vendor>) {
    let mut signs = Signs::default();
    let Some(mac) = mac else {
        return (signs, None);
    };
    if mac.is_locally_administered() {
        signs.0.push(Sign {
            weight: NONE,
            class: None,
            vendor: None,
            reason: format!(
                "MAC {mac} is locally administered (randomised or virtual): its first octets \
                 name no vendor, so they are no evidence"
            ),
        });
        return (signs, None);
    }
    let Some(assignment) = oui::assignment_of(mac) else {
        return (signs, None);
    };
    let v = assignment.vendor;
    let prefix = assignment.prefix_text();
    let (weight, class, reason) = match v.strength {
        Strength::Strong => (
            STRONG,
            Some(v.class),
            format!(
                "OUI {prefix} is registered to {}, a maker of {}s",
                v.name,
                v.class.label()
            ),
        ),
        Strength::Weak => (
            WEAK,
            Some(v.class),
            format!(
                "OUI {prefix} is registered to {}, which makes {}s among many other devices",
                v.name,
                v.class.label()
            ),
        ),
        Strength::Generic => (
            NONE,
            None,
            format!(
                "OUI {prefix} is registered to {}, whose OUIs are shared by many kinds of device: \
                 no evidence either way",
                v.name
            ),
        ),
        Strength::NotCamera => (NONE, None, not_a_camera_maker(&prefix, v.name)),
    };
    signs.0.push(Sign {
        weight,
        class,
        vendor: None, // chosen in classify, where the hostname's brand is known
        reason,
    });
    (signs, Some(v))
}

/// How a hostname rule matches. Hostnames are compared in ASCII lower case; "words" are the
/// runs of letters or of digits ("DS-7608NI" has the words ds, 7608, ni).
#[derive(Clone, Copy)]
enum Pattern {
    /// The hostname starts with this.
    Prefix(&'static str),
    /// The hostname contains this anywhere.
    Contains(&'static str),
    /// One word is exactly this.
    Word(&'static str),
    /// One word ends with this (`frontcam`, `ipcam`, `cam`).
    WordEnding(&'static str),
    /// Two adjacent words (`baby-monitor`).
    Words(&'static str, &'static str),
    /// Starts with the first and contains the second (`ring…cam`).
    PrefixWith(&'static str, &'static str),
    /// Starts with the brand, an optional separator, this letter and a digit (`tapo_c200`).
    Model(&'static str, char),
}

struct HostRule {
    pattern: Pattern,
    /// The pattern as reasons show it.
    shown: &'static str,
    weight: u8,
    class: Option<DeviceClass>,
    brand: Option<&'static str>,
    /// When not empty, the rule is strong only on a MAC of one of these OUI vendors (the
    /// pairing Home Assistant's matchers use) and weak otherwise: `ring*` alone is too common.
    needs_oui_of: &'static [&'static str],
}

const fn rule(
    pattern: Pattern,
    shown: &'static str,
    weight: u8,
    class: Option<DeviceClass>,
    brand: Option<&'static str>,
) -> HostRule {
    HostRule {
        pattern,
        shown,
        weight,
        class,
        brand,
        needs_oui_of: &[],
    }
}

use DeviceClass::{BabyMonitor, Camera, Doorbell, Nvr};
use Pattern::{Contains, Model, Prefix, PrefixWith, Word, WordEnding, Words};

/// Ordered: for the class, the first of the strongest matching rules wins, so specific rules
/// come before general ones. Brands are from peers-and-camera-data.md 2.2 and the vendors'
/// model names; the general words are those people and firmware use for cameras.
#[rustfmt::skip]
const HOST_RULES: &[HostRule] = &[
    // Brands and models.
    rule(Prefix("reolink"), "reolink*", STRONG, None, Some("Reolink")),
    rule(Contains("hikvision"), "*hikvision*", STRONG, None, Some("Hikvision")),
    rule(Contains("hiwatch"), "*hiwatch*", STRONG, None, Some("HiWatch (Hikvision)")),
    rule(Prefix("ds-2cd"), "ds-2cd*", STRONG, Some(Camera), Some("Hikvision")),
    rule(Prefix("ds-2de"), "ds-2de*", STRONG, Some(Camera), Some("Hikvision")),
    rule(Prefix("ds-2df"), "ds-2df*", STRONG, Some(Camera), Some("Hikvision")),
    rule(Prefix("ds-72"), "ds-72*", STRONG, Some(Nvr), Some("Hikvision")),
    rule(Prefix("ds-76"), "ds-76*", STRONG, Some(Nvr), Some("Hikvision")),
    rule(Prefix("ds-77"), "ds-77*", STRONG, Some(Nvr), Some("Hikvision")),
    rule(Prefix("ds-96"), "ds-96*", STRONG, Some(Nvr), Some("Hikvision")),
    rule(Prefix("ds-kv"), "ds-kv*", STRONG, Some(Doorbell), Some("Hikvision")),
    rule(Prefix("ds-kb"), "ds-kb*", STRONG, Some(Doorbell), Some("Hikvision")),
    rule(Contains("dahua"), "*dahua*", STRONG, None, Some("Dahua")),
    rule(Prefix("dh-ipc"), "dh-ipc*", STRONG, Some(Camera), Some("Dahua")),
    rule(Contains("ezviz"), "*ezviz*", STRONG, None, Some("Ezviz")),
    rule(Prefix("imou"), "imou*", STRONG, None, Some("Imou")),
    rule(Contains("amcrest"), "*amcrest*", STRONG, None, Some("Amcrest")),
    rule(Prefix("lorex"), "lorex*", STRONG, None, Some("Lorex")),
    rule(Word("swann"), "swann", STRONG, None, Some("Swann")),
    rule(Prefix("wyze"), "wyze*", STRONG, None, Some("Wyze")),
    rule(Contains("foscam"), "*foscam*", STRONG, None, Some("Foscam")),
    rule(Prefix("annke"), "annke*", STRONG, None, Some("Annke")),
    rule(Contains("vstarcam"), "*vstarcam*", STRONG, None, Some("VStarcam")),
    rule(Word("arlo"), "arlo", STRONG, None, Some("Arlo")),
    rule(Prefix("doorbird"), "doorbird*", STRONG, Some(Doorbell), Some("DoorBird")),
    rule(Word("nanit"), "nanit", STRONG, Some(BabyMonitor), Some("Nanit")),
    rule(Model("tapo", 'c'), "tapo c*", STRONG, Some(Camera), Some("TP-Link Tapo")),
    rule(Model("tapo", 'd'), "tapo d*", STRONG, Some(Doorbell), Some("TP-Link Tapo")),
    rule(Prefix("eufy"), "eufy*", MEDIUM, None, Some("Eufy")),
    HostRule {
        needs_oui_of: &["Ring", "Texas Instruments"],
        ..rule(PrefixWith("ring", "cam"), "ring*cam*", STRONG, Some(Camera), Some("Ring"))
    },
    HostRule {
        needs_oui_of: &["Ring", "Texas Instruments"],
        ..rule(Prefix("ring"), "ring*", STRONG, Some(Doorbell), Some("Ring"))
    },
    HostRule {
        needs_oui_of: &["Blink", "Amazon", "Atheros"],
        ..rule(Prefix("blink"), "blink*", STRONG, Some(Camera), Some("Blink"))
    },
    // Words for cameras, most specific first.
    rule(Contains("doorbell"), "*doorbell*", MEDIUM, Some(Doorbell), None),
    rule(Contains("babymonitor"), "*babymonitor*", MEDIUM, Some(BabyMonitor), None),
    rule(Words("baby", "monitor"), "baby-monitor", MEDIUM, Some(BabyMonitor), None),
    rule(Contains("babycam"), "*babycam*", MEDIUM, Some(BabyMonitor), None),
    rule(Words("baby", "cam"), "baby-cam", MEDIUM, Some(BabyMonitor), None),
    rule(Word("nvr"), "nvr", MEDIUM, Some(Nvr), None),
    rule(Word("dvr"), "dvr", MEDIUM, Some(Nvr), None),
    rule(Word("xvr"), "xvr", MEDIUM, Some(Nvr), None),
    rule(Contains("camera"), "*camera*", MEDIUM, Some(Camera), None),
    rule(WordEnding("cam"), "*cam", MEDIUM, Some(Camera), None),
    rule(Word("cctv"), "cctv", MEDIUM, Some(Camera), None),
    rule(Word("ipc"), "ipc", MEDIUM, Some(Camera), None),
];

/// Words that say the host is a computer, phone or another kind of device: a hostname with
/// one of them ("camera-laptop", "DESKTOP-CAM1X2Y", "tivo-dvr") is not camera evidence.
const NOT_A_CAMERA_WORDS: &[&str] = &[
    "laptop",
    "notebook",
    "desktop",
    "pc",
    "macbook",
    "mbp",
    "imac",
    "thinkpad",
    "chromebook",
    "iphone",
    "ipad",
    "android",
    "phone",
    "galaxy",
    "pixel",
    "printer",
    "tv",
    "tivo",
    "xbox",
    "playstation",
    "ps",
    "kindle",
    "robovac",
    "vacuum",
    "plug",
];

/// Lower-case words of a hostname: runs of ASCII letters or of ASCII digits.
fn words(hostname: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_is_digit = false;
    for c in hostname.chars() {
        let c = c.to_ascii_lowercase();
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let is_digit = c.is_ascii_digit();
        if !current.is_empty() && is_digit != current_is_digit {
            out.push(std::mem::take(&mut current));
        }
        current_is_digit = is_digit;
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn matches(pattern: Pattern, lower: &str, words: &[String]) -> bool {
    match pattern {
        Prefix(p) => lower.starts_with(p),
        Contains(p) => lower.contains(p),
        Word(w) => words.iter().any(|x| x == w),
        WordEnding(e) => words.iter().any(|x| x.ends_with(e)),
        Words(a, b) => words.windows(2).any(|pair| pair[0] == a && pair[1] == b),
        PrefixWith(p, needle) => lower.starts_with(p) && lower.contains(needle),
        Model(brand, letter) => {
            let Some(rest) = lower.strip_prefix(brand) else {
                return false;
            };
            let rest = rest.strip_prefix(['-', '_', ' ']).unwrap_or(rest);
            let mut chars = rest.chars();
            chars.next() == Some(letter) && chars.next().is_some_and(|c| c.is_ascii_digit())
        }
    }
}

/// A hostname as reasons quote it: already cleaned of control characters by
/// `crate::text::lan_text`; a quote inside is escaped so the quoted text cannot end early.
fn quoted(hostname: &str) -> String {
    format!("\"{}\"", hostname.replace('"', "\\\""))
}

fn hostname_signs(
    hostnames: &[&str],
    mac: Option<Mac>,
    oui_vendor: Option<&'static oui::Vendor>,
) -> Signs {
    let mut signs = Signs::default();
    let mut seen: Vec<String> = Vec::new();
    for hostname in hostnames {
        let lower = hostname.to_ascii_lowercase();
        if lower.is_empty() || seen.contains(&lower) {
            continue;
        }
        let words = words(&lower);
        let hits: Vec<&HostRule> = HOST_RULES
            .iter()
            .filter(|r| matches(r.pattern, &lower, &words))
            .collect();
        let axis = axis_mac_sign(hostname, &lower, mac);
        if hits.is_empty() && axis.is_none() {
            seen.push(lower);
            continue;
        }
        if let Some(word) = words
            .iter()
            .find(|w| NOT_A_CAMERA_WORDS.contains(&w.as_str()))
        {
            signs.0.push(Sign {
                weight: NONE,
                class: None,
                vendor: None,
                reason: format!(
                    "hostname {} looks like a camera's but also says \"{word}\": not counted",
                    quoted(hostname)
                ),
            });
            seen.push(lower);
            continue;
        }
        signs.0.extend(axis);
        // One sign per hostname: its strongest rule (the first among equals), with the class
        // of the strongest rule that names one ("lorex-nvr": lorex* says who, nvr says what).
        let mut best: Option<(&HostRule, u8, String)> = None;
        let mut named: Option<(&HostRule, u8)> = None;
        for hit in hits {
            let (weight, note) = rule_weight(hit, oui_vendor);
            if hit.class.is_some() && named.is_none_or(|(_, w)| weight > w) {
                named = Some((hit, weight));
            }
            if best.as_ref().is_none_or(|(_, w, _)| weight > *w) {
                best = Some((hit, weight, note));
            }
        }
        if let Some((rule, weight, note)) = best {
            let mut reason = format!("hostname {} matches {}{note}", quoted(hostname), rule.shown);
            let mut class = rule.class;
            if let (None, Some((named, _))) = (class, named) {
                class = named.class;
                reason.push_str(" and ");
                reason.push_str(named.shown);
            }
            signs.0.push(Sign {
                weight,
                class,
                // A rule weakened for want of its OUI names no vendor either.
                vendor: rule.brand.filter(|_| weight == rule.weight),
                reason,
            });
        }
        seen.push(lower);
    }
    signs
}

/// A rule's weight on this device, and what the reason should add about the OUI pairing.
fn rule_weight(rule: &HostRule, oui_vendor: Option<&'static oui::Vendor>) -> (u8, String) {
    if rule.needs_oui_of.is_empty() {
        return (rule.weight, String::new());
    }
    match oui_vendor.filter(|v| rule.needs_oui_of.contains(&v.name)) {
        Some(v) => (rule.weight, format!(" on an OUI of {}", v.name)),
        None => (
            WEAK,
            format!(
                " but not on an OUI of {}, as those devices are",
                rule.needs_oui_of.join("/")
            ),
        ),
    }
}

/// Axis names its devices "axis-" and their MAC in hex: on the device's own MAC that is
/// strong evidence; with another MAC only a camera-like name.
fn axis_mac_sign(hostname: &str, lower: &str, mac: Option<Mac>) -> Option<Sign> {
    let hex = lower.strip_prefix("axis-")?.get(..12)?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let own = mac.is_some_and(|m| m.to_string().replace(':', "") == hex);
    Some(Sign {
        weight: if own { STRONG } else { MEDIUM },
        class: Some(Camera),
        vendor: Some("Axis"),
        reason: if own {
            format!(
                "hostname {} is \"axis-\" and this device's MAC, as Axis names its devices",
                quoted(hostname)
            )
        } else {
            format!(
                "hostname {} follows Axis's \"axis-<MAC>\" naming",
                quoted(hostname)
            )
        },
    })
}

/// Whether a device serving `port` says anything about what it is: the only ports
/// classification weighs, so the only ones worth keeping as evidence (a device may name all
/// 65,535).
pub fn is_weighed_port(port: u16) -> bool {
    PORT_RULES.iter().any(|r| r.port == port)
}

struct PortRule {
    port: u16,
    what: &'static str,
    weight: u8,
    class: Option<DeviceClass>,
    vendor: Option<&'static str>,
}

/// Camera ports of `crate::ports::KNOWN_PORTS`, weighed: protocols only recorders speak are
/// strong, RTSP medium, ports that many other services also use weak. Port 80 is no evidence.
const PORT_RULES: &[PortRule] = &[
    PortRule {
        port: 34567,
        what: "Xiongmai's DVR-IP protocol of XMEye recorders",
        weight: STRONG,
        class: Some(Nvr),
        vendor: Some("Xiongmai (XMEye)"),
    },
    PortRule {
        port: 37777,
        what: "Dahua's SDK port of its cameras and recorders",
        weight: STRONG,
        class: None,
        vendor: Some("Dahua"),
    },
    PortRule {
        port: 554,
        what: "RTSP, the protocol of camera video streams",
        weight: MEDIUM,
        class: None,
        vendor: None,
    },
    PortRule {
        port: 8554,
        what: "RTSP (alternate port), the protocol of camera video streams",
        weight: MEDIUM,
        class: None,
        vendor: None,
    },
    PortRule {
        port: 9530,
        what: "the telnet backdoor of Xiongmai/HiSilicon camera firmware",
        weight: MEDIUM,
        class: None,
        vendor: None,
    },
    PortRule {
        port: 8000,
        what: "Hikvision's SDK port, though many other web services use it too",
        weight: WEAK,
        class: None,
        vendor: None,
    },
    PortRule {
        port: 9000,
        what: "Reolink's Baichuan port, though many other services use it too",
        weight: WEAK,
        class: None,
        vendor: None,
    },
    PortRule {
        port: 1935,
        what: "RTMP video streaming",
        weight: WEAK,
        class: None,
        vendor: None,
    },
    PortRule {
        port: 88,
        what: "Foscam's web port, though Kerberos uses it too",
        weight: WEAK,
        class: None,
        vendor: None,
    },
];

fn port_signs(ports: &[(u16, &str)]) -> Signs {
    let mut signs = Signs::default();
    // Only weighed ports are remembered: a device may name all 65,535.
    let mut seen: Vec<(u16, &str)> = Vec::new();
    for &(port, source) in ports {
        let Some(rule) = PORT_RULES.iter().find(|r| r.port == port) else {
            continue;
        };
        if seen.contains(&(port, source)) {
            continue;
        }
        seen.push((port, source));
        let how = match source {
            "UPnP mapping" => format!("maps port {port} through UPnP"),
            "port forward" => format!("a port forward points at its port {port}"),
            "answers on" => format!("answers on port {port}"),
            other => format!("port {port} ({other})"),
        };
        signs.0.push(Sign {
            weight: rule.weight,
            class: rule.class,
            vendor: rule.vendor,
            reason: format!("{how}: {}", rule.what),
        });
    }
    signs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{known, PortKind};

    #[test]
    fn weighed_ports_are_camera_ports_of_the_shared_table() {
        for r in PORT_RULES {
            let k = known(r.port).unwrap_or_else(|| panic!("{} missing from ports.rs", r.port));
            assert_eq!(k.kind, PortKind::Camera, "{}", r.port);
        }
    }

    #[test]
    fn paired_rules_name_vendors_of_the_oui_table() {
        for r in HOST_RULES {
            for name in r.needs_oui_of {
                assert!(oui::VENDORS.iter().any(|v| v.name == *name), "{name}");
            }
        }
    }

    #[test]
    fn words_split_at_punctuation_and_letter_digit_boundaries() {
        assert_eq!(words("DS-7608NI-K2"), ["ds", "7608", "ni", "k", "2"]);
        assert_eq!(words("cam1.garden"), ["cam", "1", "garden"]);
        assert_eq!(words("Tapo_C200"), ["tapo", "c", "200"]);
    }

    #[test]
    fn tapo_models_need_the_brand() {
        let m = |h: &str| matches(Model("tapo", 'c'), h, &words(h));
        assert!(m("tapo_c200") && m("tapo-c310") && m("tapoc100"));
        assert!(!m("archer_c7") && !m("tapo_p100") && !m("tapo_c"));
    }

    fn info(protocol: &str, model: &str, device_type: Option<&str>) -> DeviceInfo {
        DeviceInfo {
            model: (!model.is_empty()).then(|| model.to_owned()),
            firmware: None,
            manufacturer: None,
            device_type: device_type.map(str::to_owned),
            protocol: protocol.to_owned(),
            at: 1,
            passive: false,
        }
    }

    fn with_reply<'a>(hostnames: &[&'a str], reply: &'a DeviceInfo) -> Classification {
        classify(&Evidence {
            // Locally administered: the OUI says nothing, so the reply's weight shows alone.
            mac: Some("02:00:00:00:00:01".parse().unwrap()),
            hostnames: hostnames.to_vec(),
            announced: Some(reply),
            ..Evidence::default()
        })
    }

    #[test]
    fn a_camera_makers_discovery_reply_is_strong_evidence_with_the_models_class() {
        let nvr = with_reply(&[], &info("SADP", "DS-7608NI-K2", None));
        assert_eq!(
            (nvr.class, nvr.confidence, nvr.vendor.as_deref()),
            (Nvr, Confidence::Medium, Some("Hikvision"))
        );
        assert!(nvr.reasons[0].contains("SADP") && nvr.reasons[0].contains("DS-7608NI-K2"));
        let cam = with_reply(
            &["garage-cam"],
            &info("Dahua discovery", "IPC-HDW1230S", None),
        );
        assert_eq!((cam.class, cam.confidence), (Camera, Confidence::High));
        assert_eq!(cam.vendor.as_deref(), Some("Dahua"));
        let door = with_reply(&[], &info("Dahua discovery", "VTO2111D-WP", None));
        assert_eq!(door.class, Doorbell);
        let recorder = with_reply(&[], &info("Dahua discovery", "DHI-NVR4104HS", None));
        assert_eq!(recorder.class, Nvr);
        // ONVIF: a video transmitter is a camera; a ProbeMatch of another type says nothing.
        let nvt = info(
            "WS-Discovery",
            "IPC-B2 Mini",
            Some("dn:NetworkVideoTransmitter"),
        );
        assert_eq!(with_reply(&[], &nvt).class, Camera);
        let other = info("WS-Discovery", "X", Some("wsdp:Device"));
        assert_eq!(with_reply(&[], &other).class, DeviceClass::Other);
        assert_eq!(with_reply(&[], &info("ONVIF", "M", None)).class, Camera);
    }

    #[test]
    fn a_upnp_description_is_medium_evidence_or_a_contradiction() {
        let camera_type = info(
            "SSDP",
            "",
            Some("urn:schemas-upnp-org:device:DigitalSecurityCamera:1"),
        );
        let c = with_reply(&[], &camera_type);
        assert_eq!((c.class, c.confidence), (Camera, Confidence::Low));
        let mut branded = info(
            "SSDP",
            "IP Camera DS-2CD2143G0-I",
            Some("urn:schemas-upnp-org:device:Basic:1"),
        );
        branded.manufacturer = Some("Hikvision".into());
        let c = with_reply(&[], &branded);
        assert_eq!((c.class, c.vendor.as_deref()), (Camera, Some("Hikvision")));
        assert!(
            c.reasons[0].contains("UPnP description names Hikvision"),
            "{:?}",
            c.reasons
        );
        // A TV that calls itself "livingroom-cam" and streams RTSP: camera-like with medium
        // confidence, but its description contradicts that, and no factory login goes to it.
        let tv = info(
            "SSDP",
            "BRAVIA",
            Some("urn:schemas-upnp-org:device:MediaRenderer:1"),
        );
        let c = classify(&Evidence {
            mac: Some("02:00:00:00:00:01".parse().unwrap()),
            hostnames: vec!["livingroom-cam"],
            service_ports: vec![(554, "answers on")],
            announced: Some(&tv),
            ..Evidence::default()
        });
        assert!(
            c.class.is_camera_like() && c.confidence == Confidence::Medium,
            "{c:?}"
        );
        assert!(
            c.contradictions.iter().any(|x| x.contains("MediaRenderer")),
            "{c:?}"
        );
        assert!(login_refusal(&c).unwrap().contains("MediaRenderer"));
        // The same type on a device that is no camera is nothing to contradict.
        assert!(with_reply(&[], &tv).contradictions.is_empty());
        // A Basic device naming no brand is no evidence either way.
        let plain = with_reply(
            &[],
            &info(
                "SSDP",
                "Widget",
                Some("urn:schemas-upnp-org:device:Basic:1"),
            ),
        );
        assert_eq!(plain.class, DeviceClass::Other);
    }
}
