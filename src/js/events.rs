//! The DOM events a `ResilientWebSocket` dispatches: real `MessageEvent`, `CloseEvent`,
//! `ErrorEvent` and `Event` objects, so code written for the browser's WebSocket reads them
//! as it always did (where a runtime lacks a class, as Node.js lacks `CloseEvent` and
//! `ErrorEvent`, a plain `Event` with the same fields). Extra fields (`attempt`, `delay`,
//! `state`, ...) are read-only properties of the event object.

use super::convert::{bare, define, set, thrown_message};
use crate::CloseFrame;
use js_sys::{Array, Function, Object, Reflect};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, ErrorEvent, Event, EventTarget, MessageEvent};

/// The `EventTarget` where a JS object's listeners live, until the object is closed for
/// good: then it is let go, with every listener, since nothing is dispatched any more and
/// a listener that refers to the object would otherwise keep it alive for ever (what Rust
/// holds is a root for the JS engine). Listeners added after that are not kept.
pub(crate) struct Listeners(RefCell<Option<EventTarget>>);

impl Listeners {
    pub(crate) fn new() -> Result<Self, JsValue> {
        Ok(Listeners(RefCell::new(Some(EventTarget::new()?))))
    }

    /// The target, unless let go.
    pub(crate) fn target(&self) -> Option<EventTarget> {
        self.0.borrow().clone()
    }

    /// Runs `f` with the target, unless let go. Listeners may run inside: they can add,
    /// remove and dispatch (shared borrows); it is let go only from outside any of them.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&EventTarget) -> R) -> Option<R> {
        self.0.borrow().as_ref().map(f)
    }

    /// Dispatches an event made here; exceptions in listeners are reported by the
    /// browser, not thrown here.
    pub(crate) fn dispatch(&self, event: Option<Event>) {
        if let Some(event) = event {
            self.with(|target| target.dispatch_event(&event));
        }
    }

    /// Calls `addEventListener` or `removeEventListener` with the arguments as given, so
    /// every option the browser supports works (web-sys would need one binding each).
    pub(crate) fn call(&self, method: &str, args: &[JsValue]) -> Result<(), JsValue> {
        let Some(target) = self.target() else {
            return Ok(());
        };
        let f: Function = Reflect::get(&target, &method.into())?.dyn_into()?;
        f.apply(&target, &args.iter().collect::<Array>()).map(drop)
    }

    /// `EventTarget.dispatchEvent` for our classes: anything but an `Event` is a
    /// `TypeError`. Once let go, it reaches no one.
    pub(crate) fn dispatch_checked(&self, event: JsValue) -> Result<bool, JsValue> {
        let event: Event = event.dyn_into().map_err(|v| {
            super::convert::type_error(&format!(
                "dispatchEvent() takes an Event, not {}",
                super::convert::describe(&v)
            ))
        })?;
        // Once let go, on a target of its own: the browser's checks (an event already being
        // dispatched, a fake one) stay, and no binding that cannot catch is reached.
        match self.target() {
            Some(target) => target.dispatch_event(&event),
            None => EventTarget::new()?.dispatch_event(&event),
        }
    }

    /// Lets the target go (see above), and gives it back for what still needs removing.
    pub(crate) fn release(&self) -> Option<EventTarget> {
        self.0.try_borrow_mut().ok()?.take()
    }
}

// The events are made from objects without a prototype and their properties defined, not
// assigned: a page whose `Object.prototype` was polluted (`Object.prototype.get = 1`, a
// setter that throws) would otherwise make every event fail, or throw in the task that
// dispatches them and stop it for good.

/// A plain event, with read-only extra properties.
pub(crate) fn plain(kind: &str, fields: &[(&str, JsValue)]) -> Option<Event> {
    let event = Event::new(kind).ok()?;
    for (key, value) in fields {
        define(&event, key, value, true);
    }
    Some(event)
}

thread_local! {
    /// The keys of a `message` event's init dictionary, made into JS strings once: one
    /// conversion each fewer per message.
    static MESSAGE_KEYS: [JsValue; 2] = [JsValue::from_str("data"), JsValue::from_str("origin")];
}

/// `message`, with `data` and the socket's `origin` (a string) like the browser sets them.
pub(crate) fn message(data: &JsValue, origin: &JsValue) -> Option<Event> {
    let init = bare();
    MESSAGE_KEYS.with(|[data_key, origin_key]| {
        let _ = Reflect::set(&init, data_key, data);
        let _ = Reflect::set(&init, origin_key, origin);
    });
    MessageEvent::new_with_event_init_dict("message", init.unchecked_ref())
        .ok()
        .map(Into::into)
}

/// `close`, with the frame's code, reason and `wasClean`.
pub(crate) fn close(frame: &CloseFrame) -> Option<Event> {
    let fields = [
        ("code", frame.code.into()),
        ("reason", frame.reason.as_str().into()),
        ("wasClean", frame.was_clean.into()),
    ];
    made("close", &fields, |init| {
        CloseEvent::new_with_event_init_dict("close", init.unchecked_ref()).map(Into::into)
    })
}

/// `error`, with a message and the `Error` when there is one (`null` for the browser's
/// own error events, which carry no detail).
pub(crate) fn error(message: &str, error: &JsValue) -> Option<Event> {
    // What the app threw may be no object (`throw "no token"`, `Promise.reject()`): it comes
    // as an `Error` with its text (or `message`), so `error.name` and `error.message` can
    // always be read. `null` stays: a connection failed, and the browser tells no more.
    let error = if error.is_object() || error.is_null() {
        error.clone()
    } else {
        let text = thrown_message(error);
        js_sys::Error::new(text.as_deref().unwrap_or(message)).into()
    };
    let fields = [("message", message.into()), ("error", error)];
    made("error", &fields, |init| {
        ErrorEvent::new_with_event_init_dict("error", init.unchecked_ref()).map(Into::into)
    })
}

/// An event of a class that a runtime may lack, made by `make` from an init dictionary of
/// `fields`; where the class is missing (Node.js has no `CloseEvent` or `ErrorEvent`), a
/// plain `Event` with the same fields as read-only properties, which code written for the
/// browser reads the same way.
fn made(
    kind: &str,
    fields: &[(&str, JsValue)],
    make: impl FnOnce(&Object) -> Result<Event, JsValue>,
) -> Option<Event> {
    let init = bare();
    for (key, value) in fields {
        set(&init, key, value);
    }
    make(&init).ok().or_else(|| plain(kind, fields))
}
