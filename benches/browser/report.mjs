// Turns the benchmark's JSON lines (one per run, plus "meta" and "done") into
// OUT.json and OUT.md: per workload and contender the median with min and max over the
// rounds, and the ratio of medians to the raw JavaScript WebSocket. Exits 1 if any run
// failed or the run did not finish.
//
// node benches/browser/report.mjs RESULTS.jsonl --out PATH [--machine S] [--chromium V]
//      [--load S] [--size size.txt]
import { readFileSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const input = args[0];
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i > 0 ? args[i + 1] : undefined;
};
const outPath = opt("out");
if (!input || !outPath) {
  console.error("usage: report.mjs RESULTS.jsonl --out PATH [--machine S] [--chromium V] [--load S] [--size FILE]");
  process.exit(2);
}

const lines = readFileSync(input, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const meta = lines.find((l) => l.type === "meta") ?? {};
const done = lines.find((l) => l.type === "done");
const allRuns = lines.filter((l) => l.type === "run");
const runs = allRuns.filter((l) => !l.pass);
const callRuns = allRuns.filter((l) => l.pass === "calls");

// How busy each process was while a run was measured: CPU time ÷ elapsed time.
const NETWORK = "utility:network.mojom.NetworkService";
for (const r of runs.filter((r) => r.ok)) {
  const share = (ms) => (ms == null ? undefined : ms / r.elapsed_ms);
  r.busy = {
    main: share(r.main_cpu_ms),
    renderer: share(r.renderer_cpu_ms),
    network: share(r.browser_cpu_ms?.[NETWORK]),
    browser: share(r.browser_cpu_ms?.browser),
    server: share(r.server_cpu_ms),
  };
}
const workloads = meta.workloads ?? [];
const contenders = [
  "raw-js", "resocket", "resocket-bare", "resocket-limit", "gloo-net", "ws_stream_wasm", "web-sys",
  "js-resocket", "js-reconnecting-websocket", "js-partysocket",
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stat = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x));
  return v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length } : null;
};
const get = (o, path) => path.split(".").reduce((x, k) => (x == null ? undefined : x[k]), o);

// What each workload reports, and which of them is its headline.
const metrics = {
  w1: ["per_s", "main_cpu_us_per_msg", "renderer_cpu_ms", "server_cpu_share", "busy.main", "busy.renderer", "busy.network", "busy.browser", "busy.server"],
  w2: [
    "mb_s",
    "main_cpu_us_per_msg",
    "renderer_cpu_ms",
    "server_cpu_share",
    "memory.end.heap_peak",
    "peak_rss_growth_kb",
    "busy.main",
    "busy.renderer",
    "busy.network",
    "busy.browser",
    "busy.server",
  ],
  w3: ["latency_ms.median", "latency_ms.p99", "main_cpu_us_per_msg", "server_cpu_share"],
  w4: [
    "per_s",
    "main_cpu_us_per_msg",
    "memory.before.wasm_memory",
    "memory.after.wasm_memory",
    "memory.before.heap_live",
    "memory.after.heap_live",
    "memory.before.js_heap",
    "memory.after.js_heap",
    "server_cpu_share",
  ],
  w5: ["count", "memory.peak_js_heap", "memory.end.wasm_memory", "memory.end.heap_peak", "peak_rss_growth_kb", "elapsed_ms", "main_cpu_us_per_msg"],
  w6: ["per_s", "main_cpu_us_per_msg", "server_cpu_share"],
  w7: ["mb_s", "main_cpu_us_per_msg", "server_cpu_share", "busy.main", "busy.renderer", "busy.network", "busy.browser", "busy.server"],
};

const table = {};
const errors = [];
for (const w of workloads) {
  table[w.id] = {};
  for (const c of contenders) {
    const mine = runs.filter((r) => r.id === w.id && r.contender === c);
    if (!mine.length && !callRuns.some((r) => r.id === w.id && r.contender === c)) continue;
    const ok = mine.filter((r) => r.ok);
    for (const r of mine.filter((r) => !r.ok)) errors.push(`${w.id} ${c} round ${r.round}: ${r.error}`);
    for (const r of callRuns.filter((r) => r.id === w.id && r.contender === c && !r.ok)) errors.push(`${w.id} ${c} calls pass: ${r.error}`);
    const entry = { runs: mine.length, failed: mine.length - ok.length };
    for (const m of metrics[w.workload] ?? []) entry[m] = stat(ok.map((r) => get(r, m)));
    const counted = callRuns.find((r) => r.id === w.id && r.contender === c && r.ok);
    if (counted) entry.calls = { n: counted.count, per_msg: counted.calls_per_msg, by_import: counted.calls };
    const allocations = ok.map((r) => r.allocations_per_msg).filter((x) => Number.isFinite(x));
    if (allocations.length && c !== "raw-js") entry.allocations_per_msg = stat(allocations);
    table[w.id][c] = entry;
  }
}

// Ratios to raw JS (for W3s, to raw JS in W3: raw JS has no flush), two ways: the ratio of
// the medians, and the ratio within each round (both ran minutes apart at most, under the
// same machine load) with its median, min and max over the rounds. The second is what the
// tables show: the machine's load drifts between rounds more than it does within one.
const headline = { w1: "per_s", w2: "mb_s", w3: "latency_ms.median", w4: "per_s", w5: "memory.peak_js_heap", w6: "per_s", w7: "mb_s" };
for (const w of workloads) {
  const baseId = w.ratio_base ?? w.id;
  const base = table[baseId]?.["raw-js"];
  const baseRuns = runs.filter((r) => r.ok && r.id === baseId && r.contender === "raw-js");
  for (const [c, e] of Object.entries(table[w.id])) {
    const ratio = (m) => (e[m]?.median != null && base?.[m]?.median ? e[m].median / base[m].median : null);
    const paired = (m) =>
      stat(
        runs
          .filter((r) => r.ok && r.id === w.id && r.contender === c)
          .map((r) => {
            const b = get(baseRuns.find((b) => b.round === r.round), m);
            return b ? get(r, m) / b : null;
          }),
      );
    e.ratio_to_raw = ratio(headline[w.workload]);
    e.cpu_ratio_to_raw = ratio("main_cpu_us_per_msg");
    e.paired_ratio_to_raw = paired(headline[w.workload]);
    e.paired_cpu_ratio_to_raw = paired("main_cpu_us_per_msg");
  }
}

const size = opt("size") ? parseSize(readFileSync(opt("size"), "utf8")) : null;
function parseSize(text) {
  const apps = [];
  for (const line of text.split("\n")) {
    const head = line.match(/^minimal (\S+) app, (.*)$/);
    if (head) apps.push({ app: head[1], optimiser: head[2] });
    const row = line.match(/^(\.wasm|JS glue): (\d+) B raw, (\d+) B gzip$/);
    if (row && apps.length) apps[apps.length - 1][row[1] === ".wasm" ? "wasm" : "js"] = { raw: +row[2], gzip: +row[3] };
  }
  return apps;
}

const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const report = {
  date,
  machine: opt("machine") ?? null,
  chromium: opt("chromium") ?? null,
  load_at_end: opt("load") ?? null,
  user_agent: meta.user_agent ?? null,
  cross_origin_isolated: meta.cross_origin_isolated ?? null,
  renderer: meta.calibration ?? null,
  mode: meta.mode ?? null,
  rounds: meta.rounds ?? null,
  finished: !!done,
  errors,
  workloads: workloads.map((w) => ({ id: w.id, title: w.title, params: w.params, results: table[w.id] })),
  size,
};
writeFileSync(`${outPath}.json`, JSON.stringify(report, null, 2) + "\n");

// ---- Markdown ----
const fmt = (x, digits = 0) =>
  x == null ? "–" : x >= 1e4 && digits === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
const cell = (s, digits, scale = 1) => (s ? `${fmt(s.median * scale, digits)} (${fmt(s.min * scale, digits)}–${fmt(s.max * scale, digits)})` : "–");
const ratio = (x) => (x == null ? "–" : `${x.toFixed(2)}×`);
// A ratio within each round: median (min–max) over the rounds.
const paired = (s) => (s ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : "–");
const MiB = 1 / 1048576;
// A statistic's median, scaled, or null when there is none.
const scaled = (s, k) => (s ? s.median * k : null);
const pct = (s) => (s ? `${Math.round(s.median * 100)} % (max ${Math.round(s.max * 100)} %)` : "–");

const md = [];
md.push(`# Browser benchmark: ${date.slice(0, 10)}`);
md.push("");
md.push(
  `${report.machine ?? "unknown machine"}; Chromium ${report.chromium ?? "?"} headless, no DevTools client attached; ` +
    `${report.rounds} interleaved round(s), each run in a fresh frame; median (min–max) over rounds; ` +
    `ratios (÷ raw) are taken within each round, contender ÷ raw JS, then median (min–max) over rounds. CPU = renderer main thread (Blink/V8) per message or cycle. ` +
    `Release profile (opt-level "z", LTO), no wasm-opt. Load average at the end: ${report.load_at_end ?? "?"}.`,
);
md.push("");
md.push(
  "web-sys is no library: a `Stream` and `Sink` written for this benchmark straight on `web_sys::WebSocket` " +
    "(benches/browser/src/floor.rs), with no reconnection, heartbeat, backpressure or queue. It shows what any Rust " +
    "code pays to cross between JavaScript and wasm (the handler's call into wasm, copying each message in and out, " +
    "waking the task); what a library costs beyond it is its own.",
);
md.push("");
md.push(
  "The js- contenders are libraries for JavaScript apps, running raw-js's workloads (benches/browser/www/raw.js) on " +
    "their socket class instead of the browser's: js-resocket is the npm package's `ResilientWebSocket` (its code, " +
    "built like the bench module, without wasm-opt; reconnection and the same heartbeat as resocket), js-reconnecting-websocket and js-partysocket the npm packages of that name. " +
    "For js-resocket, wasm memory is its own module's; the wasm heap and allocator counts are the Rust contenders' only.",
);
md.push("");
const rows = (w, cols) => {
  md.push(`### ${w.title}`);
  md.push("");
  md.push(`| contender | ${cols.map((c) => c[0]).join(" | ")} |`);
  md.push(`|---|${cols.map(() => "---").join("|")}|`);
  for (const c of contenders) {
    const e = table[w.id]?.[c];
    if (!e) continue;
    const failed = e.failed ? ` (${e.failed}/${e.runs} failed)` : "";
    md.push(`| ${c}${failed} | ${cols.map((col) => col[1](e)).join(" | ")} |`);
  }
  md.push("");
};
for (const w of workloads) {
  const p = w.params;
  switch (w.workload) {
    case "w1":
      w.title += ` (${p.n.toLocaleString("en-US")} messages)`;
      rows(w, [
        ["round trips/s", (e) => cell(e.per_s)],
        ["÷ raw", (e) => paired(e.paired_ratio_to_raw)],
        ["CPU µs/msg", (e) => cell(e.main_cpu_us_per_msg, 2)],
        ["CPU ÷ raw", (e) => paired(e.paired_cpu_ratio_to_raw)],
        ["echo server CPU", (e) => pct(e.server_cpu_share)],
      ]);
      break;
    case "w2":
      w.title += ` (${p.n} × ${p.size / 1024} KiB)`;
      rows(w, [
        ["MB/s each way", (e) => cell(e.mb_s, 0)],
        ["÷ raw", (e) => paired(e.paired_ratio_to_raw)],
        ["CPU µs/msg", (e) => cell(e.main_cpu_us_per_msg, 1)],
        ["CPU ÷ raw", (e) => paired(e.paired_cpu_ratio_to_raw)],
        ["wasm heap peak MiB", (e) => cell(e["memory.end.heap_peak"], 1, MiB)],
        ["echo server CPU", (e) => pct(e.server_cpu_share)],
      ]);
      break;
    case "w3":
      w.title += ` (${p.n} round trips)`;
      rows(w, [
        ["median ms", (e) => cell(e["latency_ms.median"], 3)],
        ["p99 ms", (e) => cell(e["latency_ms.p99"], 3)],
        ["median ÷ raw", (e) => paired(e.paired_ratio_to_raw)],
        ["CPU µs/round trip", (e) => cell(e.main_cpu_us_per_msg, 1)],
        ["echo server CPU", (e) => pct(e.server_cpu_share)],
      ]);
      break;
    case "w4":
      w.title += ` (${p.n} cycles over ${p.urls?.length ?? "?"} ports)`;
      rows(w, [
        ["cycles/s", (e) => cell(e.per_s, 0)],
        ["÷ raw", (e) => paired(e.paired_ratio_to_raw)],
        ["CPU µs/cycle", (e) => cell(e.main_cpu_us_per_msg, 0)],
        ["CPU ÷ raw", (e) => paired(e.paired_cpu_ratio_to_raw)],
        ["wasm memory MiB before → after", (e) => `${fmt(scaled(e["memory.before.wasm_memory"], MiB), 2)} → ${fmt(scaled(e["memory.after.wasm_memory"], MiB), 2)}`],
        ["wasm heap live KiB before → after", (e) => `${fmt(scaled(e["memory.before.heap_live"], 1 / 1024), 1)} → ${fmt(scaled(e["memory.after.heap_live"], 1 / 1024), 1)}`],
        ["JS heap MiB before → after", (e) => `${fmt(scaled(e["memory.before.js_heap"], MiB), 2)} → ${fmt(scaled(e["memory.after.js_heap"], MiB), 2)}`],
      ]);
      md.push(
        "Each cycle waits for the closing handshake (the `close` event), except gloo-net's: its `close()` " +
          "removes its listeners and returns at once, with no way to wait, so its cycles skip that wait and its close event; " +
          "and reconnecting-websocket's and partysocket's: their `close()` detaches the browser's socket and fires a " +
          "`close` event of its own at once (code 1000), before the handshake.",
      );
      md.push("");
      break;
    case "w5":
      w.title += ` (${((p.n * p.size) / 1e6).toFixed(0)} MB in ${p.size / 1024} KiB messages, read at ${p.rate / 1e6} MB/s)`;
      rows(w, [
        ["peak JS heap MiB", (e) => cell(e["memory.peak_js_heap"], 1, MiB)],
        ["wasm memory MiB", (e) => cell(e["memory.end.wasm_memory"], 1, MiB)],
        ["wasm heap peak MiB", (e) => cell(e["memory.end.heap_peak"], 1, MiB)],
        ["peak renderer RSS growth MiB", (e) => cell(e.peak_rss_growth_kb, 1, 1 / 1024)],
        ["time s", (e) => cell(e.elapsed_ms, 2, 1 / 1000)],
        ["messages read", (e) => cell(e.count, 0)],
      ]);
      md.push(
        "resocket-limit is resocket with `inbound_limit(8 MiB, InboundOverflow::DropNewest)`: it keeps at most 8 MiB " +
          "of unread messages and reports each run of dropped ones to the reader; the others keep everything.",
      );
      md.push("");
      break;
    case "w6":
      w.title += ` (${p.n} messages)`;
      rows(w, [
        ["sends/s", (e) => cell(e.per_s, 0)],
        ["÷ raw", (e) => paired(e.paired_ratio_to_raw)],
        ["CPU µs/send", (e) => cell(e.main_cpu_us_per_msg, 1)],
        ["CPU ÷ raw", (e) => paired(e.paired_cpu_ratio_to_raw)],
        ["server CPU", (e) => pct(e.server_cpu_share)],
      ]);
      md.push(
        "Each send is awaited before the next. Raw JS and resocket wait until the browser has transmitted the message " +
          "(`bufferedAmount` back to 0; raw JS, and the js- contenders through raw JS's code, look at every task); " +
          "gloo-net's and ws_stream_wasm's flush returns without waiting for that.",
      );
      md.push("");
      break;
    case "w7":
      w.title += ` (${p.n} × ${p.size / 1024} KiB)`;
      rows(w, [
        ["MB/s", (e) => cell(e.mb_s, 0)],
        ["÷ raw", (e) => paired(e.paired_ratio_to_raw)],
        ["CPU µs/msg", (e) => cell(e.main_cpu_us_per_msg, 1)],
        ["CPU ÷ raw", (e) => paired(e.paired_cpu_ratio_to_raw)],
        ["server CPU", (e) => pct(e.server_cpu_share)],
      ]);
      md.push(
        "Everything is handed over at once (the Sink as fast as it takes it), then one flush. Raw JS, resocket and the " +
          "js- contenders end when the browser has transmitted it all (`bufferedAmount` back to 0); gloo-net's and " +
          "ws_stream_wasm's flush returns once the browser has it.",
      );
      md.push("");
      break;
  }
}
// Where the time goes in the throughput workloads.
const busyRows = workloads.filter((w) => ["w1", "w2", "w7"].includes(w.workload));
if (busyRows.length) {
  md.push("### Where the time goes (W1, W2, W7): CPU time ÷ elapsed time, medians");
  md.push("");
  md.push("100 % = one core busy for the whole run. 2 cores in all, shared by everything below.");
  md.push("");
  md.push("| workload | contender | renderer main thread | renderer, all threads | network service | browser process | echo server |");
  md.push("|---|---|---|---|---|---|---|");
  const p = (s) => (s ? `${Math.round(s.median * 100)} %` : "–");
  for (const w of busyRows) {
    for (const c of contenders) {
      const e = table[w.id]?.[c];
      if (!e || !e["busy.main"]) continue;
      md.push(`| ${w.id} | ${c} | ${p(e["busy.main"])} | ${p(e["busy.renderer"])} | ${p(e["busy.network"])} | ${p(e["busy.browser"])} | ${p(e["busy.server"])} |`);
    }
  }
  md.push("");
}

// Calls from wasm into JavaScript, per message (per cycle in W4): counted, not timed.
const counted = workloads.filter((w) => Object.values(table[w.id] ?? {}).some((e) => e.calls));
if (counted.length) {
  md.push("### Calls from wasm into JavaScript per message (per cycle for W4)");
  md.push("");
  md.push("Counted in a separate pass with small counts (every wasm-bindgen import wrapped), so exact, not timed.");
  md.push("");
  // One row per wasm contender, one column per counted workload.
  const countTable = (count) => {
    md.push(`| contender | ${counted.map((w) => w.id).join(" | ")} |`);
    md.push(`|---|${counted.map(() => "---").join("|")}|`);
    for (const c of contenders.filter((c) => c !== "raw-js")) {
      const cells = counted.map((w) => count(table[w.id]?.[c]));
      if (cells.every((x) => x == null)) continue;
      md.push(`| ${c} | ${cells.map((x) => (x == null ? "–" : x.toFixed(2))).join(" | ")} |`);
    }
    md.push("");
  };
  countTable((e) => e?.calls?.per_msg);
  md.push("Calls to the Rust allocator per message (per cycle for W4), the workload's own included (it builds each message it sends and checks each it gets, the same for every library); median over the timed rounds, a count, not timed:");
  md.push("");
  countTable((e) => e?.allocations_per_msg?.median);
  for (const w of counted.filter((w) => ["w1", "w2", "w4", "w6"].includes(w.workload))) {
    md.push(`Per ${w.workload === "w4" ? "cycle" : "message"} in ${w.id}, by import (JavaScript function or wasm-bindgen intrinsic):`);
    md.push("");
    for (const c of contenders) {
      const k = table[w.id]?.[c]?.calls;
      if (!k) continue;
      const parts = Object.entries(k.by_import)
        .map(([name, n]) => [name, n / k.n])
        .filter(([, x]) => x >= 0.1)
        .sort((a, b) => b[1] - a[1])
        .map(([name, x]) => `${name} ${x.toFixed(1)}`);
      md.push(`- ${c}: ${parts.join(", ")}`);
    }
    md.push("");
  }
}

if (size?.length) {
  md.push("### Size of a minimal app (connect, send one text, await one reply)");
  md.push("");
  md.push(`Release profile (opt-level "z", LTO, codegen-units 1, panic abort), ${size[0].optimiser}.`);
  md.push("");
  md.push("| app | .wasm raw | .wasm gzip | JS glue raw | JS glue gzip |");
  md.push("|---|---|---|---|---|");
  for (const a of size) md.push(`| ${a.app} | ${a.wasm?.raw ?? "–"} B | ${a.wasm?.gzip ?? "–"} B | ${a.js?.raw ?? "–"} B | ${a.js?.gzip ?? "–"} B |`);
  md.push("");
}
if (errors.length || !done || done.failed) {
  md.push("### Errors");
  md.push("");
  if (!done) md.push("- the run did not finish");
  if (done?.error) md.push(`- runner: ${done.error}`);
  for (const e of errors) md.push(`- ${e}`);
  md.push("");
}
writeFileSync(`${outPath}.md`, md.join("\n"));
process.exit(errors.length || !done || done.failed ? 1 : 0);
