//! Typed messages (features `json`, `postcard`): a [`Typed`] adapter turns a message stream
//! into a stream of `In` values and a message sink into a sink of `Out` values, with a
//! [`Codec`] deciding the wire format.

use crate::{Error, Message};
use futures_core::Stream;
use futures_sink::Sink;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How much of an undecodable message [`Error::Decode`] keeps.
const MAX_QUOTED: usize = 200;

/// A wire format for typed messages.
pub trait Codec {
    /// Encodes one value as a message.
    fn encode<T: Serialize>(value: &T) -> Result<Message, Error>;
    /// Decodes one message.
    fn decode<T: DeserializeOwned>(message: &Message) -> Result<T, Error>;
}

/// The [`Error::Decode`] for `message`, quoting at most 200 bytes of it.
pub(crate) fn decode_error(message: &Message, reason: impl std::fmt::Display) -> Error {
    let text = String::from_utf8_lossy(message.as_bytes());
    let mut end = text.len().min(MAX_QUOTED);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Error::Decode {
        message: reason.to_string(),
        text: text[..end].to_owned(),
    }
}

/// A socket (or half of one) that sends `Out` values and yields `Result<In, Error>`,
/// encoded by `C`.
///
/// A message that does not decode as `In` is an [`Error::Decode`] item carrying the
/// (truncated) message, and the stream goes on: a bad message does not end the connection.
/// The end of the stream and its final error are the underlying socket's.
pub struct Typed<S, C, In, Out> {
    inner: S,
    _types: PhantomData<fn(Out, C) -> In>,
}

impl<S, C, In, Out> Typed<S, C, In, Out> {
    /// Wraps a message stream and/or sink.
    pub fn new(inner: S) -> Self {
        Typed {
            inner,
            _types: PhantomData,
        }
    }

    /// The wrapped socket, for `state()`, `events()`, `close()` and the rest.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the socket.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug, C, In, Out> std::fmt::Debug for Typed<S, C, In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Typed").field(&self.inner).finish()
    }
}

impl<S: Unpin, C, In, Out> Unpin for Typed<S, C, In, Out> {}

impl<S, C, In, Out> Stream for Typed<S, C, In, Out>
where
    S: Stream<Item = Result<Message, Error>> + Unpin,
    C: Codec,
    In: DeserializeOwned,
{
    type Item = Result<In, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|item| item.map(|r| r.and_then(|m| C::decode(&m))))
    }
}

impl<S, C, In, Out> Sink<Out> for Typed<S, C, In, Out>
where
    S: Sink<Message, Error = Error> + Unpin,
    C: Codec,
    Out: Serialize,
{
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Out) -> Result<(), Error> {
        let message = C::encode(&item)?;
        Pin::new(&mut self.inner).start_send(message)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
