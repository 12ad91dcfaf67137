#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! [Leptos](https://leptos.dev) integration for [resocket]: a resilient browser WebSocket
//! as a hook with reactive state.
//!
//! [`use_websocket`] connects when the component runs and closes when the component is
//! cleaned up. What it returns, [`UseWebSocket`], is `Copy`, so it moves into as many
//! closures and child components as you like:
//!
//! ```no_run
//! use leptos::prelude::*;
//! use resocket::{Message, State};
//! use resocket_leptos::use_websocket;
//!
//! #[component]
//! fn Ticker() -> impl IntoView {
//!     let ws = use_websocket("/ticks");
//!     let lines = RwSignal::new(Vec::<String>::new());
//!     // Every message, in order (the `message` signal alone would coalesce bursts).
//!     ws.on_message(move |m| {
//!         if let Message::Text(t) = m {
//!             lines.update(|l| l.push(t));
//!         }
//!     });
//!     view! {
//!         <p>{move || if ws.state.get() == State::Open { "online" } else { "offline" }}</p>
//!         <button on:click=move |_| ws.send(Message::Text("more".into()))>"More"</button>
//!         <ul>{move || lines.get().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
//!     }
//! }
//! ```
//!
//! # How it works
//!
//! The hook owns one [`resocket::WebSocket`], split in two, and three tasks on the
//! component's thread:
//!
//! - one reads [`events`](resocket::Sender::events) into [`state`](UseWebSocket::state) and
//!   [`reconnect_at`](UseWebSocket::reconnect_at);
//! - one reads the messages, calls the [`on_message`](UseWebSocket::on_message) callbacks
//!   and sets [`message`](UseWebSocket::message); it sets [`error`](UseWebSocket::error) if
//!   the socket ends without being asked;
//! - one forwards what [`send`](UseWebSocket::send) queued into the socket's `Sink`, one
//!   message at a time when `poll_ready` says so, so order is kept and resocket's
//!   backpressure is honoured without ever blocking the UI.
//!
//! All three end when the socket is closed for good. [`close`](UseWebSocket::close) first
//! hands the socket whatever is still queued, so a message sent just before it goes out
//! ahead of the close frame while the connection is open and below the high-water mark
//! (what cannot go comes back from [`take_unsent`](resocket::Sender::take_unsent)). When
//! the reactive owner that called the hook is cleaned up (the component unmounts), the tasks
//! are cancelled before the signals are disposed, so no signal is written and no callback
//! runs afterwards, and the same hand-over and close follow at the end of that turn: what
//! the owner's other cleanups send (an `on_cleanup` that says goodbye, registered before or
//! after the hook, or a child's) still goes out ahead of the close frame. What is sent once
//! the owner is disposed is dropped.
//!
//! The tasks run on wasm-bindgen-futures, so the hook also works before Leptos has a task
//! runner (before `mount_to`, or under a bare `Owner` in a test). In a server-rendered app
//! the server's run of the component (on any target but wasm32, or where the render's
//! shared context says it is not a browser) makes no socket: `state` is `Connecting`, as
//! the browser first renders it, sends are dropped and `sender()` is `None`; the browser's
//! run after hydration connects.

/// The socket crate this hook is built on, re-exported so one dependency is enough.
pub use resocket;

use futures::future::{AbortHandle, Abortable};
use futures::StreamExt;
use leptos::prelude::*;
use resocket::{Builder, Error, Event, Message, Receiver, SendQueue, Sender, State, WebSocket};
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

/// Connects to `url` with resocket's defaults (reconnection with
/// [`Backoff::default`](resocket::Backoff), no heartbeat) and closes the socket when the
/// calling component is cleaned up.
///
/// Relative and `http(s)` URLs resolve against the page. An invalid URL does not panic: the
/// hook comes back [`Closed`](State::Closed) with the reason in [`error`](UseWebSocket::error).
pub fn use_websocket(url: impl Into<String>) -> UseWebSocket {
    let url = url.into();
    use_websocket_with(move || WebSocket::builder(&url))
}

/// Like [`use_websocket`], with a socket configured by `make`: subprotocols, backoff,
/// heartbeat, water marks, a fresh URL per attempt…
///
/// ```no_run
/// use resocket::{Backoff, Heartbeat, WebSocket};
/// use resocket_leptos::use_websocket_with;
/// use std::time::Duration;
///
/// # fn component() {
/// let ws = use_websocket_with(|| {
///     WebSocket::builder("wss://example.com/live")
///         .reconnect(Backoff::new().cap(Duration::from_secs(10)))
///         .heartbeat(Heartbeat::new(Duration::from_secs(20), Duration::from_secs(5)))
/// });
/// # }
/// ```
pub fn use_websocket_with(make: impl FnOnce() -> Builder) -> UseWebSocket {
    let state = RwSignal::new(State::Connecting);
    let reconnect_at = RwSignal::new(None);
    let message = RwSignal::new(None);
    let error = RwSignal::new(None);
    let callbacks = StoredValue::new_local(Rc::new(RefCell::new(Callbacks::default())));
    let handle = |queue, sender| UseWebSocket {
        state: state.into(),
        reconnect_at: reconnect_at.into(),
        message: message.into(),
        error: error.into(),
        set_state: state,
        set_reconnect_at: reconnect_at,
        queue,
        sender,
        callbacks,
    };
    let without_socket = || handle(StoredValue::new_local(None), StoredValue::new_local(None));

    // Rendered on the server (server-side rendering): no browser, no socket. The page is
    // rendered connecting, as the browser renders it first, and the browser's own run of the
    // component connects. A server is any target but wasm32, or one whose render context
    // says so (a wasm32 server: Cloudflare Workers, WASI), as Leptos's own `Portal` tells it.
    let in_browser = cfg!(target_arch = "wasm32")
        && Owner::current_shared_context().map_or(true, |context| context.is_browser());
    if !in_browser {
        return without_socket();
    }
    let socket = match make().connect() {
        Ok(socket) => socket,
        Err(e) => {
            state.set(State::Closed);
            error.set(Some(e));
            return without_socket();
        }
    };
    // Subscribe before anything can happen, so no transition is missed.
    let events = socket.events();
    state.set(socket.state());
    let (sender, receiver) = socket.split();
    let queue = SendQueue::new();

    let tasks = [
        spawn_abortable(track_state(sender.clone(), events, state, reconnect_at)),
        spawn_abortable(receive(receiver, callbacks.get_value(), message, error)),
        spawn_abortable(queue.forward(sender.clone())),
    ];

    let queue = StoredValue::new_local(Some(queue));
    let sender = StoredValue::new_local(Some(sender));
    on_cleanup(move || {
        // Cleanups run before the owner's signals and stored values are disposed: the tasks
        // are never polled again, so they write no signal and run no callback from now on.
        for task in &tasks {
            task.abort();
        }
        // The close waits for the end of this turn: the owner's other cleanups (an
        // `on_cleanup` registered after this one that says goodbye) still reach the queue,
        // and what it holds goes out ahead of the close frame.
        let queue = queue.try_with_value(Clone::clone).flatten();
        let sender = sender.try_with_value(Clone::clone).flatten();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(sender) = &sender {
                // (This task never runs inside one of the socket's callbacks.)
                hand_over_and_close(queue.as_ref(), sender);
            }
            if let Some(queue) = queue {
                queue.close();
            }
        });
    });

    handle(queue, sender)
}

/// A WebSocket owned by a component: reactive state, ordered sends, message callbacks.
/// Returned by [`use_websocket`] and [`use_websocket_with`]; `Copy`.
///
/// Its signals are owned by the component that called the hook and are disposed with it.
#[derive(Clone, Copy)]
pub struct UseWebSocket {
    /// Where the connection is: `Connecting`, `Open`, `Reconnecting { attempt, delay }`,
    /// `Closing`, `Closed`.
    pub state: Signal<State>,
    /// While [`Reconnecting`](State::Reconnecting): when the next attempt starts, in
    /// milliseconds since the epoch (the clock of
    /// [`Date.now()`](https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Date/now)),
    /// for a countdown. `None` in every other state, and while the browser is offline (the
    /// attempt then starts when it comes back online).
    pub reconnect_at: Signal<Option<f64>>,
    /// The last message received. Convenient for "latest value" feeds; a burst of messages
    /// between two renders shows only the last, so use
    /// [`on_message`](UseWebSocket::on_message) to see every one.
    pub message: Signal<Option<Message>>,
    /// Why the socket ended, if it ended without being asked: [`Error::Closed`],
    /// [`Error::ConnectFailed`], [`Error::ReconnectExhausted`], or an invalid URL or
    /// configuration at connect time. `None` while the socket lives and after
    /// [`close`](UseWebSocket::close).
    pub error: Signal<Option<Error>>,
    // The writable sides of `state` and `reconnect_at`, for `close`, which the socket
    // announces with no event.
    set_state: RwSignal<State>,
    set_reconnect_at: RwSignal<Option<f64>>,
    /// What `send` queued, shared with the forwarding task: `close` empties it.
    queue: StoredValue<Option<SendQueue>, LocalStorage>,
    sender: StoredValue<Option<Sender>, LocalStorage>,
    callbacks: StoredValue<Rc<RefCell<Callbacks>>, LocalStorage>,
}

impl std::fmt::Debug for UseWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseWebSocket")
            .field("state", &self.state.try_get_untracked())
            .field("error", &self.error.try_get_untracked())
            .finish_non_exhaustive()
    }
}

impl UseWebSocket {
    /// Sends `message` after everything sent before it. Returns at once: the message waits
    /// in an in-memory queue while resocket pushes back (`bufferedAmount` above the
    /// high-water mark, or a full queue while reconnecting), and goes out when the `Sink` is
    /// ready. While connecting or reconnecting, messages wait for the connection.
    ///
    /// Once [`close`](Self::close) was called, the socket closed for good, or the component
    /// is gone, the message is dropped; [`state`](UseWebSocket::state) shows it, and
    /// [`error`](UseWebSocket::error) tells why if the end was not asked for. So are those still waiting here when the
    /// socket ends by itself (retries exhausted); those resocket had already taken and
    /// never transmitted come back from [`take_unsent`](resocket::Sender::take_unsent).
    pub fn send(&self, message: Message) {
        self.queue.try_with_value(|queue| {
            if let Some(queue) = queue {
                // Err only once the socket has ended (the queue is closed then).
                let _ = queue.push(message);
            }
        });
    }

    /// Calls `f` for every message received, in order, from now on. A callback registered
    /// inside a component is removed when that component is cleaned up, so child
    /// components can listen to a parent's socket.
    ///
    /// Register it where a reactive owner is current: in a component's body, an effect or
    /// an event handler (which runs under its component's owner, so it is removed with
    /// that component, and each call adds one more callback until then). From a spawned
    /// task there is none to clean it up, so the callback then lives as long as the
    /// socket, and one that reads a signal disposed meanwhile would panic.
    pub fn on_message(&self, f: impl Fn(Message) + 'static) {
        let id = self
            .callbacks
            .try_with_value(|c| c.borrow_mut().add(Rc::new(f)));
        if let Some(id) = id {
            let callbacks = self.callbacks;
            on_cleanup(move || {
                callbacks.try_with_value(|c| c.borrow_mut().remove(id));
            });
        }
    }

    /// Drops the current connection and connects again at once (a "retry now" button, a
    /// new token from the builder's [`target_fn`](resocket::Builder::target_fn) or
    /// [`target_async`](resocket::Builder::target_async)): resocket's
    /// [`reconnect`](resocket::WebSocket::reconnect) with code 1000. What [`send`](Self::send)
    /// queued waits and goes out on the new connection; the state stays `Open` until the
    /// old connection has closed, then goes through `Connecting` to `Open`. Waiting to reconnect, the attempt starts now. It does
    /// nothing for a socket closed (or closing) for good, once the component is gone, or
    /// from inside one of the socket's own callbacks.
    pub fn reconnect(&self) {
        self.sender.try_with_value(|sender| {
            if let Some(sender) = sender {
                let _ = sender.reconnect(1000, "");
            }
        });
    }

    /// Closes the connection for good with 1000 (normal closure), cancelling any pending
    /// reconnection. The state goes through `Closing` to `Closed`; `error` stays `None`.
    ///
    /// What [`send`](Self::send) queued is handed to the socket first, so an open
    /// connection transmits it before the close frame. What the socket cannot transmit
    /// (no connection is open, or `bufferedAmount` is above the high-water mark) is not
    /// sent: [`take_unsent`](resocket::Sender::take_unsent) on [`sender`](Self::sender)
    /// returns it once the socket is closed.
    pub fn close(&self) {
        self.sender.try_with_value(|sender| {
            let Some(sender) = sender else { return };
            let queue = self.queue.try_with_value(Clone::clone).flatten();
            if hand_over_and_close(queue.as_ref(), sender) {
                // No event says a close started: show it now (Closing, or Closed at once
                // if there was no connection to close).
                self.set_state.try_set(sender.state());
                self.set_reconnect_at.try_set(None);
            }
        });
    }

    /// The sending half of the underlying socket, for what the hook does not cover:
    /// [`events`](resocket::Sender::events) (heartbeat timeouts, requeues…),
    /// [`buffered_amount`](resocket::Sender::buffered_amount), or awaiting backpressure
    /// through its `Sink`. `None` if the socket could not be created or the component is
    /// gone.
    ///
    /// Keep it only as long as you need it: the socket stays alive while a `Sender` does.
    pub fn sender(&self) -> Option<Sender> {
        self.sender.try_with_value(Clone::clone).flatten()
    }
}

/// Hands `sender` what `queue` holds, so it goes out ahead of the close frame as far as the
/// socket can transmit it, then closes the socket for good with 1000. `false` from inside
/// one of the socket's own callbacks (a builder's `on_open` or `reconnect_if`), where the
/// socket cannot act.
fn hand_over_and_close(queue: Option<&SendQueue>, sender: &Sender) -> bool {
    if let Some(queue) = queue {
        queue.hand_over(sender);
    }
    sender.close(1000, "").is_ok()
}

/// Runs `task` on this thread until it ends or the returned handle aborts it; once aborted,
/// it is never polled again. On wasm-bindgen's executor directly: Leptos's `spawn_local`
/// panics until a task runner is set (`mount_to` sets one), and the hook may come first.
fn spawn_abortable(task: impl Future<Output = ()> + 'static) -> AbortHandle {
    let (handle, registration) = AbortHandle::new_pair();
    let task = Abortable::new(task, registration);
    wasm_bindgen_futures::spawn_local(async move {
        let _ = task.await;
    });
    handle
}

type Callback = Rc<dyn Fn(Message)>;

#[derive(Default)]
struct Callbacks {
    next_id: u64,
    list: Vec<(u64, Callback)>,
}

impl Callbacks {
    fn add(&mut self, f: Callback) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.list.push((id, f));
        id
    }

    fn remove(&mut self, id: u64) {
        self.list.retain(|(i, _)| *i != id);
    }

    /// The callbacks as they are now, so none is borrowed while they run (a callback may
    /// register another).
    fn snapshot(&self) -> Vec<Callback> {
        self.list.iter().map(|(_, f)| f.clone()).collect()
    }
}

/// Mirrors the socket's life into `state` and `reconnect_at`.
async fn track_state(
    socket: Sender,
    mut events: impl futures::Stream<Item = Event> + Unpin,
    state: RwSignal<State>,
    reconnect_at: RwSignal<Option<f64>>,
) {
    while events.next().await.is_some() {
        // The socket's own state is the truth, and it knows when its next attempt starts
        // (none while offline: then it waits for the browser to come back online).
        let at = socket
            .next_attempt_in()
            .map(|d| js_sys::Date::now() + d.as_secs_f64() * 1000.0);
        state.try_set(socket.state());
        reconnect_at.try_set(at);
    }
    // The event stream ends only when the socket is closed for good.
    state.try_set(State::Closed);
    reconnect_at.try_set(None);
}

/// Hands every message to the callbacks and the `message` signal; records how the socket
/// ended. (Error items that do not end it, e.g. messages dropped at the inbound limit, are
/// not that: they are left out.)
async fn receive(
    mut receiver: Receiver,
    callbacks: Rc<RefCell<Callbacks>>,
    message: RwSignal<Option<Message>>,
    error: RwSignal<Option<Error>>,
) {
    while let Some(item) = receiver.next().await {
        if let Ok(m) = item {
            let snapshot = callbacks.borrow().snapshot();
            for f in snapshot {
                f(m.clone());
            }
            message.try_set(Some(m));
        }
    }
    // Closed for good: `opened()` now tells the end that was not asked for, if any.
    if let Err(e) = receiver.opened().await {
        if e != Error::SocketClosed {
            error.try_set(Some(e));
        }
    }
}

/// The hook in a server-side render (a host target, no browser): it must render, not panic
/// on a browser API that is not there. (A unit test: the browser suites run every file in
/// `tests/`, and this one has nothing to run there.)
#[cfg(all(test, not(target_arch = "wasm32")))]
mod server {
    use super::*;

    #[test]
    fn on_the_server_the_hook_renders_connecting_and_makes_no_socket() {
        let owner = Owner::new();
        owner.with(|| {
            let ws = use_websocket("/chat");
            let made = use_websocket_with(|| panic!("the builder is not made on the server"));
            for ws in [ws, made] {
                assert_eq!(ws.state.get_untracked(), State::Connecting);
                assert_eq!(ws.error.get_untracked(), None);
                assert_eq!(ws.reconnect_at.get_untracked(), None);
                ws.on_message(|_| {});
                ws.send(Message::Text("dropped".into()));
                ws.close();
                assert!(ws.sender().is_none());
            }
        });
        owner.cleanup();
    }
}
