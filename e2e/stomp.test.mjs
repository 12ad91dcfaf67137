// The npm package's StompClient (the `resocket/stomp` entry) in Chromium against the test
// server's scripted STOMP endpoints (`/stomp-silent`: answers the first CONNECT, then never
// another byte; `/hang`: never answers the handshake). What needs a broker that misbehaves on
// cue; the round trips against a real broker are e2e/stomp-rabbitmq.mjs (scripts/test-stomp.sh).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { launchBrowser, openTestPage, report, startServer, uniqueKey, until } from "./harness.mjs";

describe("StompClient (npm package) against the test server", { timeout: 120000 }, () => {
  let server;
  let browser;
  let page;
  const run = (f, arg) => page.evaluate(f, arg);

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await openTestPage(browser, server);
    await run(async () => {
      const stomp = await import("/pkg/stomp/resocket.js");
      await stomp.default();
      window.stomp = stomp;
      window.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      window.within = (ms, p, what) =>
        Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out: ${what}`)))]);
      window.settled = (p) => p.then(() => "resolved", (e) => `rejected: ${e.name}: ${e.message}`);
    });
  });

  after(async () => {
    if (page) assert.deepEqual(page.crashes(), [], `no wasm trap or panic:\n${page.logged.join("\n")}`);
    await browser?.close();
    await server?.stop();
  });

  it("disconnect() with a receipt pending settles when the connection dies, without reconnecting", async () => {
    const key = uniqueKey("js-stomp-disconnect");
    const r = await run(async (key) => {
      // The first connection's broker answers CONNECT and then nothing (no RECEIPT); every
      // later attempt hangs in the handshake until the connect timeout: a broker gone.
      const client = await within(
        10000,
        stomp.StompClient.connect((attempt) => (attempt === 0 ? `/stomp-silent/0?key=${key}` : `/hang?key=${key}`), {
          heartbeat: false,
          reconnect: { base: 100, cap: 100 },
          connectTimeout: 300,
        }),
        "CONNECTED",
      );
      const events = [];
      client.addEventListener("reconnecting", () => events.push("reconnecting"));
      client.addEventListener("close", (e) => events.push(`close ${e.code}`));
      // Not awaited: disconnect() waits for it, and its RECEIPT never comes.
      const receipt = settled(client.sendWithReceipt("/queue/a", "x"));
      const disconnected = settled(client.disconnect());
      await sleep(200);
      const before = client.state;
      // The connection dies before the RECEIPT (a reset: 1006, which the client retries).
      await fetch(`/api/drop/${key}`);
      const started = performance.now();
      const result = await within(5000, disconnected, "disconnect() to settle");
      const took = Math.round(performance.now() - started);
      await sleep(500);
      return { before, result, took, receipt: await within(1000, receipt, "the receipt"), state: client.state, events };
    }, key);
    assert.equal(r.before, "open", "disconnect() waited for the receipt");
    // The socket's end, which the client did not ask for, is why the broker could not confirm.
    assert.match(r.result, /^rejected: ClosedError/);
    assert.match(r.receipt, /^rejected: StompError: .*the connection was lost before the receipt came/);
    assert.equal(r.state, "closed");
    assert.ok(r.took < 2000, `settled ${r.took} ms after the connection died`);
    assert.ok(!r.events.includes("reconnecting"), `${r.events}`);
    const seen = await report(server, key);
    assert.equal(seen.attempts, 1, `no attempt after disconnect(): ${JSON.stringify(seen)}`);
  });

  it("reconnect() starts a new session and the subscription is sent again", async () => {
    const key = uniqueKey("js-stomp-reconnect");
    const r = await run(async (key) => {
      // `/stomp-split` answers every SUBSCRIBE with a MESSAGE: one per session.
      const client = await within(
        10000,
        stomp.StompClient.connect(`/stomp-split?key=${key}`, { heartbeat: false, reconnect: false, closeTimeout: 300 }),
        "CONNECTED",
      );
      const events = [];
      client.addEventListener("connect", () => events.push("connect"));
      client.addEventListener("close", (e) => events.push(`close ${e.code}`));
      const bodies = [];
      client.subscribe("/queue/a", (m) => bodies.push(m.body));
      await within(5000, (async () => { while (bodies.length < 1) await sleep(10); })(), "the first message");
      const bad = (() => {
        try {
          client.reconnect(1001);
          return "no error";
        } catch (e) {
          return e.name;
        }
      })();
      client.reconnect(4000, "new token");
      await within(5000, (async () => { while (bodies.length < 2) await sleep(10); })(), "the new session's message");
      const connected = client.connected;
      // This broker never sends the DISCONNECT's RECEIPT: closed anyway after closeTimeout.
      const disconnected = settled(client.disconnect());
      const after = (() => {
        try {
          client.reconnect();
          return "no error";
        } catch (e) {
          return e.name;
        }
      })();
      return { bad, bodies, events, connected, after, disconnected: await within(3000, disconnected, "disconnect()") };
    }, key);
    assert.equal(r.disconnected, "rejected: StompError: STOMP: DISCONNECT was not confirmed within 300 ms");
    assert.equal(r.bad, "InvalidAccessError");
    assert.deepEqual(r.bodies, ["hi", "hi"]);
    assert.deepEqual(r.events.slice(0, 2), ["close 4000", "connect"]);
    assert.equal(r.connected, true);
    assert.equal(r.after, "InvalidStateError");
    const seen = await report(server, key);
    assert.equal(seen.attempts, 2);
    assert.deepEqual(seen.connections[0].close, { code: 4000, reason: "new token", by: "client" });
    const commands = seen.connections.map((c) => c.received.map((m) => m.split("\n")[0]).filter((m) => m));
    assert.deepEqual(commands.map((c) => c.slice(0, 2)), [["CONNECT", "SUBSCRIBE"], ["CONNECT", "SUBSCRIBE"]]);
  });

  it("disconnect() during reconnect()'s closing handshake ends the client: no new connection", async () => {
    const key = uniqueKey("js-stomp-reconnect-disconnect");
    const r = await run(async (key) => {
      const client = await within(
        10000,
        stomp.StompClient.connect(`/stomp-split?key=${key}`, { heartbeat: false, closeTimeout: 300 }),
        "CONNECTED",
      );
      const events = [];
      for (const kind of ["connect", "reconnecting", "close", "error"]) {
        client.addEventListener(kind, (e) => events.push(kind === "close" ? `close ${e.code}` : kind));
      }
      client.reconnect(4000, "new token");
      // The session ends as the closing handshake starts: nothing is sent on it any more.
      const connected = client.connected;
      const disconnected = await within(3000, settled(client.disconnect()), "disconnect()");
      await sleep(500);
      return { connected, disconnected, events, state: client.state };
    }, key);
    const seen = await report(server, key);
    assert.equal(seen.attempts, 1, `no attempt after disconnect(): ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.connections[0].close, { code: 4000, reason: "new token", by: "client" });
    assert.deepEqual(r.events, ["close 4000"]);
    assert.equal(r.disconnected, "resolved");
    assert.equal(r.connected, false);
    assert.equal(r.state, "closed");
  });

  it("a reconnect() whose attempt fails, with reconnect: false, ends the client with the socket's ConnectFailedError", async () => {
    const key = uniqueKey("js-stomp-reconnect-fails");
    const r = await run(async (key) => {
      // Attempt 1 goes to a port where nothing listens.
      const url = (attempt) => (attempt === 0 ? `/stomp-split?key=${key}` : "ws://127.0.0.1:9/");
      const client = await within(
        10000,
        stomp.StompClient.connect(url, { heartbeat: false, reconnect: false }),
        "CONNECTED",
      );
      const events = [];
      const ended = new Promise((resolve) =>
        client.addEventListener("error", (e) => resolve(`${e.error?.name}: ${e.error?.close?.code}`)),
      );
      client.addEventListener("reconnecting", (e) => events.push(`reconnecting ${e.attempt}`));
      client.addEventListener("close", (e) => events.push(`close ${e.code}`));
      client.reconnect(4000);
      const error = await within(5000, ended, "the error event");
      // The same with an async url function whose token fetch fails for attempt 1: the end
      // says why.
      const asyncClient = await within(
        10000,
        stomp.StompClient.connect(async (attempt) => {
          await sleep(10);
          if (attempt > 0) throw new Error("no token");
          return `/stomp-split?key=${key}-async`;
        }, { heartbeat: false, reconnect: false }),
        "CONNECTED through an async url function",
      );
      // First the rejection, then the end.
      const asyncErrors = [];
      asyncClient.addEventListener("error", (e) =>
        asyncErrors.push(e.error?.close ? `${e.error.name}: ${e.error.close.code} ${e.error.close.reason}` : `${e.error?.name}: ${e.error?.message}`),
      );
      asyncClient.reconnect();
      await within(5000, (async () => { while (asyncErrors.length < 2) await sleep(10); })(), "the async client's error events");
      return { error, events, state: client.state, asyncErrors };
    }, key);
    assert.equal(r.error, "ConnectFailedError: 1006");
    assert.deepEqual(r.events, ["close 4000", "reconnecting 1", "close 1006"]);
    assert.equal(r.state, "closed");
    assert.deepEqual(r.asyncErrors, ["Error: no token", "ConnectFailedError: 1006 the url function failed: no token"]);
  });

  it("disconnect() behind a receipt that never comes ends after closeTimeout", async () => {
    const key = uniqueKey("js-stomp-no-receipt");
    const r = await run(async (key) => {
      // `/stomp-split` never sends a RECEIPT and keeps the connection.
      const client = await within(
        10000,
        stomp.StompClient.connect(`/stomp-split?key=${key}`, { heartbeat: false, closeTimeout: 300 }),
        "CONNECTED",
      );
      const receipt = settled(client.sendWithReceipt("/queue/a", "x"));
      const disconnected = await within(3000, settled(client.disconnect()), "disconnect()");
      return { disconnected, receipt: await within(1000, receipt, "the receipt"), state: client.state };
    }, key);
    assert.equal(
      r.disconnected,
      "rejected: StompError: STOMP: the operations started before disconnect() did not finish within 300 ms: the connection was closed",
    );
    assert.match(r.receipt, /^rejected: StompError: .*the connection was lost before the receipt came/);
    assert.equal(r.state, "closed");
    const seen = await report(server, key);
    assert.equal(seen.attempts, 1);
    assert.deepEqual(seen.connections[0].close, { code: 1000, reason: "", by: "client" });
  });

  it("a subscription the broker refuses by name ends alone: for await throws its ERROR, and it is not subscribed again", async () => {
    const key = uniqueKey("js-stomp-refuse");
    const r = await run(async (key) => {
      // `/stomp-refuse` answers a SUBSCRIBE to /refused… with an ERROR naming it, then closes.
      const client = await within(
        10000,
        stomp.StompClient.connect(`/stomp-refuse?key=${key}`, { heartbeat: false, reconnect: { base: 100, cap: 100 } }),
        "CONNECTED",
      );
      const errors = [];
      client.addEventListener("error", (e) => errors.push(`${e.error?.name}: ${e.error?.message}`));
      let connects = 0;
      client.addEventListener("connect", () => connects++);
      const other = client.subscribe("/queue/a", () => {});
      const refused = await settled(within(10000, (async () => {
        for await (const m of client.subscribe("/refused/x")) void m;
      })(), "the refused subscription's end"));
      await within(10000, (async () => { while (connects < 1) await sleep(20); })(), "the next session");
      await sleep(300);
      other.unsubscribe();
      await client.disconnect();
      return { refused, errors };
    }, key);
    assert.equal(r.refused, "rejected: StompError: STOMP: refused: /refused/x is refused");
    assert.deepEqual(r.errors, ["StompError: STOMP: refused: /refused/x is refused"], "one error event");
    const seen = await report(server, key);
    assert.equal(seen.connections.length, 2, `one reconnection, no loop: ${JSON.stringify(seen)}`);
    const subscribes = seen.connections[1].received.filter((m) => m.startsWith("SUBSCRIBE\n"));
    assert.equal(subscribes.length, 1, JSON.stringify(subscribes));
    assert.match(subscribes[0], /destination:\/queue\/a/);
  });

  it("an AbortSignal stops connect() to a broker that never answers: it rejects, and no attempt follows", async () => {
    const key = uniqueKey("js-stomp-abort");
    const r = await run(async (key) => {
      const options = (signal) => ({ heartbeat: false, reconnect: { base: 50, cap: 50 }, connectTimeout: 200, signal });
      const controller = new AbortController();
      const connecting = settled(stomp.StompClient.connect(`/hang?key=${key}`, options(controller.signal)));
      await sleep(1000);
      controller.abort();
      const started = performance.now();
      const result = await within(2000, connecting, "connect() to settle");
      const took = Math.round(performance.now() - started);
      const reason = await stomp.StompClient.connect(`/hang?key=${key}-pre`, options(AbortSignal.abort(new RangeError("not today"))))
        .then(() => "resolved", (e) => e);
      const badSignal = await settled(stomp.StompClient.connect(`/hang?key=${key}-pre`, options({ aborted: true })));
      const attemptsAtAbort = (await (await fetch(`/api/report/${key}`)).json()).attempts;
      await sleep(1000);
      return { result, took, reason: `${reason.name}: ${reason.message}`, badSignal, attemptsAtAbort };
    }, key);
    assert.match(r.result, /^rejected: AbortError/);
    assert.ok(r.took < 500, `settled ${r.took} ms after abort()`);
    assert.equal(r.reason, "RangeError: not today", "the signal's own reason, with no attempt made");
    assert.match(r.badSignal, /^rejected: TypeError: options.signal must be an AbortSignal, not an object/);
    assert.ok(r.attemptsAtAbort >= 2, `it was retrying: ${r.attemptsAtAbort} attempts`);
    const seen = await report(server, key);
    assert.equal(seen.attempts, r.attemptsAtAbort, `no attempt after abort(): ${JSON.stringify(seen)}`);
    assert.equal((await report(server, `${key}-pre`)).attempts, 0, "none with a signal aborted already, or a bad one");
  });

  it("connect()'s signal, aborted while the url function fetches its token, aborts that fetch too", async () => {
    const key = uniqueKey("js-stomp-abort-token");
    const r = await run(async (key) => {
      const controller = new AbortController();
      let urlSignal;
      const connecting = settled(stomp.StompClient.connect(async (attempt, signal) => {
        urlSignal = signal;
        const { token } = await (await fetch(`/api/token/${key}?delay=30000`, { signal })).json();
        return `/stomp-split?key=${key}&token=${token}`;
      }, { heartbeat: false, signal: controller.signal }));
      let waiting = false;
      for (let i = 0; i < 100 && !waiting; i++) {
        await sleep(20);
        waiting = (await (await fetch(`/api/report/${key}`)).json()).tokens?.[0] === "waiting";
      }
      const before = urlSignal.aborted;
      controller.abort();
      const result = await within(2000, connecting, "connect() to settle");
      await sleep(0);
      return { waiting, before, after: urlSignal.aborted, result };
    }, key);
    assert.equal(r.waiting, true);
    assert.equal(r.before, false);
    assert.match(r.result, /^rejected: AbortError/);
    assert.equal(r.after, true);
    await until(async () => (await report(server, key)).tokens?.[0] === "aborted", "the token request aborted");
    assert.equal((await report(server, key)).attempts, 0);
  });
});
