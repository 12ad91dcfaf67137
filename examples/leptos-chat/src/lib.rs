//! A chat page on resocket and Leptos (client-side rendering).
//!
//! Everything typed goes through [`UseWebSocket::send`](resocket_leptos::UseWebSocket::send),
//! in order and honouring backpressure; every message that comes back is listed. The
//! header shows the connection's state, with a live countdown while reconnecting.
//!
//! Build the page's wasm with
//! `wasm-pack build --target web --dev --mode no-install --out-dir ../../www/examples/leptos-chat/pkg examples/leptos-chat`
//! and open `/examples/leptos-chat/` on the test server (`resocket-test-server --www www`);
//! `?ws=URL` picks the server (default `/echo?key=leptos-chat`, relative to the page).

use leptos::prelude::*;
use resocket::{Message, State};
use resocket_leptos::use_websocket;
use wasm_bindgen::prelude::*;

/// Where the page connects without `?ws=`: the test server's echo endpoint.
pub const DEFAULT_URL: &str = "/echo?key=leptos-chat";

/// One line of the conversation; `id` keys the list so rows are never re-rendered.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    id: u64,
    text: String,
}

/// The chat: a status header, the messages received, and a box to send from.
#[component]
pub fn App(#[prop(into)] url: String) -> impl IntoView {
    let ws = use_websocket(url);

    let lines = RwSignal::new(Vec::<Line>::new());
    ws.on_message(move |message| {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(bytes) => format!("({} bytes of binary)", bytes.len()),
        };
        lines.update(|lines| {
            let id = lines.last().map_or(0, |l| l.id + 1);
            lines.push(Line { id, text });
        });
    });

    let draft = RwSignal::new(String::new());
    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        ws.send(Message::Text(text));
        draft.set(String::new());
    };

    let closed = move || ws.state.get() == State::Closed;

    view! {
        <main class="chat">
            <header>
                <h1>"resocket × Leptos"</h1>
                <Status ws=ws />
            </header>
            {move || ws.error.get().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <ul class="messages" aria-live="polite">
                <For
                    each=move || lines.get()
                    key=|line| line.id
                    children=|line| view! { <li>{line.text}</li> }
                />
            </ul>
            <form
                class="composer"
                on:submit=move |ev| {
                    ev.prevent_default();
                    send();
                }
            >
                <input
                    class="compose"
                    type="text"
                    placeholder="Say something (sent once online)"
                    autocomplete="off"
                    aria-label="Message"
                    disabled=closed
                    bind:value=draft
                    on:keydown=move |ev| {
                        // Enter sends (not while an input method is composing a character).
                        if ev.key() == "Enter" && !ev.is_composing() {
                            ev.prevent_default();
                            send();
                        }
                    }
                />
                <button
                    class="send"
                    type="submit"
                    disabled=move || closed() || draft.with(|d| d.trim().is_empty())
                >
                    "Send"
                </button>
            </form>
        </main>
    }
}

/// The coloured dot and words for the connection's state. The state's one lowercase word
/// (`connecting`, `open`, `reconnecting`, `closing`, `closed`) is both a class, for the
/// style, and `data-state`, for tests and scripts.
#[component]
fn Status(ws: resocket_leptos::UseWebSocket) -> impl IntoView {
    // A clock for the countdown that ticks every 100 ms, only while a reconnection waits.
    let now = RwSignal::new(js_sys::Date::now());
    Effect::new(move || {
        if ws.reconnect_at.get().is_some() {
            now.set(js_sys::Date::now());
            // Cancelled when the effect runs again or the component goes.
            leptos::task::spawn_local_scoped_with_cancellation(async move {
                loop {
                    gloo_timers::future::TimeoutFuture::new(100).await;
                    now.set(js_sys::Date::now());
                }
            });
        }
    });

    let state_word = move || match ws.state.get() {
        State::Connecting => "connecting",
        State::Open => "open",
        State::Reconnecting { .. } => "reconnecting",
        State::Closing => "closing",
        State::Closed => "closed",
    };
    let text = move || describe(ws.state.get(), ws.reconnect_at.get(), now.get());
    view! {
        <span class=move || format!("status {}", state_word()) data-state=state_word role="status">
            <span class="dot" aria-hidden="true"></span>
            <span class="status-text">{text}</span>
        </span>
    }
}

/// What the header says for `state`, counting down to `reconnect_at` from `now`.
fn describe(state: State, reconnect_at: Option<f64>, now: f64) -> String {
    match state {
        State::Connecting => "Connecting…".into(),
        State::Open => "Online".into(),
        State::Reconnecting { attempt, .. } => match reconnect_at {
            Some(at) => {
                let secs = ((at - now) / 1000.0).max(0.0);
                format!("Reconnecting in {secs:.1} s (attempt {attempt})")
            }
            None => format!("Reconnecting when back online (attempt {attempt})"),
        },
        State::Closing => "Closing…".into(),
        State::Closed => "Closed".into(),
    }
}

/// The page's entry point, called by `index.html` after the module loads: mounts [`App`]
/// on the body with the URL from `?ws=` (default [`DEFAULT_URL`]).
#[wasm_bindgen]
pub fn start() {
    let url = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("ws"))
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    leptos::mount::mount_to_body(move || view! { <App url=url /> });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn describes_every_state() {
        assert_eq!(describe(State::Connecting, None, 0.0), "Connecting…");
        assert_eq!(describe(State::Open, None, 0.0), "Online");
        let reconnecting = State::Reconnecting {
            attempt: 3,
            delay: Duration::from_millis(1500),
        };
        assert_eq!(
            describe(reconnecting, Some(10_000.0), 8_800.0),
            "Reconnecting in 1.2 s (attempt 3)"
        );
        assert_eq!(
            describe(reconnecting, Some(10_000.0), 10_050.0),
            "Reconnecting in 0.0 s (attempt 3)"
        );
        assert_eq!(
            describe(reconnecting, None, 0.0),
            "Reconnecting when back online (attempt 3)"
        );
        assert_eq!(describe(State::Closing, None, 0.0), "Closing…");
        assert_eq!(describe(State::Closed, None, 0.0), "Closed");
    }
}
