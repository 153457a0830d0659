//! First seen and last seen per device, kept across restarts in a small state file.
//!
//! "This camera first appeared last Tuesday" is how an owner spots a device they did not add.
//! The inventory fills each device's times from the previous records and the snapshot's time
//! ([`super::Inventory::build`]); [`merge_seen`] turns the inventory back into records for
//! the file. Both are pure; the read stage reads the file (`/etc/camguard/seen.json`) and the
//! daemon writes it.
//!
//! The file lives on flash, so [`SeenMerge::needs_save`] asks for a write only when a device is
//! new, or a last-seen time moved by an hour or more: the daemon audits every few minutes, and
//! an hour's precision is plenty for "last seen".
use std::sync::Arc;

use crate::lan::{Device, SeenRecord};
use crate::mac::Mac;
use crate::sorted::SortedMap;

/// A last-seen change smaller than this does not by itself make the file worth rewriting.
pub const SAVE_GRANULARITY_SECS: u64 = 3600;
/// Devices not seen for this long are forgotten.
pub const FORGET_AFTER_SECS: u64 = 400 * 24 * 3600;
/// Most records kept (most recently seen first): a LAN host cycling random MACs must not grow
/// the file without end.
pub const MAX_SEEN_RECORDS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenMerge {
    /// Sorted by MAC.
    pub records: Vec<SeenRecord>,
    /// Devices seen for the first time.
    pub new_devices: Vec<Mac>,
    /// Whether the file should be written now (see the module notes).
    pub needs_save: bool,
}

/// The records after an audit at `now`: devices present now get `last_seen = now` (and
/// `first_seen = now` when new); the others keep their records until they are forgotten.
/// Devices without a MAC (known only by an address) are not recorded: an address is no
/// identity.
pub fn merge_seen(previous: &[SeenRecord], now: u64, devices: &[Arc<Device>]) -> SeenMerge {
    let mut map: SortedMap<Mac, SeenRecord> = previous.iter().map(|r| (r.mac, *r)).collect();
    let mut new_devices = Vec::new();
    let mut needs_save = false;
    for d in devices {
        let Some(mac) = d.mac else { continue };
        if !d.present {
            continue;
        }
        match map.get_mut(&mac) {
            Some(r) => {
                if now > r.last_seen {
                    needs_save |= now - r.last_seen >= SAVE_GRANULARITY_SECS;
                    r.last_seen = now;
                }
            }
            None => new_devices.push(mac),
        }
    }
    // Added once all are known (a LAN host cycling MACs brings thousands); a MAC twice among
    // the devices is new once, where it first appears.
    let mut added = new_devices.clone();
    added.sort_unstable();
    added.dedup();
    let mut listed = vec![false; added.len()];
    new_devices.retain(|m| match added.binary_search(m) {
        Ok(i) => !std::mem::replace(&mut listed[i], true),
        Err(_) => false,
    });
    needs_save |= !added.is_empty();
    let before = map.len() + added.len();
    let new_records = added.into_iter().map(|mac| SeenRecord {
        mac,
        first_seen: now,
        last_seen: now,
    });
    let mut records: Vec<SeenRecord> = map
        .into_iter()
        .map(|(_, r)| r)
        .chain(new_records)
        .filter(|r| now.saturating_sub(r.last_seen) < FORGET_AFTER_SECS)
        .collect();
    records.sort_by_key(|r| r.mac);
    if records.len() > MAX_SEEN_RECORDS {
        records.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.mac.cmp(&b.mac)));
        records.truncate(MAX_SEEN_RECORDS);
        records.sort_by_key(|r| r.mac);
    }
    needs_save |= records.len() != before;
    SeenMerge {
        records,
        new_devices,
        needs_save,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lan::{Classification, Confidence, DeviceClass};

    fn device(mac: &str, present: bool) -> Arc<Device> {
        let mut d = Device::new(
            Some(mac.parse().unwrap()),
            vec![],
            vec![],
            vec!["DHCP lease"],
            Classification {
                class: DeviceClass::Other,
                confidence: Confidence::Low,
                vendor: None,
                reasons: vec![],
                contradictions: vec![],
            },
        );
        d.present = present;
        Arc::new(d)
    }

    #[test]
    fn new_devices_are_recorded_and_saved_at_once() {
        let m = merge_seen(&[], 1000, &[device("00:11:22:33:44:55", true)]);
        assert_eq!(m.records[0].first_seen, 1000);
        assert_eq!(m.new_devices.len(), 1);
        assert!(m.needs_save);
    }

    #[test]
    fn new_devices_are_listed_once_in_order_and_recorded_by_mac() {
        let (a, b, c) = (
            "00:00:00:00:00:0a",
            "00:00:00:00:00:0b",
            "00:00:00:00:00:0c",
        );
        let prev = [SeenRecord {
            mac: b.parse().unwrap(),
            first_seen: 10,
            last_seen: 20,
        }];
        let devices = [
            device(c, true),
            device(b, true),
            device(a, true),
            device(c, true),
        ];
        let m = merge_seen(&prev, 1000, &devices);
        let macs = |l: &[&str]| l.iter().map(|m| m.parse().unwrap()).collect::<Vec<Mac>>();
        assert_eq!(m.new_devices, macs(&[c, a]));
        let records: Vec<(Mac, u64, u64)> = m
            .records
            .iter()
            .map(|r| (r.mac, r.first_seen, r.last_seen))
            .collect();
        let [a, b, c] = [a, b, c].map(|m| m.parse().unwrap());
        assert_eq!(records, [(a, 1000, 1000), (b, 10, 1000), (c, 1000, 1000)]);
        assert!(m.needs_save);
    }

    #[test]
    fn last_seen_moves_but_saves_hourly() {
        let prev = [SeenRecord {
            mac: "00:11:22:33:44:55".parse().unwrap(),
            first_seen: 10,
            last_seen: 1000,
        }];
        let d = [device("00:11:22:33:44:55", true)];
        let soon = merge_seen(&prev, 1300, &d);
        assert_eq!(
            (soon.records[0].first_seen, soon.records[0].last_seen),
            (10, 1300)
        );
        assert!(
            !soon.needs_save,
            "five minutes later is not worth a flash write"
        );
        assert!(merge_seen(&prev, 1000 + SAVE_GRANULARITY_SECS, &d).needs_save);
        // Absent devices keep their record untouched.
        let absent = merge_seen(&prev, 5000, &[device("00:11:22:33:44:55", false)]);
        assert_eq!(absent.records, prev);
        assert!(!absent.needs_save);
        // A clock that went back never moves last seen backwards.
        assert_eq!(merge_seen(&prev, 500, &d).records, prev);
    }

    #[test]
    fn old_records_are_forgotten_and_the_count_is_capped() {
        let mut prev: Vec<SeenRecord> = (0..MAX_SEEN_RECORDS as u64 + 10)
            .map(|i| SeenRecord {
                mac: crate::mac::Mac([0, 0, 0, 0, (i >> 8) as u8, i as u8]),
                first_seen: i,
                last_seen: FORGET_AFTER_SECS + i,
            })
            .collect();
        prev.push(SeenRecord {
            mac: "aa:aa:aa:aa:aa:aa".parse().unwrap(),
            first_seen: 0,
            last_seen: 0,
        });
        let m = merge_seen(&prev, FORGET_AFTER_SECS + 5000, &[]);
        assert_eq!(m.records.len(), MAX_SEEN_RECORDS);
        assert!(m
            .records
            .iter()
            .all(|r| r.last_seen >= FORGET_AFTER_SECS + 10));
        assert!(m.needs_save);
    }
}
