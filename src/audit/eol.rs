//! OpenWrt release branches and when each stopped getting security fixes
//! (peers-and-camera-data §3; endoflife.date products/openwrt.md and release-data).
//!
//! Policy: a branch goes end-of-life six months after the next major release, and no sooner
//! than a year after its own. The table knows the releases up to [`TABLE_DATE`]; a release
//! newer than its last branch is taken as supported until [`HORIZON_SECS`] after that date,
//! and as "support unknown" after it: by then a newer major may have made it end-of-life
//! without this table knowing.

/// When the table was last checked against its sources.
pub const TABLE_DATE: &str = "2026-11-01";
pub const TABLE_TIME: u64 = 1_793_491_200;
/// Where the dates come from.
pub const SOURCES: &str = "https://endoflife.date/openwrt (release-data), \
    https://openwrt.org/docs/guide-developer/security#support_status";
/// OpenWrt makes a major release about once a year, and supports the previous one six months
/// longer: eighteen months after the table date a branch newer than the table may be dead.
pub const HORIZON_SECS: u64 = 548 * 86_400;

/// One branch: (major, minor), end-of-life as Unix time, and where the date comes from.
pub struct Branch {
    pub major: u32,
    pub minor: u32,
    pub eol: u64,
    pub eol_date: &'static str,
    pub basis: &'static str,
}

const PUBLISHED: &str = "published end-of-life date";

/// Oldest first.
pub const BRANCHES: &[Branch] = &[
    Branch {
        major: 17,
        minor: 1,
        eol: 1_548_979_200,
        eol_date: "2019-02-01",
        basis: PUBLISHED,
    },
    Branch {
        major: 18,
        minor: 6,
        eol: 1_625_097_600,
        eol_date: "2021-07-01",
        basis: PUBLISHED,
    },
    Branch {
        major: 19,
        minor: 7,
        eol: 1_651_276_800,
        eol_date: "2022-04-30",
        basis: PUBLISHED,
    },
    Branch {
        major: 21,
        minor: 2,
        eol: 1_682_812_800,
        eol_date: "2023-04-30",
        basis: PUBLISHED,
    },
    Branch {
        major: 22,
        minor: 3,
        eol: 1_712_793_600,
        eol_date: "2024-04-11",
        basis: PUBLISHED,
    },
    // endoflife.date revisions say 2025-08-04 and 2025-08-16; the later date never calls a
    // supported release dead.
    Branch {
        major: 23,
        minor: 5,
        eol: 1_755_302_400,
        eol_date: "2025-08-16",
        basis: PUBLISHED,
    },
    // 25.12.0 was built 2026-03-03; six months later per the release policy.
    Branch {
        major: 24,
        minor: 10,
        eol: 1_788_393_600,
        eol_date: "2026-09-03",
        basis: "derived from the release policy (six months after 25.12.0)",
    },
];

/// Whether a branch newer than the table may be out of support by now: the table is older than
/// its horizon.
pub fn support_unknown(major: u32, minor: u32, now: u64) -> bool {
    let newest = BRANCHES.last().map_or((0, 0), |b| (b.major, b.minor));
    (major, minor) > newest && now > TABLE_TIME + HORIZON_SECS
}

/// End-of-life status of release branch `(major, minor)` at Unix time `now`: `Some(branch)`
/// when it no longer gets security fixes. Branches older than the table are end-of-life too
/// (reported against the oldest entry's date); newer ones are not (see [`support_unknown`]).
pub fn end_of_life(major: u32, minor: u32, now: u64) -> Option<&'static Branch> {
    if let Some(b) = BRANCHES
        .iter()
        .find(|b| b.major == major && b.minor == minor)
    {
        return (now >= b.eol).then_some(b);
    }
    let oldest = &BRANCHES[0];
    ((major, minor) < (oldest.major, oldest.minor)).then_some(oldest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_2026: u64 = 1_795_600_000;

    #[test]
    fn old_branches_are_end_of_life() {
        assert_eq!(end_of_life(21, 2, NOV_2026).unwrap().eol_date, "2023-04-30");
        assert!(end_of_life(15, 5, NOV_2026).is_some());
    }

    #[test]
    fn a_branch_is_supported_until_its_date() {
        assert!(end_of_life(23, 5, 1_755_302_399).is_none());
        assert!(end_of_life(23, 5, 1_755_302_400).is_some());
    }

    #[test]
    fn releases_newer_than_the_table_are_not_end_of_life() {
        assert!(end_of_life(25, 12, NOV_2026).is_none());
        assert!(end_of_life(26, 6, u64::MAX).is_none());
    }

    #[test]
    fn a_release_newer_than_the_table_is_unknown_after_the_horizon() {
        assert!(!support_unknown(25, 12, NOV_2026));
        assert!(!support_unknown(25, 12, TABLE_TIME + HORIZON_SECS));
        assert!(support_unknown(25, 12, TABLE_TIME + HORIZON_SECS + 1));
        assert!(
            !support_unknown(24, 10, u64::MAX),
            "a branch of the table is judged by it"
        );
        assert_eq!(crate::time::date(TABLE_TIME), TABLE_DATE);
    }

    #[test]
    fn table_dates_match_their_unix_times() {
        for b in BRANCHES {
            assert_eq!(
                crate::time::date(b.eol),
                b.eol_date,
                "{}.{}",
                b.major,
                b.minor
            );
            assert_eq!(b.eol % 86_400, 0);
        }
    }
}
