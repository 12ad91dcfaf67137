//! The JavaScript and TypeScript API of the npm package (cargo feature `js`):
//! `ResilientWebSocket`, a drop-in for the browser's `WebSocket` that reconnects, built on
//! the public Rust API ([`WebSocket`](crate::WebSocket), [`Sender`](crate::Sender),
//! [`Receiver`](crate::Receiver)); it never reaches into the driver.
//!
//! - `socket.rs`: the class, and the task that turns the Rust stream and its events into
//!   DOM events (`open`, `message`, `close`, `error`, `reconnecting`, `statechange`, ...).
//! - `send.rs`: the ordered way out (a Blob is read asynchronously without letting later
//!   messages overtake it; `sendAsync()` and `ready()` wait on the Sink's backpressure).
//! - `options.rs`: the constructor's arguments into a [`Builder`](crate::Builder).
//! - `convert.rs`: JS values into messages, every [`Error`](crate::Error) into the
//!   exception a JS programmer expects.
//! - `events.rs`, `iter.rs`: the DOM events; `for await`.
//! - `resocket.d.ts`: the TypeScript declarations, written by hand so that they are
//!   precise (the generated ones would say `any`), shipped in the package's `.d.ts`.
//!
//! Nothing here panics on what JS hands over: every value is checked, and a wrong one
//! throws a `TypeError`, a `RangeError`, or the `DOMException` the browser's WebSocket
//! would throw.

mod convert;
mod events;
mod iter;
mod options;
mod send;
mod socket;

use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT: &str = include_str!("resocket.d.ts");

/// Set while a user callback runs inside the Rust socket (its state is borrowed then):
/// the class's methods throw instead of re-entering it.
#[derive(Clone, Default)]
pub(crate) struct Busy(Rc<Cell<bool>>);

impl Busy {
    pub(crate) fn get(&self) -> bool {
        self.0.get()
    }

    pub(crate) fn call<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = self.0.replace(true);
        let result = f();
        self.0.set(before);
        result
    }
}
