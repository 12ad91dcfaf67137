//! The constructor's `(url, protocols, options)` into a [`Builder`](crate::Builder), checking
//! every value: a wrong type is a `TypeError`, a bad number a `RangeError`, a bad URL or
//! subprotocol the `SyntaxError` the browser would throw, each naming the option and what it got.

use super::convert::{
    self, describe, dom_exception, num, quoted, range_error, thrown_message, type_error,
};
use super::Busy;
use crate::browser::{later, Failure, Resolve};
use crate::{
    Backoff, Builder, CloseFrame, Error, Heartbeat, InboundOverflow, Jitter, Message, Target,
    WebSocket,
};
use js_sys::{Function, Object, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};

/// An exception thrown by a user callback (or made for its wrong return value), kept to be
/// thrown as it is instead of a made-up [`Error`].
pub(crate) type Stash = Rc<RefCell<Option<JsValue>>>;

/// The parts of the options that the JS layer keeps for itself.
pub(crate) struct Parsed {
    pub(crate) socket: WebSocket,
    pub(crate) blob: bool,
    /// `inboundLimit` is set: messages are taken from the Rust socket only as fast as the
    /// slowest `for await` loop reads them, so that what waits is what the limit bounds.
    pub(crate) paced: bool,
}

const OPTIONS: &[&str] = &[
    "binaryType",
    "reconnect",
    "maxRetries",
    "reconnectIf",
    "heartbeat",
    "highWaterMark",
    "lowWaterMark",
    "queueCapacity",
    "connectTimeout",
    "closeTimeout",
    "inboundLimit",
];

/// What reconnecting-websocket and partysocket call some of these.
const OTHER_NAMES: &[(&str, &str)] = &[
    ("maxReconnectionDelay", "reconnect: { cap }"),
    ("minReconnectionDelay", "reconnect: { base }"),
    ("reconnectionDelayGrowFactor", "reconnect: { factor }"),
    ("minUptime", "reconnect: { stableAfter }"),
    ("connectionTimeout", "connectTimeout"),
    ("maxEnqueuedMessages", "queueCapacity"),
    (
        "startClosed",
        "nothing: create the socket when you want it to connect",
    ),
    (
        "WebSocket",
        "nothing: the browser's WebSocket is always used",
    ),
];

/// Checks the arguments and connects.
pub(crate) fn connect(
    url: &JsValue,
    protocols: &JsValue,
    options: &JsValue,
    busy: &Busy,
    stash: &Stash,
) -> Result<Parsed, JsValue> {
    let protocols = parse_protocols(protocols, "protocols")?;
    let options = object(options, "options")?;
    if let Some(options) = &options {
        check_keys(options, "options", OPTIONS, OTHER_NAMES)?;
    }
    let configured = configure(url, protocols, options.as_ref(), OPTIONS, busy, stash)?;
    // The Rust builder checks the URL (resolved against the page) and the settings again.
    let socket = configured.builder.connect().map_err(|e| {
        stash
            .borrow_mut()
            .take()
            .unwrap_or_else(|| convert::error(&e))
    })?;
    Ok(Parsed {
        socket,
        blob: configured.blob,
        paced: configured.paced,
    })
}

/// What [`configure`] made of the options: the builder, not yet connected.
pub(crate) struct Configured {
    pub(crate) builder: Builder,
    pub(crate) blob: bool,
    /// An inbound limit was set.
    pub(crate) paced: bool,
}

/// The URL and the socket options into a [`Builder`]. Only the options named in `allowed`
/// are read (the caller has checked the keys), so that another API on the socket (STOMP)
/// can take a subset and use the other names for itself. A URL function gets `protocols`
/// as its default subprotocols.
pub(crate) fn configure(
    url: &JsValue,
    protocols: Vec<String>,
    options: Option<&Object>,
    allowed: &[&str],
    busy: &Busy,
    stash: &Stash,
) -> Result<Configured, JsValue> {
    let get = |key: &str| -> Result<JsValue, JsValue> {
        match options {
            Some(o) if allowed.contains(&key) => Reflect::get(o, &key.into()),
            _ => Ok(JsValue::UNDEFINED),
        }
    };

    let mut builder = if let Some(f) = url.dyn_ref::<Function>() {
        let provider = provider(f.clone(), protocols, busy.clone(), stash.clone());
        WebSocket::builder("").target_provider(provider)
    } else {
        WebSocket::builder(&url_string(url, "url")?).protocols(protocols)
    };

    let blob = match get("binaryType")? {
        v if v.is_undefined() => false,
        v => binary_type(&v)?,
    };

    let reconnect = get("reconnect")?;
    let max_retries = get("maxRetries")?;
    if reconnect.as_bool() == Some(false) {
        // Checked all the same: a wrong value is a mistake whether or not it is used.
        if !max_retries.is_undefined() {
            retries(&max_retries, "options.maxRetries")?;
        }
        builder = builder.no_reconnect();
    } else {
        let mut backoff = if reconnect.is_undefined() || reconnect.as_bool() == Some(true) {
            Backoff::new()
        } else {
            let r = settings(&reconnect, "options.reconnect")?;
            backoff(&r)?
        };
        if !max_retries.is_undefined() {
            backoff = backoff.max_retries(retries(&max_retries, "options.maxRetries")?);
        }
        builder = builder.reconnect(backoff);
    }

    let reconnect_if = get("reconnectIf")?;
    if !reconnect_if.is_undefined() {
        let f = function(&reconnect_if, "options.reconnectIf")?;
        let busy = busy.clone();
        builder = builder.reconnect_if(move |frame: &CloseFrame| {
            let info = convert::close_info(frame);
            match busy.answer(&f, &info, "options.reconnectIf") {
                Ok(answer) => answer.is_truthy(),
                // A policy that fails cannot decide: the default does, and it is told.
                Err(e) => {
                    let message = "options.reconnectIf failed: the default policy decided";
                    busy.fault(message.into(), e);
                    crate::default_reconnect_policy(frame)
                }
            }
        });
    }

    let heartbeat = get("heartbeat")?;
    if !(heartbeat.is_undefined() || heartbeat.as_bool() == Some(false)) {
        builder = builder.heartbeat(parse_heartbeat(&heartbeat, busy)?);
    }

    let high = get("highWaterMark")?;
    let low = get("lowWaterMark")?;
    let high = (!high.is_undefined())
        .then(|| count(&high, "options.highWaterMark", 0))
        .transpose()?;
    let low = (!low.is_undefined())
        .then(|| count(&low, "options.lowWaterMark", 0))
        .transpose()?;
    match (high, low) {
        (Some(h), Some(l)) if l > h => {
            return Err(range_error(&format!(
                "options.lowWaterMark ({l}) must not exceed options.highWaterMark ({h})"
            )))
        }
        (Some(h), Some(l)) => builder = builder.high_water_mark(h).low_water_mark(l),
        // The low-water mark follows the high one (`Builder::high_water_mark`).
        (Some(h), None) => builder = builder.high_water_mark(h),
        (None, Some(l)) if l > 1 << 20 => {
            return Err(range_error(&format!(
                "options.lowWaterMark ({l}) must not exceed the high-water mark \
                 (1048576 unless options.highWaterMark says otherwise)"
            )))
        }
        (None, Some(l)) => builder = builder.low_water_mark(l),
        (None, None) => {}
    }

    let capacity = get("queueCapacity")?;
    if !capacity.is_undefined() {
        builder = builder.queue_capacity(count(&capacity, "options.queueCapacity", 1)?);
    }
    let connect_timeout = get("connectTimeout")?;
    if !connect_timeout.is_undefined() {
        builder = builder.connect_timeout(if connect_timeout.is_null() {
            None
        } else {
            Some(millis(&connect_timeout, "options.connectTimeout", false)?)
        });
    }
    let close_timeout = get("closeTimeout")?;
    if !close_timeout.is_undefined() {
        builder = builder.close_timeout(millis(&close_timeout, "options.closeTimeout", false)?);
    }
    let limit = get("inboundLimit")?;
    let paced = !(limit.is_undefined() || limit.is_null());
    if paced {
        let (bytes, on_full) = inbound_limit(&limit)?;
        builder = builder.inbound_limit(bytes, on_full);
    }
    Ok(Configured {
        builder,
        blob,
        paced,
    })
}

/// `inboundLimit: { bytes, onFull }`, both required: how much may wait unread, and whether
/// a full limit closes the connection ("close") or drops what arrives ("drop").
fn inbound_limit(value: &JsValue) -> Result<(usize, InboundOverflow), JsValue> {
    const WHAT: &str = "options.inboundLimit";
    let o = match object(value, WHAT) {
        Ok(Some(o)) => o,
        _ => {
            return Err(type_error(&format!(
                "{WHAT} must be an object such as {{ bytes: 1048576, onFull: \"drop\" }}, not {}",
                describe(value)
            )))
        }
    };
    check_keys(&o, WHAT, &["bytes", "onFull"], &[])?;
    let bytes = Reflect::get(&o, &"bytes".into())?;
    if bytes.is_undefined() {
        return Err(type_error(&format!(
            "{WHAT}.bytes is required: how many bytes of unread messages may wait"
        )));
    }
    let bytes = count(&bytes, &format!("{WHAT}.bytes"), 1)?;
    let on_full = Reflect::get(&o, &"onFull".into())?;
    let on_full = match on_full.as_string().as_deref() {
        Some("close") => InboundOverflow::Close,
        Some("drop") => InboundOverflow::DropNewest,
        _ => {
            return Err(type_error(&format!(
                "{WHAT}.onFull must be \"close\" or \"drop\", not {}",
                match on_full.as_string() {
                    Some(s) => quoted(&s),
                    None => describe(&on_full),
                }
            )))
        }
    };
    Ok((bytes, on_full))
}

/// A `url` function: called with the attempt number (0 first) and an `AbortSignal` before
/// every attempt; returns a URL, or `{ url, protocols }`, or a Promise of one. The signal
/// aborts when the attempt is given up while its Promise is pending (so the token fetch
/// it passed the signal to stops too).
fn provider(
    f: Function,
    protocols: Vec<String>,
    busy: Busy,
    stash: Stash,
) -> impl FnMut(u32) -> Resolve + 'static {
    move |attempt| {
        // All of it as the callback: reading the result (a getter, a Proxy, a URL
        // subclass's `href`, a thenable's `then`) runs the user's code too, while the
        // socket is borrowed.
        busy.call(|| {
            let controller = web_sys::AbortController::new().ok();
            let signal = controller.as_ref().map(|c| JsValue::from(c.signal()));
            let signal = signal.unwrap_or(JsValue::UNDEFINED);
            let value = match f.call2(&JsValue::UNDEFINED, &attempt.into(), &signal) {
                Ok(value) => value,
                Err(e) => return Resolve::Now(Err(failed(&stash, e))),
            };
            if !convert::is_thenable(&value) {
                return Resolve::Now(target(value, &protocols).map_err(|e| failed(&stash, e)));
            }
            // A Promise (an async function): this attempt waits for it. A rejection fails
            // the attempt only; a value that is no target ends the socket, as it would now.
            // Settled through a Promise of our own: its resolve function never throws (what
            // the thenable's `then` throws becomes a rejection, in a job of its own), where
            // `Promise.resolve` would throw here for a Promise with a throwing `constructor`.
            let promise = js_sys::Promise::new(&mut |resolve, _| {
                let _ = resolve.call1(&JsValue::UNDEFINED, &value);
            });
            let (protocols, stash, busy) = (protocols.clone(), stash.clone(), busy.clone());
            let mut abort = AbortOnDrop(controller);
            later(async move {
                let settled = wasm_bindgen_futures::JsFuture::from(promise).await;
                abort.disarm();
                match settled {
                    Ok(value) => {
                        target(value, &protocols).map_err(|e| Failure::End(failed(&stash, e)))
                    }
                    Err(e) => {
                        let reason = match thrown_message(&e) {
                            Some(message) => format!("the url function failed: {message}"),
                            None => "the url function failed".into(),
                        };
                        // The `error` event before the attempt's close, with the rejection.
                        busy.fault(reason.clone(), e);
                        Err(Failure::Attempt(reason))
                    }
                }
            })
        })
    }
}

/// Aborts the url function's signal if dropped while armed: the attempt was given up (a
/// `close()`, `reconnect()`, the connect timeout, the socket let go) before its Promise
/// settled. The abort (whose listeners are the app's code) runs in a task of its own: the
/// drop may come while the socket is borrowed.
struct AbortOnDrop(Option<web_sys::AbortController>);

impl AbortOnDrop {
    /// The Promise settled: nothing to abort.
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            wasm_bindgen_futures::spawn_local(async move {
                let reason = dom_exception("AbortError", "the connection attempt was given up");
                controller.abort_with_reason(&reason);
            });
        }
    }
}

/// The url function failed in a way no attempt can mend: what it threw is kept for the
/// socket's end.
fn failed(stash: &Stash, e: JsValue) -> Error {
    let message = thrown_message(&e).unwrap_or_else(|| "the url function failed".into());
    *stash.borrow_mut() = Some(e);
    Error::InvalidConfig(message)
}

/// The url function's result as a [`Target`]; `protocols`: the constructor's, for a
/// result without its own.
fn target(value: JsValue, protocols: &[String]) -> Result<Target, JsValue> {
    if value.as_string().is_some() || value.is_instance_of::<web_sys::Url>() {
        let url = url_string(&value, "the url function's result")?;
        return Ok(Target {
            url,
            protocols: protocols.to_vec(),
        });
    }
    match object(&value, "the url function's result") {
        Ok(Some(target)) => {
            let url = Reflect::get(&target, &"url".into())?;
            let url = url_string(&url, "the url function's result .url")?;
            let p = Reflect::get(&target, &"protocols".into())?;
            let protocols = if p.is_undefined() {
                protocols.to_vec()
            } else {
                parse_protocols(&p, "the url function's result .protocols")?
            };
            Ok(Target { url, protocols })
        }
        _ => Err(type_error(&format!(
            "the url function must return a string, a URL or {{ url, protocols }}, not {}",
            describe(&value)
        ))),
    }
}

fn url_string(value: &JsValue, what: &str) -> Result<String, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    if value.is_instance_of::<web_sys::Url>() {
        // (`Reflect`, not the `href` binding, which cannot catch: an object made with
        // `Object.create(URL.prototype)` passes the check and throws on `href`.)
        if let Some(href) = Reflect::get(value, &"href".into())?.as_string() {
            return Ok(href);
        }
    }
    Err(type_error(&format!(
        "{what} must be a string, a URL or a function returning one, not {}",
        describe(value)
    )))
}

/// Subprotocols as the WebSocket constructor takes them, checked the same way (tokens,
/// no duplicates) so the error says what is wrong instead of "invalid URL".
pub(crate) fn parse_protocols(value: &JsValue, what: &str) -> Result<Vec<String>, JsValue> {
    let list: Vec<String> = if value.is_undefined() || value.is_null() {
        Vec::new()
    } else if let Some(s) = value.as_string() {
        vec![s]
    } else if convert::is_array(value) {
        // Read through `Reflect`, which catches: the array may be a `Proxy` that throws.
        let length = Reflect::get(value, &"length".into())?
            .as_f64()
            .filter(|n| n.is_finite())
            .unwrap_or(0.0);
        let mut list = Vec::new();
        for i in 0..length.min(u32::MAX as f64) as u32 {
            let item = Reflect::get_u32(value, i)?;
            list.push(item.as_string().ok_or_else(|| {
                type_error(&format!(
                    "{what} must be strings; found {} in the array",
                    describe(&item)
                ))
            })?);
        }
        list
    } else {
        // (Only the constructor's second argument is where options are often put.)
        let hint = if what == "protocols" && value.is_object() && !value.is_function() {
            " (options go third: new ResilientWebSocket(url, protocols, options))"
        } else {
            ""
        };
        return Err(type_error(&format!(
            "{what} must be a string or an array of strings, not {}{hint}",
            describe(value)
        )));
    };
    // The core owns the rule; JS gets the SyntaxError the constructor would throw.
    crate::core::validate_protocols(&list).map_err(|e| match e {
        Error::InvalidConfig(message) => dom_exception("SyntaxError", &message),
        other => dom_exception("SyntaxError", &other.to_string()),
    })?;
    Ok(list)
}

fn binary_type(value: &JsValue) -> Result<bool, JsValue> {
    match value.as_string().as_deref() {
        Some("arraybuffer") => Ok(false),
        Some("blob") => Ok(true),
        _ => Err(type_error(&format!(
            "binaryType must be \"arraybuffer\" or \"blob\", not {}",
            match value.as_string() {
                Some(s) => quoted(&s),
                None => describe(value),
            }
        ))),
    }
}

/// `binaryType` for the setter: `true` for "blob".
pub(crate) fn parse_binary_type(value: &JsValue) -> Result<bool, JsValue> {
    binary_type(value)
}

fn backoff(r: &Object) -> Result<Backoff, JsValue> {
    check_keys(
        r,
        "options.reconnect",
        &[
            "base",
            "factor",
            "cap",
            "jitter",
            "maxRetries",
            "stableAfter",
        ],
        &[],
    )?;
    let get = |key: &str| Reflect::get(r, &key.into());
    let mut b = Backoff::new();
    let (mut base, mut cap) = (Duration::from_secs(1), Duration::from_secs(30));
    let v = get("base")?;
    if !v.is_undefined() {
        base = millis(&v, "options.reconnect.base", false)?;
        b = b.base(base);
    }
    let v = get("cap")?;
    if !v.is_undefined() {
        cap = millis(&v, "options.reconnect.cap", false)?;
        b = b.cap(cap);
    }
    if base > cap {
        return Err(range_error(&format!(
            "options.reconnect.base ({} ms) must not exceed options.reconnect.cap \
             ({} ms; 30000 unless set)",
            num(base.as_secs_f64() * 1000.0),
            num(cap.as_secs_f64() * 1000.0)
        )));
    }
    let v = get("factor")?;
    if !v.is_undefined() {
        let f = v.as_f64().ok_or_else(|| {
            type_error(&format!(
                "options.reconnect.factor must be a number, not {}",
                describe(&v)
            ))
        })?;
        if !(f.is_finite() && f >= 1.0) {
            return Err(range_error(&format!(
                "options.reconnect.factor must be a finite number of at least 1, not {}",
                num(f)
            )));
        }
        b = b.factor(f);
    }
    let v = get("jitter")?;
    if !v.is_undefined() {
        b = b.jitter(match v.as_string().as_deref() {
            Some("full") => Jitter::Full,
            Some("equal") => Jitter::Equal,
            Some("none") => Jitter::None,
            _ => {
                return Err(type_error(&format!(
                    "options.reconnect.jitter must be \"full\", \"equal\" or \"none\", not {}",
                    describe(&v)
                )))
            }
        });
    }
    let v = get("maxRetries")?;
    if !v.is_undefined() {
        b = b.max_retries(retries(&v, "options.reconnect.maxRetries")?);
    }
    let v = get("stableAfter")?;
    if !v.is_undefined() {
        b = b.stable_after(millis(&v, "options.reconnect.stableAfter", true)?);
    }
    Ok(b)
}

fn parse_heartbeat(value: &JsValue, busy: &Busy) -> Result<Heartbeat, JsValue> {
    let mut hb = Heartbeat::default();
    if value.as_bool() != Some(true) {
        let h = settings(value, "options.heartbeat")?;
        check_keys(
            &h,
            "options.heartbeat",
            &["interval", "timeout", "ping", "pong"],
            &[],
        )?;
        let get = |key: &str| Reflect::get(&h, &key.into());
        let v = get("interval")?;
        if !v.is_undefined() {
            hb = hb.interval(millis(&v, "options.heartbeat.interval", false)?);
        }
        let v = get("timeout")?;
        if !v.is_undefined() {
            hb = hb.timeout(millis(&v, "options.heartbeat.timeout", false)?);
        }
        let v = get("ping")?;
        if !v.is_undefined() {
            hb = hb.ping(data_message(&v, "options.heartbeat.ping")?);
        }
        let v = get("pong")?;
        if let Some(f) = v.dyn_ref::<Function>() {
            let (f, busy) = (f.clone(), busy.clone());
            hb = hb.pong_matcher(move |m: &Message| {
                let data = convert::message_to_js(m);
                match busy.answer(&f, &data, "options.heartbeat.pong") {
                    Ok(answer) => answer.is_truthy(),
                    // Not known to be a pong: delivered as a message, never dropped unseen.
                    Err(e) => {
                        let message = "options.heartbeat.pong failed: the message was delivered";
                        busy.fault(message.into(), e);
                        false
                    }
                }
            });
        } else if !v.is_undefined() {
            hb = hb.pong(data_message(&v, "options.heartbeat.pong")?);
        }
    }
    Ok(hb)
}

/// A ping or pong given as a string, an ArrayBuffer or a view (not a Blob: it would have
/// to be read asynchronously).
fn data_message(value: &JsValue, what: &str) -> Result<Message, JsValue> {
    if value.dyn_ref::<web_sys::Blob>().is_none() {
        if let Ok(convert::Payload::Message(m)) = convert::payload(value) {
            return Ok(m);
        }
    }
    Err(type_error(&format!(
        "{what} must be a string, an ArrayBuffer, a TypedArray or a DataView, not {}",
        describe(value)
    )))
}

/// An option that is `true`, `false` or an object of settings, known not to be a boolean.
pub(crate) fn settings(value: &JsValue, what: &str) -> Result<Object, JsValue> {
    match object(value, what) {
        Ok(Some(o)) => Ok(o),
        _ => Err(type_error(&format!(
            "{what} must be true, false or an object, not {}",
            describe(value)
        ))),
    }
}

/// `undefined`/`null` as `None`; otherwise it must be a non-array object.
pub(crate) fn object(value: &JsValue, what: &str) -> Result<Option<Object>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if !value.is_object() || value.is_function() || convert::is_array(value) {
        return Err(type_error(&format!(
            "{what} must be an object, not {}",
            describe(value)
        )));
    }
    Ok(Some(value.clone().unchecked_into()))
}

/// Unknown keys are mistakes (a typo, or another library's name): say so.
pub(crate) fn check_keys(
    object: &Object,
    what: &str,
    known: &[&str],
    others: &[(&str, &str)],
) -> Result<(), JsValue> {
    for key in convert::keys(object)?.iter() {
        let Some(key) = key.as_string() else { continue };
        if known.contains(&key.as_str()) {
            continue;
        }
        let hint = match others.iter().find(|(name, _)| *name == key) {
            Some((_, instead)) => format!("; resocket's equivalent is {instead}"),
            None => format!("; known options: {}", known.join(", ")),
        };
        return Err(type_error(&format!("unknown option {what}.{key}{hint}")));
    }
    Ok(())
}

fn function(value: &JsValue, what: &str) -> Result<Function, JsValue> {
    value
        .clone()
        .dyn_into::<Function>()
        .map_err(|v| type_error(&format!("{what} must be a function, not {}", describe(&v))))
}

fn finite(value: &JsValue, what: &str) -> Result<f64, JsValue> {
    let n = value
        .as_f64()
        .ok_or_else(|| type_error(&format!("{what} must be a number, not {}", describe(value))))?;
    if n.is_nan() {
        return Err(range_error(&format!("{what} must be a number, not NaN")));
    }
    Ok(n)
}

/// A duration in milliseconds.
fn millis(value: &JsValue, what: &str, zero_ok: bool) -> Result<Duration, JsValue> {
    let ms = finite(value, what)?;
    let bad = if zero_ok { ms < 0.0 } else { ms <= 0.0 };
    // A positive value too small for a nanosecond is zero too.
    let d = Duration::try_from_secs_f64(ms / 1000.0)
        .ok()
        .filter(|d| !bad && (zero_ok || !d.is_zero()));
    d.ok_or_else(|| {
        range_error(&format!(
            "{what} must be a number of milliseconds {}, not {}",
            if zero_ok {
                "of at least 0"
            } else {
                "greater than 0"
            },
            num(ms)
        ))
    })
}

/// A whole number from `min` to 2³²−1.
pub(crate) fn count(value: &JsValue, what: &str, min: u32) -> Result<usize, JsValue> {
    let n = finite(value, what)?;
    if n.fract() != 0.0 || n < min as f64 || n > u32::MAX as f64 {
        return Err(range_error(&format!(
            "{what} must be a whole number from {min} to 4294967295, not {}",
            num(n)
        )));
    }
    Ok(n as usize)
}

/// `maxRetries`: a whole number, or `null`/`Infinity` for no limit.
fn retries(value: &JsValue, what: &str) -> Result<Option<u32>, JsValue> {
    if value.is_null() || value.as_f64() == Some(f64::INFINITY) {
        return Ok(None);
    }
    count(value, what, 0).map(|n| Some(n as u32))
}
