//! Reconnection against real failures: drops, rejected handshakes, server close codes,
//! the policy, close during backoff, connect timeouts (offline/online: tests/offline.rs).
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{
    Backoff, Builder, CloseFrame, Error, Event, Jitter, Message, State, Target, WebSocket,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use support::*;
use wasm_bindgen_futures::spawn_local;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn quick(max_retries: Option<u32>) -> Backoff {
    Backoff::new()
        .base(Duration::from_millis(100))
        .cap(Duration::from_millis(400))
        .max_retries(max_retries)
        .stable_after(Duration::from_secs(60))
}

#[wasm_bindgen_test]
async fn the_stream_keeps_yielding_across_drops_with_delays_in_bounds() {
    let k = key("drop-after");
    let backoff = quick(None);
    let mut ws = WebSocket::builder(&ws_url(&format!("/drop-after/2?key={k}")))
        .reconnect(backoff.clone())
        .connect()
        .unwrap();
    let mut events = ws.events();
    let mut echoed = vec![];
    // Each connection echoes two messages, then drops: six messages need three connections.
    for round in 0..3 {
        within(10_000, "open", ws.opened()).await.unwrap();
        // Before the second send: the drop, which follows its echo, cannot come earlier.
        // (Not when this task sees the close event: that may be some ms after the socket
        // saw it and started the delay.)
        let mut before_drop = 0.0;
        for i in 0..2 {
            let m = Message::Text(format!("r{round} m{i}"));
            before_drop = js_sys::Date::now();
            ws.send(m.clone()).await.unwrap();
            echoed.push(within(5000, "echo", ws.next()).await.unwrap().unwrap());
        }
        // The drop comes; the stream itself never reports it.
        let close = next_event(&mut events, 5000, |e| matches!(e, Event::Close(_))).await;
        assert!(
            matches!(close, Event::Close(ref f) if f.code == 1006),
            "{close:?}"
        );
        let Event::Reconnecting { attempt, delay } = next_event(&mut events, 1000, |e| {
            matches!(e, Event::Reconnecting { .. })
        })
        .await
        else {
            unreachable!()
        };
        assert_eq!(
            attempt,
            round + 1,
            "attempts count up while connections do not last"
        );
        assert!(
            delay <= backoff.ceiling(attempt),
            "delay {delay:?} above the ceiling for attempt {attempt}"
        );
        next_event(&mut events, 5000, |e| matches!(e, Event::Connecting { .. })).await;
        let waited = ms_between(before_drop, js_sys::Date::now());
        // Timers never fire early (allow 2 ms of clock rounding); late is the browser's business.
        assert!(
            waited + Duration::from_millis(2) >= delay,
            "reconnected after {waited:?}, before the delay {delay:?}"
        );
    }
    assert_eq!(echoed.len(), 6);
    let r = report_until(&k, 3000, "three connections", |r| r.connections.len() >= 3).await;
    assert_eq!(r.connections[0].received, vec!["r0 m0", "r0 m1"]);
    assert_eq!(r.connections[2].received, vec!["r2 m0", "r2 m1"]);
}

#[wasm_bindgen_test]
async fn three_rejected_handshakes_then_success() {
    let k = key("reject");
    let mut ws = WebSocket::builder(&ws_url(&format!("/reject/3/{k}")))
        .reconnect(quick(None))
        .connect()
        .unwrap();
    let mut events = ws.events();
    within(20_000, "open after three rejections", ws.opened())
        .await
        .unwrap();
    ws.send(Message::Text("finally".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Text("finally".into())
    );
    let r = report(&k).await;
    assert_eq!(r.attempts, 4);
    let mut closes = 0;
    while let Some(Some(e)) = futures::FutureExt::now_or_never(events.next()) {
        closes += matches!(e, Event::Close(_)) as u32;
    }
    assert_eq!(closes, 3, "each failed handshake shows as a close event");
}

#[wasm_bindgen_test]
async fn retries_exhausted_end_the_stream() {
    let k = key("exhaust");
    let mut ws = WebSocket::builder(&ws_url(&format!("/reject/3/{k}")))
        .reconnect(quick(Some(2)))
        .connect()
        .unwrap();
    let item = within(20_000, "exhaustion", ws.next())
        .await
        .expect("an error item");
    match item {
        Err(Error::ReconnectExhausted { attempts, last }) => {
            assert_eq!(attempts, 2);
            assert_eq!(last.code, 1006);
        }
        other => panic!("expected ReconnectExhausted, got {other:?}"),
    }
    assert!(ws.next().await.is_none());
    assert_eq!(ws.state(), State::Closed);
    sleep(600).await;
    assert_eq!(
        report(&k).await.attempts,
        3,
        "the first connection and two retries, no more"
    );
}

#[wasm_bindgen_test]
async fn server_close_1000_is_not_retried() {
    let k = key("close1000");
    let mut ws = WebSocket::builder(&ws_url(&format!("/close/1000/bye?key={k}")))
        .reconnect(quick(None))
        .connect()
        .unwrap();
    let item = within(5000, "close", ws.next()).await.unwrap();
    assert!(
        matches!(item, Err(Error::Closed(ref f)) if f.code == 1000 && f.reason == "bye"),
        "{item:?}"
    );
    assert!(ws.next().await.is_none());
    sleep(800).await;
    assert_eq!(report(&k).await.attempts, 1);
}

#[wasm_bindgen_test]
async fn server_close_1012_is_retried() {
    let k = key("close1012");
    let ws = WebSocket::builder(&ws_url(&format!("/close/1012/restart?key={k}")))
        .reconnect(quick(None))
        .connect()
        .unwrap();
    let mut events = ws.events();
    let close = next_event(&mut events, 5000, |e| matches!(e, Event::Close(_))).await;
    assert!(
        matches!(close, Event::Close(ref f) if f.code == 1012),
        "{close:?}"
    );
    next_event(&mut events, 1000, |e| {
        matches!(e, Event::Reconnecting { attempt: 1, .. })
    })
    .await;
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    assert!(report(&k).await.attempts >= 2);
    ws.close(1000, "").unwrap().await;
}

#[wasm_bindgen_test]
async fn a_custom_policy_decides() {
    let k = key("policy");
    let ws = WebSocket::builder(&ws_url(&format!("/close/4005/again?key={k}")))
        .reconnect(quick(None))
        .reconnect_if(|f| f.code == 4005)
        .connect()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
    ws.close(1000, "").unwrap().await;

    // The default policy leaves application codes alone.
    let mut ws = WebSocket::builder(&ws_url("/close/4005/again"))
        .reconnect(quick(None))
        .connect()
        .unwrap();
    let item = within(5000, "close", ws.next()).await.unwrap();
    assert!(
        matches!(item, Err(Error::Closed(ref f)) if f.code == 4005),
        "{item:?}"
    );
}

/// A socket (`configure`d) whose first connection the server drops at once, once it waits
/// out its first reconnect delay of `delay_ms`.
async fn waiting_to_reconnect(
    k: &str,
    delay_ms: u64,
    configure: impl FnOnce(Builder) -> Builder,
) -> WebSocket {
    let builder = WebSocket::builder(&ws_url(&format!("/drop-after/0?key={k}")));
    let ws = configure(builder.reconnect(fixed(delay_ms)))
        .connect()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    ws
}

#[wasm_bindgen_test]
async fn reconnect_drops_the_connection_and_connects_again_at_once_with_a_fresh_target() {
    let k = key("asked");
    let k2 = k.clone();
    // No automatic reconnection: reconnect() is the application's own request.
    let mut ws = WebSocket::builder("unused")
        .target_fn(move |attempt| {
            Ok(Target {
                url: ws_url(&format!("/echo?key={k2}&token=t{attempt}")),
                protocols: vec![],
            })
        })
        .no_reconnect()
        .connect()
        .unwrap();
    ws.send(Message::Text("one".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Text("one".into())
    );
    let mut events = ws.events();
    ws.reconnect(4000, "new token").unwrap();
    // Queued: it goes out on the new connection (the flush waits for it to leave).
    within(
        5000,
        "send on the new connection",
        ws.send(Message::Text("two".into())),
    )
    .await
    .unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Text("two".into())
    );
    let mut seen = vec![];
    while seen.last()
        != Some(&Event::Open {
            protocol: String::new(),
        })
    {
        seen.push(next_event(&mut events, 5000, |_| true).await);
    }
    assert_eq!(
        seen,
        vec![
            Event::Close(CloseFrame {
                code: 4000,
                reason: "new token".into(),
                was_clean: true
            }),
            Event::Reconnecting {
                attempt: 1,
                delay: Duration::ZERO
            },
            Event::Connecting { attempt: 1 },
            Event::Open {
                protocol: String::new()
            },
        ]
    );
    assert!(ws.url().ends_with("&token=t1"), "{}", ws.url());
    let r = report(&k).await;
    assert_eq!(r.attempts, 2);
    let received: Vec<_> = r.connections.iter().map(|c| c.received.clone()).collect();
    assert_eq!(
        received,
        vec![vec!["one".to_owned()], vec!["two".to_owned()]]
    );
    assert_eq!(
        r.connections[0].close,
        Some((4000, "new token".into(), "client".into()))
    );

    // A bad code changes nothing; closed for good, there is nothing to reconnect.
    assert_eq!(ws.reconnect(1001, ""), Err(Error::InvalidCloseCode(1001)));
    assert_eq!(ws.state(), State::Open);
    within(5000, "close", ws.close(1000, "").unwrap()).await;
    assert_eq!(ws.reconnect(1000, ""), Err(Error::SocketClosed));
}

#[wasm_bindgen_test]
async fn reconnect_during_the_backoff_delay_starts_the_attempt_now() {
    let k = key("asked-now");
    let ws = waiting_to_reconnect(&k, 20_000, |b| b).await;
    let mut events = ws.events();
    ws.reconnect(1000, "").unwrap();
    next_event(&mut events, 1000, |e| {
        *e == Event::Connecting { attempt: 1 }
    })
    .await;
    // The second attempt reached the server long before the 20 s delay.
    report_until(&k, 3000, "the second attempt", |r| r.attempts == 2).await;
    within(5000, "close", ws.close(1000, "").unwrap()).await;
}

#[wasm_bindgen_test]
async fn close_during_the_backoff_delay_stops_all_attempts() {
    let k = key("close-backoff");
    let ws = waiting_to_reconnect(&k, 1500, |b| b).await;
    assert!(matches!(ws.state(), State::Reconnecting { attempt: 1, .. }));
    let left = ws.next_attempt_in().expect("a time for the next attempt");
    assert!(
        (Duration::from_millis(1000)..=Duration::from_millis(1500)).contains(&left),
        "{left:?}"
    );
    let outcome = within(1000, "close", ws.close(1000, "").unwrap()).await;
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(
        outcome.frame.map(|f| f.code),
        Some(1006),
        "the last connection's own close"
    );
    sleep(2500).await;
    assert_eq!(report(&k).await.attempts, 1, "no attempt after close()");
}

#[wasm_bindgen_test]
async fn close_during_the_backoff_delay_ends_every_wait() {
    let ws = waiting_to_reconnect(&key("close-backoff-waits"), 3000, |b| b.queue_capacity(1)).await;
    let (mut tx, mut rx) = ws.split();
    tx.feed(Message::Text("queued".into())).await.unwrap();
    // Tasks parked before the close, each on its own (a task of their own, so nothing
    // but the socket wakes them): a reader, one awaiting the open, and a sender held back
    // by the full queue. close() queues no browser work during the delay; each must still
    // learn the end, long before the next attempt would have come.
    let ended: Rc<RefCell<Vec<&str>>> = Rc::default();
    let done = ended.clone();
    spawn_local(async move {
        assert!(
            rx.next().await.is_none(),
            "an asked-for close ends the stream"
        );
        done.borrow_mut().push("reader");
    });
    let (done, opened) = (ended.clone(), tx.opened());
    spawn_local(async move {
        assert_eq!(opened.await, Err(Error::SocketClosed));
        done.borrow_mut().push("opened");
    });
    let (done, mut blocked) = (ended.clone(), tx.clone());
    spawn_local(async move {
        let sent = blocked.send(Message::Text("held back".into())).await;
        assert_eq!(sent, Err(Error::SocketClosed));
        done.borrow_mut().push("sender");
    });
    sleep(100).await;
    assert!(
        ended.borrow().is_empty(),
        "all three wait: {:?}",
        ended.borrow()
    );
    let outcome = within(1000, "close", tx.close(1000, "").unwrap()).await;
    assert_eq!(outcome.unsent, vec![Message::Text("queued".into())]);
    wait_for(1000, "every wait to end", || ended.borrow().len() == 3).await;
}

#[wasm_bindgen_test]
async fn a_flush_with_nothing_queued_does_not_wait_for_a_connection() {
    // The handshake never completes: nothing was accepted, so nothing is left to leave.
    let mut ws = WebSocket::builder(&ws_url(&format!("/hang?key={}", key("flush-hang"))))
        .connect_timeout(None)
        .connect()
        .unwrap();
    assert_eq!(ws.state(), State::Connecting);
    within(500, "flush", ws.flush()).await.unwrap();
    ws.feed(Message::Text("queued".into())).await.unwrap();
    assert!(
        futures::poll!(ws.flush()).is_pending(),
        "a queued message waits for the connection"
    );
}

#[wasm_bindgen_test]
async fn a_hanging_handshake_times_out_and_counts_as_a_failed_attempt() {
    let k = key("hang");
    let ws = WebSocket::builder(&ws_url(&format!("/hang?key={k}")))
        .connect_timeout(Some(Duration::from_millis(500)))
        .reconnect(quick(Some(1)))
        .connect()
        .unwrap();
    let mut events = ws.events();
    let started = js_sys::Date::now();
    next_event(&mut events, 3000, |e| *e == Event::ConnectTimeout).await;
    let took = js_sys::Date::now() - started;
    assert!((450.0..2500.0).contains(&took), "timed out after {took} ms");
    next_event(&mut events, 1000, |e| {
        matches!(e, Event::Reconnecting { attempt: 1, .. })
    })
    .await;
    let mut ws = ws;
    let item = within(5000, "exhaustion", ws.next()).await.unwrap();
    assert!(
        matches!(item, Err(Error::ReconnectExhausted { attempts: 1, .. })),
        "{item:?}"
    );
    assert_eq!(report(&k).await.attempts, 2);
}

/// Every socket's deadlines go to one browser timer shared by the thread: a deadline set
/// after a later one still fires on time, and a socket dropped before its deadline takes
/// nothing of the others' with it.
#[wasm_bindgen_test]
async fn sockets_sharing_the_timer_each_time_out_at_their_own_deadline() {
    let hang = |ms: u64| {
        WebSocket::builder(&ws_url(&format!("/hang?key={}", key("shared-timer"))))
            .connect_timeout(Some(Duration::from_millis(ms)))
            .connect()
            .unwrap()
    };
    let started = js_sys::Date::now();
    let slow = hang(4000);
    let mut slow_events = slow.events();
    // Brings the shared timeout forward to 200 ms, then is gone before it fires.
    drop(hang(200));
    let quick = hang(700);
    let mut quick_events = quick.events();
    next_event(&mut quick_events, 3000, |e| *e == Event::ConnectTimeout).await;
    let took = js_sys::Date::now() - started;
    assert!(
        (650.0..3000.0).contains(&took),
        "the 700 ms timeout came after {took} ms"
    );
    assert_eq!(
        slow.state(),
        State::Connecting,
        "the 4 s timeout fired with the 700 ms one"
    );
    next_event(&mut slow_events, 6000, |e| *e == Event::ConnectTimeout).await;
    let took = js_sys::Date::now() - started;
    assert!(took >= 3900.0, "the 4 s timeout came after {took} ms");
}

#[wasm_bindgen_test]
async fn each_attempt_gets_a_fresh_target() {
    let k = key("target-fn");
    let k2 = k.clone();
    let mut ws = WebSocket::builder("unused")
        .target_fn(move |attempt| {
            let path = if attempt < 2 {
                "/drop-after/0".to_owned()
            } else {
                "/echo".to_owned()
            };
            let query = format!("{path}?key={k2}&token=t{attempt}");
            Ok(Target {
                // The second attempt through an http URL, resolved here; the others as
                // ws URLs the browser serialises: url() follows whichever came last.
                url: match attempt {
                    1 => http_url(&query),
                    _ => ws_url(&query),
                },
                protocols: vec!["v1.resocket".into()],
            })
        })
        .reconnect(quick(None))
        .connect()
        .unwrap();
    let mut events = ws.events();
    // Attempts 0 and 1 open and drop at once; attempt 2 reaches the echo.
    next_event(&mut events, 10_000, |e| {
        *e == Event::Connecting { attempt: 2 }
    })
    .await;
    within(5000, "open on the third attempt", ws.opened())
        .await
        .unwrap();
    assert!(ws.url().ends_with("&token=t2"), "{}", ws.url());
    assert_eq!(ws.protocol(), "v1.resocket");
    ws.send(Message::Text("hi".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Text("hi".into())
    );
    assert_eq!(report(&k).await.attempts, 3);
}

#[wasm_bindgen_test]
async fn a_failing_target_fn_ends_the_socket_with_its_error() {
    let mut ws = WebSocket::builder("unused")
        .target_fn(|attempt| match attempt {
            0 => Ok(Target {
                url: ws_url("/drop-after/0"),
                protocols: vec![],
            }),
            _ => Err(Error::InvalidConfig("no token".into())),
        })
        .reconnect(quick(None))
        .connect()
        .unwrap();
    let item = within(5000, "the provider's error", ws.next())
        .await
        .unwrap();
    assert_eq!(item, Err(Error::InvalidConfig("no token".into())));
    assert!(ws.next().await.is_none());
}

#[wasm_bindgen_test]
async fn a_target_fn_failing_at_once_is_connects_error() {
    // The first target is asked for inside connect(): its error, and a bad first URL or
    // subprotocol, come back from connect() itself, with nothing left running.
    let err = WebSocket::builder("unused")
        .target_fn(|_| Err(Error::InvalidConfig("no token yet".into())))
        .connect()
        .expect_err("the provider failed");
    assert_eq!(err, Error::InvalidConfig("no token yet".into()));
    let err = WebSocket::builder("unused")
        .target_fn(|_| {
            Ok(Target {
                url: "ws://exa mple.com:99999/".into(),
                protocols: vec!["a b".into()],
            })
        })
        .connect()
        .expect_err("bad URL and subprotocol");
    assert!(
        matches!(err, Error::InvalidUrl(_)),
        "the URL is named first: {err:?}"
    );
}

#[wasm_bindgen_test]
async fn sockets_of_one_page_draw_their_own_jitter() {
    // Full jitter over 10 s: each socket draws its first reconnection delay from its own
    // random source. Sources that followed one another (or one seed for all) would give
    // every socket the same delay, and a page's sockets would retry in lockstep.
    let backoff = Backoff::new()
        .base(Duration::from_secs(10))
        .cap(Duration::from_secs(10))
        .jitter(Jitter::Full);
    let mut delays = Vec::new();
    for _ in 0..4 {
        let ws = WebSocket::builder("ws://127.0.0.1:9/")
            .reconnect(backoff.clone())
            .connect()
            .unwrap();
        let mut events = ws.events();
        let event = next_event(&mut events, 10_000, |e| {
            matches!(e, Event::Reconnecting { .. })
        })
        .await;
        let Event::Reconnecting { attempt: 1, delay } = event else {
            panic!("{event:?}");
        };
        assert!(delay <= Duration::from_secs(10), "{delay:?}");
        delays.push(delay);
        within(1000, "close", ws.close(1000, "").unwrap()).await;
    }
    delays.sort();
    delays.dedup();
    assert_eq!(delays.len(), 4, "four sockets, four delays: {delays:?}");
}
