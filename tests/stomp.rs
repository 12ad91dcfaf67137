//! The STOMP client against a real RabbitMQ (Web STOMP plugin) that scripts/test-stomp.sh
//! starts on 127.0.0.1.
#![cfg(all(target_arch = "wasm32", feature = "stomp"))]

use futures::future::{select, Either};
use futures::{Stream, StreamExt};
use gloo_timers::future::TimeoutFuture;
use resocket::stomp::{AckMode, ConnectOptions, StompClient, StompEvent, StompMessage};
use resocket::{Backoff, Error, Event, WebSocket};
use std::future::Future;
use std::time::Duration;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn env_port(value: Option<&str>, name: &str) -> u16 {
    match value.map(str::parse) {
        Some(Ok(port)) => port,
        _ => panic!("{name} is not set: run these tests through scripts/test-stomp.sh"),
    }
}

fn url() -> String {
    let port = env_port(option_env!("RESOCKET_STOMP_PORT"), "RESOCKET_STOMP_PORT");
    format!("ws://127.0.0.1:{port}/ws")
}

/// A destination no other test (or earlier run) uses.
fn queue(name: &str) -> String {
    format!("/queue/{name}-{}", (js_sys::Math::random() * 1e12) as u64)
}

async fn within<T>(ms: u32, what: &str, fut: impl Future<Output = T>) -> T {
    match select(Box::pin(fut), TimeoutFuture::new(ms)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out after {ms} ms: {what}"),
    }
}

async fn client() -> StompClient {
    client_with(ConnectOptions::new()).await
}

/// Connects as guest to `/`, reconnecting fast.
async fn client_with(options: ConnectOptions) -> StompClient {
    let builder = WebSocket::builder(&url()).reconnect(
        Backoff::new()
            .base(Duration::from_millis(100))
            .cap(Duration::from_millis(500)),
    );
    let options = options.login("guest", "guest").host("/");
    within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect")
}

async fn next<S: Stream<Item = Result<StompMessage, Error>> + Unpin>(
    sub: &mut S,
    what: &str,
) -> StompMessage {
    within(10_000, what, sub.next())
        .await
        .expect("the subscription ended")
        .expect("a message, not an error")
}

/// Nothing arrives on `sub` for `ms`.
async fn quiet<S: Stream<Item = Result<StompMessage, Error>> + Unpin>(sub: &mut S, ms: u32) {
    if let Either::Left((item, _)) = select(sub.next(), TimeoutFuture::new(ms)).await {
        panic!("expected nothing, got {item:?}");
    }
}

/// Waits up to 10 s for the socket event `pred` picks.
async fn socket_event(
    events: &mut (impl Stream<Item = Event> + Unpin),
    what: &str,
    pred: impl Fn(&Event) -> bool,
) {
    within(10_000, what, async {
        while let Some(e) = events.next().await {
            if pred(&e) {
                return;
            }
        }
        panic!("events ended");
    })
    .await;
}

#[wasm_bindgen_test]
async fn sends_and_receives_through_a_queue() {
    let client = client().await;
    let q = queue("plain");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    // Several frames, one with a body that needs content-length (NUL) and escaped headers.
    client
        .send(&q, "hello", &[("content-type", "text/plain")])
        .await
        .unwrap();
    client
        .send(&q, vec![0u8, 1, 2], &[("x-odd", "a:b\\c")])
        .await
        .unwrap();
    let m = next(&mut sub, "first message").await;
    assert_eq!(m.body_text(), "hello");
    assert_eq!(m.destination(), Some(q.as_str()));
    let m = next(&mut sub, "binary message").await;
    assert_eq!(m.body(), &[0, 1, 2]);
    assert_eq!(m.header("x-odd"), Some("a:b\\c"));
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_nul_in_a_destination_or_header_is_refused_and_injects_no_frame() {
    let client = client().await;
    let q = queue("nul");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    // Written as it is, each NUL would end the frame and start another: an UNSUBSCRIBE of
    // `sub`, a SEND to the queue.
    let injected = format!("x\0UNSUBSCRIBE\nid:{}\n\n", sub.id());
    match client.send(&q, "a", &[("note", &injected)]).await {
        Err(Error::Encode(m)) => assert!(m.contains("\"note\"") && m.contains("NUL"), "{m}"),
        other => panic!("expected Error::Encode naming the header, got {other:?}"),
    }
    let forged = format!("{q}\0SEND\ndestination:{q}\n\nforged");
    match client.send_with_receipt(&forged, "b", &[]).await {
        Err(Error::Encode(m)) => assert!(m.contains("destination"), "{m}"),
        other => panic!("expected Error::Encode naming the destination, got {other:?}"),
    }
    let tx = client.begin().await.unwrap();
    assert!(matches!(
        tx.send(&q, "c", &[("x\0y", "1")]).await,
        Err(Error::Encode(_))
    ));
    tx.abort().await.unwrap();
    let mut bad = client.subscribe(&forged, AckMode::Auto);
    match within(5_000, "the bad subscription's error", bad.next()).await {
        Some(Err(Error::Encode(m))) => assert!(m.contains("NUL"), "{m}"),
        other => panic!("expected Error::Encode, got {other:?}"),
    }
    assert!(within(5_000, "its end", bad.next()).await.is_none());
    // Nothing was sent, nothing was unsubscribed, and the session goes on.
    client.send(&q, "after", &[]).await.unwrap();
    let m = next(&mut sub, "the message after").await;
    assert_eq!(m.body_text(), "after");
    quiet(&mut sub, 300).await;
    assert!(client.is_connected());
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn nack_redelivers_and_ack_settles() {
    let client = client().await;
    let q = queue("acks");
    let mut sub = client.subscribe_with(&q, AckMode::ClientIndividual, &[("prefetch-count", "1")]);
    client.send(&q, "job", &[]).await.unwrap();
    let first = next(&mut sub, "first delivery").await;
    assert_eq!(first.header("redelivered"), Some("false"));
    first.nack().await.unwrap();
    let again = next(&mut sub, "redelivery after NACK").await;
    assert_eq!(again.body_text(), "job");
    assert_eq!(again.header("redelivered"), Some("true"));
    again.ack().await.unwrap();
    quiet(&mut sub, 500).await;
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_receipt_confirms_a_send() {
    let client = client().await;
    let q = queue("receipt");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    within(10_000, "RECEIPT", client.send_with_receipt(&q, "sure", &[]))
        .await
        .unwrap();
    assert_eq!(next(&mut sub, "the message").await.body_text(), "sure");
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_transaction_delivers_on_commit_only() {
    let client = client().await;
    let q = queue("tx");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    let tx = client.begin().await.unwrap();
    tx.send(&q, "a", &[]).await.unwrap();
    tx.send(&q, "b", &[]).await.unwrap();
    // Its id on a plain send is refused: that frame could go out in a later session.
    for result in [
        client.send(&q, "c", &[("transaction", tx.id())]).await,
        (client.send_with_receipt(&q, "c", &[("transaction", tx.id())])).await,
    ] {
        assert!(
            matches!(&result, Err(Error::InvalidConfig(m)) if m.contains("Transaction::send")),
            "{result:?}"
        );
    }
    quiet(&mut sub, 500).await;
    within(10_000, "COMMIT receipt", tx.commit()).await.unwrap();
    assert_eq!(next(&mut sub, "a").await.body_text(), "a");
    assert_eq!(next(&mut sub, "b").await.body_text(), "b");

    let tx = client.begin().await.unwrap();
    tx.send(&q, "never", &[]).await.unwrap();
    within(10_000, "ABORT receipt", tx.abort()).await.unwrap();
    quiet(&mut sub, 500).await;
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn an_error_frame_is_an_error_item() {
    let client = client().await;
    // RabbitMQ refuses destinations outside its known prefixes with an ERROR frame.
    let mut sub = client.subscribe("/nowhere/at-all", AckMode::Auto);
    let item = within(10_000, "ERROR", sub.next()).await.expect("an item");
    match item {
        Err(Error::Stomp { message, .. }) => assert!(!message.is_empty()),
        other => panic!("expected Error::Stomp, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_receipt_for_a_refused_frame_fails_with_the_error_even_if_the_session_goes_on() {
    let client = client().await;
    let q = queue("after-refused");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    // RabbitMQ answers with an ERROR that names no receipt and keeps the session: what the
    // ERROR was about shows when the broker confirms a later frame (the client's probe, or
    // the second send here, handed over together with the first).
    let (refused, fine) = futures::join!(
        client.send_with_receipt("/nowhere/at-all", "?", &[]),
        client.send_with_receipt(&q, "fine", &[]),
    );
    console_log!("the refused frame's receipt: {refused:?}");
    match &refused {
        Err(Error::Stomp { message, .. }) => assert!(message.contains("Unknown destination")),
        other => panic!("expected the ERROR, got {other:?}"),
    }
    assert_eq!(fine, Ok(()));
    // The subscription hears the ERROR first (every subscription does), then the message.
    match within(10_000, "the ERROR item", sub.next()).await {
        Some(Err(Error::Stomp { .. })) => {}
        other => panic!("expected the ERROR, got {other:?}"),
    }
    assert_eq!(next(&mut sub, "fine").await.body_text(), "fine");
    // Alone: nothing else is confirmed, so the client's probe settles it.
    match within(
        10_000,
        "the refused receipt",
        client.send_with_receipt("/nowhere/again", "?", &[]),
    )
    .await
    {
        Err(Error::Stomp { message, .. }) => assert!(message.contains("Unknown destination")),
        other => panic!("expected the ERROR, got {other:?}"),
    }
    console_log!(
        "session still up after the ERRORs: {}",
        client.is_connected()
    );
    within(10_000, "disconnect", client.disconnect())
        .await
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_later_frames_receipt_that_overtakes_a_send_receipt_does_not_fail_the_send() {
    let client = client().await;
    let q = queue("overtaken");
    let tx = client.begin().await.unwrap();
    // All three go out together, and the ERROR about the first marks all three. RabbitMQ
    // sends a SEND's RECEIPT only once the message is confirmed, an ABORT's at once: the
    // ABORT's RECEIPT comes before the good SEND's, and must not fail it with the ERROR.
    let (refused, fine, aborted) = futures::join!(
        client.send_with_receipt("/nowhere/at-all", "?", &[]),
        client.send_with_receipt(&q, "fine", &[]),
        tx.abort(),
    );
    console_log!("refused: {refused:?}, fine: {fine:?}, aborted: {aborted:?}");
    assert_eq!(aborted, Ok(()));
    assert_eq!(fine, Ok(()));
    match &refused {
        Err(Error::Stomp { message, .. }) => assert!(message.contains("Unknown destination")),
        other => panic!("expected the ERROR, got {other:?}"),
    }
    within(10_000, "disconnect", client.disconnect())
        .await
        .unwrap();
}

#[wasm_bindgen_test]
async fn an_error_frame_is_an_event_even_without_a_subscription() {
    let client = client().await;
    let mut events = client.events();
    match within(1000, "the first Connected", events.next()).await {
        Some(StompEvent::Connected {
            session: 1,
            headers,
        }) => {
            assert!(
                headers.contains(&("version".into(), "1.2".into())),
                "{headers:?}"
            );
            assert!(
                headers
                    .iter()
                    .any(|(n, v)| n == "server" && v.starts_with("RabbitMQ")),
                "{headers:?}"
            );
        }
        other => panic!("expected Connected for session 1, got {other:?}"),
    }
    // No subscription exists; RabbitMQ answers a SEND to an unknown kind of destination
    // with an ERROR frame.
    client.send("/nowhere/at-all", "?", &[]).await.unwrap();
    match within(10_000, "the ERROR event", events.next()).await {
        Some(StompEvent::Error(Error::Stomp { message, body })) => {
            console_log!("ERROR: {message}: {body}");
            assert!(!message.is_empty());
        }
        other => panic!("expected StompEvent::Error, got {other:?}"),
    }
    // One event per ERROR frame: the next thing is the session going on (or a new one).
    let q = queue("after-error");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    within(
        10_000,
        "a receipt after the ERROR",
        client.send_with_receipt(&q, "after", &[]),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut sub, "after").await.body_text(), "after");
    let seen: Vec<StompEvent> =
        std::iter::from_fn(|| futures::FutureExt::now_or_never(events.next()).flatten()).collect();
    assert!(
        !seen.iter().any(|e| matches!(e, StompEvent::Error(_))),
        "{seen:?}"
    );
    client.disconnect().await.unwrap();
    within(2000, "the end of the events", async {
        while let Some(e) = events.next().await {
            assert!(matches!(e, StompEvent::Connected { .. }), "{e:?}");
        }
    })
    .await;
}

#[wasm_bindgen_test]
async fn wrong_credentials_fail_connect() {
    let builder = WebSocket::builder(&url());
    let options = ConnectOptions::new().login("guest", "wrong");
    match within(10_000, "refusal", StompClient::connect(builder, options)).await {
        Err(Error::Stomp { .. }) => {}
        other => panic!("expected Error::Stomp, got {other:?}"),
    }
}

/// Makes the broker close every client connection (`rabbitmqctl close_all_connections`).
async fn broker_kills_connections() {
    let port = env_port(
        option_env!("RESOCKET_STOMP_CONTROL_PORT"),
        "RESOCKET_STOMP_CONTROL_PORT",
    );
    let window = web_sys::window().unwrap();
    let url = format!("http://127.0.0.1:{port}/close-connections");
    let resp = JsFuture::from(window.fetch_with_str(&url))
        .await
        .expect("fetch");
    let resp: web_sys::Response = wasm_bindgen::JsCast::dyn_into(resp).unwrap();
    assert!(resp.ok(), "close-connections: HTTP {}", resp.status());
}

#[wasm_bindgen_test]
async fn resubscribes_after_the_broker_kills_the_connection() {
    let client = client().await;
    let q = queue("survivor");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    client.send_with_receipt(&q, "before", &[]).await.unwrap();
    assert_eq!(next(&mut sub, "before").await.body_text(), "before");

    let mut events = client.socket().events();
    broker_kills_connections().await;
    socket_event(&mut events, "the close", |e| matches!(e, Event::Close(_))).await;
    socket_event(&mut events, "the reopen", |e| {
        matches!(e, Event::Open { .. })
    })
    .await;
    // The new session is an event, once its CONNECTED came.
    let mut session = client.events();
    // (Made after the reopen: it gets session 2's at once if CONNECTED came already.)
    match within(10_000, "Connected for session 2", session.next()).await {
        Some(StompEvent::Connected { session: 2, .. }) => {}
        other => panic!("expected Connected for session 2, got {other:?}"),
    }
    // Sent after the reconnection: the receipt proves the new session; the message must
    // reach the old subscription, re-subscribed by itself.
    within(
        10_000,
        "receipt after reconnect",
        client.send_with_receipt(&q, "after", &[]),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut sub, "after").await.body_text(), "after");
    assert!(client.is_connected());
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn an_ack_after_the_connection_was_lost_fails_at_once() {
    // Reconnects only after 3 s: the ack below is made during the outage.
    let builder = WebSocket::builder(&url()).reconnect(
        Backoff::new()
            .base(Duration::from_secs(3))
            .cap(Duration::from_secs(3))
            .jitter(resocket::Jitter::None),
    );
    let options = ConnectOptions::new().login("guest", "guest").host("/");
    let client = within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect");
    let q = queue("lost-ack");
    let mut sub = client.subscribe(&q, AckMode::ClientIndividual);
    client.send_with_receipt(&q, "job", &[]).await.unwrap();
    let job = next(&mut sub, "the delivery").await;
    let mut events = client.socket().events();
    broker_kills_connections().await;
    socket_event(&mut events, "the close", |e| matches!(e, Event::Close(_))).await;
    assert!(!client.is_connected());
    // Its session is gone for good (the broker redelivers the message to the next one):
    // the ack says so now, not once the next session is up.
    match within(1000, "the ack to fail", job.ack()).await {
        Err(Error::Stomp { message, .. }) => assert!(message.contains("has ended"), "{message}"),
        other => panic!("expected the session's end, got {other:?}"),
    }
    assert!(!client.is_connected(), "still in the outage");
    let again = next(&mut sub, "the redelivery").await;
    assert_eq!(again.body_text(), "job");
    again.ack().await.unwrap();
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_transaction_of_a_lost_session_refuses_to_ack_a_message_of_the_next() {
    let builder = WebSocket::builder(&url()).reconnect(
        Backoff::new()
            .base(Duration::from_millis(100))
            .cap(Duration::from_millis(300)),
    );
    let options = ConnectOptions::new().login("guest", "guest").host("/");
    let client = within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect");
    let q = queue("tx-lost-ack");
    let mut sub = client.subscribe(&q, AckMode::ClientIndividual);
    let tx = client.begin().await.expect("begin");
    client.send_with_receipt(&q, "job", &[]).await.unwrap();
    let _first = next(&mut sub, "the delivery").await;
    broker_kills_connections().await;
    // Redelivered in the next session, where the broker never heard of the transaction:
    // an ACK naming it would be an ERROR there, so it fails here, as tx.send does.
    let again = next(&mut sub, "the redelivery").await;
    match within(1000, "the ack to fail", tx.ack(&again)).await {
        Err(Error::Stomp { message, .. }) => assert!(message.contains("has ended"), "{message}"),
        other => panic!("expected the session's end, got {other:?}"),
    }
    again.ack().await.unwrap();
    client.disconnect().await.unwrap();
}

/// Every event that is already waiting on `events`.
fn drain_events(events: &mut (impl Stream<Item = Event> + Unpin)) -> Vec<Event> {
    let mut seen = vec![];
    while let Some(Some(e)) = futures::FutureExt::now_or_never(events.next()) {
        seen.push(e);
    }
    seen
}

async fn idle_client(heart_beat: (u32, u32)) -> StompClient {
    let builder = WebSocket::builder(&url()).reconnect(
        Backoff::new()
            .base(Duration::from_millis(100))
            .cap(Duration::from_millis(500)),
    );
    let options = ConnectOptions::new()
        .login("guest", "guest")
        .host("/")
        .heart_beat(heart_beat.0, heart_beat.1);
    within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect")
}

/// The session stays up through `ms` of idleness: no close, no heartbeat timeout, no
/// reconnection; and it still carries messages afterwards.
async fn stays_alive_idle(client: &StompClient, ms: u32) {
    let q = queue("idle");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    client.send_with_receipt(&q, "before", &[]).await.unwrap();
    assert_eq!(next(&mut sub, "before").await.body_text(), "before");
    let mut events = client.socket().events();
    TimeoutFuture::new(ms).await;
    let seen = drain_events(&mut events);
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            Event::Close(_) | Event::HeartbeatTimeout | Event::Reconnecting { .. }
        )),
        "the idle session was interrupted: {seen:?}"
    );
    assert!(client.is_connected());
    within(
        10_000,
        "receipt after idling",
        client.send_with_receipt(&q, "after", &[]),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut sub, "after").await.body_text(), "after");
}

#[wasm_bindgen_test]
async fn negotiated_heart_beats_keep_an_idle_session_alive() {
    // 1 s both ways: the broker sends heart-beats and expects them; resocket's heartbeat
    // watches for the broker's (a silence of about 2 s would close the connection).
    let client = idle_client((1000, 1000)).await;
    stays_alive_idle(&client, 4000).await;
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn the_broker_drops_a_silent_client_so_outgoing_heart_beats_are_needed() {
    // The control: a session that promises a heart-beat every second and sends none is
    // closed by the broker within a few seconds.
    let mut raw = WebSocket::builder(&url())
        .protocols(["v12.stomp"])
        .no_reconnect()
        .connect()
        .unwrap();
    futures::SinkExt::send(
        &mut raw,
        resocket::Message::Text(
            "CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:1000,0\n\n\0"
                .into(),
        ),
    )
    .await
    .unwrap();
    let connected = within(10_000, "CONNECTED", raw.next())
        .await
        .expect("an item")
        .expect("a message");
    assert!(
        connected.as_bytes().starts_with(b"CONNECTED\n"),
        "{connected:?}"
    );
    let silent_since = js_sys::Date::now();
    let end = within(20_000, "the broker dropping the silent client", async {
        loop {
            match raw.next().await {
                Some(Ok(_)) => continue, // nothing expected, but not the point
                other => return other,
            }
        }
    })
    .await;
    let after = js_sys::Date::now() - silent_since;
    assert!(
        matches!(end, Some(Err(Error::Closed(_))) | None),
        "the stream ends with the close: {end:?}"
    );
    assert!(
        after >= 900.0,
        "dropped after {after} ms: too early to be the heart-beat"
    );
    console_log!("RabbitMQ dropped a client silent despite heart-beat:1000,0 after {after} ms");

    // The same promise kept by the client's own heart-beats: no drop while idle.
    let client = idle_client((1000, 0)).await;
    stays_alive_idle(&client, 4000).await;
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_reconnect_policy_on_the_builder_still_decides() {
    // The application retries nothing: the broker dropping the connection ends the client,
    // although the client alone would retry every close.
    let builder = WebSocket::builder(&url())
        .reconnect(Backoff::new().base(Duration::from_millis(100)))
        .reconnect_if(|_| false);
    let options = ConnectOptions::new().login("guest", "guest").host("/");
    let client = within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect");
    let mut sub = client.subscribe(&queue("policy"), AckMode::Auto);
    let mut events = client.socket().events();
    broker_kills_connections().await;
    match within(10_000, "the end", sub.next()).await {
        Some(Err(Error::Closed(frame))) => console_log!("ended by {frame}"),
        other => panic!("expected Error::Closed, got {other:?}"),
    }
    assert!(within(1000, "the end of the stream", sub.next())
        .await
        .is_none());
    let seen = drain_events(&mut events);
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Reconnecting { .. })),
        "{seen:?}"
    );
    assert_eq!(client.socket().state(), resocket::State::Closed);
}

#[wasm_bindgen_test]
async fn a_frame_right_behind_connect_lands_in_the_new_session() {
    // What the client relies on for the SENDs it re-sends after a reconnection: frames
    // that follow CONNECT before CONNECTED came are processed in the session it opens.
    let q = queue("pipelined");
    let frame = resocket::stomp::Frame::new("SEND")
        .header("destination", q.as_str())
        .body(b"right behind CONNECT".to_vec());
    let text = String::from_utf8(frame.encode()).unwrap();
    let builder = WebSocket::builder(&url()).on_open(move |o| {
        if o.attempt() == 0 {
            o.send_first(resocket::Message::Text(text.clone()));
        }
    });
    let options = ConnectOptions::new().login("guest", "guest").host("/");
    let client = within(10_000, "CONNECTED", StompClient::connect(builder, options))
        .await
        .expect("connect");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    assert_eq!(
        next(&mut sub, "the pipelined SEND").await.body_text(),
        "right behind CONNECT"
    );
    client.disconnect().await.unwrap();
}

/// Sends `n` messages of `size` bytes to `q`, the last with a receipt (the broker has them
/// all), then gives it half a second to deliver them.
async fn send_batch(client: &StompClient, q: &str, n: usize, size: usize) -> Vec<String> {
    let bodies: Vec<String> = (0..n)
        .map(|i| format!("{i:04}{}", "x".repeat(size - 4)))
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        let sent = match i + 1 == n {
            true => client.send_with_receipt(q, body.as_str(), &[]).await,
            false => client.send(q, body.as_str(), &[]).await,
        };
        sent.unwrap();
    }
    TimeoutFuture::new(500).await;
    bodies
}

#[wasm_bindgen_test]
async fn the_unread_limit_ends_an_auto_subscription_nobody_reads_after_what_it_kept() {
    const LIMIT: usize = 2000;
    let client = client_with(ConnectOptions::new().unread_limit(LIMIT)).await;
    let q = queue("unread-auto");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    let bodies = send_batch(&client, &q, 20, 500).await;
    // What it kept, in order, at most the limit (headers and body), then the error.
    let mut kept = Vec::new();
    let mut bytes = 0;
    while kept.len() < bodies.len() {
        match within(10_000, "a kept message", sub.next()).await {
            Some(Ok(m)) => {
                bytes += m.body().len()
                    + m.headers()
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>();
                kept.push(m.body_text());
            }
            Some(Err(Error::Stomp { message, .. })) => {
                assert!(
                    message.contains(&format!("unread limit of {LIMIT} bytes")),
                    "{message}"
                );
                break;
            }
            other => panic!("expected a message or the limit's error, got {other:?}"),
        }
    }
    assert!(
        !kept.is_empty() && kept.len() < bodies.len(),
        "kept {} of {}",
        kept.len(),
        bodies.len()
    );
    assert_eq!(kept[..], bodies[..kept.len()]);
    assert!(bytes <= LIMIT, "{bytes} bytes kept");
    assert!(within(10_000, "the end", sub.next()).await.is_none());
    // The broker was told: a new consumer gets every later message (with the old one still
    // subscribed, the broker would share them out between the two).
    let mut again = client.subscribe(&q, AckMode::Auto);
    let later = send_batch(&client, &q, 4, 100).await;
    for body in &later {
        assert_eq!(&next(&mut again, "a later message").await.body_text(), body);
    }
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn the_unread_limit_leaves_a_client_ack_subscription_to_the_broker() {
    // Ending it would strand its unacknowledged messages: prefetch-count is the bound there.
    let client = client_with(ConnectOptions::new().unread_limit(2000)).await;
    let q = queue("unread-client");
    let mut sub = client.subscribe(&q, AckMode::ClientIndividual);
    let bodies = send_batch(&client, &q, 10, 500).await;
    for body in &bodies {
        let m = next(&mut sub, "a message beyond the limit").await;
        assert_eq!(&m.body_text(), body);
        m.ack().await.unwrap();
    }
    client.disconnect().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_subscription_read_as_messages_come_stays_within_the_unread_limit() {
    // Read as they come, one message waits at a time: kept however large (each is above
    // the limit here), and nothing ends.
    let client = client_with(ConnectOptions::new().unread_limit(1200)).await;
    let q = queue("unread-read");
    let mut sub = client.subscribe(&q, AckMode::Auto);
    for i in 0..30 {
        let body = format!("{i:04}{}", "y".repeat(1496));
        client.send(&q, body.as_str(), &[]).await.unwrap();
        assert_eq!(
            next(&mut sub, "the message just sent").await.body_text(),
            body
        );
    }
    client.disconnect().await.unwrap();
}
