//! Nothing untransmitted is lost: the server reads some messages, stalls until the browser
//! holds a backlog, then drops the TCP connection; resocket re-queues exactly what the
//! browser never transmitted, and the next connection starts with it.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::SinkExt;
use resocket::{Backoff, Event, Message, State, Target, WebSocket};
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const N: u64 = 10_000;
const SIZE: usize = 4096;
const DROPS: u32 = 3;
/// The stalling server reads this many messages per connection, then stops reading.
const READ_BEFORE_STALL: usize = 200;
/// Drop once the browser holds this many untransmitted bytes.
const BACKLOG: usize = 512 * 1024;

fn numbered(i: u64) -> Message {
    let mut bytes = vec![0xAB; SIZE];
    bytes[..8].copy_from_slice(&i.to_be_bytes());
    Message::Binary(bytes)
}

/// The server records a binary message as `bin:LEN:` and its first 8 bytes in hex.
fn number(record: &str) -> u64 {
    let hex = record.rsplit(':').next().unwrap_or_default();
    u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("not a numbered message: {record}"))
}

#[wasm_bindgen_test]
async fn only_what_left_the_browser_can_be_lost_and_the_rest_arrives_once_in_order() {
    let k = key("nothing-lost");
    let kp = k.clone();
    let ws = WebSocket::builder("unused")
        .target_fn(move |attempt| {
            let path = if attempt < DROPS {
                format!("/stall-after/{READ_BEFORE_STALL}")
            } else {
                "/silent".into()
            };
            Ok(Target {
                url: ws_url(&format!("{path}?key={kp}")),
                protocols: vec![],
            })
        })
        .reconnect(
            Backoff::new()
                .base(Duration::from_millis(50))
                .cap(Duration::from_millis(100))
                .stable_after(Duration::from_secs(600)),
        )
        .high_water_mark(2 << 20)
        .low_water_mark(1 << 20)
        .queue_capacity(N as usize)
        .connect()
        .unwrap();
    let mut events = ws.events();
    let (mut tx, _rx) = ws.split();
    let mut next = 0u64;
    // (sent before the drop, re-queued, first untransmitted)
    let mut drops = vec![];
    for d in 0..DROPS {
        within(10_000, "open", tx.opened()).await.unwrap();
        next_event(&mut events, 5000, |e| matches!(e, Event::Open { .. })).await;
        // The kernel's and the browser's network buffers take a few MB before anything
        // stays in bufferedAmount; wait until a backlog stays put.
        loop {
            while tx.buffered_amount() < BACKLOG {
                assert!(next < N, "sent everything without building a backlog");
                within(10_000, "accepting", tx.feed(numbered(next)))
                    .await
                    .unwrap();
                next += 1;
                if next % 64 == 0 {
                    sleep(1).await;
                }
            }
            sleep(300).await;
            if tx.buffered_amount() >= BACKLOG {
                break;
            }
        }
        assert_eq!(tx.state(), State::Open);
        report_until(&k, 10_000, "the reads before the stall", |r| {
            r.connections
                .get(d as usize)
                .is_some_and(|c| c.received.len() == READ_BEFORE_STALL)
        })
        .await;
        let buffered = tx.buffered_amount();
        let _ = get_json(&format!("/api/drop/{k}")).await;
        let requeued = match next_event(&mut events, 5000, |e| {
            matches!(e, Event::Requeued { .. } | Event::Close(_))
        })
        .await
        {
            Event::Requeued { count } => count as u64,
            other => panic!(
                "drop {d}: {buffered} bytes were buffered, yet nothing was re-queued ({other:?})"
            ),
        };
        drops.push((next, requeued, next - requeued));
    }
    // The last connection reads everything: send the rest and let it all leave.
    within(10_000, "open", tx.opened()).await.unwrap();
    while next < N {
        within(10_000, "accepting", tx.feed(numbered(next)))
            .await
            .unwrap();
        next += 1;
    }
    within(30_000, "flush", tx.flush()).await.unwrap();
    let r = report_until(&k, 30_000, "every message on the last connection", |r| {
        r.connections.len() as u32 == DROPS + 1
            && r.connections[DROPS as usize]
                .received
                .last()
                .map(|m| number(m))
                == Some(N - 1)
    })
    .await;

    let mut lost_in_flight = 0;
    let mut resent = 0;
    let mut start = 0;
    for (c, conn) in r.connections.iter().enumerate() {
        let got: Vec<u64> = conn.received.iter().map(|m| number(m)).collect();
        let expected_start = start;
        assert_eq!(
            got.first().copied(),
            Some(expected_start),
            "connection {c} starts where the previous one's untransmitted part began"
        );
        assert!(
            got.windows(2).all(|w| w[1] == w[0] + 1),
            "connection {c}: every message once, in order"
        );
        if let Some(&(sent, requeued, first_untransmitted)) = drops.get(c) {
            assert_eq!(got.len(), READ_BEFORE_STALL);
            let last_read = got[got.len() - 1];
            lost_in_flight += first_untransmitted - (last_read + 1);
            resent += requeued;
            console_log!(
                "drop {c}: sent {sent}, server read up to {last_read}, lost in flight {}, re-queued {requeued} (from {first_untransmitted})",
                first_untransmitted - (last_read + 1)
            );
            start = first_untransmitted;
        } else {
            assert_eq!(*got.last().unwrap(), N - 1);
        }
    }
    console_log!(
        "nothing lost: {N} messages of {SIZE} B, {DROPS} drops: {lost_in_flight} transmitted but lost in flight, {resent} re-sent, 0 duplicated"
    );
    assert!(resent > 0);
}
