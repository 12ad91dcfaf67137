//! The socket in a dedicated Web Worker, where there is no `window`: a relative URL resolves
//! against the worker's location, messages go both ways, a dropped connection comes back,
//! the heartbeat's timers run, and close completes the handshake.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{codes, Backoff, Event, Heartbeat, Message, State, WebSocket};
use std::time::Duration;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn the_test_runs_in_a_worker() {
    let global = js_sys::global();
    assert!(
        global.dyn_ref::<web_sys::Window>().is_none(),
        "no window here"
    );
    assert!(global.is_instance_of::<web_sys::DedicatedWorkerGlobalScope>());
}

#[wasm_bindgen_test]
async fn a_relative_url_resolves_against_the_workers_location() {
    let ws = WebSocket::connect("/somewhere").unwrap();
    let location: web_sys::WorkerLocation =
        js_sys::Reflect::get(&js_sys::global(), &"location".into())
            .unwrap()
            .unchecked_into();
    assert_eq!(ws.url(), format!("ws://{}/somewhere", location.host()));
    within(5000, "the close", ws.close(1000, "").unwrap()).await;
}

#[wasm_bindgen_test]
async fn messages_go_both_ways_and_a_dropped_connection_comes_back() {
    let k = key("worker-drop");
    let mut ws = WebSocket::builder(&ws_url(&format!("/drop-after/1?key={k}")))
        .reconnect(
            Backoff::new()
                .base(Duration::from_millis(100))
                .cap(Duration::from_millis(200)),
        )
        .connect()
        .unwrap();
    let mut events = ws.events();
    for round in 0..2 {
        within(10_000, "open", ws.opened()).await.unwrap();
        let m = Message::Text(format!("round {round}"));
        ws.send(m.clone()).await.unwrap();
        assert_eq!(
            within(5000, "the echo", ws.next()).await.unwrap().unwrap(),
            m
        );
        next_event(&mut events, 5000, |e| matches!(e, Event::Close(_))).await;
        next_event(&mut events, 5000, |e| {
            matches!(e, Event::Reconnecting { .. })
        })
        .await;
    }
    let r = report_until(&k, 3000, "two connections", |r| r.connections.len() >= 2).await;
    assert_eq!(r.connections[0].received, ["round 0"]);
    assert_eq!(r.connections[1].received, ["round 1"]);
    drop(ws);
}

#[wasm_bindgen_test]
async fn the_heartbeat_finds_a_silent_server_and_close_completes() {
    let k = key("worker-silent");
    let ws = WebSocket::builder(&ws_url(&format!("/silent?key={k}")))
        // (An interval well above the timeout: the second connection must not time out too
        // before the test, on a busy machine, gets to close it.)
        .heartbeat(Heartbeat::new(
            Duration::from_millis(1000),
            Duration::from_millis(200),
        ))
        .reconnect(
            Backoff::new()
                .base(Duration::from_millis(100))
                .cap(Duration::from_millis(100)),
        )
        // The server answers no close frame either: the close ends at this timeout.
        .close_timeout(Duration::from_millis(500))
        .connect()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    next_event(&mut events, 5000, |e| *e == Event::HeartbeatTimeout).await;
    next_event(&mut events, 10_000, |e| matches!(e, Event::Open { .. })).await;
    within(5000, "the close", ws.close(1000, "bye").unwrap()).await;
    assert_eq!(ws.state(), State::Closed);
    let r = report_until(&k, 3000, "both connections closed", |r| {
        r.connections.len() >= 2 && r.connections.iter().all(|c| c.close.is_some())
    })
    .await;
    let first = r.connections[0].close.clone().unwrap();
    assert_eq!(
        (first.0, first.2.as_str()),
        (codes::HEARTBEAT_TIMEOUT, "client")
    );
    let second = r.connections[1].close.clone().unwrap();
    assert_eq!((second.0, second.1.as_str()), (1000, "bye"));
}
