//! STOMP heart-beat silence detection against the test server's `/stomp-silent`: a broker
//! that answers `CONNECT` with `CONNECTED` promising heart-beats, then never sends another
//! byte. RabbitMQ cannot be made to go silent; its heart-beats are tested in tests/stomp.rs.
//! Also a broker that sends a malformed frame (`/stomp-garble`), which RabbitMQ never does.
//! Needs only the test server, so it runs in the normal browser suites (feature `stomp`).
#![cfg(all(target_arch = "wasm32", feature = "stomp"))]

mod support;

use futures::StreamExt;
use resocket::stomp::{AckMode, ConnectOptions, StompClient, StompEvent};
use resocket::{Backoff, Error, Event, Jitter, Message, State, Target, WebSocket};
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn silent_broker(k: &str) -> StompClient {
    // No outgoing heart-beats; the broker's expected every 500 ms.
    broker_at(&format!("/stomp-silent?key={k}"), (0, 500)).await
}

/// A client of the test server's STOMP endpoint at `path`, reconnecting fast.
async fn broker_at(path: &str, heart_beat: (u32, u32)) -> StompClient {
    let builder = WebSocket::builder(&ws_url(path)).reconnect(
        Backoff::new()
            .base(Duration::from_millis(100))
            .cap(Duration::from_millis(400)),
    );
    let options = ConnectOptions::new().heart_beat(heart_beat.0, heart_beat.1);
    within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect")
}

#[wasm_bindgen_test]
async fn a_broker_gone_silent_is_detected_and_the_session_starts_again() {
    let k = key("stomp-silent");
    let client = silent_broker(&k).await;
    let mut events = client.socket().events();
    let _sub = client.subscribe("/queue/a", AckMode::Auto);
    // No heart-beat comes: resocket's heartbeat gives the connection up and reconnects.
    next_event(&mut events, 10_000, |e| *e == Event::HeartbeatTimeout).await;
    let close = next_event(&mut events, 1000, |e| matches!(e, Event::Close(_))).await;
    assert!(
        matches!(close, Event::Close(ref f) if f.code == resocket::codes::HEARTBEAT_TIMEOUT),
        "{close:?}"
    );
    next_event(&mut events, 15_000, |e| matches!(e, Event::Open { .. })).await;
    // A frame sent now waits for the new session's CONNECTED, then goes out in it.
    within(
        15_000,
        "a send in the new session",
        client.send("/queue/a", "again", &[]),
    )
    .await
    .unwrap();
    let r = report_until(&k, 10_000, "the SEND on a later connection", |r| {
        r.connections
            .iter()
            .skip(1)
            .any(|c| c.received.iter().any(|m| m.starts_with("SEND\n")))
    })
    .await;
    for (i, c) in r.connections.iter().enumerate() {
        assert!(
            c.received
                .first()
                .is_some_and(|m| m.starts_with("CONNECT\n")),
            "connection {i} starts with CONNECT: {:?}",
            c.received
        );
    }
    let first = &r.connections[0].received;
    assert!(
        first[1].starts_with("SUBSCRIBE\nreceipt:sub-1\nid:1\n"),
        "{first:?}"
    );
    let second = &r.connections[1].received;
    assert!(
        second[1].starts_with("SUBSCRIBE\nreceipt:sub-1\nid:1\n"),
        "re-subscribed right after CONNECT: {second:?}"
    );
}

#[wasm_bindgen_test]
async fn a_receipt_lost_with_a_silent_connection_fails_instead_of_hanging() {
    let k = key("stomp-silent-receipt");
    let client = silent_broker(&k).await;
    // The frame leaves; the RECEIPT never comes; the connection is given up. When the next
    // one opens, the receipt fails: the broker may or may not have processed the frame.
    match within(
        20_000,
        "the receipt's end",
        client.send_with_receipt("/queue/a", "lost", &[]),
    )
    .await
    {
        Err(Error::Stomp { message, .. }) => assert!(
            message.contains("lost before the receipt came"),
            "{message}"
        ),
        other => panic!("expected Error::Stomp, got {other:?}"),
    }
    assert!(report(&k).await.connections.len() >= 2);
}

#[wasm_bindgen_test]
async fn an_open_hook_on_the_builder_runs_after_the_clients() {
    let k = key("stomp-user-hook");
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-silent?key={k}")))
        // A heart-beat EOL: valid STOMP anywhere between frames.
        .on_open(|o| o.send_first(Message::Text("\n".into())));
    let client = within(
        10_000,
        "CONNECTED",
        StompClient::connect(builder, ConnectOptions::new().heart_beat(0, 0)),
    )
    .await
    .expect("connect");
    let r = report_until(&k, 5000, "two messages", |r| {
        r.connections.first().is_some_and(|c| c.received.len() >= 2)
    })
    .await;
    let received = &r.connections[0].received;
    assert!(received[0].starts_with("CONNECT\n"), "{received:?}");
    assert_eq!(
        received[1], "\n",
        "the application's hook after the client's"
    );
    assert!(client.is_connected());
}

/// A client that asks for heart-beats every 300 ms from a broker that promises `beat_ms`
/// (0: none) and then sends nothing.
async fn quiet_broker(k: &str, beat_ms: u32) -> StompClient {
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-silent/{beat_ms}?key={k}")));
    let options = ConnectOptions::new().heart_beat(0, 300);
    within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect")
}

#[wasm_bindgen_test]
async fn a_broker_that_promised_no_heart_beats_is_not_taken_for_dead() {
    let k = key("stomp-no-beats");
    let client = quiet_broker(&k, 0).await;
    let mut events = client.socket().events();
    // With the client's own 300 ms, this silence would have ended the connection by 600 ms.
    sleep(2000).await;
    let mut seen = Vec::new();
    while let Some(Some(e)) = now_or_never(events.next()) {
        seen.push(e);
    }
    assert!(
        seen.is_empty(),
        "no timeout, close or reconnection: {seen:?}"
    );
    assert!(client.is_connected());
    assert_eq!(report(&k).await.connections.len(), 1);
}

#[wasm_bindgen_test]
async fn the_slower_of_the_two_heart_beat_wishes_is_the_one_watched() {
    let k = key("stomp-slow-beats");
    // The broker promises one every 1500 ms: max(300, 1500) applies, not 300.
    let client = quiet_broker(&k, 1500).await;
    let mut events = client.socket().events();
    let connected_at = js_sys::Date::now();
    next_event(&mut events, 15_000, |e| *e == Event::HeartbeatTimeout).await;
    let after = js_sys::Date::now() - connected_at;
    console_log!("negotiated 1500 ms: silence given up after {after:.0} ms");
    // Ping after 1500 ms of silence, then 1500 ms for an answer: not before 3 s in all.
    assert!(after >= 2900.0, "gave up after {after} ms");
}

#[wasm_bindgen_test]
async fn connected_comes_for_the_first_session_and_again_after_a_reconnection() {
    let k = key("stomp-connected-events");
    let client = silent_broker(&k).await;
    let mut session = client.events();
    // The session `connect` waited for is there at once for a subscriber made now.
    match within(1000, "the first Connected", session.next()).await {
        Some(StompEvent::Connected {
            session: 1,
            headers,
        }) => {
            assert!(
                headers.contains(&("version".into(), "1.2".into())),
                "{headers:?}"
            );
            assert!(
                headers.contains(&("heart-beat".into(), "500,0".into())),
                "{headers:?}"
            );
        }
        other => panic!("expected Connected for session 1, got {other:?}"),
    }
    // No heart-beat comes: the connection is given up, the next one starts session 2.
    match within(15_000, "the second Connected", session.next()).await {
        Some(StompEvent::Connected { session: 2, .. }) => {}
        other => panic!("expected Connected for session 2, got {other:?}"),
    }
    assert!(client.is_connected());
    // Another subscriber gets the current session's, then the same as everyone.
    let mut late = client.events();
    assert!(matches!(
        now_or_never(late.next()),
        Some(Some(StompEvent::Connected { session: 2, .. }))
    ));
    assert!(report(&k).await.connections.len() >= 2);
    // The streams end with the client.
    within(5000, "disconnect", client.disconnect())
        .await
        .unwrap();
    for events in [&mut session, &mut late] {
        loop {
            match within(2000, "the end of the events", events.next()).await {
                Some(StompEvent::Connected { .. }) => continue,
                None => break,
                other => panic!("expected the end, got {other:?}"),
            }
        }
    }
}

#[wasm_bindgen_test]
async fn disconnect_while_the_connection_is_down_ends_at_once() {
    let k = key("stomp-disconnect-down");
    // The next attempt would come 20 s after the connection is lost.
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-silent?key={k}"))).reconnect(
        Backoff::new()
            .base(Duration::from_secs(20))
            .cap(Duration::from_secs(20))
            .jitter(Jitter::None),
    );
    let client = within(
        10_000,
        "CONNECTED",
        StompClient::connect(builder, ConnectOptions::new().heart_beat(0, 500)),
    )
    .await
    .expect("connect");
    let socket = client.socket().clone();
    let mut events = socket.events();
    let mut sub = client.subscribe("/queue/a", AckMode::Auto);
    next_event(&mut events, 10_000, |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    assert!(!client.is_connected());
    let started = js_sys::Date::now();
    within(5000, "disconnect", client.disconnect())
        .await
        .expect("nothing was lost");
    let took = js_sys::Date::now() - started;
    console_log!("disconnect without a session took {took:.0} ms");
    assert!(
        took < 1000.0,
        "disconnect took {took} ms: it waited for a session"
    );
    assert_eq!(socket.state(), resocket::State::Closed);
    assert!(
        within(2000, "the subscription's end", sub.next())
            .await
            .is_none(),
        "asked-for end: no error"
    );
    sleep(500).await;
    assert_eq!(
        report(&k).await.connections.len(),
        1,
        "no DISCONNECT, no new connection"
    );
    assert!(!report(&k).await.connections[0]
        .received
        .iter()
        .any(|m| m.starts_with("DISCONNECT")));
}

/// A builder whose first connection goes to `first` and every later attempt to `later`,
/// with a quick, fixed backoff.
fn first_then(first: String, later: String) -> resocket::Builder {
    WebSocket::builder(&first)
        .target_fn(move |attempt| {
            Ok(Target {
                url: if attempt == 0 { &first } else { &later }.clone(),
                protocols: vec!["v12.stomp".into()],
            })
        })
        .reconnect(
            Backoff::new()
                .base(Duration::from_millis(100))
                .cap(Duration::from_millis(100))
                .jitter(Jitter::None),
        )
}

#[wasm_bindgen_test]
async fn a_session_without_heart_beats_leaves_the_next_connection_watched() {
    let k = key("stomp-beats-restored");
    let mute = format!("{k}-mute");
    // Session 1: a broker that promises no heart-beats (so it is not watched). Then, on
    // every reconnection, a server that accepts the WebSocket and never answers CONNECT.
    let builder = first_then(
        ws_url(&format!("/stomp-silent/0?key={k}")),
        ws_url(&format!("/stomp-mute?key={mute}")),
    );
    let client = within(
        10_000,
        "CONNECTED",
        StompClient::connect(builder, ConnectOptions::new().heart_beat(0, 300)),
    )
    .await
    .expect("connect");
    let mut events = client.socket().events();
    let _ = get_json(&format!("/api/drop/{k}")).await;
    next_event(&mut events, 5000, |e| matches!(e, Event::Close(_))).await;
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    let opened = js_sys::Date::now();
    // No CONNECTED: the client's own 300 ms apply again, not the last session's "none".
    next_event(&mut events, 5000, |e| *e == Event::HeartbeatTimeout).await;
    let after = js_sys::Date::now() - opened;
    console_log!("a connection whose CONNECT got no answer was given up after {after:.0} ms");
    assert!(
        (550.0..2000.0).contains(&after),
        "about 2 × 300 ms expected, took {after} ms"
    );
    assert!(!client.is_connected());
    let r = report(&mute).await;
    assert!(
        r.connections[0]
            .received
            .first()
            .is_some_and(|m| m.starts_with("CONNECT\n")),
        "{r:?}"
    );
}

#[wasm_bindgen_test]
async fn a_connection_lost_during_disconnect_ends_it_instead_of_reconnecting() {
    let k = key("stomp-disconnect-lost");
    // The broker promises heart-beats every 500 ms and sends none, not even the RECEIPT of
    // DISCONNECT; every later attempt hangs in the handshake until the connect timeout
    // (which, like the heartbeat's, resocket retries without asking the reconnect policy):
    // a broker gone, for as long as it stays gone.
    let builder = first_then(
        ws_url(&format!("/stomp-silent?key={k}")),
        ws_url(&format!("/hang?key={k}")),
    )
    .connect_timeout(Some(Duration::from_millis(300)));
    let client = within(
        10_000,
        "CONNECTED",
        StompClient::connect(builder, ConnectOptions::new().heart_beat(0, 500)),
    )
    .await
    .expect("connect");
    let socket = client.socket().clone();
    let mut events = socket.events();
    let started = js_sys::Date::now();
    // The silence ends the connection (a heartbeat timeout, which resocket retries without
    // asking the reconnect policy) while disconnect() waits for its RECEIPT.
    let result = within(5000, "disconnect", client.disconnect()).await;
    let took = js_sys::Date::now() - started;
    console_log!("disconnect whose connection died: {result:?} after {took:.0} ms");
    assert_eq!(result, Ok(()), "the connection's loss counts as done");
    assert_eq!(socket.state(), State::Closed);
    let mut seen = Vec::new();
    while let Some(Some(e)) = now_or_never(events.next()) {
        seen.push(e);
    }
    assert!(seen.contains(&Event::HeartbeatTimeout), "{seen:?}");
    sleep(500).await;
    while let Some(Some(e)) = now_or_never(events.next()) {
        seen.push(e);
    }
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Connecting { .. })),
        "no attempt after disconnect(): {seen:?}"
    );
    let r = report(&k).await;
    assert_eq!(r.attempts, 1, "{r:?}");
    assert!(
        r.connections[0]
            .received
            .iter()
            .any(|m| m.starts_with("DISCONNECT\n")),
        "{r:?}"
    );
}

/// A client of `builder` (a `/stomp-stall/{beat_ms}` broker: CONNECTED, then it reads
/// nothing) with 16 SENDs of 1 MiB handed over at once (the high-water mark is above all
/// of it): they fill every buffer on the way, and the broker's silence will end the
/// connection.
async fn stalled_with_16_mib(builder: resocket::Builder, beat_ms: u32) -> StompClient {
    let builder = builder.high_water_mark(64 << 20);
    let client = within(
        10_000,
        "CONNECTED",
        StompClient::connect(builder, ConnectOptions::new().heart_beat(0, beat_ms)),
    )
    .await
    .expect("connect");
    for _ in 0..16 {
        within(
            5000,
            "a send",
            client.send("/queue/a", vec![b'x'; 1 << 20], &[]),
        )
        .await
        .unwrap();
    }
    client
}

#[wasm_bindgen_test]
async fn disconnect_counts_the_sends_a_connection_lost_before_its_receipt_never_sent() {
    let k = key("stomp-disconnect-stalled");
    // The broker answers CONNECT (heart-beats every 400 ms promised), then reads nothing:
    // 16 MiB of SENDs fill every buffer on the way, and the silence ends the connection
    // while DISCONNECT waits behind them for its RECEIPT.
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-stall/400?key={k}")));
    let client = stalled_with_16_mib(builder, 400).await;
    let socket = client.socket().clone();
    let result = within(10_000, "disconnect", client.disconnect()).await;
    assert_eq!(socket.state(), State::Closed);
    match result {
        Err(Error::Stomp { message, .. }) => {
            let lost: usize = message
                .split(": ")
                .nth(1)
                .and_then(|m| m.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no count in {message:?}"));
            assert!(
                message.starts_with("the connection was lost before the broker confirmed"),
                "{message}"
            );
            assert!((1..=16).contains(&lost), "{message}");
            console_log!("disconnect of a stalled connection: {lost} of 16 SENDs never left");
        }
        other => panic!("expected Error::Stomp counting the lost SENDs, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_send_the_builders_open_hook_removes_fails_its_receipt_instead_of_waiting() {
    let k = key("stomp-hook-removes");
    // The first broker reads nothing after CONNECTED, so a receipt's SEND queued behind
    // 16 MiB never leaves, and its silence ends the connection; the next one answers
    // CONNECT and then nothing, heart-beats included. The builder's own hook drops every
    // SEND that would go again.
    let builder = first_then(
        ws_url(&format!("/stomp-stall/300?key={k}")),
        ws_url(&format!("/stomp-silent/0?key={k}")),
    )
    .on_open(|o| {
        let _ = o.retain(|m| !m.as_bytes().starts_with(b"SEND\n"));
    });
    let client = stalled_with_16_mib(builder, 300).await;
    match within(
        15_000,
        "the receipt's end",
        client.send_with_receipt("/queue/a", "last", &[]),
    )
    .await
    {
        Err(Error::Stomp { message, .. }) => {
            assert!(message.contains("open hook removed it"), "{message}")
        }
        other => panic!("expected the receipt to fail as not sent, got {other:?}"),
    }
    assert!(report(&k).await.connections.len() >= 2);
}

#[wasm_bindgen_test]
async fn a_subscription_the_broker_refuses_by_name_ends_alone_and_is_not_subscribed_again() {
    let k = key("stomp-refuse");
    // A broker that refuses SUBSCRIBEs to /refused… with an ERROR naming the frame (its
    // receipt), then closes the connection, as the spec has it.
    let client = broker_at(&format!("/stomp-refuse?key={k}"), (0, 0)).await;
    let mut events = client.socket().events();
    let mut good = client.subscribe("/queue/a", AckMode::Auto);
    let mut bad = client.subscribe("/refused/x", AckMode::Auto);
    match within(10_000, "the refusal", bad.next()).await {
        Some(Err(Error::Stomp { message, body })) => {
            assert_eq!(message, "refused");
            assert!(body.contains("/refused/x"), "{body}");
        }
        other => panic!("expected the broker's ERROR, got {other:?}"),
    }
    assert!(within(5000, "its end", bad.next()).await.is_none());
    // The broker closed the connection: the next session subscribes the other one only.
    next_event(&mut events, 10_000, |e| matches!(e, Event::Open { .. })).await;
    within(
        10_000,
        "a receipt in the next session",
        client.send_with_receipt("/queue/a", "x", &[]),
    )
    .await
    .unwrap();
    sleep(500).await;
    let r = report(&k).await;
    assert_eq!(r.connections.len(), 2, "one reconnection, no loop: {r:?}");
    let subscribes: Vec<&String> = r.connections[1]
        .received
        .iter()
        .filter(|m| m.starts_with("SUBSCRIBE\n"))
        .collect();
    assert_eq!(subscribes.len(), 1, "{subscribes:?}");
    assert!(
        subscribes[0].contains(&format!("\nid:{}\n", good.id())),
        "{subscribes:?}"
    );
    // The other subscription was not handed the refusal.
    assert!(
        now_or_never(good.next()).is_none(),
        "nothing for the other one"
    );
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_receipt_behind_a_malformed_frame_settles_instead_of_hanging() {
    // The broker answers the SEND's receipt in one message behind a frame with an undefined
    // escape: the client cannot read past it, so it never sees that RECEIPT. It must not
    // wait for ever: the receipt fails (the broker may or may not have processed the SEND),
    // and the client goes on with the same session.
    let k = key("stomp-garble");
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-garble?key={k}")));
    let client = within(
        10_000,
        "CONNECTED",
        StompClient::connect(builder, ConnectOptions::new()),
    )
    .await
    .expect("connect");
    match within(
        8000,
        "the receipt's end",
        client.send_with_receipt("/queue/a", "garbled", &[]),
    )
    .await
    {
        Err(Error::Stomp { message, .. }) => {
            assert!(message.contains("escape"), "{message}")
        }
        other => panic!("expected Error::Stomp, got {other:?}"),
    }
    // The session goes on: a later receipt comes as it should, even with a `receipt`
    // header of the caller's among the headers (the broker answers the first one).
    within(
        5000,
        "the next receipt",
        client.send_with_receipt("/queue/a", "after", &[("receipt", "mine")]),
    )
    .await
    .expect("the next receipt");
    assert_eq!(
        report(&k).await.connections.len(),
        1,
        "one connection throughout"
    );
}

#[wasm_bindgen_test]
async fn an_eol_inside_a_frame_that_came_in_pieces_is_not_taken_for_a_heart_beat() {
    // Heart-beats are watched (the broker promised one every 10 s), so EOL-only messages
    // between frames are swallowed; the broker sends a MESSAGE in three pieces, the second
    // a lone EOL that belongs to the frame (the blank line before its body).
    let k = key("stomp-split");
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-split?key={k}")));
    let options = ConnectOptions::new().heart_beat(0, 10_000);
    let client = within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect");
    let mut sub = client.subscribe("/queue/a", AckMode::Auto);
    let message = within(5000, "the message", sub.next())
        .await
        .expect("a message")
        .expect("not an error");
    assert_eq!(message.body_text(), "hi");
}

#[wasm_bindgen_test]
async fn a_reconnect_through_the_socket_starts_a_new_session_and_subscriptions_resume() {
    // `/stomp-split` sends a MESSAGE for every SUBSCRIBE: one per session.
    let k = key("stomp-reconnect");
    let client = broker_at(&format!("/stomp-split?key={k}"), (0, 10_000)).await;
    let mut sub = client.subscribe("/queue/a", AckMode::Auto);
    let first = within(5000, "the first message", sub.next()).await;
    assert_eq!(
        first.expect("a message").expect("not an error").body_text(),
        "hi"
    );
    let mut events = client.events();
    client.socket().reconnect(4000, "new token").unwrap();
    // The new session subscribes again, and the broker answers that SUBSCRIBE too.
    let second = within(5000, "a message of the new session", sub.next()).await;
    assert_eq!(
        second
            .expect("a message")
            .expect("not an error")
            .body_text(),
        "hi"
    );
    assert!(client.is_connected());
    // A new subscriber hears of the session it joined first: 1 (before the reconnect), then 2.
    for session in [1, 2] {
        let connected = within(1000, "a session's event", events.next()).await;
        assert!(
            matches!(connected, Some(StompEvent::Connected { session: s, .. }) if s == session),
            "{connected:?}"
        );
    }
    let r = report(&k).await;
    assert_eq!(r.attempts, 2);
    assert_eq!(
        r.connections[0].close,
        Some((4000, "new token".into(), "client".into()))
    );
    let frames: Vec<Vec<String>> = (r.connections.iter())
        .map(|c| {
            (c.received.iter())
                .map(|m| m.lines().next().unwrap_or_default().to_owned())
                .filter(|command| !command.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        frames,
        vec![vec!["CONNECT", "SUBSCRIBE"], vec!["CONNECT", "SUBSCRIBE"]]
    );
}

#[wasm_bindgen_test]
async fn disconnect_during_a_reconnects_closing_handshake_ends_with_no_new_connection() {
    let k = key("stomp-reconnect-disconnect");
    let client = broker_at(&format!("/stomp-split?key={k}"), (0, 10_000)).await;
    let socket = client.socket().clone();
    socket.reconnect(4000, "new token").unwrap();
    // The session ends as the closing handshake starts, though the socket is still open.
    assert_eq!(socket.state(), State::Open);
    assert!(!client.is_connected());
    // No session: no DISCONNECT to send; the socket closes for good.
    let result = within(3000, "disconnect", client.disconnect()).await;
    assert_eq!(result, Ok(()));
    assert_eq!(socket.state(), State::Closed);
    sleep(500).await;
    let r = report(&k).await;
    assert_eq!(r.attempts, 1, "no attempt after disconnect: {r:?}");
    assert_eq!(
        r.connections[0].close,
        Some((4000, "new token".into(), "client".into()))
    );
    assert!(
        !r.connections[0]
            .received
            .iter()
            .any(|m| m.starts_with("DISCONNECT")),
        "{r:?}"
    );
}

#[wasm_bindgen_test]
async fn disconnect_from_a_broker_that_never_confirms_ends_within_the_close_timeout() {
    // `/stomp-split` never sends a RECEIPT, and keeps the connection.
    let k = key("stomp-unconfirmed");
    let builder = WebSocket::builder(&ws_url(&format!("/stomp-split?key={k}")))
        .close_timeout(Duration::from_millis(300));
    let options = ConnectOptions::new().heart_beat(0, 10_000);
    let client = within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect");
    let result = within(3000, "disconnect", client.disconnect()).await;
    assert!(
        matches!(&result, Err(Error::Stomp { message, .. })
            if message == "DISCONNECT was not confirmed within 300 ms"),
        "{result:?}"
    );
    let r = report_until(&k, 3000, "the close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].close.as_ref().map(|c| c.0), Some(1000));
    assert!(
        r.connections[0]
            .received
            .iter()
            .any(|m| m.starts_with("DISCONNECT")),
        "{r:?}"
    );
}
