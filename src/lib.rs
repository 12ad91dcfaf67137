#![forbid(unsafe_code)]
#![warn(missing_docs)]
// On docs.rs: each item that needs a cargo feature says which.
#![cfg_attr(docsrs, feature(doc_cfg))]
//! A resilient browser WebSocket for Rust and wasm.
//!
//! resocket wraps the browser's [`WebSocket`](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket)
//! in a `futures` [`Stream`](futures_core::Stream) and [`Sink`](futures_sink::Sink) that
//! survives real networks:
//!
//! - **Reconnection** with exponential backoff and jitter ([`Backoff`]), a close-code policy
//!   ([`default_reconnect_policy`], [`Builder::reconnect_if`]), connect timeouts, a fresh
//!   URL per attempt ([`Builder::target_fn`]), and no attempts burned while the browser is
//!   offline.
//! - **Heartbeats** that find dead connections ([`Heartbeat`]) without false alarms in
//!   throttled background tabs.
//! - **Backpressure** from `bufferedAmount`: the Sink waits above a high-water mark.
//! - **Nothing untransmitted is lost**: messages sent while (re)connecting wait in order;
//!   after an abnormal close, exactly the messages the browser never transmitted go again,
//!   first, on the next connection.
//! - **Clean ends**: close codes validated ([`Error`] instead of a thrown exception), close
//!   timeouts, no listener or timer left behind after drop, no `Closure::forget`, no panic on
//!   browser input.
//!
//! # Quick start
//!
//! ```no_run
//! use futures::{SinkExt, StreamExt};
//! use resocket::{Event, Message, WebSocket};
//!
//! # async fn demo() -> Result<(), resocket::Error> {
//! let mut ws = WebSocket::connect("wss://example.com/chat")?;
//! let mut events = ws.events(); // opens, closes, reconnects: for the UI
//! ws.send(Message::Text("hello".into())).await?; // waits for the connection if needed
//! while let Some(message) = ws.next().await {
//!     match message {
//!         Ok(Message::Text(text)) => println!("{text}"),
//!         Ok(Message::Binary(bytes)) => println!("{} bytes", bytes.len()),
//!         Err(e) => eprintln!("closed for good: {e}"), // the stream ends next
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # The contract
//!
//! - [`WebSocket::connect`] returns at once and connects (and reconnects) in the background;
//!   an invalid URL or configuration is an `Err` right there.
//! - Transient disconnects never end or error the stream; they show in
//!   [`events`](WebSocket::events) and [`state`](WebSocket::state). The stream ends (`None`)
//!   only when the socket is closed for good: by [`close`](WebSocket::close) (no error), or
//!   after one `Err` when the end was not asked for ([`Error::Closed`],
//!   [`Error::ConnectFailed`], [`Error::ReconnectExhausted`]). Before that, an `Err` item
//!   means one message could not be handed over (a `Blob` the browser failed to read) or,
//!   with typed sockets, decoded; the stream goes on after it.
//! - [`split`](WebSocket::split) gives a `Clone` [`Sender`] and a [`Receiver`].
//!
//! # Reconnection
//!
//! After the server or the network closes the connection, resocket waits a [`Backoff`]
//! delay (full jitter by default: uniform in `[0, min(30 s, 1 s·2ⁿ⁻¹)]`) and tries again,
//! forever unless [`Backoff::max_retries`] says otherwise. Which closes are retried is
//! decided by [`default_reconnect_policy`] (1001, 1005, 1006, 1011–1015 yes; 1000,
//! 1002–1003, 1007–1010 and application codes no) unless [`Builder::reconnect_if`] decides.
//! The attempt counter restarts only after a connection stayed open for
//! [`Backoff::stable_after`]. [`close`](WebSocket::close) cancels a pending reconnection at
//! once. While the browser reports itself offline, no attempt is made; the `online` event
//! starts the next one at once. Page visibility changes nothing: a hidden tab keeps its
//! connection, and the heartbeat is built not to misfire there.
//!
//! # Backpressure
//!
//! `poll_ready` is pending while the connection's `bufferedAmount` is above the high-water
//! mark (default 1 MiB), until it drains to the low-water mark (default 256 KiB); it polls
//! `bufferedAmount` only while someone waits: at the next task, then at an interval that
//! follows the measured drain rate (1 ms to 250 ms); browsers throttle those timers in hidden tabs (Chrome: once a
//! minute after 5 minutes hidden), so a blocked Sink in a hidden tab moves slowly. While not
//! open, the Sink accepts up to
//! [`queue_capacity`](Builder::queue_capacity) messages (default 1024), then waits.
//! `poll_flush` waits until `bufferedAmount` is 0. Nothing is dropped silently: a full queue
//! waits, a closed socket errors.
//!
//! The other direction has no backpressure in the browser: a server that sends faster than
//! the application reads fills memory. [`Builder::inbound_limit`] bounds what resocket keeps
//! unread and picks what happens beyond it: close the connection
//! ([`InboundOverflow::Close`]) or drop what arrives and say how many in the stream
//! ([`InboundOverflow::DropNewest`], [`Error::InboundDropped`]).
//!
//! # What "nothing lost" guarantees, and what it cannot
//!
//! Messages accepted while connecting or reconnecting are sent, in order, on the next open,
//! before anything newer. When a connection ends abnormally, the browser still reports in
//! `bufferedAmount` how many bytes it never transmitted (checked in Chromium and Firefox);
//! resocket puts back exactly the messages those bytes belong to, in order, ahead of newer
//! ones; a message that left only in part goes again whole. So a message that never left
//! the browser is never lost, and it is sent again exactly once — unless an
//! [open hook](Builder::on_open) removes it from the queue, which hands it to the hook.
//!
//! One exception: when resocket itself abandons a connection (heartbeat or close timeout),
//! the browser may still transmit what it buffered for it if the connection was in fact
//! alive; messages re-queued then can arrive twice.
//!
//! What cannot be known from the browser: bytes it handed to the operating system (the
//! kernel's and the browser's network buffers take several megabytes) and that were lost
//! with the connection. They left the browser, so they are not re-sent. If your
//! application needs every message delivered, acknowledge messages at the application
//! level and re-send unacknowledged ones yourself. When the socket closes for good,
//! whatever was never transmitted is handed back ([`CloseOutcome::unsent`],
//! [`WebSocket::take_unsent`]).
//!
//! # Protocols on top: the open hook
//!
//! A protocol whose session lives and dies with the connection (a login message, STOMP's
//! `CONNECT`) registers [`Builder::on_open`]: on every open, before anything queued is sent,
//! it gets an [`Opening`] to [`send_first`](Opening::send_first) its own messages (ahead of
//! everything, never re-queued: they belong to that connection) and to
//! [`retain`](Opening::retain) only the queued messages that still make sense (those it
//! removes are handed back to it and counted in [`Event::Discarded`]). The `stomp` module's
//! client is built on it.
//!
//! # Typed messages
//!
//! With the `json` feature, `WebSocket::json` turns the socket into a `Stream` of your
//! `Deserialize` type and a `Sink` of your `Serialize` type (see the `json` module); with
//! `postcard`, `WebSocket::postcard` does the same in postcard's compact binary format
//! (a third of the bytes of JSON or less when both ends are Rust). A message that does not
//! decode is an [`Error::Decode`] item quoting its start; the stream and the connection go
//! on.
//!
//! # Yew and Leptos
//!
//! The sibling crates `resocket-yew` and `resocket-leptos` (in this repository's
//! `integrations/`) wrap a socket in a `use_websocket` hook: the [`State`] as reactive state,
//! the reconnect deadline for a countdown, ordered sends that honour backpressure, a
//! callback per message, and a close when the component unmounts (messages sent just before
//! `close()` or unmount go out ahead of the close frame). `examples/yew-chat` and
//! `examples/leptos-chat` are complete chat apps built on them. They are separate crates so
//! that resocket itself never depends on a UI framework: a fresh wasm32 build of the Leptos
//! example takes about 85 s on two cores and of the Yew example about 68 s, nearly all of
//! it the framework (resocket alone, with web-sys and js-sys, takes about 38 s).
//!
//! # JavaScript and TypeScript
//!
//! With the `js` feature (on in the npm package, off for Rust users) the crate exports
//! `ResilientWebSocket`, a class used like the browser's `WebSocket` — constructor, `send`,
//! `close`, `readyState`, `bufferedAmount`, standard events and `on*` handlers — plus
//! `reconnecting`/`statechange`/`heartbeat` events, `await sendAsync()` with backpressure and
//! `for await`. `npm run build` makes the package; its README is `npm/README.md`.
//!
//! # Browser facts this crate relies on
//!
//! - `send()` never throws on an open or closing socket; resocket never calls it on a
//!   connecting one, so `InvalidStateError` cannot surface.
//! - A close frame is queued behind unsent data, so `close()` against a server that stopped
//!   reading would hang until TCP gives up (over 45 s seen); the close timeout abandons the
//!   socket instead.
//! - Browsers cannot send protocol-level pings; the heartbeat is an application message.

mod browser;
mod close;
pub mod core;
mod error;
mod event;
#[cfg(all(target_arch = "wasm32", feature = "js"))]
mod js;
#[cfg(feature = "json")]
pub mod json;
mod message;
#[cfg(feature = "postcard")]
mod nesting;
#[cfg(feature = "postcard")]
pub mod postcard;
mod send_queue;
mod socket;
#[cfg(feature = "stomp")]
pub mod stomp;
#[cfg(any(feature = "json", feature = "postcard"))]
pub mod typed;

pub use crate::browser::{BinaryType, CloseOutcome, Target};
pub use crate::core::{
    default_reconnect_policy, Backoff, Heartbeat, InboundOverflow, Jitter, Opening,
};
pub use close::{codes, validate_close, CloseFrame, MAX_REASON_BYTES};
pub use error::Error;
pub use event::{Event, State};
pub use message::Message;
pub use send_queue::SendQueue;
pub use socket::{Builder, Closing, Opened, Receiver, Sender, WebSocket};
