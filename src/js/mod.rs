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
//! - `stomp.rs` (with feature `stomp` too): `StompClient`, the STOMP client for JS, on the
//!   same options and errors.
//! - `resocket.d.ts`, `stomp.d.ts`: the TypeScript declarations, written by hand so that
//!   they are precise (the generated ones would say `any`), shipped in the package's `.d.ts`.
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
#[cfg(feature = "stomp")]
mod stomp;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT: &str = include_str!("resocket.d.ts");

#[cfg(feature = "stomp")]
#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT_STOMP: &str = include_str!("stomp.d.ts");

/// Set while a user callback runs inside the Rust socket (its state is borrowed then):
/// the class's methods throw instead of re-entering it. Also keeps what such a callback
/// got wrong (it threw, or answered with a Promise), and what the url function's Promise
/// rejected with, for the socket's event pump (and a `StompClient`'s), which dispatches
/// each as an `error` event: nothing can be dispatched from inside the socket.
#[derive(Clone, Default)]
pub(crate) struct Busy(Rc<BusyState>);

#[derive(Default)]
pub(crate) struct BusyState {
    on: Cell<bool>,
    faults: std::cell::RefCell<std::collections::VecDeque<(String, JsValue)>>,
}

impl Busy {
    pub(crate) fn get(&self) -> bool {
        self.0.on.get()
    }

    pub(crate) fn call<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = self.0.on.replace(true);
        let result = f();
        self.0.on.set(before);
        result
    }

    /// Calls the user's `f` with `arg` for an answer it must give at once: a thenable
    /// (an `async` function's Promise) is a `TypeError` naming `what`, as is what `f` threw.
    pub(crate) fn answer(
        &self,
        f: &js_sys::Function,
        arg: &JsValue,
        what: &str,
    ) -> Result<JsValue, JsValue> {
        self.call(|| {
            let value = f.call1(&JsValue::UNDEFINED, arg)?;
            if convert::is_thenable(&value) {
                return Err(convert::type_error(&format!(
                    "{what} returned a Promise (an async function?): it must answer at once"
                )));
            }
            Ok(value)
        })
    }

    /// A callback failed inside the socket, or the url function's Promise rejected:
    /// `message` says what the socket did instead. The pump looks here before each event
    /// and message it dispatches, and every fault kept here is followed by one (a close or
    /// reconnection, a message). What was thrown is the event's `error` (`events::error`
    /// makes an `Error` of a value that is no object).
    pub(crate) fn fault(&self, message: String, error: JsValue) {
        self.0.faults.borrow_mut().push_back((message, error));
    }

    pub(crate) fn take_fault(&self) -> Option<(String, JsValue)> {
        self.0.faults.borrow_mut().pop_front()
    }
}

/// A Promise settled by `f`. Every async method goes through this one non-generic
/// `future_to_promise`: each instantiation of it costs a kilobyte or more of wasm.
pub(crate) fn promise(
    f: impl Future<Output = Result<JsValue, JsValue>> + 'static,
) -> js_sys::Promise {
    boxed_promise(Box::pin(f))
}

#[inline(never)]
fn boxed_promise(f: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(f)
}
