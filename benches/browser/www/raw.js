// The raw-JavaScript contender: the same workloads as benches/browser/src/workloads.rs,
// with the same messages and the same checks, on the browser's plain WebSocket. It is the
// physical limit the libraries are compared with. The JavaScript libraries (js-resocket,
// js-reconnecting-websocket, js-partysocket) run the same code on their socket class, which
// each offers as a drop-in for the browser's: `runRaw`'s `make` builds their sockets.

const TEXT_PAD = "x".repeat(54);
const PING_PAD = "y".repeat(22);

const text = (i, pad) => String(i).padStart(10, "0") + pad;

function checkText(i, pad, d) {
  if (typeof d !== "string") throw new Error(`message ${i}: binary`);
  const digits = d.slice(0, 10);
  if (d.length !== 10 + pad.length || !/^[0-9]{10}$/.test(digits) || Number(digits) !== i || d.slice(10) !== pad) {
    throw new Error(`message ${i}: wrong text ${JSON.stringify(d.slice(0, 20))}`);
  }
}

function binary(i, size) {
  const b = new Uint8Array(size);
  b.fill(i % 251);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

function checkBinary(i, size, d) {
  if (!(d instanceof ArrayBuffer)) throw new Error(`message ${i}: not an ArrayBuffer`);
  const v = new DataView(d);
  if (d.byteLength !== size || v.getUint32(0) !== i || v.getUint8(size - 1) !== i % 251) {
    throw new Error(`message ${i}: wrong binary (${d.byteLength} bytes)`);
  }
}

/// A socket whose messages can be awaited one at a time, in order, like a Stream.
class Conn {
  static open(url, make) {
    return new Promise((resolve, reject) => {
      const ws = make(url);
      ws.binaryType = "arraybuffer";
      // Once: a library that reconnects fires open again, which must not make a second Conn
      // take the handlers (the run would then wait for messages nobody reads, not fail).
      ws.onopen = () => {
        ws.onopen = null;
        resolve(new Conn(ws));
      };
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.head = 0;
    this.waiter = null;
    this.ended = null;
    ws.onmessage = (e) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(e.data);
      } else {
        this.queue.push(e.data);
      }
    };
    ws.onclose = (e) => {
      this.ended = e;
      if (this.waiter) this.waiter.reject(new Error(`closed with ${e.code}`));
    };
  }

  next() {
    if (this.head < this.queue.length) {
      const d = this.queue[this.head];
      this.queue[this.head++] = undefined;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      return d;
    }
    if (this.ended) return Promise.reject(new Error(`closed with ${this.ended.code}`));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  close() {
    return new Promise((resolve, reject) => {
      const done = (e) => (e.code === 1000 ? resolve() : reject(new Error(`closed with ${e.code}`)));
      if (this.ended) return done(this.ended);
      this.ws.onclose = done;
      this.ws.close(1000);
    });
  }
}

// W1 and W2: send everything at once (the browser buffers it), check every echo.
async function pipelined(p, probe, make) {
  const c = await Conn.open(p.url, make);
  const size = p.size || 0;
  await probe("start");
  const started = performance.now();
  for (let i = 0; i < p.n; i++) c.ws.send(size ? binary(i, size) : text(i, TEXT_PAD));
  for (let i = 0; i < p.n; i++) {
    const d = await c.next();
    if (size) checkBinary(i, size, d);
    else checkText(i, TEXT_PAD, d);
  }
  const elapsed_ms = performance.now() - started;
  await probe("end");
  await c.close();
  return { elapsed_ms, count: p.n, bytes: p.n * (size || 64) };
}

// W3: one 32-byte message at a time.
async function pingPong(p, probe, make) {
  const c = await Conn.open(p.url, make);
  const latencies = new Float64Array(p.n);
  await probe("start");
  const started = performance.now();
  for (let i = 0; i < p.n; i++) {
    const t = performance.now();
    c.ws.send(text(i, PING_PAD));
    checkText(i, PING_PAD, await c.next());
    latencies[i] = performance.now() - t;
  }
  const elapsed_ms = performance.now() - started;
  await probe("end");
  await c.close();
  return { elapsed_ms, count: p.n, latencies_ms: latencies };
}

// W4: connect, echo one message, close (and wait for the close), rotating over the URLs.
async function cycles(p, probe, make) {
  await probe("start");
  const started = performance.now();
  for (let i = 0; i < p.n; i++) {
    const c = await Conn.open(p.urls[i % p.urls.length], make);
    c.ws.send(text(i, PING_PAD));
    checkText(i, PING_PAD, await c.next());
    await c.close();
  }
  const elapsed_ms = performance.now() - started;
  await probe("end");
  return { elapsed_ms, count: p.n };
}

// W5: the server floods; the app consumes no faster than p.rate bytes per second.
async function flood(p, probe, make) {
  const c = await Conn.open(p.url, make);
  await probe("start");
  const started = performance.now();
  const msPerMessage = (p.size / p.rate) * 1000;
  for (let i = 0; i < p.n; i++) {
    checkBinary(i, p.size, await c.next());
    const ahead = started + (i + 1) * msPerMessage - performance.now();
    if (ahead >= 1) await new Promise((r) => setTimeout(r, ahead));
  }
  if ((await c.next()) !== "done") throw new Error("no `done` after the flood");
  const elapsed_ms = performance.now() - started;
  await probe("end");
  await c.close();
  return { elapsed_ms, count: p.n, bytes: p.n * p.size };
}

// W6: one-way sends, each waiting until the browser has transmitted it (`bufferedAmount`
// back to 0), looked at every task through a MessageChannel: the least any library can
// wait for what Rust's `SinkExt::send` promises. `/sink` never answers; what it received
// is checked afterwards in its report.
async function oneWay(p, probe, make) {
  const key = `w6-${Math.floor(Math.random() * 1e15)}`;
  const c = await Conn.open(`${p.url}?key=${key}`, make);
  const nextTask = taskWaiter();
  await probe("start");
  const started = performance.now();
  for (let i = 0; i < p.n; i++) {
    c.ws.send(text(i, PING_PAD));
    while (c.ws.bufferedAmount > 0) await nextTask();
  }
  const elapsed_ms = performance.now() - started;
  await probe("end");
  await c.close();
  nextTask.close();
  (await received(probe, key, p.n)).forEach((m, i) => checkText(i, PING_PAD, m));
  return { elapsed_ms, count: p.n };
}

// W7: a one-way upload: every message handed over at once, then wait until the browser has
// transmitted them all (`bufferedAmount` back to 0, looked at every task). `/sink` never
// answers; what it received is checked afterwards in its report.
async function upload(p, probe, make) {
  const key = `w7-${Math.floor(Math.random() * 1e15)}`;
  const c = await Conn.open(`${p.url}?key=${key}`, make);
  const nextTask = taskWaiter();
  await probe("start");
  const started = performance.now();
  for (let i = 0; i < p.n; i++) c.ws.send(binary(i, p.size));
  while (c.ws.bufferedAmount > 0) await nextTask();
  const elapsed_ms = performance.now() - started;
  await probe("end");
  await c.close();
  nextTask.close();
  (await received(probe, key, p.n)).forEach((m, i) => {
    // The server records a binary message as `bin:LEN:` and its first 8 bytes in hex.
    const head = Array.from(binary(i, 8), (b) => b.toString(16).padStart(2, "0")).join("");
    if (m !== `bin:${p.size}:${head}`) throw new Error(`message ${i}: the server received ${m}`);
  });
  return { elapsed_ms, count: p.n, bytes: p.n * p.size };
}

// A promise of the next task (a message posted to ourselves), for looking at
// `bufferedAmount` as often as the page can; `close()` when done.
function taskWaiter() {
  const channel = new MessageChannel();
  let wake = null;
  channel.port1.onmessage = () => wake();
  const next = () => new Promise((resolve) => ((wake = resolve), channel.port2.postMessage(0)));
  next.close = () => channel.port1.close();
  return next;
}

// What the server received on the connection keyed `key` (W6, W7): all `n` messages, or
// it throws. js-resocket's heartbeat ping ("hb"; `/sink` never answers) is left out.
async function received(probe, key, n) {
  const ours = (await probe(`received:${key}`, n)).filter((m) => m !== "hb");
  if (ours.length !== n) throw new Error(`the server received ${ours.length} of ${n} messages`);
  return ours;
}

export async function runRaw(workload, p, probe, make = (url) => new WebSocket(url)) {
  switch (workload) {
    case "w1":
    case "w2":
      return pipelined(p, probe, make);
    case "w3":
      return pingPong(p, probe, make);
    case "w4":
      return cycles(p, probe, make);
    case "w5":
      return flood(p, probe, make);
    case "w6":
      return oneWay(p, probe, make);
    case "w7":
      return upload(p, probe, make);
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}
