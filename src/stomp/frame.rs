//! The STOMP 1.2 frame codec: pure, no IO, host-testable.
//!
//! A frame is a command line, header lines, a blank line, the body and a NUL byte
//! ([spec](https://stomp.github.io/stomp-specification-1.2.html#STOMP_Frames)). Lines end
//! with `\n` or `\r\n`. Header names and values escape `\r`, `\n`, `:` and `\` as `\r`,
//! `\n`, `\c`, `\\`, except in `CONNECT` and `CONNECTED` frames. A `content-length` header
//! gives the body's size, so the body may contain NUL bytes; without one the body ends at
//! the first NUL. Between frames any number of EOLs may appear: they are heart-beats.
//!
//! Over WebSocket a message usually carries one frame, but brokers may put several in one
//! message or split one across messages; [`Decoder`] takes message payloads as they come
//! and yields whole frames.

use std::fmt;

/// Frames and header sections larger than this are refused as malformed, so a broker (or
/// a corrupt stream) cannot make the decoder buffer without limit.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// The longest command line plus headers accepted.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// One STOMP frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// The command, e.g. `"SEND"` or `"MESSAGE"`.
    pub command: String,
    /// The headers in wire order, unescaped. A name may repeat; the first one counts
    /// ([spec](https://stomp.github.io/stomp-specification-1.2.html#Repeated_Header_Entries)).
    pub headers: Vec<(String, String)>,
    /// The body, as bytes.
    pub body: Vec<u8>,
}

/// Why bytes could not be decoded as a STOMP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed STOMP frame: {}", self.0)
    }
}

impl std::error::Error for FrameError {}

fn err<T>(what: impl Into<String>) -> Result<T, FrameError> {
    Err(FrameError(what.into()))
}

/// Whether a command's headers are escaped: all but the two of the connection handshake,
/// for compatibility with STOMP 1.0.
fn escapes(command: &str) -> bool {
    command != "CONNECT" && command != "CONNECTED"
}

impl Frame {
    /// A frame with this command, no headers and no body.
    pub fn new(command: impl Into<String>) -> Self {
        Frame {
            command: command.into(),
            ..Frame::default()
        }
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The wire form of the frame, ending with NUL.
    ///
    /// Any `content-length` among the headers is dropped and the body's real length
    /// written instead (when the body is not empty), so a body may hold NUL bytes. In
    /// `CONNECT`/`CONNECTED` frames headers are written as they are: they must not contain
    /// `\r` or `\n`, and names no `:`; and no header anywhere may hold NUL (see
    /// [`Frame::check`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.command.len() + self.body.len() + 64);
        out.extend_from_slice(self.command.as_bytes());
        out.push(b'\n');
        let escape = escapes(&self.command);
        for (name, value) in &self.headers {
            if name == "content-length" {
                continue;
            }
            push_header_part(&mut out, name, escape);
            out.push(b':');
            push_header_part(&mut out, value, escape);
            out.push(b'\n');
        }
        if !self.body.is_empty() {
            out.extend_from_slice(format!("content-length:{}\n", self.body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
        out
    }

    /// Whether [`encode`](Frame::encode) writes this frame's headers as they are meant to
    /// be read: `Err` names the first header that it cannot. No header may hold NUL, which
    /// ends a frame and has no escape: a value with one would cut the frame short and let
    /// the rest be read as another frame. In `CONNECT`/`CONNECTED`, whose headers are not
    /// escaped, no header may hold `\r` or `\n` either, nor a name `:`.
    /// The command must be one line, not empty, without NUL.
    pub fn check(&self) -> Result<(), FrameError> {
        if self.command.is_empty() || self.command.contains(['\r', '\n', '\0']) {
            return err(format!(
                "the command {:?} is not one line of text",
                self.command
            ));
        }
        let escaped = escapes(&self.command);
        for (name, value) in &self.headers {
            if name.contains('\0') || value.contains('\0') {
                return err(format!(
                    "header {name:?} holds a NUL character, which ends a STOMP frame"
                ));
            }
            if !escaped && (name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n'])) {
                return err(format!(
                    "header {name:?} cannot be sent unescaped in {}",
                    self.command
                ));
            }
        }
        Ok(())
    }
}

fn push_header_part(out: &mut Vec<u8>, s: &str, escape: bool) {
    if !escape {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        match b {
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b':' => out.extend_from_slice(b"\\c"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
}

fn unescape(raw: &[u8], escape: bool) -> Result<String, FrameError> {
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(_) => return err("a header is not UTF-8"),
    };
    if !escape {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some(other) => return err(format!("undefined escape \\{other} in a header")),
            None => return err("a header ends with a lone backslash"),
        }
    }
    Ok(out)
}

/// Turns WebSocket message payloads into frames: [`push`](Decoder::push) the bytes of
/// each message (text or binary), then take frames with [`next_frame`](Decoder::next_frame)
/// until it returns `None`.
///
/// Heart-beat EOLs between frames are skipped and counted; a frame split across messages
/// waits for its rest; several frames in one message come out one by one. After an error
/// the stream cannot be trusted: call [`reset`](Decoder::reset) (e.g. with a new
/// connection).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start.
    start: usize,
    /// How many bytes from `start` have been looked at for the end of a frame without
    /// `content-length` whose headers are complete: a body that comes in many pieces is
    /// scanned once, not once per piece. 0 between frames.
    searched: usize,
    heart_beats: u64,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Appends the payload of one WebSocket message.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Forgets everything buffered, e.g. when a new connection starts.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.searched = 0;
    }

    /// How many heart-beat EOLs were skipped so far.
    pub fn heart_beats(&self) -> u64 {
        self.heart_beats
    }

    /// Bytes buffered that are not yet part of a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole frame, `None` if more bytes are needed, or an error for bytes that
    /// are no STOMP frame.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        self.skip_eols();
        match parse(&self.buf[self.start..], &mut self.searched) {
            Ok(Some((frame, used))) => {
                self.searched = 0;
                self.start += used;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                } else if self.start > 4096 && self.start * 2 > self.buf.len() {
                    self.buf.drain(..self.start);
                    self.start = 0;
                }
                Some(Ok(frame))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn skip_eols(&mut self) {
        // Only between frames: within one, `searched` counts from its start.
        if self.searched > 0 {
            return;
        }
        loop {
            match &self.buf[self.start..] {
                [b'\n', ..] => self.start += 1,
                [b'\r', b'\n', ..] => self.start += 2,
                _ => break,
            }
            self.heart_beats += 1;
        }
    }
}

/// Finds the end of the line starting at `from`: (index of the line's last content byte + 1,
/// index after the EOL).
fn line_end(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let nl = bytes[from..].iter().position(|&b| b == b'\n')? + from;
    let end = if nl > from && bytes[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    Some((end, nl + 1))
}

/// The command and headers of the first frame in `bytes` (after any heart-beat EOLs),
/// without its body; `None` if they are incomplete or no STOMP. For looking at frames this
/// client encoded itself without copying their bodies.
pub(crate) fn peek_head(mut bytes: &[u8]) -> Option<(String, Vec<(String, String)>)> {
    while let [b'\n', rest @ ..] | [b'\r', b'\n', rest @ ..] = bytes {
        bytes = rest;
    }
    match parse_head(bytes) {
        Ok(Some((command, headers, _))) => Some((command, headers)),
        _ => None,
    }
}

/// Parses the command line and headers at the start of `bytes` (no leading EOLs): them and
/// where the body starts, or `None` if they are not complete yet.
#[allow(clippy::type_complexity)]
fn parse_head(bytes: &[u8]) -> Result<Option<(String, Vec<(String, String)>, usize)>, FrameError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let Some((cmd_end, mut pos)) = line_end(bytes, 0) else {
        return if bytes.len() > MAX_HEADER_BYTES {
            err("no end of the command line")
        } else {
            Ok(None)
        };
    };
    let command = match std::str::from_utf8(&bytes[..cmd_end]) {
        Ok(c) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphabetic()) => c.to_owned(),
        _ => {
            let shown = String::from_utf8_lossy(&bytes[..cmd_end.min(40)]).into_owned();
            return err(format!("bad command line {shown:?}"));
        }
    };
    let escape = escapes(&command);
    let mut headers = Vec::new();
    loop {
        let Some((end, next)) = line_end(bytes, pos) else {
            return if bytes.len() > MAX_HEADER_BYTES {
                err("the headers are too long")
            } else {
                Ok(None)
            };
        };
        if next > MAX_HEADER_BYTES {
            return err("the headers are too long");
        }
        let line = &bytes[pos..end];
        pos = next;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
            return err(format!("header line without a colon: {shown:?}"));
        };
        headers.push((
            unescape(&line[..colon], escape)?,
            unescape(&line[colon + 1..], escape)?,
        ));
    }
    Ok(Some((command, headers, pos)))
}

/// Parses one frame at the start of `bytes` (no leading EOLs): the frame and how many bytes
/// it took, or `None` if it is not complete yet. The first `searched` bytes were looked at
/// for the body's end before: the search goes on after them, and `searched` says how far
/// it got when it is still not found.
fn parse(bytes: &[u8], searched: &mut usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some((command, headers, pos)) = parse_head(bytes)? else {
        return Ok(None);
    };
    let length = match headers.iter().find(|(n, _)| n == "content-length") {
        Some((_, v)) => match v.trim().parse::<usize>() {
            Ok(n) if n <= MAX_FRAME_BYTES => Some(n),
            Ok(n) => return err(format!("content-length {n} is above the limit")),
            Err(_) => return err(format!("bad content-length {v:?}")),
        },
        None => None,
    };
    let body_end = match length {
        Some(n) => {
            let end = pos + n;
            if bytes.len() <= end {
                return Ok(None);
            }
            if bytes[end] != 0 {
                return err("the body is not followed by NUL where content-length says");
            }
            end
        }
        None => match bytes[pos.max(*searched)..].iter().position(|&b| b == 0) {
            Some(i) => pos.max(*searched) + i,
            None if bytes.len() - pos > MAX_FRAME_BYTES => {
                return err("the body is above the limit")
            }
            None => {
                *searched = bytes.len();
                return Ok(None);
            }
        },
    };
    let frame = Frame {
        command,
        headers,
        body: bytes[pos..body_end].to_vec(),
    };
    Ok(Some((frame, body_end + 1)))
}

/// Decodes `bytes` holding whole frames (and heart-beats) only; for tests and one-shot use.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let mut decoder = Decoder::new();
    decoder.push(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame() {
        frames.push(frame?);
    }
    if decoder.pending() > 0 {
        return err("incomplete frame at the end");
    }
    Ok(frames)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn without_length(mut f: Frame) -> Frame {
        f.headers.retain(|(n, _)| n != "content-length");
        f
    }

    // The examples of the STOMP 1.2 specification.
    #[test]
    fn spec_connect_and_connected() {
        let connect = b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0";
        let frames = decode_all(connect).unwrap();
        assert_eq!(
            frames,
            vec![Frame::new("CONNECT")
                .header("accept-version", "1.2")
                .header("host", "stomp.github.org")]
        );
        assert_eq!(frames[0].encode(), connect);
        let connected = decode_all(b"CONNECTED\nversion:1.2\n\n\0").unwrap();
        assert_eq!(connected[0].get("version"), Some("1.2"));
    }

    #[test]
    fn spec_send_and_message() {
        let send = b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0";
        let f = &decode_all(send).unwrap()[0];
        assert_eq!(f.command, "SEND");
        assert_eq!(f.get("destination"), Some("/queue/a"));
        assert_eq!(f.body, b"hello queue a\n");
        let message = b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0";
        let f = &decode_all(message).unwrap()[0];
        assert_eq!(f.get("message-id"), Some("007"));
        assert_eq!(f.body, b"hello queue a");
    }

    #[test]
    fn spec_error_with_content_length() {
        let error = b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:170\nmessage:malformed frame received\n\nThe message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\nfor message propagation.\n\0";
        let f = &decode_all(error).unwrap()[0];
        assert_eq!(f.command, "ERROR");
        assert_eq!(f.get("message"), Some("malformed frame received"));
        assert_eq!(f.body.len(), 170);
    }

    #[test]
    fn spec_subscribe_ack_receipt() {
        let frames = decode_all(
            b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0\
              ACK\nid:12345\ntransaction:tx1\n\n\0\
              RECEIPT\nreceipt-id:77\n\n\0",
        )
        .unwrap();
        let commands: Vec<_> = frames.iter().map(|f| f.command.as_str()).collect();
        assert_eq!(commands, ["SUBSCRIBE", "ACK", "RECEIPT"]);
        assert_eq!(frames[1].get("transaction"), Some("tx1"));
        assert_eq!(frames[2].get("receipt-id"), Some("77"));
    }

    #[test]
    fn escaping_and_its_exemption() {
        let f = Frame::new("SEND").header("a:b", "line1\nline2\r\\");
        let wire = f.encode();
        assert!(wire.starts_with(b"SEND\na\\cb:line1\\nline2\\r\\\\\n\n\0"));
        assert_eq!(decode_all(&wire).unwrap(), vec![f]);
        // CONNECTED is not unescaped: a backslash stays a backslash.
        let f = &decode_all(b"CONNECTED\nserver:a\\b\n\n\0").unwrap()[0];
        assert_eq!(f.get("server"), Some("a\\b"));
        // A value may hold colons; only the first separates.
        let f = &decode_all(b"CONNECTED\nsession:a:b:c\n\n\0").unwrap()[0];
        assert_eq!(f.get("session"), Some("a:b:c"));
        assert!(decode_all(b"MESSAGE\nx:\\t\n\n\0").is_err());
        assert!(decode_all(b"MESSAGE\nx:\\\n\n\0").is_err());
    }

    #[test]
    fn repeated_headers_first_wins() {
        let f = &decode_all(b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0").unwrap()[0];
        assert_eq!(f.get("foo"), Some("World"));
        assert_eq!(f.headers.len(), 2);
    }

    #[test]
    fn heart_beats_crlf_and_trailing_eols() {
        let mut d = Decoder::new();
        d.push(b"\n\r\n\n");
        assert!(d.next_frame().is_none());
        assert_eq!(d.heart_beats(), 3);
        d.push(b"RECEIPT\r\nreceipt-id:1\r\n\r\n\0\n");
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.get("receipt-id"), Some("1"));
        assert!(d.next_frame().is_none());
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn content_length_allows_nul_in_body() {
        let f = Frame::new("SEND").body(vec![1, 0, 2, 0]);
        let wire = f.encode();
        let back = &decode_all(&wire).unwrap()[0];
        assert_eq!(back.body, vec![1, 0, 2, 0]);
        assert_eq!(back.get("content-length"), Some("4"));
        assert!(decode_all(b"SEND\ncontent-length:1\n\nab\0").is_err());
        assert!(decode_all(b"SEND\ncontent-length:x\n\na\0").is_err());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &b"\0"[..],
            b"SE ND\n\n\0",
            b"SEND\nno colon\n\n\0",
            b"SEND\n\xff:x\n\n\0",
            b":\n\n\0",
        ] {
            assert!(decode_all(bad).is_err(), "{bad:?}");
        }
        let mut d = Decoder::new();
        d.push(&vec![b'A'; MAX_HEADER_BYTES + 1]);
        assert!(d.next_frame().unwrap().is_err());
    }

    #[test]
    fn check_refuses_a_nul_anywhere_and_a_bad_command() {
        let send = Frame::new("SEND").header("destination", "/queue/a");
        assert!(send.check().is_ok());
        let e = send.clone().header("note", "x\0ACK").check().unwrap_err();
        assert!(e.0.contains("\"note\"") && e.0.contains("NUL"), "{e}");
        assert!(send.clone().header("x\0", "1").check().is_err());
        assert!(Frame::new("CONNECT")
            .header("login", "a\0b")
            .check()
            .is_err());
        assert!(Frame::new("CONNECT")
            .header("login", "a\nb")
            .check()
            .is_err());
        assert!(
            Frame::new("SEND").header("login", "a\nb").check().is_ok(),
            "escaped"
        );
        for command in ["", "SEND\nX", "SEND\0"] {
            assert!(Frame::new(command).check().is_err(), "{command:?}");
        }
    }

    fn header_text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-z:\\\\\r\n é-]{0,12}").unwrap()
    }

    fn frame() -> impl Strategy<Value = Frame> {
        (
            prop::sample::select(vec!["SEND", "MESSAGE", "ERROR", "RECEIPT", "ACK"]),
            prop::collection::vec((header_text(), header_text()), 0..5),
            prop::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(command, headers, body)| Frame {
                command: command.to_owned(),
                headers: headers
                    .into_iter()
                    .filter(|(n, _)| n != "content-length")
                    .collect(),
                body,
            })
    }

    proptest! {
        #[test]
        fn round_trip(f in frame()) {
            let back = decode_all(&f.encode()).unwrap();
            prop_assert_eq!(back.len(), 1);
            prop_assert_eq!(without_length(back[0].clone()), f);
        }

        #[test]
        fn a_frame_that_passes_check_round_trips_and_only_nul_or_unescapable_text_fails(
            command in prop::sample::select(vec!["SEND", "SUBSCRIBE", "CONNECT"]),
            headers in prop::collection::vec(
                (
                    proptest::string::string_regex("[a-z:\r\n\0-]{0,6}").unwrap(),
                    proptest::string::string_regex("[a-z:\r\n\0-]{0,6}").unwrap(),
                ),
                0..4,
            ),
        ) {
            let f = Frame {
                command: command.to_owned(),
                headers: headers.into_iter().filter(|(n, _)| n != "content-length").collect(),
                body: Vec::new(),
            };
            let nul = f.headers.iter().any(|(n, v)| n.contains('\0') || v.contains('\0'));
            let unescapable = command == "CONNECT"
                && f.headers.iter().any(|(n, v)| n.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']));
            match f.check() {
                Ok(()) => {
                    prop_assert!(!nul && !unescapable);
                    prop_assert_eq!(decode_all(&f.encode()).unwrap(), vec![f]);
                }
                Err(e) => {
                    prop_assert!(nul || unescapable, "{}", e);
                    if !unescapable {
                        prop_assert!(e.0.contains("NUL"), "{}", e);
                    }
                }
            }
        }

        #[test]
        fn escaping_leaves_no_raw_specials(f in frame()) {
            let wire = f.encode();
            let head_end = wire.windows(2).position(|w| w == b"\n\n").unwrap();
            // Header lines: every line has exactly one unescaped colon.
            for line in wire[..head_end].split(|&b| b == b'\n').skip(1) {
                prop_assert_eq!(line.iter().filter(|&&b| b == b':').count(), 1);
                prop_assert!(!line.contains(&b'\r'));
            }
        }

        #[test]
        fn joined_and_split_anywhere(
            frames in prop::collection::vec(frame(), 1..5),
            eols in prop::collection::vec(0usize..3, 5),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            // Frames back to back with heart-beat EOLs between them, then cut into
            // messages at arbitrary points.
            let mut wire = Vec::new();
            for (i, f) in frames.iter().enumerate() {
                for _ in 0..eols[i] { wire.extend_from_slice(b"\r\n"); }
                wire.extend_from_slice(&f.encode());
                wire.push(b'\n');
            }
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
            points.push(0);
            points.push(wire.len());
            points.sort_unstable();
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for w in points.windows(2) {
                d.push(&wire[w[0]..w[1]]);
                while let Some(f) = d.next_frame() {
                    got.push(without_length(f.unwrap()));
                }
            }
            prop_assert_eq!(got, frames);
            prop_assert_eq!(d.pending(), 0);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut d = Decoder::new();
            d.push(&bytes);
            for _ in 0..bytes.len() + 1 {
                match d.next_frame() {
                    Some(Ok(_)) => continue,
                    _ => break,
                }
            }
        }
    }
}
