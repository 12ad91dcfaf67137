//! The message type that goes in and out of a [`WebSocket`](crate::WebSocket).

/// One WebSocket message, as the browser delivers or sends it.
///
/// A text message is a `String` (the browser guarantees valid UTF-8); a binary message is
/// the bytes of an `ArrayBuffer` (or of a `Blob`, read for you when
/// [`BinaryType::Blob`](crate::BinaryType::Blob) is chosen).
///
/// See MDN: [`WebSocket.send()`](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket/send),
/// [`message` event](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket/message_event).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl Message {
    /// The payload size in bytes, as the browser counts it in `bufferedAmount`
    /// (UTF-8 bytes for text).
    pub fn len(&self) -> usize {
        match self {
            Message::Text(s) => s.len(),
            Message::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(s) => Some(s),
            Message::Binary(_) => None,
        }
    }

    /// The bytes of the payload (UTF-8 for text).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b)
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Self {
        Message::Binary(b.to_vec())
    }
}
