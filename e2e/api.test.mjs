// The npm package's JS API in Chromium, against the test server: what a WebSocket user relies
// on (events, data types, readyState), what resocket adds (promises, for await, reconnection
// events), and that bad input throws a clear JS error, never a wasm trap.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { launchBrowser, openTestPage, report, startServer, uniqueKey, until } from "./harness.mjs";

describe("npm package API", { timeout: 180000 }, () => {
  let server;
  let browser;
  let page;
  const run = (f, arg) => page.evaluate(f, arg);

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await openTestPage(browser, server);
    // Helpers inside the page.
    await run(() => {
      window.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      window.within = (ms, p, what) =>
        Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out: ${what}`)))]);
      window.nextEvent = (s, type, ms = 5000) =>
        within(ms, new Promise((r) => s.addEventListener(type, r, { once: true })), type);
    });
  });

  after(async () => {
    if (page) assert.deepEqual(page.crashes(), [], `no wasm trap or panic:\n${page.logged.join("\n")}`);
    await browser?.close();
    await server?.stop();
  });

  it("behaves like a WebSocket: constants, readyState, events, echo", async () => {
    const r = await run(async () => {
      const { ResilientWebSocket } = resocket;
      const s = new ResilientWebSocket("/echo", "v1.resocket");
      const seen = [];
      s.onopen = (e) => seen.push(["onopen", e.type, e instanceof Event]);
      s.addEventListener("statechange", (e) => seen.push(["statechange", e.state, e.readyState]));
      const first = { readyState: s.readyState, state: s.state };
      await nextEvent(s, "open");
      const open = { readyState: s.readyState, protocol: s.protocol, url: s.url };
      s.send("hi");
      const m = await nextEvent(s, "message");
      const msg = { isMessageEvent: m instanceof MessageEvent, data: m.data, origin: m.origin, type: m.type };
      s.close(3001, "done");
      const closing = s.readyState;
      const c = await nextEvent(s, "close");
      await sleep(50);
      return {
        constants: [ResilientWebSocket.CONNECTING, ResilientWebSocket.OPEN, ResilientWebSocket.CLOSING, ResilientWebSocket.CLOSED, s.OPEN, s.CLOSED],
        first, open, msg, closing,
        close: { isCloseEvent: c instanceof CloseEvent, code: c.code, reason: c.reason, wasClean: c.wasClean },
        end: s.readyState, state: s.state, seen, binaryType: s.binaryType, extensions: s.extensions,
        isEventTarget: typeof s.addEventListener === "function" && typeof s.dispatchEvent === "function",
      };
    });
    assert.deepEqual(r.constants, [0, 1, 2, 3, 1, 3]);
    assert.deepEqual(r.first, { readyState: 0, state: "connecting" });
    assert.equal(r.open.readyState, 1);
    assert.equal(r.open.protocol, "v1.resocket");
    assert.equal(r.open.url, `${server.ws}/echo`);
    assert.deepEqual(r.msg, { isMessageEvent: true, data: "hi", origin: server.ws, type: "message" });
    assert.equal(r.closing, 2);
    assert.deepEqual(r.close, { isCloseEvent: true, code: 3001, reason: "done", wasClean: true });
    assert.equal(r.end, 3);
    assert.equal(r.state, "closed");
    assert.deepEqual(r.seen, [
      ["onopen", "open", true],
      ["statechange", "open", 1],
      ["statechange", "closing", 2],
      ["statechange", "closed", 3],
    ]);
    assert.equal(r.binaryType, "arraybuffer");
    assert.equal(r.extensions, "");
    assert.ok(r.isEventTarget);
  });

  it("sends every data type, in order, Blobs included", async () => {
    const key = uniqueKey("types");
    const got = await run(async (key) => {
      const s = new resocket.ResilientWebSocket(`/echo?key=${key}`);
      const bytes = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const received = [];
      s.addEventListener("message", (e) => received.push(e.data));
      // Sent while connecting: all queue, the Blob is read without being overtaken.
      s.send("text");
      s.send(bytes.buffer.slice(0, 2)); // ArrayBuffer
      s.send(bytes.subarray(2, 4)); // a view with an offset: its bytes only
      s.send(new DataView(bytes.buffer, 4, 2));
      s.send(new Blob([new Uint8Array([0xbb, 0xbb])]));
      s.send("after the blob");
      s.send(new Float32Array([1.5])); // 4 bytes of float
      await within(5000, (async () => { while (received.length < 7) await sleep(20); })(), "7 echoes");
      s.close();
      return received.map((d) => (typeof d === "string" ? d : [...new Uint8Array(d)].join(",")));
    }, key);
    assert.deepEqual(got, ["text", "0,1", "2,3", "4,5", "187,187", "after the blob", "0,0,192,63"]);
    const r = await report(server, key);
    assert.deepEqual(r.connections[0].received.slice(0, 2), ["text", "bin:2:0001"]);
  });

  it("reports a Blob whose arrayBuffer is not the browser's, and sends what follows", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo");
      await s.opened();
      const received = [];
      const errors = [];
      s.addEventListener("message", (e) => received.push(e.data));
      s.addEventListener("error", (e) => errors.push(`${e.message}: ${e.error}`));
      const reentrant = new Blob(["x"]);
      // Not an ArrayBuffer, and reading it as an array would call back into the socket.
      reentrant.arrayBuffer = async () => ({ length: 1, get 0() { s.send("from a getter"); return 7; } });
      const throwing = new Blob(["y"]);
      throwing.arrayBuffer = () => { throw new Error("no bytes"); };
      // A promise whose own `then` throws, and one whose `constructor` getter does (what
      // Promise.resolve reads): they must reject, not stop the sending for good.
      const badThen = new Blob(["z"]);
      const thenable = Promise.resolve(new ArrayBuffer(1));
      thenable.then = () => { throw new Error("no then"); };
      badThen.arrayBuffer = () => thenable;
      const badConstructor = new Blob(["w"]);
      const odd = Promise.resolve(new ArrayBuffer(1));
      Object.defineProperty(odd, "constructor", { get() { throw new Error("no constructor"); } });
      badConstructor.arrayBuffer = () => odd;
      // A Blob that claims more bytes than it gives: bufferedAmount must come back to 0.
      const big = new Blob(["v"]);
      Object.defineProperty(big, "size", { value: 1e9 });
      s.send(reentrant);
      s.send(throwing);
      s.send(badThen);
      s.send(badConstructor);
      s.send(big);
      await within(5000, s.sendAsync("after"), "sendAsync after the bad Blobs");
      await within(5000, (async () => { while (!received.includes("after")) await sleep(20); })(), "the echo");
      await s.flush();
      const buffered = s.bufferedAmount;
      let nanSize;
      const nan = new Blob(["u"]);
      Object.defineProperty(nan, "size", { value: NaN });
      try { s.send(nan); } catch (e) { nanSize = e.name; }
      s.close();
      return { received: received.map((d) => (typeof d === "string" ? d : `${d.byteLength} bytes`)), errors, buffered, nanSize };
    });
    assert.deepEqual(r.received, ["1 bytes", "after"]);
    assert.deepEqual(r.errors, [
      "a Blob given to send() could not be read: TypeError: the Blob's arrayBuffer() gave no ArrayBuffer",
      "a Blob given to send() could not be read: Error: no bytes",
      "a Blob given to send() could not be read: Error: no then",
      "a Blob given to send() could not be read: Error: no constructor",
    ]);
    assert.equal(r.buffered, 0, "what was counted for a Blob is taken off again");
    assert.equal(r.nanSize, "TypeError");
  });

  it("sends an iframe's ArrayBuffers, views and Blobs, and refuses look-alikes", async () => {
    const r = await run(async () => {
      const frame = document.createElement("iframe");
      document.body.append(frame);
      const W = frame.contentWindow;
      const s = new resocket.ResilientWebSocket("/echo");
      s.binaryType = "arraybuffer";
      await s.opened();
      const received = [];
      s.addEventListener("message", (e) => received.push([...new Uint8Array(e.data)].join(",")));
      const refused = (data) => {
        try {
          s.send(data);
          return "sent";
        } catch (e) {
          return e.name;
        }
      };
      s.send(new W.Uint8Array([1, 2]).buffer);
      s.send(new W.Uint8Array([3, 4, 5]).subarray(1));
      s.send(new W.DataView(new W.Uint8Array([6, 7]).buffer, 1));
      s.send(new W.Blob([new W.Uint8Array([8, 9])]));
      // Objects that pass `instanceof` or claim the tag, but hold no bytes: Uint8Array would
      // read them as array-likes, and other bytes (none) would go.
      const detached = new W.ArrayBuffer(2);
      structuredClone(detached, { transfer: [detached] });
      const lookAlikes = [
        { [Symbol.toStringTag]: "ArrayBuffer", byteLength: 1 },
        Object.create(W.ArrayBuffer.prototype),
        Object.create(ArrayBuffer.prototype),
        new Proxy(new ArrayBuffer(1), {}),
        detached,
        { [Symbol.toStringTag]: "Blob", size: 1, arrayBuffer: async () => new ArrayBuffer(1) },
      ].map(refused);
      await within(5000, (async () => { while (received.length < 4) await sleep(20); })(), "4 echoes");
      // An iframe's Blob, its frame gone before the Blob is read.
      s.send(new W.Blob([new W.Uint8Array([10])]));
      frame.remove();
      const afterRemoval = await Promise.race([s.flush().then(() => "flushed"), sleep(3000).then(() => "stuck")]);
      await within(5000, (async () => { while (received.length < 5) await sleep(20); })(), "the 5th echo");
      s.close();
      return { received, lookAlikes, afterRemoval };
    });
    assert.deepEqual(r.received, ["1,2", "4,5", "7", "8,9", "10"]);
    assert.deepEqual(r.lookAlikes, Array(6).fill("TypeError"));
    assert.equal(r.afterRemoval, "flushed");
  });

  it("works in a module Worker: events, echo of text and bytes, for await, close", async () => {
    const key = uniqueKey("worker");
    const r = await run(async (key) => {
      const src = `
        import init, { ResilientWebSocket } from ${JSON.stringify(new URL("./pkg/resocket.js", location.href).href)};
        await init();
        const s = new ResilientWebSocket(${JSON.stringify(`ws://${location.host}/echo?key=${key}`)});
        s.binaryType = "arraybuffer";
        const seen = [];
        s.onopen = () => seen.push("open");
        s.onclose = (e) => seen.push("close " + e.code);
        await s.opened();
        s.send("hi");
        s.send(new Uint8Array([1, 2, 3]));
        const got = [];
        for await (const data of s) {
          got.push(typeof data === "string" ? data : [...new Uint8Array(data)].join(","));
          if (got.length === 2) break;
        }
        s.close(1000, "done");
        await new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r()));
        postMessage({ global: typeof window, got, seen });
      `;
      const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
      const worker = new Worker(url, { type: "module" });
      const result = await within(10000, new Promise((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
      }), "the worker's result");
      worker.terminate();
      URL.revokeObjectURL(url);
      return result;
    }, key);
    assert.deepEqual(r, { global: "undefined", got: ["hi", "1,2,3"], seen: ["open", "close 1000"] });
    const rep = await report(server, key);
    assert.deepEqual(rep.connections[0].received, ["hi", "bin:3:010203"]);
  });

  it("works in a page whose Object.prototype was polluted", async () => {
    const r = await run(async () => {
      // A classic prototype-pollution gadget, and setters that throw for event fields.
      const polluted = ["get", "data", "code", "name"];
      for (const key of polluted.slice(1)) {
        Object.defineProperty(Object.prototype, key, { set() { throw new Error(`polluted ${key}`); }, configurable: true });
      }
      Object.prototype.get = 1;
      try {
        const s = new resocket.ResilientWebSocket("/echo", [], { maxRetries: 0 });
        const seen = [];
        for (const type of ["statechange", "open", "message", "close", "error"]) {
          s.addEventListener(type, (e) => seen.push(type === "message" ? `message ${e.data}` : type === "close" ? `close ${e.code}` : type));
        }
        await within(5000, s.opened(), "open");
        s.send("hi");
        await within(5000, (async () => { while (!seen.includes("message hi")) await sleep(20); })(), "the echo");
        s.close(4000, "bye");
        await within(5000, (async () => { while (!seen.includes("close 4000")) await sleep(20); })(), "the close");
        const rejected = await s.sendAsync("late").then(() => "resolved", (e) => `${e.name}`);
        return { seen, state: s.state, rejected };
      } finally {
        delete Object.prototype.get;
        for (const key of polluted.slice(1)) delete Object.prototype[key];
      }
    });
    assert.deepEqual(r.seen.filter((e) => e !== "statechange"), ["open", "message hi", "close 4000"]);
    assert.ok(r.seen.filter((e) => e === "statechange").length >= 3, `${r.seen}`);
    assert.equal(r.state, "closed");
    assert.equal(r.rejected, "InvalidStateError");
  });

  it("ends a for await cleanly when the page put a setter for done on Object.prototype", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo");
      await s.opened();
      const it = s[Symbol.asyncIterator]();
      const thrown = [];
      let calls = 0;
      // Runs as the iterator's last result gets its done property: stops the iterator there.
      Object.defineProperty(Object.prototype, "done", {
        set() {
          if (calls++) return;
          try { it.return(); } catch (e) { thrown.push(String(e)); }
        },
        configurable: true,
      });
      try {
        const last = it.next();
        s.close();
        await within(5000, last, "the end of the iteration");
        return { calls, thrown, state: s.state };
      } finally {
        delete Object.prototype.done;
      }
    });
    assert.ok(r.calls >= 1, "the setter ran");
    assert.deepEqual(r.thrown, [], "return() from inside the setter works");
    assert.equal(r.state, "closed");
  });

  it("hands binary messages over as Blobs when binaryType is blob, switchable at any time", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo", [], { binaryType: "blob" });
      s.send(new Uint8Array([1, 2, 3]));
      const a = (await nextEvent(s, "message")).data;
      s.binaryType = "arraybuffer";
      s.send(new Uint8Array([4]));
      const b = (await nextEvent(s, "message")).data;
      s.close();
      return [a instanceof Blob, a instanceof Blob ? [...new Uint8Array(await a.arrayBuffer())] : null, b instanceof ArrayBuffer];
    });
    assert.deepEqual(r, [true, [1, 2, 3], true]);
  });

  it("iterates messages with for await, ends on close, and break stops it", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo");
      const got = [];
      const loop = (async () => {
        for await (const data of s) {
          got.push(data);
          if (got.length === 3) s.close();
        }
        return "done";
      })();
      for (const m of ["a", "b", "c"]) s.send(m);
      const end = await within(5000, loop, "the loop to end");
      const t = new resocket.ResilientWebSocket("/echo");
      const it = t[Symbol.asyncIterator]();
      t.send("x");
      const first = await it.next();
      const ret = await it.return();
      t.close();
      return { got, end, first, ret };
    });
    assert.deepEqual(r.got, ["a", "b", "c"]);
    assert.equal(r.end, "done");
    assert.deepEqual(r.first, { value: "x", done: false });
    assert.deepEqual(r.ret, { value: undefined, done: true });
  });

  it("return() stops an iterator for good, even with an error not yet thrown", async () => {
    const r = await run(async () => {
      // The server closes with 4000, which ends a socket that does not reconnect: an
      // error for the iterator to throw, until return() says stop.
      const s = new resocket.ResilientWebSocket("/close/4000", [], { reconnect: false });
      const it = s[Symbol.asyncIterator]();
      await new Promise((resolve) => s.addEventListener("statechange", (e) => e.state === "closed" && resolve()));
      const ret = await it.return();
      const after = await it.next().then((v) => v, (e) => `rejected: ${e.name}`);
      return { ret, after };
    });
    assert.deepEqual(r.ret, { value: undefined, done: true });
    assert.deepEqual(r.after, { value: undefined, done: true });
  });

  it("throws clear JS errors for bad input, never a wasm trap", async () => {
    const results = await run(() => {
      const { ResilientWebSocket } = resocket;
      const s = new ResilientWebSocket("/echo");
      const cases = {
        "bad scheme": () => new ResilientWebSocket("ftp://example.com/"),
        "bad url": () => new ResilientWebSocket("ws://exa mple.com:99999/"),
        fragment: () => new ResilientWebSocket("/echo#x"),
        "url type": () => new ResilientWebSocket(42),
        "no url": () => new ResilientWebSocket(),
        "protocols type": () => new ResilientWebSocket("/echo", 5),
        "options second": () => new ResilientWebSocket("/echo", { heartbeat: true }),
        "bad protocol": () => new ResilientWebSocket("/echo", ["a b"]),
        "duplicate protocol": () => new ResilientWebSocket("/echo", ["v1", "v1"]),
        "unknown option": () => new ResilientWebSocket("/echo", [], { maxReconnectionDelay: 5000 }),
        "options type": () => new ResilientWebSocket("/echo", [], "fast"),
        "negative time": () => new ResilientWebSocket("/echo", [], { connectTimeout: -1 }),
        "NaN capacity": () => new ResilientWebSocket("/echo", [], { queueCapacity: NaN }),
        "zero capacity": () => new ResilientWebSocket("/echo", [], { queueCapacity: 0 }),
        "fraction capacity": () => new ResilientWebSocket("/echo", [], { queueCapacity: 1.5 }),
        "huge time": () => new ResilientWebSocket("/echo", [], { closeTimeout: 1e300 }),
        "time below a nanosecond": () => new ResilientWebSocket("/echo", [], { closeTimeout: 1e-7 }),
        "low above high": () => new ResilientWebSocket("/echo", [], { highWaterMark: 10, lowWaterMark: 20 }),
        "factor below 1": () => new ResilientWebSocket("/echo", [], { reconnect: { factor: 0.5 } }),
        "base above cap": () => new ResilientWebSocket("/echo", [], { reconnect: { base: 5000, cap: 100 } }),
        "zero base": () => new ResilientWebSocket("/echo", [], { reconnect: { base: 0 } }),
        "bad jitter": () => new ResilientWebSocket("/echo", [], { reconnect: { jitter: "lots" } }),
        "bad maxRetries": () => new ResilientWebSocket("/echo", [], { maxRetries: -1 }),
        "bad maxRetries, no reconnect": () => new ResilientWebSocket("/echo", [], { reconnect: false, maxRetries: "five" }),
        "heartbeat type": () => new ResilientWebSocket("/echo", [], { heartbeat: 5 }),
        "heartbeat zero": () => new ResilientWebSocket("/echo", [], { heartbeat: { interval: 0 } }),
        "heartbeat blob ping": () => new ResilientWebSocket("/echo", [], { heartbeat: { ping: new Blob([]) } }),
        "binaryType option": () => new ResilientWebSocket("/echo", [], { binaryType: "nodebuffer" }),
        "reconnectIf type": () => new ResilientWebSocket("/echo", [], { reconnectIf: true }),
        "inboundLimit type": () => new ResilientWebSocket("/echo", [], { inboundLimit: 1024 }),
        "inboundLimit true": () => new ResilientWebSocket("/echo", [], { inboundLimit: true }),
        "inboundLimit no bytes": () => new ResilientWebSocket("/echo", [], { inboundLimit: { onFull: "drop" } }),
        "inboundLimit zero": () => new ResilientWebSocket("/echo", [], { inboundLimit: { bytes: 0, onFull: "drop" } }),
        "inboundLimit fraction": () => new ResilientWebSocket("/echo", [], { inboundLimit: { bytes: 1.5, onFull: "close" } }),
        "inboundLimit bytes type": () => new ResilientWebSocket("/echo", [], { inboundLimit: { bytes: "1024", onFull: "drop" } }),
        "inboundLimit onFull": () => new ResilientWebSocket("/echo", [], { inboundLimit: { bytes: 1024, onFull: "dropOldest" } }),
        "inboundLimit no onFull": () => new ResilientWebSocket("/echo", [], { inboundLimit: { bytes: 1024 } }),
        "inboundLimit unknown": () => new ResilientWebSocket("/echo", [], { inboundLimit: { bytes: 1024, onFull: "drop", policy: "x" } }),
        "url fn throws": () => new ResilientWebSocket(() => { throw new RangeError("no token yet"); }),
        "url fn returns number": () => new ResilientWebSocket(() => 7),
        "url fn returns bad url": () => new ResilientWebSocket(() => "ftp://x/"),
        "send number": () => s.send(12),
        "send object": () => s.send({ a: 1 }),
        "send nothing": () => s.send(),
        "close 1001": () => s.close(1001),
        "close 5000": () => s.close(5000),
        "close 3000.5": () => s.close(3000.5),
        "close string code": () => s.close("1000"),
        "close long reason": () => s.close(1000, "é".repeat(62)),
        "close reason type": () => s.close(1000, 42),
        "binaryType set": () => { s.binaryType = "text"; },
        "onmessage set": () => { s.onmessage = "alert(1)"; },
        "dispatchEvent": () => s.dispatchEvent({ type: "open" }),
      };
      const out = {};
      for (const [name, f] of Object.entries(cases)) {
        try {
          f();
          out[name] = "no exception";
        } catch (e) {
          out[name] = `${e instanceof Error ? "" : "NOT AN ERROR "}${e.name}: ${e.message}`;
        }
      }
      const stillUsable = s.readyState <= 1 && s.binaryType === "arraybuffer" && s.onmessage === null;
      s.close();
      out.stillUsable = stillUsable;
      return out;
    });
    const expect = {
      "bad scheme": /^SyntaxError: .*scheme must be ws, wss, http or https/,
      "bad url": /^SyntaxError: .*not a valid URL/,
      fragment: /^SyntaxError: .*fragment/,
      "url type": /^TypeError: url must be a string, a URL or a function/,
      "no url": /^TypeError: url must be/,
      "protocols type": /^TypeError: protocols must be a string or an array of strings, not the number 5/,
      "options second": /^TypeError: .*options go third/,
      "bad protocol": /^SyntaxError: the subprotocol "a b" is invalid/,
      "duplicate protocol": /^SyntaxError: the subprotocol "v1" is offered twice/,
      "unknown option": /^TypeError: unknown option options.maxReconnectionDelay; resocket's equivalent is reconnect: \{ cap \}/,
      "options type": /^TypeError: options must be an object, not a string/,
      "negative time": /^RangeError: options.connectTimeout must be a number of milliseconds greater than 0, not -1/,
      "NaN capacity": /^RangeError: options.queueCapacity must be a number, not NaN/,
      "zero capacity": /^RangeError: options.queueCapacity must be a whole number from 1/,
      "fraction capacity": /^RangeError: options.queueCapacity must be a whole number .* not 1.5/,
      "huge time": /^RangeError: options.closeTimeout .* not 1e\+300/,
      "time below a nanosecond": /^RangeError: options.closeTimeout must be a number of milliseconds greater than 0, not 1e-7/,
      "low above high": /^RangeError: options.lowWaterMark \(20\) must not exceed options.highWaterMark \(10\)/,
      "factor below 1": /^RangeError: options.reconnect.factor must be a finite number of at least 1, not 0.5/,
      "base above cap": /^RangeError: options.reconnect.base \(5000 ms\) must not exceed options.reconnect.cap \(100 ms/,
      "zero base": /^RangeError: options.reconnect.base must be a number of milliseconds greater than 0, not 0/,
      "bad jitter": /^TypeError: options.reconnect.jitter must be "full", "equal" or "none"/,
      "bad maxRetries": /^RangeError: options.maxRetries must be a whole number from 0/,
      "bad maxRetries, no reconnect": /^(TypeError|RangeError): options.maxRetries must be/,
      "heartbeat type": /^TypeError: options.heartbeat must be true, false or an object, not the number 5/,
      "heartbeat zero": /^RangeError: options.heartbeat.interval must be a number of milliseconds greater than 0/,
      "heartbeat blob ping": /^TypeError: options.heartbeat.ping must be a string, an ArrayBuffer/,
      "binaryType option": /^TypeError: binaryType must be "arraybuffer" or "blob", not "nodebuffer"/,
      "reconnectIf type": /^TypeError: options.reconnectIf must be a function, not a boolean/,
      "inboundLimit type": /^TypeError: options.inboundLimit must be an object such as \{ bytes: 1048576, onFull: "drop" \}, not the number 1024/,
      "inboundLimit true": /^TypeError: options.inboundLimit must be an object .* not a boolean/,
      "inboundLimit no bytes": /^TypeError: options.inboundLimit.bytes is required/,
      "inboundLimit zero": /^RangeError: options.inboundLimit.bytes must be a whole number from 1 to 4294967295, not 0/,
      "inboundLimit fraction": /^RangeError: options.inboundLimit.bytes must be a whole number .* not 1.5/,
      "inboundLimit bytes type": /^TypeError: options.inboundLimit.bytes must be a number, not a string/,
      "inboundLimit onFull": /^TypeError: options.inboundLimit.onFull must be "close" or "drop", not "dropOldest"/,
      "inboundLimit no onFull": /^TypeError: options.inboundLimit.onFull must be "close" or "drop", not undefined/,
      "inboundLimit unknown": /^TypeError: unknown option options.inboundLimit.policy; known options: bytes, onFull/,
      "url fn throws": /^RangeError: no token yet$/,
      "url fn returns number": /^TypeError: the url function must return a string, a URL or \{ url, protocols \}, not the number 7/,
      "url fn returns bad url": /^SyntaxError: .*scheme must be/,
      "send number": /^TypeError: send\(\) takes a string, an ArrayBuffer, a TypedArray, a DataView or a Blob, not the number 12/,
      "send object": /^TypeError: send\(\) takes .* not an object/,
      "send nothing": /^TypeError: send\(\) takes .* not undefined/,
      "close 1001": /^InvalidAccessError: invalid close code 1001: use 1000 or a code in 3000-4999/,
      "close 5000": /^InvalidAccessError: invalid close code 5000/,
      "close 3000.5": /^InvalidAccessError: invalid close code 3000.5/,
      "close string code": /^TypeError: the close code must be a number, not a string/,
      "close long reason": /^SyntaxError: close reason is 124 bytes long; at most 123 UTF-8 bytes/,
      "close reason type": /^TypeError: the close reason must be a string, not the number 42/,
      "binaryType set": /^TypeError: binaryType must be "arraybuffer" or "blob", not "text"/,
      "onmessage set": /^TypeError: onmessage must be a function or null, not a string/,
      dispatchEvent: /^TypeError: dispatchEvent\(\) takes an Event, not an object/,
    };
    for (const [name, re] of Object.entries(expect)) {
      assert.match(results[name], re, name);
    }
    assert.equal(results.stillUsable, true, "the socket is unharmed by the bad calls");
  });

  it("inboundLimit: an iterator nobody reads holds the pace until it is let go of, and never the end", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo", [], { inboundLimit: { bytes: 1024, onFull: "drop" } });
      const heard = [];
      const states = [];
      s.addEventListener("message", (e) => heard.push(e.data));
      s.addEventListener("statechange", (e) => states.push(e.state));
      await nextEvent(s, "open");
      // One message from this iterator, then it is never read nor return()ed again. (Kept
      // referenced: once garbage-collected, an iterator lets go of its place.)
      const abandoned = (window.abandoned = s[Symbol.asyncIterator]());
      const first = abandoned.next();
      const loop = (async () => {
        const got = [];
        for await (const data of s) got.push(data);
        return got;
      })();
      for (const m of ["a", "b", "c"]) s.send(m);
      const { value } = await within(2000, first, "the first message");
      await sleep(300);
      const heldBack = [...heard];
      // Let go of without return() (free(), as garbage collection or `using` would): it no
      // longer sets the pace, and "c" comes at once.
      abandoned.free();
      const afterFree = await within(2000, (async () => { while (heard.length < 3) await sleep(20); })(), "the rest")
        .then(() => [...heard], (e) => e.message);
      s.close();
      let got;
      try {
        got = await within(3000, loop, "the other loop's end");
      } catch (e) {
        got = e.message;
      }
      await sleep(50);
      window.abandoned = null;
      return { value, heldBack, afterFree, got, heard, states };
    });
    assert.equal(r.value, "a");
    // "b" is waiting for the abandoned iterator: "c" is not taken meanwhile.
    assert.deepEqual(r.heldBack, ["a", "b"], "the abandoned iterator sets the pace while it lives");
    assert.deepEqual(r.afterFree, ["a", "b", "c"], "let go of, it no longer does");
    assert.deepEqual(r.got, ["a", "b", "c"], "the other loop gets what was left, then ends");
    assert.deepEqual(r.heard, ["a", "b", "c"]);
    assert.equal(r.states.at(-1), "closed", `${r.states}`);
  });

  it("inboundLimit: a slow for await loop sets the pace, at most the limit waits, and drops are counted", async (t) => {
    const r = await run(async () => {
      const [n, size, limit] = [200, 16384, 256 * 1024];
      const index = (data) => (typeof data === "string" ? data : new DataView(data).getUint32(0));
      // A loop that reads one message, then sleeps while the whole flood (n × size, then
      // "done") arrives, then reads on until "done" or the echo of its "end".
      const slowly = async (options) => {
        const s = new resocket.ResilientWebSocket(`/flood/${n}/${size}`, [], options);
        const dropEvents = [];
        const heard = [];
        s.addEventListener("dropped", (e) => dropEvents.push(e.count));
        s.addEventListener("message", (e) => heard.push(index(e.data)));
        const messages = s[Symbol.asyncIterator]();
        const got = [];
        let thrown = null;
        try {
          for await (const data of messages) {
            got.push(index(data));
            if (got.length === 1) await sleep(1500);
            if (got.length === 3 && s.readyState === 1) s.send("end");
            if (data === "done" || data === "end") break;
          }
        } catch (e) {
          thrown = { name: e.name, code: e.close?.code };
        }
        const out = { got, heard: [...heard], dropEvents, dropped: messages.dropped, thrown, state: s.state };
        s.close();
        return out;
      };
      return {
        unbounded: await slowly({}),
        drop: await slowly({ inboundLimit: { bytes: limit, onFull: "drop" } }),
        close: await slowly({ inboundLimit: { bytes: limit, onFull: "close" }, reconnect: false }),
        n, fits: limit / size,
      };
    });
    const numbers = (got) => got.filter((d) => typeof d === "number");
    const fromZero = (got) => numbers(got).every((i, k) => i === k);

    // Without a limit everything waits for the loop: all n messages and "done".
    assert.equal(r.unbounded.got.length, r.n + 1);
    assert.equal(r.unbounded.got.at(-1), "done");
    assert.deepEqual([r.unbounded.dropped, r.unbounded.dropEvents.length], [0, 0]);

    // "drop": what waited is what fits the limit, plus the message in the loop's hands and
    // the one handed to it next; the rest (and "done") was dropped and counted, then "end".
    const kept = numbers(r.drop.got).length;
    assert.ok(fromZero(r.drop.got), `kept from the first, in order: ${r.drop.got}`);
    assert.ok(kept >= r.fits && kept <= r.fits + 2, `kept ${kept} of ${r.n} with room for ${r.fits}`);
    assert.equal(r.drop.got.at(-1), "end");
    assert.equal(r.drop.dropped, r.n + 1 - kept, "the iterator counts every dropped message, done included");
    assert.equal(r.drop.dropEvents.reduce((a, b) => a + b, 0), r.drop.dropped, "and the dropped events say the same");
    assert.deepEqual(r.drop.heard, r.drop.got, "message listeners get the same messages, at the loop's pace");
    assert.equal(r.drop.thrown, null);

    // "close": the kept messages, then the loop throws the 4001 close (not retried by default).
    const closeKept = numbers(r.close.got).length;
    assert.ok(fromZero(r.close.got), `${r.close.got}`);
    assert.ok(closeKept >= r.fits && closeKept <= r.fits + 2, `kept ${closeKept}`);
    assert.deepEqual(r.close.thrown, { name: "ClosedError", code: 4001 });
    assert.equal(r.close.state, "closed");
    t.diagnostic(
      `${r.n} × 16 KiB during a 1.5 s pause, room for ${r.fits}: no limit kept ${r.unbounded.got.length}; ` +
        `"drop" kept ${kept}, dropped ${r.drop.dropped} in ${r.drop.dropEvents.length} event(s); "close" kept ${closeKept}`,
    );
  });

  it("reports the end with a named error: opened() and sendAsync() reject, the error event says why", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/close/4001/bye", [], { reconnect: false });
      const errorEvent = nextEvent(s, "error");
      const opened = await s.opened().then(() => "opened", (e) => e);
      const closed = await nextEvent(s, "close");
      const e = await errorEvent;
      await sleep(50);
      const late = await s.sendAsync("late").then(() => "accepted", (err) => `${err.name}: ${err.message}`);
      let thrown = null;
      try { s.send("late"); } catch (err) { thrown = err.name; }
      return {
        opened, closeCode: closed.code,
        errorEvent: { isErrorEvent: e instanceof ErrorEvent, name: e.error?.name, close: e.error?.close, attempts: e.error?.attempts, message: e.message },
        readyState: s.readyState, late, thrown,
      };
    });
    assert.equal(r.opened, "opened");
    assert.equal(r.closeCode, 4001);
    assert.deepEqual(r.errorEvent.close, { code: 4001, reason: "bye", wasClean: true });
    assert.equal(r.errorEvent.isErrorEvent, true);
    assert.equal(r.errorEvent.name, "ClosedError");
    assert.equal(r.errorEvent.attempts, 0);
    assert.match(r.errorEvent.message, /the connection closed: code 4001/);
    assert.equal(r.readyState, 3);
    assert.match(r.late, /^InvalidStateError: the socket is closed/);
    assert.equal(r.thrown, "InvalidStateError");
  });

  it("fires reconnecting with attempt and delay, and statechange through the cycle", async () => {
    const key = uniqueKey("cycle");
    await run((key) => {
      window.cycle = { events: [], s: new resocket.ResilientWebSocket(`/echo?key=${key}`, [], { reconnect: { base: 200, cap: 200, jitter: "none" } }) };
      for (const t of ["open", "close", "reconnecting", "statechange"]) {
        cycle.s.addEventListener(t, (e) => cycle.events.push([t, e.state ?? e.attempt ?? e.code ?? "", e.delay ?? ""]));
      }
      return nextEvent(cycle.s, "open");
    }, key);
    await fetch(`${server.base}/api/drop/${key}`);
    await until(() => run(() => cycle.events.filter((e) => e[0] === "open").length === 2), "the second open");
    const events = await run(() => { cycle.s.close(); return cycle.events; });
    assert.deepEqual(events, [
      ["open", "", ""],
      ["statechange", "open", ""],
      ["close", 1006, ""],
      ["reconnecting", 1, 200],
      ["statechange", "reconnecting", ""],
      ["statechange", "connecting", ""],
      ["open", "", ""],
      ["statechange", "open", ""],
    ]);
  });

  it("honours backpressure: sendAsync() waits above the high-water mark, ready() and flush() too", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/stall", [], { highWaterMark: 64 * 1024, heartbeat: false, closeTimeout: 500 });
      await s.opened();
      const chunk = new Uint8Array(32 * 1024);
      let accepted = 0;
      let pending = false;
      const deadline = performance.now() + 20000;
      // The kernel takes a few MB first; then bufferedAmount grows and sendAsync waits.
      while (performance.now() < deadline) {
        const p = s.sendAsync(chunk).then(() => true);
        const done = await Promise.race([p, sleep(300).then(() => false)]);
        if (!done) { pending = true; break; }
        accepted++;
      }
      const buffered = s.bufferedAmount;
      const ready = await Promise.race([s.ready().then(() => "ready"), sleep(300).then(() => "waiting")]);
      const flushed = await Promise.race([s.flush().then(() => "flushed"), sleep(300).then(() => "waiting")]);
      const closed = new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r()));
      s.close();
      // The server reads nothing: the close times out and the socket is given up.
      const whileClosing = s.takeUnsent().length;
      await within(5000, closed, "closed for good");
      const unsent = s.takeUnsent();
      return { accepted, pending, buffered, ready, flushed, whileClosing, unsent: unsent.length, again: s.takeUnsent().length };
    });
    assert.ok(r.pending, `sendAsync kept waiting (after ${r.accepted} chunks)`);
    assert.ok(r.buffered >= 64 * 1024, `bufferedAmount ${r.buffered} is above the high-water mark`);
    assert.equal(r.ready, "waiting");
    assert.equal(r.flushed, "waiting");
    assert.equal(r.whileClosing, 0, "nothing before the socket is closed for good");
    assert.ok(r.unsent >= 2, `what never left is handed back (${r.unsent}): the browser's and the waiting sendAsync's`);
    assert.equal(r.again, 0);
  });

  it("takeUnsent() hands back everything given before it, in order, the moment the socket is closed", async () => {
    const r = await run(async () => {
      // Nothing listens on port 9: the socket waits to reconnect, and its queue holds one.
      const s = new resocket.ResilientWebSocket("ws://127.0.0.1:9/", [], { queueCapacity: 1, reconnect: { base: 5000, cap: 5000 } });
      await nextEvent(s, "reconnecting");
      s.send("a");
      const b = s.sendAsync("b").then(() => "sent", (e) => e.name);
      s.send(new Blob(["c"]));
      s.close();
      const unsent = await Promise.all(s.takeUnsent().map((d) => (typeof d === "string" ? d : d.text())));
      return { unsent, b: await b, again: s.takeUnsent().length };
    });
    assert.deepEqual(r.unsent, ["a", "b", "c"]);
    assert.equal(r.b, "InvalidStateError");
    assert.equal(r.again, 0);
  });

  it("a ready() still waiting when close() comes rejects, on an open socket too", async () => {
    const r = await run(async () => {
      const waiting = new resocket.ResilientWebSocket("ws://127.0.0.1:9/", [], { queueCapacity: 1, reconnect: { base: 5000, cap: 5000 } });
      await nextEvent(waiting, "reconnecting");
      waiting.send("a");
      const closedWhileWaiting = waiting.ready().then(() => "resolved", (e) => e.name);
      waiting.close();
      // Open, above the high-water mark: ready() waits for the buffer to drain.
      const open = new resocket.ResilientWebSocket("/stall", [], { highWaterMark: 1024, closeTimeout: 300 });
      await open.opened();
      open.send(new Uint8Array(8 * 1024 * 1024));
      const closedWhileOpen = open.ready().then(() => "resolved", (e) => e.name);
      open.close();
      return { closedWhileWaiting: await closedWhileWaiting, closedWhileOpen: await closedWhileOpen };
    });
    assert.deepEqual(r, { closedWhileWaiting: "InvalidStateError", closedWhileOpen: "InvalidStateError" });
  });

  it("close() sends what send() accepted first, like a browser's WebSocket", async () => {
    const key = uniqueKey("close-drain");
    const r = await run(async (key) => {
      const s = new resocket.ResilientWebSocket(`/sink?key=${key}`, [], { heartbeat: false });
      await s.opened();
      // 4 MiB: most of it above the high-water mark (1 MiB), so still in resocket's queue.
      const chunk = new Uint8Array(128 * 1024);
      for (let i = 0; i < 32; i++) s.send(chunk);
      s.send(new Blob(["blob"])); // read asynchronously: what follows waits for it
      s.send("bye");
      s.close(1000, "done");
      const closing = { readyState: s.readyState, state: s.state };
      let late = null;
      try { s.send("late"); } catch (e) { late = e.name; }
      const states = [];
      s.addEventListener("statechange", (e) => states.push(e.state));
      const c = await nextEvent(s, "close", 20000);
      await sleep(50);
      return { closing, late, states, close: { code: c.code, reason: c.reason, wasClean: c.wasClean }, unsent: s.takeUnsent().length };
    }, key);
    assert.deepEqual(r.closing, { readyState: 2, state: "closing" });
    assert.equal(r.late, "InvalidStateError");
    assert.deepEqual(r.close, { code: 1000, reason: "done", wasClean: true });
    assert.deepEqual(r.states, ["closing", "closed"]);
    assert.equal(r.unsent, 0);
    const got = (await report(server, key)).connections.map((c) => c.received);
    assert.equal(got.length, 1, "one connection");
    assert.equal(got[0].length, 34, `all 34 messages reached the server: ${got[0].length}`);
    assert.ok(got[0].slice(0, 32).every((m) => m.startsWith("bin:131072")));
    assert.ok(got[0][32].startsWith("bin:4"), got[0][32]);
    assert.equal(got[0][33], "bye");
  });

  it("close() from inside onclose stops the reconnection with no reconnecting event", async () => {
    const seen = await run(async () => {
      const s = new resocket.ResilientWebSocket("/close/4000", [], { reconnectIf: () => true, reconnect: { base: 200, cap: 200 } });
      const seen = [];
      for (const t of ["open", "close", "reconnecting", "statechange"]) {
        s.addEventListener(t, (e) => seen.push([t, e.state ?? e.code ?? ""]));
      }
      s.onclose = () => s.close();
      await within(5000, new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r())), "closed");
      await sleep(300);
      return seen;
    });
    assert.deepEqual(seen, [
      ["open", ""],
      ["statechange", "open"],
      ["close", 4000],
      ["statechange", "closed"],
    ]);
  });

  it("a Blob handed back by takeUnsent() while it was read is not sent nor handed back again", async () => {
    const r = await run(async () => {
      // Nothing listens on port 9: the socket waits to reconnect.
      const s = new resocket.ResilientWebSocket("ws://127.0.0.1:9/", [], { reconnect: { base: 5000, cap: 5000 } });
      await nextEvent(s, "reconnecting");
      const blob = new Blob(["x"]);
      let release = null;
      blob.arrayBuffer = () => new Promise((r) => (release = () => r(new ArrayBuffer(1))));
      s.send(blob);
      await sleep(0);
      const reading = release !== null;
      s.close();
      const first = s.takeUnsent();
      const flushed = s.flush().then(() => "resolved", (e) => e.name);
      release();
      return { reading, first: first.map((d) => d === blob), flushed: await flushed, again: s.takeUnsent().length };
    });
    assert.ok(r.reading, "the Blob was being read when close() came");
    assert.deepEqual(r.first, [true]);
    assert.equal(r.flushed, "InvalidStateError", "flush() cannot succeed: the Blob never left");
    assert.equal(r.again, 0, "handed back once");
  });

  it("flush() after the end rejects when a Blob read meanwhile was left unsent", async () => {
    const r = await run(async () => {
      // The connection is refused for good while the Blob is read: the read ends after the
      // socket did, so the Blob never reaches the Sink.
      const s = new resocket.ResilientWebSocket("ws://127.0.0.1:9/", [], { reconnect: false });
      const blob = new Blob(["x"]);
      let release = null;
      blob.arrayBuffer = () => new Promise((r) => (release = () => r(new ArrayBuffer(1))));
      s.send(blob);
      await within(5000, new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r())), "closed");
      const reading = release !== null;
      release();
      await sleep(50);
      const flushed = await s.flush().then(() => "resolved", (e) => e.name);
      return { reading, flushed, unsent: s.takeUnsent().map((d) => d === blob || d instanceof ArrayBuffer) };
    });
    assert.ok(r.reading, "the Blob was still being read when the socket ended");
    assert.equal(r.flushed, "InvalidStateError");
    assert.deepEqual(r.unsent, [true]);
  });

  it("calls the url function before every attempt, with the attempt number", async () => {
    const key = uniqueKey("urlfn");
    const calls = await run(async (key) => {
      const calls = [];
      const s = new resocket.ResilientWebSocket(
        (attempt) => {
          calls.push(attempt);
          return attempt < 2 ? `/reject/100/${key}` : { url: new URL(`/echo?key=${key}`, location.href), protocols: ["v2.resocket"] };
        },
        [],
        { reconnect: { base: 50, cap: 50 } },
      );
      await within(10000, s.opened(), "open on the third attempt");
      const protocol = s.protocol;
      s.close();
      return { calls, protocol };
    }, key);
    assert.deepEqual(calls.calls, [0, 1, 2]);
    assert.equal(calls.protocol, "v2.resocket");
  });

  it("ends cleanly when the url function throws something that is not an Error", async () => {
    const r = await run(async () => {
      const thrown = (f) => {
        try {
          new resocket.ResilientWebSocket(f);
          return "no exception";
        } catch (e) {
          return e instanceof Error ? `${e.name}` : `thrown ${String(e)}`;
        }
      };
      const atOnce = thrown(() => { throw undefined; });
      const fakeUrl = thrown(() => Object.create(URL.prototype));
      // On a reconnect attempt: the socket must end (not hang with its state held).
      const s = new resocket.ResilientWebSocket(
        (attempt) => {
          if (attempt > 0) throw undefined;
          return "/drop-after/0";
        },
        [],
        { reconnect: { base: 20, cap: 20 } },
      );
      const error = nextEvent(s, "error");
      const closed = new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r()));
      await within(5000, closed, "closed for good");
      const e = await error;
      return {
        atOnce,
        fakeUrl,
        message: e.message,
        // No object was thrown: the event's `error` is still an Error, as typed.
        error: e.error instanceof Error ? `${e.error.name}: ${e.error.message}` : `not an Error: ${String(e.error)}`,
        readyState: s.readyState,
        opened: await s.opened().then(() => "opened", () => "rejected"),
      };
    });
    assert.equal(r.atOnce, "thrown undefined", "what it threw, not an error of our own");
    assert.equal(r.fakeUrl, "TypeError");
    assert.match(r.message, /the url function failed/);
    assert.match(r.error, /^Error: .*the url function failed/);
    assert.equal(r.readyState, 3);
    assert.equal(r.opened, "rejected");
  });

  it("ends cleanly when the url function's result throws as it is read", async () => {
    const r = await run(async () => {
      const revoked = () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      };
      const hostile = {
        revoked,
        "revoked protocols": () => ({ url: "/echo", protocols: revoked() }),
        "protocols that throw": () => ({
          url: "/echo",
          protocols: new Proxy(["v1"], { get: () => { throw new RangeError("no protocols today"); } }),
        }),
      };
      const results = {};
      for (const [name, make] of Object.entries(hostile)) {
        let atOnce;
        try {
          new resocket.ResilientWebSocket(make);
          atOnce = "no exception";
        } catch (e) {
          atOnce = `${e.name}: ${e.message}`;
        }
        // On a reconnect attempt, where the socket's state is in use: it must end, not hang.
        const s = new resocket.ResilientWebSocket((attempt) => (attempt > 0 ? make() : "/drop-after/0"), [], {
          reconnect: { base: 20, cap: 20 },
        });
        const error = nextEvent(s, "error");
        const closed = new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r()));
        const ended = await within(5000, closed, `${name}: closed for good`).then(() => "closed", (e) => e.message);
        results[name] = { atOnce, ended, message: ended === "closed" ? (await error).message : null };
      }
      // And the module goes on working.
      const s = new resocket.ResilientWebSocket("/echo");
      s.send("still here");
      results.after = (await nextEvent(s, "message")).data;
      s.close();
      return results;
    });
    const revokedMessage = /^TypeError: .*revoked/;
    assert.match(r.revoked.atOnce, revokedMessage);
    assert.equal(
      r["revoked protocols"].atOnce,
      "TypeError: the url function's result .protocols must be a string or an array of strings, not an object",
    );
    assert.equal(r["protocols that throw"].atOnce, "RangeError: no protocols today");
    assert.equal(r.revoked.ended, "closed");
    assert.match(r.revoked.message, /revoked/);
    assert.equal(r["revoked protocols"].ended, "closed");
    assert.match(r["revoked protocols"].message, /must be a string or an array of strings, not an object$/);
    assert.equal(r["protocols that throw"].ended, "closed");
    assert.match(r["protocols that throw"].message, /: no protocols today$/);
    assert.equal(r.after, "still here");
  });

  it("throws a TypeError for bytes it cannot read (a detached buffer, a fake Blob) and is unharmed", async () => {
    const r = await run(async () => {
      const caught = (f) => {
        try {
          f();
          return "no exception";
        } catch (e) {
          return e.name;
        }
      };
      const detach = (buffer) => structuredClone(buffer, { transfer: [buffer] });
      const s = new resocket.ResilientWebSocket("/echo");
      s.binaryType = "arraybuffer";
      await s.opened();
      const echoes = [];
      s.addEventListener("message", (e) => echoes.push(typeof e.data === "string" ? e.data : [...new Uint8Array(e.data)].join(",")));
      const detached = new ArrayBuffer(8);
      detach(detached);
      const buffer = new ArrayBuffer(8);
      const view = new Uint8Array(buffer, 2, 4);
      detach(buffer);
      // Views whose extent properties lie (own properties over the built-in getters): their
      // own bytes go, as the browser's send reads them, never other bytes.
      const far = new Uint8Array([1, 2, 3]);
      Object.defineProperty(far, "byteOffset", { get: () => 2 ** 32 });
      const nan = new Uint8Array([4, 5]);
      Object.defineProperty(nan, "byteLength", { get: () => NaN });
      const huge = new DataView(new Uint8Array([6]).buffer);
      Object.defineProperty(huge, "byteLength", { get: () => 2 ** 33 });
      const elsewhere = new Uint8Array([7, 8]);
      Object.defineProperty(elsewhere, "buffer", { value: new Uint8Array([9, 9, 9]).buffer });
      const results = {
        detached: caught(() => s.send(detached)),
        "view of a detached buffer": caught(() => s.send(view)),
        "fake Blob": caught(() => s.send(Object.create(Blob.prototype))),
        "lying byteOffset": caught(() => s.send(far)),
        "lying byteLength": caught(() => s.send(nan)),
        "lying DataView byteLength": caught(() => s.send(huge)),
        "lying buffer": caught(() => s.send(elsewhere)),
        "sendAsync fake Blob": await s.sendAsync(Object.create(Blob.prototype)).then(() => "resolved", (e) => e.name),
      };
      s.send("still here");
      await within(5000, (async () => { while (!echoes.includes("still here")) await sleep(20); })(), "the echoes");
      results.echoed = echoes;
      s.close();
      await within(5000, new Promise((r) => s.addEventListener("statechange", () => s.state === "closed" && r())), "closed");
      // Once closed for good, its listeners are let go; a fake event is still refused.
      results["fake event once closed"] = caught(() => s.dispatchEvent(Object.create(Event.prototype)));
      // `free()` needs the object not borrowed: an exception that went through the wasm
      // code without being caught there would have left it borrowed.
      results.free = caught(() => s.free());
      return results;
    });
    assert.deepEqual(r, {
      detached: "TypeError",
      "view of a detached buffer": "TypeError",
      "fake Blob": "TypeError",
      "lying byteOffset": "no exception",
      "lying byteLength": "no exception",
      "lying DataView byteLength": "no exception",
      "lying buffer": "no exception",
      "sendAsync fake Blob": "TypeError",
      echoed: ["1,2,3", "4,5", "6", "7,8", "still here"],
      "fake event once closed": "TypeError",
      free: "no exception",
    });
  });

  it("[Symbol.dispose] (using) closes the socket, then lets the object go", async () => {
    const r = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo");
      await s.opened();
      const closed = new Promise((r) => s.addEventListener("close", (e) => r({ code: e.code, wasClean: e.wasClean })));
      s[Symbol.dispose]();
      // Again, as a DisposableStack or a free() inside the block may: nothing happens.
      s[Symbol.dispose]();
      const end = await within(5000, closed, "the close event");
      let freed;
      try {
        s.send("x");
      } catch (e) {
        freed = e.message;
      }
      return { end, freed };
    });
    assert.deepEqual(r.end, { code: 1000, wasClean: true });
    assert.match(r.freed, /null pointer passed to rust/);
  });

  it("takes its own callbacks calling back into it without harm", async () => {
    const r = await run(async () => {
      let s;
      const seen = [];
      const inside = (what) => {
        seen.push(`${what}: readyState ${s.readyState}`);
        try { s.send("from inside"); } catch (e) { seen.push(`${what}: ${e.name}`); }
      };
      s = new resocket.ResilientWebSocket(
        (attempt) => {
          if (attempt > 0) inside("url");
          const url = attempt === 0 ? "/drop-after/1" : `/reject/100/${Math.random()}`;
          // Reading the result runs the page's code too: a getter is a callback as well.
          return { get url() { if (attempt > 0) inside("url getter"); return url; } };
        },
        [],
        {
          reconnect: { base: 20, cap: 20, maxRetries: 1 },
          reconnectIf: (close) => { inside("reconnectIf"); return close.code === 1006; },
        },
      );
      s.send("one");
      await within(5000, new Promise((r) => s.addEventListener("statechange", (e) => e.state === "closed" && r())), "closed");
      return seen;
    });
    assert.deepEqual(r, [
      "reconnectIf: readyState 1",
      "reconnectIf: InvalidStateError",
      "url: readyState 0",
      "url: InvalidStateError",
      "url getter: readyState 0",
      "url getter: InvalidStateError",
      "reconnectIf: readyState 0",
      "reconnectIf: InvalidStateError",
    ]);
  });

  it("reports a callback that throws or answers with a Promise, and does the safe thing", async () => {
    const r = await run(async () => {
      const errors = (s) => {
        const seen = [];
        s.addEventListener("error", (e) => seen.push(`${e.message} | ${e.error?.name}: ${e.error?.message}`));
        return seen;
      };
      // An async pong test: its Promise is no answer, so nothing is taken for a pong and
      // every message is delivered (it used to count as true and swallow them all).
      const a = new resocket.ResilientWebSocket("/echo", [], {
        heartbeat: { interval: 100, timeout: 2000, ping: "hb", pong: async (data) => data === "hb" },
      });
      const aErrors = errors(a);
      const got = [];
      a.onmessage = (e) => got.push(e.data);
      await a.opened();
      a.send("data");
      await within(5000, (async () => { while (!(got.includes("data") && got.includes("hb"))) await sleep(20); })(), "the data and the ping's echo");
      a.close();
      // A policy that throws, and an async one: the default decides (4003: no retry).
      const outcomes = [];
      for (const reconnectIf of [() => { throw new RangeError("policy bug"); }, async ({ code }) => code !== 4003]) {
        const b = new resocket.ResilientWebSocket("/close/4003", [], { reconnectIf, reconnect: { base: 20, cap: 20 } });
        const bErrors = errors(b);
        const order = [];
        b.addEventListener("error", () => order.push("error"));
        b.addEventListener("close", () => order.push("close"));
        b.addEventListener("reconnecting", () => order.push("reconnecting"));
        await within(5000, new Promise((r) => b.addEventListener("statechange", (e) => e.state === "closed" && r())), "closed");
        outcomes.push({ errors: bErrors, order });
      }
      return { pongErrors: aErrors.slice(0, 2), got: got.slice(0, 2).sort(), outcomes };
    });
    assert.equal(r.pongErrors.length, 2, "one error event per message the test failed on");
    for (const e of r.pongErrors) {
      assert.match(e, /^options\.heartbeat\.pong failed: the message was delivered \| TypeError: options\.heartbeat\.pong returned a Promise \(an async function\?\): it must answer at once$/);
    }
    assert.deepEqual(r.got, ["data", "hb"]);
    const [thrown, asynchronous] = r.outcomes;
    assert.equal(thrown.errors[0], "options.reconnectIf failed: the default policy decided | RangeError: policy bug");
    assert.match(asynchronous.errors[0], /^options\.reconnectIf failed: the default policy decided \| TypeError: options\.reconnectIf returned a Promise/);
    for (const o of r.outcomes) {
      assert.ok(!o.order.includes("reconnecting"), `4003 is not retried by default: ${o.order}`);
      assert.ok(o.order.indexOf("error") < o.order.indexOf("close"), `the error comes first: ${o.order}`);
      assert.match(o.errors[1], /ClosedError: the connection closed: code 4003/, "then the end's own error");
      assert.equal(o.errors.length, 2);
    }
  });

  it("lives on like a WebSocket when the JS object is garbage-collected or freed", async () => {
    const key = uniqueKey("gc");
    await run((key) => {
      window.gc = { attempts: [], opens: 0 };
      // No reference kept: only the socket's own listeners know about it.
      (() => {
        const s = new resocket.ResilientWebSocket(
          (attempt) => { gc.attempts.push(attempt); return `/echo?key=${key}`; },
          [],
          { reconnect: { base: 20, cap: 20 } },
        );
        s.onopen = () => gc.opens++;
      })();
    }, key);
    await until(() => run(() => gc.opens === 1), "the first open");
    for (let i = 0; i < 3; i++) await page.requestGC();
    await fetch(`${server.base}/api/drop/${key}`);
    await until(() => run(() => gc.opens === 2), "a reconnection after garbage collection");
    assert.deepEqual(await run(() => gc.attempts), [0, 1]);
    await fetch(`${server.base}/api/close/${key}/1000/done`); // ends it for good

    const key2 = uniqueKey("freed");
    const freed = await run(async (key2) => {
      const s = new resocket.ResilientWebSocket(`/echo?key=${key2}`, [], { reconnect: { base: 20, cap: 20 } });
      window.freedOpens = 0;
      s.onopen = () => freedOpens++;
      await s.opened();
      s.free(); // wasm-bindgen's, not part of the typed API: the JS object is gone, the socket is not
      const after = [];
      for (const f of [() => s.send("x"), () => s.readyState, () => s.close()]) {
        try { f(); after.push("no exception"); } catch (e) { after.push(`${e.constructor.name}: ${e.message}`); }
      }
      return after;
    }, key2);
    await fetch(`${server.base}/api/drop/${key2}`);
    await until(() => run(() => freedOpens === 2), "a reconnection after free()");
    await fetch(`${server.base}/api/close/${key2}/1000/done`);
    for (const line of freed) assert.match(line, /^Error: .*null pointer passed to rust/);
  });

  it("lets a socket closed for good be garbage-collected, though its callbacks refer to it", async () => {
    await run(async () => {
      window.collected = [];
      window.registry = new FinalizationRegistry((name) => collected.push(name));
      await (async () => {
        let s = null;
        // Every kind of callback the socket keeps refers to the socket itself.
        s = new resocket.ResilientWebSocket(() => (s ? "/echo" : "/echo"), [], {
          reconnectIf: () => s !== null,
          heartbeat: { interval: 60000, pong: (data) => data === "pong" && s !== null },
        });
        s.onopen = () => s.send("hi");
        s.addEventListener("message", () => s.close());
        registry.register(s, "socket");
        await within(5000, new Promise((r) => s.addEventListener("statechange", () => s.state === "closed" && r())), "closed");
      })();
    });
    for (let i = 0; i < 20 && (await run(() => collected.length)) === 0; i++) {
      await page.requestGC();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await run(() => collected), ["socket"]);
  });

  it("lets an on* handler dispatch an event of its own type", async () => {
    const seen = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo");
      const seen = [];
      s.onmessage = (e) => {
        seen.push(e.data);
        if (e.data === "outer") s.dispatchEvent(new MessageEvent("message", { data: "inner" }));
      };
      await s.opened();
      s.send("outer");
      await within(5000, (async () => { while (seen.length < 2) await sleep(20); })(), "both messages");
      s.close();
      return seen;
    });
    assert.deepEqual(seen, ["outer", "inner"]);
  });

  it("sends pings and reports the pong's round trip with heartbeat events", async () => {
    const rtt = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo", [], { heartbeat: { interval: 200, timeout: 1000, ping: "hb", pong: "hb" } });
      const got = [];
      s.onmessage = (e) => got.push(e.data);
      const e = await nextEvent(s, "heartbeat", 5000);
      s.close();
      return { rtt: e.rtt, swallowed: got.length === 0 };
    });
    assert.ok(rtt.rtt >= 0 && rtt.rtt < 1000, `rtt ${rtt.rtt}`);
    assert.ok(rtt.swallowed, "pongs are not delivered as messages");
  });

  it("times a heartbeat's round trip from when the ping went out, not from when it was due", async () => {
    const rtt = await run(async () => {
      const s = new resocket.ResilientWebSocket("/echo", [], { heartbeat: { interval: 200, timeout: 2000, ping: "hb", pong: "hb" } });
      await nextEvent(s, "open");
      // Hold the page's only thread well past the ping's due time: the ping leaves late.
      const end = performance.now() + 1000;
      while (performance.now() < end);
      const e = await nextEvent(s, "heartbeat");
      s.close();
      return e.rtt;
    });
    // A loopback echo: far less than the 800 ms the ping was held back.
    assert.ok(rtt >= 0 && rtt < 400, `rtt ${rtt}`);
  });
});
