//! `StompClient` for JavaScript (features `js` and `stomp`): the Rust
//! [`StompClient`](crate::stomp::StompClient) behind a Promise-based class shaped like what
//! @stomp/stompjs users know (`subscribe(destination, callback)`, `message.body`,
//! `message.ack()`, transactions), with resocket's habits: every argument checked (a wrong
//! one is a `TypeError` naming it), Rust errors as the JS errors of `convert.rs`, the socket
//! options of `ResilientWebSocket` (parsed by `options.rs`), and no callback kept once the
//! client or the subscription has ended.
//!
//! Lifetimes, like the browser's WebSocket: the client lives until `disconnect()` (or until
//! its connection ends for good), whether or not JS keeps a reference to it; a subscription
//! until `unsubscribe()`, a `break` out of its `for await`, or the client's end. Then every
//! task ends and drops the callbacks it held.

use super::convert::{self, describe, dom_exception, quoted, type_error};
use super::events::{self, Listeners};
use super::iter::{Inbox, MessageIterator};
use super::options::{self, Stash};
use super::{promise, Busy};
use crate::stomp::{
    or_timeout, AckMode, ConnectOptions, StompClient, StompEvent, StompMessage, Subscription,
    Transaction,
};
use crate::{Error, Event, Message, Sender, State};
use futures_core::Stream;
use js_sys::{ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The options of `ResilientWebSocket` that make sense under STOMP. Not `binaryType`
/// (frames are decoded here), `heartbeat` (STOMP has its own: the name is taken by it) or
/// `reconnectIf` (the client retries every close but a refused `CONNECT`).
const SOCKET_OPTIONS: &[&str] = &[
    "reconnect",
    "maxRetries",
    "highWaterMark",
    "lowWaterMark",
    "queueCapacity",
    "connectTimeout",
    "closeTimeout",
];

/// Every key of `StompClient.connect(url, options)`.
const OPTIONS: &[&str] = &[
    "login",
    "passcode",
    "host",
    "heartbeat",
    "headers",
    "unreadLimit",
    "reconnect",
    "maxRetries",
    "highWaterMark",
    "lowWaterMark",
    "queueCapacity",
    "connectTimeout",
    "closeTimeout",
    "signal",
];

/// What @stomp/stompjs (and ResilientWebSocket) call some of these.
const OTHER_NAMES: &[(&str, &str)] = &[
    (
        "brokerURL",
        "the first argument: StompClient.connect(url, options)",
    ),
    ("connectHeaders", "login, passcode, host and headers"),
    ("heartbeatIncoming", "heartbeat: { incoming }"),
    ("heartbeatOutgoing", "heartbeat: { outgoing }"),
    ("reconnectDelay", "reconnect: { base }"),
    (
        "reconnectIf",
        "nothing: the client reconnects after every close but a refused CONNECT",
    ),
    (
        "binaryType",
        "nothing: every message has both body (a string) and binaryBody (a Uint8Array)",
    ),
    (
        "inboundLimit",
        "the broker's own flow control: subscribe with { ack: \"client\" } (or \
         \"client-individual\") and headers: { \"prefetch-count\": \"10\" }, and the broker \
         sends at most that many unacknowledged messages (a limit on the socket could only \
         drop frames, receipts and CONNECTED among them); in \"auto\" ack, unreadLimit: the \
         most bytes a subscription keeps unread before it is ended",
    ),
];

/// Headers the client writes itself in `CONNECT`.
const CONNECT_HEADERS: &[(&str, &str)] = &[
    ("accept-version", "the client speaks STOMP 1.2"),
    ("host", "use options.host"),
    ("login", "use options.login"),
    ("passcode", "use options.passcode"),
    ("heart-beat", "use options.heartbeat"),
];

/// Headers the client writes itself in `SEND`.
const SEND_HEADERS: &[(&str, &str)] = &[
    ("destination", "it is the first argument"),
    ("receipt", "use sendWithReceipt()"),
    (
        "transaction",
        "send through begin()'s transaction, which keeps the frame to its session",
    ),
];

/// Headers the client writes itself in `SUBSCRIBE`.
const SUBSCRIBE_HEADERS: &[(&str, &str)] = &[
    ("id", "the client numbers subscriptions itself"),
    ("destination", "it is the first argument"),
    ("ack", "use options.ack"),
];

fn done(f: impl Future<Output = Result<(), Error>> + 'static) -> Promise {
    promise(async move {
        f.await
            .map(|()| JsValue::UNDEFINED)
            .map_err(|e| convert::error(&e))
    })
}

fn invalid_state(message: &str) -> JsValue {
    dom_exception("InvalidStateError", message)
}

/// `reportError()`: what the browser does with an exception from an event listener, for
/// one from a subscription callback. Where there is none (Node.js), a rejected Promise
/// that nobody handles: Node reports it as it reports a throwing event listener (an
/// uncaught error, which ends the process unless the app handles it).
fn report(error: &JsValue) {
    match Reflect::get(&js_sys::global(), &"reportError".into()) {
        Ok(f) if f.is_function() => {
            let _ = f
                .unchecked_ref::<Function>()
                .call1(&JsValue::UNDEFINED, error);
        }
        _ => drop(js_sys::Promise::reject(error)),
    }
}

/// A value that async operations borrow (an `Rc` each, for as long as they run) and that
/// one last operation takes back whole once they have finished: the client for
/// `disconnect()`, a transaction for `commit()`/`abort()`. So those go out after every
/// operation started before them, and nothing starts after them.
struct Owned<T> {
    value: RefCell<Option<Rc<T>>>,
    idle: RefCell<Vec<Waker>>,
}

impl<T> Owned<T> {
    fn new(value: T) -> Rc<Self> {
        Rc::new(Owned {
            value: RefCell::new(Some(Rc::new(value))),
            idle: RefCell::default(),
        })
    }

    fn get(&self) -> Option<Rc<T>> {
        self.value.borrow().clone()
    }

    fn lease(self: &Rc<Self>) -> Option<Lease<T>> {
        Some(Lease {
            value: self.get()?,
            owner: self.clone(),
        })
    }

    /// Takes the value out at once (no lease is given from now on, in the same tick
    /// either); the future has it whole once the leases running now have ended.
    fn take(self: &Rc<Self>) -> impl Future<Output = Option<T>> {
        let value = self.value.borrow_mut().take();
        let owner = self.clone();
        async move {
            let value = value?;
            poll_fn(|cx| {
                if Rc::strong_count(&value) == 1 {
                    Poll::Ready(())
                } else {
                    owner.idle.borrow_mut().push(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
            Rc::try_unwrap(value).ok()
        }
    }
}

/// An operation's share of an [`Owned`] value.
struct Lease<T> {
    value: Rc<T>,
    owner: Rc<Owned<T>>,
}

impl<T> std::ops::Deref for Lease<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Lease<T> {
    fn drop(&mut self) {
        // A woken task runs later, from the executor's queue: this lease is gone by then.
        let idle = std::mem::take(&mut *self.owner.idle.borrow_mut());
        idle.into_iter().for_each(Waker::wake);
    }
}

/// A destination: a non-empty string without NUL.
fn destination(value: &JsValue) -> Result<String, JsValue> {
    match value.as_string() {
        Some(d) if d.contains('\0') => Err(type_error(
            "the destination must not hold a NUL character (it would end the STOMP frame)",
        )),
        Some(d) if !d.is_empty() => Ok(d),
        Some(_) => Err(type_error("the destination must not be empty")),
        None => Err(type_error(&format!(
            "the destination must be a string such as \"/queue/orders\", not {}",
            describe(value)
        ))),
    }
}

/// A body: a string (sent as UTF-8), an ArrayBuffer, a TypedArray or a DataView; nothing
/// for an empty one.
fn body(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if value.is_string() || ArrayBuffer::is_view(value) || convert::is_array_buffer(value) {
        // (What `send()` takes, but a Blob: its errors, a detached buffer's, are thrown.)
        match convert::payload(value)? {
            convert::Payload::Message(Message::Text(text)) => return Ok(text.into_bytes()),
            convert::Payload::Message(Message::Binary(bytes)) => return Ok(bytes),
            convert::Payload::Blob(..) => {}
        }
    }
    let hint = if value.dyn_ref::<web_sys::Blob>().is_some() {
        " (read a Blob first: await blob.arrayBuffer())"
    } else {
        ""
    };
    Err(type_error(&format!(
        "the body must be a string, an ArrayBuffer, a TypedArray or a DataView, not {}{hint}",
        describe(value)
    )))
}

/// Headers as a plain object of strings; `reserved` are written by the client itself.
fn headers(
    value: &JsValue,
    what: &str,
    reserved: &[(&str, &str)],
) -> Result<Vec<(String, String)>, JsValue> {
    let Some(object) = options::object(value, what)? else {
        return Ok(Vec::new());
    };
    let mut list = Vec::new();
    for key in convert::keys(&object)?.iter() {
        let Some(name) = key.as_string() else {
            continue;
        };
        if let Some((_, instead)) = reserved.iter().find(|(n, _)| *n == name) {
            return Err(type_error(&format!(
                "{what} must not set {}: {instead}",
                quoted(&name)
            )));
        }
        let v = Reflect::get(&object, &key)?;
        let v = v.as_string().ok_or_else(|| {
            type_error(&format!(
                "{what}[{}] must be a string, not {}",
                quoted(&name),
                describe(&v)
            ))
        })?;
        if name.contains('\0') || v.contains('\0') {
            return Err(type_error(&format!(
                "{what}[{}] must not hold a NUL character (it would end the STOMP frame)",
                quoted(&name)
            )));
        }
        list.push((name, v));
    }
    Ok(list)
}

fn borrowed(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

fn ack_mode(value: &JsValue) -> Result<AckMode, JsValue> {
    match value.as_string().as_deref() {
        _ if value.is_undefined() => Ok(AckMode::Auto),
        Some("auto") => Ok(AckMode::Auto),
        Some("client") => Ok(AckMode::Client),
        Some("client-individual") => Ok(AckMode::ClientIndividual),
        _ => Err(type_error(&format!(
            "options.ack must be \"auto\", \"client\" or \"client-individual\", not {}",
            match value.as_string() {
                Some(s) => quoted(&s),
                None => describe(value),
            }
        ))),
    }
}

/// The STOMP part of the options into [`ConnectOptions`].
fn connect_options(options: Option<&Object>) -> Result<ConnectOptions, JsValue> {
    let mut c = ConnectOptions::new();
    let Some(o) = options else { return Ok(c) };
    let get = |key: &str| Reflect::get(o, &key.into());
    let string = |key: &str| -> Result<Option<String>, JsValue> {
        let v = get(key)?;
        if v.is_undefined() {
            return Ok(None);
        }
        v.as_string().map(Some).ok_or_else(|| {
            type_error(&format!(
                "options.{key} must be a string, not {}",
                describe(&v)
            ))
        })
    };
    c.login = string("login")?;
    c.passcode = string("passcode")?;
    if let Some(host) = string("host")? {
        c.host = host;
    }
    let hb = get("heartbeat")?;
    if hb.as_bool() == Some(false) {
        c.heart_beat = (0, 0);
    } else if !(hb.is_undefined() || hb.as_bool() == Some(true)) {
        let h = options::settings(&hb, "options.heartbeat")?;
        options::check_keys(&h, "options.heartbeat", &["outgoing", "incoming"], &[])?;
        let ms = |key: &str| -> Result<Option<u32>, JsValue> {
            let v = Reflect::get(&h, &key.into())?;
            if v.is_undefined() {
                return Ok(None);
            }
            Ok(Some(
                options::count(&v, &format!("options.heartbeat.{key}"), 0)? as u32,
            ))
        };
        if let Some(out) = ms("outgoing")? {
            c.heart_beat.0 = out;
        }
        if let Some(inc) = ms("incoming")? {
            c.heart_beat.1 = inc;
        }
    }
    c.headers = headers(&get("headers")?, "options.headers", CONNECT_HEADERS)?;
    let limit = get("unreadLimit")?;
    if !limit.is_undefined() {
        c.unread_limit = Some(options::count(&limit, "options.unreadLimit", 1)?);
    }
    Ok(c)
}

/// "connecting", "open", ... as `ResilientWebSocket.state` says them.
fn state_name(state: State) -> &'static str {
    match state {
        State::Connecting => "connecting",
        State::Open => "open",
        State::Reconnecting { .. } => "reconnecting",
        State::Closing => "closing",
        State::Closed => "closed",
    }
}

/// Everything one JS `StompClient` shares with its tasks.
struct Client {
    stomp: Rc<Owned<StompClient>>,
    /// The socket underneath, for its state (also once `disconnect()` took the client).
    sender: Sender,
    listeners: Listeners,
    busy: Busy,
    stash: Stash,
    disconnecting: Cell<bool>,
    /// The error that ended the client, as a subscription heard it.
    end_error: RefCell<Option<Error>>,
    /// Subscription tasks still running, and the task waiting for them to end.
    live_subs: Cell<usize>,
    subs_done: RefCell<Option<Waker>>,
}

impl Client {
    fn check_not_busy(&self) -> Result<(), JsValue> {
        if self.busy.get() {
            return Err(invalid_state(
                "a StompClient cannot be used from inside its own url callback",
            ));
        }
        Ok(())
    }

    /// The client for an operation, unless `disconnect()` was called.
    fn lease(&self) -> Result<Lease<StompClient>, JsValue> {
        self.check_not_busy()?;
        self.stomp
            .lease()
            .ok_or_else(|| invalid_state("the StompClient is disconnected"))
    }

    fn dispatch(&self, event: Option<web_sys::Event>) {
        self.listeners.dispatch(event);
    }

    /// The STOMP session's events: `connect` for each session after the first (the one
    /// `connect()` resolved with), `error` for each `ERROR` frame.
    fn on_stomp_event(&self, event: StompEvent) {
        match event {
            StompEvent::Connected { session, headers } if session > 1 => {
                let headers = headers_object(&headers);
                self.dispatch(events::plain("connect", &[("headers", headers.into())]));
            }
            StompEvent::Error(error) => {
                let js = convert::error(&error);
                self.dispatch(events::error(&error.to_string(), &js));
            }
            _ => {}
        }
    }

    fn on_event(&self, event: Event) {
        match event {
            Event::Close(frame) => self.dispatch(events::close(&frame)),
            Event::Reconnecting { attempt, delay } => {
                let fields = [
                    ("attempt", attempt.into()),
                    ("delay", (delay.as_secs_f64() * 1000.0).into()),
                ];
                self.dispatch(events::plain("reconnecting", &fields));
            }
            _ => {}
        }
    }
}

enum Watched {
    Socket(Event),
    Stomp(StompEvent),
    /// A url function's Promise rejected (`Busy::fault`): an `error` event before the
    /// attempt's close.
    Fault(String, JsValue),
}

/// Turns the socket's and the session's events into DOM events until the socket is closed
/// for good, then reports an end that was not asked for. It holds the client, so the client
/// lives while connected.
async fn watch(
    core: Rc<Client>,
    mut events: impl Stream<Item = Event> + Unpin,
    mut session: impl Stream<Item = StompEvent> + Unpin,
) {
    let (mut events_done, mut session_done) = (false, false);
    // What failed before there was a client to listen (an attempt of `connect()`'s whose
    // url function rejected): `connect()` settled with how the connecting ended.
    while core.busy.take_fault().is_some() {}
    loop {
        let next = poll_fn(|cx| {
            if let Some((message, error)) = core.busy.take_fault() {
                return Poll::Ready(Some(Watched::Fault(message, error)));
            }
            if !events_done {
                match Pin::new(&mut events).poll_next(cx) {
                    Poll::Ready(Some(e)) => return Poll::Ready(Some(Watched::Socket(e))),
                    Poll::Ready(None) => events_done = true,
                    Poll::Pending => {}
                }
            }
            if !session_done {
                match Pin::new(&mut session).poll_next(cx) {
                    Poll::Ready(Some(e)) => return Poll::Ready(Some(Watched::Stomp(e))),
                    Poll::Ready(None) => session_done = true,
                    Poll::Pending => {}
                }
            }
            if events_done && session_done {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await;
        match next {
            Some(Watched::Socket(e)) => core.on_event(e),
            Some(Watched::Stomp(e)) => core.on_stomp_event(e),
            Some(Watched::Fault(message, error)) => {
                core.dispatch(events::error(&message, &error));
            }
            None => break,
        }
    }
    // Closed for good. The subscriptions end now too; one of them may hold the error.
    poll_fn(|cx| {
        if core.live_subs.get() == 0 {
            Poll::Ready(())
        } else {
            *core.subs_done.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await;
    if !core.disconnecting.get() {
        // Unless a subscription heard it, the socket's own error (`opened()` is ready now).
        let error = match core.end_error.take() {
            Some(e) => e,
            None => core
                .sender
                .opened()
                .await
                .err()
                .unwrap_or(Error::SocketClosed),
        };
        let js = core
            .stash
            .borrow_mut()
            .take()
            .unwrap_or_else(|| convert::error(&error));
        core.dispatch(events::error(&error.to_string(), &js));
    }
    // Nothing is dispatched any more: the listeners are let go (see `Listeners`).
    core.listeners.release();
}

/// A STOMP 1.2 client over a `ResilientWebSocket`: subscriptions survive reconnections
/// (the client sends `CONNECT` and `SUBSCRIBE` again), frames wait for a session instead of
/// failing. See the TypeScript declarations for the full contract.
#[wasm_bindgen(js_name = StompClient, skip_typescript)]
pub struct JsStompClient {
    core: Rc<Client>,
}

/// `options.signal` of `StompClient.connect()`: an `AbortSignal` that stops it while it
/// waits (for a broker that stays away, it retries for ever by default).
struct Abort {
    signal: web_sys::AbortSignal,
    /// Removed when this is dropped: once `connect()` settled, or gave up.
    _listener: crate::browser::Listener,
    aborted: futures_channel::oneshot::Receiver<()>,
}

impl Abort {
    /// `None` without a signal; the signal's reason as the error if it is aborted already.
    fn new(value: &JsValue) -> Result<Option<Abort>, JsValue> {
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        let signal: web_sys::AbortSignal = value.clone().dyn_into().map_err(|v| {
            type_error(&format!(
                "options.signal must be an AbortSignal, not {}",
                describe(&v)
            ))
        })?;
        // (Read through `Reflect`, which catches: the check passes an object made with
        // `Object.create(AbortSignal.prototype)`, whose getters throw.)
        if Reflect::get(&signal, &"aborted".into())?.is_truthy() {
            return Err(Reflect::get(&signal, &"reason".into())?);
        }
        let (tx, aborted) = futures_channel::oneshot::channel();
        let mut tx = Some(tx);
        let _listener = crate::browser::Listener::new(&signal, &["abort"], move |_| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(());
            }
        });
        Ok(Some(Abort {
            signal,
            _listener,
            aborted,
        }))
    }

    /// `work`'s result, or the signal's reason as the error once it is aborted (`work` is
    /// dropped then).
    async fn stop<T>(mut self, work: impl Future<Output = T>) -> Result<T, JsValue> {
        let mut work = std::pin::pin!(work);
        let aborted = poll_fn(|cx| {
            if Pin::new(&mut self.aborted).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await;
        match aborted {
            Some(done) => Ok(done),
            None => Err(Reflect::get(&self.signal, &"reason".into()).unwrap_or_default()),
        }
    }
}

#[wasm_bindgen(js_class = StompClient)]
impl JsStompClient {
    /// Connects to the broker's WebSocket endpoint and resolves once it answered
    /// `CONNECTED`; rejects with a `StompError` if it answered `ERROR`, or with the error
    /// that ended the socket first.
    pub fn connect(url: JsValue, options: JsValue) -> Promise {
        let busy = Busy::default();
        let stash = Stash::default();
        let setup = (|| {
            if url.is_object()
                && !url.is_function()
                && url.dyn_ref::<web_sys::Url>().is_none()
                && options.is_undefined()
            {
                return Err(type_error(
                    "StompClient.connect takes the broker's URL first: \
                     StompClient.connect(url, options)",
                ));
            }
            let options = options::object(&options, "options")?;
            if let Some(o) = &options {
                options::check_keys(o, "options", OPTIONS, OTHER_NAMES)?;
            }
            let signal = match &options {
                Some(o) => Abort::new(&Reflect::get(o, &"signal".into())?)?,
                None => None,
            };
            let stomp = connect_options(options.as_ref())?;
            let socket = options::configure(
                &url,
                vec!["v12.stomp".into()],
                options.as_ref(),
                SOCKET_OPTIONS,
                &busy,
                &stash,
            )?;
            Ok((socket.builder, stomp, signal))
        })();
        let (builder, stomp, signal) = match setup {
            Ok(s) => s,
            Err(e) => return Promise::reject(&e),
        };
        promise(async move {
            let connecting = StompClient::connect(builder, stomp);
            let connected = match signal {
                None => connecting.await,
                // Aborted: the attempt in progress and the socket go with `connecting`.
                Some(signal) => signal.stop(connecting).await?,
            };
            let client = connected.map_err(|e| {
                stash
                    .borrow_mut()
                    .take()
                    .unwrap_or_else(|| convert::error(&e))
            })?;
            let sender = client.socket().clone();
            let events = sender.events();
            // Subscribed before anything else can happen: the first session's `Connected`
            // comes first, and is not announced (`connect()` resolves with it).
            let session = client.events();
            let core = Rc::new(Client {
                stomp: Owned::new(client),
                sender,
                listeners: Listeners::new()?,
                busy,
                stash,
                disconnecting: Cell::new(false),
                end_error: RefCell::new(None),
                live_subs: Cell::new(0),
                subs_done: RefCell::new(None),
            });
            wasm_bindgen_futures::spawn_local(watch(core.clone(), events, session));
            Ok(JsStompClient { core }.into())
        })
    }

    /// Whether a STOMP session is up right now.
    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> bool {
        !self.core.busy.get() && self.core.stomp.get().is_some_and(|c| c.is_connected())
    }

    /// The socket's state: "connecting", "open", "reconnecting", "closing" or "closed".
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        if self.core.busy.get() {
            // Only a URL callback runs while busy: an attempt is starting.
            return "connecting".into();
        }
        state_name(self.core.sender.state()).into()
    }

    /// Subscribes to `destination`; `callback` gets every message. Without a callback,
    /// the subscription is an async iterable of its messages (kept from now on).
    pub fn subscribe(
        &self,
        destination: JsValue,
        callback: JsValue,
        options: JsValue,
    ) -> Result<JsSubscription, JsValue> {
        let dest = self::destination(&destination)?;
        // `subscribe(destination, options)` too, for `for await`.
        let (callback, options) =
            if options.is_undefined() && callback.is_object() && !callback.is_function() {
                (JsValue::UNDEFINED, callback)
            } else {
                (callback, options)
            };
        let callback = if callback.is_undefined() || callback.is_null() {
            None
        } else {
            Some(callback.dyn_into::<Function>().map_err(|v| {
                type_error(&format!(
                    "the callback must be a function, not {}",
                    describe(&v)
                ))
            })?)
        };
        let (ack, extra) = match options::object(&options, "options")? {
            None => (AckMode::Auto, Vec::new()),
            Some(o) => {
                options::check_keys(&o, "options", &["ack", "headers"], &[])?;
                (
                    ack_mode(&Reflect::get(&o, &"ack".into())?)?,
                    headers(
                        &Reflect::get(&o, &"headers".into())?,
                        "options.headers",
                        SUBSCRIBE_HEADERS,
                    )?,
                )
            }
        };
        let client = self.core.lease()?;
        let rust = client.subscribe_limited(&dest, ack, &borrowed(&extra), callback.is_none());
        let inbox = callback.is_none().then(|| Rc::new(Inbox::default()));
        let sub = Rc::new(Sub {
            client: Rc::downgrade(&self.core),
            id: rust.id(),
            destination: dest,
            ack,
            rust: RefCell::new(Some(rust)),
            callback: RefCell::new(callback),
            inbox: inbox.as_ref().map(Rc::downgrade),
            waker: RefCell::new(None),
        });
        self.core.live_subs.set(self.core.live_subs.get() + 1);
        wasm_bindgen_futures::spawn_local(deliver(sub.clone()));
        Ok(JsSubscription { sub, inbox })
    }

    /// Sends `body` to `destination`; resolves once the frame was handed to the socket
    /// (after waiting for a STOMP session and for backpressure), not when the broker got it.
    pub fn send(&self, destination: JsValue, body: JsValue, headers: JsValue) -> Promise {
        self.publish(destination, body, headers, false)
    }

    /// Like `send`, with a `receipt` header: resolves when the broker's `RECEIPT` came;
    /// rejects with a `StompError` on an `ERROR` or if the connection was lost first.
    #[wasm_bindgen(js_name = sendWithReceipt)]
    pub fn send_with_receipt(
        &self,
        destination: JsValue,
        body: JsValue,
        headers: JsValue,
    ) -> Promise {
        self.publish(destination, body, headers, true)
    }

    /// Begins a transaction (in the current STOMP session).
    pub fn begin(&self) -> Promise {
        let client = match self.core.lease() {
            Ok(c) => c,
            Err(e) => return Promise::reject(&e),
        };
        let busy = self.core.busy.clone();
        promise(async move {
            let tx = client.begin().await.map_err(|e| convert::error(&e))?;
            drop(client);
            Ok(JsTransaction {
                id: tx.id().to_owned(),
                tx: Owned::new(tx),
                busy,
            }
            .into())
        })
    }

    /// With a session up, ends gracefully once the operations started before have handed
    /// their frames over (at most `closeTimeout`: then the socket closes, which fails them)
    /// and `DISCONNECT` with a receipt (again at most `closeTimeout`), then the socket
    /// closes with 1000.
    /// Without one (the connection is down), ends at once: the socket closes for good and
    /// the operations still waiting for a session reject. From the call on, a lost
    /// connection is the end (no reconnection), so it never waits for a broker that is
    /// gone. Subscriptions end, their callbacks are released. Rejects if the broker could
    /// not confirm (disconnected either way); resolves at once if already disconnected.
    pub fn disconnect(&self) -> Promise {
        if let Err(e) = self.core.check_not_busy() {
            return Promise::reject(&e);
        }
        self.core.disconnecting.set(true);
        if let Some(client) = self.core.stomp.get() {
            // The operations started before may hold the client for a while (a receipt may
            // wait for the next session): whatever ends the connection meanwhile ends the
            // client, instead of reconnecting after the application asked to disconnect.
            client.stop_reconnecting();
            if !client.is_connected() {
                // Nothing to wait for: the operations that hold the client wait for a
                // session that will not come. Closing now makes them fail, so the client is
                // free to take (the Rust `disconnect` then finds no session and only counts
                // what was lost).
                drop(self.core.sender.close(1000, ""));
            }
        }
        let ms = self.core.stomp.get().map_or(1, |client| client.close_ms());
        let taken = self.core.stomp.take();
        let sender = self.core.sender.clone();
        promise(async move {
            // The operations started before may wait for a broker that never answers (a
            // receipt): after the close timeout the socket closes, which fails them.
            let mut taken = std::pin::pin!(taken);
            let taken = match or_timeout(taken.as_mut(), ms).await {
                Some(taken) => Ok(taken),
                None => {
                    drop(sender.close(1000, ""));
                    let _ = taken.await;
                    Err(Error::Stomp {
                        message: format!(
                            "the operations started before disconnect() did not finish \
                             within {ms} ms: the connection was closed"
                        ),
                        body: String::new(),
                    })
                }
            };
            let result = match taken {
                Ok(Some(client)) => client.disconnect().await,
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            result
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| convert::error(&e))
        })
    }

    /// Drops the connection and connects again now: a new session (`connect` fires for
    /// it) with every live subscription subscribed again, e.g. with a new token from a
    /// `url` function. `code` and `reason` as for the socket's `close()`, with its errors;
    /// the socket's `reconnect()` underneath. After `disconnect()`, or once the client has
    /// ended, an `InvalidStateError`.
    pub fn reconnect(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        self.core.check_not_busy()?;
        let (code, reason) = super::socket::close_args(&code, &reason)?;
        if self.core.disconnecting.get() {
            return Err(invalid_state("the StompClient is disconnected"));
        }
        (self.core.sender)
            .reconnect(code, &reason)
            .map_err(|e| convert::error(&e))
    }

    /// `EventTarget.addEventListener`: `connect`, `reconnecting`, `close`, `error`.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: JsValue,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        (self.core.listeners).call("addEventListener", &[kind, listener, options])
    }

    /// `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        kind: JsValue,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        (self.core.listeners).call("removeEventListener", &[kind, listener, options])
    }

    /// `EventTarget.dispatchEvent`.
    #[wasm_bindgen(js_name = dispatchEvent)]
    pub fn dispatch_event(&self, event: JsValue) -> Result<bool, JsValue> {
        self.core.listeners.dispatch_checked(event)
    }
}

impl JsStompClient {
    fn publish(
        &self,
        destination: JsValue,
        body: JsValue,
        headers: JsValue,
        receipt: bool,
    ) -> Promise {
        let parsed = (|| {
            Ok::<_, JsValue>((
                self::destination(&destination)?,
                self::body(&body)?,
                self::headers(&headers, "headers", SEND_HEADERS)?,
                self.core.lease()?,
            ))
        })();
        let (dest, body, headers, client) = match parsed {
            Ok(p) => p,
            Err(e) => return Promise::reject(&e),
        };
        done(async move {
            let headers = borrowed(&headers);
            if receipt {
                client.send_with_receipt(&dest, body, &headers).await
            } else {
                client.send(&dest, body, &headers).await
            }
        })
    }
}

/// One subscription, shared by its JS object and the task that delivers its messages.
struct Sub {
    client: Weak<Client>,
    id: String,
    destination: String,
    ack: AckMode,
    /// `None` once unsubscribed (dropping it sent `UNSUBSCRIBE`).
    rust: RefCell<Option<Subscription>>,
    callback: RefCell<Option<Function>>,
    /// Without a callback: where messages wait for `for await`. Weak: once neither the
    /// subscription object nor an iterator is left, nobody can read them.
    inbox: Option<Weak<Inbox>>,
    waker: RefCell<Option<Waker>>,
}

impl Sub {
    fn unsubscribe(&self) {
        let rust = self.rust.borrow_mut().take();
        drop(rust);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<StompMessage, Error>>> {
        if let Some(inbox) = &self.inbox {
            match inbox.upgrade() {
                Some(inbox) if !inbox.is_stopped() => inbox.watch(cx.waker()),
                // `break` out of the `for await`, or nobody left to read: unsubscribe.
                _ => return Poll::Ready(None),
            }
        }
        let mut rust = self.rust.borrow_mut();
        let Some(rust) = rust.as_mut() else {
            return Poll::Ready(None);
        };
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Pin::new(rust).poll_next(cx)
    }

    fn on_message(&self, message: StompMessage) {
        let inbox = self.inbox.as_ref().and_then(Weak::upgrade);
        // Counted against `unreadLimit` while it waits for `for await`.
        let held = match &inbox {
            Some(_) => self
                .rust
                .borrow()
                .as_ref()
                .and_then(|rust| rust.hold(&message))
                .map(|held| Box::new(held) as Box<dyn std::any::Any>),
            None => None,
        };
        let message: JsValue = JsMessage {
            message: Rc::new(message),
            ack: self.ack,
        }
        .into();
        if let Some(inbox) = inbox {
            inbox.push_held(message, held);
            return;
        }
        let callback = self.callback.borrow().clone();
        if let Some(f) = callback {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, &message) {
                report(&e);
            }
        }
    }

    /// An `Err` item: a broker `ERROR` (the client reconnects, the subscription goes on;
    /// the client's `error` event tells it, once), or the last item before the end if the
    /// socket is closed for good, the unread limit ended the subscription or the broker
    /// refused it.
    fn on_error(&self, error: Error, end: &mut Option<Error>) {
        let rust = self.rust.borrow();
        if rust.as_ref().is_some_and(Subscription::ended_alone) {
            // This subscription's end only, not the client's.
            *end = Some(error);
            return;
        }
        let Some(client) = self.client.upgrade() else {
            return;
        };
        if client.sender.state() == State::Closed {
            client
                .end_error
                .borrow_mut()
                .get_or_insert_with(|| error.clone());
            *end = Some(error);
        }
    }

    fn finish(&self, end: Option<Error>) {
        let alone = self
            .rust
            .borrow()
            .as_ref()
            .is_some_and(Subscription::ended_alone);
        self.unsubscribe();
        self.callback.take();
        if let Some(inbox) = self.inbox.as_ref().and_then(Weak::upgrade) {
            let client = self.client.upgrade();
            let error = match end {
                // Its own end (the unread limit's, the broker's refusal) is thrown whatever
                // the client does since.
                Some(e) if alone => Some(convert::error(&e)),
                end => end
                    .filter(|_| client.as_ref().is_some_and(|c| !c.disconnecting.get()))
                    .map(
                        // What a `url` function threw, if that ended the socket.
                        |e| match client.as_ref().and_then(|c| c.stash.borrow().clone()) {
                            Some(thrown) => thrown,
                            None => convert::error(&e),
                        },
                    ),
            };
            inbox.finish(error);
        }
        if let Some(client) = self.client.upgrade() {
            client
                .live_subs
                .set(client.live_subs.get().saturating_sub(1));
            if let Some(waker) = client.subs_done.take() {
                waker.wake();
            }
        }
    }
}

/// Delivers one subscription's messages until it is unsubscribed or the client ends.
async fn deliver(sub: Rc<Sub>) {
    let mut end = None;
    while let Some(item) = poll_fn(|cx| sub.poll_next(cx)).await {
        match item {
            Ok(message) => sub.on_message(message),
            Err(error) => sub.on_error(error, &mut end),
        }
    }
    sub.finish(end);
}

/// A subscription from `client.subscribe()`.
#[wasm_bindgen(js_name = StompSubscription, skip_typescript)]
pub struct JsSubscription {
    sub: Rc<Sub>,
    inbox: Option<Rc<Inbox>>,
}

#[wasm_bindgen(js_class = StompSubscription)]
impl JsSubscription {
    /// The subscription's `id` header (also the `subscription` header of its messages).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.sub.id.clone()
    }

    /// The destination subscribed to.
    #[wasm_bindgen(getter)]
    pub fn destination(&self) -> String {
        self.sub.destination.clone()
    }

    /// Sends `UNSUBSCRIBE` (if a session is up; otherwise the broker has forgotten it
    /// already) and ends the subscription: `for await` finishes, the callback is released.
    /// Calling it again does nothing.
    pub fn unsubscribe(&self) -> Result<(), JsValue> {
        if let Some(client) = self.sub.client.upgrade() {
            client.check_not_busy()?;
        }
        self.sub.unsubscribe();
        Ok(())
    }

    /// `for await (const message of subscription)`: the messages since `subscribe()`,
    /// until the subscription or the client ends; a `break` unsubscribes.
    #[wasm_bindgen(js_name = "[Symbol.asyncIterator]")]
    pub fn messages(&self) -> Result<MessageIterator, JsValue> {
        match &self.inbox {
            Some(inbox) => Ok(MessageIterator::new(inbox.clone())),
            None => Err(invalid_state(
                "this subscription hands its messages to its callback; subscribe without \
                 a callback to use for await",
            )),
        }
    }
}

/// A message from a subscription.
#[wasm_bindgen(js_name = StompMessage, skip_typescript)]
pub struct JsMessage {
    message: Rc<StompMessage>,
    ack: AckMode,
}

impl JsMessage {
    fn acknowledge(&self, nack: bool, tx: Option<Lease<Transaction>>) -> Promise {
        if self.ack == AckMode::Auto {
            return Promise::reject(&invalid_state(
                "this message came from a subscription with ack \"auto\": it needs no ack \
                 or nack (subscribe with { ack: \"client\" } or \"client-individual\")",
            ));
        }
        let message = self.message.clone();
        done(async move {
            match (tx, nack) {
                (Some(tx), false) => tx.ack(&message).await,
                (Some(tx), true) => tx.nack(&message).await,
                (None, false) => message.ack().await,
                (None, true) => message.nack().await,
            }
        })
    }
}

#[wasm_bindgen(js_class = StompMessage)]
impl JsMessage {
    /// The body as text (invalid UTF-8 replaced by U+FFFD).
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> String {
        self.message.body_text()
    }

    /// The body's bytes, in a new `Uint8Array`.
    #[wasm_bindgen(getter = binaryBody)]
    pub fn binary_body(&self) -> Uint8Array {
        Uint8Array::from(self.message.body())
    }

    /// The headers as a plain object (the first of repeated ones, as STOMP says).
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> Object {
        headers_object(self.message.headers())
    }

    /// Acknowledges the message (ack modes "client": with every earlier one, and
    /// "client-individual"); resolves once the `ACK` was handed to the socket. It takes no
    /// argument: headers given (as other clients take `{ transaction }`) reject with a
    /// `TypeError` rather than being ignored; `tx.ack(message)` acks within a transaction.
    pub fn ack(&self, headers: JsValue) -> Promise {
        match no_headers(&headers, "ack") {
            Some(refused) => refused,
            None => self.acknowledge(false, None),
        }
    }

    /// Tells the broker the message was not processed (it delivers it again). Takes no
    /// argument, like [`ack`](Self::ack).
    pub fn nack(&self, headers: JsValue) -> Promise {
        match no_headers(&headers, "nack") {
            Some(refused) => refused,
            None => self.acknowledge(true, None),
        }
    }
}

/// A rejected promise if `message.ack()` or `nack()` was given an argument.
fn no_headers(headers: &JsValue, method: &str) -> Option<Promise> {
    (!headers.is_undefined()).then(|| {
        Promise::reject(&type_error(&format!(
            "message.{method}() takes no argument (headers such as {{ transaction }} are not \
             taken); to {method} within a transaction, use tx.{method}(message)"
        )))
    })
}

/// Headers as a plain object whose properties are defined, not assigned: a setter a page
/// put on `Object.prototype` cannot swallow one, and a header named `__proto__` is an own
/// property like any other. (Not prototype-less like events: a plain object is what other
/// code, e.g. Playwright's serializer, expects of headers.) The first of repeated headers
/// counts.
fn headers_object(headers: &[(String, String)]) -> Object {
    let object = Object::new();
    for (name, value) in headers.iter().rev() {
        convert::define(&object, name, &value.as_str().into(), false);
    }
    object
}

/// A transaction from `client.begin()`.
#[wasm_bindgen(js_name = StompTransaction, skip_typescript)]
pub struct JsTransaction {
    id: String,
    tx: Rc<Owned<Transaction>>,
    busy: Busy,
}

impl JsTransaction {
    fn lease(&self) -> Result<Lease<Transaction>, JsValue> {
        if self.busy.get() {
            return Err(invalid_state(
                "a StompClient cannot be used from inside its own url callback",
            ));
        }
        self.tx
            .lease()
            .ok_or_else(|| invalid_state("the transaction was already committed or aborted"))
    }

    fn end(&self, commit: bool) -> Promise {
        if let Err(e) = self.lease() {
            return Promise::reject(&e);
        }
        let taken = self.tx.take();
        done(async move {
            match taken.await {
                Some(tx) if commit => tx.commit().await,
                Some(tx) => tx.abort().await,
                None => Err(Error::InvalidState(
                    "the transaction was already committed or aborted".into(),
                )),
            }
        })
    }
}

#[wasm_bindgen(js_class = StompTransaction)]
impl JsTransaction {
    /// The `transaction` header's value.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Sends within the transaction: the broker delivers it on commit.
    pub fn send(&self, destination: JsValue, body: JsValue, headers: JsValue) -> Promise {
        let parsed = (|| {
            Ok::<_, JsValue>((
                self::destination(&destination)?,
                self::body(&body)?,
                self::headers(&headers, "headers", SEND_HEADERS)?,
                self.lease()?,
            ))
        })();
        let (dest, body, headers, tx) = match parsed {
            Ok(p) => p,
            Err(e) => return Promise::reject(&e),
        };
        done(async move { tx.send(&dest, body, &borrowed(&headers)).await })
    }

    /// Acknowledges `message` within the transaction.
    pub fn ack(&self, message: &JsMessage) -> Promise {
        match self.lease() {
            Ok(tx) => message.acknowledge(false, Some(tx)),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Negatively acknowledges `message` within the transaction.
    pub fn nack(&self, message: &JsMessage) -> Promise {
        match self.lease() {
            Ok(tx) => message.acknowledge(true, Some(tx)),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Commits once the sends and acks started before have gone out, and resolves with
    /// the broker's receipt.
    pub fn commit(&self) -> Promise {
        self.end(true)
    }

    /// Aborts (after the sends and acks started before) and resolves with the receipt.
    pub fn abort(&self) -> Promise {
        self.end(false)
    }
}
