// The benchmark runner: finds this tab's renderer process, then runs every workload with
// every contender in interleaved rounds, each run in a fresh frame (run.html), and ends by
// posting {"type":"done"} to the test server. Configuration: config.json, written by
// scripts/bench.sh once Chromium runs (it holds Chromium's session id). No DevTools client
// is attached to this tab: results go over HTTP. A last pass (small counts) counts each
// library's calls from wasm into JavaScript per message.

const getJson = async (path) => (await fetch(path, { cache: "no-store" })).json();
const post = (value) => fetch("/api/bench/result", { method: "POST", body: JSON.stringify(value) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const logEl = document.getElementById("log");
const log = (line) => (logEl.textContent += line + "\n");

// Our renderer is the one whose main thread burns the CPU we burn: spin for 300 ms and
// see which renderer's main-thread time moved most. Three times, after a settling pause
// (other renderers are busy while the browser starts): the same one must win each time.
async function spinOnce(spin, session) {
  const renderers = async () => (await getJson(`/api/bench/renderer-cpu?session=${session}`)).renderers;
  const before = await renderers();
  const t = performance.now();
  while (performance.now() - t < spin) {}
  const after = await renderers();
  const moved = after.map((r) => ({
    pid: r.pid,
    ms: (r.main_ns - (before.find((b) => b.pid === r.pid)?.main_ns ?? r.main_ns)) / 1e6,
  }));
  return moved.sort((a, b) => b.ms - a.ms);
}

async function calibrate(session) {
  await sleep(1000);
  const spin = 300;
  const tries = [];
  for (let i = 0; i < 3; i++) tries.push(await spinOnce(spin, session));
  const pids = tries.map((t) => t[0]?.pid ?? 0);
  const pid = pids.every((p) => p === pids[0]) ? pids[0] : 0;
  return { spin_ms: spin, tries, pid };
}

function runInFrame(cfg, w, contender, round, pid, calls = false) {
  return new Promise((resolve) => {
    const frame = document.createElement("iframe");
    const query = new URLSearchParams({
      contender,
      workload: w.workload,
      id: w.id,
      round,
      pid,
      session: cfg.session,
      params: JSON.stringify(w.params),
    });
    if (calls) query.set("calls", "1");
    let timer = null;
    const finish = (result, posted) => {
      clearTimeout(timer);
      removeEventListener("message", onMessage);
      frame.remove();
      if (!posted) post(result);
      resolve(result);
    };
    const onMessage = (e) => {
      if (e.source === frame.contentWindow) finish(e.data, true);
    };
    timer = setTimeout(() => {
      finish(
        { type: "run", id: w.id, workload: w.workload, contender, round, ok: false, error: `no result within ${cfg.run_timeout_s} s` },
        false,
      );
    }, cfg.run_timeout_s * 1000);
    addEventListener("message", onMessage);
    frame.src = "run.html?" + query;
    document.body.append(frame);
  });
}

async function config() {
  for (let i = 0; i < 100; i++) {
    const r = await fetch("config.json", { cache: "no-store" });
    if (r.ok) return r.json();
    await sleep(100);
  }
  throw new Error("no config.json");
}

async function main() {
  const cfg = await config();
  if (cfg.only) cfg.workloads = cfg.workloads.filter((w) => cfg.only.includes(w.id));
  const [port, ...extra] = cfg.ports;
  const ws = (p, path) => `ws://127.0.0.1:${p}${path}`;
  const urls = { echo: ws(port, "/echo"), ports: [port, ...extra].map((p) => ws(p, "/echo")) };
  for (const w of cfg.workloads) {
    if (w.workload === "w4") w.params.urls = urls.ports;
    else if (w.workload === "w5") w.params.url = ws(port, `/flood/${w.params.n}/${w.params.size}`);
    else if (w.workload === "w6" || w.workload === "w7") w.params.url = ws(port, "/sink");
    else w.params.url = urls.echo;
  }

  const calibration = await calibrate(cfg.session);
  const pid = calibration.pid;
  log(`renderer ${pid}: ${JSON.stringify(calibration.tries)}`);
  if (!pid) throw new Error(`no renderer moved consistently with our spinning: ${JSON.stringify(calibration.tries)}`);
  await post({
    type: "meta",
    mode: cfg.mode,
    rounds: cfg.rounds,
    user_agent: navigator.userAgent,
    cross_origin_isolated: crossOriginIsolated,
    calibration,
    workloads: cfg.workloads,
  });

  let failed = 0;
  for (let round = 0; round < cfg.rounds; round++) {
    for (const [wi, w] of cfg.workloads.entries()) {
      const contenders = cfg.contenders.filter((c) => !w.contenders || w.contenders.includes(c));
      // Rotate the order every round and workload, so no contender always goes first.
      const shift = (round + wi) % contenders.length;
      const order = [...contenders.slice(shift), ...contenders.slice(0, shift)];
      for (const contender of order) {
        const r = await runInFrame(cfg, w, contender, round, pid);
        if (!r.ok) failed++;
        log(`round ${round} ${w.id} ${contender}: ${r.ok ? `${r.elapsed_ms.toFixed(1)} ms` : `ERROR ${r.error}`}`);
        await sleep(cfg.pause_ms);
      }
    }
  }
  // The calls pass: the contenders with wasm once more, with small counts and counting (the
  // npm package's glue is hooked like the bench module's).
  const noWasm = ["raw-js", "js-reconnecting-websocket", "js-partysocket"];
  for (const w of cfg.workloads) {
    if (!w.calls_n) continue;
    const small = { ...w, params: { ...w.params, n: w.calls_n } };
    for (const contender of cfg.contenders.filter((c) => !noWasm.includes(c) && (!w.contenders || w.contenders.includes(c)))) {
      const r = await runInFrame(cfg, small, contender, 0, pid, true);
      if (!r.ok) failed++;
      log(`calls ${w.id} ${contender}: ${r.ok ? `${r.calls_per_msg.toFixed(2)} per message` : `ERROR ${r.error}`}`);
      await sleep(cfg.pause_ms);
    }
  }
  await post({ type: "done", failed });
  log("done");
}

main().catch((e) => post({ type: "done", failed: -1, error: String(e?.message ?? e) }));
