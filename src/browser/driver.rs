//! The browser driver: owns one `web_sys::WebSocket` at a time, its listeners and the
//! timer, feeds the machine what happens with the time, and carries out its actions.
//! It decides nothing itself.

use super::convert::{self, BlobRead};
use super::listener::Listener;
use super::timer::Timer;
use crate::core::{Action, Admission, Config, Machine, Ready};
use crate::{CloseFrame, Error, Event, Message, State};
use futures_channel::mpsc;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType as JsBinaryType, WebSocket as JsWebSocket};

/// Where and how to connect on each attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL (relative and http(s) URLs resolve against the page).
    pub url: String,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
}

/// Called before every attempt with its number (0 for the first connection).
pub(crate) type TargetProvider = Box<dyn FnMut(u32) -> Resolve>;

/// What a [`TargetProvider`] gives for an attempt.
pub(crate) enum Resolve {
    /// The target (or why there is none: the socket ends with it).
    Now(Result<Target, Error>),
    /// A start of the target's resolution, made by [`later`]: only an app that resolves
    /// targets asynchronously carries that code.
    Later(Box<dyn FnOnce(Weak<RefCell<Inner>>) -> Resolving>),
}

/// A resolution under way ([`later`]); dropping it stops it: its future is dropped then
/// (or, should that future be running, right after), never polled again.
pub(crate) struct Resolving(Rc<Resolution>);

type TargetFuture = Pin<Box<dyn Future<Output = Result<Target, Failure>>>>;

struct Resolution {
    future: RefCell<Option<TargetFuture>>,
    stopped: std::cell::Cell<bool>,
}

impl Drop for Resolving {
    fn drop(&mut self) {
        self.0.stopped.set(true);
        // Borrowed only while the task polls it: that poll called into the socket (a
        // `close()`), and the task drops the future when the poll returns.
        let future = self
            .0
            .future
            .try_borrow_mut()
            .ok()
            .and_then(|mut f| f.take());
        drop(future);
    }
}

/// Why an asynchronous target did not come.
pub(crate) enum Failure {
    /// This attempt failed (a token could not be fetched): it ends as a connection that
    /// failed, with this reason, and the reconnect policy decides.
    Attempt(String),
    /// No attempt can succeed (the provider's answer is not a target): the socket ends.
    /// (The JS API's `url` function only: a Rust future's answer is a `Target`.)
    #[cfg_attr(not(all(target_arch = "wasm32", feature = "js")), allow(dead_code))]
    End(Error),
}

/// Resolves an attempt's target with `future`, in a task of its own (so the state is not
/// borrowed while it runs): the result goes to the socket unless the attempt was given
/// up first (a connect timeout, `close()`, `reconnect()`, the socket dropped).
pub(crate) fn later(future: impl Future<Output = Result<Target, Failure>> + 'static) -> Resolve {
    Resolve::Later(Box::new(move |weak| {
        let resolution = Rc::new(Resolution {
            future: RefCell::new(Some(Box::pin(future))),
            stopped: std::cell::Cell::new(false),
        });
        let shared = resolution.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = std::future::poll_fn(|cx| {
                let mut slot = shared.future.borrow_mut();
                let Some(future) = slot.as_mut().filter(|_| !shared.stopped.get()) else {
                    return Poll::Ready(None);
                };
                let polled = future.as_mut().poll(cx);
                if shared.stopped.get() {
                    // Given up during that poll.
                    *slot = None;
                    return Poll::Ready(None);
                }
                if polled.is_ready() {
                    *slot = None;
                }
                polled.map(Some)
            })
            .await;
            if let Some(result) = result {
                let mut result = Some(result);
                with(&weak, &mut |i| {
                    if let Some(result) = result.take() {
                        i.on_target(result);
                    }
                });
            }
        });
        Resolving(resolution)
    }))
}

/// How binary messages are delivered by the browser; either way they come out as
/// [`Message::Binary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryType {
    /// `arraybuffer`: the bytes are there when the event fires (the default, and faster).
    #[default]
    ArrayBuffer,
    /// `blob`: the browser may keep large messages out of memory; resocket reads each one
    /// asynchronously and still yields every message in arrival order.
    Blob,
}

/// Starts reading a Blob message (`convert::read_blob`). It gets into an app only through
/// `Builder::binary_type(BinaryType::Blob)`: apps that keep the default carry no Blob code.
pub(crate) type BlobReader = fn(&wasm_bindgen::JsValue) -> Option<BlobRead>;

impl BinaryType {
    /// What reads this type's messages, beyond text and `ArrayBuffer`s.
    pub(crate) fn reader(self) -> Option<BlobReader> {
        match self {
            BinaryType::ArrayBuffer => None,
            BinaryType::Blob => Some(convert::read_blob),
        }
    }

    /// The type whose [`reader`](Self::reader) this is.
    pub(crate) fn of(reader: Option<BlobReader>) -> Self {
        match reader {
            None => BinaryType::ArrayBuffer,
            Some(_) => BinaryType::Blob,
        }
    }
}

/// What became of a socket closed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOutcome {
    /// The last connection's close frame, if a connection ever existed.
    pub frame: Option<CloseFrame>,
    /// Messages accepted but never transmitted, in order: hand them to the next socket,
    /// store them, or drop them knowingly.
    pub unsent: Vec<Message>,
}

enum Inbound {
    Ready(Message),
    /// A Blob being read, and its size.
    Reading(BlobRead),
    Failed(Error),
    /// This many messages were dropped here (`InboundOverflow::DropNewest`).
    Dropped(usize),
}

impl Inbound {
    /// The bytes it holds, as counted against the inbound limit.
    fn bytes(&self) -> usize {
        match self {
            Inbound::Ready(m) => m.len(),
            Inbound::Reading((_, size)) => *size,
            Inbound::Failed(_) | Inbound::Dropped(_) => 0,
        }
    }
}

/// A browser socket and its four event handlers (open, message, close, error), set as the
/// socket's `on*` properties: no event-name string crosses into JavaScript per connection,
/// as it would for `addEventListener`. The socket is never handed out, so nothing else sets
/// them. Dropping a `Conn` clears them before their closures go and closes the socket,
/// unless it has closed (then they can never run).
struct Conn {
    ws: JsWebSocket,
    _handlers: [Closure<dyn FnMut(web_sys::Event)>; 4],
    /// Subprotocols were offered. If none were, the server cannot have chosen one (the
    /// browser fails a handshake that names one anyway), so there is nothing to read.
    offered: bool,
    /// The socket's `close` event came: it fires no event after that one.
    closed: bool,
    /// The socket's `open` event came.
    opened: bool,
}

impl Conn {
    /// Starts the closing handshake. An empty reason is left out: one string fewer to make
    /// in JavaScript. (`close` throws only for codes and reasons the machine never gives.)
    fn close(&self, code: u16, reason: &str) {
        let _ = match reason {
            "" => self.ws.close_with_code(code),
            reason => self.ws.close_with_code_and_reason(code, reason),
        };
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // After its close event a socket fires nothing more, so its handlers can never
        // run again: there is nothing to clear (four calls fewer per connection).
        if self.closed {
            return;
        }
        // Cleared before the close below, which can make a connecting socket fire `error`:
        // it must not reach a handler, possibly the one running now (`on_error` drops its
        // connection).
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        // Nothing listens any more: the connection must not stay open. Mostly it is closing
        // already (the browser then ignores this), but not when the last handle went from
        // inside one of the socket's own callbacks, which cannot shut it down (its state is
        // busy) and leave it to be dropped here.
        let _ = self.ws.close_with_code(1000);
    }
}

/// The URL an attempt connected to, as the browser serialises it.
enum AttemptUrl {
    /// Resolved here (`convert::resolve_url` serialises it as the browser does).
    Resolved(String),
    /// Given to this socket unresolved: it serialises it when asked (`url()` is seldom
    /// asked; reading it on every connect would cost a call and a copy).
    Socket(JsWebSocket),
}

pub(crate) struct Inner {
    machine: Machine,
    provider: TargetProvider,
    /// Set with [`BinaryType::Blob`] only: then the browser hands over Blobs, read by this.
    blobs: Option<BlobReader>,
    conn: Option<Conn>,
    /// The attempt's target on its way, while there is no `conn` yet ([`later`]).
    resolving: Option<Resolving>,
    /// Where the URL of the current or last attempt is.
    url: AttemptUrl,
    /// The socket's entry in the thread's timer: made on first use, dropped (so nothing
    /// runs for this socket any more) when the socket ends.
    timer: Option<Timer>,
    /// The deadline last given to `timer`, until it runs.
    timer_at: Option<std::time::Duration>,
    inbound: VecDeque<Inbound>,
    /// The bytes held in `inbound`.
    inbound_bytes: usize,
    rx_wakers: Vec<Waker>,
    wakers: Vec<Waker>,
    /// What the handles read and write while this state is borrowed.
    snapshot: Rc<Snapshot>,
    /// An empty Vec with room, handed out to carry wakers past the borrow and given back
    /// after: no allocation per message for waking.
    spare: Vec<Waker>,
    subscribers: Vec<Subscriber>,
    last_close: Option<CloseFrame>,
    /// The unasked-for end, kept for `opened()`; the stream takes its own copy once.
    terminal: Option<Error>,
    terminal_yielded: bool,
    unsent: Option<Vec<Message>>,
    /// Messages were left unsent at the end (whoever has taken them since): the Sink's
    /// close answers `Err` for them.
    left_unsent: bool,
    /// Something the Sink side may wait on changed: wake `wakers` once the borrow ends.
    notify: bool,
    /// `online` and `offline` on the global, while they matter (`watch_network`).
    global_listener: Option<Listener>,
    this: Weak<RefCell<Inner>>,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;

/// Hands an event to one `events()` stream; `false` once that stream is gone. Made by
/// `subscribe` only, so an app that never subscribes carries no channel code.
type Subscriber = Box<dyn FnMut(&Event) -> bool>;

fn register(wakers: &mut Vec<Waker>, cx: &Context<'_>) {
    if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
        wakers.push(cx.waker().clone());
    }
}

/// Runs `f` on the shared state if it still exists, then wakes whoever may now proceed.
/// Wakers are woken after the borrow ends, so no task can observe a borrowed state.
/// (`dyn`: one copy of this for every event and timer, instead of one per caller.)
fn with(weak: &Weak<RefCell<Inner>>, f: &mut dyn FnMut(&mut Inner)) {
    let Some(shared) = weak.upgrade() else { return };
    let wake = {
        // Browser events and timers are dispatched as tasks, never inside a call we make,
        // so the state is never borrowed here; try_borrow_mut keeps that from ever panicking.
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return;
        };
        f(&mut inner);
        inner.pump();
        inner.take_wakers()
    };
    wake_all(&shared, wake);
}

/// What a handle reads and writes without borrowing the state: from inside one of the
/// socket's own callbacks, the state is borrowed already.
pub(crate) struct Snapshot {
    /// The machine's state after the last event.
    pub(crate) state: std::cell::Cell<State>,
    /// The `Receiver` was dropped: incoming messages are no longer kept.
    pub(crate) reader_gone: std::cell::Cell<bool>,
}

/// Wakes `wake` (taken from the state, which must not be borrowed now), then gives the
/// emptied Vec back to the state for next time.
pub(crate) fn wake_all(shared: &RefCell<Inner>, mut wake: Vec<Waker>) {
    if wake.capacity() == 0 {
        return;
    }
    wake.drain(..).for_each(Waker::wake);
    if let Ok(mut inner) = shared.try_borrow_mut() {
        if inner.spare.capacity() < wake.capacity() {
            inner.spare = wake;
        }
    }
}

impl Inner {
    pub(crate) fn start(
        config: Config,
        provider: TargetProvider,
        blobs: Option<BlobReader>,
    ) -> Result<Shared, Error> {
        config.validate()?;
        let shared = Rc::new_cyclic(|this: &Weak<RefCell<Inner>>| {
            RefCell::new(Inner {
                // Queues the first attempt, which `pump` below makes (or fails) at once: a
                // bad URL or target is `connect()`'s error.
                machine: Machine::new(config, convert::seed(), convert::now()),
                provider,
                blobs,
                conn: None,
                resolving: None,
                url: AttemptUrl::Resolved(String::new()),
                timer: None,
                timer_at: None,
                inbound: VecDeque::new(),
                inbound_bytes: 0,
                rx_wakers: Vec::new(),
                wakers: Vec::new(),
                snapshot: Rc::new(Snapshot {
                    state: std::cell::Cell::new(State::Connecting),
                    reader_gone: std::cell::Cell::new(false),
                }),
                spare: Vec::new(),
                subscribers: Vec::new(),
                last_close: None,
                terminal: None,
                terminal_yielded: false,
                unsent: None,
                left_unsent: false,
                notify: false,
                global_listener: None,
                this: this.clone(),
            })
        });
        let mut inner = shared.borrow_mut();
        inner.pump();
        // The first socket could not even be created: that is connect()'s error.
        if let Some(e) = inner.terminal.clone().filter(|_| inner.machine.is_closed()) {
            return Err(e);
        }
        drop(inner);
        Ok(shared)
    }

    /// Everyone waiting, to wake once the borrow ends (`append` leaves the lists their room).
    fn take_wakers(&mut self) -> Vec<Waker> {
        self.notify = false;
        let mut all = std::mem::take(&mut self.spare);
        all.append(&mut self.wakers);
        all.append(&mut self.rx_wakers);
        all
    }

    /// Carries out the machine's actions until it has none, then sets the timer.
    fn pump(&mut self) {
        loop {
            let mut sent = false;
            while let Some(action) = self.machine.poll_action() {
                // Anything the machine did may end someone's wait (a sent message may have
                // been the last a flush waited for; a close ends every wait).
                self.notify = true;
                match action {
                    Action::Connect { attempt } => self.open_socket(attempt),
                    Action::Send(seq) => {
                        if let (Some(conn), Some(message)) =
                            (&self.conn, self.machine.outgoing(seq))
                        {
                            let result = match message {
                                Message::Text(s) => conn.ws.send_with_str(s),
                                Message::Binary(b) => conn.ws.send_with_u8_array(b),
                            };
                            // send() only throws on a CONNECTING socket, which the machine
                            // never sends to; a CLOSING socket counts the bytes as buffered,
                            // so they are re-queued with the rest when its close event comes.
                            // Should a browser throw anyway, say so rather than hide it.
                            if result.is_err() {
                                self.emit(&Event::Error);
                            }
                            sent = true;
                        }
                    }
                    Action::Close { code, reason } => match &self.conn {
                        Some(conn) if conn.opened => conn.close(code, &reason),
                        // Not open yet: the attempt ends here, with the 1006 a browser gives a
                        // socket closed while connecting (Node 24's WebSocket fires nothing
                        // for one, and `close()` would wait for the close timeout). The same
                        // with no socket yet, while an async target is on its way.
                        Some(_) => self.closed(None),
                        None => {
                            if self.resolving.take().is_some() {
                                self.closed(None);
                            }
                        }
                    },
                    Action::Abandon { code, reason } => {
                        self.resolving = None;
                        if let Some(conn) = self.conn.take() {
                            conn.close(code, &reason);
                        }
                    }
                    Action::Emit(event) => {
                        if let Event::Close(frame) = &event {
                            self.last_close = Some(frame.clone());
                        }
                        self.emit(&event);
                    }
                }
            }
            if !sent {
                // The network listener follows where the actions left the machine; what
                // it learns when added (the browser went offline meanwhile) queues more.
                if self.watch_network() {
                    continue;
                }
                break;
            }
            // Tell the machine where the buffer stands after what it just handed over, when
            // it needs to know (not after every small message: each reading is a JS call).
            if let Some(conn) = self
                .conn
                .as_ref()
                .filter(|_| self.machine.wants_buffer_reading())
            {
                self.machine
                    .handle_buffered(convert::now(), conn.ws.buffered_amount() as usize);
            }
        }
        if self.machine.is_closed() {
            self.finish();
        }
        self.arm_timer();
        self.snapshot.state.set(self.machine.state());
    }

    /// Listens for `online` and `offline` while the machine wants them
    /// (`Machine::wants_network_events`; watched: `events()` has a subscriber). When the
    /// listener is added, `navigator.onLine` is read: it tells what the events would have
    /// while nobody listened. Adding and removing a listener on the global and its closure
    /// cost a tenth of a connect (W4, `npm run bench`), so short-lived sockets are spared
    /// them. `true` if the listener was just added and the machine told the browser's state
    /// (it may have actions now).
    fn watch_network(&mut self) -> bool {
        let wanted = self
            .machine
            .wants_network_events(!self.subscribers.is_empty());
        if wanted == self.global_listener.is_some() {
            return false;
        }
        if !wanted {
            self.global_listener = None;
            return false;
        }
        let global: web_sys::EventTarget = js_sys::global().unchecked_into();
        let this = self.this.clone();
        self.global_listener = Some(Listener::new(&global, &["online", "offline"], move |e| {
            let online = e.type_() == "online";
            with(&this, &mut |i| i.network(online))
        }));
        // What may have changed while nobody listened (a no-op if it did not).
        self.network(convert::browser_online());
        true
    }

    /// Tells the machine the browser is online or offline.
    fn network(&mut self, online: bool) {
        match online {
            true => self.machine.handle_online(convert::now()),
            false => self.machine.handle_offline(),
        }
    }

    /// Closed for good: nothing of the browser stays attached.
    fn finish(&mut self) {
        self.conn = None;
        self.timer = None;
        self.timer_at = None;
        self.global_listener = None;
        if let Some(e) = self.machine.take_terminal() {
            self.terminal = Some(e);
        }
        if self.unsent.is_none() {
            let unsent = self.machine.take_unsent();
            self.left_unsent = !unsent.is_empty();
            self.unsent = Some(unsent);
            // Closed just now: everyone waiting learns it, even when no action carried the
            // end (`close()` during a reconnect delay queues none).
            self.notify = true;
        }
        self.subscribers.clear();
        // The caller's callbacks can never run again; what they hold is let go (the pong
        // matcher once what arrived before, Blobs among it, is read: `poll_next`).
        self.provider = Box::new(|_| Resolve::Now(Err(Error::SocketClosed)));
        self.resolving = None;
        self.machine.release_callbacks(!self.inbound.is_empty());
    }

    fn arm_timer(&mut self) {
        // Closed for good: `finish` dropped the timer and nothing is due any more (a buffer
        // check still scheduled would only fire once, for nothing).
        if self.machine.is_closed() {
            return;
        }
        // A deadline already given stays when nothing is due any more, or when it comes
        // before the next one: running early is harmless (the machine checks its own
        // deadlines and the timer is set again). Inbound traffic moves the heartbeat
        // deadline on every message, and this keeps that from touching the timer at all.
        let Some(at) = self.machine.poll_timeout() else {
            return;
        };
        if self.timer_at.is_some_and(|t| t <= at) {
            return;
        }
        self.timer_at = Some(at);
        let weak = &self.this;
        self.timer
            .get_or_insert_with(|| {
                let weak = weak.clone();
                Timer::new(move |now| with(&weak, &mut |i| i.on_timer(now)))
            })
            .set(at);
    }

    fn on_timer(&mut self, now: std::time::Duration) {
        self.timer_at = None;
        if let Some(conn) = &self.conn {
            self.machine
                .handle_buffered(now, conn.ws.buffered_amount() as usize);
        }
        self.machine.handle_timeout(now);
    }

    fn open_socket(&mut self, attempt: u32) {
        match (self.provider)(attempt) {
            Resolve::Now(target) => self.open_target(target),
            Resolve::Later(start) => self.resolving = Some(start(self.this.clone())),
        }
    }

    fn open_target(&mut self, target: Result<Target, Error>) {
        match target.and_then(|target| self.create_socket(target)) {
            Ok(conn) => self.conn = Some(conn),
            Err(e) => self.machine.handle_connect_error(e),
        }
    }

    /// The result of [`later`], for the attempt under way.
    fn on_target(&mut self, result: Result<Target, Failure>) {
        if self.resolving.take().is_none() {
            return;
        }
        match result {
            Ok(target) => self.open_target(Ok(target)),
            Err(Failure::End(e)) => self.open_target(Err(e)),
            Err(Failure::Attempt(reason)) => {
                let now = convert::now();
                self.machine
                    .handle_close(now, CloseFrame::abnormal(&reason), 0);
            }
        }
    }

    fn create_socket(&mut self, target: Target) -> Result<Conn, Error> {
        let Target { url, protocols } = target;
        // What is wrong with the URL, if anything, in the same words in every browser;
        // else `e`. A bad URL is named before bad subprotocols, as the constructor would.
        let url_fault = |e: Error| convert::resolve_url(&url).err().unwrap_or(e);
        crate::core::validate_protocols(&protocols).map_err(&url_fault)?;
        // A ws: or wss: URL goes to the constructor as it is, which parses it anyway;
        // anything else is resolved against the page first (see `convert::is_plain_ws`).
        let resolved = match convert::is_plain_ws(&url) {
            true => None,
            false => Some(convert::resolve_url(&url)?),
        };
        // No protocols array unless there are several: the browser walks a sequence
        // argument with the iterator protocol, which costs more than the rest of the
        // constructor's bindings (measured in W4, `npm run bench`).
        let href = resolved.as_deref().unwrap_or(&url);
        let ws = match protocols.as_slice() {
            [] => JsWebSocket::new(href),
            [one] => JsWebSocket::new_with_str(href, one),
            several => {
                let protocols = js_sys::Array::new();
                for p in several {
                    protocols.push(&p.into());
                }
                JsWebSocket::new_with_str_sequence(href, &protocols)
            }
        }
        .map_err(|e| match convert::error_from_js(e) {
            // The constructor refused an unresolved URL: say why as `resolve_url` does.
            e @ Error::InvalidUrl(_) if resolved.is_none() => url_fault(e),
            e => e,
        })?;
        self.url = match resolved {
            Some(href) => AttemptUrl::Resolved(href),
            None => AttemptUrl::Socket(ws.clone()),
        };
        ws.set_binary_type(match BinaryType::of(self.blobs) {
            BinaryType::ArrayBuffer => JsBinaryType::Arraybuffer,
            BinaryType::Blob => JsBinaryType::Blob,
        });
        // One closure shape for all four (less code than four closure types).
        let handler = |on: fn(&mut Inner, &web_sys::Event)| {
            let weak = self.this.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e| with(&weak, &mut |i| on(i, &e)))
        };
        let handlers = [
            handler(Inner::on_open),
            handler(Inner::on_message),
            handler(Inner::on_close),
            handler(Inner::on_error),
        ];
        let [open, message, close, error] = handlers.each_ref().map(|c| c.as_ref().unchecked_ref());
        ws.set_onopen(Some(open));
        ws.set_onmessage(Some(message));
        ws.set_onclose(Some(close));
        ws.set_onerror(Some(error));
        Ok(Conn {
            ws,
            _handlers: handlers,
            offered: !protocols.is_empty(),
            closed: false,
            opened: false,
        })
    }

    fn on_open(&mut self, _: &web_sys::Event) {
        let mut protocol = String::new();
        if let Some(c) = self.conn.as_mut() {
            c.opened = true;
            if c.offered {
                protocol = c.ws.protocol();
            }
        }
        self.machine.handle_open(convert::now(), protocol);
    }

    /// Hands `event` to every `events()` stream, forgetting those that are gone.
    fn emit(&mut self, event: &Event) {
        self.subscribers.retain_mut(|s| s(event));
    }

    fn on_error(&mut self, _: &web_sys::Event) {
        self.emit(&Event::Error);
        // An `error` before `open` is a failed connection: a browser then fires `close` (1006)
        // too, but Node 20's and 22's WebSocket (undici) fires nothing more for a refused one
        // and stays CONNECTING, so the attempt would wait for the connect timeout. It ends
        // here, as the browser's `close` would end it (which, its handlers cleared, then
        // never comes).
        if self.conn.as_ref().is_some_and(|c| !c.opened) {
            self.closed(None);
        }
    }

    fn on_message(&mut self, event: &web_sys::Event) {
        // The clock is read only if the machine needs the time (a heartbeat is on, the
        // inbound limit closes the connection).
        self.machine.handle_inbound(convert::now);
        // An echo says bytes left: the buffer may have drained since the last reading.
        self.read_for_room();
        if self.snapshot.reader_gone.get() {
            return;
        }
        // Only `message` events of our own socket come here: every one is a MessageEvent
        // (and should one not be, `data` is undefined and reported below).
        let event: &web_sys::MessageEvent = event.unchecked_ref();
        let data = event.data();
        let item = match convert::message_data(&data) {
            Some(m) => Inbound::Ready(m),
            None => match self.blobs.and_then(|read| read(&data)) {
                Some(read) => Inbound::Reading(read),
                None => Inbound::Failed(Error::Browser {
                    name: "UnsupportedData".into(),
                    message: "a message event carried neither text, an ArrayBuffer nor a Blob"
                        .into(),
                }),
            },
        };
        // Heartbeat pongs are swallowed here, so they never count against the limit nor
        // wait for the reader (a Blob pong is recognised once read, in `poll_next`).
        if matches!(&item, Inbound::Ready(m) if self.machine.is_pong(m)) {
            return;
        }
        let bytes = item.bytes();
        let waiting = !self.inbound.is_empty();
        match self
            .machine
            .admit(convert::now, bytes, self.inbound_bytes, waiting)
        {
            Admission::Keep => {
                self.inbound_bytes = self.inbound_bytes.saturating_add(bytes);
                self.inbound.push_back(item);
            }
            Admission::Drop => match self.inbound.back_mut() {
                Some(Inbound::Dropped(n)) => *n = n.saturating_add(1),
                _ => self.inbound.push_back(Inbound::Dropped(1)),
            },
            Admission::Discard => {}
        }
    }

    fn on_close(&mut self, event: &web_sys::Event) {
        self.closed(Some(event));
    }

    /// The connection ended: with its `close` event, or (`None`) failed before it opened.
    fn closed(&mut self, event: Option<&web_sys::Event>) {
        // What the browser still held: re-queued or reported by the machine. Dropped: after
        // its close event a socket fires nothing more; otherwise its handlers are cleared and
        // it is closed.
        let buffered = self.conn.take().map_or(0, |mut c| {
            c.closed = event.is_some();
            c.ws.buffered_amount() as usize
        });
        let frame = event.map_or_else(|| CloseFrame::abnormal(""), convert::close_frame);
        self.machine.handle_close(convert::now(), frame, buffered);
    }

    // ---- what the public handles call ----

    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        loop {
            let ready = match self.inbound.front_mut() {
                None => break,
                Some(Inbound::Reading((read, _))) => match read.as_mut().poll(cx) {
                    Poll::Pending => {
                        register(&mut self.rx_wakers, cx);
                        return Poll::Pending;
                    }
                    Poll::Ready(result) => Some(result),
                },
                Some(_) => None,
            };
            let Some(item) = self.inbound.pop_front() else {
                break;
            };
            self.inbound_bytes = self.inbound_bytes.saturating_sub(item.bytes());
            let item = match ready {
                // A Blob just read: only now can it be told whether it is a pong (every
                // other message was matched once, on arrival).
                Some(Ok(m)) if self.machine.is_pong(&m) => continue,
                Some(Ok(m)) => Inbound::Ready(m),
                Some(Err(e)) => Inbound::Failed(e),
                None => item,
            };
            match item {
                Inbound::Ready(m) => return Poll::Ready(Some(Ok(m))),
                Inbound::Failed(e) => return Poll::Ready(Some(Err(e))),
                Inbound::Dropped(count) => {
                    return Poll::Ready(Some(Err(Error::InboundDropped { count })))
                }
                Inbound::Reading(..) => continue,
            }
        }
        if self.machine.is_closed() {
            // Nothing left to read: the pong matcher too can go.
            self.machine.release_callbacks(false);
            if !self.terminal_yielded {
                self.terminal_yielded = true;
                if let Some(e) = self.terminal.clone() {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            return Poll::Ready(None);
        }
        register(&mut self.rx_wakers, cx);
        Poll::Pending
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.machine.poll_ready() {
            Ready::Yes => Poll::Ready(Ok(())),
            Ready::Closed => Poll::Ready(Err(Error::SocketClosed)),
            Ready::Wait => {
                register(&mut self.wakers, cx);
                Poll::Pending
            }
        }
    }

    pub(crate) fn send(&mut self, message: Message) -> Result<(), Error> {
        let result = self.machine.send(convert::now, message);
        self.pump();
        result
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // A fresh reading: whoever woke this task (an echo, a timer) may have seen the buffer
        // drain, and waiting for the next poll timer would add milliseconds to every send().
        // (Not when nothing is left by the last reading and what was handed over since: the
        // buffer only grows through our own sends.)
        let reading = self
            .conn
            .as_ref()
            .filter(|_| self.machine.buffered_estimate() > 0)
            .map(|conn| (convert::now(), conn.ws.buffered_amount() as usize));
        if let Some((now, buffered)) = reading {
            self.machine.handle_buffered(now, buffered);
        }
        // The clock is read for the flush only if it was not just now and the machine needs
        // it (to start polling the buffer).
        let result = self
            .machine
            .poll_flush(|| reading.map_or_else(convert::now, |(now, _)| now));
        self.pump();
        match result {
            Ok(true) => Poll::Ready(Ok(())),
            Ok(false) => {
                register(&mut self.wakers, cx);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Sink close: let the queue drain into the browser, then close with 1000 (within the
    /// close timeout). `Err` if messages were left unsent; they are handed over once, by
    /// `take_unsent` or the `Closing` future, whichever asks first.
    pub(crate) fn poll_sink_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.close_when_drained(1000, "")?;
        if !self.machine.is_closed() {
            register(&mut self.wakers, cx);
            return Poll::Pending;
        }
        match self.left_unsent {
            true => Poll::Ready(Err(Error::SocketClosed)),
            false => Poll::Ready(Ok(())),
        }
    }

    pub(crate) fn set_heartbeat(
        &mut self,
        heartbeat: Option<crate::Heartbeat>,
    ) -> Result<(), Error> {
        let result = self.machine.set_heartbeat(convert::now(), heartbeat);
        self.pump();
        result
    }

    /// Closes with `code` and `reason` once the queue has drained into the browser (within
    /// the close timeout), at once if nothing is queued.
    pub(crate) fn close_when_drained(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        let result = self
            .machine
            .close_when_drained(convert::now(), code, reason);
        self.pump();
        result
    }

    pub(crate) fn release_queue(&mut self) {
        self.machine.release_queue(convert::now());
        self.pump();
    }

    pub(crate) fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        let result = self.machine.close(convert::now(), code, reason);
        self.pump();
        result
    }

    pub(crate) fn reconnect(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        let result = self.machine.reconnect(convert::now(), code, reason);
        self.pump();
        result
    }

    /// Wakers to wake once the borrow is released, after a call from a handle.
    pub(crate) fn take_notified(&mut self) -> Vec<Waker> {
        if !std::mem::take(&mut self.notify) {
            return Vec::new();
        }
        let mut wake = std::mem::take(&mut self.spare);
        wake.append(&mut self.wakers);
        if self.machine.is_closed() {
            wake.append(&mut self.rx_wakers);
        }
        wake
    }

    /// The `Receiver` is gone (it set `reader_gone`): let go of the incoming messages
    /// nobody will read. (Dropped inside one of the socket's callbacks, it cannot: what it
    /// left stays until the socket goes, and nothing more is kept.)
    pub(crate) fn drop_reader(&mut self) {
        self.inbound.clear();
        self.inbound_bytes = 0;
    }

    pub(crate) fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<CloseOutcome> {
        if self.machine.is_closed() {
            let unsent = self.unsent.take().unwrap_or_default();
            self.unsent = Some(Vec::new());
            return Poll::Ready(CloseOutcome {
                frame: self.last_close.clone(),
                unsent,
            });
        }
        register(&mut self.wakers, cx);
        Poll::Pending
    }

    /// Ready once closed for good, taking nothing (unlike `poll_closed`).
    pub(crate) fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.machine.is_closed() {
            return Poll::Ready(());
        }
        register(&mut self.wakers, cx);
        Poll::Pending
    }

    pub(crate) fn poll_opened(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.machine.state() {
            State::Open => Poll::Ready(Ok(())),
            State::Closed => Poll::Ready(Err(self.terminal.clone().unwrap_or(Error::SocketClosed))),
            _ => {
                register(&mut self.wakers, cx);
                Poll::Pending
            }
        }
    }

    pub(crate) fn take_unsent(&mut self) -> Vec<Message> {
        self.unsent.as_mut().map(std::mem::take).unwrap_or_default()
    }

    pub(crate) fn state(&self) -> State {
        self.machine.state()
    }

    #[cfg(feature = "stomp")]
    pub(crate) fn is_live(&self) -> bool {
        self.machine.is_live()
    }

    /// Shared with the handles, for while this state is borrowed.
    pub(crate) fn snapshot(&self) -> Rc<Snapshot> {
        self.snapshot.clone()
    }

    pub(crate) fn protocol(&self) -> String {
        self.machine.protocol().to_owned()
    }

    pub(crate) fn next_attempt_in(&self) -> Option<std::time::Duration> {
        let at = self.machine.next_attempt_at()?;
        Some(at.saturating_sub(convert::now()))
    }

    pub(crate) fn url(&self) -> String {
        match &self.url {
            AttemptUrl::Resolved(href) => href.clone(),
            AttemptUrl::Socket(ws) => ws.url(),
        }
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.machine.queued_bytes()
    }

    /// The browser's `bufferedAmount`. A reading the app asks for serves the queue too:
    /// messages waiting for room go now if the buffer drained, not only at the next poll
    /// (an app that reads it at every task, waiting for 0, keeps the browser's timers
    /// waiting). Read again after handing over, so the caller, who adds
    /// [`queued_bytes`](Self::queued_bytes), never sees bytes in neither count.
    pub(crate) fn buffered_amount(&mut self) -> usize {
        if self.read_for_room() {
            self.pump();
        }
        self.conn
            .as_ref()
            .map_or(0, |c| c.ws.buffered_amount() as usize)
    }

    /// While queued messages wait for room, a `bufferedAmount` reading for the machine,
    /// taken whenever the driver has control anyway (an incoming message, the app asking):
    /// they may go now rather than at the next poll, whose interval is only a guess from
    /// the drain rate. Whether it was taken (the caller pumps if it is not pumped anyway).
    fn read_for_room(&mut self) -> bool {
        let Some(conn) = self.conn.as_ref().filter(|_| self.machine.waits_for_room()) else {
            return false;
        };
        self.machine
            .handle_buffered(convert::now(), conn.ws.buffered_amount() as usize);
        true
    }

    pub(crate) fn subscribe(&mut self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded();
        if !self.machine.is_closed() {
            self.subscribers
                .push(Box::new(move |e| tx.unbounded_send(e.clone()).is_ok()));
            // A first subscriber may start the network listener (`watch_network`).
            self.pump();
        }
        rx
    }

    /// The last handle is gone: close the socket if there is one, and detach everything.
    pub(crate) fn shutdown(&mut self) {
        // (Dropping the connection closes it with 1000.)
        self.conn = None;
        self.timer = None;
        self.timer_at = None;
        self.global_listener = None;
        self.subscribers.clear();
        self.inbound.clear();
        self.inbound_bytes = 0;
    }
}
