// The resocket demo: one ResilientWebSocket against the test server, faults on demand, and
// everything the socket tells (events, bufferedAmount, backpressure) drawn live.
import init, { ResilientWebSocket } from "./pkg/resocket.js";

const $ = (id) => document.getElementById(id);
const KEY = `demo-${Math.random().toString(36).slice(2, 10)}`;
const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;
const CHUNK = 64 * 1024;
const BURST = 100;
const ENDPOINTS = { echo: "/echo", stall: "/stall", silent: "/silent" };
const SAMPLE_MS = 250;
const HISTORY = 120; // 30 s of samples

let mode = "echo";
let socket = null;
let loadOn = false;
let waitingSince = null;
let countdown = null;
let openedAt = null;
const stats = { sent: 0, received: 0, reconnects: 0, requeued: 0, rtt: null, inOrder: true };
const order = { text: 0, binary: 0 };
let loadSeq = 0;
const samples = [];

function options() {
  return {
    heartbeat: $("opt-heartbeat").checked
      ? { interval: 4000, timeout: 3000, ping: "\u2665", pong: "\u2665" }
      : false,
    reconnect: { base: 500, cap: 8000 },
    highWaterMark: HIGH_WATER,
    lowWaterMark: LOW_WATER,
    connectTimeout: 5000,
  };
}

// ---- the socket ----

function connect() {
  if (socket && socket.readyState !== ResilientWebSocket.CLOSED) socket.close(1000, "replaced");
  const opts = options();
  // A URL function is called before every attempt: the fault buttons switch endpoints here.
  const s = new ResilientWebSocket(() => `${ENDPOINTS[mode]}?key=${KEY}`, ["v2.resocket", "v1.resocket"], opts);
  socket = s;
  const mine = (f) => (event) => { if (socket === s) f(event); };
  s.addEventListener("statechange", mine((e) => {
    showState(e.state);
    if (e.state === "closed") log("info", "■", "closed for good: New socket starts again");
  }));
  s.addEventListener("open", mine(() => {
    openedAt = performance.now();
    countdown = null;
    $("protocol").textContent = s.protocol || "none";
    $("endpoint").textContent = new URL(s.url).pathname;
    log("open", "●", `open ${new URL(s.url).pathname} (subprotocol ${s.protocol || "none"})`);
  }));
  s.addEventListener("close", mine((e) => {
    openedAt = null;
    const how = e.wasClean ? "clean" : "not clean";
    log("close", "■", `close ${e.code}${e.reason ? ` "${e.reason}"` : ""} (${how})`);
  }));
  s.addEventListener("reconnecting", mine((e) => {
    stats.reconnects++;
    countdown = { attempt: e.attempt, delay: e.delay, start: performance.now() };
    log("reconnecting", "↻", `reconnect attempt ${e.attempt} in ${formatMs(e.delay)} (backoff with jitter)`);
  }));
  s.addEventListener("requeued", mine((e) => {
    stats.requeued += e.count;
    log("info", "⇡", `${e.count} untransmitted message${e.count === 1 ? "" : "s"} requeued, to go first`);
  }));
  s.addEventListener("heartbeat", mine((e) => {
    stats.rtt = e.rtt;
    log("heartbeat", "♥", `pong after ${formatMs(e.rtt)}`);
  }));
  s.addEventListener("error", mine((e) => {
    log("error", "✕", e.error ? `${e.error.name}: ${e.error.message}` : e.message);
  }));
  s.addEventListener("message", mine((e) => onMessage(e.data)));
  $("endpoint").textContent = ENDPOINTS[mode];
  renderCode(opts);
  showState(s.state);
  return s;
}

function onMessage(data) {
  stats.received++;
  if (typeof data === "string") {
    const burst = /^burst #(\d+)$/.exec(data);
    if (burst) {
      checkOrder("text", Number(burst[1]));
      if (Number(burst[1]) % BURST === 0) log("in", "↓", `…burst echoed up to #${burst[1]}`);
      return;
    }
    log("in", "↓", data);
  } else {
    checkOrder("binary", new DataView(data).getUint32(0));
  }
}

function checkOrder(kind, seq) {
  if (seq <= order[kind]) stats.inOrder = false;
  order[kind] = seq;
}

function send(data, text) {
  try {
    socket.send(data);
    stats.sent++;
    if (text) log("out", "↑", text);
  } catch (e) {
    log("error", "✕", `${e.name}: ${e.message}`);
  }
}

let burstNext = 0;
function burst() {
  for (let i = 0; i < BURST; i++) send(`burst #${++burstNext}`);
  log("out", "↑", `burst of ${BURST} (#${burstNext - BURST + 1}…#${burstNext}) with send(): ${socket.readyState === 1 ? "sent" : "queued until open"}`);
}

async function runLoad() {
  const chunk = new Uint8Array(CHUNK);
  while (loadOn) {
    const s = socket;
    new DataView(chunk.buffer).setUint32(0, ++loadSeq);
    waitingSince = performance.now();
    try {
      await s.sendAsync(chunk); // waits while bufferedAmount is above the high-water mark
    } catch (e) {
      log("error", "✕", `load stopped: ${e.name}: ${e.message}`);
      setLoad(false);
      break;
    } finally {
      waitingSince = null;
    }
    stats.sent++;
    await new Promise((r) => setTimeout(r, 25));
  }
}

function setLoad(on) {
  if (loadOn === on) return;
  loadOn = on;
  $("btn-load").setAttribute("aria-pressed", String(on));
  $("btn-load").textContent = on ? "Stop load" : "Start load";
  if (on) {
    log("out", "↑", "load: 64 KiB chunks with await sendAsync()");
    runLoad();
  }
}

// ---- faults ----

async function api(path, note) {
  log("fault", "⚡", note);
  try {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) log("error", "✕", `${path}: HTTP ${r.status}`);
  } catch (e) {
    log("error", "✕", `${path}: ${e.message}`);
  }
}

function setMode(next) {
  mode = next;
  $("btn-heal").hidden = mode === "echo";
  $("btn-stall").setAttribute("aria-pressed", String(mode === "stall"));
  $("btn-silent").setAttribute("aria-pressed", String(mode === "silent"));
}

$("btn-drop").onclick = () => api(`/api/drop/${KEY}`, "drop: the server resets the TCP connection");
$("btn-restart").onclick = () => api(`/api/close/${KEY}/1012/restart`, "restart: the server closes with 1012 (service restart)");
$("btn-stall").onclick = () => {
  setMode("stall");
  setLoad(true);
  api(`/api/drop/${KEY}`, "stall: next connection goes to a server that stops reading");
};
$("btn-silent").onclick = () => {
  setMode("silent");
  api(`/api/drop/${KEY}`, "silent: next connection goes to a server that never answers");
};
$("btn-heal").onclick = () => {
  setMode("echo");
  api(`/api/drop/${KEY}`, "heal: next connection goes to the echo server");
};
$("btn-server-close").onclick = () => {
  const code = Number($("close-code").value);
  const reason = encodeURIComponent($("close-reason").value);
  api(`/api/close/${KEY}/${code}/${reason}`, `the server closes with ${code}`);
};
/** A socket call from a button: logged as `text` with `icon` if it returns, else its error. */
function act(call, icon, text) {
  try {
    call();
    log("fault", icon, text);
  } catch (e) {
    log("error", "✕", `${e.name}: ${e.message}`);
  }
}
$("btn-close").onclick = () =>
  act(() => socket.close(1000, "bye"), "■", "close(1000, \"bye\"): closed for good, no reconnection");
$("btn-reconnect").onclick = () =>
  act(() => socket.reconnect(4000, "reconnect now"), "↻", "reconnect(4000, \"reconnect now\"): a new connection at once");
$("btn-new").onclick = () => {
  setMode("echo");
  log("info", "✚", "new socket");
  connect();
};
$("btn-burst").onclick = burst;
$("btn-load").onclick = () => setLoad(!loadOn);
$("btn-clear").onclick = () => ($("log").textContent = "");
$("send-form").onsubmit = (e) => {
  e.preventDefault();
  const text = $("send-input").value;
  send(text, text);
};

// ---- display ----

function showState(state) {
  $("state").dataset.state = state;
  $("state-text").textContent = state;
  const closed = state === "closed";
  for (const id of ["btn-send", "btn-burst", "btn-close", "btn-reconnect"]) $(id).disabled = closed;
  if (state !== "reconnecting") countdown = null;
}

function log(kind, icon, text) {
  const li = document.createElement("li");
  li.className = kind;
  const time = document.createElement("time");
  const d = new Date();
  time.textContent = `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  const i = document.createElement("span");
  i.className = "icon";
  i.textContent = icon;
  const m = document.createElement("span");
  m.className = "msg";
  m.textContent = text;
  li.append(time, i, m);
  const list = $("log");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(li);
  while (list.children.length > 400) list.firstChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function formatMs(ms) {
  return ms < 10 ? `${ms.toFixed(1)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function formatBytes(n) {
  const trim = (v) => String(Number(v.toFixed(1)));
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${trim(n / 1024)} KiB` : `${trim(n / 1048576)} MiB`;
}

function renderCode(o) {
  const hb = o.heartbeat
    ? `{ interval: <n>${o.heartbeat.interval}</n>,\n      timeout: <n>${o.heartbeat.timeout}</n>, ping: <s>"♥"</s>, pong: <s>"♥"</s> }`
    : "<k>false</k>";
  $("code").innerHTML = [
    `<k>import</k> init, { ResilientWebSocket }`,
    `  <k>from</k> <s>"resocket"</s>;`,
    `<k>await</k> init();`,
    ``,
    `<c>// the URL function runs before every attempt</c>`,
    `<k>const</k> socket = <k>new</k> ResilientWebSocket(`,
    `  () => <s>\`/echo?key=\${key}\`</s>,`,
    `  [<s>"v2.resocket"</s>, <s>"v1.resocket"</s>],`,
    `  { reconnect: { base: <n>500</n>, cap: <n>8000</n> },`,
    `    heartbeat: ${hb},`,
    `    highWaterMark: <n>${o.highWaterMark}</n>,`,
    `    lowWaterMark: <n>${o.lowWaterMark}</n> });`,
    ``,
    `socket.onmessage = (e) => show(e.data);`,
    `<c>// waits while bufferedAmount is high</c>`,
    `<k>await</k> socket.sendAsync(chunk);`,
  ]
    .join("\n")
    .replace(/<(\/?)([kscn])>/g, (_, close, cls) => (close ? "</span>" : `<span class="${cls}">`));
}

function tick() {
  const now = performance.now();
  if (socket) {
    $("buffered").textContent = formatBytes(socket.bufferedAmount);
  }
  const waiting = waitingSince !== null && now - waitingSince > 150;
  $("backpressure").dataset.on = String(waiting);
  $("backpressure").textContent = waiting ? `waiting ${formatMs(now - waitingSince)}` : "none";
  $("uptime").textContent = openedAt === null ? "—" : formatMs(now - openedAt);
  $("reconnects").textContent = stats.reconnects;
  $("requeued").textContent = stats.requeued;
  $("rtt").textContent = stats.rtt === null ? "—" : formatMs(stats.rtt);
  $("sent").textContent = stats.sent;
  $("received").textContent = stats.received;
  $("order").textContent = stats.inOrder ? "✓" : "✕";
  const box = $("countdown");
  box.hidden = countdown === null;
  if (countdown) {
    const left = Math.max(0, countdown.delay - (now - countdown.start));
    $("countdown-label").textContent = `Reconnect attempt ${countdown.attempt}`;
    $("countdown-time").textContent = left > 0 ? `in ${formatMs(left)}` : "connecting…";
    $("countdown-fill").style.width = `${countdown.delay ? 100 * (1 - left / countdown.delay) : 100}%`;
  }
  requestAnimationFrame(tick);
}

let lastSample = { sent: 0, received: 0 };
function sample() {
  if (!socket) return;
  samples.push({
    buffered: socket.bufferedAmount,
    sent: ((stats.sent - lastSample.sent) * 1000) / SAMPLE_MS,
    received: ((stats.received - lastSample.received) * 1000) / SAMPLE_MS,
    down: socket.state !== "open",
  });
  lastSample = { sent: stats.sent, received: stats.received };
  while (samples.length > HISTORY) samples.shift();
  drawChart();
}

// The smallest 1, 2, 4 or 8 times a power of ten at or above v: quarters stay round.
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  for (const m of [1, 2, 4, 8]) if (m * p >= v) return m * p;
  return 10 * p;
}

function drawChart() {
  const canvas = $("chart");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 74, r: 44, t: 10, b: 22 };
  const cw = w - pad.l - pad.r;
  const ch = h - pad.t - pad.b;
  const maxBytes = 1024 * niceCeil(Math.max(HIGH_WATER * 1.25, ...samples.map((s) => s.buffered)) / 1024);
  const maxRate = niceCeil(Math.max(10, ...samples.map((s) => Math.max(s.sent, s.received))));
  const x = (i) => pad.l + (cw * (i + HISTORY - samples.length)) / (HISTORY - 1);
  const yb = (v) => pad.t + ch - (ch * v) / maxBytes;
  const yr = (v) => pad.t + ch - (ch * v) / maxRate;

  g.font = "11px ui-monospace, Menlo, monospace";
  g.textBaseline = "middle";
  for (let k = 0; k <= 4; k++) {
    const y = pad.t + (ch * k) / 4;
    g.strokeStyle = "rgba(255,255,255,0.06)";
    g.beginPath();
    g.moveTo(pad.l, y);
    g.lineTo(pad.l + cw, y);
    g.stroke();
    g.fillStyle = "#8d9bbd";
    g.textAlign = "right";
    g.fillText(formatBytes(Math.round(maxBytes * (1 - k / 4))), pad.l - 8, y);
    g.textAlign = "left";
    g.fillText(String(Number((maxRate * (1 - k / 4)).toFixed(1))), pad.l + cw + 8, y);
  }
  g.textAlign = "left";
  g.fillText("-30 s", pad.l, h - 8);
  g.textAlign = "right";
  g.fillText("now", pad.l + cw, h - 8);

  // Disconnected stretches.
  g.fillStyle = "rgba(248,113,113,0.14)";
  samples.forEach((s, i) => {
    if (s.down) g.fillRect(x(i) - cw / HISTORY / 2, pad.t, cw / HISTORY + 0.5, ch);
  });

  // High-water mark.
  g.setLineDash([4, 3]);
  g.strokeStyle = "#fbbf24";
  g.beginPath();
  g.moveTo(pad.l, yb(HIGH_WATER));
  g.lineTo(pad.l + cw, yb(HIGH_WATER));
  g.stroke();
  g.setLineDash([]);

  if (samples.length > 1) {
    const grad = g.createLinearGradient(0, pad.t, 0, pad.t + ch);
    grad.addColorStop(0, "rgba(34,211,238,0.55)");
    grad.addColorStop(1, "rgba(34,211,238,0.03)");
    g.fillStyle = grad;
    g.beginPath();
    g.moveTo(x(0), yb(0));
    samples.forEach((s, i) => g.lineTo(x(i), yb(s.buffered)));
    g.lineTo(x(samples.length - 1), yb(0));
    g.closePath();
    g.fill();
    g.strokeStyle = "#22d3ee";
    g.lineWidth = 1.5;
    g.beginPath();
    samples.forEach((s, i) => (i ? g.lineTo(x(i), yb(s.buffered)) : g.moveTo(x(i), yb(s.buffered))));
    g.stroke();
    for (const [key, color] of [["sent", "#a78bfa"], ["received", "#34d399"]]) {
      g.strokeStyle = color;
      g.lineWidth = 1.6;
      g.beginPath();
      samples.forEach((s, i) => (i ? g.lineTo(x(i), yr(s[key])) : g.moveTo(x(i), yr(s[key]))));
      g.stroke();
    }
    g.lineWidth = 1;
  }
}

// ---- start ----

await init();
log("info", "✚", `connecting; this page's key is ${KEY}`);
connect();
send("hello from the resocket demo", "hello from the resocket demo");
setInterval(sample, SAMPLE_MS);
requestAnimationFrame(tick);
window.addEventListener("resize", drawChart);

// For the console and the end-to-end tests.
window.demo = { get socket() { return socket; }, stats, key: KEY, get mode() { return mode; } };
