// What reconnecting-websocket (and partysocket) users rely on, checked against resocket's npm
// package in Chromium: reconnection after a server restart, close() that really stops,
// sends made while connecting delivered after open, and maxRetries.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  launchBrowser,
  openTestPage,
  report,
  restartServer,
  sleep,
  startServer,
  uniqueKey,
  until,
} from "./harness.mjs";

describe("reconnecting-websocket compatibility", { timeout: 180000 }, () => {
  let server;
  let browser;
  let page;
  const run = (f, arg) => page.evaluate(f, arg);

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await openTestPage(browser, server);
    await run(() => {
      window.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      window.within = (ms, p, what) =>
        Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out: ${what}`)))]);
      // A socket and a record of its handler calls, the way RWS users write them.
      window.track = (url, options) => {
        const s = new resocket.ResilientWebSocket(url, [], options);
        const t = { s, log: [], messages: [] };
        s.onopen = () => t.log.push("open");
        s.onclose = (e) => t.log.push(`close ${e.code}`);
        s.onerror = (e) => t.log.push(`error${e.error ? ` ${e.error.name}` : ""}`);
        s.onmessage = (e) => t.messages.push(e.data);
        s.onreconnecting = (e) => t.log.push(`reconnecting ${e.attempt} ${e.delay}`);
        return t;
      };
    });
  });

  after(async () => {
    if (page) assert.deepEqual(page.crashes(), [], `no wasm trap or panic:\n${page.logged.join("\n")}`);
    await browser?.close();
    await server?.stop();
  });

  it("reconnects after the server restarts, and what was sent meanwhile arrives", async () => {
    const key = uniqueKey("restart");
    const url = `${server.ws}/echo?key=${key}`;
    await run((url) => {
      window.t1 = track(url, { reconnect: { base: 100, cap: 500 } });
      t1.s.send("before");
    }, url);
    await until(() => run(() => t1.messages.includes("before")), "the first echo");

    server = await restartServer(server); // the process stops; a new one takes the port
    const back = Date.now();
    await run(() => t1.s.send("during")); // queued: nothing is connected
    await until(() => run(() => t1.log.filter((l) => l === "open").length === 2), "the reopen", 20000);
    console.log(`figure: reconnected ${Date.now() - back} ms after the server was back (backoff base 100 ms, cap 500 ms)`);
    await run(() => t1.s.send("after"));
    await until(() => run(() => t1.messages.includes("after")), "echoes again");

    const { log, messages, readyState } = await run(() => ({ ...t1, s: undefined, readyState: t1.s.readyState }));
    assert.equal(readyState, 1);
    assert.deepEqual(messages, ["before", "during", "after"]);
    assert.equal(log[0], "open");
    assert.ok(log.includes("close 1006") || log.includes("close 1001"), `a close was reported: ${log}`);
    assert.equal(log.at(-1), "open");
    // The restarted server saw the queued message first, then the new one.
    const r = await report(server, key);
    assert.deepEqual(r.connections.at(-1).received, ["during", "after"]);
    await run(() => t1.s.close());
  });

  it("stops reconnecting for good on close(), even while waiting to retry", async () => {
    const key = uniqueKey("stop");
    await run((key) => {
      window.t2 = track(`/reject/1000/${key}`, { reconnect: { base: 300, cap: 300, jitter: "none" } });
    }, key);
    await until(async () => (await report(server, key)).attempts >= 2, "two refused attempts");
    const state = await run(async () => {
      while (t2.s.state !== "reconnecting") await sleep(10);
      t2.s.close();
      return [t2.s.readyState, t2.s.state];
    });
    assert.deepEqual(state, [3, "closed"], "closed at once, the pending retry cancelled");
    const attempts = (await report(server, key)).attempts;
    await sleep(1200); // four retry delays
    assert.equal((await report(server, key)).attempts, attempts, "no attempt after close()");

    // And an open socket closed by the client never comes back.
    const key2 = uniqueKey("stop-open");
    await run(async (key2) => {
      window.t3 = track(`/echo?key=${key2}`, { reconnect: { base: 50, cap: 50 } });
      await t3.s.opened();
      t3.s.close(1000, "bye");
    }, key2);
    await sleep(800);
    const r = await report(server, key2);
    assert.equal(r.connections.length, 1);
    assert.deepEqual(r.connections[0].close, { code: 1000, reason: "bye", by: "client" });
    assert.deepEqual(await run(() => t3.log), ["open", "close 1000"]);
  });

  it("delivers sends made while connecting after open, in order", async () => {
    const key = uniqueKey("early");
    const before = await run((key) => {
      window.t4 = track(`/echo?key=${key}`);
      const state = t4.s.readyState;
      for (let i = 1; i <= 50; i++) t4.s.send(`m${i}`);
      t4.s.send(new Blob(["blob"]));
      t4.s.send("last");
      return state;
    }, key);
    assert.equal(before, 0, "the sends were made while CONNECTING, where a WebSocket throws");
    await until(() => run(() => t4.messages.length === 52), "52 echoes");
    const expected = [...Array.from({ length: 50 }, (_, i) => `m${i + 1}`), "bin:4:626c6f62", "last"];
    const r = await report(server, key);
    assert.deepEqual(r.connections[0].received, expected);
    const echoed = await run(() => t4.messages.map((m) => (typeof m === "string" ? m : "binary")));
    assert.deepEqual(echoed, [...expected.slice(0, 50), "binary", "last"]);
    await run(() => t4.s.close());
  });

  it("reconnect() drops the connection and connects again at once, with a fresh URL, keeping the queue", async () => {
    const key = uniqueKey("reconnect");
    await run((url) => {
      window.tokens = [];
      // No automatic reconnection: reconnect() is the application's own request.
      window.t6 = track((attempt) => {
        tokens.push(attempt);
        return `${url}&token=${attempt}`;
      }, { reconnect: false, heartbeat: false });
      t6.s.send("one");
    }, `${server.ws}/echo?key=${key}`);
    await until(() => run(() => t6.messages.includes("one")), "the first echo");
    const during = await run(() => {
      t6.s.reconnect(4000, "new token");
      t6.s.send("two"); // queued: goes out on the new connection
      return [t6.s.readyState, t6.s.state];
    });
    assert.deepEqual(during, [1, "open"], "open until the closing handshake ends");
    await until(() => run(() => t6.messages.includes("two")), "the echo on the new connection");
    const { log, tokens, readyState } = await run(() => ({ log: t6.log, tokens, readyState: t6.s.readyState }));
    assert.equal(readyState, 1);
    assert.deepEqual(log, ["open", "close 4000", "reconnecting 1 0", "open"]);
    assert.deepEqual(tokens, [0, 1], "the URL function was asked again, for attempt 1");
    const r = await report(server, key);
    assert.equal(r.attempts, 2);
    assert.deepEqual(r.connections.map((c) => c.received), [["one"], ["two"]]);
    assert.deepEqual(r.connections[0].close, { code: 4000, reason: "new token", by: "client" });
    assert.equal(r.connections[1].close, null);

    // Bad arguments throw as close() does and change nothing; after close() it throws.
    const errors = await run(() => {
      const name = (f) => {
        try {
          f();
          return "no error";
        } catch (e) {
          return e.name;
        }
      };
      const bad = [name(() => t6.s.reconnect(1001)), name(() => t6.s.reconnect(1000, "x".repeat(124))), name(() => t6.s.reconnect("1000"))];
      const state = t6.s.state;
      t6.s.close();
      return [...bad, state, name(() => t6.s.reconnect())];
    });
    assert.deepEqual(errors, ["InvalidAccessError", "SyntaxError", "TypeError", "open", "InvalidStateError"]);
    await sleep(200);
    assert.equal((await report(server, key)).attempts, 2, "no attempt from a refused call");

    // close() during the handshake: what send() accepted goes out on a new connection first.
    const key2 = uniqueKey("reconnect-close");
    await run(async (url) => {
      window.t8 = track(url, { reconnect: false });
      await t8.s.opened();
      t8.s.reconnect();
      t8.s.send("last");
      t8.s.close(1000, "done");
    }, `${server.ws}/echo?key=${key2}`);
    await until(() => run(() => t8.s.readyState === 3), "the close");
    const r2 = await report(server, key2);
    assert.deepEqual(r2.connections.map((c) => c.received), [[], ["last"]]);
    assert.deepEqual(r2.connections[1].close, { code: 1000, reason: "done", by: "client" });
    assert.deepEqual(await run(() => t8.s.takeUnsent()), []);
  });

  it("an async url function (a token fetched first) is awaited before each attempt; a rejection fails that attempt only", async () => {
    const key = uniqueKey("async-url");
    const r = await run(async (key) => {
      const calls = [];
      const log = [];
      const s = new resocket.ResilientWebSocket(async (attempt) => {
        calls.push(attempt);
        // A real round trip first: the token is how many connections the server had seen.
        const token = (await (await fetch(`/api/report/${key}`)).json()).attempts;
        if (attempt === 1) throw new Error("token server down");
        if (attempt === 2) throw "no token"; // no Error: the event still has one
        return `/drop-after/1?key=${key}&token=${token}`;
      }, [], { reconnect: { base: 50, cap: 50, jitter: "none" }, heartbeat: false });
      const during = s.state;
      s.onopen = () => log.push("open");
      s.onerror = (e) => log.push(`error ${e.error instanceof Error} ${e.error?.message}`);
      s.onclose = (e) => log.push(`close ${e.code} ${e.reason}`);
      s.onreconnecting = (e) => log.push(`reconnecting ${e.attempt}`);
      const messages = [];
      s.onmessage = (e) => messages.push(e.data);
      s.send("a");
      await within(5000, (async () => { while (!log.includes("open") || messages.length < 1) await sleep(10); })(), "the first echo");
      await within(5000, (async () => { while (log.filter((l) => l === "open").length < 2) await sleep(10); })(), "the second open");
      s.send("b");
      await within(5000, (async () => { while (messages.length < 2) await sleep(10); })(), "the second echo");
      s.close();
      return { during, calls, log, messages };
    }, key);
    assert.equal(r.during, "connecting");
    assert.deepEqual(r.calls, [0, 1, 2, 3]);
    assert.deepEqual(r.log, [
      "open",
      "close 1006 ",
      "reconnecting 1",
      "error true token server down",
      "close 1006 the url function failed: token server down",
      "reconnecting 2",
      "error true no token",
      "close 1006 the url function failed: no token",
      "reconnecting 3",
      "open",
    ]);
    assert.deepEqual(r.messages, ["a", "b"]);
    const seen = await report(server, key);
    assert.equal(seen.attempts, 2, "the failed token fetch made no connection");
    assert.deepEqual(seen.connections.map((c) => c.received), [["a"], ["b"]]);

    // Not a target: the socket ends with that TypeError, as from a sync url function.
    // close() while the Promise is pending: closed at once, and no attempt follows.
    const key2 = uniqueKey("async-url-close");
    const ends = await run(async (key2) => {
      const bad = new resocket.ResilientWebSocket(async () => 42, [], { heartbeat: false });
      const badError = await new Promise((resolve) => bad.addEventListener("error", (e) => resolve(`${e.error?.name}: ${e.error?.message}`)));
      let release;
      const pending = new resocket.ResilientWebSocket(
        () => new Promise((resolve) => { release = () => resolve(`/echo?key=${key2}`); }),
        [],
        { heartbeat: false },
      );
      const log = [];
      pending.onclose = (e) => log.push(`close ${e.code}`);
      pending.onopen = () => log.push("open");
      await sleep(50);
      pending.close();
      const state = pending.state;
      release();
      await sleep(200);
      return { badError, badState: bad.state, state, log };
    }, key2);
    assert.equal(ends.badError, "TypeError: the url function must return a string, a URL or { url, protocols }, not the number 42");
    assert.equal(ends.badState, "closed");
    assert.equal(ends.state, "closed");
    assert.deepEqual(ends.log, ["close 1006"]);
    assert.equal((await report(server, key2)).attempts, 0);
  });

  it("an async url function's signal aborts its token fetch when the attempt is given up, and only then", async () => {
    const key = uniqueKey("url-signal");
    const key2 = uniqueKey("url-signal-close");
    const r = await run(async ([key, key2]) => {
      const signals = [];
      const log = [];
      // Attempt 0 meets a token server that hangs: the connect timeout gives it up.
      const s = new resocket.ResilientWebSocket(async (attempt, signal) => {
        signals.push(signal);
        const delay = attempt === 0 ? 30000 : 0;
        const { token } = await (await fetch(`/api/token/${key}?delay=${delay}`, { signal })).json();
        return `/echo?key=${key}&token=${token}`;
      }, [], { connectTimeout: 1500, reconnect: { base: 50, cap: 50, jitter: "none" }, heartbeat: false });
      s.onopen = () => log.push("open");
      s.onclose = (e) => log.push(`close ${e.code}`);
      await within(5000, (async () => { while (!log.includes("open")) await sleep(10); })(), "the open after the timeout");
      const first = { aborted: signals[0].aborted, reason: `${signals[0].reason?.name}: ${signals[0].reason?.message}` };
      s.close();
      await sleep(100);
      // close() while the token is on its way aborts it too.
      let started;
      const startedNow = new Promise((resolve) => { started = resolve; });
      let pendingSignal;
      const pending = new resocket.ResilientWebSocket(async (attempt, signal) => {
        pendingSignal = signal;
        started();
        const { token } = await (await fetch(`/api/token/${key2}?delay=30000`, { signal })).json();
        return `/echo?key=${key2}&token=${token}`;
      }, [], { heartbeat: false });
      await startedNow;
      // The request has reached the token server before the close.
      let seenWaiting = false;
      for (let i = 0; i < 100 && !seenWaiting; i++) {
        await sleep(20);
        seenWaiting = (await (await fetch(`/api/report/${key2}`)).json()).tokens?.[0] === "waiting";
      }
      pending.close();
      // Given up before its first poll: close() right after the constructor.
      let earlySignal;
      const early = new resocket.ResilientWebSocket(async (attempt, signal) => {
        earlySignal = signal;
        return new Promise(() => {});
      }, [], { heartbeat: false });
      early.close();
      // reconnect() while the token is on its way: that attempt's signal aborts, the next
      // attempt gets a fresh one.
      const retrySignals = [];
      const retry = new resocket.ResilientWebSocket(async (attempt, signal) => {
        retrySignals.push(signal);
        return new Promise(() => {});
      }, [], { heartbeat: false });
      await sleep(50);
      retry.reconnect();
      await sleep(50);
      const retried = retrySignals.map((s) => s.aborted);
      retry.close();
      await sleep(0);
      return {
        early: earlySignal.aborted,
        retried,
        retriedEnd: retrySignals.map((s) => s.aborted),
        first,
        log,
        calls: signals.length,
        // The attempt that connected: its signal stays as it was, the socket closed or not.
        second: signals[1].aborted,
        closed: pendingSignal.aborted,
        closedState: pending.state,
        seenWaiting,
      };
    }, [key, key2]);
    assert.deepEqual(r.first, { aborted: true, reason: "AbortError: the connection attempt was given up" });
    assert.deepEqual(r.log, ["close 1006", "open", "close 1000"]);
    assert.equal(r.calls, 2);
    assert.equal(r.second, false);
    assert.equal(r.closed, true);
    assert.equal(r.early, true);
    assert.deepEqual(r.retried, [true, false]);
    assert.deepEqual(r.retriedEnd, [true, true]);
    assert.equal(r.closedState, "closed");
    assert.equal(r.seenWaiting, true);
    // The browser stopped the hanging requests: the token server saw their clients go.
    await until(async () => (await report(server, key2)).tokens?.[0] === "aborted", "the second token request aborted");
    const seen = await until(async () => { const s = await report(server, key); return s.tokens?.[0] !== "waiting" && s; }, "the first token request's end");
    assert.deepEqual(seen.tokens, ["aborted", "given"]);
    assert.equal(seen.attempts, 1);
    assert.deepEqual(await report(server, key2), { attempts: 0, connections: [], tokens: ["aborted"] });
  });

  it("reconnect() while waiting out a long delay makes the attempt now", async () => {
    const key = uniqueKey("retry-now");
    await run((key) => {
      window.t7 = track(`/reject/1/${key}`, { reconnect: { base: 10000, cap: 10000, jitter: "none" } });
    }, key);
    await until(() => run(() => t7.s.state === "reconnecting"), "the wait after a refused attempt");
    const waited = Date.now();
    await run(() => t7.s.reconnect());
    await until(() => run(() => t7.s.readyState === 1), "the open", 5000);
    console.log(`figure: opened ${Date.now() - waited} ms after reconnect() during a 10 s delay`);
    const log = await run(() => t7.log);
    assert.deepEqual(log.slice(-2), ["reconnecting 1 10000", "open"], `${log}`);
    assert.equal(log.filter((l) => l === "open").length, 1);
    const r = await report(server, key);
    assert.equal(r.attempts, 2);
    await run(() => t7.s.close());
  });

  it("gives up after maxRetries reconnection attempts", async () => {
    const key = uniqueKey("retries");
    await run((key) => {
      window.t5 = track(`/reject/1000/${key}`, { maxRetries: 2, reconnect: { base: 50, cap: 50 } });
    }, key);
    await until(() => run(() => t5.s.readyState === 3), "the socket to give up", 10000);
    await sleep(300);
    const r = await report(server, key);
    assert.equal(r.attempts, 3, "the first attempt and 2 retries");
    const { log, state } = await run(() => ({ log: t5.log, state: t5.s.state }));
    assert.equal(state, "closed");
    assert.equal(log.filter((l) => l === "close 1006").length, 3);
    assert.equal(log.at(-1), "error ReconnectExhaustedError");
    const attempts = await run(
      () => new Promise((resolve) => {
        const s = new resocket.ResilientWebSocket(`/reject/1000/${Math.random()}`, [], { maxRetries: 0 });
        s.onerror = (e) => e.error && resolve([e.error.name, e.error.attempts, e.error.close.code]);
      }),
    );
    assert.deepEqual(attempts, ["ReconnectExhaustedError", 0, 1006], "maxRetries 0: one attempt only");
  });
});
