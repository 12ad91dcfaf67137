//! Shared by resocket's browser tests (the crate's, the framework integrations' and the
//! examples'): where the test server is, how to ask it what it saw, and bounded waits so
//! no test can hang. The server's port comes from `RESOCKET_TEST_PORT` at compile time,
//! set by scripts/test.sh.
#![cfg(target_arch = "wasm32")]

use futures::future::{select, Either};
use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use js_sys::Reflect;
use std::future::Future;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The test server's port, set at compile time by scripts/test.sh.
pub fn port() -> u16 {
    match option_env!("RESOCKET_TEST_PORT").map(str::parse) {
        Some(Ok(port)) => port,
        _ => panic!("RESOCKET_TEST_PORT is not set to a port: run the browser tests through scripts/test.sh"),
    }
}

pub fn ws_url(path: &str) -> String {
    format!("ws://127.0.0.1:{}{}", port(), path)
}

pub fn http_url(path: &str) -> String {
    format!("http://127.0.0.1:{}{}", port(), path)
}

/// A key unique to this test run, so reports from earlier runs never mix in.
pub fn key(name: &str) -> String {
    format!("{name}-{}", (js_sys::Math::random() * 1e12) as u64)
}

pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await
}

/// `fut`, or a panic naming `what` after `ms`.
pub async fn within<T>(ms: u32, what: &str, fut: impl Future<Output = T>) -> T {
    match select(Box::pin(fut), TimeoutFuture::new(ms)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out after {ms} ms: {what}"),
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The global's own `fetch`: a window's or a worker's.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str) -> js_sys::Promise;
}

/// GETs a JSON document from the test server (from a window or a worker).
pub async fn get_json(path: &str) -> JsValue {
    let resp = JsFuture::from(global_fetch(&http_url(path)))
        .await
        .expect("fetch");
    let resp: web_sys::Response = resp.dyn_into().expect("a Response");
    assert!(resp.ok(), "GET {path}: HTTP {}", resp.status());
    JsFuture::from(resp.json().expect("json()"))
        .await
        .expect("JSON body")
}

pub fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// What the server recorded for `key`.
#[derive(Debug, Clone)]
pub struct Report {
    pub attempts: u32,
    pub connections: Vec<ConnReport>,
}

#[derive(Debug, Clone)]
pub struct ConnReport {
    pub received: Vec<String>,
    pub protocol: Option<String>,
    /// (code, reason, by) once the connection ended.
    pub close: Option<(u16, String, String)>,
}

pub async fn report(key: &str) -> Report {
    let v = get_json(&format!("/api/report/{key}")).await;
    let conns = js_sys::Array::from(&field(&v, "connections"));
    Report {
        attempts: field(&v, "attempts").as_f64().unwrap_or(0.0) as u32,
        connections: conns
            .iter()
            .map(|c| {
                let close = field(&c, "close");
                ConnReport {
                    received: js_sys::Array::from(&field(&c, "received"))
                        .iter()
                        .filter_map(|s| s.as_string())
                        .collect(),
                    protocol: field(&c, "protocol").as_string(),
                    close: (!close.is_null() && !close.is_undefined()).then(|| {
                        (
                            field(&close, "code").as_f64().unwrap_or(0.0) as u16,
                            field(&close, "reason").as_string().unwrap_or_default(),
                            field(&close, "by").as_string().unwrap_or_default(),
                        )
                    }),
                }
            })
            .collect(),
    }
}

/// Polls `ok` every 10 ms until it holds; panics naming `what` after `ms`.
pub async fn wait_for(ms: u32, what: &str, mut ok: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !ok() {
        if js_sys::Date::now() - start > f64::from(ms) {
            panic!("timed out after {ms} ms waiting for {what}");
        }
        sleep(10).await;
    }
}

/// Polls the server's report until `pred` holds, or panics after `ms`.
pub async fn report_until(
    key: &str,
    ms: u32,
    what: &str,
    pred: impl Fn(&Report) -> bool,
) -> Report {
    let start = js_sys::Date::now();
    loop {
        let r = report(key).await;
        if pred(&r) {
            return r;
        }
        if js_sys::Date::now() - start > ms as f64 {
            panic!("server never saw {what} within {ms} ms; last report: {r:?}");
        }
        sleep(20).await;
    }
}

/// The wasm linear memory in bytes.
pub fn wasm_memory() -> f64 {
    let mem: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let buf: js_sys::ArrayBuffer = mem.buffer().unchecked_into();
    buf.byte_length() as f64
}

pub fn ms_between(a: f64, b: f64) -> Duration {
    Duration::from_secs_f64(((b - a) / 1000.0).max(0.0))
}

/// Whether a stream has nothing ready right now.
pub fn now_or_never<F: Future>(f: F) -> Option<F::Output> {
    f.now_or_never()
}
