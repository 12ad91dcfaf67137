// The npm package in Node.js, on its own `WebSocket` (undici's: global from Node 22, behind
// --experimental-websocket in Node 20 and 21, which scripts/e2e.sh adds when needed; that
// script runs this file in the machine's Node, then in Node 22 and 24, and under `bun test`
// and `deno test -A`, whose runners take node:test's suites too), against
// the test server: events with their fields where Node has no `CloseEvent` or `ErrorEvent`,
// reconnection, the heartbeat, backpressure, a failing url function, and a process that ends
// by itself once its sockets are closed, and both entries loaded by require() from CommonJS.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT, newApp, report, sleep, startServer, uniqueKey, until } from "./harness.mjs";

const PKG = path.join(ROOT, "pkg", "web");

/** The next event of `kind` on `target`, or a rejection after `ms`. */
function next(target, kind, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${kind} event within ${ms} ms`)), ms);
    target.addEventListener(
      kind,
      (event) => {
        clearTimeout(timer);
        resolve(event);
      },
      { once: true },
    );
  });
}

describe("the npm package in Node.js", { timeout: 120000 }, () => {
  let server;
  let resocket;
  // Deno's node:test keeps an async error from failing a test (it prevents the default of
  // every `unhandledrejection` and `error` event): seen here, and failed in `after`.
  const uncaught = [];
  const record = (e) => uncaught.push(String(e.reason ?? e.error ?? e.message));

  before(async () => {
    assert.equal(
      typeof WebSocket,
      "function",
      "this Node.js has no global WebSocket: run it with --experimental-websocket (Node 20 and 21)",
    );
    if (globalThis.Deno) {
      globalThis.addEventListener("unhandledrejection", record);
      globalThis.addEventListener("error", record);
    }
    server = await startServer();
    resocket = await import(path.join(PKG, "resocket.js"));
    await resocket.default({ module_or_path: readFileSync(path.join(PKG, "resocket_bg.wasm")) });
  });

  after(async () => {
    await server?.stop();
    assert.deepEqual(uncaught, [], "no async error went unseen");
  });

  it("echoes text and binary, and its events carry the fields a browser's would", async () => {
    const s = new resocket.ResilientWebSocket(`${server.ws}/echo`);
    const got = [];
    s.onmessage = (e) => got.push(e);
    const opened = next(s, "open");
    s.send("hello");
    s.send(new Uint8Array([1, 2, 3]));
    const open = await opened;
    assert.ok(open instanceof Event);
    assert.equal(open.type, "open");
    await until(() => got.length === 2, "two echoes");
    for (const message of got) {
      assert.ok(message instanceof MessageEvent);
      assert.deepEqual([message.type, message.origin], ["message", server.ws]);
    }
    assert.equal(got[0].data, "hello");
    assert.deepEqual([...new Uint8Array(got[1].data)], [1, 2, 3]);
    s.close(4321, "done here");
    const close = await next(s, "close");
    assert.ok(close instanceof Event);
    assert.deepEqual([close.type, close.code, close.reason, close.wasClean], ["close", 4321, "done here", true]);
    assert.equal(s.readyState, 3);
  });

  it("reconnects after the server drops it, and what is sent meanwhile arrives in order", async () => {
    const key = uniqueKey("node-drop");
    const s = new resocket.ResilientWebSocket(`${server.ws}/echo?key=${key}`, [], {
      reconnect: { base: 100, cap: 200 },
    });
    const got = [];
    s.onmessage = (e) => got.push(e.data);
    await next(s, "open");
    const closed = next(s, "close");
    await fetch(`${server.base}/api/drop/${key}`);
    const close = await closed;
    assert.equal(close.code, 1006);
    assert.equal(close.wasClean, false);
    // Accepted while reconnecting: queued, sent on the next open.
    for (const m of ["a", "b", "c"]) s.send(m);
    await next(s, "open");
    await until(() => got.length === 3, "the three echoes");
    assert.deepEqual(got, ["a", "b", "c"]);
    const seen = await report(server, key);
    assert.equal(seen.attempts, 2);
    assert.deepEqual(seen.connections[1].received, ["a", "b", "c"]);
    s.close();
    await next(s, "close");
  });

  it("reports a refused connection as 1006 at once, and retries it", async () => {
    // Nothing listens on port 9 here. Deno reports such a close with code 0; Node 20's and
    // 22's WebSocket fires only `error` and stays CONNECTING. A minute's connect timeout: each
    // attempt must fail by itself, well within the wait below.
    const s = new resocket.ResilientWebSocket("ws://127.0.0.1:9/", [], {
      maxRetries: 1,
      reconnect: { base: 50, cap: 50 },
      connectTimeout: 60000,
    });
    const log = [];
    s.addEventListener("close", (e) => log.push(`close ${e.code}`));
    s.addEventListener("reconnecting", (e) => log.push(`reconnecting ${e.attempt}`));
    s.addEventListener("error", (e) => log.push(`error ${e.error?.name ?? null}`));
    await until(() => s.readyState === 3, "the socket to give up", 15000);
    assert.deepEqual(log.filter((l) => !l.startsWith("error null")), [
      "close 1006",
      "reconnecting 1",
      "close 1006",
      "error ReconnectExhaustedError",
    ]);
  });

  it("ends a close() while connecting at once", async () => {
    // `/hang` never answers the handshake. Node 20's and 22's WebSocket fires only `error`
    // when a connecting socket is closed: with a minute's close timeout, the close must still
    // come by itself.
    const s = new resocket.ResilientWebSocket(`${server.ws}/hang`, [], {
      connectTimeout: 60000,
      closeTimeout: 60000,
    });
    assert.equal(s.readyState, 0);
    const closed = next(s, "close", 5000);
    s.close();
    const close = await closed;
    assert.equal(close.code, 1006);
    assert.equal(s.readyState, 3);
  });

  it("finds a silent server by the heartbeat", async () => {
    const s = new resocket.ResilientWebSocket(`${server.ws}/silent`, [], {
      heartbeat: { interval: 200, timeout: 200 },
      reconnect: false,
    });
    const close = await next(s, "close");
    assert.deepEqual([close.code, close.reason], [4000, "heartbeat timeout"]);
    assert.equal(s.readyState, 3);
  });

  it("holds sendAsync back while the runtime's WebSocket buffers more than the low-water mark", async () => {
    const high = 256 * 1024;
    const low = high / 4; // the default low-water mark for this high one
    const s = new resocket.ResilientWebSocket(`${server.ws}/stall`, [], {
      highWaterMark: high,
      closeTimeout: 200,
    });
    await next(s, "open");
    const chunk = new Uint8Array(64 * 1024);
    let done = 0;
    // `/stall` stops reading: the kernel's buffers fill, then the WebSocket's count grows.
    // Above the high-water mark sendAsync waits, and goes on only once the count is back
    // down to the low one, which it never is here.
    const sending = (async () => {
      for (let i = 0; i < 400; i++) {
        await s.sendAsync(chunk);
        done++;
      }
    })().then(
      () => null,
      (e) => e,
    );
    await until(
      async () => {
        const before = done;
        await sleep(300);
        return done > 0 && done === before;
      },
      "sendAsync to stop",
      20000,
    );
    // More than the high-water mark was accepted before it waited: not held back too early.
    assert.ok(done * chunk.length > high && done < 400, `${done} sends`);
    assert.ok(s.bufferedAmount > low, `sendAsync waits with bufferedAmount ${s.bufferedAmount}`);
    s.close();
    await next(s, "close");
    const error = await sending;
    assert.equal(error?.name, "InvalidStateError", `sendAsync ended with ${error}`);
  });

  it("gives a url function's rejection to the error event, and retries", async () => {
    let calls = 0;
    const s = new resocket.ResilientWebSocket(
      async (attempt) => {
        calls++;
        if (attempt === 0) throw new Error("no token yet");
        return `${server.ws}/echo`;
      },
      [],
      { reconnect: { base: 50, cap: 50 } },
    );
    const [errored, closed, opened] = ["error", "close", "open"].map((kind) => next(s, kind));
    // Awaited below; should an assertion fail first, the others' timeouts are not unhandled.
    for (const p of [errored, closed, opened]) p.catch(() => {});
    const error = await errored;
    assert.ok(error instanceof Event);
    assert.ok(error.error instanceof Error);
    assert.equal(error.error.message, "no token yet");
    assert.match(error.message, /no token yet/);
    const close = await closed;
    assert.deepEqual([close.code, close.reason], [1006, "the url function failed: no token yet"]);
    await opened;
    assert.equal(calls, 2);
    s.close();
    await next(s, "close");
  });

  it("refuses a relative URL, having no page to resolve it against", () => {
    assert.throws(() => new resocket.ResilientWebSocket("/echo"), { name: "SyntaxError" });
  });

  it("lets the process end once its sockets are closed, before any deadline armed for them", async () => {
    // A heartbeat and a close timeout of a minute, and no connect timeout: a timer left armed
    // for either would hold the process that long.
    const { out, code, signal } = await runApp(`
      import { readFileSync } from "node:fs";
      import init, { ResilientWebSocket } from "resocket";
      await init({ module_or_path: readFileSync(new URL(import.meta.resolve("resocket/resocket_bg.wasm"))) });
      const s = new ResilientWebSocket(${JSON.stringify(`${server.ws}/echo`)}, [], {
        heartbeat: { interval: 60000, timeout: 60000 }, closeTimeout: 60000, connectTimeout: null,
      });
      s.onmessage = () => s.close();
      s.onclose = (e) => console.log("closed", e.code);
      s.send("bye");
    `);
    assert.equal(out.trim(), "closed 1000");
    assert.deepEqual([code, signal], [0, null], "the process was still running after 20 s");
  });

  it("loads both entries with require() in a CommonJS app", async () => {
    // Node 20.19+ and 22.12+ (and Bun and Deno) load an ES module through require().
    const { out, code, signal } = await runApp(
      `
      const { readFileSync } = require("node:fs");
      const { default: init, ResilientWebSocket } = require("resocket");
      const stomp = require("resocket/stomp");
      (async () => {
        await init({ module_or_path: readFileSync(require.resolve("resocket/resocket_bg.wasm")) });
        await stomp.default({ module_or_path: readFileSync(require.resolve("resocket/stomp/resocket_bg.wasm")) });
        const s = new ResilientWebSocket(${JSON.stringify(`${server.ws}/echo`)});
        s.onmessage = (e) => {
          console.log("echo", e.data);
          s.close();
        };
        s.onclose = (e) => console.log("closed", e.code);
        s.send("from require");
        console.log("StompClient", typeof stomp.StompClient.connect);
      })();
    `,
      "app.cjs",
    );
    assert.deepEqual(out.trim().split("\n"), ["StompClient function", "echo from require", "closed 1000"]);
    assert.deepEqual([code, signal], [0, null], "the process was still running after 20 s");
  });

  it("runs StompClient (resocket/stomp), and reports a throwing callback as Node does", async () => {
    // `/stomp-split` answers every SUBSCRIBE with a MESSAGE "hi", and never a RECEIPT: the
    // DISCONNECT's wait ends after closeTimeout with a StompError.
    const { out, code, signal } = await runApp(`
      import { readFileSync } from "node:fs";
      import init, { StompClient } from "resocket/stomp";
      await init({ module_or_path: readFileSync(new URL(import.meta.resolve("resocket/stomp/resocket_bg.wasm"))) });
      // Where there is no reportError (Node), resocket's own fallback: an unhandled rejection.
      process.on("unhandledRejection", (e) => console.log("unhandled rejection", e.message));
      if (typeof reportError === "function") globalThis.reportError = (e) => console.log("reportError", e.message);
      const client = await StompClient.connect(${JSON.stringify(`${server.ws}/stomp-split`)}, {
        heartbeat: false, closeTimeout: 300,
      });
      console.log("connected", client.connected);
      const body = await new Promise((resolve) => client.subscribe("/queue/a", (m) => resolve(m.body)));
      console.log("message", body);
      await new Promise((resolve) =>
        client.subscribe("/queue/b", () => {
          setTimeout(resolve, 100);
          throw new Error("callback failed");
        }),
      );
      await client.disconnect().catch((e) => console.log("disconnect", e.name));
      console.log("connected", client.connected);
    `);
    assert.deepEqual(out.trim().split("\n"), [
      "connected true",
      "message hi",
      // Bun and Deno have a reportError; Node has none.
      `${typeof reportError === "function" ? "reportError" : "unhandled rejection"} callback failed`,
      "disconnect StompError",
      "connected false",
    ]);
    assert.deepEqual([code, signal], [0, null], "the process was still running after 20 s");
  });
});

/**
 * Runs `source` as the module (`file`: app.mjs, or app.cjs for CommonJS) of an app of its own, which has the package unpacked from its
 * tarball in node_modules, as `npm install` puts it, and imports it by name, as
 * npm/README.md shows; killed after 20 s.
 */
async function runApp(source, file = "app.mjs") {
  const app = newApp("node-app-");
  try {
    writeFileSync(path.join(app, file), source);
    // With this process's flags (--experimental-websocket, when given on the command line);
    // Deno (`deno test`) runs a script with `run` and needs the same permissions.
    const args = globalThis.Deno ? ["run", "-A"] : process.execArgv;
    const child = spawn(process.execPath, [...args, path.join(app, file)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const kill = setTimeout(() => child.kill("SIGKILL"), 20000);
    const [code, signal] = await once(child, "exit");
    clearTimeout(kill);
    return { out, code, signal };
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}
