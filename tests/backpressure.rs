//! Backpressure from bufferedAmount against a server that stopped reading, and flush.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::task::noop_waker;
use futures::{Sink, SinkExt, StreamExt};
use resocket::{Message, WebSocket};
use std::pin::Pin;
use std::task::{Context, Poll};
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const HIGH: usize = 256 * 1024;
const LOW: usize = 64 * 1024;
const MSG: usize = 16 * 1024;

/// What [`fill`] saw.
struct Filled {
    sent: usize,
    /// `poll_ready` was pending at least once.
    waited: bool,
    /// ... and still was after a pause: the fill stopped there.
    blocked: bool,
}

/// Offers `MSG`-byte messages of `byte` to `ws` without waiting (noop waker) until
/// `poll_ready` is pending and still is after `pause_ms`, or `limit` were sent; `seen` is
/// called after each one is handed over. Against a stalled server the kernel's buffers fill
/// first, then the browser's.
async fn fill(
    ws: &mut WebSocket,
    byte: u8,
    pause_ms: u32,
    limit: usize,
    mut seen: impl FnMut(&WebSocket),
) -> Filled {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut filled = Filled {
        sent: 0,
        waited: false,
        blocked: false,
    };
    while filled.sent < limit {
        match Pin::new(&mut *ws).poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {
                Pin::new(&mut *ws)
                    .start_send(Message::Binary(vec![byte; MSG]))
                    .unwrap();
                filled.sent += 1;
                seen(ws);
            }
            Poll::Ready(Err(e)) => panic!("{e}"),
            Poll::Pending => {
                filled.waited = true;
                sleep(pause_ms).await;
                if Pin::new(&mut *ws).poll_ready(&mut cx).is_pending() {
                    filled.blocked = true;
                    break;
                }
            }
        }
        if filled.sent % 32 == 0 {
            sleep(0).await;
        }
    }
    filled
}

#[wasm_bindgen_test]
async fn poll_ready_waits_above_the_high_water_mark() {
    let k = key("stall");
    let mut ws = WebSocket::builder(&ws_url(&format!("/stall?key={k}")))
        .high_water_mark(HIGH)
        .low_water_mark(LOW)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let mut max_seen = 0;
    // Send until poll_ready refuses, and still does after 200 ms: the browser must not
    // drain while the server stalls.
    let filled = fill(&mut ws, 1, 200, 2000, |ws| {
        max_seen = max_seen.max(ws.buffered_amount())
    })
    .await;
    assert!(
        filled.waited,
        "poll_ready went Pending after {} messages",
        filled.sent
    );
    // Once above high water it waits until the buffer drains to low water, which a stalled
    // server never lets happen.
    assert!(
        ws.buffered_amount() > LOW,
        "it waits because the buffer is high: {}",
        ws.buffered_amount()
    );
    assert!(
        max_seen <= HIGH + MSG,
        "bufferedAmount {max_seen} exceeded high water + one message"
    );
    let _ = get_json(&format!("/api/drop/{k}")).await;
}

#[wasm_bindgen_test]
async fn flush_waits_until_everything_left_the_browser() {
    let mut ws = WebSocket::connect(&ws_url("/echo")).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    for _ in 0..64 {
        ws.feed(Message::Binary(vec![2; 64 * 1024])).await.unwrap();
    }
    within(10_000, "flush", ws.flush()).await.unwrap();
    assert_eq!(ws.buffered_amount(), 0);
    let mut n = 0;
    while n < 64 {
        within(10_000, "echo", ws.next()).await.unwrap().unwrap();
        n += 1;
    }
}

#[wasm_bindgen_test]
async fn flush_does_not_finish_while_the_server_stalls() {
    let k = key("flush-stall");
    let mut ws = WebSocket::builder(&ws_url(&format!("/stall?key={k}")))
        .high_water_mark(1 << 30)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    // How much the path to a server that reads nothing absorbs depends on the machine
    // (kernel send-buffer autotuning, the browser's own pipes): 16 MiB once all left
    // the browser. Feed 4 MiB at a time until bytes stay in the browser for a while.
    let mut fed_mib = 0;
    loop {
        for _ in 0..16 {
            ws.feed(Message::Binary(vec![3; 256 * 1024])).await.unwrap();
        }
        fed_mib += 4;
        sleep(200).await;
        if ws.buffered_amount() >= 1 << 20 {
            break;
        }
        assert!(
            fed_mib < 256,
            "{fed_mib} MiB left the browser towards a server that reads nothing"
        );
    }
    let flushed = futures::future::select(Box::pin(ws.flush()), Box::pin(sleep(1000))).await;
    if let futures::future::Either::Left((result, _)) = flushed {
        panic!(
            "flush returned ({result:?}) while data was stuck ({} bytes buffered after {fed_mib} MiB)",
            ws.buffered_amount()
        );
    }
    assert!(ws.buffered_amount() > 0);
    let _ = get_json(&format!("/api/drop/{k}")).await;
}

#[wasm_bindgen_test]
async fn flush_completes_without_inbound_traffic() {
    // `/silent` never answers, so nothing wakes the flushing task but the buffer readings
    // the socket schedules itself (the first at the next task, through the thread's
    // message channel): they alone must see each message leave.
    let k = key("silent-flush");
    let mut ws = WebSocket::connect(&ws_url(&format!("/silent?key={k}"))).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let sent: Vec<String> = (0..50).map(|i| format!("one-way {i}")).collect();
    for text in &sent {
        within(
            5000,
            "send with flush",
            ws.send(Message::Text(text.clone())),
        )
        .await
        .unwrap();
        assert_eq!(
            ws.buffered_amount(),
            0,
            "flushed: every byte left the browser"
        );
    }
    let r = report_until(&k, 5000, "all 50 messages", |r| {
        r.connections
            .first()
            .is_some_and(|c| c.received.len() == sent.len())
    })
    .await;
    assert_eq!(r.connections[0].received, sent);
}

/// A browser function wrapped by `watch` while this lives, `unwatch` restoring it (even if
/// the test panics); `stop` restores it and gives the log the wrapper kept.
struct Watch {
    unwatch: fn(),
}

impl Watch {
    fn start(watch: fn(), unwatch: fn()) -> Self {
        watch();
        Watch { unwatch }
    }

    fn stop(self, log: fn() -> js_sys::Array) -> js_sys::Array {
        drop(self);
        log()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        (self.unwatch)();
    }
}

#[wasm_bindgen(inline_js = r#"
const original = globalThis.setTimeout;
let inside = 0;
let log = [];
// Wraps the global setTimeout: each call is logged with its delay and whether it was made
// inside another timeout's callback (where browsers count a nesting level, and hold a
// timeout set five deep to at least 4 ms). Only the callback itself counts as inside, not
// the microtasks that run after it in the same task (the browser counts those too).
export function watch_timeouts() {
  log = [];
  globalThis.setTimeout = function (handler, ms, ...rest) {
    log.push([Number(ms) || 0, inside > 0]);
    const wrapped = typeof handler !== "function" ? handler : function (...args) {
      inside++;
      try { return handler.apply(this, args); } finally { inside--; }
    };
    return original.call(globalThis, wrapped, ms, ...rest);
  };
}
export function unwatch_timeouts() {
  globalThis.setTimeout = original;
}
// The log as [delay, inside a timeout's callback] pairs.
export function timeout_log() {
  return log;
}
"#)]
extern "C" {
    fn watch_timeouts();
    fn unwatch_timeouts();
    fn timeout_log() -> js_sys::Array;
}

#[wasm_bindgen_test]
async fn short_buffer_polls_are_never_set_inside_another_timeout() {
    // A timeout set from inside another's callback, five deep, waits at least 4 ms: polls of
    // a fast link's buffer chained that way let it drain while nobody looked (W2 of `npm
    // run bench`: 0.76× raw JS's throughput at 335 MB/s). Against a stalled server the
    // polls back off (1, 2, 4 ms, ...): the short ones must be set from another task.
    let k = key("stall-polls");
    let mut ws = WebSocket::builder(&ws_url(&format!("/stall?key={k}")))
        .high_water_mark(64 * 1024)
        .low_water_mark(16 * 1024)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let watch = Watch::start(watch_timeouts, unwatch_timeouts);
    // Polls back off while nothing drains: 1, 2, 4, ... ms apart, 32 ms after 50 ms.
    let filled = fill(&mut ws, 4, 50, 4000, |_| {}).await;
    // The calls logged as (delay, inside a timeout's callback).
    let log: Vec<(f64, bool)> = watch
        .stop(timeout_log)
        .iter()
        .map(|pair| {
            let pair: js_sys::Array = pair.into();
            (pair.get(0).as_f64().unwrap_or(0.0), pair.get(1).is_truthy())
        })
        .collect();
    let _ = get_json(&format!("/api/drop/{k}")).await;
    assert!(
        filled.blocked,
        "the sink never waited after {} messages",
        filled.sent
    );
    let short: Vec<_> = log
        .iter()
        .filter(|(ms, _)| *ms > 0.0 && *ms < 4.0)
        .collect();
    assert!(
        short.len() >= 2,
        "the buffer was polled with short timeouts: {log:?}"
    );
    assert!(
        short.iter().all(|(_, inside)| !inside),
        "a short timeout was set inside another timeout's callback ([delay, inside]): {short:?}"
    );
}

#[wasm_bindgen(inline_js = r#"
const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, "bufferedAmount");
let readings = [];
// Wraps WebSocket.prototype.bufferedAmount: each read is logged with the event being
// dispatched meanwhile (`globalThis.event`, which microtasks run right after a listener still
// see): "message WebSocket" in a socket's message event, "message MessagePort" in a posted
// message's (the shared timer's short polls), "" outside any event (a timeout).
export function watch_readings() {
  readings = [];
  Object.defineProperty(WebSocket.prototype, "bufferedAmount", {
    configurable: true,
    enumerable: descriptor.enumerable,
    get() {
      const e = globalThis.event;
      readings.push(e ? `${e.type} ${e.target?.constructor?.name}` : "");
      return descriptor.get.call(this);
    },
  });
}
export function unwatch_readings() {
  Object.defineProperty(WebSocket.prototype, "bufferedAmount", descriptor);
}
export function readings_log() {
  return readings;
}
"#)]
extern "C" {
    fn watch_readings();
    fn unwatch_readings();
    fn readings_log() -> js_sys::Array;
}

/// A socket to `url` with a 64 KiB / 16 KiB high / low-water mark and `n` `MSG`-byte binary
/// messages (message `i` all bytes `i`) queued while it connects: most of them wait for room
/// once it is open.
async fn queued_while_connecting(url: &str, n: usize) -> WebSocket {
    let mut ws = WebSocket::builder(url)
        .high_water_mark(64 * 1024)
        .low_water_mark(16 * 1024)
        .connect()
        .unwrap();
    for i in 0..n {
        ws.feed(Message::Binary(vec![i as u8; MSG])).await.unwrap();
    }
    ws
}

#[wasm_bindgen_test]
async fn an_incoming_message_reads_the_buffer_while_queued_messages_wait_for_room() {
    // Messages queued beyond the high-water mark wait for the buffer to drain. An echo
    // means bytes left, so the buffer is read as it comes, not only at the next poll, whose
    // interval is a guess from the drain rate seen so far: with polls alone, the npm
    // package's W2 (everything sent at once, echoed) moved 0.29× raw JS's bytes. Only the
    // stream is read here: no poll of the Sink reads the buffer.
    const N: usize = 40;
    let mut ws = queued_while_connecting(&ws_url("/echo"), N).await;
    let watch = Watch::start(watch_readings, unwatch_readings);
    for i in 0..N {
        let m = within(10_000, "an echo", ws.next()).await.unwrap();
        assert!(
            matches!(&m, Ok(Message::Binary(b)) if b.len() == MSG && b.iter().all(|&x| x == i as u8)),
            "echo {i}: {m:?}"
        );
    }
    let readings: Vec<String> = watch
        .stop(readings_log)
        .iter()
        .map(|r| r.as_string().unwrap_or_default())
        .collect();
    let in_messages = readings
        .iter()
        .filter(|r| *r == "message WebSocket")
        .count();
    assert!(
        in_messages >= 1,
        "the buffer was never read in a socket's message event: {readings:?}"
    );
}

#[wasm_bindgen(inline_js = r#"
const send = WebSocket.prototype.send;
let inside = false;
let log = [];
// Wraps WebSocket.prototype.send: each call is logged with whether the test had marked
// itself inside a read of resocket's `buffered_amount()` then.
export function watch_sends() {
  log = [];
  WebSocket.prototype.send = function (...args) {
    log.push(inside);
    return send.apply(this, args);
  };
}
export function unwatch_sends() {
  inside = false;
  WebSocket.prototype.send = send;
}
export function mark_inside(yes) {
  inside = yes;
}
export function sends_log() {
  return log;
}
"#)]
extern "C" {
    fn watch_sends();
    fn unwatch_sends();
    fn mark_inside(yes: bool);
    fn sends_log() -> js_sys::Array;
}

#[wasm_bindgen_test]
async fn reading_the_buffered_amount_lets_queued_messages_go_when_the_buffer_drained() {
    // An app that waits for everything to leave by reading bufferedAmount at every task
    // (the npm package's `bufferedAmount` adds the queue) gives the browser's timers little
    // room: with the buffer polls alone, the npm package's W7 (1,000 × 64 KiB sent at once)
    // moved 0.15× raw JS's bytes. A read the app asks for hands over what waits for room.
    const N: usize = 40;
    let k = key("sink-reads");
    let ws = queued_while_connecting(&ws_url(&format!("/sink?key={k}")), N).await;
    within(5000, "open", ws.opened()).await.unwrap();
    let watch = Watch::start(watch_sends, unwatch_sends);
    let started = js_sys::Date::now();
    while js_sys::Date::now() - started < 20_000.0 {
        mark_inside(true);
        let left = ws.buffered_amount() + ws.queued_bytes();
        mark_inside(false);
        if left == 0 {
            break;
        }
        sleep(1).await;
    }
    let sends: Vec<bool> = watch
        .stop(sends_log)
        .iter()
        .map(|b| b.is_truthy())
        .collect();
    assert_eq!(ws.queued_bytes(), 0, "the queue never drained");
    assert!(
        sends.iter().any(|inside| *inside),
        "no message was handed over inside a read of buffered_amount(): {sends:?}"
    );
    let r = report_until(&k, 5000, "every message at the server", |r| {
        r.connections.first().is_some_and(|c| c.received.len() >= N)
    })
    .await;
    assert_eq!(r.connections[0].received.len(), N);
}
