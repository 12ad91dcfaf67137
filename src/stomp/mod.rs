//! STOMP 1.2 over the resilient socket (feature `stomp`).
//!
//! [`StompClient`] speaks [STOMP 1.2](https://stomp.github.io/stomp-specification-1.2.html)
//! to a broker's WebSocket endpoint (RabbitMQ Web STOMP, ActiveMQ, Artemis, Spring…) on
//! top of a resocket [`WebSocket`](crate::WebSocket), so it inherits reconnection with
//! backoff, backpressure and the outbound queue. Every connection starts with `CONNECT` and
//! a `SUBSCRIBE` for every live [`Subscription`] (same id), put first by the socket's
//! [open hook](crate::Builder::on_open), so a subscription is a `Stream` that survives
//! broker restarts. Of the frames the browser never transmitted before a connection died,
//! the plain `SEND`s go again in the new session and those bound to the old one (acks,
//! transactions, subscriptions, `DISCONNECT`) are dropped, their receipts failing with an
//! [`Error::Stomp`](crate::Error::Stomp) instead of hanging: see [`StompClient`].
//!
//! ```no_run
//! use futures::StreamExt;
//! use resocket::stomp::{AckMode, ConnectOptions, StompClient};
//! use resocket::WebSocket;
//!
//! # async fn demo() -> Result<(), resocket::Error> {
//! let options = ConnectOptions::new().login("guest", "guest").host("/");
//! let client = StompClient::connect(WebSocket::builder("ws://localhost:15674/ws"), options).await?;
//! let mut orders = client.subscribe("/queue/orders", AckMode::Client);
//! client.send("/queue/orders", "one pizza", &[("content-type", "text/plain")]).await?;
//! while let Some(message) = orders.next().await {
//!     let message = message?; // an Err is an ERROR frame from the broker
//!     println!("{}", message.body_text());
//!     message.ack().await?;
//! }
//! # Ok(()) }
//! ```
//!
//! The codec ([`Frame`], [`Decoder`]) is usable on its own and has no browser dependency.

mod client;
mod frame;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub(crate) use client::or_timeout;
pub use client::{
    AckMode, ConnectOptions, StompClient, StompEvent, StompMessage, Subscription, Transaction,
};
pub use frame::{decode_all, Decoder, Frame, FrameError, MAX_FRAME_BYTES, MAX_HEADER_BYTES};
