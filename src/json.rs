//! Typed messages as JSON (feature `json`): [`Json`] turns a message stream into a stream
//! of `In` values and a message sink into a sink of `Out` values.

use crate::typed::decode_error;
pub use crate::typed::{Codec, Typed};
use crate::{Error, Message, Receiver, Sender, WebSocket};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON as the wire format: values go out as text messages; text and binary messages are
/// both decoded.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn encode<T: Serialize>(value: &T) -> Result<Message, Error> {
        encode(value)
    }

    fn decode<T: DeserializeOwned>(message: &Message) -> Result<T, Error> {
        decode(message)
    }
}

/// A socket (or half of one) that speaks JSON: a `Stream` of `Result<In, Error>` and a
/// `Sink<Out>`.
///
/// Outgoing values are sent as text messages. Incoming text and binary messages are both
/// decoded; one that does not decode as `In` is an [`Error::Decode`] item carrying the
/// (truncated) text, and the stream goes on: a bad message does not end the connection.
/// The end of the stream and its final error are the underlying socket's.
///
/// ```no_run
/// # async fn demo() -> Result<(), resocket::Error> {
/// use futures::{SinkExt, StreamExt};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize)]
/// struct Say { text: String }
/// #[derive(Deserialize, Debug)]
/// struct Said { from: String, text: String }
///
/// let mut chat = resocket::WebSocket::connect("/chat")?.json::<Said, Say>();
/// chat.send(Say { text: "hi".into() }).await?;
/// while let Some(item) = chat.next().await {
///     match item {
///         Ok(said) => println!("{}: {}", said.from, said.text),
///         Err(resocket::Error::Decode { .. }) => continue, // a bad message, not the end
///         Err(e) => return Err(e),
///     }
/// }
/// # Ok(()) }
/// ```
pub type Json<S, In, Out> = Typed<S, JsonCodec, In, Out>;

/// Decodes one message as `T`.
pub fn decode<T: DeserializeOwned>(message: &Message) -> Result<T, Error> {
    let result = match message {
        Message::Text(text) => serde_json::from_str(text),
        Message::Binary(bytes) => serde_json::from_slice(bytes),
    };
    result.map_err(|e| decode_error(message, e))
}

/// Encodes one value as a text message.
pub fn encode<T: Serialize>(value: &T) -> Result<Message, Error> {
    serde_json::to_string(value)
        .map(Message::Text)
        .map_err(|e| Error::Encode(e.to_string()))
}

impl WebSocket {
    /// Speak JSON: receive `In` values, send `Out` values (feature `json`).
    pub fn json<In: DeserializeOwned, Out: Serialize>(self) -> Json<WebSocket, In, Out> {
        Json::new(self)
    }
}

impl Sender {
    /// Send `Out` values as JSON (feature `json`).
    pub fn json<Out: Serialize>(self) -> Json<Sender, (), Out> {
        Json::new(self)
    }
}

impl Receiver {
    /// Receive `In` values decoded from JSON (feature `json`).
    pub fn json<In: DeserializeOwned>(self) -> Json<Receiver, In, ()> {
        Json::new(self)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::{SinkExt, StreamExt};
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[test]
    fn decodes_text_and_binary_and_survives_bad_messages() {
        let items = vec![
            Ok(Message::Text(r#"{"x":1,"y":2}"#.into())),
            Ok(Message::Text("not json".into())),
            Ok(Message::Binary(br#"{"x":3,"y":4}"#.to_vec())),
            Err(Error::SocketClosed),
        ];
        let mut typed: Json<_, Point, ()> = Json::new(futures::stream::iter(items));
        assert_eq!(block_on(typed.next()), Some(Ok(Point { x: 1, y: 2 })));
        assert!(
            matches!(block_on(typed.next()), Some(Err(Error::Decode { ref text, .. })) if text == "not json")
        );
        assert_eq!(
            block_on(typed.next()),
            Some(Ok(Point { x: 3, y: 4 })),
            "the stream goes on after a bad message"
        );
        assert_eq!(
            block_on(typed.next()),
            Some(Err(Error::SocketClosed)),
            "socket errors pass through"
        );
        assert_eq!(block_on(typed.next()), None);
    }

    #[test]
    fn decode_errors_quote_at_most_200_bytes_on_a_char_boundary() {
        let long = format!("{}{}", "é".repeat(150), "x");
        let Err(Error::Decode { text, message }) = decode::<Point>(&Message::Text(long)) else {
            panic!()
        };
        assert!(text.len() <= 200 && text.len() >= 199, "{}", text.len());
        assert!(!message.is_empty());
    }

    #[test]
    fn encodes_as_text() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Message>();
        let mut typed: Json<_, (), Point> = Json::new(tx.sink_map_err(|_| Error::SocketClosed));
        block_on(typed.send(Point { x: 5, y: 6 })).unwrap();
        drop(typed);
        assert_eq!(
            block_on(rx.collect::<Vec<_>>()),
            vec![Message::Text(r#"{"x":5,"y":6}"#.into())]
        );
    }

    #[test]
    fn encode_errors_are_errors() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1); // JSON object keys must be strings
        assert!(matches!(encode(&map), Err(Error::Encode(_))));
    }
}
