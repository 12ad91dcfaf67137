//! The inbound limit: a server that sends faster than the app reads (`/flood/{n}/{size}`)
//! must not fill memory, and whatever is not kept is reported, never dropped silently.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{codes, Error, InboundOverflow, Message, WebSocket};
use std::cell::RefCell;
use std::rc::Rc;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SIZE: usize = 16 * 1024;
const LIMIT: usize = 256 * 1024;

/// The flood's message number (its first 4 bytes, big-endian) after checking its size.
fn index(m: &Message) -> u32 {
    match m {
        Message::Binary(b) if b.len() == SIZE => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        other => panic!(
            "expected a {SIZE}-byte flood message, got {} bytes",
            other.len()
        ),
    }
}

/// Reads the flood's messages, checking they come in order from the first, until
/// something else comes; returns how many, and that something.
async fn read_in_order(ws: &mut WebSocket) -> (u32, Option<Result<Message, Error>>) {
    within(5000, "the kept messages and what follows", async {
        let mut kept = 0u32;
        loop {
            match ws.next().await {
                Some(Ok(m)) => {
                    assert_eq!(
                        index(&m),
                        kept,
                        "kept messages come in order, from the first"
                    );
                    kept += 1;
                }
                other => return (kept, other),
            }
        }
    })
    .await
}

/// Waits until the server has sent everything (`n` messages + `done`) while nobody reads.
async fn let_the_flood_arrive(key: &str) {
    report_until(key, 10_000, "the connection", |r| !r.connections.is_empty()).await;
    sleep(1500).await;
}

#[wasm_bindgen_test]
async fn drop_newest_keeps_the_first_messages_then_reports_the_gap() {
    let n = 200u32;
    let key = key("inbound-drop");
    let mut ws = WebSocket::builder(&ws_url(&format!("/flood/{n}/{SIZE}?key={key}")))
        .inbound_limit(LIMIT, InboundOverflow::DropNewest)
        .connect()
        .unwrap();
    let_the_flood_arrive(&key).await;
    let (kept, dropped) = match read_in_order(&mut ws).await {
        (kept, Some(Err(Error::InboundDropped { count }))) => (kept, count),
        (_, other) => panic!("expected messages then InboundDropped, got {other:?}"),
    };
    console_log!("inbound limit {LIMIT} B: kept {kept} × {SIZE} B, dropped {dropped}");
    assert_eq!(
        kept as usize,
        LIMIT / SIZE,
        "kept exactly what fits the limit"
    );
    // Everything after them was dropped, `done` included, and counted.
    assert_eq!(dropped, (n - kept) as usize + 1);
    // The connection goes on, and with room again messages are kept.
    ws.send(Message::Text("still here".into())).await.unwrap();
    let echo = within(5000, "the echo", ws.next()).await;
    assert_eq!(echo, Some(Ok(Message::Text("still here".into()))));
    assert_eq!(ws.state(), resocket::State::Open);
}

#[wasm_bindgen_test]
async fn close_mode_ends_the_connection_after_the_kept_messages() {
    let n = 200u32;
    let key = key("inbound-close");
    let mut ws = WebSocket::builder(&ws_url(&format!("/flood/{n}/{SIZE}?key={key}")))
        .inbound_limit(LIMIT, InboundOverflow::Close)
        .connect()
        .unwrap();
    let_the_flood_arrive(&key).await;
    let (kept, end) = read_in_order(&mut ws).await;
    assert_eq!(kept as usize, LIMIT / SIZE);
    match end {
        Some(Err(Error::Closed(frame))) => {
            assert_eq!(frame.code, codes::INBOUND_LIMIT);
            assert!(
                frame.was_clean,
                "a closing handshake, not an abandoned socket"
            );
        }
        other => panic!("expected Err(Closed(4001)), got {other:?}"),
    }
    assert_eq!(ws.next().await, None, "the stream ends after the error");
    // The server saw the client close with the inbound-limit code.
    let r = report_until(&key, 5000, "the close", |r| {
        r.connections.iter().any(|c| c.close.is_some())
    })
    .await;
    let (code, _, by) = r.connections[0].close.clone().unwrap();
    assert_eq!((code, by.as_str()), (codes::INBOUND_LIMIT, "client"));
    assert_eq!(
        r.attempts, 1,
        "the default policy does not reconnect after it"
    );
}

#[wasm_bindgen_test]
async fn a_limit_bounds_memory_while_nobody_reads() {
    // 32 MiB in 64 KiB messages against a 1 MiB limit: without a limit all of it would
    // sit in wasm memory.
    let (n, size, limit) = (512u32, 64 * 1024, 1024 * 1024);
    let key = key("inbound-memory");
    let before = wasm_memory();
    let mut ws = WebSocket::builder(&ws_url(&format!("/flood/{n}/{size}?key={key}")))
        .inbound_limit(limit, InboundOverflow::DropNewest)
        .connect()
        .unwrap();
    report_until(&key, 10_000, "the connection", |r| {
        !r.connections.is_empty()
    })
    .await;
    sleep(3000).await;
    let growth = wasm_memory() - before;
    console_log!("flood of {n} × {size} B with a {limit} B limit: wasm memory grew {growth} B");
    let mut kept = 0usize;
    let mut dropped = 0usize;
    within(5000, "the flood's end", async {
        while kept + dropped < n as usize + 1 {
            match ws.next().await {
                Some(Ok(_)) => kept += 1,
                Some(Err(Error::InboundDropped { count })) => dropped += count,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(kept, limit / size);
    assert!(
        growth < 4.0 * limit as f64,
        "wasm memory grew {growth} B with a {limit} B limit"
    );
    ws.close(1000, "").unwrap().await;
}

#[wasm_bindgen_test]
async fn a_reader_that_keeps_up_loses_nothing_even_above_the_limit() {
    // Messages larger than the limit get through when nothing else waits. Each message
    // event is a task of its own and the reader runs in the microtasks after it, so a
    // reader that is always waiting never lets two messages wait at once.
    let (n, size) = (20u32, 64 * 1024);
    let mut ws = WebSocket::builder(&ws_url(&format!("/flood/{n}/{size}")))
        .inbound_limit(1024, InboundOverflow::Close)
        .connect()
        .unwrap();
    let mut got = 0u32;
    within(10_000, "every message", async {
        while got < n {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => {
                    assert_eq!(u32::from_be_bytes([b[0], b[1], b[2], b[3]]), got);
                    got += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
}

#[wasm_bindgen_test]
async fn close_mode_lets_what_the_browser_holds_go_out_and_hands_back_only_the_rest() {
    // The flood server reads nothing until it has sent the flood: what we send meanwhile
    // waits in the kernel's and the browser's buffers (and in bufferedAmount beyond a few
    // MB) when the limit closes the connection. A closing handshake still transmits it, so
    // the server must get each message once, and nothing it got may be handed back unsent.
    const N: u64 = 1536;
    let key = key("inbound-close-sending");
    let mut ws = WebSocket::builder(&ws_url(&format!("/flood/200/{SIZE}?key={key}")))
        .inbound_limit(LIMIT, InboundOverflow::Close)
        .high_water_mark(16 << 20)
        .queue_capacity(N as usize)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    for i in 0..N {
        let mut bytes = vec![0xCD; 4096];
        bytes[..8].copy_from_slice(&i.to_be_bytes());
        ws.feed(Message::Binary(bytes)).await.unwrap();
    }
    let held = ws.buffered_amount();
    // Nobody reads while the flood comes: the limit closes the connection.
    let_the_flood_arrive(&key).await;
    let (_, end) = read_in_order(&mut ws).await;
    assert!(
        matches!(&end, Some(Err(Error::Closed(f))) if f.code == codes::INBOUND_LIMIT),
        "{end:?}"
    );
    let unsent: Vec<u64> = ws
        .take_unsent()
        .iter()
        .map(|m| u64::from_be_bytes(m.as_bytes()[..8].try_into().unwrap()))
        .collect();
    let r = report_until(&key, 10_000, "the close", |r| {
        r.connections.iter().any(|c| c.close.is_some())
    })
    .await;
    let received: Vec<u64> = r.connections[0]
        .received
        .iter()
        .filter_map(|m| m.strip_prefix("bin:4096:"))
        .map(|hex| u64::from_str_radix(hex, 16).unwrap())
        .collect();
    console_log!(
        "held {held} B in bufferedAmount after sending; server got {}, handed back {}",
        received.len(),
        unsent.len()
    );
    let mut all: Vec<u64> = received.iter().chain(&unsent).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>(), "each message exactly once");
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "the server got them in order"
    );
}

#[wasm_bindgen_test]
async fn heartbeat_pongs_never_count_against_the_limit() {
    // Pings every 50 ms, answered by the echo server; a 1-byte limit nobody reads for a
    // while. Pongs are swallowed on arrival: none is kept, so none makes the limit drop.
    let mut ws = WebSocket::builder(&ws_url("/echo"))
        .heartbeat(
            resocket::Heartbeat::new(
                std::time::Duration::from_millis(50),
                std::time::Duration::from_secs(2),
            )
            .ping("p")
            .pong("p"),
        )
        .inbound_limit(1, InboundOverflow::DropNewest)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    sleep(500).await;
    ws.send(Message::Text("hello".into())).await.unwrap();
    let first = within(5000, "the echo", ws.next()).await;
    assert_eq!(first, Some(Ok(Message::Text("hello".into()))));
}

#[wasm_bindgen_test]
async fn a_receiver_dropped_inside_a_callback_stops_keeping_messages() {
    // The app drops its Receiver from inside the open hook, where the socket is busy: what
    // arrives after must not pile up for nobody. Were it kept, the second echo would pass
    // this small limit and close the connection.
    let slot: Rc<RefCell<Option<resocket::Receiver>>> = Rc::default();
    let hook_slot = slot.clone();
    let ws = WebSocket::builder(&ws_url("/echo"))
        .inbound_limit(100, InboundOverflow::Close)
        .on_open(move |_| drop(hook_slot.borrow_mut().take()))
        .connect()
        .unwrap();
    let mut events = ws.events();
    let (mut tx, rx) = ws.split();
    *slot.borrow_mut() = Some(rx);
    within(5000, "open", tx.opened()).await.unwrap();
    assert!(
        slot.borrow().is_none(),
        "the hook ran and dropped the Receiver"
    );
    for i in 0..10 {
        tx.send(Message::Text(format!("{i:064}"))).await.unwrap();
    }
    sleep(500).await;
    assert_eq!(tx.state(), resocket::State::Open, "still open");
    drop(tx);
    let mut seen = Vec::new();
    while let Some(e) = events.next().await {
        seen.push(e);
    }
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, resocket::Event::Close(f) if f.code == codes::INBOUND_LIMIT)),
        "{seen:?}"
    );
}
