//! Many open/close cycles must not grow wasm memory: nothing leaks per connection.
#![cfg(target_arch = "wasm32")]

mod support;

use resocket::WebSocket;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CYCLES: usize = 2000;
/// Allowed growth of wasm linear memory over all cycles (after a warm-up): one 64 KiB page
/// per 1000 cycles would already be 32 bytes a cycle, so 128 KiB is a tight bound.
const MAX_GROWTH: f64 = 128.0 * 1024.0;

#[wasm_bindgen_test]
async fn two_thousand_open_close_cycles_do_not_leak() {
    let url = ws_url("/echo");
    let cycle = || async {
        let ws = WebSocket::connect(&url).unwrap();
        ws.opened().await.unwrap();
        let outcome = ws.close(1000, "").unwrap().await;
        assert!(outcome.frame.is_some_and(|f| f.was_clean));
    };
    for _ in 0..50 {
        cycle().await;
    }
    let before = wasm_memory();
    let started = js_sys::Date::now();
    for _ in 0..CYCLES {
        cycle().await;
    }
    let after = wasm_memory();
    let secs = (js_sys::Date::now() - started) / 1000.0;
    console_log!(
        "cycles: {CYCLES} in {secs:.1} s; wasm memory before {before} B, after {after} B, growth {} B",
        after - before
    );
    assert!(
        after - before <= MAX_GROWTH,
        "wasm memory grew by {} bytes over {CYCLES} cycles",
        after - before
    );
}
