//! Unix time as calendar dates, without a date library (the router needs only this much).

/// `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `2026-11-25`
pub fn date(unix: u64) -> String {
    let (y, m, d) = civil_from_days((unix / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-11-25 17:09 UTC`
pub fn datetime(unix: u64) -> String {
    let secs = unix % 86_400;
    format!(
        "{} {:02}:{:02} UTC",
        date(unix),
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// The clock, read where a stage starts (the read stage stamps the snapshot with it); the
/// pure stages take their time from the snapshot instead.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "40 seconds", "12 minutes", "5 hours", "3 days": a span of seconds in the largest unit
/// that keeps it readable.
pub fn duration_words(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} seconds"),
        120..=7199 => format!("{} minutes", secs / 60),
        7200..=172_799 => format!("{} hours", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(datetime(1_795_626_000), "2026-11-25 17:00 UTC");
    }

    #[test]
    fn spans_in_words() {
        assert_eq!(duration_words(59), "59 seconds");
        assert_eq!(duration_words(600), "10 minutes");
        assert_eq!(duration_words(3 * 3600), "3 hours");
        assert_eq!(duration_words(3 * 86_400), "3 days");
    }
}
