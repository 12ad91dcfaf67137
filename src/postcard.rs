//! Typed messages in [postcard](https://docs.rs/postcard), a compact binary serde format
//! (feature `postcard`): smaller and faster than JSON when both ends are Rust.

use crate::nesting::{Budget, Limited};
use crate::typed::decode_error;
pub use crate::typed::{Codec, Typed};
use crate::{Error, Message, Receiver, Sender, WebSocket};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::Cell;

/// How deeply a received value may nest; see [`PostcardCodec`].
pub const MAX_DEPTH: u32 = 128;

/// postcard as the wire format: values go out as binary messages; a text message is
/// decoded from its UTF-8 bytes (and will usually fail, as [`Error::Decode`]).
///
/// Values may nest at most [`MAX_DEPTH`] levels deep (each struct, tuple, sequence, map,
/// enum, `Option` and newtype is a level), as in serde_json: deeper input is an
/// [`Error::Decode`], where following it would overflow the stack on a recursive type.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostcardCodec;

impl Codec for PostcardCodec {
    fn encode<T: Serialize>(value: &T) -> Result<Message, Error> {
        postcard::to_allocvec(value)
            .map(Message::Binary)
            .map_err(|e| Error::Encode(e.to_string()))
    }

    fn decode<T: DeserializeOwned>(message: &Message) -> Result<T, Error> {
        let mut de = postcard::Deserializer::from_bytes(message.as_bytes());
        let exceeded = Cell::new(false);
        let budget = Budget {
            left: MAX_DEPTH,
            exceeded: &exceeded,
        };
        T::deserialize(Limited {
            de: &mut de,
            budget,
        })
        .map_err(|e| {
            if exceeded.get() {
                decode_error(
                    message,
                    format_args!("values nest more than {MAX_DEPTH} deep"),
                )
            } else {
                decode_error(message, e)
            }
        })
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

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }

    fn tree(depth: usize) -> Tree {
        (0..depth).fold(Tree::Leaf, |t, _| Tree::Node(Box::new(t)))
    }

    #[test]
    fn nesting_is_capped_at_max_depth_levels() {
        // Tree::Leaf is one level, each Node one more.
        let deepest = tree(MAX_DEPTH as usize - 1);
        let message = PostcardCodec::encode(&deepest).unwrap();
        assert_eq!(PostcardCodec::decode::<Tree>(&message), Ok(deepest));

        let too_deep = PostcardCodec::encode(&tree(MAX_DEPTH as usize)).unwrap();
        let Err(Error::Decode { message, .. }) = PostcardCodec::decode::<Tree>(&too_deep) else {
            panic!("a tree one level too deep decoded");
        };
        assert_eq!(message, "values nest more than 128 deep");
    }

    #[test]
    fn hostile_nesting_is_a_decode_error_not_a_stack_overflow() {
        // A million levels in a megabyte: Node's variant index (1) again and again.
        let mut bytes = vec![1u8; 1 << 20];
        bytes.push(0);
        let message = Message::Binary(bytes);
        assert!(matches!(
            PostcardCodec::decode::<Tree>(&message),
            Err(Error::Decode { .. })
        ));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Unit;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Meters(f64);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Empty,
        Dot(Meters),
        Line(i128, u128),
        Box {
            corner: (i8, u16),
            size: Option<Meters>,
        },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Everything {
        unit: Unit,
        shapes: Vec<Shape>,
        names: std::collections::BTreeMap<String, (char, bool)>,
        #[serde(with = "serde_bytes_like")]
        raw: Vec<u8>,
        small: (i16, i32, i64, u32, u64, f32),
        nothing: Option<()>,
    }

    /// Bytes as serde's bytes type (not a sequence), without the serde_bytes crate.
    mod serde_bytes_like {
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            struct Bytes;
            impl serde::de::Visitor<'_> for Bytes {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                    Ok(v.to_vec())
                }
            }
            d.deserialize_byte_buf(Bytes)
        }
    }

    #[test]
    fn every_serde_shape_round_trips_through_the_depth_cap() {
        let value = Everything {
            unit: Unit,
            shapes: vec![
                Shape::Empty,
                Shape::Dot(Meters(2.5)),
                Shape::Line(-(1 << 100), 1 << 120),
                Shape::Box {
                    corner: (-3, 40_000),
                    size: Some(Meters(1.0)),
                },
                Shape::Box {
                    corner: (0, 0),
                    size: None,
                },
            ],
            names: [
                ("a".to_owned(), ('é', true)),
                ("b".to_owned(), ('z', false)),
            ]
            .into(),
            raw: vec![0, 255, 7],
            small: (-2, -70_000, i64::MIN, u32::MAX, u64::MAX, 0.5),
            nothing: Some(()),
        };
        let message = PostcardCodec::encode(&value).unwrap();
        assert_eq!(PostcardCodec::decode::<Everything>(&message), Ok(value));
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
