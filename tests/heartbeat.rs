//! The heartbeat against a server that goes silent, and pongs that never reach the app.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{FutureExt, SinkExt, StreamExt};
use resocket::{codes, Backoff, BinaryType, Event, Heartbeat, Message, WebSocket};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const INTERVAL: u32 = 300;
const TIMEOUT: u32 = 300;

#[wasm_bindgen_test]
async fn a_silent_server_is_detected_and_the_socket_reconnects() {
    let k = key("silent");
    let ws = WebSocket::builder(&ws_url(&format!("/silent?key={k}")))
        .heartbeat(Heartbeat::new(
            Duration::from_millis(INTERVAL as u64),
            Duration::from_millis(TIMEOUT as u64),
        ))
        .reconnect(
            Backoff::new()
                .base(Duration::from_millis(100))
                .cap(Duration::from_millis(100)),
        )
        .connect()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    let opened = js_sys::Date::now();
    next_event(&mut events, 5000, |e| *e == Event::HeartbeatTimeout).await;
    let detected = js_sys::Date::now() - opened;
    console_log!("heartbeat: dead connection detected {detected:.0} ms after open (interval {INTERVAL} + timeout {TIMEOUT})");
    assert!(
        detected >= (INTERVAL + TIMEOUT) as f64 - 5.0,
        "detected too early: {detected} ms"
    );
    assert!(
        detected <= (INTERVAL + TIMEOUT + 700) as f64,
        "detected too late: {detected} ms"
    );
    let close = next_event(&mut events, 1000, |e| matches!(e, Event::Close(_))).await;
    assert!(
        matches!(close, Event::Close(ref f) if f.code == codes::HEARTBEAT_TIMEOUT && !f.was_clean),
        "{close:?}"
    );
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    let r = report_until(&k, 3000, "the ping and the client's close", |r| {
        r.connections.len() >= 2 && r.connections[0].close.is_some()
    })
    .await;
    assert_eq!(r.connections[0].received, vec!["ping"]);
    let (code, _, by) = r.connections[0].close.clone().unwrap();
    assert_eq!((code, by.as_str()), (codes::HEARTBEAT_TIMEOUT, "client"));
    ws.close(1000, "").unwrap().await;
}

#[wasm_bindgen_test]
async fn pongs_keep_the_connection_alive_and_are_not_yielded() {
    let k = key("pong");
    // The echo server returns the ping itself: treat that echo as the pong.
    let mut ws = WebSocket::builder(&ws_url(&format!("/echo?key={k}")))
        .heartbeat(
            Heartbeat::new(Duration::from_millis(100), Duration::from_millis(200))
                .ping("hb?")
                .pong("hb?"),
        )
        .connect()
        .unwrap();
    let mut events = ws.events();
    within(5000, "open", ws.opened()).await.unwrap();
    sleep(1200).await;
    ws.send(Message::Text("app".into())).await.unwrap();
    assert_eq!(
        within(2000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Text("app".into()),
        "pongs were swallowed"
    );
    assert!(
        ws.next().now_or_never().is_none(),
        "nothing else is waiting"
    );
    let pings = report(&k).await.connections[0]
        .received
        .iter()
        .filter(|m| *m == "hb?")
        .count();
    assert!(
        pings >= 4,
        "about one ping per 100 ms of silence, got {pings}"
    );
    while let Some(Some(e)) = events.next().now_or_never() {
        assert!(
            !matches!(e, Event::HeartbeatTimeout | Event::Close(_)),
            "{e:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn the_pong_matcher_sees_each_message_once() {
    let seen = Rc::new(Cell::new(0));
    let counter = seen.clone();
    // An interval far beyond the test: no ping goes out, every message is the app's.
    let mut ws = WebSocket::builder(&ws_url("/echo"))
        .heartbeat(
            Heartbeat::new(Duration::from_secs(60), Duration::from_secs(10)).pong_matcher(
                move |m| {
                    counter.set(counter.get() + 1);
                    m.as_text() == Some("pong")
                },
            ),
        )
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    for i in 0..5 {
        ws.send(Message::Text(format!("m{i}"))).await.unwrap();
    }
    for i in 0..5 {
        let m = within(2000, "echo", ws.next()).await.unwrap().unwrap();
        assert_eq!(m, Message::Text(format!("m{i}")));
    }
    assert_eq!(seen.get(), 5, "one call per message received");
    ws.close(1000, "").unwrap().await;
}

/// An echo socket that receives Blobs, with a heartbeat whose ping and pong are b"hb".
fn blob_pong_socket(key: &str, interval_ms: u64, timeout_ms: u64) -> WebSocket {
    WebSocket::builder(&ws_url(&format!("/echo?key={key}")))
        .binary_type(BinaryType::Blob)
        .heartbeat(
            Heartbeat::new(
                Duration::from_millis(interval_ms),
                Duration::from_millis(timeout_ms),
            )
            .ping(Message::Binary(b"hb".to_vec()))
            .pong(Message::Binary(b"hb".to_vec())),
        )
        .connect()
        .unwrap()
}

#[wasm_bindgen_test]
async fn pongs_that_arrive_as_blobs_are_recognised_once_read() {
    let k = key("blob-pong");
    let mut ws = blob_pong_socket(&k, 100, 300);
    let mut events = ws.events();
    within(5000, "open", ws.opened()).await.unwrap();
    sleep(800).await;
    ws.send(Message::Binary(b"app".to_vec())).await.unwrap();
    assert_eq!(
        within(2000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Binary(b"app".to_vec()),
        "the echoed pings were swallowed"
    );
    let pings = report(&k).await.connections[0].received.len() - 1;
    assert!(pings >= 3, "pings went out and came back: {pings}");
    while let Some(Some(e)) = events.next().now_or_never() {
        assert!(
            !matches!(e, Event::HeartbeatTimeout | Event::Close(_)),
            "{e:?}"
        );
    }
    ws.close(1000, "").unwrap().await;
}

#[wasm_bindgen_test]
async fn a_blob_pong_read_after_the_close_is_still_recognised() {
    let k = key("blob-pong-close");
    let mut ws = blob_pong_socket(&k, 60_000, 10_000);
    within(5000, "open", ws.opened()).await.unwrap();
    // Echoed back as Blobs: a pong-shaped message, then one for the app. Nothing is read
    // until the socket is closed for good, so both are still to be read then.
    ws.send(Message::Binary(b"hb".to_vec())).await.unwrap();
    ws.send(Message::Binary(b"app".to_vec())).await.unwrap();
    sleep(300).await;
    within(5000, "closed", ws.close(1000, "").unwrap()).await;
    let mut rest = Vec::new();
    while let Some(item) = within(2000, "the rest", ws.next()).await {
        rest.push(item.unwrap());
    }
    assert_eq!(rest, [Message::Binary(b"app".to_vec())]);
}
