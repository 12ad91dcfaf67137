#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! [Yew](https://yew.rs) hooks for [resocket]: a resilient WebSocket as component state.
//!
//! ```no_run
//! use resocket::{Message, State};
//! use resocket_yew::use_websocket;
//! use std::rc::Rc;
//! use yew::prelude::*;
//!
//! /// The lines received, in order. A reducer, not `use_state`: messages that arrive
//! /// between two renders each add to the latest list, not to the one a callback saw.
//! #[derive(Default, PartialEq)]
//! struct Lines(Vec<String>);
//!
//! impl Reducible for Lines {
//!     type Action = String;
//!     fn reduce(self: Rc<Self>, line: String) -> Rc<Self> {
//!         let mut lines = self.0.clone();
//!         lines.push(line);
//!         Rc::new(Lines(lines))
//!     }
//! }
//!
//! #[component]
//! fn Chat() -> Html {
//!     let lines = use_reducer(Lines::default);
//!     let on_message = {
//!         let lines = lines.dispatcher();
//!         Callback::from(move |m: Message| {
//!             lines.dispatch(m.as_text().unwrap_or("(binary)").to_owned())
//!         })
//!     };
//!     let ws = use_websocket("/chat", on_message);
//!     let online = ws.state == State::Open;
//!     let send = { let ws = ws.clone(); Callback::from(move |_| ws.send(Message::Text("hi".into()))) };
//!     html! {
//!         <div>
//!             <p>{ if online { "online" } else { "offline" } }</p>
//!             <button onclick={send}>{ "say hi" }</button>
//!             <ul>{ for lines.0.iter().map(|l| html! { <li>{ l }</li> }) }</ul>
//!         </div>
//!     }
//! }
//! ```

pub use resocket;

use futures::future::{AbortHandle, Abortable};
use futures::StreamExt;
use resocket::{Builder, Error, Message, SendQueue, State, WebSocket};
use std::cell::RefCell;
use std::rc::Rc;
use yew::platform::spawn_local;
use yew::prelude::*;

/// What [`use_websocket`] gives a component. Cheap to clone into callbacks and child
/// components.
#[derive(Clone)]
pub struct UseWebSocket {
    /// The connection state; the component re-renders when it changes.
    pub state: State,
    /// While reconnecting: `Date.now()` in ms at which the next attempt starts; `None`
    /// otherwise, and while the browser is offline (the attempt then waits for `online`).
    pub reconnect_at: Option<f64>,
    /// How the socket ended, if it ended without being asked (e.g. retries exhausted).
    pub error: Option<Error>,
    /// The key this handle was rendered with: it sends to that key's socket while it lives.
    key: Rc<str>,
    shared: Rc<RefCell<Shared>>,
    // Their setters, for `close`, which the socket announces with no event.
    set_state: UseStateHandle<State>,
    set_reconnect_at: UseStateHandle<Option<f64>>,
}

/// What the hook's handles share. An effect makes the socket, after the render that asked
/// for it, and Yew runs a child's effects before its parent's: so the channel for a new key
/// is made while rendering (`next`), and what a child sends from its own effects waits in
/// it for the socket.
#[derive(Default)]
struct Shared {
    /// The socket the effect made, for the key it was made for.
    live: Option<Live>,
    /// A key rendered since, whose socket the effect has not made yet.
    next: Option<Next>,
    /// Sockets replaced or unmounted in this turn. Their close waits for the end of it, so
    /// what the teardown's other cleanups send (a child's destructor, a later effect's
    /// cleanup) still goes out ahead of the close frame.
    ending: Vec<Live>,
}

/// Where a handle's `send` and `close` go.
enum Route {
    Next,
    Live,
    Ending(usize),
    Nowhere,
}

impl Shared {
    /// The socket for `key`: the one made or about to be made for it, else one ending in
    /// this turn; for a key whose socket is gone, the current one, or while unmounting the
    /// last one ending.
    fn route(&self, key: &str) -> Route {
        if self.next.as_ref().is_some_and(|n| n.key == key) {
            Route::Next
        } else if self.live.as_ref().is_some_and(|l| l.key == key) {
            Route::Live
        } else if let Some(i) = self.ending.iter().rposition(|l| l.key == key) {
            Route::Ending(i)
        } else if self.next.is_some() {
            Route::Next
        } else if self.live.is_some() {
            Route::Live
        } else if !self.ending.is_empty() {
            Route::Ending(self.ending.len() - 1)
        } else {
            Route::Nowhere
        }
    }

    /// Moves the live socket to `ending`, to be closed at the end of this turn.
    fn retire(shared: &Rc<RefCell<Shared>>) {
        let mut this = shared.borrow_mut();
        let Some(live) = this.live.take() else { return };
        this.ending.push(live);
        if this.ending.len() > 1 {
            // Already scheduled in this turn.
            return;
        }
        let shared = shared.clone();
        spawn_local(async move {
            let ending = std::mem::take(&mut shared.borrow_mut().ending);
            for live in ending {
                live.end();
            }
        });
    }
}

struct Live {
    key: String,
    /// What `send` queued; `None` once closed before it was made, or when it could not be
    /// made.
    queue: Option<SendQueue>,
    sender: Option<resocket::Sender>,
}

impl Live {
    /// Hands the socket what `send` queued and the forwarding task has not (so it goes out
    /// before the close frame as far as the socket can transmit it), then closes it for
    /// good with 1000. The state the socket is in then; `None` without a socket, or from
    /// inside one of its own callbacks (a builder's `on_open` or `reconnect_if`), where it
    /// cannot act.
    fn close(&self) -> Option<State> {
        let sender = self.sender.as_ref()?;
        if let Some(queue) = &self.queue {
            queue.hand_over(sender);
        }
        // (The `Closing` future is not needed: the events say how it ends.)
        let _closing = sender.close(1000, "").ok()?;
        Some(sender.state())
    }

    /// Closes the socket and the queue, so later sends are dropped.
    fn end(&self) {
        let _ = self.close();
        if let Some(queue) = &self.queue {
            queue.close();
        }
    }
}

struct Next {
    key: String,
    /// `None`: `close()` came first, and no socket is made.
    queue: Option<SendQueue>,
}

impl PartialEq for UseWebSocket {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && self.reconnect_at == other.reconnect_at
            && self.error == other.error
            && self.key == other.key
            && Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for UseWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseWebSocket")
            .field("state", &self.state)
            .field("reconnect_at", &self.reconnect_at)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl UseWebSocket {
    /// Sends a message without blocking the UI. Messages go out in the order given and
    /// honour backpressure: they wait in an ordered channel while the socket's Sink waits.
    /// What is sent before the socket exists (from a child's effect, which Yew runs before
    /// the parent's effect that makes the socket) waits for it too.
    ///
    /// A handle sends to the socket of the key it was rendered with. When the key changes
    /// or the component unmounts, that socket is closed at the end of the turn, so what the
    /// teardown's other cleanups send through it (a child's destructor, a later effect's
    /// cleanup that says goodbye) still goes out ahead of the close frame. After that, a
    /// handle of an earlier key sends to the current socket; after the socket closed for
    /// good, [`close`](Self::close) or unmount, messages are dropped (check
    /// [`Self::state`]).
    pub fn send(&self, message: Message) {
        let shared = self.shared.borrow();
        let queue = match shared.route(&self.key) {
            Route::Next => shared.next.as_ref().and_then(|n| n.queue.as_ref()),
            Route::Live => shared.live.as_ref().and_then(|l| l.queue.as_ref()),
            Route::Ending(i) => shared.ending[i].queue.as_ref(),
            Route::Nowhere => None,
        };
        if let Some(queue) = queue {
            // Err only once the socket has ended (the receiving task closed the queue).
            let _ = queue.push(message);
        }
    }

    /// Drops the current connection and connects again at once (a "retry now" button, a
    /// new token from the builder's [`target_fn`](resocket::Builder::target_fn) or
    /// [`target_async`](resocket::Builder::target_async)): resocket's
    /// [`reconnect`](resocket::WebSocket::reconnect) with code 1000. What [`send`](Self::send)
    /// queued waits and goes out on the new connection; the state stays `Open` until the
    /// old connection has closed, then goes through `Connecting` to `Open`. Waiting to reconnect, the attempt starts now. It goes to the
    /// socket [`send`](Self::send) would send to while that socket is the current one
    /// (a handle of an earlier key reconnects the current socket), and does nothing for a
    /// socket closed (or closing) for good, one not made yet, one ending with its
    /// component or key in this turn, or from inside one of the socket's own callbacks.
    pub fn reconnect(&self) {
        let shared = self.shared.borrow();
        if let Route::Live = shared.route(&self.key) {
            if let Some(sender) = shared.live.as_ref().and_then(|l| l.sender.as_ref()) {
                let _ = sender.reconnect(1000, "");
            }
        }
    }

    /// Closes the socket for good (code 1000), cancelling any pending reconnection. The
    /// state shows `Closing` at once (`Closed` if there was no connection to close), then
    /// `Closed`; `error` stays `None`. Called before the socket was made (from a child's
    /// effect), it is not made. Called from inside one of the socket's own callbacks (a
    /// builder's `on_open` or `reconnect_if`), where the socket cannot act, it does nothing.
    /// It goes to the socket [`send`](Self::send) would send to.
    ///
    /// What [`send`](Self::send) queued is handed to the socket first, so an open
    /// connection transmits it before the close frame. What the socket cannot transmit
    /// (no connection is open, or `bufferedAmount` is above the high-water mark) is not
    /// sent, and is lost: this hook does not hand it back.
    pub fn close(&self) {
        let mut shared = self.shared.borrow_mut();
        match shared.route(&self.key) {
            Route::Next => {
                if let Some(next) = &mut shared.next {
                    if next.queue.take().is_some() {
                        self.set_state.set(State::Closed);
                    }
                }
            }
            Route::Live => {
                // No event says a close started: show it now.
                if let Some(state) = shared.live.as_ref().and_then(Live::close) {
                    self.set_state.set(state);
                    self.set_reconnect_at.set(None);
                }
            }
            // Ending with its component or key: no state to show.
            Route::Ending(i) => shared.ending[i].end(),
            Route::Nowhere => {}
        }
    }
}

/// Connects to `url` with resocket's defaults while the component is mounted; calls
/// `on_message` for every message, in order. Reconnects when `url` changes.
#[hook]
pub fn use_websocket(url: &str, on_message: Callback<Message>) -> UseWebSocket {
    let url = url.to_owned();
    let builder_url = url.clone();
    use_websocket_with(url, move || WebSocket::builder(&builder_url), on_message)
}

/// Like [`use_websocket`] with a custom [`Builder`] (backoff, heartbeat, protocols …).
/// The socket is made anew whenever `key` changes, and closed when the component unmounts;
/// what `send` queued goes out first, as far as the socket can transmit it. It is made by an
/// effect, so a server-side render makes none and shows `Connecting`, as the browser first
/// renders it.
#[hook]
pub fn use_websocket_with<F>(key: String, make: F, on_message: Callback<Message>) -> UseWebSocket
where
    F: FnOnce() -> Builder + 'static,
{
    let state = use_state_eq(|| State::Connecting);
    let reconnect_at = use_state_eq(|| None::<f64>);
    let error = use_state_eq(|| None::<Error>);
    let shared = use_mut_ref(Shared::default);
    {
        let mut shared = shared.borrow_mut();
        if shared.live.as_ref().is_some_and(|l| l.key == key) {
            // Back to the key of the socket that runs (before the effect for another one
            // ran): it stays, and nothing is made.
            shared.next = None;
        } else if shared.next.as_ref().is_none_or(|n| n.key != key) {
            shared.next = Some(Next {
                key: key.clone(),
                queue: Some(SendQueue::new()),
            });
        }
    }
    // The latest callback, so a re-render with a new closure is honoured.
    let handle_key: Rc<str> = key.as_str().into();
    let on_message_ref = use_mut_ref(|| on_message.clone());
    *on_message_ref.borrow_mut() = on_message;

    {
        let (state, reconnect_at, error) = (state.clone(), reconnect_at.clone(), error.clone());
        let shared = shared.clone();
        use_effect_with(key, move |key| {
            let aborts = start(
                make,
                key,
                &state,
                &reconnect_at,
                &error,
                &shared,
                on_message_ref,
            );
            move || {
                // Replaced by a socket for another key, or unmounted. Yew runs this before
                // the effect for the next key: `live` is still the one `start` set. Its
                // tasks stop now (no state is set, no callback runs); it closes at the end
                // of the turn, after what the other cleanups send to it.
                aborts.iter().for_each(AbortHandle::abort);
                Shared::retire(&shared);
            }
        });
    }
    {
        // Unmounted: a socket not made yet never will be, and the one made ends with the
        // turn (the key's cleanup above retired it), so what is sent after that is dropped.
        let shared = shared.clone();
        use_effect_with((), move |_| {
            move || {
                shared.borrow_mut().next = None;
                Shared::retire(&shared);
            }
        });
    }

    UseWebSocket {
        state: *state,
        reconnect_at: *reconnect_at,
        error: (*error).clone(),
        key: handle_key,
        shared,
        set_state: state,
        set_reconnect_at: reconnect_at,
    }
}

/// Connects and spawns the three tasks; returns their abort handles. Aborting them stops
/// every state change and callback at once; `Live::end` closes the socket.
fn start<F: FnOnce() -> Builder>(
    make: F,
    key: &str,
    state: &UseStateHandle<State>,
    reconnect_at: &UseStateHandle<Option<f64>>,
    error: &UseStateHandle<Option<Error>>,
    shared: &Rc<RefCell<Shared>>,
    on_message: Rc<RefCell<Callback<Message>>>,
) -> Vec<AbortHandle> {
    reconnect_at.set(None);
    error.set(None);
    let queue = {
        let mut shared = shared.borrow_mut();
        match shared.next.take() {
            Some(next) if next.key == key => next.queue,
            // Not rendered for this key (cannot happen: the effect follows the render).
            other => {
                shared.next = other;
                Some(SendQueue::new())
            }
        }
    };
    let mut live = Live {
        key: key.to_owned(),
        queue: None,
        sender: None,
    };
    let made = match queue {
        // Closed before it was made.
        None => None,
        Some(queue) => match make().connect() {
            Ok(ws) => Some((ws, queue)),
            Err(e) => {
                error.set(Some(e));
                None
            }
        },
    };
    let Some((ws, queue)) = made else {
        state.set(State::Closed);
        shared.borrow_mut().live = Some(live);
        return Vec::new();
    };
    state.set(State::Connecting);
    let mut events = ws.events();
    let (tx, mut rx) = ws.split();
    let watcher = tx.clone();
    live.queue = Some(queue.clone());
    live.sender = Some(tx.clone());
    shared.borrow_mut().live = Some(live);

    let mut aborts = Vec::new();
    let mut spawn = |task: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>| {
        let (handle, registration) = AbortHandle::new_pair();
        aborts.push(handle);
        spawn_local(async move {
            let _ = Abortable::new(task, registration).await;
        });
    };

    let (s, r) = (state.clone(), reconnect_at.clone());
    spawn(Box::pin(async move {
        while events.next().await.is_some() {
            // The socket knows when its next attempt starts (none while the browser is
            // offline: it then waits for it to come back online).
            let at = watcher
                .next_attempt_in()
                .map(|d| js_sys::Date::now() + d.as_secs_f64() * 1000.0);
            r.set(at);
            s.set(watcher.state());
        }
        // The event stream ends only when the socket is closed for good.
        r.set(None);
        s.set(watcher.state());
    }));

    let (s, e) = (state.clone(), error.clone());
    spawn(Box::pin(async move {
        while let Some(item) = rx.next().await {
            // (Error items that do not end the socket, e.g. messages dropped at the inbound
            // limit, are not how it ended: left out.)
            if let Ok(message) = item {
                let callback = on_message.borrow().clone();
                callback.emit(message);
            }
        }
        // Closed for good: `opened()` now tells the end that was not asked for, if any.
        if let Err(err) = rx.opened().await {
            if err != Error::SocketClosed {
                e.set(Some(err));
            }
        }
        s.set(State::Closed);
    }));

    spawn(Box::pin(queue.forward(tx)));
    aborts
}

/// The hook in a server-side render (a host target, no browser): it renders, and touches no
/// browser API. (A unit test: the browser suites run every file in `tests/`, and this one
/// has nothing to run there.)
#[cfg(all(test, not(target_arch = "wasm32")))]
mod server {
    use super::*;

    #[component]
    fn Chat() -> Html {
        let ws = use_websocket("/chat", Callback::noop());
        // Sent while rendering, before any socket: it would wait for the browser's.
        ws.send(Message::Text("hello".into()));
        html! { <p>{ format!("{:?}", ws.state) }</p> }
    }

    #[tokio::test]
    async fn on_the_server_the_hook_renders_connecting() {
        let html = yew::ServerRenderer::<Chat>::new()
            .hydratable(false)
            .render()
            .await;
        assert_eq!(html, "<p>Connecting</p>");
    }
}
