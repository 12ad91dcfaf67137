//! The one error type of resocket.

use crate::CloseFrame;

/// Everything that can go wrong, as a value: resocket never panics on browser input and
/// never lets a browser exception escape as a thrown JS error.
///
/// Browser `DOMException`s are mapped by name: `SyntaxError` from the `WebSocket`
/// constructor becomes [`Error::InvalidUrl`], `SecurityError` becomes [`Error::Security`],
/// `InvalidStateError` and `InvalidAccessError` their own variants, anything else
/// [`Error::Browser`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The URL cannot be used for a WebSocket (the browser's `SyntaxError`): not absolute
    /// after resolving against the page, a scheme other than ws/wss/http/https, or a fragment.
    InvalidUrl(String),
    /// The browser refused the connection for security reasons (`SecurityError`), e.g. a
    /// blocked port or `ws:` from an `https:` page.
    Security(String),
    /// The browser said the socket was in the wrong state (`InvalidStateError`).
    InvalidState(String),
    /// The browser refused an argument (`InvalidAccessError`).
    InvalidAccess(String),
    /// A builder setting is out of range, or an argument is not allowed (a STOMP `SEND`
    /// naming a transaction outside it); the text says which and why.
    InvalidConfig(String),
    /// `close()` and `reconnect()` take 1000 or a code in 3000–4999; the browser would
    /// throw for this one.
    InvalidCloseCode(u16),
    /// `close()` and `reconnect()` take a reason of at most 123 UTF-8 bytes; this one has
    /// that many.
    CloseReasonTooLong(usize),
    /// The connection could not be established (refused, failed handshake, subprotocol
    /// mismatch, connect timeout) and will not be retried: reconnection is off, or the
    /// reconnect policy declined that close.
    ConnectFailed(CloseFrame),
    /// The connection closed without being asked to and will not be reopened, because
    /// reconnection is off or the reconnect policy declined this close code.
    Closed(CloseFrame),
    /// Every reconnection attempt allowed by [`Backoff::max_retries`](crate::Backoff::max_retries)
    /// failed.
    ReconnectExhausted {
        /// How many reconnection attempts were made.
        attempts: u32,
        /// How the last attempt ended.
        last: CloseFrame,
    },
    /// The socket is closed for good (by `close()`, by the policy, or by exhausted retries):
    /// nothing more can be sent.
    SocketClosed,
    /// A message could not be decoded as the expected type (typed sockets such as
    /// `WebSocket::json`). The connection goes on; the next item may decode fine.
    Decode {
        /// What the decoder said.
        message: String,
        /// The start of the offending message (at most 200 bytes).
        text: String,
    },
    /// A value could not be encoded (typed sockets), or a STOMP frame would not carry a
    /// destination or header as given (a NUL character in it); nothing was sent.
    Encode(String),
    /// STOMP (feature `stomp`): the broker sent an `ERROR` frame (`message` is its
    /// `message` header, `body` its body as text), or an exchange could not complete,
    /// e.g. the connection was lost before a receipt came.
    Stomp {
        /// The `message` header of the `ERROR` frame, or what went wrong.
        message: String,
        /// The body of the `ERROR` frame (lossy UTF-8); empty if none.
        body: String,
    },
    /// This many incoming messages were dropped at this point of the stream because the
    /// [inbound limit](crate::Builder::inbound_limit) was reached
    /// ([`InboundOverflow::DropNewest`](crate::InboundOverflow::DropNewest)). The stream
    /// goes on with the next message that was kept.
    InboundDropped {
        /// How many consecutive messages were dropped.
        count: usize,
    },
    /// Any other exception from the browser, by its `name` and `message`.
    Browser {
        /// The exception's `name`, e.g. `"NotSupportedError"`.
        name: String,
        /// The exception's `message`.
        message: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidUrl(m) => write!(f, "invalid WebSocket URL: {m}"),
            Error::Security(m) => {
                write!(f, "the browser refused the connection (SecurityError): {m}")
            }
            Error::InvalidState(m) => write!(f, "the WebSocket was in the wrong state: {m}"),
            Error::InvalidAccess(m) => write!(f, "the browser refused an argument: {m}"),
            Error::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            Error::InvalidCloseCode(c) => {
                let c = u32::from(*c); // (see `core::backoff::millis`)
                write!(f, "invalid close code {c}: use 1000 or a code in 3000-4999")
            }
            Error::CloseReasonTooLong(n) => {
                write!(
                    f,
                    "close reason is {n} bytes long; at most 123 UTF-8 bytes are allowed"
                )
            }
            Error::ConnectFailed(frame) => write!(f, "could not connect: {frame}"),
            Error::Closed(frame) => write!(f, "the connection closed: {frame}"),
            Error::ReconnectExhausted { attempts, last } => {
                write!(
                    f,
                    "gave up after {attempts} reconnection attempts; the last ended with {frame}",
                    frame = last
                )
            }
            Error::SocketClosed => f.write_str("the socket is closed"),
            Error::Decode { message, text } => write!(f, "could not decode \"{text}\": {message}"),
            Error::Encode(m) => write!(f, "could not encode the message: {m}"),
            Error::Stomp { message, body } if body.is_empty() => write!(f, "STOMP: {message}"),
            Error::Stomp { message, body } => write!(f, "STOMP: {message}: {body}"),
            Error::InboundDropped { count } => write!(
                f,
                "{count} incoming message(s) dropped: the inbound limit was reached"
            ),
            Error::Browser { name, message } => write!(f, "browser error {name}: {message}"),
        }
    }
}

impl std::error::Error for Error {}
