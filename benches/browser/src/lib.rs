//! The Rust side of the browser benchmark (`scripts/bench.sh`, `npm run bench`).
//!
//! [`run`] runs one workload with one library and resolves to what it measured; the page
//! (`www/run.js`) wraps it with CPU and memory readings and reports to the test server.
//! The raw JavaScript contender lives in `www/raw.js`. Each run gets a fresh page (an
//! iframe), so a fresh instance of this module: memory figures start clean.
//!
//! Contenders: `resocket` (reconnection and heartbeat on), `resocket-bare` (both off),
//! `resocket-limit` (as `resocket`, with an 8 MiB inbound limit; W5 only), `gloo-net`,
//! `ws_stream_wasm`, `web-sys` (a bare Stream/Sink written here on `web_sys::WebSocket`:
//! the cost of wasm itself, [`floor`]). Workloads: `w1` (pipelined text), `w2` (pipelined
//! binary), `w3` (ping-pong), `w4` (connect–echo–close cycles), `w5` (flood, slow reader).

mod alloc;
mod floor;
mod libs;
mod workloads;

use js_sys::{Function, Promise, Reflect};
use libs::{Gloo, Lib, ResocketBare, ResocketLimit, ResocketOn, WsStream};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// A failed run: what went wrong, for the report.
#[derive(Debug)]
pub(crate) struct Fail(pub(crate) String);

impl Fail {
    /// Says which cycle or message it happened at.
    fn at(self, i: u32) -> Self {
        Fail(format!("at {i}: {}", self.0))
    }
}

impl From<JsValue> for Fail {
    fn from(v: JsValue) -> Self {
        Fail(v.as_string().unwrap_or_else(|| format!("{v:?}")))
    }
}

/// What a workload needs; read from the JavaScript object the page passes.
pub(crate) struct Params {
    /// The WebSocket URL (W1, W2, W3, W5, W6, W7).
    url: String,
    /// The URLs W4 rotates over.
    urls: Vec<String>,
    /// Messages, round trips or cycles.
    n: u32,
    /// Binary message size; 0 for the text workloads.
    size: usize,
    /// W3: send with a flush (`SinkExt::send`) instead of `feed`.
    flush: bool,
    /// W5: how fast the app consumes, in bytes per second.
    rate: f64,
}

impl Params {
    fn from_js(v: &JsValue) -> Result<Params, Fail> {
        let get =
            |key: &str| Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
        let urls = match get("urls").dyn_into::<js_sys::Array>() {
            Ok(a) => a.iter().filter_map(|u| u.as_string()).collect(),
            Err(_) => Vec::new(),
        };
        Ok(Params {
            url: get("url").as_string().unwrap_or_default(),
            urls,
            n: get("n")
                .as_f64()
                .ok_or_else(|| Fail("params.n is missing".into()))? as u32,
            size: get("size").as_f64().unwrap_or(0.0) as usize,
            flush: get("flush").as_bool().unwrap_or(false),
            rate: get("rate").as_f64().unwrap_or(f64::INFINITY),
        })
    }
}

/// Calls the page's probe (`probe("start")` / `probe("end")`), which reads CPU and memory
/// just before and after the measured part.
pub(crate) struct Probe(Function);

impl Probe {
    pub(crate) async fn call(&self, kind: &str) -> Result<(), Fail> {
        let promise: Promise = self
            .0
            .call1(&JsValue::NULL, &JsValue::from_str(kind))?
            .dyn_into()
            .map_err(|_| Fail("the probe did not return a promise".into()))?;
        JsFuture::from(promise).await?;
        Ok(())
    }

    /// The texts the test server received on the connection keyed `key`, once it has `n`
    /// of them or has stopped getting more (the page polls `/api/report/{key}`).
    pub(crate) async fn received(&self, key: &str, n: u32) -> Result<Vec<String>, Fail> {
        let promise: Promise = self
            .0
            .call2(
                &JsValue::NULL,
                &JsValue::from_str(&format!("received:{key}")),
                &JsValue::from(n),
            )?
            .dyn_into()
            .map_err(|_| Fail("the probe did not return a promise".into()))?;
        let list = JsFuture::from(promise).await?;
        let list: js_sys::Array = list
            .dyn_into()
            .map_err(|_| Fail("the server's report has no received list".into()))?;
        Ok(list.iter().filter_map(|m| m.as_string()).collect())
    }
}

/// What a run measured.
pub(crate) struct Measured {
    elapsed_ms: f64,
    count: u32,
    bytes: Option<f64>,
    latencies: Option<Vec<f64>>,
}

impl Measured {
    pub(crate) fn new(elapsed_ms: f64, count: u32) -> Self {
        Measured {
            elapsed_ms,
            count,
            bytes: None,
            latencies: None,
        }
    }

    pub(crate) fn bytes(mut self, bytes: f64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    pub(crate) fn latencies(mut self, latencies: Vec<f64>) -> Self {
        self.latencies = Some(latencies);
        self
    }

    fn into_js(self) -> JsValue {
        let o = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        set("elapsed_ms", self.elapsed_ms.into());
        set("count", self.count.into());
        if let Some(b) = self.bytes {
            set("bytes", b.into());
        }
        if let Some(l) = self.latencies {
            set("latencies_ms", js_sys::Float64Array::from(&l[..]).into());
        }
        o.into()
    }
}

/// `performance.now()` in milliseconds.
pub(crate) fn now_ms() -> f64 {
    thread_local! {
        static PERFORMANCE: Option<web_sys::Performance> =
            web_sys::window().and_then(|w| w.performance());
    }
    PERFORMANCE.with(|p| p.as_ref().map_or_else(js_sys::Date::now, |p| p.now()))
}

async fn workload<L: Lib>(workload: &str, p: &Params, probe: &Probe) -> Result<Measured, Fail> {
    match workload {
        "w1" | "w2" => workloads::pipelined::<L>(p, probe).await,
        "w3" => workloads::ping_pong::<L>(p, probe).await,
        "w4" => workloads::cycles::<L>(p, probe).await,
        "w5" => workloads::flood::<L>(p, probe).await,
        "w6" => workloads::one_way::<L>(p, probe).await,
        "w7" => workloads::upload::<L>(p, probe).await,
        other => Err(Fail(format!("unknown workload {other:?}"))),
    }
}

/// Runs `workload` with `contender`; resolves to `{elapsed_ms, count, bytes?,
/// latencies_ms?}` or rejects with what went wrong.
#[wasm_bindgen]
pub async fn run(
    contender: String,
    workload: String,
    params: JsValue,
    probe: Function,
) -> Result<JsValue, JsValue> {
    let p = Params::from_js(&params).map_err(|e| JsValue::from_str(&e.0))?;
    let probe = Probe(probe);
    let w = workload.as_str();
    let result = match contender.as_str() {
        "resocket" => self::workload::<ResocketOn>(w, &p, &probe).await,
        "resocket-bare" => self::workload::<ResocketBare>(w, &p, &probe).await,
        "resocket-limit" => self::workload::<ResocketLimit>(w, &p, &probe).await,
        "gloo-net" => self::workload::<Gloo>(w, &p, &probe).await,
        "ws_stream_wasm" => self::workload::<WsStream>(w, &p, &probe).await,
        "web-sys" => self::workload::<floor::Floor>(w, &p, &probe).await,
        other => Err(Fail(format!("unknown contender {other:?}"))),
    };
    result
        .map(Measured::into_js)
        .map_err(|e| JsValue::from_str(&e.0))
}

/// Bytes of this module's wasm memory (it only grows, so after a run it is the peak).
#[wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            m.buffer()
                .unchecked_into::<js_sys::ArrayBuffer>()
                .byte_length() as f64
        })
        .unwrap_or(0.0)
}

/// Bytes allocated on the Rust heap and not freed.
#[wasm_bindgen]
pub fn heap_live() -> f64 {
    alloc::live() as f64
}

/// The most bytes live on the Rust heap at once since [`heap_reset_peak`].
#[wasm_bindgen]
pub fn heap_peak() -> f64 {
    alloc::peak() as f64
}

/// Calls to the Rust allocator that allocated or grew a block, since the module started.
#[wasm_bindgen]
pub fn heap_allocations() -> f64 {
    alloc::allocations() as f64
}

/// Starts a new peak measurement at the current live size.
#[wasm_bindgen]
pub fn heap_reset_peak() {
    alloc::reset_peak()
}
