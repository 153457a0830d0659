//! apk's version and name rules (`apk-package(5)`). apk refuses a package whose version breaks
//! them, so the writer refuses it first: OpenWrt's ipk version `0.1.0-1` is one of those.

/// `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`
pub fn valid_version(v: &str) -> bool {
    const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
    let b = v.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    while i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && b[i].is_ascii_lowercase() {
        i += 1;
    }
    while i < b.len() && b[i] == b'_' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_lowercase() {
            i += 1;
        }
        if !SUFFIXES.contains(&&v[start..i]) {
            return false;
        }
        digits(&mut i);
    }
    if i < b.len() && b[i] == b'~' {
        i += 1;
        let start = i;
        while i < b.len() && matches!(b[i], b'0'..=b'9' | b'a'..=b'f') {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if v[i..].starts_with("-r") {
        i += 2;
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Starts with a letter or digit, then `[a-zA-Z0-9._+-]`.
pub fn valid_name(n: &str) -> bool {
    n.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openwrt_release_form_is_valid_and_the_ipk_form_is_not() {
        assert!(valid_version("0.1.0-r1"));
        assert!(valid_version("2.90-r4"));
        assert!(!valid_version("0.1.0-1"));
        assert!(!valid_version("0.1.0-r"));
        assert!(!valid_version(""));
    }

    #[test]
    fn letters_suffixes_and_hashes_in_their_places() {
        assert!(valid_version("1.2.3a_rc1_p2~0a1b-r10"));
        assert!(valid_version("1_alpha"));
        assert!(!valid_version("1_bogus"));
        assert!(!valid_version("1.2~"));
        assert!(!valid_version("1.2~XYZ"));
        assert!(!valid_version("a1"));
        assert!(!valid_version("1..2"));
    }

    #[test]
    fn names_start_alphanumeric() {
        assert!(valid_name("luci-app-camguard"));
        assert!(valid_name("libstdc++6"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
    }
}
