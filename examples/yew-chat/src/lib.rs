//! A chat on resocket with Yew: a connection-state indicator with the reconnect countdown,
//! the message list, and a send box whose sends respect backpressure.

use gloo_timers::callback::Interval;
use resocket::{Message, State};
use resocket_yew::use_websocket;
use wasm_bindgen::prelude::*;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The app's properties: where to connect.
#[derive(Properties, PartialEq)]
pub struct AppProps {
    /// The WebSocket URL (relative URLs resolve against the page).
    pub url: AttrValue,
}

/// Messages in arrival order.
#[derive(Default, PartialEq)]
struct Log(Vec<String>);

impl Reducible for Log {
    type Action = String;
    fn reduce(self: std::rc::Rc<Self>, line: String) -> std::rc::Rc<Self> {
        let mut lines = self.0.clone();
        lines.push(line);
        std::rc::Rc::new(Log(lines))
    }
}

fn describe(state: State, reconnect_at: Option<f64>, now: f64) -> (&'static str, String) {
    match state {
        State::Connecting => ("connecting", "Connecting…".into()),
        State::Open => ("open", "Online".into()),
        State::Reconnecting { attempt, .. } => (
            "reconnecting",
            match reconnect_at {
                Some(at) => {
                    let left = ((at - now) / 1000.0).max(0.0);
                    format!("Reconnecting in {left:.1} s (attempt {attempt})")
                }
                // Offline: the attempt waits for the browser to come back online.
                None => format!("Reconnecting when back online (attempt {attempt})"),
            },
        ),
        State::Closing => ("closing", "Closing…".into()),
        State::Closed => ("closed", "Closed".into()),
    }
}

/// The chat.
#[component]
pub fn App(props: &AppProps) -> Html {
    let log = use_reducer(Log::default);
    let on_message = {
        let log = log.dispatcher();
        Callback::from(move |m: Message| {
            log.dispatch(match m {
                Message::Text(t) => t,
                Message::Binary(b) => format!("({} bytes)", b.len()),
            })
        })
    };
    let ws = use_websocket(&props.url, on_message);

    // Tick while a reconnect countdown runs.
    let now = use_state(js_sys::Date::now);
    {
        let now = now.clone();
        use_effect_with(ws.reconnect_at, move |at| {
            let ticker = at.map(|_| Interval::new(100, move || now.set(js_sys::Date::now())));
            move || drop(ticker)
        });
    }

    let input = use_node_ref();
    let send = {
        let (ws, input) = (ws.clone(), input.clone());
        Callback::from(move |_: ()| {
            if let Some(el) = input.cast::<HtmlInputElement>() {
                let text = el.value();
                if !text.trim().is_empty() {
                    ws.send(Message::Text(text));
                    el.set_value("");
                }
            }
        })
    };
    let on_click = send.reform(|_: MouseEvent| ());
    let on_key = {
        let send = send.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                send.emit(());
            }
        })
    };
    let (class, text) = describe(ws.state, ws.reconnect_at, *now);
    let closed = ws.state == State::Closed;

    html! {
        <main class="chat">
            <header>
                <h1>{ "resocket × Yew" }</h1>
                <span class={classes!("status", class)}><span class="dot"></span>{ text }</span>
            </header>
            if let Some(e) = &ws.error {
                <p class="error">{ e.to_string() }</p>
            }
            <ul class="messages">
                { for log.0.iter().map(|line| html! { <li>{ line }</li> }) }
            </ul>
            <footer>
                <input class="compose" ref={input} placeholder="Say something (sent once online)" onkeydown={on_key} disabled={closed} />
                <button class="send" onclick={on_click} disabled={closed}>{ "Send" }</button>
            </footer>
        </main>
    }
}

/// Mounts the app on the page: the URL comes from `?ws=`, else the echo endpoint.
#[wasm_bindgen]
pub fn start() {
    let url = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|p| p.get("ws"))
        .unwrap_or_else(|| "/echo?key=yew-chat".into());
    yew::Renderer::<App>::with_props(AppProps { url: url.into() }).render();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_status_counts_down_and_says_when_it_waits_for_the_network() {
        let reconnecting = State::Reconnecting {
            attempt: 3,
            delay: Duration::from_secs(2),
        };
        assert_eq!(
            describe(reconnecting, Some(2500.0), 1000.0),
            ("reconnecting", "Reconnecting in 1.5 s (attempt 3)".into())
        );
        // Offline there is no deadline: no countdown stuck at 0.0 s.
        assert_eq!(
            describe(reconnecting, None, 1000.0),
            (
                "reconnecting",
                "Reconnecting when back online (attempt 3)".into()
            )
        );
        assert_eq!(describe(State::Open, None, 0.0), ("open", "Online".into()));
    }
}
