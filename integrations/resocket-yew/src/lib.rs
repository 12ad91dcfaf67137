#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! [Yew](https://yew.rs) hooks for [resocket]: a resilient WebSocket as component state.
//!
//! ```no_run
//! use resocket::{Message, State};
//! use resocket_yew::use_websocket;
//! use yew::prelude::*;
//!
//! #[component]
//! fn Chat() -> Html {
//!     let lines = use_state(Vec::<String>::new);
//!     let on_message = {
//!         let lines = lines.clone();
//!         Callback::from(move |m: Message| {
//!             let mut next = (*lines).clone();
//!             next.push(m.as_text().unwrap_or("(binary)").to_owned());
//!             lines.set(next);
//!         })
//!     };
//!     let ws = use_websocket("/chat", on_message);
//!     let online = ws.state == State::Open;
//!     let send = { let ws = ws.clone(); Callback::from(move |_| ws.send(Message::Text("hi".into()))) };
//!     html! {
//!         <div>
//!             <p>{ if online { "online" } else { "offline" } }</p>
//!             <button onclick={send}>{ "say hi" }</button>
//!             <ul>{ for lines.iter().map(|l| html! { <li>{ l }</li> }) }</ul>
//!         </div>
//!     }
//! }
//! ```

pub use resocket;

use futures::channel::mpsc;
use futures::future::{AbortHandle, Abortable};
use futures::{SinkExt, StreamExt};
use resocket::{Builder, Error, Message, State, WebSocket};
use std::cell::RefCell;
use std::rc::Rc;
use yew::platform::spawn_local;
use yew::prelude::*;

/// What [`use_websocket`] gives a component. Cheap to clone into callbacks.
#[derive(Clone)]
pub struct UseWebSocket {
    /// The connection state; the component re-renders when it changes.
    pub state: State,
    /// While reconnecting: `Date.now()` in ms at which the next attempt starts; `None`
    /// otherwise, and while the browser is offline (the attempt then waits for `online`).
    pub reconnect_at: Option<f64>,
    /// How the socket ended, if it ended without being asked (e.g. retries exhausted).
    pub error: Option<Error>,
    outbox: Rc<RefCell<Option<mpsc::UnboundedSender<Message>>>>,
    closer: Rc<RefCell<Option<resocket::Sender>>>,
}

impl PartialEq for UseWebSocket {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && self.reconnect_at == other.reconnect_at
            && self.error == other.error
            && Rc::ptr_eq(&self.outbox, &other.outbox)
    }
}

impl UseWebSocket {
    /// Sends a message without blocking the UI. Messages go out in the order given and
    /// honour backpressure: they wait in an ordered channel while the socket's Sink waits.
    /// After the socket closed for good, messages are dropped (check [`Self::state`]).
    pub fn send(&self, message: Message) {
        if let Some(tx) = self.outbox.borrow().as_ref() {
            let _ = tx.unbounded_send(message);
        }
    }

    /// Closes the socket for good (code 1000).
    pub fn close(&self) {
        if let Some(tx) = self.closer.borrow().as_ref() {
            let _ = tx.close(1000, "");
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
/// The socket is made anew whenever `key` changes, and closed when the component unmounts.
#[hook]
pub fn use_websocket_with<F>(key: String, make: F, on_message: Callback<Message>) -> UseWebSocket
where
    F: FnOnce() -> Builder + 'static,
{
    let state = use_state_eq(|| State::Connecting);
    let reconnect_at = use_state_eq(|| None::<f64>);
    let error = use_state_eq(|| None::<Error>);
    let outbox = use_mut_ref(|| None::<mpsc::UnboundedSender<Message>>);
    let closer = use_mut_ref(|| None::<resocket::Sender>);
    // The latest callback, so a re-render with a new closure is honoured.
    let on_message_ref = use_mut_ref(|| on_message.clone());
    *on_message_ref.borrow_mut() = on_message;

    {
        let (state, reconnect_at, error) = (state.clone(), reconnect_at.clone(), error.clone());
        let (outbox, closer) = (outbox.clone(), closer.clone());
        use_effect_with(key, move |_| {
            let aborts = start(
                make,
                &state,
                &reconnect_at,
                &error,
                &outbox,
                &closer,
                on_message_ref,
            );
            move || {
                outbox.borrow_mut().take();
                closer.borrow_mut().take();
                aborts.iter().for_each(AbortHandle::abort);
            }
        });
    }

    UseWebSocket {
        state: *state,
        reconnect_at: *reconnect_at,
        error: (*error).clone(),
        outbox,
        closer,
    }
}

/// Connects and spawns the three tasks; returns their abort handles. Dropping the tasks
/// drops the socket's handles, which closes it and removes its listeners.
fn start<F: FnOnce() -> Builder>(
    make: F,
    state: &UseStateHandle<State>,
    reconnect_at: &UseStateHandle<Option<f64>>,
    error: &UseStateHandle<Option<Error>>,
    outbox: &Rc<RefCell<Option<mpsc::UnboundedSender<Message>>>>,
    closer: &Rc<RefCell<Option<resocket::Sender>>>,
    on_message: Rc<RefCell<Callback<Message>>>,
) -> Vec<AbortHandle> {
    state.set(State::Connecting);
    reconnect_at.set(None);
    error.set(None);
    let ws = match make().connect() {
        Ok(ws) => ws,
        Err(e) => {
            error.set(Some(e));
            state.set(State::Closed);
            return Vec::new();
        }
    };
    let mut events = ws.events();
    let (mut tx, mut rx) = ws.split();
    let watcher = tx.clone();
    *closer.borrow_mut() = Some(tx.clone());
    let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
    *outbox.borrow_mut() = Some(out_tx);

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

    spawn(Box::pin(async move {
        while let Some(message) = out_rx.next().await {
            // feed: waits on poll_ready (backpressure, full queue), then hands over; no
            // flush per message, which would wait for bufferedAmount to reach 0 each time.
            if tx.feed(message).await.is_err() {
                break;
            }
        }
    }));
    aborts
}
