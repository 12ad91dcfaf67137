//! JS values in and out: what `send()` takes, what messages become, and every
//! [`Error`] as the exception a JS programmer expects. Nothing here trusts a `JsValue`.

use crate::browser::bytes;
use crate::{CloseFrame, Error, Message};
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, DomException};

// Bindings that catch, for what a caller's value can make throw (js-sys's cannot catch). An
// exception through a binding that cannot catch unwinds the wasm frames without running
// their destructors: whatever Rust had borrowed stays borrowed for good (the socket's state,
// when the value comes from a URL function; the object itself, for `free()`).
#[wasm_bindgen]
extern "C" {
    /// `Array.isArray`, which throws for a revoked `Proxy`.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array_or_throw(value: &JsValue) -> Result<bool, JsValue>;

    /// `Object.keys`, which runs a `Proxy`'s traps.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    pub(crate) fn keys(object: &Object) -> Result<Array, JsValue>;

    /// `Uint8Array`, for constructors that catch.
    #[wasm_bindgen(js_name = Uint8Array)]
    type View;

    /// `new Uint8Array(buffer)`, which throws for a detached buffer.
    #[wasm_bindgen(catch, constructor, js_class = "Uint8Array")]
    fn new(buffer: &JsValue) -> Result<View, JsValue>;

    /// `new Uint8Array(buffer, offset, length)`, which throws for a detached buffer or a
    /// range outside it.
    #[wasm_bindgen(catch, constructor, js_class = "Uint8Array")]
    fn new_range(buffer: &JsValue, offset: f64, length: f64) -> Result<View, JsValue>;
}

/// What brand getter `which` reads (see `BRANDS`).
const BUFFER_LENGTH: usize = 0;
const BLOB_SIZE: usize = 1;
/// `buffer`, `byteOffset`, `byteLength` of a TypedArray (+0, +1, +2), of a DataView (+3…).
const VIEW: usize = 2;

thread_local! {
    /// The built-in getters of `ArrayBuffer.prototype.byteLength`, `Blob.prototype.size`,
    /// and `buffer`, `byteOffset`, `byteLength` of TypedArrays and DataViews. They read the
    /// internal slots of what they are called on, which no object can fake, which an
    /// iframe's objects have as well as this page's, and which an own property put on a view
    /// (a `buffer` pointing elsewhere) does not change.
    static BRANDS: [Option<js_sys::Function>; 8] = {
        let blob = Reflect::get(&js_sys::global(), &"Blob".into())
            .and_then(|blob| Reflect::get(&blob, &"prototype".into()))
            .ok();
        let typed: JsValue = Object::get_prototype_of(&Uint8Array::new_with_length(0)).into();
        let data_view = js_sys::DataView::new(&ArrayBuffer::new(0), 0, 0);
        [
            getter(&ArrayBuffer::new(0).into(), "byteLength"),
            blob.and_then(|prototype| own_getter(&prototype, "size")),
            getter(&typed, "buffer"),
            getter(&typed, "byteOffset"),
            getter(&typed, "byteLength"),
            getter(&data_view, "buffer"),
            getter(&data_view, "byteOffset"),
            getter(&data_view, "byteLength"),
        ]
    };
}

/// The getter `name` on `value`'s prototype.
fn getter(value: &JsValue, name: &str) -> Option<js_sys::Function> {
    own_getter(&Object::get_prototype_of(value).into(), name)
}

fn own_getter(object: &JsValue, name: &str) -> Option<js_sys::Function> {
    let descriptor =
        Reflect::get_own_property_descriptor(object.dyn_ref::<Object>()?, &name.into()).ok()?;
    Reflect::get(&descriptor, &"get".into())
        .ok()?
        .dyn_into()
        .ok()
}

/// What built-in getter `which` (see `BRANDS`) gives for `value`; `None` if it throws, for
/// anything that is not of its kind.
fn branded(which: usize, value: &JsValue) -> Option<JsValue> {
    if !value.is_object() {
        return None;
    }
    BRANDS.with(|brands| brands[which].as_ref()?.call0(value).ok())
}

/// Whether `value` is an `ArrayBuffer` (not a `SharedArrayBuffer`), this page's or another
/// realm's (an iframe's), as the browser's `send` takes it. Not `instanceof`, which an
/// `Object.create(ArrayBuffer.prototype)` or a `Proxy` passes.
pub(crate) fn is_array_buffer(value: &JsValue) -> bool {
    branded(BUFFER_LENGTH, value).is_some()
}

/// A view's `buffer`, `byteOffset` and `byteLength` as the built-in getters tell them (see
/// `BRANDS`): a TypedArray's, else (the TypedArray getter threw) a DataView's.
fn view_extent(view: &JsValue) -> Option<(JsValue, f64, f64)> {
    let read = |first: usize| {
        Some((
            branded(first, view)?,
            branded(first + 1, view)?.as_f64()?,
            branded(first + 2, view)?.as_f64()?,
        ))
    };
    read(VIEW).or_else(|| read(VIEW + 3))
}

/// The bytes of `buffer`, all of them or `range` (offset, length), if it is an ArrayBuffer
/// (see [`is_array_buffer`]); `None` for anything else, which `Uint8Array` would read as an
/// array-like and give other bytes than the caller's. A detached buffer, or a range
/// outside it, is the error `Uint8Array` throws.
pub(crate) fn buffer_bytes(
    buffer: &JsValue,
    range: Option<(f64, f64)>,
) -> Option<Result<Vec<u8>, JsValue>> {
    if !is_array_buffer(buffer) {
        return None;
    }
    let view = match range {
        None => View::new(buffer),
        Some((offset, length)) => View::new_range(buffer, offset, length),
    };
    Some(view.map(|view| bytes(view.unchecked_ref())))
}

/// Whether a value is an array, without throwing (a revoked `Proxy` is not one here).
pub(crate) fn is_array(value: &JsValue) -> bool {
    is_array_or_throw(value).unwrap_or(false)
}

/// Something to send, as `send()` was given it.
pub(crate) enum Payload {
    Message(Message),
    /// Read asynchronously; later sends wait behind it. With its size, read once.
    Blob(Blob, f64),
}

impl Payload {
    /// Bytes it adds to `bufferedAmount` (UTF-8 bytes for text).
    pub(crate) fn len(&self) -> f64 {
        match self {
            Payload::Message(m) => m.len() as f64,
            Payload::Blob(_, size) => *size,
        }
    }

    /// Back to a JS value, for `takeUnsent()`.
    pub(crate) fn to_js(&self) -> JsValue {
        match self {
            Payload::Message(m) => message_to_js(m),
            Payload::Blob(b, _) => b.clone().into(),
        }
    }
}

/// What `send()` accepts: the same types as the browser's `WebSocket.send()`.
pub(crate) fn payload(data: &JsValue) -> Result<Payload, JsValue> {
    if let Some(text) = data.as_string() {
        return Ok(Payload::Message(Message::Text(text)));
    }
    if ArrayBuffer::is_view(data) {
        // A TypedArray of any element type or a DataView: its bytes, not its elements.
        let (buffer, offset, length) = view_extent(data).ok_or_else(|| {
            type_error("send() was given a view that is neither a TypedArray nor a DataView")
        })?;
        if length > U32_MAX {
            return Err(range_error(&format!(
                "send() was given a view of {} bytes: above {}, the most one message holds",
                num(length),
                num(U32_MAX)
            )));
        }
        return match buffer_bytes(&buffer, Some((offset, length))) {
            Some(bytes) => Ok(Payload::Message(Message::Binary(bytes?))),
            None => Err(type_error(&format!(
                "send() was given a view whose buffer is not an ArrayBuffer: {}",
                describe(&buffer)
            ))),
        };
    }
    if let Some(blob) = data.dyn_ref::<Blob>() {
        // Through `Reflect`: an object made with `Object.create(Blob.prototype)` passes the
        // check and throws on `size`.
        let size = Reflect::get(blob, &"size".into())?
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| {
                type_error("send() was given an object that claims to be a Blob but has no size")
            })?;
        return Ok(Payload::Blob(blob.clone(), size));
    }
    // (After this page's Blobs: the brand check throws inside for anything else.)
    if let Some(bytes) = buffer_bytes(data, None) {
        return Ok(Payload::Message(Message::Binary(bytes?)));
    }
    // Another realm's (an iframe's). This page's are told by `instanceof` above, which
    // lets `Object.create(Blob.prototype)` through to its own error.
    if let Some(size) = branded(BLOB_SIZE, data).and_then(|size| size.as_f64()) {
        return Ok(Payload::Blob(data.clone().unchecked_into(), size));
    }
    Err(type_error(&format!(
        "send() takes a string, an ArrayBuffer, a TypedArray, a DataView or a Blob, not {}",
        describe(data)
    )))
}

const U32_MAX: f64 = u32::MAX as f64;

/// A message as JS data: a string, or the bytes in a fresh `ArrayBuffer`.
pub(crate) fn message_to_js(message: &Message) -> JsValue {
    match message {
        Message::Text(text) => JsValue::from_str(text),
        Message::Binary(bytes) => Uint8Array::from(bytes.as_slice()).buffer().into(),
    }
}

/// A binary message as a `Blob` (for `binaryType = "blob"`), or as an `ArrayBuffer` if the
/// browser cannot make one.
pub(crate) fn bytes_to_blob(bytes: &[u8]) -> JsValue {
    let parts = Array::of1(&Uint8Array::from(bytes));
    match Blob::new_with_u8_array_sequence(&parts) {
        Ok(blob) => blob.into(),
        Err(_) => Uint8Array::from(bytes).buffer().into(),
    }
}

/// `typeof`-style words for error messages: "a number", "null", "an array", ...
pub(crate) fn describe(value: &JsValue) -> String {
    if value.is_undefined() {
        "undefined".into()
    } else if value.is_null() {
        "null".into()
    } else if value.as_string().is_some() {
        "a string".into()
    } else if let Some(n) = value.as_f64() {
        format!("the number {}", num(n))
    } else if value.as_bool().is_some() {
        "a boolean".into()
    } else if value.is_function() {
        "a function".into()
    } else if is_array(value) {
        "an array".into()
    } else if value.is_bigint() {
        "a bigint".into()
    } else if value.is_symbol() {
        "a symbol".into()
    } else {
        "an object".into()
    }
}

/// A Promise or anything else with a `then` method (read through `Reflect`, which catches:
/// a getter that throws makes it no thenable).
pub(crate) fn is_thenable(value: &JsValue) -> bool {
    (value.is_object() || value.is_function())
        && js_sys::Reflect::get(value, &"then".into()).is_ok_and(|then| then.is_function())
}

/// A number as JS writes it ("1e+30", "0.5"); Rust's float formatting would add kilobytes.
pub(crate) fn num(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

/// A string in double quotes, for messages (without pulling in `Debug` escaping).
pub(crate) fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// What the app threw or rejected with, in words: its `message`, or itself if a string.
/// Read through `Reflect`, which catches: whatever was thrown (`undefined`, an object whose
/// `message` getter throws) must not throw again in here.
pub(crate) fn thrown_message(e: &JsValue) -> Option<String> {
    crate::browser::string_property(e, "message")
        .or_else(|| e.as_string())
        .filter(|m| !m.is_empty())
}

/// A `TypeError`: a value of the wrong type.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// A `RangeError`: a number or setting out of range.
pub(crate) fn range_error(message: &str) -> JsValue {
    js_sys::RangeError::new(message).into()
}

/// A `DOMException` with this name, like the browser's WebSocket throws.
pub(crate) fn dom_exception(name: &str, message: &str) -> JsValue {
    match DomException::new_with_message_and_name(message, name) {
        Ok(e) => e.into(),
        Err(_) => named_error(name, message).into(),
    }
}

/// `{ code, reason, wasClean }`.
pub(crate) fn close_info(frame: &CloseFrame) -> JsValue {
    let info = Object::new();
    set(&info, "code", &frame.code.into());
    set(&info, "reason", &frame.reason.as_str().into());
    set(&info, "wasClean", &frame.was_clean.into());
    info.into()
}

/// Sets a property on an object we just made; that cannot fail, and if it did the property
/// would only be missing.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// An `Error` with its own `name` (defined: a frozen `Error.prototype` cannot stop it).
fn named_error(name: &str, message: &str) -> js_sys::Error {
    let e = js_sys::Error::new(message);
    define(&e, "name", &name.into(), false);
    e
}

/// An object without a prototype: nothing the page put on `Object.prototype` (a getter, a
/// setter that throws, `get` of a polluted prototype) reaches what is read from it.
pub(crate) fn bare() -> Object {
    Object::create(JsValue::NULL.unchecked_ref())
}

thread_local! {
    /// A property descriptor's keys, made into JS strings once (every event field and
    /// error name is defined with one).
    static DESCRIPTOR_KEYS: [JsValue; 4] = ["value", "enumerable", "writable", "configurable"].map(JsValue::from_str);
}

/// Defines an own property, enumerable, read-only or not: unlike an assignment, nothing on
/// the prototype chain gets in the way (a setter, a frozen `Error.prototype.name`).
pub(crate) fn define(target: &JsValue, key: &str, value: &JsValue, read_only: bool) {
    let descriptor = bare();
    DESCRIPTOR_KEYS.with(|[value_key, enumerable, writable, configurable]| {
        let _ = Reflect::set(&descriptor, value_key, value);
        let _ = Reflect::set(&descriptor, enumerable, &JsValue::TRUE);
        let _ = Reflect::set(&descriptor, writable, &JsValue::from_bool(!read_only));
        let _ = Reflect::set(&descriptor, configurable, &JsValue::from_bool(!read_only));
    });
    if let Some(target) = target.dyn_ref::<Object>() {
        let _ = Reflect::define_property(target, &JsValue::from_str(key), &descriptor);
    }
}

/// The exception for an [`Error`], shaped like what the browser's WebSocket throws where
/// it has an equivalent: a bad URL or close reason is a `SyntaxError`, a bad close code an
/// `InvalidAccessError`, sending on a closed socket an `InvalidStateError` (all
/// `DOMException`s); a bad setting is a `RangeError`. The ends of a socket that were not
/// asked for are `Error`s named `ConnectFailedError`, `ClosedError` and
/// `ReconnectExhaustedError`, with the last close as `close` and the reconnection attempts
/// made as `attempts`. A STOMP `ERROR` frame (or a STOMP exchange that could not complete)
/// is an `Error` named `StompError` with the frame's body as `body`.
pub(crate) fn error(e: &Error) -> JsValue {
    let message = e.to_string();
    match e {
        Error::InvalidUrl(_) | Error::CloseReasonTooLong(_) => {
            dom_exception("SyntaxError", &message)
        }
        Error::Security(_) => dom_exception("SecurityError", &message),
        Error::InvalidState(_) => dom_exception("InvalidStateError", &message),
        Error::InvalidAccess(_) | Error::InvalidCloseCode(_) => {
            dom_exception("InvalidAccessError", &message)
        }
        Error::InvalidConfig(_) => range_error(&message),
        Error::SocketClosed => dom_exception("InvalidStateError", &message),
        Error::ConnectFailed(frame) => ended("ConnectFailedError", &message, frame, 0),
        Error::Closed(frame) => ended("ClosedError", &message, frame, 0),
        Error::ReconnectExhausted { attempts, last } => {
            ended("ReconnectExhaustedError", &message, last, *attempts)
        }
        Error::Browser { name, message } => dom_exception(name, message),
        Error::Stomp { body, .. } => {
            let e = named_error("StompError", &message);
            set(&e, "body", &body.as_str().into());
            e.into()
        }
        _ => js_sys::Error::new(&message).into(),
    }
}

fn ended(name: &str, message: &str, frame: &CloseFrame, attempts: u32) -> JsValue {
    let e = named_error(name, message);
    set(&e, "close", &close_info(frame));
    set(&e, "attempts", &attempts.into());
    e.into()
}
