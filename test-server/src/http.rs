//! Minimal hand-rolled HTTP/1.1: reading and parsing a request head, percent
//! decoding, and writing responses (every response closes the connection).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Largest request head accepted (request line plus headers plus the blank line).
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// How long we keep draining a client after our response, so that closing
/// the socket with unread input does not turn into a RST that eats the response.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a request head could not be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The head grew past [`MAX_HEAD`] without a terminating blank line.
    TooLarge,
    /// The peer closed the connection before a complete head arrived.
    Closed,
    /// The peer took longer than [`HEAD_TIMEOUT`].
    Timeout,
    /// A socket error.
    Io(io::Error),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::TooLarge => write!(f, "request head larger than {MAX_HEAD} bytes"),
            HeadError::Closed => write!(f, "connection closed before the request head ended"),
            HeadError::Timeout => write!(f, "timed out waiting for the request head"),
            HeadError::Io(e) => write!(f, "i/o error reading the request head: {e}"),
        }
    }
}

/// Reads until the end of the request head (`\r\n\r\n`).
///
/// Returns the head (without the terminating blank line) and any bytes that
/// arrived after it (for a WebSocket these are the first frames).
pub(crate) async fn read_head(stream: &mut TcpStream) -> Result<(Vec<u8>, Vec<u8>), HeadError> {
    match timeout(HEAD_TIMEOUT, read_head_inner(stream)).await {
        Ok(r) => r,
        Err(_) => Err(HeadError::Timeout),
    }
}

async fn read_head_inner(stream: &mut TcpStream) -> Result<(Vec<u8>, Vec<u8>), HeadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let searched_from = buf.len().saturating_sub(3);
        let n = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = find_subslice(&buf[searched_from..], b"\r\n\r\n") {
            let end = searched_from + pos;
            if end + 4 > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let leftover = buf.split_off(end + 4);
            buf.truncate(end);
            return Ok((buf, leftover));
        }
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Reads a request body of `Content-Length` bytes (at most `max`), starting with the
/// bytes that arrived with the head. The error is the response to send instead.
pub(crate) async fn read_body(
    stream: &mut TcpStream,
    mut body: Vec<u8>,
    req: &Request,
    max: usize,
) -> Result<Vec<u8>, Response> {
    let len: usize = match req.header("content-length").map(|v| v.trim().parse()) {
        Some(Ok(len)) => len,
        Some(Err(_)) => return Err(Response::text(400, "bad Content-Length")),
        None => return Err(Response::text(411, "a body needs a Content-Length")),
    };
    if len > max {
        return Err(Response::text(413, format!("body larger than {max} bytes")));
    }
    let read = async {
        let mut chunk = [0u8; 8192];
        while body.len() < len {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
        Ok(body)
    };
    match timeout(HEAD_TIMEOUT, read).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(Response::text(400, format!("reading the body failed: {e}"))),
        Err(_) => Err(Response::text(400, "timed out reading the body")),
    }
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parsed request head.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The method, as sent (e.g. `GET`).
    pub method: String,
    /// The raw (still percent-encoded) path, without the query.
    pub raw_path: String,
    /// Percent-decoded path segments (the path without its leading `/`, split
    /// on `/` before decoding). A single trailing empty segment is removed
    /// unless it is the only one, so `/` gives `[""]` and `/echo/` gives `["echo"]`.
    pub segments: Vec<String>,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// Headers with lowercase names, in order (repeated headers kept).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header (name matched case-insensitively).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether any value of a comma-separated header contains `token`
    /// (case-insensitively).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a request head (as returned by [`read_head`]).
pub(crate) fn parse_head(head: &[u8]) -> Result<Request, &'static str> {
    let text = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8")?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or("empty request")?;
    let mut parts = request_line.split(' ').filter(|p| !p.is_empty());
    let method = parts.next().ok_or("missing method")?;
    let target = parts.next().ok_or("missing request target")?;
    let version = parts.next().ok_or("missing HTTP version")?;
    if parts.next().is_some() {
        return Err("malformed request line");
    }
    if !version.starts_with("HTTP/1.") {
        return Err("unsupported HTTP version");
    }
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err("malformed method");
    }

    // Accept absolute-form targets too (`http://host/path`).
    let origin_form = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else {
        target
    };
    if !origin_form.starts_with('/') {
        return Err("request target must start with '/'");
    }
    let origin_form = origin_form.split('#').next().unwrap_or(origin_form);
    let (raw_path, raw_query) = match origin_form.split_once('?') {
        Some((p, q)) => (p, q),
        None => (origin_form, ""),
    };

    let mut segments: Vec<String> = raw_path[1..]
        .split('/')
        .map(|s| percent_decode(s, false))
        .collect();
    if segments.len() > 1 && segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }

    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect();

    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or("malformed header line")?;
        let name = name.trim();
        if name.is_empty() || name.contains(' ') {
            return Err("malformed header name");
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }

    Ok(Request {
        method: method.to_string(),
        raw_path: raw_path.to_string(),
        segments,
        query,
        headers,
    })
}

/// Percent-decodes `s` (invalid escapes are kept literally; invalid UTF-8 is
/// replaced). With `plus_as_space`, `+` decodes to a space (query strings).
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP response to be written with `Connection: close`.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    cache: &'static str,
}

impl Response {
    /// An empty response with the given status.
    pub fn empty(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cache: "no-store",
        }
    }

    /// A plain-text response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        let mut body: String = body.into();
        body.push('\n');
        Response::empty(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body.into_bytes())
    }

    /// A JSON response with status 200 (500 if `value` cannot be serialised).
    pub fn json(value: &impl serde::Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::empty(200)
                .header("Content-Type", "application/json")
                .body(body),
            Err(e) => Response::text(500, format!("cannot serialise JSON: {e}")),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sends `Cache-Control: no-cache` instead of `no-store`: the browser may keep the
    /// response but must ask again before each use, so it is as fresh as with `no-store`
    /// (this server sends no validators), and a page served so may enter the back/forward
    /// cache, which Chromium refuses to a `no-store` page.
    pub fn revalidated(mut self) -> Self {
        self.cache = "no-cache";
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Serialises the response, adding `Content-Length`, `Connection: close`,
    /// CORS and `Cache-Control` headers (`no-store` unless [`Response::revalidated`]). With `head_only` the body is left out.
    pub fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        if self.status != 204 && self.status != 304 {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("Access-Control-Allow-Origin: *\r\n");
        out.push_str("Cache-Control: ");
        out.push_str(self.cache);
        out.push_str("\r\n");
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

/// The standard reason phrase for the status codes this server uses.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Writes `response` and closes the connection gracefully: shut down our
/// side, then drain what the client still sends (bounded in time) so the
/// kernel does not answer unread input with a RST that could destroy the
/// response before the client reads it.
pub(crate) async fn respond_and_close(mut stream: TcpStream, response: &Response, head_only: bool) {
    let bytes = response.to_bytes(head_only);
    if let Err(e) = stream.write_all(&bytes).await {
        crate::log(format_args!("writing response failed: {e}"));
        return;
    }
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
    let _ = timeout(DRAIN_TIMEOUT, async {
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while let Ok(n) = stream.read(&mut sink).await {
            total += n;
            if n == 0 || total > 1 << 20 {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(percent_decode("a%20b", false), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%C3%A9", false), "é");
        assert_eq!(percent_decode("%2F", false), "/");
    }

    #[test]
    fn parses_request() {
        let head = b"GET /close/4001/bye%20now?key=a%2Bb&x HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Protocol: a, b\r\nsec-websocket-protocol: c";
        let req = parse_head(head).expect("parses");
        assert_eq!(req.method, "GET");
        assert_eq!(req.segments, vec!["close", "4001", "bye now"]);
        assert_eq!(req.query_param("key"), Some("a+b"));
        assert_eq!(req.query_param("x"), Some(""));
        assert_eq!(req.header("HOST"), Some("h"));
        assert_eq!(
            req.header_values("Sec-WebSocket-Protocol")
                .collect::<Vec<_>>(),
            vec!["a, b", "c"]
        );
    }

    #[test]
    fn root_and_trailing_slash() {
        let req = parse_head(b"GET / HTTP/1.1").expect("parses");
        assert_eq!(req.segments, vec![""]);
        let req = parse_head(b"GET /echo/ HTTP/1.1").expect("parses");
        assert_eq!(req.segments, vec!["echo"]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_head(b"").is_err());
        assert!(parse_head(b"GET").is_err());
        assert!(parse_head(b"GET nopath HTTP/1.1").is_err());
        assert!(parse_head(b"GET / HTTP/1.1\r\nbad header").is_err());
        assert!(parse_head(&[0xff, 0xfe]).is_err());
    }
}
