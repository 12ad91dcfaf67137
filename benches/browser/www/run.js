// One measured run in a fresh frame (so a fresh wasm instance): reads CPU and memory
// around the measured part, posts the result to the test server and to the runner.
// Query: contender, workload, id, round, pid (our renderer), session (Chromium's session
// id), params (JSON), calls=1 to count the module's calls into JavaScript instead (a
// separate pass: the counting costs time).
import init, * as bench from "./pkg/resocket_bench.js";
import { runRaw } from "./raw.js";

const q = new URLSearchParams(location.search);
const contender = q.get("contender");
const workload = q.get("workload");
const params = JSON.parse(q.get("params"));
const pid = Number(q.get("pid"));
const session = q.get("session");

// Every import of the wasm module (each one a call from Rust into JavaScript), counted
// while the measured part runs. scripts/bench.sh hooks the glue to call __benchImports.
// wasm-bindgen's numbered cast intrinsics are named after what they convert, which the
// glue says in a comment (e.g. `Ref(String) -> Externref`: a string made for JavaScript).
// Each module's cast intrinsics are numbered in its own glue, so they are named from the glue
// that asks (the hook passes its path).
const calls = q.get("calls") === "1" ? {} : null;
let counting = false;
if (calls) {
  const castsOf = (glue) => {
    const casts = {};
    for (const m of glue.matchAll(/(__wbindgen_\w+): function\([^)]*\) \{\s*\/\/ Cast intrinsic for `([^`]*)`/g)) {
      casts[m[1]] = "cast " + (m[2].startsWith("Closure(") ? "Closure -> Externref" : m[2]);
    }
    return casts;
  };
  const known = {};
  for (const path of ["pkg/resocket_bench.js", "lib/resocket/resocket.js"]) {
    known[path] = castsOf(await (await fetch(`./${path}`, { cache: "no-store" })).text());
  }
  globalThis.__benchImports = (imports, path) => {
    const casts = known[path];
    if (!casts) throw new Error(`no cast names for the glue ${path}`);
    for (const module of Object.values(imports)) {
      for (const [key, f] of Object.entries(module)) {
        if (typeof f !== "function") continue;
        const name = casts[key] ?? key.replace(/^__wbg_/, "").replace(/_[0-9a-f]{16}$/, "");
        module[key] = function (...args) {
          if (counting) calls[name] = (calls[name] ?? 0) + 1;
          return f.apply(this, args);
        };
      }
    }
    return imports;
  };
}

// The JavaScript libraries: each runs raw-js's workloads (raw.js) on its own socket class,
// loaded only in its own runs. js-resocket is the npm package's ResilientWebSocket (its
// module built by scripts/bench.sh from the crate with feature "js"), with reconnection (on
// by default) and the Rust contender's heartbeat ("hb" both ways, which the echo server
// returns and the socket swallows).
let libMemory = null;
const jsLibs = {
  "js-resocket": async () => {
    const m = await import("./lib/resocket/resocket.js");
    libMemory = (await m.default()).memory;
    const heartbeat = { interval: 5000, timeout: 5000, ping: "hb", pong: "hb" };
    return (url) => new m.ResilientWebSocket(url, [], { heartbeat });
  },
  "js-reconnecting-websocket": async () => {
    const { default: ReconnectingWebSocket } = await import("./lib/reconnecting-websocket.js");
    return (url) => new ReconnectingWebSocket(url);
  },
  "js-partysocket": async () => {
    const { default: PartySocket } = await import("./lib/partysocket.js");
    return (url) => new PartySocket(url);
  },
};
const wasmContender = contender !== "raw-js" && !jsLibs[contender];

const getJson = async (path) => (await fetch(path, { cache: "no-store" })).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gc = () => globalThis.gc?.();

async function cpu(resetPeak) {
  const [server, r] = await Promise.all([
    getJson("/api/bench/cpu"),
    getJson(`/api/bench/renderer-cpu?session=${session}` + (resetPeak ? "&reset_peak=1" : "")),
  ]);
  return { server, renderers: r.renderers, others: r.others };
}

function memory() {
  return {
    js_heap: performance.memory.usedJSHeapSize,
    // A JavaScript library's own wasm module if it has one (js-resocket), else the bench
    // module's, which is idle then (as in raw-js runs). The bench module's allocator only
    // counts the Rust contenders' heap.
    wasm_memory: libMemory ? libMemory.buffer.byteLength : bench.wasm_memory_bytes(),
    heap_live: wasmContender ? bench.heap_live() : null,
    heap_peak: wasmContender ? bench.heap_peak() : null,
  };
}

// Readings taken by the probe.
const at = {};
let sampler = null;
let peakJsHeap = 0;

async function probe(kind, n) {
  if (kind.startsWith("received:")) return received(kind.slice("received:".length), n);
  if (kind === "start") {
    gc();
    await sleep(20);
    gc();
    at.memStart = memory();
    bench.heap_reset_peak();
    peakJsHeap = at.memStart.js_heap;
    at.cpuStart = await cpu(true);
    sampler = setInterval(() => (peakJsHeap = Math.max(peakJsHeap, performance.memory.usedJSHeapSize)), 20);
    counting = true;
    at.allocStart = bench.heap_allocations();
  } else {
    at.allocEnd = bench.heap_allocations();
    counting = false;
    at.cpuEnd = await cpu(false);
    clearInterval(sampler);
    at.memEnd = memory();
    peakJsHeap = Math.max(peakJsHeap, at.memEnd.js_heap);
  }
}

// What the test server received on the first connection keyed `key` (W6): polled until it
// has `n` messages or 5 s have passed (a library's close may return before the server
// read everything).
async function received(key, n) {
  const until = performance.now() + 5000;
  for (;;) {
    const report = await (await fetch(`/api/report/${encodeURIComponent(key)}`, { cache: "no-store" })).json();
    const list = report.connections?.[0]?.received ?? [];
    if (list.length >= n || performance.now() > until) return list;
    await sleep(20);
  }
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summarise(m) {
  const r = { elapsed_ms: m.elapsed_ms, count: m.count };
  r.per_s = (m.count / m.elapsed_ms) * 1000;
  if (m.bytes !== undefined) {
    r.bytes = m.bytes;
    r.mb_s = m.bytes / m.elapsed_ms / 1000; // MB (10^6 bytes) per second, each way
  }
  if (m.latencies_ms) {
    const s = Float64Array.from(m.latencies_ms).sort();
    r.latency_ms = { median: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0], max: s[s.length - 1] };
  }
  const find = (list, p) => list.find((x) => x.pid === p);
  const mine0 = find(at.cpuStart.renderers, pid);
  const mine1 = find(at.cpuEnd.renderers, pid);
  if (mine0 && mine1) {
    r.main_cpu_ms = (mine1.main_ns - mine0.main_ns) / 1e6;
    r.main_cpu_us_per_msg = (mine1.main_ns - mine0.main_ns) / 1e3 / m.count;
    r.renderer_cpu_ms = (mine1.process_ns - mine0.process_ns) / 1e6;
    r.peak_rss_growth_kb = mine1.peak_rss_kb - mine0.rss_kb;
  }
  // Sanity: how much the main threads of other renderers moved meanwhile (should be ~0).
  r.other_renderers_max_ms = Math.max(
    0,
    ...at.cpuEnd.renderers
      .filter((x) => x.pid !== pid)
      .map((x) => (x.main_ns - (find(at.cpuStart.renderers, x.pid)?.main_ns ?? x.main_ns)) / 1e6),
  );
  r.server_cpu_ms = (at.cpuEnd.server.cpu_ns - at.cpuStart.server.cpu_ns) / 1e6;
  r.server_cpu_share = r.server_cpu_ms / m.elapsed_ms;
  // The browser's other processes, by type: CPU ms while the run was measured.
  r.browser_cpu_ms = {};
  for (const o of at.cpuEnd.others) {
    const o0 = find(at.cpuStart.others, o.pid);
    if (o0) r.browser_cpu_ms[o.type] = (r.browser_cpu_ms[o.type] ?? 0) + (o.process_ns - o0.process_ns) / 1e6;
  }
  // Calls to the Rust allocator (the library's and the workload's own, e.g. each message
  // it builds): a count, not timed.
  if (wasmContender) r.allocations_per_msg = (at.allocEnd - at.allocStart) / m.count;
  if (calls) {
    r.calls = calls;
    r.calls_per_msg = Object.values(calls).reduce((a, b) => a + b, 0) / m.count;
  }
  r.memory = {
    before: at.memStart,
    end: at.memEnd,
    after: at.memAfter,
    peak_js_heap: peakJsHeap,
  };
  return r;
}

async function main() {
  const result = { type: "run", id: q.get("id"), workload, contender, round: Number(q.get("round")), pid, params };
  if (calls) result.pass = "calls";
  try {
    await init();
    // (raw-js: no `make`, so the browser's own WebSocket.)
    const measured = wasmContender
      ? await bench.run(contender, workload, params, probe)
      : await runRaw(workload, params, probe, await jsLibs[contender]?.());
    // After the run: what stays once everything is closed and collected.
    await sleep(100);
    gc();
    at.memAfter = memory();
    Object.assign(result, { ok: true }, summarise(measured));
  } catch (e) {
    clearInterval(sampler);
    Object.assign(result, { ok: false, error: String(e?.message ?? e) });
  }
  result.cross_origin_isolated = globalThis.crossOriginIsolated;
  try {
    await fetch("/api/bench/result", { method: "POST", body: JSON.stringify(result) });
  } finally {
    parent.postMessage(result, location.origin);
  }
}

main();
