//! Browser values into resocket's types: exceptions into [`Error`], event data into
//! [`Message`], URLs resolved against the page. Nothing here panics on what the browser hands over.

use crate::{Error, Message};
use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

/// Maps a thrown value by its `DOMException` name.
pub(crate) fn error_from_js(value: JsValue) -> Error {
    if let Some(e) = value.dyn_ref::<DomException>() {
        let message = e.message();
        return match e.name().as_str() {
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
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return Error::Browser {
            name: e.name().into(),
            message: e.message().into(),
        };
    }
    Error::Browser {
        name: "Error".into(),
        message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
    }
}

/// What a `message` event carried.
pub(crate) enum Data {
    Message(Message),
    /// To be read asynchronously, in order.
    Blob(web_sys::Blob),
    Unknown,
}

pub(crate) fn message_data(data: JsValue) -> Data {
    if let Some(s) = data.as_string() {
        Data::Message(Message::Text(s))
    } else if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
        Data::Message(Message::Binary(Uint8Array::new(buf).to_vec()))
    } else if let Ok(blob) = data.dyn_into::<web_sys::Blob>() {
        Data::Blob(blob)
    } else {
        Data::Unknown
    }
}

/// The global's `location.href` (a window or a worker), if there is one.
fn base_href() -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &JsValue::from_str("location")).ok()?;
    Reflect::get(&location, &JsValue::from_str("href"))
        .ok()?
        .as_string()
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

/// `navigator.onLine`; true where there is no navigator or no such property.
pub(crate) fn browser_online() -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("onLine")))
        .map(|v| v.as_bool() != Some(false))
        .unwrap_or(true)
}

/// A seed for the per-socket random source.
pub(crate) fn seed() -> u64 {
    // 52 random bits in one call (an f64 in [0, 1) carries no more); SplitMix64 spreads them.
    (js_sys::Math::random() * 4_503_599_627_370_496.0) as u64
}
