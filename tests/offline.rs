//! The browser's network state: `offline` and `online` events and `navigator.onLine`.
//! They are the page's, shared by every test in it, and wasm-bindgen-test runs a file's
//! tests concurrently: so this file has one test, which runs the scenarios one after
//! another, and no other file touches the network state.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{Event, Message, State, WebSocket};
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn offline_and_online() {
    offline_pauses_attempts_and_online_resumes_them().await;
    a_socket_nobody_watches_reads_online_state_when_its_connection_ends().await;
    without_reconnection_nothing_listens_for_offline().await;
}

fn dispatch(kind: &str) {
    let window = web_sys::window().unwrap();
    let target: &web_sys::EventTarget = window.unchecked_ref();
    target
        .dispatch_event(&web_sys::Event::new(kind).unwrap())
        .unwrap();
}

async fn offline_pauses_attempts_and_online_resumes_them() {
    let k = key("offline");
    let backoff = fixed(200);
    let ws = WebSocket::builder(&ws_url(&format!("/drop-after/1?key={k}")))
        .reconnect(backoff)
        .connect()
        .unwrap();
    let mut events = ws.events();
    within(5000, "open", ws.opened()).await.unwrap();
    dispatch("offline");
    next_event(&mut events, 1000, |e| *e == Event::Offline).await;
    let (mut tx, _rx) = ws.split();
    tx.send(Message::Text("trigger the drop".into()))
        .await
        .unwrap();
    next_event(&mut events, 5000, |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    sleep(1000).await;
    assert!(
        matches!(tx.state(), State::Reconnecting { .. }),
        "still waiting: {:?}",
        tx.state()
    );
    assert_eq!(
        tx.next_attempt_in(),
        None,
        "no time set: it waits for online"
    );
    assert_eq!(report(&k).await.attempts, 1, "no attempt while offline");
    dispatch("online");
    next_event(&mut events, 1000, |e| *e == Event::Online).await;
    next_event(&mut events, 100, |e| {
        matches!(e, Event::Connecting { attempt: 1 })
    })
    .await;
    within(5000, "reopen", tx.opened()).await.unwrap();
    assert_eq!(report(&k).await.attempts, 2);
}

/// Makes `navigator.onLine` read `value` (an own property over the prototype's getter),
/// or the browser's own again with `None`.
fn fake_on_line(value: Option<bool>) {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let navigator: &js_sys::Object = navigator.unchecked_ref();
    match value {
        Some(v) => {
            let descriptor = js_sys::Object::new();
            js_sys::Reflect::set(&descriptor, &"value".into(), &v.into()).unwrap();
            js_sys::Reflect::set(&descriptor, &"configurable".into(), &true.into()).unwrap();
            js_sys::Reflect::define_property(navigator, &"onLine".into(), &descriptor).unwrap();
        }
        None => {
            js_sys::Reflect::delete_property(navigator, &"onLine".into()).unwrap();
        }
    }
    let on_line = js_sys::Reflect::get(navigator, &"onLine".into()).unwrap();
    assert_eq!(on_line.as_bool(), Some(value.unwrap_or(true)));
}

async fn a_socket_nobody_watches_reads_online_state_when_its_connection_ends() {
    // No events() subscriber: no listener on the global while the socket is open. When
    // the connection drops, the socket must still find the browser offline (read from
    // `navigator.onLine`, as no `offline` event was heard) and wait for `online`.
    let k = key("unwatched-offline");
    let ws = WebSocket::builder(&ws_url(&format!("/drop-after/1?key={k}")))
        .reconnect(fixed(200))
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    fake_on_line(Some(false));
    let (mut tx, _rx) = ws.split();
    tx.send(Message::Text("trigger the drop".into()))
        .await
        .unwrap();
    sleep(1500).await;
    let state = tx.state();
    let attempts = report(&k).await.attempts;
    fake_on_line(None);
    assert!(
        matches!(state, State::Reconnecting { .. }),
        "still waiting: {state:?}"
    );
    assert_eq!(attempts, 1, "no attempt while offline");
    dispatch("online");
    within(5000, "reopen", tx.opened()).await.unwrap();
    assert_eq!(report(&k).await.attempts, 2);
}

async fn without_reconnection_nothing_listens_for_offline() {
    let ws = WebSocket::builder(&ws_url("/echo"))
        .no_reconnect()
        .connect()
        .unwrap();
    let mut events = ws.events();
    within(5000, "open", ws.opened()).await.unwrap();
    dispatch("offline");
    dispatch("online");
    sleep(100).await;
    let mut seen = Vec::new();
    while let Some(Some(e)) = now_or_never(events.next()) {
        seen.push(e);
    }
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::Offline | Event::Online)),
        "{seen:?}"
    );
}
