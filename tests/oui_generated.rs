//! The committed OUI table must be exactly what `scripts/gen-oui` makes from the IEEE registry
//! and data/: otherwise a hand edit, or a data change nobody regenerated, ships unnoticed.

use std::path::{Path, PathBuf};
use std::process::Command;

use camguard::facts::oui::{assignment_of, vendor_of, Strength};
use camguard::lan::DeviceClass;
use camguard::mac::Mac;

const IEEE_DIR: &str = "/usr/share/ieee-data";
const REGENERATE: &str = "python3 scripts/gen-oui";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn mac(s: &str) -> Mac {
    s.parse().expect("test MAC")
}

#[test]
fn committed_table_matches_the_generator() {
    assert!(
        Path::new(IEEE_DIR).join("oui.csv").is_file(),
        "{IEEE_DIR}/oui.csv is missing: the generator reads the IEEE registry from Debian's \
         ieee-data package. Install it with: apt-get install ieee-data"
    );
    let out = std::env::temp_dir().join(format!("camguard-oui-{}.rs", std::process::id()));
    let run = Command::new("python3")
        .arg(repo().join("scripts/gen-oui"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python3 must be installed to run scripts/gen-oui");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "scripts/gen-oui failed:\n{stderr}");

    let generated = std::fs::read_to_string(&out).expect("generator output");
    let _ = std::fs::remove_file(&out);
    let committed =
        std::fs::read_to_string(repo().join("src/facts/oui.rs")).expect("src/facts/oui.rs");
    if generated != committed {
        let first_difference = generated
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "in length".to_string(), |i| format!("at line {}", i + 1));
        let (here, committed_snapshot) = (snapshot(&generated), snapshot(&committed));
        let registry_note = if here != committed_snapshot {
            format!(
                "The IEEE registry on this machine (ieee-data snapshot {here}) is not the one the \
                 committed table was made from ({committed_snapshot}): commit the regenerated \
                 table if the newer registry is intended.\n"
            )
        } else {
            String::new()
        };
        panic!(
            "src/facts/oui.rs differs from the generator's output ({first_difference}).\n\
             {registry_note}Regenerate it with `{REGENERATE}` and commit the result.\n{stderr}"
        );
    }
}

/// The ieee-data snapshot date the generator wrote into a table's header.
fn snapshot(table: &str) -> &str {
    table
        .split_once("(snapshot ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or("unknown", |(date, _)| date)
}

#[test]
fn camera_makers_of_each_block_size_are_found() {
    // MA-L
    let hik = assignment_of(mac("4c:bd:8f:01:02:03")).expect("Hikvision");
    assert_eq!(hik.vendor.name, "Hikvision");
    assert_eq!(hik.vendor.strength, Strength::Strong);
    assert_eq!(hik.prefix_text(), "4C:BD:8F");
    // MA-M: Amcrest's 34:46:63:2 block (registered after the 2022 snapshot: from the supplement)
    let amcrest = assignment_of(mac("34:46:63:2a:bc:de")).expect("Amcrest");
    assert_eq!((amcrest.vendor.name, amcrest.bits), ("Amcrest", 28));
    assert_eq!(amcrest.prefix_text(), "34:46:63:2");
    // another block of the same MA-L belongs to someone else
    assert!(vendor_of(mac("34:46:63:3a:bc:de")).is_none());
    // MA-S / IAB: Arecont Vision's 00:50:C2:3B:6 block
    let arecont = assignment_of(mac("00:50:c2:3b:6f:01")).expect("Arecont");
    assert_eq!((arecont.vendor.name, arecont.bits), ("Arecont Vision", 36));
    assert_eq!(arecont.prefix_text(), "00:50:C2:3B:6");
}

#[test]
fn vendor_classes_and_strengths_follow_the_data() {
    let ring = vendor_of(mac("9c:76:13:00:00:01")).expect("Ring");
    assert_eq!(
        (ring.class, ring.strength),
        (DeviceClass::Doorbell, Strength::Strong)
    );
    let tuya = vendor_of(mac("d4:a6:51:00:00:01")).expect("Tuya");
    assert_eq!(tuya.strength, Strength::Weak);
    let espressif = vendor_of(mac("30:ae:a4:00:00:01")).expect("Espressif");
    assert_eq!(
        (espressif.class, espressif.strength),
        (DeviceClass::Other, Strength::Generic)
    );
}

#[test]
fn unrelated_registrants_with_camera_words_in_their_names_stay_out() {
    // 40:2C:76:1 is "Shanghai Dahua Scale Factory", weighing scales, not Zhejiang Dahua.
    assert!(vendor_of(mac("40:2c:76:10:00:01")).is_none());
    // 70:B3:D5:C4:B is "ANKER-EAST", probably not Anker/Eufy.
    assert!(vendor_of(mac("70:b3:d5:c4:b0:01")).is_none());
}

#[test]
fn randomised_addresses_name_no_vendor() {
    // 4E:BD:8F is 4C:BD:8F (Hikvision) with the locally-administered bit set.
    assert!(vendor_of(mac("4e:bd:8f:01:02:03")).is_none());
}
