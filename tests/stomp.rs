//! The STOMP client against a real RabbitMQ (Web STOMP plugin) that scripts/test-stomp.sh
//! starts on 127.0.0.1.
#![cfg(all(target_arch = "wasm32", feature = "stomp"))]

use futures::future::{select, Either};
use futures::{Stream, StreamExt};
use gloo_timers::future::TimeoutFuture;
use resocket::stomp::{AckMode, ConnectOptions, StompClient, StompMessage};
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
    let builder = WebSocket::builder(&url()).reconnect(
        Backoff::new()
            .base(Duration::from_millis(100))
            .cap(Duration::from_millis(500)),
    );
    let options = ConnectOptions::new().login("guest", "guest").host("/");
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
    within(10_000, "the close", async {
        while let Some(e) = events.next().await {
            if matches!(e, Event::Close(_)) {
                return;
            }
        }
        panic!("events ended");
    })
    .await;
    within(10_000, "the reopen", async {
        while let Some(e) = events.next().await {
            if matches!(e, Event::Open { .. }) {
                return;
            }
        }
        panic!("events ended");
    })
    .await;
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
