//! HTTP/RTSP authentication for the default-password check: challenge parsing, Basic, and
//! Digest with MD5 (RFC 7616 §3.4, compatible with RFC 2617 and RFC 2069 servers).
//!
//! Written here rather than taken from a crate: the RustCrypto `md-5` crate pulls in `digest`,
//! `block-buffer`, `crypto-common`, `generic-array` and `typenum` for one 64-byte-block function,
//! and the HTTP auth crates bring an HTTP stack the router does not need. MD5 is about sixty
//! lines and is checked against RFC 1321's own test suite below. It is used only because
//! cameras speak it; nothing camguard stores is hashed with it.
//!
//! Everything parsed here came from a device on the LAN, possibly a hostile one: parsing never
//! panics, and a challenge whose values could break out of our request header (control
//! characters) is refused rather than echoed.
// What LAN devices send is parsed here: it must not be able to panic the daemon (probe/mod.rs).
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

/// MD5 of `data` (RFC 1321).
pub fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32), as RFC 1321 tabulates it.
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_le_bytes());
    for block in message.chunks_exact(64) {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            // RFC 1321 reads a block as little-endian words.
            *word = bytes.iter().rev().fold(0, |w, &b| (w << 8) | u32::from(b));
        }
        let [mut a, mut b, mut c, mut d] = state;
        for (i, (k, s)) in K.iter().zip(S).enumerate() {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            // g < 16: every arm above takes it modulo 16.
            let word = m.get(g).copied().unwrap_or(0);
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(*k)
                .wrapping_add(word)
                .rotate_left(s);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut out = [0u8; 16];
    for (o, b) in out
        .iter_mut()
        .zip(state.iter().flat_map(|s| s.to_le_bytes()))
    {
        *o = b;
    }
    out
}

/// Lower-case hex, as Digest writes hashes.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        // A nibble is always a hex digit.
        .map(|nibble| char::from_digit(u32::from(nibble), 16).unwrap_or('0'))
        .collect()
}

fn md5_hex(text: &str) -> String {
    hex(&md5(text.as_bytes()))
}

/// Standard base64 with padding (RFC 4648), for Basic credentials.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let [b0, b1, b2] = [0, 1, 2].map(|i| chunk.get(i).copied().unwrap_or(0));
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for i in 0..4 {
            if i <= chunk.len() {
                // Six bits index the 64 letters: always found.
                let sextet = (n >> (18 - 6 * i)) & 63;
                out.push(
                    ALPHABET
                        .get(sextet as usize)
                        .map_or('A', |&c| char::from(c)),
                );
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One challenge of a `WWW-Authenticate` header: its scheme and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lower case: "digest", "basic", …
    pub scheme: String,
    /// Parameter names in lower case, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
}

/// Parses the values of every `WWW-Authenticate` header of a response. One header may hold
/// several challenges (`Digest realm="x", nonce="y", Basic realm="x"`); a new challenge starts
/// where a comma-separated item is a token followed by a space and more text.
pub fn parse_challenges<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    for value in headers {
        for item in split_items(value) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (first, rest) = match item
                .find([' ', '\t'])
                .and_then(|i| item.split_at_checked(i))
            {
                Some((first, rest)) if !first.contains('=') => (first, rest.trim_start()),
                _ => ("", item),
            };
            if !first.is_empty() {
                out.push(Challenge {
                    scheme: first.to_ascii_lowercase(),
                    params: Vec::new(),
                });
                if rest.is_empty() {
                    continue;
                }
            } else if !rest.contains('=') {
                // A bare scheme ("Basic") or a token68 we do not use.
                if is_token(rest) {
                    out.push(Challenge {
                        scheme: rest.to_ascii_lowercase(),
                        params: Vec::new(),
                    });
                }
                continue;
            }
            if let (Some(challenge), Some((k, v))) = (out.last_mut(), param(rest)) {
                challenge.params.push((k, v));
            }
        }
    }
    out
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits at commas outside quoted strings.
fn split_items(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.extend(value.get(start..i));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.extend(value.get(start..));
    items
}

/// `name=value` or `name="quoted \" value"`.
fn param(item: &str) -> Option<(String, String)> {
    let (k, v) = item.split_once('=')?;
    let k = k.trim().to_ascii_lowercase();
    if !is_token(&k) {
        return None;
    }
    let v = v.trim();
    let value = match v.strip_prefix('"') {
        Some(inner) => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    '"' => break,
                    c => out.push(c),
                }
            }
            out
        }
        None => v.to_owned(),
    };
    Some((k, value))
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// SHA-256 and other Digest algorithms: not implemented (cameras answer MD5).
    Algorithm(String),
    /// qop values other than auth/auth-int.
    Qop(String),
    /// A realm, nonce or opaque with control characters or quotes we could not echo safely.
    UnsafeValue,
    /// No nonce in a Digest challenge.
    NoNonce,
    Scheme(String),
}

/// What the answer to a challenge needs besides the challenge itself.
pub struct Request<'a> {
    /// "GET", "DESCRIBE".
    pub method: &'a str,
    /// The request target exactly as in the request line.
    pub uri: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    /// Client nonce (hex), fresh for each answer.
    pub cnonce: &'a str,
}

/// A value that came from the device and goes back into our header inside quotes: it must not
/// end the quotes or the header line.
fn safe_to_echo(v: &str) -> bool {
    !v.chars().any(|c| c.is_control() || c == '"' || c == '\\')
}

/// The `Authorization` header value answering `challenge`.
pub fn authorization(challenge: &Challenge, req: &Request) -> Result<String, Unsupported> {
    match challenge.scheme.as_str() {
        "basic" => Ok(format!(
            "Basic {}",
            base64(format!("{}:{}", req.user, req.password).as_bytes())
        )),
        "digest" => digest(challenge, req),
        other => Err(Unsupported::Scheme(other.to_owned())),
    }
}

fn digest(ch: &Challenge, req: &Request) -> Result<String, Unsupported> {
    let realm = ch.realm().unwrap_or("");
    let nonce = ch.param("nonce").ok_or(Unsupported::NoNonce)?;
    let opaque = ch.param("opaque");
    if ![realm, nonce, opaque.unwrap_or("")]
        .iter()
        .all(|v| safe_to_echo(v))
    {
        return Err(Unsupported::UnsafeValue);
    }
    let algorithm = ch.param("algorithm").unwrap_or("MD5");
    let sess = match algorithm.to_ascii_uppercase().as_str() {
        "MD5" => false,
        "MD5-SESS" => true,
        _ => return Err(Unsupported::Algorithm(algorithm.to_owned())),
    };
    // qop is a list; prefer auth, accept auth-int (our requests have no body).
    let qop = match ch.param("qop") {
        None => None,
        Some(list) => {
            let offered: Vec<String> = list
                .split(',')
                .map(|q| q.trim().to_ascii_lowercase())
                .collect();
            if offered.iter().any(|q| q == "auth") {
                Some("auth")
            } else if offered.iter().any(|q| q == "auth-int") {
                Some("auth-int")
            } else {
                return Err(Unsupported::Qop(list.to_owned()));
            }
        }
    };
    let nc = "00000001";
    let mut ha1 = md5_hex(&format!("{}:{realm}:{}", req.user, req.password));
    if sess {
        ha1 = md5_hex(&format!("{ha1}:{nonce}:{}", req.cnonce));
    }
    let ha2 = match qop {
        Some("auth-int") => md5_hex(&format!("{}:{}:{}", req.method, req.uri, md5_hex(""))),
        _ => md5_hex(&format!("{}:{}", req.method, req.uri)),
    };
    let response = match qop {
        Some(q) => md5_hex(&format!("{ha1}:{nonce}:{nc}:{}:{q}:{ha2}", req.cnonce)),
        None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    };
    let mut header = format!(
        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{}\", response=\"{response}\"",
        req.user, req.uri
    );
    if ch.param("algorithm").is_some() {
        header.push_str(&format!(", algorithm={algorithm}"));
    }
    if let Some(q) = qop {
        header.push_str(&format!(", qop={q}, nc={nc}, cnonce=\"{}\"", req.cnonce));
    }
    if let Some(o) = opaque {
        header.push_str(&format!(", opaque=\"{o}\""));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_the_rfc_1321_test_suite() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(md5_hex(input), want, "{input:?}");
        }
        // Lengths around the 56-byte padding boundary.
        assert_eq!(md5_hex(&"a".repeat(55)), "ef1772b6dff9a122358552954ad0df65");
        assert_eq!(md5_hex(&"a".repeat(56)), "3b0c8ac703f828b04c6c197006d17218");
        assert_eq!(md5_hex(&"a".repeat(64)), "014842d480b571495a4a0363793f7367");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn rfc_2617_example_response() {
        // RFC 2617 §3.5.
        let ch = &parse_challenges([
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        ])[0];
        let header = authorization(
            ch,
            &Request {
                method: "GET",
                uri: "/dir/index.html",
                user: "Mufasa",
                password: "Circle Of Life",
                cnonce: "0a4f113b",
            },
        )
        .unwrap();
        assert!(
            header.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{header}"
        );
        assert!(header.contains("qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
        assert!(header.ends_with("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn rfc_7616_md5_example_response() {
        // RFC 7616 §3.9.1, the MD5 half.
        let ch = &parse_challenges([
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
        ])[0];
        let header = authorization(
            ch,
            &Request {
                method: "GET",
                uri: "/dir/index.html",
                user: "Mufasa",
                password: "Circle of Life",
                cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            },
        )
        .unwrap();
        assert!(
            header.contains("response=\"8ca523f5e9506fed4657c9700eebdbec\""),
            "{header}"
        );
        assert!(header.contains("algorithm=MD5"));
    }

    #[test]
    fn rfc_2069_style_challenge_without_qop() {
        let ch = &parse_challenges(["Digest realm=\"Login to 4K049EBPAG1D7E7\", nonce=\"abc\""])[0];
        let header = authorization(
            ch,
            &Request {
                method: "DESCRIBE",
                uri: "rtsp://10.0.0.2:554/",
                user: "admin",
                password: "x",
                cnonce: "00",
            },
        )
        .unwrap();
        let ha1 = md5_hex("admin:Login to 4K049EBPAG1D7E7:x");
        let ha2 = md5_hex("DESCRIBE:rtsp://10.0.0.2:554/");
        let want = md5_hex(&format!("{ha1}:abc:{ha2}"));
        assert!(header.contains(&format!("response=\"{want}\"")));
        assert!(!header.contains("qop="));
    }

    #[test]
    fn several_challenges_in_one_header_and_across_headers() {
        let got = parse_challenges([
            "Digest realm=\"a, b\", nonce=\"n\", qop=\"auth\", Basic realm=\"a\"",
            "Negotiate",
        ]);
        let schemes: Vec<&str> = got.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["digest", "basic", "negotiate"]);
        assert_eq!(got[0].realm(), Some("a, b"));
        assert_eq!(got[0].param("qop"), Some("auth"));
        assert_eq!(got[1].realm(), Some("a"));
    }

    #[test]
    fn hostile_challenges_never_panic_and_are_not_echoed() {
        let req = Request {
            method: "GET",
            uri: "/",
            user: "admin",
            password: "",
            cnonce: "00",
        };
        let injected = &parse_challenges(["Digest realm=\"x\r\nX-Evil: 1\", nonce=\"n\""])[0];
        assert_eq!(authorization(injected, &req), Err(Unsupported::UnsafeValue));
        let sha = &parse_challenges(["Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256"])[0];
        assert!(matches!(
            authorization(sha, &req),
            Err(Unsupported::Algorithm(_))
        ));
        for junk in [
            "",
            ",,,",
            "=",
            "\"",
            "Digest",
            "Digest ,",
            "Digest realm",
            "Digest realm=\"",
            "Digest realm=\"\\",
            "é=\"ü\", ",
            "Digest  nonce=\"\u{202e}\"",
        ] {
            for ch in parse_challenges([junk]) {
                let _ = authorization(&ch, &req);
            }
        }
    }
}
