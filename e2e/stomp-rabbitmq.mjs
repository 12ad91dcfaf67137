// The npm package's StompClient in Chromium against a real RabbitMQ with Web STOMP: what a
// @stomp/stompjs user relies on (subscribe, send, ack/nack, receipts, transactions, events),
// and that bad input is a clear JS error, never a wasm trap.
//
// Needs the broker: scripts/test-stomp.sh starts it and runs this file with
// RESOCKET_STOMP_PORT (its Web STOMP port) and RESOCKET_STOMP_CONTROL_PORT (GET
// /close-connections makes it drop every connection) set. Not named *.test.mjs, so
// scripts/e2e.sh (no broker) leaves it out. RESOCKET_STOMP_PKG: the directory of the
// package's `resocket/stomp` entry (default www/pkg/stomp, from scripts/build-npm.sh web).
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT, launchBrowser, openPage } from "./harness.mjs";

const PORT = process.env.RESOCKET_STOMP_PORT;
const CONTROL = process.env.RESOCKET_STOMP_CONTROL_PORT;
const PKG = path.resolve(ROOT, process.env.RESOCKET_STOMP_PKG ?? path.join("www", "pkg", "stomp"));

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>resocket STOMP test page</title>
<link rel="icon" href="data:,">
<script type="module">
  import init, * as resocket from "./pkg/resocket.js";
  window.resocketReady = init().then(() => { window.resocket = resocket; return true; });
</script>`;

const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".ts": "text/plain" };

/** Serves the test page and the package at /pkg/ on 127.0.0.1. */
async function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      return;
    }
    const file = path.join(PKG, path.basename(url.pathname));
    if (!url.pathname.startsWith("/pkg/") || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

describe("StompClient (npm package) against RabbitMQ", { skip: !PORT && "RESOCKET_STOMP_PORT is not set: run scripts/test-stomp.sh", timeout: 240000 }, () => {
  let server;
  let browser;
  let page;
  const run = (f, arg) => page.evaluate(f, arg);

  before(async () => {
    assert.ok(fs.existsSync(path.join(PKG, "resocket.js")), `no package at ${PKG}: run scripts/build-npm.sh web`);
    server = await serve();
    browser = await launchBrowser();
    page = await openPage(browser, `http://127.0.0.1:${server.address().port}/`);
    await run(() => window.resocketReady);
    assert.equal(await run(() => typeof resocket.StompClient), "function", "the package was built with STOMP");
    await run((port) => {
      window.BROKER = `ws://127.0.0.1:${port}/ws`;
      window.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      window.within = (ms, p, what) =>
        Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out: ${what}`)))]);
      window.queue = (name) => `/queue/${name}-${Math.random().toString(36).slice(2)}`;
      window.connect = (options = {}) =>
        within(
          10000,
          resocket.StompClient.connect(BROKER, {
            login: "guest",
            passcode: "guest",
            reconnect: { base: 100, cap: 500 },
            ...options,
          }),
          "CONNECTED",
        );
      // The next `n` messages of a callback subscription, as plain data.
      window.collect = (client, destination, n, options) => {
        const got = [];
        let done;
        const all = new Promise((r) => (done = r));
        const sub = client.subscribe(
          destination,
          (m) => {
            got.push(m);
            if (got.length === n) done(got);
          },
          options,
        );
        return { sub, all: within(10000, all, `${n} messages on ${destination}`) };
      };
      window.plain = (m) => ({ body: m.body, bytes: Array.from(m.binaryBody), headers: m.headers });
      window.caught = async (f) => {
        try {
          await f();
          return null;
        } catch (e) {
          return { name: e.name, message: e.message, isError: e instanceof Error };
        }
      };
    }, PORT);
  });

  after(async () => {
    if (page) assert.deepEqual(page.crashes(), [], `no wasm trap or panic:\n${page.logged.join("\n")}`);
    await browser?.close();
    server?.close();
  });

  it("sends and receives through a queue: text, bytes, headers, order, for await", async () => {
    const r = await run(async () => {
      const client = await connect();
      const q = queue("plain");
      const { sub, all } = collect(client, q, 3);
      // Not awaited: they go out in the order they were made.
      client.send(q, "hello", { "content-type": "text/plain", "x-odd": "a:b\\c" });
      // Bytes that are valid UTF-8: RabbitMQ's Web STOMP sends MESSAGEs as text frames (its
      // default web_stomp.ws_frame), which the browser refuses for other bytes.
      client.send(q, new Uint8Array([0, 1, 2, 127]));
      client.send(q, new TextEncoder().encode("ü").buffer);
      const messages = (await all).map(plain);
      // Without a callback: the subscription is an async iterable, nothing lost before the loop.
      const q2 = queue("iterated");
      const iterated = client.subscribe(q2, { ack: "client-individual" });
      await client.sendWithReceipt(q2, "one");
      await client.sendWithReceipt(q2, "two");
      const bodies = [];
      for await (const m of iterated) {
        bodies.push(m.body);
        await m.ack();
        if (bodies.length === 2) break; // unsubscribes
      }
      const info = { id: sub.id, destination: sub.destination === q, connected: client.connected, state: client.state };
      sub.unsubscribe();
      sub.unsubscribe(); // again: nothing
      await client.disconnect();
      return { messages, bodies, info, after: { connected: client.connected, state: client.state } };
    });
    const [text, bytes, utf8] = r.messages;
    assert.equal(text.body, "hello");
    assert.equal(text.headers["content-type"], "text/plain");
    assert.equal(text.headers["x-odd"], "a:b\\c");
    assert.match(text.headers.destination, /^\/queue\/plain-/);
    assert.equal(text.headers.subscription, r.info.id);
    assert.ok(text.headers["message-id"]);
    assert.deepEqual(bytes.bytes, [0, 1, 2, 127]);
    assert.equal(bytes.headers["content-length"], "4");
    assert.equal(utf8.body, "ü");
    assert.deepEqual(r.bodies, ["one", "two"]);
    assert.deepEqual(r.info, { id: r.info.id, destination: true, connected: true, state: "open" });
    assert.deepEqual(r.after, { connected: false, state: "closed" });
  });

  it("client ack: a nack redelivers, an ack settles; auto messages need no ack", async () => {
    const r = await run(async () => {
      const client = await connect();
      const q = queue("acks");
      const seen = [];
      let wake;
      const next = () => new Promise((resolve) => (wake = resolve));
      const sub = client.subscribe(
        q,
        (m) => {
          seen.push(m);
          wake?.();
        },
        { ack: "client-individual", headers: { "prefetch-count": "1" } },
      );
      let arrived = next();
      await client.send(q, "job");
      await within(10000, arrived, "first delivery");
      const first = seen[0];
      arrived = next();
      await first.nack();
      await within(10000, arrived, "redelivery after NACK");
      const again = seen[1];
      // Other clients take headers here ({ transaction }); ignoring them would ack outside
      // the transaction for good: refused instead.
      const withHeaders = await caught(() => again.ack({ transaction: "tx-1" }));
      await again.ack();
      await sleep(500);
      const count = seen.length;
      sub.unsubscribe();

      // ack on a message of an auto subscription
      const q2 = queue("auto");
      const { all } = collect(client, q2, 1);
      await client.send(q2, "x");
      const [auto] = await all;
      const autoAck = await caught(() => auto.ack());
      await client.disconnect();
      return {
        withHeaders,
        polluted: (() => {
          // A page's setter on Object.prototype must not swallow a header.
          Object.defineProperty(Object.prototype, "destination", {
            set() {},
            configurable: true,
          });
          try {
            return Object.hasOwn(again.headers, "destination");
          } finally {
            delete Object.prototype.destination;
          }
        })(),
        first: { body: first.body, redelivered: first.headers.redelivered },
        again: { body: again.body, redelivered: again.headers.redelivered },
        count,
        autoAck,
      };
    });
    assert.equal(r.withHeaders.name, "TypeError");
    assert.match(r.withHeaders.message, /message\.ack\(\) takes no argument.*tx\.ack\(message\)/);
    assert.equal(r.polluted, true, "a setter on Object.prototype does not swallow a header");
    assert.deepEqual(r.first, { body: "job", redelivered: "false" });
    assert.deepEqual(r.again, { body: "job", redelivered: "true" });
    assert.equal(r.count, 2, "nothing after the ack");
    assert.equal(r.autoAck.name, "InvalidStateError");
    assert.match(r.autoAck.message, /ack "auto"/);
  });

  it("a receipt confirms a send", async () => {
    const r = await run(async () => {
      const client = await connect();
      const q = queue("receipt");
      const { all } = collect(client, q, 1);
      const receipt = await within(10000, client.sendWithReceipt(q, "sure", { "content-type": "text/plain" }), "RECEIPT");
      const [m] = await all;
      await client.disconnect();
      return { receipt, body: m.body };
    });
    assert.deepEqual(r, { receipt: undefined, body: "sure" });
  });

  it("a transaction delivers on commit, nothing on abort, and is over after either", async () => {
    const r = await run(async () => {
      const client = await connect();
      const q = queue("tx");
      const got = [];
      client.subscribe(q, (m) => got.push(m.body));
      const tx = await client.begin();
      tx.send(q, "a"); // not awaited: commit waits for them
      tx.send(q, new TextEncoder().encode("b"));
      await sleep(300);
      const beforeCommit = got.length;
      await within(10000, tx.commit(), "COMMIT receipt");
      await within(5000, (async () => { while (got.length < 2) await sleep(20); })(), "the committed messages");
      const afterCommit = [...got];
      const late = await caught(() => tx.send(q, "late"));
      const again = await caught(() => tx.commit());

      const aborted = await client.begin();
      await aborted.send(q, "never");
      await within(10000, aborted.abort(), "ABORT receipt");
      await sleep(300);

      // Over from the call on: a send in the same tick is refused too.
      const sameTick = await client.begin();
      const committing = sameTick.commit();
      const sameTickSend = await caught(() => sameTick.send(q, "same tick"));
      await within(10000, committing, "COMMIT receipt (same tick)");

      // acks within a transaction take effect on commit
      const q2 = queue("txack");
      const seen = [];
      client.subscribe(q2, (m) => seen.push(m), { ack: "client-individual" });
      await client.send(q2, "work");
      await within(5000, (async () => { while (!seen.length) await sleep(20); })(), "the message");
      const acking = await client.begin();
      await acking.ack(seen[0]);
      await within(10000, acking.commit(), "COMMIT of the ack");
      await sleep(300);
      const wrongAck = await caught(() => acking.ack("not a message"));
      // A rejected promise, like every other bad argument, not a synchronous throw.
      let wrongAckThrew = false;
      try {
        acking.nack(undefined).catch(() => {});
      } catch {
        wrongAckThrew = true;
      }
      await client.disconnect();
      return {
        id: typeof tx.id, beforeCommit, afterCommit, late, again, sameTickSend, final: got, redelivered: seen.length, wrongAck, wrongAckThrew,
      };
    });
    assert.equal(r.id, "string");
    assert.equal(r.beforeCommit, 0);
    assert.deepEqual(r.afterCommit, ["a", "b"]);
    assert.equal(r.late.name, "InvalidStateError");
    assert.match(r.late.message, /already committed or aborted/);
    assert.equal(r.again.name, "InvalidStateError");
    assert.equal(r.sameTickSend?.name, "InvalidStateError", "a send in the commit's tick");
    assert.deepEqual(r.final, ["a", "b"], "nothing of the aborted transaction");
    assert.equal(r.redelivered, 1, "the acked message is not redelivered");
    assert.equal(r.wrongAck.name, "TypeError");
    assert.match(r.wrongAck.message, /take a StompMessage from a subscription, not string/);
    assert.equal(r.wrongAckThrew, false, "rejects instead of throwing");
  });

  it("disposing ends what runs: a subscription unsubscribes, a transaction aborts, a client disconnects", async () => {
    const r = await run(async () => {
      const client = await connect();
      const q = queue("dispose");
      const got = [];
      const sub = client.subscribe(q, (m) => got.push(m.body));
      await client.sendWithReceipt(q, "before");
      await within(5000, (async () => { while (!got.length) await sleep(20); })(), "the first message");
      sub[Symbol.dispose]();
      const tx = await client.begin();
      await tx.send(q, "in the disposed transaction");
      await tx[Symbol.asyncDispose]();
      // A transaction already over is disposed of without complaint.
      const committed = await client.begin();
      await committed.commit();
      await committed[Symbol.asyncDispose]();
      // What comes to the queue now goes to a new subscriber only.
      const later = [];
      client.subscribe(q, (m) => later.push(m.body));
      await client.sendWithReceipt(q, "after");
      await within(5000, (async () => { while (!later.length) await sleep(20); })(), "the later message");
      await sleep(300);
      const ends = [];
      client.addEventListener("close", (e) => ends.push(e.code));
      await client[Symbol.asyncDispose]();
      return {
        got, later, ends,
        syncDispose: { client: Symbol.dispose in client, transaction: Symbol.dispose in tx },
        freed: await caught(() => client.state),
      };
    });
    assert.deepEqual(r.got, ["before"], "nothing after the subscription was disposed of");
    assert.deepEqual(r.later, ["after"], "nothing of the aborted transaction");
    assert.deepEqual(r.ends, [1000], "disconnected: the socket closed normally");
    // `using` on them is a TypeError (not disposable), not a client left running.
    assert.deepEqual(r.syncDispose, { client: false, transaction: false });
    assert.match(r.freed.message, /null pointer passed to rust/, "the object was let go after");
  });

  it("events: a broker ERROR is one error event with a StompError; the client goes on", async () => {
    const r = await run(async () => {
      const client = await connect();
      const log = [];
      client.addEventListener("error", (e) => log.push([e.error?.name, e.error?.body, e.message]));
      const q = queue("errors");
      const got = [];
      // Two subscriptions hear the same ERROR: one event.
      client.subscribe(q, (m) => got.push(m.body));
      client.subscribe(queue("other"), () => {});
      // RabbitMQ answers an unknown destination type with ERROR (and keeps the session).
      const bad = await caught(() => client.sendWithReceipt("/nonsense/x", "?"));
      await sleep(200);
      await client.sendWithReceipt(q, "after");
      await within(5000, (async () => { while (!got.length) await sleep(20); })(), "a message after the ERROR");
      await client.disconnect();
      // No subscription at all: the ERROR is still an event.
      const lone = await connect();
      const loneLog = [];
      lone.addEventListener("error", (e) => loneLog.push([e.error?.name, e.error?.body]));
      const loneBad = await caught(() => lone.sendWithReceipt("/nonsense/y", "?"));
      await sleep(300);
      await lone.disconnect();
      return { log, got, bad, loneLog, loneBad };
    });
    assert.equal(r.bad.name, "StompError");
    assert.match(r.bad.message, /Unknown destination/);
    assert.equal(r.log.length, 1, JSON.stringify(r.log));
    assert.equal(r.log[0][0], "StompError");
    assert.match(r.log[0][1], /not a valid destination/);
    assert.deepEqual(r.got, ["after"]);
    assert.equal(r.loneBad.name, "StompError");
    assert.equal(r.loneLog.length, 1, JSON.stringify(r.loneLog));
    assert.equal(r.loneLog[0][0], "StompError");
    assert.match(r.loneLog[0][1], /not a valid destination/);
  });

  it("events: the broker drops every connection; close, reconnecting, connect, and the subscription goes on", { skip: !CONTROL && "RESOCKET_STOMP_CONTROL_PORT is not set" }, async () => {
    await run(async () => {
      window.client = await connect();
      window.log = [];
      client.addEventListener("close", (e) => log.push(["close", e instanceof CloseEvent, e.code]));
      client.addEventListener("reconnecting", (e) => log.push(["reconnecting", e.attempt, typeof e.delay]));
      client.addEventListener("connect", (e) => log.push(["connect", client.connected, e.headers.version]));
      window.got = [];
      window.reconnected = new Promise((r) => client.addEventListener("connect", r, { once: true }));
      window.q = queue("dropped");
      client.subscribe(q, (m) => got.push(m.body));
      await client.sendWithReceipt(q, "one");
    });
    const res = await fetch(`http://127.0.0.1:${CONTROL}/close-connections`);
    assert.equal(res.status, 200);
    const r = await run(async () => {
      await within(15000, reconnected, "connect after the broker dropped the connection");
      await client.sendWithReceipt(q, "two");
      await within(5000, (async () => { while (got.length < 2) await sleep(20); })(), "the message after");
      await client.disconnect();
      return { got, log };
    });
    assert.deepEqual(r.got, ["one", "two"]);
    const kinds = r.log.map((e) => e[0]);
    assert.deepEqual(kinds.slice(0, 3), ["close", "reconnecting", "connect"], JSON.stringify(r.log));
    assert.equal(r.log[0][1], true);
    assert.equal(r.log[1][1], 1);
    assert.equal(r.log[1][2], "number");
    assert.equal(r.log[2][1], true);
    assert.equal(r.log[2][2], "1.2", "the CONNECTED headers");
    assert.equal(kinds.filter((k) => k === "connect").length, 1, "one connect per reconnection");
    assert.deepEqual(r.log.at(-1).slice(0, 1), ["close"], "the disconnect's close");
  });

  it("disconnect while the connection is down ends at once; what waited for a session rejects", { skip: !CONTROL && "RESOCKET_STOMP_CONTROL_PORT is not set" }, async () => {
    await run(async () => {
      // After the drop, the next attempt would come in 20 s.
      window.down = await connect({ reconnect: { base: 20000, cap: 20000, jitter: "none" } });
      window.downSub = down.subscribe(queue("down"));
      window.downReconnecting = new Promise((r) => down.addEventListener("reconnecting", r, { once: true }));
    });
    assert.equal((await fetch(`http://127.0.0.1:${CONTROL}/close-connections`)).status, 200);
    const r = await run(async () => {
      await within(10000, downReconnecting, "reconnecting after the drop");
      const waiting = down.send(queue("down"), "waits for a session").then(() => "sent", (e) => e.name);
      const loop = (async () => { for await (const m of downSub) void m; return "ended"; })();
      const started = performance.now();
      const result = await within(5000, down.disconnect().then(() => "resolved", (e) => `${e.name}: ${e.message}`), "disconnect");
      const ms = performance.now() - started;
      return { result, ms, waiting: await within(2000, waiting, "the waiting send"), loop: await within(2000, loop, "for await"), state: down.state, connected: down.connected };
    });
    assert.equal(r.result, "resolved");
    assert.ok(r.ms < 1000, `disconnect took ${r.ms} ms`);
    assert.equal(r.waiting, "InvalidStateError", "the send that waited for a session rejects");
    assert.equal(r.loop, "ended");
    assert.equal(r.state, "closed");
    assert.equal(r.connected, false);
  });

  it("a URL function runs before every attempt; using the client inside it throws, never re-enters", { skip: !CONTROL && "RESOCKET_STOMP_CONTROL_PORT is not set" }, async () => {
    await run(async () => {
      window.attempts = [];
      window.inside = [];
      window.urlClient = await within(
        10000,
        resocket.StompClient.connect(
          (attempt) => {
            attempts.push(attempt);
            if (window.urlClient) {
              inside.push(urlClient.state, urlClient.connected);
              try {
                urlClient.subscribe("/queue/x", () => {});
              } catch (e) {
                inside.push(e.name);
              }
            }
            return BROKER;
          },
          { login: "guest", passcode: "guest", reconnect: { base: 100, cap: 500 } },
        ),
        "CONNECTED",
      );
      window.urlReconnected = new Promise((r) => urlClient.addEventListener("connect", r, { once: true }));
    });
    assert.equal((await fetch(`http://127.0.0.1:${CONTROL}/close-connections`)).status, 200);
    const r = await run(async () => {
      await within(15000, urlReconnected, "connect after the drop");
      await urlClient.sendWithReceipt(queue("url"), "still fine");
      await urlClient.disconnect();
      return { attempts, inside };
    });
    assert.deepEqual(r.attempts.slice(0, 2), [0, 1]);
    assert.deepEqual(r.inside.slice(0, 3), ["connecting", false, "InvalidStateError"]);
  });

  it("the broker refusing CONNECT rejects connect() with a StompError, without retrying", async () => {
    const r = await run(async () => {
      const started = Date.now();
      const e = await caught(() => connect({ passcode: "wrong" }));
      return { e, ms: Date.now() - started };
    });
    assert.equal(r.e.name, "StompError");
    assert.match(r.e.message, /STOMP/);
    assert.ok(r.ms < 8000, `${r.ms} ms`);
  });

  it("disconnect ends subscriptions: for await finishes, nothing is delivered after", async () => {
    const r = await run(async () => {
      const client = await connect();
      const q = queue("ending");
      const sub = client.subscribe(q);
      const loop = (async () => {
        const bodies = [];
        for await (const m of sub) bodies.push(m.body);
        return bodies;
      })();
      await client.sendWithReceipt(q, "last");
      await sleep(200);
      const disconnecting = client.disconnect();
      // Over from the call on: a begin in the same tick is refused too.
      const sameTick = await caught(() => client.begin());
      await disconnecting;
      const bodies = await within(5000, loop, "for await to finish");
      const again = await client.disconnect(); // resolves at once
      const send = await caught(() => client.send(q, "x"));
      const subscribe = await caught(() => client.subscribe(q, () => {}));
      const begin = await caught(() => client.begin());
      return { bodies, again, send, subscribe, begin, sameTick, state: client.state };
    });
    assert.deepEqual(r.bodies, ["last"]);
    assert.equal(r.again, undefined);
    for (const e of [r.sameTick, r.send, r.subscribe, r.begin]) {
      assert.equal(e.name, "InvalidStateError");
      assert.match(e.message, /disconnected/);
    }
    assert.equal(r.state, "closed");
  });

  it("releases callbacks and listeners on unsubscribe and disconnect (no leak)", async () => {
    await run(async () => {
      window.released = new Set();
      const registry = (window.registry = new FinalizationRegistry((name) => released.add(name)));
      // In a scope of its own: closures made below for the live client must not capture it.
      await (async () => {
        const client = await connect();
        let unsubscribed = () => {};
        registry.register(unsubscribed, "unsubscribed callback");
        client.subscribe(queue("gc1"), unsubscribed).unsubscribe();
        unsubscribed = null;
        // Callbacks and listeners that refer to the client do not keep it alive once
        // disconnected (what Rust holds is a root for the JS engine).
        registry.register(client, "a disconnected client");
        let disconnected = () => client.state;
        registry.register(disconnected, "callback of a disconnected client");
        client.subscribe(queue("gc2"), disconnected);
        disconnected = null;
        let listener = () => client.state;
        registry.register(listener, "listener of a disconnected client");
        client.addEventListener("close", listener);
        listener = null;
        await client.sendWithReceipt(queue("gc3"), "x");
        await client.disconnect();
      })();
      // The control: a live client keeps its subscription's callback.
      window.live = await connect();
      let kept = () => {};
      registry.register(kept, "callback of a live client");
      live.subscribe(queue("gc4"), kept);
      kept = null;
    });
    const cdp = await page.context().newCDPSession(page);
    const expected = ["a disconnected client", "callback of a disconnected client", "listener of a disconnected client", "unsubscribed callback"];
    let released = [];
    for (let i = 0; i < 50 && released.length < expected.length; i++) {
      await cdp.send("HeapProfiler.collectGarbage");
      await new Promise((r) => setTimeout(r, 100));
      released = await run(() => [...released].sort());
    }
    assert.deepEqual(released, expected);
    await run(() => live.disconnect());
  });

  it("unreadLimit ends a for-await subscription that falls behind, after what it kept", async () => {
    const r = await run(async () => {
      const client = await connect({ unreadLimit: 2000 });
      const body = (i, size) => String(i).padStart(4, "0") + "x".repeat(size - 4);
      // Read as they come: one waits at a time, kept however large (above the limit here).
      const q1 = queue("unread-read");
      const live = client.subscribe(q1)[Symbol.asyncIterator]();
      const read = [];
      for (let i = 0; i < 10; i++) {
        await client.send(q1, body(i, 3000));
        const { value, done } = await within(10000, live.next(), `message ${i}`);
        read.push(done ? "done" : value.body);
      }
      await live.return();
      // Not read while 20 arrive: it keeps what fits, then throws.
      const q2 = queue("unread-behind");
      const behind = client.subscribe(q2);
      for (let i = 0; i < 20; i++) await client.sendWithReceipt(q2, body(i, 500));
      await sleep(500);
      const kept = [];
      let thrown = null;
      const loop = (async () => {
        try {
          for await (const m of behind) kept.push(m.body);
        } catch (e) {
          thrown = { name: e.name, message: e.message };
        }
      })();
      await within(10000, loop, "the end of the loop that fell behind");
      // The broker was told: a new subscriber gets every later message (after what the
      // broker still held of the 20, if the UNSUBSCRIBE came before it sent them all;
      // with the old subscriber still there, the broker would share them out).
      const later = [];
      let lastCame;
      const last = new Promise((r) => (lastCame = r));
      client.subscribe(q2, (m) => {
        later.push(m.body.startsWith("later") ? m.body : m.body.slice(0, 4));
        if (m.body === "later 2") lastCame();
      });
      for (let i = 0; i < 3; i++) client.send(q2, `later ${i}`);
      await within(10000, last, "the later messages");
      await client.disconnect();
      return { read, kept, thrown, later, expected: Array.from({ length: 20 }, (_, i) => body(i, 500)) };
    });
    assert.equal(r.read.length, 10);
    assert.ok(r.read.every((b, i) => b.startsWith(String(i).padStart(4, "0")) && b.length === 3000));
    assert.ok(r.kept.length >= 1 && r.kept.length < 4, `kept ${r.kept.length}`);
    assert.deepEqual(r.kept, r.expected.slice(0, r.kept.length));
    assert.equal(r.thrown?.name, "StompError", JSON.stringify(r.thrown));
    assert.match(r.thrown.message, /unread limit of 2000 bytes/);
    assert.deepEqual(r.later.slice(-3), ["later 0", "later 1", "later 2"], JSON.stringify(r.later));
    const held = r.later.slice(0, -3).map(Number);
    assert.ok(held.every((n, i) => n >= r.kept.length && (i === 0 || n > held[i - 1])), JSON.stringify(r.later));
  });

  it("bad input is a clear JS error, never a trap", async () => {
    const r = await run(async () => {
      const { StompClient } = resocket;
      const errors = {};
      errors.url = await caught(() => StompClient.connect(42));
      errors.config = await caught(() => StompClient.connect({ brokerURL: BROKER }));
      errors.stompjsName = await caught(() => StompClient.connect(BROKER, { heartbeatIncoming: 1000 }));
      errors.login = await caught(() => StompClient.connect(BROKER, { login: 5 }));
      errors.heartbeat = await caught(() => StompClient.connect(BROKER, { heartbeat: { incoming: -1 } }));
      errors.connectHeader = await caught(() => StompClient.connect(BROKER, { headers: { host: "/" } }));
      errors.badUrl = await caught(() => StompClient.connect("ftp://example.com/ws"));
      errors.newline = await caught(() => StompClient.connect(BROKER, { login: "a\nb", maxRetries: 0 }));
      errors.nulLogin = await caught(() => StompClient.connect(BROKER, { login: "a\0b", maxRetries: 0 }));
      const thrown = new TypeError("no token");
      errors.urlThrows = await caught(() => StompClient.connect(() => { throw thrown; }));
      errors.urlThrowsSame = errors.urlThrows?.message === "no token";
      errors.urlReturns = await caught(() => StompClient.connect(() => 42));
      errors.socketHeartbeat = await caught(() => StompClient.connect(BROKER, { heartbeat: { interval: 1000 } }));
      errors.inboundLimit = await caught(() => StompClient.connect(BROKER, { inboundLimit: { bytes: 1024, onFull: "drop" } }));
      errors.unreadLimit = await caught(() => StompClient.connect(BROKER, { unreadLimit: 0 }));
      errors.unreadLimitType = await caught(() => StompClient.connect(BROKER, { unreadLimit: "1 MB" }));
      const client = await connect();
      const q = queue("bad");
      errors.destination = await caught(() => client.subscribe(42, () => {}));
      errors.emptyDestination = await caught(() => client.subscribe("", () => {}));
      errors.callback = await caught(() => client.subscribe(q, "not a function"));
      errors.ackMode = await caught(() => client.subscribe(q, () => {}, { ack: "sometimes" }));
      errors.subOption = await caught(() => client.subscribe(q, () => {}, { prefetch: 1 }));
      errors.subHeaders = await caught(() => client.subscribe(q, () => {}, { headers: { "prefetch-count": 1 } }));
      errors.subReserved = await caught(() => client.subscribe(q, () => {}, { headers: { ack: "client" } }));
      errors.sendDestination = await caught(() => client.send({ destination: q }, "x"));
      errors.body = await caught(() => client.send(q, 42));
      errors.blob = await caught(() => client.send(q, new Blob(["x"])));
      errors.headers = await caught(() => client.send(q, "x", "content-type: text/plain"));
      errors.headerArray = await caught(() => client.send(q, "x", [["a", "b"]]));
      errors.receiptHeader = await caught(() => client.sendWithReceipt(q, "x", { receipt: "mine" }));
      errors.transactionHeader = await caught(() => client.send(q, "x", { transaction: "tx-1" }));
      // A NUL would end the frame and let the rest be read as another one.
      errors.nulDestination = await caught(() => client.send(`${q}\0SEND\ndestination:${q}\n\nforged`, "x"));
      errors.nulHeader = await caught(() => client.sendWithReceipt(q, "x", { note: "a\0DISCONNECT\n\n" }));
      errors.nulSubscribe = await caught(() => client.subscribe(`${q}\0`, () => {}));
      errors.nulSubHeader = await caught(() => client.subscribe(q, () => {}, { headers: { "x\0": "1" } }));
      errors.iterateCallback = await caught(() => client.subscribe(q, () => {})[Symbol.asyncIterator]());
      // Still usable after all that.
      const ok = await caught(() => client.sendWithReceipt(q, "fine"));
      await client.disconnect();
      return { errors, ok };
    });
    const e = r.errors;
    const expect = (name, key, pattern) => {
      assert.ok(e[key], `${key} threw`);
      assert.equal(e[key].name, name, `${key}: ${JSON.stringify(e[key])}`);
      if (pattern) assert.match(e[key].message, pattern, key);
    };
    expect("TypeError", "url", /url must be a string/);
    expect("TypeError", "config", /URL first/);
    expect("TypeError", "stompjsName", /heartbeat: \{ incoming \}/);
    expect("TypeError", "login", /options\.login must be a string, not the number 5/);
    expect("RangeError", "heartbeat", /options\.heartbeat\.incoming/);
    expect("TypeError", "connectHeader", /must not set "host": use options\.host/);
    expect("SyntaxError", "badUrl");
    expect("RangeError", "newline", /unescaped in CONNECT/);
    expect("RangeError", "nulLogin", /"login" holds a NUL character/);
    expect("TypeError", "urlThrows", /no token/);
    assert.equal(e.urlThrowsSame, true);
    expect("TypeError", "urlReturns", /url function must return a string, a URL or \{ url, protocols \}, not the number 42/);
    expect("TypeError", "socketHeartbeat", /unknown option options\.heartbeat\.interval; known options: outgoing, incoming/);
    expect("TypeError", "inboundLimit", /unknown option options\.inboundLimit; resocket's equivalent is the broker's own flow control: .*prefetch-count.*unreadLimit/);
    expect("RangeError", "unreadLimit", /options\.unreadLimit must be a whole number from 1/);
    expect("TypeError", "unreadLimitType", /options\.unreadLimit/);
    expect("TypeError", "destination", /destination must be a string/);
    expect("TypeError", "emptyDestination", /must not be empty/);
    expect("TypeError", "callback", /callback must be a function, not a string/);
    expect("TypeError", "ackMode", /options\.ack must be "auto", "client" or "client-individual", not "sometimes"/);
    expect("TypeError", "subOption", /unknown option options\.prefetch/);
    expect("TypeError", "subHeaders", /options\.headers\["prefetch-count"\] must be a string, not the number 1/);
    expect("TypeError", "subReserved", /use options\.ack/);
    expect("TypeError", "sendDestination", /destination must be a string/);
    expect("TypeError", "body", /body must be a string/);
    expect("TypeError", "blob", /arrayBuffer/);
    expect("TypeError", "headers", /headers must be an object, not a string/);
    expect("TypeError", "headerArray", /headers must be an object, not an array/);
    expect("TypeError", "receiptHeader", /sendWithReceipt/);
    expect("TypeError", "transactionHeader", /must not set "transaction": send through begin\(\)'s transaction/);
    expect("TypeError", "nulDestination", /destination must not hold a NUL character/);
    expect("TypeError", "nulHeader", /headers\["note"\] must not hold a NUL character/);
    expect("TypeError", "nulSubscribe", /destination must not hold a NUL character/);
    expect("TypeError", "nulSubHeader", /options\.headers\["x.?"\] must not hold a NUL character/);
    expect("InvalidStateError", "iterateCallback", /callback/);
    assert.equal(r.ok, null);
  });
});
