//! Typed messages in [postcard](https://docs.rs/postcard), a compact binary serde format
//! (feature `postcard`): smaller and faster than JSON when both ends are Rust.

use crate::typed::decode_error;
pub use crate::typed::{Codec, Typed};
use crate::{Error, Message, Receiver, Sender, WebSocket};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// postcard as the wire format: values go out as binary messages; a text message is
/// decoded from its UTF-8 bytes (and will usually fail, as [`Error::Decode`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostcardCodec;

impl Codec for PostcardCodec {
    fn encode<T: Serialize>(value: &T) -> Result<Message, Error> {
        postcard::to_allocvec(value)
            .map(Message::Binary)
            .map_err(|e| Error::Encode(e.to_string()))
    }

    fn decode<T: DeserializeOwned>(message: &Message) -> Result<T, Error> {
        postcard::from_bytes(message.as_bytes()).map_err(|e| decode_error(message, e))
    }
}

/// A socket (or half of one) that speaks postcard: a `Stream` of `Result<In, Error>` and a
/// `Sink<Out>`. A message that does not decode is an [`Error::Decode`] item; the stream
/// goes on.
pub type Postcard<S, In, Out> = Typed<S, PostcardCodec, In, Out>;

impl WebSocket {
    /// Speak postcard: receive `In` values, send `Out` values (feature `postcard`).
    pub fn postcard<In: DeserializeOwned, Out: Serialize>(self) -> Postcard<WebSocket, In, Out> {
        Postcard::new(self)
    }
}

impl Sender {
    /// Send `Out` values in postcard (feature `postcard`).
    pub fn postcard<Out: Serialize>(self) -> Postcard<Sender, (), Out> {
        Postcard::new(self)
    }
}

impl Receiver {
    /// Receive `In` values decoded from postcard (feature `postcard`).
    pub fn postcard<In: DeserializeOwned>(self) -> Postcard<Receiver, In, ()> {
        Postcard::new(self)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::{SinkExt, StreamExt};
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Reading {
        sensor: u16,
        celsius: f32,
        tags: Vec<String>,
    }

    #[test]
    fn round_trips_as_compact_binary_and_survives_garbage() {
        let value = Reading {
            sensor: 7,
            celsius: 21.5,
            tags: vec!["roof".into()],
        };
        let message = PostcardCodec::encode(&value).unwrap();
        let Message::Binary(bytes) = &message else {
            panic!("binary expected")
        };
        let json_len = serde_json::to_string(&value).unwrap().len();
        assert!(
            bytes.len() * 3 < json_len,
            "{} bytes vs {json_len} as JSON",
            bytes.len()
        );
        let items = vec![
            Ok(message),
            Ok(Message::Binary(vec![0xFF; 3])),
            Err(Error::SocketClosed),
        ];
        let mut typed: Postcard<_, Reading, ()> = Postcard::new(futures::stream::iter(items));
        assert_eq!(block_on(typed.next()), Some(Ok(value)));
        assert!(matches!(
            block_on(typed.next()),
            Some(Err(Error::Decode { .. }))
        ));
        assert_eq!(block_on(typed.next()), Some(Err(Error::SocketClosed)));
    }

    #[test]
    fn sends_binary_messages() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Message>();
        let mut typed: Postcard<_, (), (u8, bool)> =
            Postcard::new(tx.sink_map_err(|_| Error::SocketClosed));
        block_on(typed.send((3, true))).unwrap();
        drop(typed);
        assert_eq!(
            block_on(rx.collect::<Vec<_>>()),
            vec![Message::Binary(vec![3, 1])]
        );
    }
}
