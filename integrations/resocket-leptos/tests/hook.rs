//! The hook in a real browser against the test server, without any view: signals, message
//! callbacks, ordered sends under backpressure, errors, close and disposal.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use resocket::{Backoff, Error, Jitter, Message, State, WebSocket};
use resocket_leptos::{use_websocket, use_websocket_with, UseWebSocket};
use resocket_test_support::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Per connection the server saw for `key`: what it received, and (code, by) once closed.
async fn connections(key: &str) -> Vec<(Vec<String>, Option<(u16, String)>)> {
    report(key)
        .await
        .connections
        .into_iter()
        .map(|c| (c.received, c.close.map(|(code, _, by)| (code, by))))
        .collect()
}

/// Polls the server's report for `key` until `pred` holds, or panics after `ms`.
async fn connections_until(
    key: &str,
    ms: u32,
    what: &str,
    pred: impl Fn(&[(Vec<String>, Option<(u16, String)>)]) -> bool,
) -> Vec<(Vec<String>, Option<(u16, String)>)> {
    let start = js_sys::Date::now();
    loop {
        let conns = connections(key).await;
        if pred(&conns) {
            return conns;
        }
        if js_sys::Date::now() - start > f64::from(ms) {
            panic!("the server never saw {what} within {ms} ms: {conns:?}");
        }
        sleep(20).await;
    }
}

/// A reactive owner standing in for a component, with the hook called inside it.
fn in_owner(make: impl FnOnce() -> UseWebSocket) -> (Owner, UseWebSocket) {
    // What `mount_to` does first: drive tasks with wasm-bindgen-futures.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let owner = Owner::new();
    let ws = owner.with(make);
    (owner, ws)
}

async fn wait_open(ws: UseWebSocket) {
    wait_for(10_000, "the state to be Open", || {
        ws.state.get_untracked() == State::Open
    })
    .await;
}

fn text(m: &Message) -> String {
    m.as_text().unwrap_or_default().to_owned()
}

#[wasm_bindgen_test]
async fn state_and_reconnect_at_follow_the_socket() {
    let key = key("leptos-hook-state");
    let url = ws_url(&format!("/echo?key={key}"));
    let (_owner, ws) = in_owner(|| {
        use_websocket_with(move || {
            WebSocket::builder(&url).reconnect(
                Backoff::new()
                    .base(Duration::from_millis(1500))
                    .jitter(Jitter::None),
            )
        })
    });
    assert_eq!(ws.state.get_untracked(), State::Connecting);
    assert_eq!(ws.reconnect_at.get_untracked(), None);
    wait_open(ws).await;
    assert_eq!(ws.reconnect_at.get_untracked(), None);

    get_json(&format!("/api/drop/{key}")).await;
    wait_for(5_000, "the state to be Reconnecting", || {
        matches!(ws.state.get_untracked(), State::Reconnecting { .. })
    })
    .await;
    assert_eq!(
        ws.state.get_untracked(),
        State::Reconnecting {
            attempt: 1,
            delay: Duration::from_millis(1500)
        }
    );
    let at = ws
        .reconnect_at
        .get_untracked()
        .expect("a time for the next attempt");
    let left = at - js_sys::Date::now();
    assert!(
        (1_000.0..=1_500.0).contains(&left),
        "the next attempt is about 1.5 s away, not {left} ms"
    );
    wait_open(ws).await;
    assert_eq!(
        ws.reconnect_at.get_untracked(),
        None,
        "no countdown once open"
    );
    assert_eq!(
        ws.error.get_untracked(),
        None,
        "a reconnection is not an error"
    );
    assert_eq!(connections(&key).await.len(), 2);

    // Closing while a reconnection waits cancels it and ends the countdown at once.
    get_json(&format!("/api/drop/{key}")).await;
    wait_for(5_000, "the state to be Reconnecting again", || {
        ws.reconnect_at.get_untracked().is_some()
    })
    .await;
    ws.close();
    assert_eq!(ws.reconnect_at.get_untracked(), None);
    wait_for(5_000, "the state to be Closed", || {
        ws.state.get_untracked() == State::Closed
    })
    .await;
    sleep(2_000).await;
    assert_eq!(
        connections(&key).await.len(),
        2,
        "the pending attempt was cancelled"
    );
    assert_eq!(ws.error.get_untracked(), None);
}

/// Fires `online` or `offline` on the window, as the browser does when the network changes.
fn network(kind: &str) {
    let window = web_sys::window().expect("a window");
    let event = web_sys::Event::new(kind).expect("an event");
    window.dispatch_event(&event).expect("dispatched");
}

#[wasm_bindgen_test]
async fn no_countdown_while_offline_even_when_the_connection_dies_after_going_offline() {
    let key = key("leptos-hook-offline");
    let url = ws_url(&format!("/echo?key={key}"));
    let (_owner, ws) = in_owner(|| {
        use_websocket_with(move || {
            WebSocket::builder(&url).reconnect(
                Backoff::new()
                    .base(Duration::from_millis(300))
                    .jitter(Jitter::None),
            )
        })
    });
    wait_open(ws).await;
    // Offline while open: the connection stays (it may still work, e.g. to localhost).
    network("offline");
    sleep(100).await;
    assert_eq!(ws.state.get_untracked(), State::Open);
    get_json(&format!("/api/drop/{key}")).await;
    wait_for(5_000, "the state to be Reconnecting", || {
        matches!(ws.state.get_untracked(), State::Reconnecting { .. })
    })
    .await;
    assert_eq!(
        ws.reconnect_at.get_untracked(),
        None,
        "the attempt waits for online, not for a time"
    );
    sleep(600).await;
    assert_eq!(connections(&key).await.len(), 1, "no attempt while offline");
    network("online");
    wait_open(ws).await;
    assert_eq!(ws.reconnect_at.get_untracked(), None);
    assert_eq!(ws.error.get_untracked(), None);
}

#[wasm_bindgen_test]
async fn every_message_reaches_on_message_in_order() {
    let key = key("leptos-hook-flood");
    let url = ws_url(&format!("/flood/300/64?key={key}"));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (_owner, ws) = in_owner(|| {
        let ws = use_websocket(url);
        let seen = seen.clone();
        ws.on_message(move |m| seen.borrow_mut().push(m));
        ws
    });
    wait_for(10_000, "the flood and its \"done\"", || {
        seen.borrow().last().map(text).as_deref() == Some("done")
    })
    .await;
    let seen = seen.borrow();
    assert_eq!(
        seen.len(),
        301,
        "300 binary messages and \"done\", each once"
    );
    for (i, m) in seen[..300].iter().enumerate() {
        let bytes = m.as_bytes();
        assert_eq!(bytes.len(), 64);
        assert_eq!(
            u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            i as u32,
            "in order"
        );
    }
    assert_eq!(
        ws.message.get_untracked(),
        Some(Message::Text("done".into())),
        "the signal holds the last message"
    );
}

#[wasm_bindgen_test]
async fn sends_keep_their_order_under_backpressure() {
    let key = key("leptos-hook-order");
    let url = ws_url(&format!("/echo?key={key}"));
    let (_owner, ws) = in_owner(|| {
        use_websocket_with(move || {
            // Tiny water marks so the Sink pushes back all the time.
            WebSocket::builder(&url)
                .high_water_mark(2048)
                .low_water_mark(0)
                .queue_capacity(4)
        })
    });
    let padding = "x".repeat(1000);
    let sent: Vec<String> = (0..200).map(|i| format!("{i:03} {padding}")).collect();
    // All at once, before the connection opens: send never blocks.
    for text in &sent {
        ws.send(Message::Text(text.clone()));
    }
    let conns = connections_until(&key, 20_000, "all 200 messages", |c| {
        c.first().is_some_and(|(received, _)| received.len() >= 200)
    })
    .await;
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].0, sent, "every message once, in order");
}

#[wasm_bindgen_test]
async fn close_ends_the_socket_without_an_error() {
    let key = key("leptos-hook-close");
    let (_owner, ws) = in_owner(|| use_websocket(ws_url(&format!("/echo?key={key}"))));
    wait_open(ws).await;
    ws.close();
    assert_eq!(ws.state.get_untracked(), State::Closing, "shown at once");
    wait_for(5_000, "the state to be Closed", || {
        ws.state.get_untracked() == State::Closed
    })
    .await;
    assert_eq!(
        ws.error.get_untracked(),
        None,
        "a close that was asked is no error"
    );
    assert_eq!(ws.reconnect_at.get_untracked(), None);
    connections_until(
        &key,
        5_000,
        "a client close",
        |c| matches!(c, [(_, Some((1000, by)))] if by == "client"),
    )
    .await;
    // Sending now is dropped quietly: no panic, no new connection.
    ws.send(Message::Text("too late".into()));
    ws.close();
    sleep(300).await;
    let conns = connections(&key).await;
    assert_eq!(conns.len(), 1);
    assert!(conns[0].0.is_empty(), "nothing sent after close: {conns:?}");
}

#[wasm_bindgen_test]
async fn messages_sent_just_before_close_go_out_ahead_of_the_close_frame() {
    let key = key("leptos-hook-bye");
    let (_owner, ws) = in_owner(|| use_websocket(ws_url(&format!("/sink?key={key}"))));
    wait_open(ws).await;
    // Still in the hook's queue when close() comes: the forwarding task has not run yet.
    ws.send(Message::Text("one".into()));
    ws.send(Message::Text("bye".into()));
    ws.close();
    connections_until(
        &key,
        5_000,
        "both messages, then a client close",
        |c| matches!(c, [(r, Some((1000, by)))] if by == "client" && r == &["one", "bye"]),
    )
    .await;
}

#[wasm_bindgen_test]
async fn an_invalid_url_is_an_error_not_a_panic() {
    let (_owner, ws) = in_owner(|| use_websocket("ftp://example.com/nope"));
    assert_eq!(ws.state.get_untracked(), State::Closed);
    assert!(
        matches!(ws.error.get_untracked(), Some(Error::InvalidUrl(_))),
        "{:?}",
        ws.error.get_untracked()
    );
    assert!(ws.sender().is_none());
    ws.send(Message::Text("nowhere".into()));
    ws.close();
}

#[wasm_bindgen_test]
async fn a_close_the_policy_declines_is_the_error() {
    let (_owner, ws) = in_owner(|| use_websocket(ws_url("/close/4001/bye")));
    wait_for(10_000, "the state to be Closed", || {
        ws.state.get_untracked() == State::Closed
    })
    .await;
    match ws.error.get_untracked() {
        Some(Error::Closed(frame)) => {
            assert_eq!((frame.code, frame.reason.as_str()), (4001, "bye"))
        }
        other => panic!("expected Error::Closed(4001), got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn disposing_the_owner_closes_the_socket() {
    let key = key("leptos-hook-dispose");
    let calls = Rc::new(RefCell::new(0));
    let (owner, ws) = in_owner(|| {
        let ws = use_websocket(ws_url(&format!("/echo?key={key}")));
        let calls = calls.clone();
        ws.on_message(move |_| *calls.borrow_mut() += 1);
        ws
    });
    wait_open(ws).await;
    ws.send(Message::Text("one".into()));
    wait_for(5_000, "the echo", || *calls.borrow() == 1).await;

    // Sent in the same turn as the disposal: it goes out ahead of the close frame.
    ws.send(Message::Text("bye".into()));
    drop(owner);
    connections_until(
        &key,
        5_000,
        "\"bye\", then a client close",
        |c| matches!(c, [(r, Some((1000, by)))] if by == "client" && r == &["one", "bye"]),
    )
    .await;
    assert_eq!(
        ws.state.try_get_untracked(),
        None,
        "the signals are disposed"
    );
    // The handle outlives its owner harmlessly.
    ws.send(Message::Text("after".into()));
    ws.close();
    sleep(1_500).await;
    assert_eq!(*calls.borrow(), 1, "no callback after disposal");
    assert_eq!(
        connections(&key).await.len(),
        1,
        "no reconnection after disposal"
    );
}

#[wasm_bindgen_test]
async fn what_the_owners_other_cleanups_send_goes_out_before_the_close() {
    let key = key("leptos-hook-goodbye");
    let child = RefCell::new(None);
    let (owner, ws) = in_owner(|| {
        // A child owner's cleanups run before its parent's; the hook's before one registered
        // after it. Both say goodbye.
        let ws = use_websocket(ws_url(&format!("/echo?key={key}")));
        let c = Owner::current().unwrap().child();
        c.with(|| on_cleanup(move || ws.send(Message::Text("child".into()))));
        *child.borrow_mut() = Some(c);
        on_cleanup(move || ws.send(Message::Text("goodbye".into())));
        ws
    });
    wait_open(ws).await;
    assert!(connections(&key).await[0].0.is_empty(), "nothing sent yet");
    owner.cleanup();
    // Sent once the owner is cleaned up: dropped.
    ws.send(Message::Text("after".into()));
    let conns = connections_until(&key, 5_000, "a client close", |c| {
        matches!(c, [(_, Some(_))])
    })
    .await;
    assert_eq!(
        conns,
        [(
            vec!["child".to_owned(), "goodbye".to_owned()],
            Some((1000, "client".to_owned()))
        )]
    );
}

#[wasm_bindgen_test]
async fn a_child_callback_goes_with_its_owner() {
    let key = key("leptos-hook-child");
    let (owner, ws) = in_owner(|| use_websocket(ws_url(&format!("/echo?key={key}"))));
    let child_calls = Rc::new(RefCell::new(Vec::new()));
    let child = owner.child();
    {
        let child_calls = child_calls.clone();
        child.with(|| ws.on_message(move |m| child_calls.borrow_mut().push(text(&m))));
    }
    wait_open(ws).await;
    ws.send(Message::Text("a".into()));
    wait_for(5_000, "the child to see \"a\"", || {
        child_calls.borrow().len() == 1
    })
    .await;

    child.cleanup();
    ws.send(Message::Text("b".into()));
    wait_for(5_000, "the echo of \"b\"", || {
        ws.message.get_untracked() == Some(Message::Text("b".into()))
    })
    .await;
    assert_eq!(
        *child_calls.borrow(),
        ["a"],
        "the child's callback was removed"
    );
}

#[wasm_bindgen_test]
async fn a_server_render_on_wasm32_makes_no_socket() {
    // A server-side render on a wasm32 server (Cloudflare Workers, WASI): its render context
    // says it is no browser.
    let key = key("leptos-hook-ssr");
    let owner = Owner::new_root(Some(std::sync::Arc::new(
        hydration_context::SsrSharedContext::new(),
    )));
    let ws = owner.with(|| use_websocket(ws_url(&format!("/echo?key={key}"))));
    assert_eq!(ws.state.get_untracked(), State::Connecting);
    assert!(ws.sender().is_none(), "no socket");
    sleep(300).await;
    assert_eq!(report(&key).await.attempts, 0, "no connection attempted");
    drop(owner);
}

#[wasm_bindgen_test]
async fn reconnect_connects_again_and_what_was_queued_goes_out_on_the_new_connection() {
    let key = key("leptos-hook-reconnect");
    let url = ws_url(&format!("/sink?key={key}"));
    let (_owner, ws) = in_owner(|| use_websocket(url));
    wait_open(ws).await;
    // Still in the hook's queue when reconnect() comes: the new connection carries it.
    ws.send(Message::Text("one".into()));
    ws.reconnect();
    ws.send(Message::Text("two".into()));
    let conns = connections_until(&key, 5_000, "both on a second connection", |c| {
        c.len() == 2 && c[1].0.len() == 2
    })
    .await;
    assert_eq!(
        conns,
        vec![
            (vec![], Some((1000, "client".to_owned()))),
            (vec!["one".to_owned(), "two".to_owned()], None),
        ]
    );
    wait_open(ws).await;
    assert_eq!(ws.error.get_untracked(), None);
    ws.close();
}
