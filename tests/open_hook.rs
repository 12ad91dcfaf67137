//! The open hook (`Builder::on_open`) against the test server: what it sends first leads
//! every connection, and after an abnormal close the messages the browser never transmitted
//! follow it, in order, minus those it removed.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{Sink, SinkExt, StreamExt};
use resocket::{Backoff, Event, Message, Opening, Target, WebSocket};
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn quick() -> Backoff {
    Backoff::new()
        .base(Duration::from_millis(50))
        .cap(Duration::from_millis(200))
        .stable_after(Duration::from_secs(600))
}

/// Sends `hello {attempt}` and `second` first.
fn greet(o: &mut Opening<'_>) {
    o.send_first(Message::Text(format!("hello {}", o.attempt())));
    o.send_first(Message::Text("second".into()));
}

#[wasm_bindgen_test]
async fn every_connection_starts_with_what_the_hook_sends_first() {
    let k = key("open-hook-echo");
    // Each connection echoes four messages (the hook's two among them), then drops.
    let mut ws = WebSocket::builder(&ws_url(&format!("/drop-after/4?key={k}")))
        .reconnect(quick())
        .on_open(greet)
        .connect()
        .unwrap();
    let mut events = ws.events();
    // Queued before the first open: they still go after the hook's messages.
    ws.feed(Message::Text("a".into())).await.unwrap();
    ws.feed(Message::Text("b".into())).await.unwrap();
    let mut echoed = vec![];
    for _ in 0..4 {
        match within(10_000, "an echo", ws.next()).await {
            Some(Ok(Message::Text(t))) => echoed.push(t),
            other => panic!("expected an echo, got {other:?}"),
        }
    }
    assert_eq!(echoed, ["hello 0", "second", "a", "b"]);
    // The drop comes; the next connection starts with the hook's messages again, then
    // what was sent meanwhile.
    next_event(&mut events, 10_000, |e| {
        matches!(e, Event::Reconnecting { .. })
    })
    .await;
    ws.send(Message::Text("c".into())).await.unwrap();
    let r = report_until(&k, 20_000, "a second connection's first messages", |r| {
        r.connections.get(1).is_some_and(|c| c.received.len() >= 3)
    })
    .await;
    assert_eq!(r.connections[1].received, ["hello 1", "second", "c"]);
    ws.close(1000, "").unwrap().await;
}

const SIZE: usize = 16 * 1024;
/// The stalling server reads this many messages (the hook's two among them), then stops.
const READ_BEFORE_STALL: usize = 20;
/// Drop once the browser holds this many untransmitted bytes.
const BACKLOG: usize = 512 * 1024;

fn numbered(i: u64) -> Message {
    let mut bytes = vec![0xCD; SIZE];
    bytes[..8].copy_from_slice(&i.to_be_bytes());
    Message::Binary(bytes)
}

fn number_of(message: &Message) -> Option<u64> {
    match message {
        Message::Binary(b) if b.len() >= 8 => b[..8].try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// Every fourth message stands for one bound to the old connection's session.
fn session_bound(n: u64) -> bool {
    n % 4 == 3
}

/// The server records a binary message as `bin:LEN:` and its first 8 bytes in hex.
fn number(record: &str) -> u64 {
    let hex = record.rsplit(':').next().unwrap_or_default();
    u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("not a numbered message: {record}"))
}

#[wasm_bindgen_test]
async fn after_an_abnormal_close_the_hooks_messages_go_before_the_requeued_ones() {
    let k = key("open-hook-requeue");
    let kp = k.clone();
    let removed = Rc::new(RefCell::new(vec![]));
    let hook_removed = removed.clone();
    let ws = WebSocket::builder("unused")
        .target_fn(move |attempt| {
            let path = if attempt == 0 {
                format!("/stall-after/{READ_BEFORE_STALL}")
            } else {
                "/silent".into()
            };
            Ok(Target {
                url: ws_url(&format!("{path}?key={kp}")),
                protocols: vec![],
            })
        })
        .reconnect(quick())
        .high_water_mark(2 << 20)
        .low_water_mark(1 << 20)
        .queue_capacity(100_000)
        .on_open(move |o| {
            greet(o);
            let gone = o.retain(|m| !number_of(m).is_some_and(session_bound));
            hook_removed
                .borrow_mut()
                .extend(gone.iter().filter_map(number_of));
        })
        .connect()
        .unwrap();
    let mut events = ws.events();
    let (mut tx, _rx) = ws.split();
    within(10_000, "open", tx.opened()).await.unwrap();
    let mut next = 0u64;
    // The kernel's and the browser's network buffers take a few MB before anything stays
    // in bufferedAmount; send until a backlog stays put.
    loop {
        while tx.buffered_amount() < BACKLOG {
            assert!(next < 10_000, "sent 160 MB without building a backlog");
            within(10_000, "accepting", tx.feed(numbered(next)))
                .await
                .unwrap();
            next += 1;
            if next % 16 == 0 {
                sleep(1).await;
            }
        }
        sleep(300).await;
        if tx.buffered_amount() >= BACKLOG {
            break;
        }
    }
    report_until(&k, 10_000, "the reads before the stall", |r| {
        r.connections
            .first()
            .is_some_and(|c| c.received.len() == READ_BEFORE_STALL)
    })
    .await;
    let _ = get_json(&format!("/api/drop/{k}")).await;
    let requeued = match next_event(&mut events, 5000, |e| {
        matches!(e, Event::Requeued { .. } | Event::Close(_))
    })
    .await
    {
        Event::Requeued { count } => count as u64,
        other => panic!("a backlog was buffered, yet nothing was re-queued ({other:?})"),
    };
    next_event(&mut events, 10_000, |e| matches!(e, Event::Open { .. })).await;
    let discarded = match next_event(&mut events, 1000, |_| true).await {
        Event::Discarded { count } => count,
        other => panic!("expected Discarded right after Open, got {other:?}"),
    };
    within(30_000, "flush", tx.flush()).await.unwrap();

    let first_untransmitted = next - requeued;
    let expected: Vec<u64> = (first_untransmitted..next)
        .filter(|n| !session_bound(*n))
        .collect();
    let removed_expected: Vec<u64> = (first_untransmitted..next)
        .filter(|n| session_bound(*n))
        .collect();
    assert_eq!(*removed.borrow(), removed_expected, "handed to the hook");
    assert_eq!(discarded, removed_expected.len());
    let r = report_until(&k, 30_000, "everything on the second connection", |r| {
        r.connections
            .get(1)
            .is_some_and(|c| c.received.len() == 2 + expected.len())
    })
    .await;
    let first = &r.connections[0].received;
    assert_eq!(first[..2], ["hello 0", "second"]);
    let first_numbers: Vec<u64> = first[2..].iter().map(|m| number(m)).collect();
    assert_eq!(
        first_numbers,
        (0..(READ_BEFORE_STALL - 2) as u64).collect::<Vec<_>>()
    );
    let second = &r.connections[1].received;
    assert_eq!(
        second[..2],
        ["hello 1", "second"],
        "the hook's messages lead the connection"
    );
    let got: Vec<u64> = second[2..].iter().map(|m| number(m)).collect();
    assert_eq!(
        got, expected,
        "then the re-queued messages in order, minus the removed ones"
    );
    console_log!(
        "open hook: {next} sent, {requeued} re-queued from #{first_untransmitted}, {discarded} removed by the hook"
    );
}

/// Counts its wakes.
#[derive(Default)]
struct Woken(AtomicUsize);

impl futures::task::ArcWake for Woken {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[wasm_bindgen_test]
async fn a_handle_called_from_inside_a_callback_answers_instead_of_panicking() {
    let slot: Rc<RefCell<Option<resocket::Sender>>> = Rc::default();
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let (hook_slot, hook_seen) = (slot.clone(), seen.clone());
    let ws = WebSocket::builder(&ws_url("/echo"))
        .on_open(move |_| {
            if let Some(sender) = hook_slot.borrow_mut().as_mut() {
                // The socket's state is busy during its own callback: a snapshot and an
                // error instead of a panic that would abort the whole app.
                let closing = resocket::Sender::close(sender, 1000, "").map(|_| ());
                // A poll cannot be answered either: it is pending, and its waker is woken
                // so that it is asked again (a pending poll with no wake to come would
                // leave its task asleep for ever).
                let woken = Arc::new(Woken::default());
                let waker = futures::task::waker(woken.clone());
                let flush = Pin::new(&mut *sender).poll_flush(&mut Context::from_waker(&waker));
                hook_seen.borrow_mut().push(format!(
                    "{:?} {:?} {:?} woken {}",
                    sender.state(),
                    closing,
                    flush,
                    woken.0.load(Ordering::Relaxed)
                ));
            }
        })
        .connect()
        .unwrap();
    let (tx, _rx) = ws.split();
    *slot.borrow_mut() = Some(tx.clone());
    within(5000, "open", tx.opened()).await.unwrap();
    assert_eq!(
        seen.borrow().as_slice(),
        [
            "Connecting Err(InvalidState(\"called from inside one of this socket's own callbacks\")) Pending woken 1"
        ]
    );
    assert_eq!(tx.state(), resocket::State::Open, "the socket went on");
    slot.borrow_mut().take();
}

#[wasm_bindgen_test]
async fn the_hook_is_let_go_once_the_socket_is_closed_for_good() {
    // What the hook holds (here a token; in an app perhaps a handle of the socket itself)
    // is released when the socket ends, though the socket's handle is still kept.
    let token = Rc::new(());
    let held = token.clone();
    let ws = WebSocket::builder(&ws_url("/echo"))
        .reconnect(quick())
        .on_open(move |_| {
            let _ = &held;
        })
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    assert_eq!(Rc::strong_count(&token), 2, "needed for every reconnection");
    within(5000, "closed", ws.close(1000, "").unwrap()).await;
    assert_eq!(Rc::strong_count(&token), 1, "closed for good: let go");
    drop(ws);
}
