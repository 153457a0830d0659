//! Talking to a LAN device over TCP, boundedly: one request out, one response in.
//!
//! A hostile camera may answer anything, slowly, forever. So every exchange has one deadline
//! for the whole response (not per read: a device dripping a byte a second must not keep a
//! connection open for hours), reads at most [`MAX_RESPONSE`] bytes, and parsing never panics.
//! HTTP and RTSP share the message format (RFC 2326 borrows HTTP/1.1's), so one reader serves
//! both.
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
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::digest::{parse_challenges, Challenge};
use crate::text::lan_text;

/// Most bytes read from one response, head and body together.
pub const MAX_RESPONSE: usize = 16 * 1024;

/// Opens a TCP connection with a connect timeout.
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends `request` and reads one response, all within `within`. The response ends at the
/// length its head announces (Content-Length; no length on an RTSP response means no body), at
/// end of stream, at [`MAX_RESPONSE`] bytes or at the deadline, whichever comes first. Returns
/// whether the connection can carry another request (a whole, length-delimited response).
pub fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    within: Duration,
) -> io::Result<(Vec<u8>, bool)> {
    let deadline = Instant::now() + within;
    stream.set_write_timeout(Some(within))?;
    stream.write_all(request)?;
    read_response(stream, deadline)
}

fn read_response(stream: &mut TcpStream, deadline: Instant) -> io::Result<(Vec<u8>, bool)> {
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = message_end(&buf) {
            buf.truncate(end);
            return Ok((buf, true));
        }
        if buf.len() >= MAX_RESPONSE {
            buf.truncate(MAX_RESPONSE);
            return Ok((buf, false));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return finish_short(buf, io::ErrorKind::TimedOut);
        }
        stream.set_read_timeout(Some(left))?;
        let want = chunk.len().min(MAX_RESPONSE - buf.len());
        match Read::by_ref(stream).take(want as u64).read(&mut chunk) {
            Ok(0) => return finish_short(buf, io::ErrorKind::UnexpectedEof),
            Ok(n) => buf.extend(chunk.iter().take(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return finish_short(buf, io::ErrorKind::TimedOut)
            }
            Err(e) => return Err(e),
        }
    }
}

/// A response cut short: usable when at least its head arrived (an HTTP/1.0 body runs to end
/// of stream); an error otherwise.
fn finish_short(buf: Vec<u8>, kind: io::ErrorKind) -> io::Result<(Vec<u8>, bool)> {
    if head_end(&buf).is_some() || (kind == io::ErrorKind::UnexpectedEof && !buf.is_empty()) {
        Ok((buf, false))
    } else {
        Err(io::Error::new(
            kind,
            if kind == io::ErrorKind::TimedOut {
                "the device did not answer in time"
            } else {
                "the device closed the connection without answering"
            },
        ))
    }
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Where a complete message ends, if it is complete and says how long it is.
fn message_end(buf: &[u8]) -> Option<usize> {
    let head = head_end(buf)?;
    let parsed = Response::parse(buf.get(..head)?)?;
    let body = match parsed.header("content-length") {
        Some(len) => len.trim().parse::<usize>().ok()?,
        // RTSP: no Content-Length means no body (RFC 2326 §12.14). HTTP: read to the end.
        None if parsed.protocol.starts_with("RTSP/") => 0,
        None if parsed.status == 204 || parsed.status == 304 || parsed.status < 200 => 0,
        None => return None,
    };
    let end = head.checked_add(body)?;
    (buf.len() >= end).then_some(end)
}

/// A parsed response head plus as much of the body as was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// "HTTP/1.1", "RTSP/1.0".
    pub protocol: String,
    pub status: u16,
    /// Header names in lower case; values raw (callers clean what they show).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Parses a response; None when it does not start with an HTTP or RTSP status line.
    pub fn parse(bytes: &[u8]) -> Option<Response> {
        let (head, body) = head_end(bytes)
            .and_then(|end| bytes.split_at_checked(end))
            .unwrap_or((bytes, &[]));
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let status_line = lines.next()?;
        let mut parts = status_line.splitn(3, ' ');
        let protocol = parts.next()?;
        if !(protocol.starts_with("HTTP/") || protocol.starts_with("RTSP/")) {
            return None;
        }
        let status: u16 = parts.next()?.trim().parse().ok()?;
        if !(100..=999).contains(&status) {
            return None;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Some(Response {
            protocol: protocol.to_owned(),
            status,
            headers,
            body: body.to_vec(),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every challenge of every `WWW-Authenticate` header.
    pub fn challenges(&self) -> Vec<Challenge> {
        parse_challenges(
            self.headers
                .iter()
                .filter(|(k, _)| k == "www-authenticate")
                .map(|(_, v)| v.as_str()),
        )
    }

    /// The `Server` header, cleaned for showing.
    pub fn server(&self) -> Option<String> {
        self.header("server")
            .filter(|s| !s.is_empty())
            .map(|s| lan_text(s.as_bytes()))
    }

    pub fn is_rtsp(&self) -> bool {
        self.protocol.starts_with("RTSP/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_messages_end_where_their_length_says() {
        let m = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        assert_eq!(message_end(m), Some(m.len() - 5));
        let rtsp = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n";
        assert_eq!(message_end(rtsp), Some(rtsp.len()));
        assert_eq!(message_end(b"HTTP/1.0 200 OK\r\n\r\nbody to eof"), None);
        assert_eq!(
            message_end(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            None
        );
    }

    #[test]
    fn parses_heads_and_refuses_non_http() {
        let r = Response::parse(
            b"HTTP/1.1 401 Unauthorized\r\nServer: App-webs/\r\nWWW-Authenticate: Digest realm=\"IP Camera(A1)\", nonce=\"n\"\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n<x/>",
        )
        .unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.server().as_deref(), Some("App-webs/"));
        assert_eq!(r.challenges().len(), 2);
        assert_eq!(r.body, b"<x/>");
        assert!(Response::parse(b"SSH-2.0-dropbear\r\n").is_none());
        assert!(Response::parse(b"HTTP/1.1 abc\r\n\r\n").is_none());
        assert!(Response::parse(b"HTTP/1.1 99999 x\r\n\r\n").is_none());
        assert!(Response::parse(b"").is_none());
    }

    #[test]
    fn control_characters_in_server_are_escaped() {
        let r = Response::parse(b"HTTP/1.1 200 OK\r\nServer: cam\x1b[2J\r\n\r\n").unwrap();
        assert_eq!(r.server().as_deref(), Some("cam\\x1b[2J"));
    }
}
