//! The Rust API in Node.js (`wasm-pack test --node`, as apps run their wasm tests), on Node's
//! own `WebSocket` (undici: global from Node 22; scripts/test.sh adds
//! `--experimental-websocket` for Node 20 and 21): echo and close codes, where Node has no
//! `CloseEvent` class; a refused connection and `close()` while connecting ending at once;
//! reconnection after a drop with what was sent meanwhile; the heartbeat finding a silent
//! server. Not in the browser suites: no `run_in_browser`.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{CloseFrame, Error, Event, Heartbeat, Message, State, WebSocket};
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn echoes_and_closes_with_the_code_and_reason_given() {
    let mut ws = WebSocket::connect(&ws_url("/echo")).unwrap();
    let mut events = ws.events();
    ws.send(Message::Text("hello".into())).await.unwrap();
    ws.send(Message::Binary(vec![1, 2, 3])).await.unwrap();
    let first = within(5000, "the echo", ws.next()).await.unwrap().unwrap();
    let second = within(5000, "the echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(first, Message::Text("hello".into()));
    assert_eq!(second, Message::Binary(vec![1, 2, 3]));
    let outcome = within(5000, "the close", ws.close(4321, "done here").unwrap()).await;
    assert_eq!(
        outcome.frame,
        Some(CloseFrame {
            code: 4321,
            reason: "done here".into(),
            was_clean: true
        })
    );
    let close = next_event(&mut events, 1000, |e| matches!(e, Event::Close(_))).await;
    assert!(
        matches!(&close, Event::Close(f) if f.code == 4321 && f.was_clean),
        "{close:?}"
    );
    assert_eq!(ws.state(), State::Closed);
}

#[wasm_bindgen_test]
async fn reconnects_after_a_drop_and_sends_what_was_queued_meanwhile() {
    let k = key("node-drop");
    let mut ws = WebSocket::builder(&ws_url(&format!("/echo?key={k}")))
        .reconnect(fixed(100))
        .connect()
        .unwrap();
    let mut events = ws.events();
    within(5000, "open", ws.opened()).await.unwrap();
    get_json(&format!("/api/drop/{k}")).await;
    let close = next_event(&mut events, 5000, |e| matches!(e, Event::Close(_))).await;
    assert!(
        matches!(&close, Event::Close(f) if f.code == 1006 && !f.was_clean),
        "{close:?}"
    );
    // Accepted while reconnecting: queued, sent after the next open, in order.
    for m in ["a", "b", "c"] {
        ws.feed(Message::Text(m.into())).await.unwrap();
    }
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    for m in ["a", "b", "c"] {
        let echo = within(5000, "an echo", ws.next()).await.unwrap().unwrap();
        assert_eq!(echo, Message::Text(m.into()));
    }
    let seen = report(&k).await;
    assert_eq!(seen.attempts, 2);
    assert_eq!(seen.connections[1].received, ["a", "b", "c"]);
    ws.close(1000, "").unwrap().await;
}

#[wasm_bindgen_test]
async fn a_refused_connection_fails_at_once() {
    // Nothing listens on port 9 here. Node 20's and 22's WebSocket fires only `error` for
    // it and stays CONNECTING: with a minute's connect timeout, the attempt must still end
    // by itself.
    let mut ws = WebSocket::builder("ws://127.0.0.1:9/")
        .connect_timeout(Some(Duration::from_secs(60)))
        .no_reconnect()
        .connect()
        .unwrap();
    let end = within(5000, "the refusal", ws.next()).await;
    assert!(
        matches!(&end, Some(Err(Error::ConnectFailed(f))) if f.code == 1006 && !f.was_clean),
        "{end:?}"
    );
    assert_eq!(ws.state(), State::Closed);
}

#[wasm_bindgen_test]
async fn close_while_connecting_ends_at_once() {
    // `/hang` never answers the handshake. Node 20's and 22's WebSocket fires only `error`
    // when a connecting socket is closed: with a minute's close timeout, `close()` must still
    // end by itself.
    let ws = WebSocket::builder(&ws_url("/hang"))
        .connect_timeout(Some(Duration::from_secs(60)))
        .close_timeout(Duration::from_secs(60))
        .connect()
        .unwrap();
    assert_eq!(ws.state(), State::Connecting);
    let outcome = within(5000, "the close", ws.close(1000, "").unwrap()).await;
    assert_eq!(outcome.frame.map(|f| f.code), Some(1006));
    assert_eq!(ws.state(), State::Closed);
}

#[wasm_bindgen_test]
async fn the_heartbeat_finds_a_silent_server() {
    let mut ws = WebSocket::builder(&ws_url("/silent"))
        .heartbeat(Heartbeat::new(
            Duration::from_millis(200),
            Duration::from_millis(200),
        ))
        .no_reconnect()
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let end = within(5000, "the end", ws.next()).await;
    assert!(
        matches!(&end, Some(Err(Error::Closed(f))) if f.code == 4000),
        "{end:?}"
    );
    assert_eq!(ws.state(), State::Closed);
}
