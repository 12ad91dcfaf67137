//! Browser values into resocket's types: exceptions into [`Error`], event data into
//! [`Message`], URLs resolved against the page. Nothing here panics on what the browser hands over.

use crate::core::Rng;
use crate::{CloseFrame, Error, Message};
use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use std::future::Future;
use std::pin::Pin;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Maps a thrown value by its `DOMException` name. A `DOMException` is an `Error` (its
/// prototype chain goes through `Error.prototype`), so one check reads both kinds.
pub(crate) fn error_from_js(value: JsValue) -> Error {
    if value.is_instance_of::<js_sys::Error>() {
        // Read through `Reflect`, which catches: a getter that throws (an object made with
        // `Object.create(Error.prototype)` by a stand-in WebSocket) must not throw in here,
        // where the socket's state is borrowed.
        let message = string_property(&value, "message").unwrap_or_default();
        return match string_property(&value, "name").unwrap_or_default().as_str() {
            "SyntaxError" => Error::InvalidUrl(message),
            "SecurityError" => Error::Security(message),
            "InvalidStateError" => Error::InvalidState(message),
            "InvalidAccessError" => Error::InvalidAccess(message),
            name => Error::Browser {
                name: name.to_owned(),
                message,
            },
        };
    }
    Error::Browser {
        name: "Error".into(),
        // (Not `{value:?}`: JsValue's Debug brings a kilobyte and a half of JavaScript
        // into every app for a case browsers do not produce.)
        message: value.as_string().unwrap_or_else(|| {
            let kind = value.js_typeof().as_string().unwrap_or_default();
            format!("a thrown {kind} that is not an Error")
        }),
    }
}

#[wasm_bindgen]
extern "C" {
    /// `Uint8Array.prototype.set.call(dst, src)`: copies `src` into `dst`, a view of wasm
    /// memory of the same length.
    #[wasm_bindgen(js_namespace = Uint8Array, js_name = "prototype.set.call")]
    fn copy_into(dst: &mut [u8], src: &Uint8Array);
}

/// The bytes of `src`, copied into wasm memory: two calls into JavaScript (its length, the
/// copy). `Uint8Array::to_vec` makes four (it reads the length three times) and brings in
/// an `assert_eq!` with its formatting code.
pub(crate) fn bytes(src: &Uint8Array) -> Vec<u8> {
    let mut bytes = vec![0; src.length() as usize];
    copy_into(&mut bytes, src);
    bytes
}

/// The message in a `message` event's `data`: text or an `ArrayBuffer`, else `None`.
pub(crate) fn message_data(data: &JsValue) -> Option<Message> {
    if let Some(s) = data.as_string() {
        Some(Message::Text(s))
    } else {
        let buf = data.dyn_ref::<ArrayBuffer>()?;
        Some(Message::Binary(bytes(&Uint8Array::new(buf))))
    }
}

/// A Blob message being read, and its size.
pub(crate) type BlobRead = (Pin<Box<dyn Future<Output = Result<Message, Error>>>>, usize);

/// Starts reading `data` if it is a Blob. Only [`BinaryType::Blob`](super::BinaryType::Blob)
/// makes the browser hand over Blobs, and only choosing it puts this function (and the
/// promise machinery it brings) into an app: see `Builder::binary_type`.
pub(crate) fn read_blob(data: &JsValue) -> Option<BlobRead> {
    let blob = data.dyn_ref::<web_sys::Blob>()?;
    let read = wasm_bindgen_futures::JsFuture::from(blob.array_buffer());
    let message = async move {
        let buf = read.await.map_err(error_from_js)?;
        match buf.dyn_into::<ArrayBuffer>() {
            Ok(buf) => Ok(Message::Binary(bytes(&Uint8Array::new(&buf)))),
            Err(_) => Err(Error::Browser {
                name: "UnsupportedData".into(),
                message: "Blob.arrayBuffer() gave no ArrayBuffer".into(),
            }),
        }
    };
    Some((Box::pin(message), blob.size() as usize))
}

/// The global's `location.href` (a window or a worker), if there is one.
fn base_href() -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &JsValue::from_str("location")).ok()?;
    string_property(&location, "href")
}

/// A string property of any value, read through `Reflect`, which catches (a getter that
/// throws, a revoked `Proxy`): `None` if reading it throws or it is not a string.
pub(crate) fn string_property(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()?
        .as_string()
}

/// The frame of a WebSocket's `close` event, read by property through `Reflect`, whatever
/// its class: Node.js's WebSocket fires a `CloseEvent` of its own, with no global
/// `CloseEvent` to test it against, and a stand-in socket's event whose getter throws, or
/// whose fields are of other types, cannot throw through the socket's code (`Reflect`
/// catches; each value is taken as it is). An event without a close code (1000 to 4999) is
/// taken as an abnormal close, 1006: Deno reports a lost connection with 0.
pub(crate) fn close_frame(event: &web_sys::Event) -> CloseFrame {
    let property = |key: &str| Reflect::get(event, &JsValue::from_str(key)).ok();
    match property("code").and_then(|c| c.as_f64()) {
        Some(code) if (1000.0..=4999.0).contains(&code) => CloseFrame {
            code: code as u16,
            reason: string_property(event, "reason").unwrap_or_default(),
            was_clean: property("wasClean").and_then(|w| w.as_bool()) == Some(true),
        },
        _ => CloseFrame::abnormal(""),
    }
}

/// Whether the `WebSocket` constructor can take `url` as it is: a `ws:` or `wss:` URL with
/// no fragment. The constructor parses it anyway, so resolving it first (four calls into
/// JavaScript and three strings back, on every attempt) would only repeat that; it still
/// refuses a bad one with a `SyntaxError`. (A byte loop for `#`: `contains` would bring
/// in a 350-byte `memchr`.)
pub(crate) fn is_plain_ws(url: &str) -> bool {
    (url.starts_with("ws://") || url.starts_with("wss://")) && !url.bytes().any(|b| b == b'#')
}

/// Resolves `url` against the page and maps http(s) to ws(s), like current browsers do, so
/// relative URLs work in every browser. Errors are the `SyntaxError` the constructor would throw.
pub(crate) fn resolve_url(url: &str) -> Result<String, Error> {
    // An absolute URL needs no base: skip the page lookups (this runs on every attempt).
    let parsed = web_sys::Url::new(url)
        .or_else(|e| match base_href() {
            Some(base) => web_sys::Url::new_with_base(url, &base),
            None => Err(e),
        })
        .map_err(|_| Error::InvalidUrl(format!("\"{url}\" is not a valid URL")))?;
    match parsed.protocol().as_str() {
        "http:" => parsed.set_protocol("ws:"),
        "https:" => parsed.set_protocol("wss:"),
        "ws:" | "wss:" => {}
        other => {
            return Err(Error::InvalidUrl(format!(
                "\"{url}\": the scheme must be ws, wss, http or https, not {other}"
            )))
        }
    }
    let href = parsed.href();
    if !parsed.hash().is_empty() || href.ends_with('#') {
        return Err(Error::InvalidUrl(format!(
            "\"{url}\": a WebSocket URL cannot have a fragment"
        )));
    }
    Ok(href)
}

thread_local! {
    /// The global's `performance`, looked up once: `now()` runs several times per message.
    static PERFORMANCE: Option<web_sys::Performance> =
        Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok());
}

/// Milliseconds on a monotonic clock (`performance.now()`), or the wall clock if absent.
pub(crate) fn now() -> std::time::Duration {
    let ms = PERFORMANCE
        .with(|p| p.as_ref().map(web_sys::Performance::now))
        .unwrap_or_else(js_sys::Date::now);
    // Saturating (NaN and negatives give 0) and panic-free, unlike `from_secs_f64`.
    std::time::Duration::from_micros((ms * 1000.0) as u64)
}

#[wasm_bindgen]
extern "C" {
    /// The global's `navigator` (a `Navigator` in a window, a `WorkerNavigator` in a worker).
    type AnyNavigator;
    /// `onLine`: `None` if the navigator has no such property (any other value is taken
    /// for its truthiness; browsers give a boolean).
    #[wasm_bindgen(method, getter, js_name = onLine)]
    fn on_line(this: &AnyNavigator) -> Option<bool>;
}

thread_local! {
    /// The global's `navigator` if it is an object, looked up once: read on every connect.
    static NAVIGATOR: Option<AnyNavigator> =
        Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
            .ok()
            .filter(JsValue::is_object)
            .map(JsCast::unchecked_into);
}

/// `navigator.onLine`; true where there is no navigator or no such property.
pub(crate) fn browser_online() -> bool {
    NAVIGATOR.with(|n| n.as_ref().and_then(AnyNavigator::on_line)) != Some(false)
}

thread_local! {
    /// Where this thread's socket seeds come from: made on first use.
    static SEEDS: std::cell::Cell<Option<Rng>> = const { std::cell::Cell::new(None) };
}

/// A seed for a socket's random source: the thread's first from `Math.random()`, the
/// next ones drawn from a source seeded by it (no call into JavaScript per socket). Each
/// is a fresh draw, so two sockets' sources do not follow one another.
pub(crate) fn seed() -> u64 {
    SEEDS.with(|cell| {
        let mut seeds = cell.take().unwrap_or_else(|| {
            // 52 random bits in one call (an f64 in [0, 1) carries no more).
            Rng::new((js_sys::Math::random() * 4_503_599_627_370_496.0) as u64)
        });
        let seed = seeds.next_u64();
        cell.set(Some(seeds));
        seed
    })
}
