//! Closing: validation, server closes, close timeouts, and what dropping does.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{CloseFrame, Error, Event, Message, State, WebSocket};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn invalid_close_codes_and_reasons_are_errors() {
    let ws = WebSocket::connect(&ws_url("/echo")).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    for code in [0u16, 999, 1001, 1005, 1006, 2999, 5000] {
        assert_eq!(
            ws.close(code, "").err(),
            Some(Error::InvalidCloseCode(code))
        );
    }
    assert_eq!(
        ws.close(1000, &"é".repeat(62)).err(),
        Some(Error::CloseReasonTooLong(124))
    );
    assert_eq!(ws.state(), State::Open, "refused closes change nothing");
}

#[wasm_bindgen_test]
async fn valid_close_reaches_the_server_with_code_and_reason() {
    let k = key("close-valid");
    for (code, reason) in [(1000u16, ""), (3000, "x"), (4999, "a".repeat(123).as_str())] {
        let ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
        within(5000, "open", ws.opened()).await.unwrap();
        let outcome = within(5000, "close", ws.close(code, reason).unwrap()).await;
        let frame = outcome.frame.expect("a frame");
        assert_eq!(
            (frame.code, frame.reason.as_str(), frame.was_clean),
            (code, reason, true)
        );
        assert_eq!(ws.state(), State::Closed);
    }
    let r = report_until(&k, 3000, "three client closes", |r| {
        r.connections.len() == 3 && r.connections.iter().all(|c| c.close.is_some())
    })
    .await;
    let codes: Vec<_> = r
        .connections
        .iter()
        .map(|c| c.close.clone().unwrap())
        .map(|(c, _, by)| (c, by))
        .collect();
    assert_eq!(
        codes,
        vec![
            (1000, "client".into()),
            (3000, "client".into()),
            (4999, "client".into())
        ]
    );
}

#[wasm_bindgen_test]
async fn close_while_connecting() {
    let k = key("close-connecting");
    let mut ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
    ws.feed(Message::Text("queued".into())).await.unwrap();
    assert_eq!(ws.state(), State::Connecting);
    let outcome = within(5000, "close", ws.close(1000, "").unwrap()).await;
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(
        outcome.unsent,
        vec![Message::Text("queued".into())],
        "the queued message is handed back"
    );
    assert!(
        within(1000, "end", ws.next()).await.is_none(),
        "an asked-for close ends without error"
    );
}

#[wasm_bindgen_test]
async fn server_close_reports_its_frame_and_ends_the_stream() {
    let mut ws = WebSocket::builder(&ws_url("/close/4002/going%20now"))
        .no_reconnect()
        .connect()
        .unwrap();
    let item = within(5000, "server close", ws.next()).await.unwrap();
    let expected = CloseFrame {
        code: 4002,
        reason: "going now".into(),
        was_clean: true,
    };
    assert_eq!(item, Err(Error::Closed(expected)));
    assert!(ws.next().await.is_none());
}

#[wasm_bindgen_test]
async fn close_against_a_stalled_server_returns_within_the_close_timeout() {
    let k = key("close-stall");
    let mut ws = WebSocket::builder(&ws_url(&format!("/stall?key={k}")))
        .close_timeout(Duration::from_millis(800))
        .high_water_mark(usize::MAX / 2)
        .low_water_mark(0)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let chunk = vec![7u8; 256 * 1024];
    // Fill until the browser holds a few MB it cannot send.
    for _ in 0..40 {
        ws.feed(Message::Binary(chunk.clone())).await.unwrap();
        if ws.buffered_amount() > 2_000_000 {
            break;
        }
        sleep(10).await;
    }
    assert!(
        ws.buffered_amount() > 0,
        "the stall left data in the browser"
    );
    let started = js_sys::Date::now();
    let outcome = within(5000, "close", ws.close(1000, "").unwrap()).await;
    let took = js_sys::Date::now() - started;
    assert!(took < 3000.0, "close took {took} ms");
    assert_eq!(ws.state(), State::Closed);
    let frame = outcome.frame.unwrap();
    assert!(!frame.was_clean);
    assert!(!outcome.unsent.is_empty(), "what never left is handed back");
    let _ = get_json(&format!("/api/drop/{k}")).await;
}

#[wasm_bindgen_test]
async fn dropping_the_last_handle_closes_the_connection() {
    let k = key("drop");
    let ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let (tx, rx) = ws.split();
    let tx2 = tx.clone();
    drop(tx);
    drop(rx);
    sleep(300).await;
    assert!(
        report(&k).await.connections[0].close.is_none(),
        "a live Sender keeps it open"
    );
    drop(tx2);
    let r = report_until(&k, 3000, "the client's close", |r| {
        r.connections[0].close.is_some()
    })
    .await;
    let (code, _, by) = r.connections[0].close.clone().unwrap();
    assert_eq!((code, by.as_str()), (1000, "client"));
}

#[wasm_bindgen_test]
async fn dropping_the_last_handle_inside_its_own_callback_closes_the_connection() {
    let k = key("drop-inside");
    let slot: Rc<RefCell<Option<WebSocket>>> = Rc::default();
    let hook_slot = slot.clone();
    let ws = WebSocket::builder(&ws_url(&format!("/echo?key={k}")))
        // The app drops its socket from inside the open hook (e.g. a UI unmounting in
        // reaction to what the hook set): the socket is busy there and cannot shut down.
        .on_open(move |_| drop(hook_slot.borrow_mut().take()))
        .connect()
        .unwrap();
    *slot.borrow_mut() = Some(ws);
    let r = report_until(&k, 3000, "the client's close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert!(slot.borrow().is_none(), "the hook ran and dropped it");
    let (code, _, by) = r.connections[0].close.clone().unwrap();
    assert_eq!((code, by.as_str()), (1000, "client"));
    sleep(300).await;
    assert_eq!(report(&k).await.attempts, 1, "no attempt after that");
}

#[wasm_bindgen_test]
async fn nothing_runs_after_drop() {
    // The server closes right away; with the socket dropped first, no event may surface and
    // nothing may throw ("closure invoked after being dropped" would fail the test).
    let ws = WebSocket::builder(&ws_url("/close/4003/x"))
        .connect()
        .unwrap();
    let mut events = ws.events();
    drop(ws);
    sleep(500).await;
    assert!(
        events.next().await.is_none(),
        "the event stream ends with the socket and carries nothing"
    );
}

#[wasm_bindgen_test]
async fn a_closed_socket_refuses_to_send() {
    let mut ws = WebSocket::connect(&ws_url("/echo")).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    within(5000, "close", ws.close(1000, "").unwrap()).await;
    assert_eq!(
        ws.send(Message::Text("late".into())).await,
        Err(Error::SocketClosed)
    );
    let mut events = ws.events();
    assert!(events.next().await.is_none());
    let _ = Event::Error;
}

#[wasm_bindgen_test]
async fn sink_close_hands_back_what_could_not_be_sent() {
    // Nothing listens on port 9: the socket keeps reconnecting, the queue cannot drain.
    let mut ws = WebSocket::builder("ws://127.0.0.1:9/")
        .reconnect(
            resocket::Backoff::new()
                .base(Duration::from_secs(2))
                .cap(Duration::from_secs(2)),
        )
        .close_timeout(Duration::from_millis(300))
        .connect()
        .unwrap();
    ws.feed(Message::Text("one".into())).await.unwrap();
    ws.feed(Message::Text("two".into())).await.unwrap();
    let closed = within(3000, "sink close", SinkExt::close(&mut ws)).await;
    assert_eq!(
        closed,
        Err(Error::SocketClosed),
        "a close that strands messages must say so"
    );
    assert_eq!(
        ws.take_unsent(),
        vec![Message::Text("one".into()), Message::Text("two".into())]
    );
}

#[wasm_bindgen_test]
async fn sink_close_says_messages_were_stranded_even_once_they_were_taken() {
    let mut ws = WebSocket::builder("ws://127.0.0.1:9/")
        .reconnect(
            resocket::Backoff::new()
                .base(Duration::from_secs(2))
                .cap(Duration::from_secs(2)),
        )
        .connect()
        .unwrap();
    ws.feed(Message::Text("one".into())).await.unwrap();
    let outcome = within(3000, "close", ws.close(1000, "").unwrap()).await;
    assert_eq!(outcome.unsent, vec![Message::Text("one".into())]);
    assert!(ws.take_unsent().is_empty(), "handed over once");
    assert_eq!(
        within(3000, "sink close", SinkExt::close(&mut ws)).await,
        Err(Error::SocketClosed),
        "the Sink's close still says the message never went out"
    );
}

#[wasm_bindgen_test]
async fn sink_close_sends_the_queue_then_closes_cleanly() {
    let k = key("sink-close");
    let mut ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
    ws.feed(Message::Text("queued before open".into()))
        .await
        .unwrap();
    within(5000, "sink close", SinkExt::close(&mut ws))
        .await
        .unwrap();
    let r = report_until(&k, 3000, "the close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, vec!["queued before open"]);
    assert_eq!(r.connections[0].close.as_ref().map(|c| c.0), Some(1000));
}
