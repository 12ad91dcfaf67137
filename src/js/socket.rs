//! `ResilientWebSocket`: the class, and the task that turns the Rust socket's messages and
//! events into DOM events, in order. With `inboundLimit` that task takes a message only
//! once every `for await` has handed out what it holds, so unread messages wait in the Rust
//! socket, where [`Builder::inbound_limit`](crate::Builder::inbound_limit) bounds them; the
//! drops it reports become `dropped` events and the iterators' `dropped` counts.

use super::convert::{self, describe, type_error};
use super::events::{self, Listeners};
use super::iter::{Inbox, MessageIterator};
use super::options::{self, Stash};
use super::{send, Busy};
use crate::{Event, Message, Receiver, Sender, State};
use futures_channel::oneshot;
use futures_core::Stream;
use js_sys::{Array, Function, Promise};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use web_sys::EventTarget;

/// The `on*` properties, in this order.
const HANDLERS: [&str; 6] = [
    "open",
    "message",
    "close",
    "error",
    "reconnecting",
    "statechange",
];

/// The listener that calls an `on*` handler. `Fn`, not `FnMut`: a handler may dispatch an
/// event of its own type, which calls it again before it returned.
type HandlerCall = Closure<dyn Fn(JsValue) -> Result<(), JsValue>>;

/// The socket's life as the `state` property and `statechange` events tell it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    Reconnecting,
    Closing,
    Closed,
}

impl Phase {
    fn of(state: State) -> Phase {
        match state {
            State::Connecting => Phase::Connecting,
            State::Open => Phase::Open,
            State::Reconnecting { .. } => Phase::Reconnecting,
            State::Closing => Phase::Closing,
            State::Closed => Phase::Closed,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Open => "open",
            Phase::Reconnecting => "reconnecting",
            Phase::Closing => "closing",
            Phase::Closed => "closed",
        }
    }

    /// The browser WebSocket's `readyState`: waiting to reconnect counts as CONNECTING.
    fn ready_state(self) -> u16 {
        match self {
            Phase::Connecting | Phase::Reconnecting => 0,
            Phase::Open => 1,
            Phase::Closing => 2,
            Phase::Closed => 3,
        }
    }
}

/// Everything one `ResilientWebSocket` shares with its tasks.
pub(crate) struct Core {
    pub(crate) sender: Sender,
    /// Where listeners live and events are dispatched.
    listeners: Listeners,
    handlers: RefCell<[Option<Function>; 6]>,
    handler_calls: RefCell<[Option<HandlerCall>; 6]>,
    /// A user callback (URL function, `reconnectIf`, pong matcher) is running inside the
    /// Rust socket: calls into it must wait, so the methods throw and the getters answer
    /// from the last known values.
    busy: Busy,
    stash: Stash,
    blob: Cell<bool>,
    pub(crate) queue: send::Queue,
    /// The phase as last dispatched in `statechange`.
    phase: Cell<Phase>,
    /// `close()` was called: sending is over, and the socket only ends from here (a
    /// connection lost while what `send()` accepted still goes out is not replaced). It
    /// shows as closing, and events of a reconnection that was under way (its `open`,
    /// `reconnecting`, `statechange`) are not dispatched.
    pub(crate) close_asked: Cell<bool>,
    pump: RefCell<Option<Waker>>,
    inboxes: RefCell<Vec<Weak<Inbox>>>,
    /// `inboundLimit` is set: the pump takes the next message only once every `for await`
    /// has handed out what it holds, so unread messages wait in the Rust socket, where the
    /// limit bounds them. Without it, they wait in the iterators, unbounded.
    paced: bool,
    /// The end, once the pump has seen it: `Some(error)` if it was not asked for.
    end: RefCell<Option<Option<JsValue>>>,
    url: RefCell<String>,
    protocol: RefCell<String>,
    /// The connection's origin, as the JS string every `message` event carries (made once
    /// per connection, not per message).
    origin: RefCell<JsValue>,
}

impl Core {
    fn dispatch(&self, event: Option<web_sys::Event>) {
        self.listeners.dispatch(event);
    }

    pub(crate) fn dispatch_error(&self, message: &str, error: &JsValue) {
        self.dispatch(events::error(message, error));
    }

    fn enter(&self, phase: Phase) {
        if self.close_asked.get() && !matches!(phase, Phase::Closing | Phase::Closed) {
            return;
        }
        if self.phase.replace(phase) != phase {
            let fields = [
                ("state", phase.name().into()),
                ("readyState", phase.ready_state().into()),
            ];
            self.dispatch(events::plain("statechange", &fields));
        }
    }

    fn remember_connection(&self) {
        let url = self.sender.url();
        let origin = web_sys::Url::new(&url)
            .map(|u| u.origin())
            .unwrap_or_default();
        *self.origin.borrow_mut() = JsValue::from_str(&origin);
        *self.url.borrow_mut() = url;
        *self.protocol.borrow_mut() = self.sender.protocol();
    }

    fn on_event(&self, event: Event) {
        if self.close_asked.get()
            && matches!(
                event,
                Event::Connecting { .. } | Event::Open { .. } | Event::Reconnecting { .. }
            )
        {
            return;
        }
        match event {
            Event::Connecting { .. } => self.enter(Phase::Connecting),
            Event::Open { .. } => {
                self.remember_connection();
                self.dispatch(events::plain("open", &[]));
                self.enter(Phase::Open);
            }
            Event::Close(frame) => self.dispatch(events::close(&frame)),
            Event::Reconnecting { attempt, delay } => {
                let fields = [
                    ("attempt", attempt.into()),
                    ("delay", (delay.as_secs_f64() * 1000.0).into()),
                ];
                self.dispatch(events::plain("reconnecting", &fields));
                self.enter(Phase::Reconnecting);
            }
            Event::HeartbeatAck { rtt } => self.dispatch(events::plain(
                "heartbeat",
                &[("rtt", (rtt.as_secs_f64() * 1000.0).into())],
            )),
            Event::Requeued { count } => self.dispatch(events::plain(
                "requeued",
                &[("count", (count as f64).into())],
            )),
            Event::Error => self.dispatch(events::error(
                "the WebSocket connection failed or was lost",
                &JsValue::NULL,
            )),
            _ => {}
        }
    }

    fn on_message(&self, message: Message) {
        let data = match &message {
            Message::Binary(bytes) if self.blob.get() => convert::bytes_to_blob(bytes),
            m => convert::message_to_js(m),
        };
        self.inboxes.borrow_mut().retain(|w| match w.upgrade() {
            Some(inbox) if !inbox.is_stopped() => {
                inbox.push(data.clone());
                true
            }
            _ => false,
        });
        // (Made before the dispatch: nothing is borrowed while listeners run.)
        let event = events::message(&data, &self.origin.borrow());
        self.dispatch(event);
    }

    /// Whether the pump may take the next message: always without `inboundLimit`; with it,
    /// once no `for await` holds a message it has not handed out (else `waker` is woken
    /// when the first one found has), and always once the socket is closed for good. An
    /// iterator nobody reads any more (and nobody `return()`ed) cannot be told from a slow
    /// loop, so it holds the pace while the socket lives; but what is left, and the end,
    /// always get through: every other loop and listener gets the last messages, the loops
    /// finish, and `statechange` "closed" fires.
    fn may_take(&self, waker: &Waker) -> bool {
        !self.paced
            || self.sender.state() == State::Closed
            || self
                .inboxes
                .borrow()
                .iter()
                .filter_map(Weak::upgrade)
                .all(|inbox| inbox.is_drained(waker))
    }

    /// The inbound limit dropped `count` messages here: every iterator counts them, a
    /// `dropped` event says it, in order with the messages.
    fn on_dropped(&self, count: usize) {
        for inbox in self.inboxes.borrow().iter().filter_map(Weak::upgrade) {
            inbox.skip(count);
        }
        self.dispatch(events::plain(
            "dropped",
            &[("count", (count as f64).into())],
        ));
    }

    /// The Rust stream yielded an error: the end that was not asked for (the stream ends
    /// next), or a message that could not be read.
    fn on_error(&self, error: crate::Error) {
        let terminal = self.sender.state() == State::Closed;
        let js = match self.stash.borrow_mut().take() {
            Some(thrown) if terminal => thrown,
            _ => convert::error(&error),
        };
        if terminal {
            *self.end.borrow_mut() = Some(Some(js.clone()));
        }
        self.dispatch_error(&error.to_string(), &js);
    }

    fn finish(&self) {
        let error = self.end.borrow_mut().get_or_insert(None).clone();
        for inbox in self.inboxes.take().iter().filter_map(Weak::upgrade) {
            inbox.finish(error.clone());
        }
        self.pump.take();
        self.enter(Phase::Closed);
        // Nothing is dispatched any more: the listeners and the handlers are let go (see
        // `Listeners`).
        if let Some(target) = self.listeners.release() {
            detach(&target, &self.handler_calls.take());
            self.handlers.take();
        }
    }

    fn wake_pump(&self) {
        if let Some(waker) = self.pump.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        if let Some(target) = self.listeners.target() {
            detach(&target, self.handler_calls.get_mut());
        }
    }
}

/// Removes the listeners that call the `on*` handlers.
fn detach(target: &EventTarget, calls: &[Option<HandlerCall>; 6]) {
    for (name, call) in HANDLERS.iter().zip(calls) {
        if let Some(call) = call {
            let _ = target.remove_event_listener_with_callback(name, call.as_ref().unchecked_ref());
        }
    }
}

enum Step {
    /// A user callback failed inside the socket (`Busy::fault`).
    Fault(String, JsValue),
    Event(Option<Event>),
    Message(Option<Result<Message, crate::Error>>),
    Closing,
}

/// Turns what the Rust socket yields into DOM events until it is closed for good. It owns
/// the receiving half, so the socket lives while it runs, like a browser WebSocket that is
/// never garbage-collected while open.
async fn pump(core: Rc<Core>, mut rx: Receiver, mut events: impl Stream<Item = Event> + Unpin) {
    let (mut events_done, mut rx_done) = (false, false);
    loop {
        let step = poll_fn(|cx| {
            *core.pump.borrow_mut() = Some(cx.waker().clone());
            // Before what followed it: a reconnectIf's failure before the reconnection.
            if let Some((message, error)) = core.busy.take_fault() {
                return Poll::Ready(Some(Step::Fault(message, error)));
            }
            // Events first: an open comes before the messages it let in. Each browser event
            // is its own task, so nothing of two of them is ever waiting here at once.
            if !events_done {
                if let Poll::Ready(e) = Pin::new(&mut events).poll_next(cx) {
                    return Poll::Ready(Some(Step::Event(e)));
                }
            }
            if !rx_done && core.may_take(cx.waker()) {
                if let Poll::Ready(m) = Pin::new(&mut rx).poll_next(cx) {
                    return Poll::Ready(Some(Step::Message(m)));
                }
            }
            // `close()` was called: announced once, unless the socket is closed already.
            if core.close_asked.get()
                && !matches!(core.phase.get(), Phase::Closing | Phase::Closed)
                && core.sender.state() != State::Closed
            {
                return Poll::Ready(Some(Step::Closing));
            }
            if events_done && rx_done {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match step {
            None => break,
            Some(Step::Fault(message, error)) => core.dispatch_error(&message, &error),
            Some(Step::Event(None)) => events_done = true,
            Some(Step::Event(Some(e))) => core.on_event(e),
            Some(Step::Message(None)) => rx_done = true,
            Some(Step::Message(Some(Ok(m)))) => core.on_message(m),
            Some(Step::Message(Some(Err(crate::Error::InboundDropped { count })))) => {
                core.on_dropped(count)
            }
            Some(Step::Message(Some(Err(e)))) => core.on_error(e),
            Some(Step::Closing) => core.enter(Phase::Closing),
        }
    }
    core.finish();
}

/// A WebSocket that reconnects: a drop-in for the browser's `WebSocket` (same constructor,
/// `send`, `close`, `readyState`, events), plus backoff, heartbeats, backpressure and a
/// queue that loses nothing. See the TypeScript declarations for the full contract.
#[wasm_bindgen(js_name = ResilientWebSocket, skip_typescript)]
pub struct JsSocket {
    core: Rc<Core>,
}

fn promise(f: impl std::future::Future<Output = Result<(), JsValue>> + 'static) -> Promise {
    super::promise(async move { f.await.map(|()| JsValue::UNDEFINED) })
}

fn rejected(error: JsValue) -> Promise {
    Promise::reject(&error)
}

impl JsSocket {
    fn check_not_busy(&self) -> Result<(), JsValue> {
        if self.core.busy.get() {
            return Err(convert::dom_exception(
                "InvalidStateError",
                "a ResilientWebSocket cannot be used from inside its own url, reconnectIf \
                 or pong callbacks",
            ));
        }
        Ok(())
    }

    fn phase(&self) -> Phase {
        if self.core.busy.get() {
            return self.core.phase.get();
        }
        match Phase::of(self.core.sender.state()) {
            Phase::Closed => Phase::Closed,
            _ if self.core.close_asked.get() => Phase::Closing,
            phase => phase,
        }
    }

    /// Sending is over once `close()` was called or the socket closed for good.
    fn check_can_send(&self) -> Result<(), JsValue> {
        self.check_not_busy()?;
        match self.phase() {
            Phase::Closing | Phase::Closed => Err(convert::error(&crate::Error::SocketClosed)),
            _ => Ok(()),
        }
    }

    fn queue_marker(&self, wait_ready: bool) -> oneshot::Receiver<Result<(), JsValue>> {
        let (done, settled) = oneshot::channel();
        send::push(&self.core, None, wait_ready, Some(done));
        settled
    }

    fn handler(&self, index: usize) -> JsValue {
        self.core.handlers.borrow()[index]
            .clone()
            .map_or(JsValue::NULL, Into::into)
    }

    /// `on*` setters: the handler is called through one listener per event type, added the
    /// first time a handler is set, like the browser does.
    fn set_handler(&self, index: usize, value: JsValue) -> Result<(), JsValue> {
        let handler = if value.is_null() || value.is_undefined() {
            None
        } else {
            Some(value.dyn_into::<Function>().map_err(|v| {
                type_error(&format!(
                    "on{} must be a function or null, not {}",
                    HANDLERS[index],
                    describe(&v)
                ))
            })?)
        };
        // Closed for good: nothing is kept, as no event comes any more.
        let Some(target) = self.core.listeners.target() else {
            return Ok(());
        };
        self.core.handlers.borrow_mut()[index] = handler;
        if self.core.handler_calls.borrow()[index].is_none() {
            let core = Rc::downgrade(&self.core);
            let call: HandlerCall = Closure::new(move |event: JsValue| {
                let Some(core) = core.upgrade() else {
                    return Ok(());
                };
                let handler = core.handlers.borrow()[index].clone();
                match handler {
                    Some(f) => (core.listeners)
                        .with(|this| f.call1(this, &event).map(drop))
                        .unwrap_or(Ok(())),
                    None => Ok(()),
                }
            });
            // (Nothing borrowed meanwhile: `addEventListener` may have been replaced.)
            target
                .add_event_listener_with_callback(HANDLERS[index], call.as_ref().unchecked_ref())?;
            self.core.handler_calls.borrow_mut()[index] = Some(call);
        }
        Ok(())
    }
}

#[wasm_bindgen(js_class = ResilientWebSocket)]
impl JsSocket {
    /// Starts connecting at once, like `new WebSocket(url, protocols)`; see `options` in
    /// the TypeScript declarations.
    #[wasm_bindgen(constructor)]
    pub fn new(url: JsValue, protocols: JsValue, options: JsValue) -> Result<JsSocket, JsValue> {
        let busy = Busy::default();
        let stash = Stash::default();
        let parsed = options::connect(&url, &protocols, &options, &busy, &stash)?;
        let events = parsed.socket.events();
        let (sender, receiver) = parsed.socket.split();
        let core = Rc::new(Core {
            url: RefCell::new(sender.url()),
            sender,
            listeners: Listeners::new()?,
            handlers: RefCell::default(),
            handler_calls: RefCell::default(),
            busy,
            stash,
            blob: Cell::new(parsed.blob),
            queue: send::Queue::default(),
            phase: Cell::new(Phase::Connecting),
            close_asked: Cell::new(false),
            pump: RefCell::new(None),
            inboxes: RefCell::default(),
            paced: parsed.paced,
            end: RefCell::new(None),
            protocol: RefCell::default(),
            origin: RefCell::new(JsValue::from_str("")),
        });
        wasm_bindgen_futures::spawn_local(pump(core.clone(), receiver, events));
        Ok(JsSocket { core })
    }

    /// `readyState` value while connecting or waiting to reconnect.
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting_static() -> u16 {
        0
    }
    /// `readyState` value while open.
    #[wasm_bindgen(getter = OPEN)]
    pub fn open_static() -> u16 {
        1
    }
    /// `readyState` value while closing.
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing_static() -> u16 {
        2
    }
    /// `readyState` value once closed for good.
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed_static() -> u16 {
        3
    }

    /// `readyState` value while connecting or waiting to reconnect (also on instances).
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting(&self) -> u16 {
        0
    }
    /// `readyState` value while open.
    #[wasm_bindgen(getter = OPEN)]
    pub fn open(&self) -> u16 {
        1
    }
    /// `readyState` value while closing.
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing(&self) -> u16 {
        2
    }
    /// `readyState` value once closed for good.
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed(&self) -> u16 {
        3
    }

    /// 0 (CONNECTING, also while waiting to reconnect), 1 (OPEN), 2 (CLOSING), 3 (CLOSED).
    #[wasm_bindgen(getter = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.phase().ready_state()
    }

    /// "connecting", "open", "reconnecting", "closing" or "closed".
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.phase().name().into()
    }

    /// Bytes accepted and not yet transmitted: the browser's `bufferedAmount`, what waits in
    /// resocket's queue for a connection, and what waits in this object's queue before the Sink.
    #[wasm_bindgen(getter = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        let browser = if self.core.busy.get() {
            0
        } else {
            self.core.sender.buffered_amount() + self.core.sender.queued_bytes()
        };
        browser as f64 + self.core.queue.bytes()
    }

    /// The resolved URL of the current (or last) attempt.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        if !self.core.busy.get() {
            *self.core.url.borrow_mut() = self.core.sender.url();
        }
        self.core.url.borrow().clone()
    }

    /// The subprotocol the server chose on the last connection ("" if none).
    #[wasm_bindgen(getter)]
    pub fn protocol(&self) -> String {
        if !self.core.busy.get() {
            *self.core.protocol.borrow_mut() = self.core.sender.protocol();
        }
        self.core.protocol.borrow().clone()
    }

    /// The socket's extensions: always "" (the browser negotiates none that resocket sees).
    #[wasm_bindgen(getter)]
    pub fn extensions(&self) -> String {
        String::new()
    }

    /// "arraybuffer" (the default) or "blob": how binary messages are handed over.
    #[wasm_bindgen(getter = binaryType)]
    pub fn binary_type(&self) -> String {
        if self.core.blob.get() {
            "blob"
        } else {
            "arraybuffer"
        }
        .into()
    }

    /// Sets `binaryType`; any other value than "arraybuffer" or "blob" is a TypeError.
    #[wasm_bindgen(setter = binaryType)]
    pub fn set_binary_type(&self, value: JsValue) -> Result<(), JsValue> {
        self.core.blob.set(options::parse_binary_type(&value)?);
        Ok(())
    }

    /// The `open` handler.
    #[wasm_bindgen(getter)]
    pub fn onopen(&self) -> JsValue {
        self.handler(0)
    }
    /// Sets the `open` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onopen(&self, f: JsValue) -> Result<(), JsValue> {
        self.set_handler(0, f)
    }
    /// The `message` handler.
    #[wasm_bindgen(getter)]
    pub fn onmessage(&self) -> JsValue {
        self.handler(1)
    }
    /// Sets the `message` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onmessage(&self, f: JsValue) -> Result<(), JsValue> {
        self.set_handler(1, f)
    }
    /// The `close` handler.
    #[wasm_bindgen(getter)]
    pub fn onclose(&self) -> JsValue {
        self.handler(2)
    }
    /// Sets the `close` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onclose(&self, f: JsValue) -> Result<(), JsValue> {
        self.set_handler(2, f)
    }
    /// The `error` handler.
    #[wasm_bindgen(getter)]
    pub fn onerror(&self) -> JsValue {
        self.handler(3)
    }
    /// Sets the `error` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onerror(&self, f: JsValue) -> Result<(), JsValue> {
        self.set_handler(3, f)
    }
    /// The `reconnecting` handler.
    #[wasm_bindgen(getter)]
    pub fn onreconnecting(&self) -> JsValue {
        self.handler(4)
    }
    /// Sets the `reconnecting` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onreconnecting(&self, f: JsValue) -> Result<(), JsValue> {
        self.set_handler(4, f)
    }
    /// The `statechange` handler.
    #[wasm_bindgen(getter)]
    pub fn onstatechange(&self) -> JsValue {
        self.handler(5)
    }
    /// Sets the `statechange` handler.
    #[wasm_bindgen(setter)]
    pub fn set_onstatechange(&self, f: JsValue) -> Result<(), JsValue> {
        self.set_handler(5, f)
    }

    /// `EventTarget.addEventListener`, with every option the browser supports.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: JsValue,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        self.core
            .listeners
            .call("addEventListener", &[kind, listener, options])
    }

    /// `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        kind: JsValue,
        listener: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue> {
        self.core
            .listeners
            .call("removeEventListener", &[kind, listener, options])
    }

    /// `EventTarget.dispatchEvent`.
    #[wasm_bindgen(js_name = dispatchEvent)]
    pub fn dispatch_event(&self, event: JsValue) -> Result<bool, JsValue> {
        self.core.listeners.dispatch_checked(event)
    }

    /// Sends a string, ArrayBuffer, TypedArray, DataView or Blob. Never waits: while not
    /// open, messages queue and go out in order after the next open.
    pub fn send(&self, data: JsValue) -> Result<(), JsValue> {
        self.check_can_send()?;
        send::send(&self.core, convert::payload(&data)?)
    }

    /// Sends once there is room (below the high-water mark, queue not full); resolves when
    /// the message was accepted. `close()` on an open connection accepts those still
    /// waiting at once.
    #[wasm_bindgen(js_name = sendAsync)]
    pub fn send_async(&self, data: JsValue) -> Promise {
        let payload = match self.check_can_send().and_then(|()| convert::payload(&data)) {
            Ok(p) => p,
            Err(e) => return rejected(e),
        };
        let (done, settled) = oneshot::channel();
        send::push(&self.core, Some(payload), true, Some(done));
        promise(async move { settled.await.unwrap_or(Ok(())) })
    }

    /// Resolves when a message sent now would be accepted without exceeding the limits.
    pub fn ready(&self) -> Promise {
        if let Err(e) = self.check_can_send() {
            return rejected(e);
        }
        let settled = self.queue_marker(true);
        promise(async move { settled.await.unwrap_or(Ok(())) })
    }

    /// Resolves once the connection is open (at once if it is); rejects if the socket
    /// closed for good first.
    pub fn opened(&self) -> Promise {
        if let Err(e) = self.check_not_busy() {
            return rejected(e);
        }
        let opened = self.core.sender.opened();
        promise(async move { opened.await.map_err(|e| convert::error(&e)) })
    }

    /// Resolves once everything sent so far has left the browser (`bufferedAmount` is 0);
    /// rejects once the socket closed for good with something never transmitted, even
    /// after `takeUnsent()` handed it back.
    pub fn flush(&self) -> Promise {
        if let Err(e) = self.check_not_busy() {
            return rejected(e);
        }
        let settled = self.queue_marker(false);
        let core = self.core.clone();
        let mut sender = self.core.sender.clone();
        promise(async move {
            settled.await.unwrap_or(Ok(()))?;
            poll_fn(|cx| futures_sink::Sink::poll_flush(Pin::new(&mut sender), cx))
                .await
                .map_err(|e| convert::error(&e))?;
            // What this queue could not hand to the Sink, the Sink does not know of.
            match core.queue.stranded() {
                true => Err(convert::error(&crate::Error::SocketClosed)),
                false => Ok(()),
            }
        })
    }

    /// Closes for good with `code` (1000 or 3000–4999, default 1000) and `reason` (at most
    /// 123 UTF-8 bytes). Throws like the browser's WebSocket on a bad code or reason.
    ///
    /// Like the browser's, an open connection first transmits everything `send()` accepted
    /// (within `closeTimeout`, counted once the Blobs given before are read; a connection
    /// lost meanwhile is not replaced, unless `reconnect()` is closing it). Otherwise it
    /// ends at once, cancelling any pending reconnection. What was never transmitted comes
    /// back from `takeUnsent()`.
    pub fn close(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        self.check_not_busy()?;
        let (code, reason) = close_args(&code, &reason)?;
        if self.core.close_asked.get() {
            // Closing already: like the browser's, a second close() does nothing.
            return Ok(());
        }
        let core = &self.core;
        core.close_asked.set(true);
        match core.sender.state() {
            // What send() accepted is sent first, as by a browser's WebSocket.
            State::Open => send::close_after(core, code, reason),
            // Nobody needs to await the `Closing`: the pump hears of the end through the
            // stream. (Validated above: Err only for a socket closed already.)
            _ => drop(core.sender.close(code, &reason)),
        }
        core.wake_pump();
        Ok(())
    }

    /// Drops the current connection and connects again now, keeping everything queued: for
    /// a new token from a `url` function, or a "retry now" button. Takes `code` and `reason`
    /// as `close()` does and throws as it does on bad ones.
    ///
    /// Open: the connection closes with them in a normal closing handshake (what the
    /// browser holds still goes out; what it never transmitted is sent again first on the
    /// new connection; messages that arrive meanwhile are delivered), then `close` and
    /// `reconnecting` (attempt 1, delay 0) fire and a new connection starts at once,
    /// whatever `reconnect` and `reconnectIf` say (should that attempt fail, they decide as
    /// for any other). Until then `readyState` is still OPEN and `opened()` resolves at
    /// once. A `close()` meanwhile still sends what `send()` accepted and had not handed
    /// over: on a new connection, which it then closes. Connecting: the attempt is made again.
    /// Waiting to reconnect: the attempt starts now. After `close()`, or once closed for
    /// good, it throws an `InvalidStateError`.
    pub fn reconnect(&self, code: JsValue, reason: JsValue) -> Result<(), JsValue> {
        self.check_not_busy()?;
        let (code, reason) = close_args(&code, &reason)?;
        if self.core.close_asked.get() {
            return Err(convert::error(&crate::Error::SocketClosed));
        }
        self.core
            .sender
            .reconnect(code, &reason)
            .map_err(|e| convert::error(&e))?;
        self.core.wake_pump();
        Ok(())
    }

    /// Once closed for good: the messages accepted but never transmitted, in order (strings,
    /// ArrayBuffers, and Blobs not yet read); empty before that and after the first call.
    #[wasm_bindgen(js_name = takeUnsent)]
    pub fn take_unsent(&self) -> Result<Array, JsValue> {
        self.check_not_busy()?;
        // Until then the socket may still send (or, closing, hand back) what it holds.
        if self.core.sender.state() != State::Closed {
            return Ok(Array::new());
        }
        // The Sink's unsent first: it accepted them before anything still queued here.
        let unsent: Array = self
            .core
            .sender
            .take_unsent()
            .iter()
            .map(convert::message_to_js)
            .collect();
        for data in self.core.queue.take_unsent() {
            unsent.push(&data);
        }
        Ok(unsent)
    }

    /// `for await (const data of socket)`: every message from now on, until the socket
    /// closes for good.
    #[wasm_bindgen(js_name = "[Symbol.asyncIterator]")]
    pub fn messages(&self) -> MessageIterator {
        let inbox = Rc::new(Inbox::default());
        match &*self.core.end.borrow() {
            Some(_) => inbox.finish(None),
            None => self.core.inboxes.borrow_mut().push(Rc::downgrade(&inbox)),
        }
        MessageIterator::new(inbox)
    }
}

/// `close()`'s and `reconnect()`'s arguments: a code (default 1000) and a reason (default
/// ""), checked as the browser's `close()` checks them.
pub(super) fn close_args(code: &JsValue, reason: &JsValue) -> Result<(u16, String), JsValue> {
    let code = if code.is_undefined() {
        1000
    } else {
        let n = code.as_f64().ok_or_else(|| {
            type_error(&format!(
                "the close code must be a number, not {}",
                describe(code)
            ))
        })?;
        if n.fract() != 0.0 || !(0.0..=65535.0).contains(&n) {
            return Err(convert::dom_exception(
                "InvalidAccessError",
                &format!(
                    "invalid close code {}: use 1000 or a code in 3000-4999",
                    convert::num(n)
                ),
            ));
        }
        n as u16
    };
    let reason = if reason.is_undefined() {
        String::new()
    } else {
        reason.as_string().ok_or_else(|| {
            type_error(&format!(
                "the close reason must be a string, not {}",
                describe(reason)
            ))
        })?
    };
    crate::validate_close(code, &reason).map_err(|e| convert::error(&e))?;
    Ok((code, reason))
}
