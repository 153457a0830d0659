//! Strings that a LAN device controls.
//!
//! Any host on the LAN chooses its DHCP hostname and the description of its UPnP mappings
//! (miniupnpd stores `NewPortMappingDescription` verbatim, CDATA included; versions before 2.3.11
//! even keep CR/LF). These strings reach the terminal, JSON, ubus (blobmsg strings are C strings)
//! and LuCI. They are cleaned once, where they enter camguard, so that no later layer can forget:
//! invalid UTF-8 becomes U+FFFD, every control character becomes a visible `\xNN` escape,
//! every bidirectional control (which would reorder the sentence a finding quotes it in) a
//! visible `\u{202e}` escape (a backslash becomes `\\`, so the escapes stay unambiguous), and
//! the length is bounded.
// Cleans what LAN devices send: it must not be able to panic the daemon (probe/mod.rs).
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

/// Longest cleaned string, in characters (miniupnpd's own lease line buffer is 320 bytes).
pub const LAN_TEXT_MAX_CHARS: usize = 256;

/// Cleans bytes that came from a LAN device. Never fails, never panics.
pub fn lan_text(raw: &[u8]) -> String {
    let decoded = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(decoded.len().min(LAN_TEXT_MAX_CHARS * 4));
    for (count, c) in decoded.chars().enumerate() {
        if count == LAN_TEXT_MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                use std::fmt::Write;
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_bidi_control(c) => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Longest string [`lan_text`] returns, in characters: each kept character escaped to at most
/// eight (`\\u{202e}`), and the ellipsis.
pub const LAN_TEXT_MAX_CLEANED: usize = LAN_TEXT_MAX_CHARS * 8 + 1;

/// A string camguard cleaned and wrote to its own state file, read back: the file may have been
/// edited or damaged since, so what is no longer clean is cleaned again. A clean string comes
/// back unchanged ([`lan_text`] would double its backslashes).
pub fn lan_text_reloaded(saved: &str) -> String {
    let clean = saved.chars().count() <= LAN_TEXT_MAX_CLEANED
        && !saved.chars().any(|c| c.is_control() || is_bidi_control(c));
    if clean {
        saved.to_owned()
    } else {
        lan_text(saved.as_bytes())
    }
}

/// Characters that change the display direction of the text after them (UAX #9 explicit
/// formatting characters and marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(
            lan_text(b"cam\x1b[31mred\r\nX"),
            "cam\\x1b[31mred\\x0d\\x0aX"
        );
        assert_eq!(lan_text(b"a\0b"), "a\\x00b");
        assert_eq!(lan_text("c1\u{85}".as_bytes()), "c1\\x85");
    }

    #[test]
    fn bidi_controls_become_visible_escapes() {
        assert_eq!(
            lan_text("cam\u{202e}gpj.exe".as_bytes()),
            "cam\\u{202e}gpj.exe"
        );
        assert_eq!(
            lan_text("a\u{2066}b\u{2069}".as_bytes()),
            "a\\u{2066}b\\u{2069}"
        );
    }

    #[test]
    fn backslash_is_escaped_so_escapes_are_unambiguous() {
        assert_eq!(lan_text(b"a\\x1bb"), "a\\\\x1bb");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        assert_eq!(lan_text(b"ok\xff\xfeend"), "ok\u{fffd}\u{fffd}end");
    }

    #[test]
    fn length_is_bounded() {
        let long = vec![b'a'; 10_000];
        let cleaned = lan_text(&long);
        assert_eq!(cleaned.chars().count(), LAN_TEXT_MAX_CHARS + 1);
        assert!(cleaned.ends_with('…'));
    }

    #[test]
    fn reloaded_strings_stay_as_cleaned_or_are_cleaned_again() {
        for raw in [
            &b"cam\x1b[2J\\x"[..],
            "a\u{202e}b".as_bytes(),
            &[b'z'; 5000],
        ] {
            let cleaned = lan_text(raw);
            assert_eq!(lan_text_reloaded(&cleaned), cleaned);
        }
        let edited = "cam\x1b]0;x\x07\u{2066}";
        let again = lan_text_reloaded(edited);
        assert!(
            !again.chars().any(|c| c.is_control() || is_bidi_control(c)),
            "{again}"
        );
        assert!(lan_text_reloaded(&"y".repeat(LAN_TEXT_MAX_CLEANED + 1)).ends_with('…'));
    }

    #[test]
    fn markup_is_kept_as_text() {
        // HTML is not a control character: it is data, and every renderer inserts it as text.
        assert_eq!(
            lan_text(b"<img src=x onerror=alert(1)>"),
            "<img src=x onerror=alert(1)>"
        );
    }
}
