// The back/forward cache in Chromium: a page with an open socket is kept when the user
// navigates away, and when they come back the socket, which the browser closed, connects again
// by itself. Playwright turns the cache off by default (--disable-back-forward-cache); this
// file's browser has it on. Firefox does not keep a page with an open WebSocket (it closes the
// socket with 1001 and loads the page anew), so there is nothing to test there.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  launchBrowser,
  openTestPage,
  report,
  sleep,
  startServer,
  uniqueKey,
  until,
} from "./harness.mjs";

describe("the back/forward cache (Chromium)", { timeout: 60000 }, () => {
  let server;
  let browser;
  let page;
  const run = (f, arg) => page.evaluate(f, arg);

  before(async () => {
    server = await startServer();
    browser = await launchBrowser({ ignoreDefaultArgs: ["--disable-back-forward-cache"] });
    page = await openTestPage(browser, server);
  });

  after(async () => {
    if (page) assert.deepEqual(page.crashes(), [], `no wasm trap or panic:\n${page.logged.join("\n")}`);
    await browser?.close();
    await server?.stop();
  });

  it("a page kept in the cache comes back with its socket connecting again by itself", async () => {
    const key = uniqueKey("bfcache");
    await run((url) => {
      window.log = [];
      // A heartbeat much shorter than the time away: its deadlines are long past when the
      // page comes back, and must not add a failure of their own.
      const s = new resocket.ResilientWebSocket(url, [], {
        reconnect: { base: 100, cap: 500 },
        heartbeat: { interval: 300, timeout: 300, ping: "hb", pong: "hb" },
      });
      window.s = s;
      let opens = 0;
      s.onopen = () => {
        log.push("open");
        s.send(`hello ${++opens}`);
      };
      s.onclose = (e) => log.push(`close ${e.code}`);
      s.onerror = () => log.push("error");
      s.onmessage = (e) => log.push(`message ${e.data}`);
      addEventListener("pagehide", (e) => {
        log.push(`pagehide ${e.persisted}`);
        s.send("bye");
      });
      addEventListener("pageshow", (e) => log.push(`pageshow ${e.persisted}`));
    }, `${server.ws}/echo?key=${key}`);
    await until(() => run(() => log.includes("message hello 1")), "the first echo");

    await page.goto(`${server.base}/test.html?away`);
    await sleep(1500); // five heartbeat intervals
    // A page restored from the cache fires no load event: wait for the commit only.
    await page.goBack({ waitUntil: "commit" });
    // `log` is the page's own array: it exists only if the page came back from the cache
    // rather than being loaded anew.
    await until(() => run(() => window.log?.filter((l) => l === "open").length === 2), "the reopen");
    await run(() => s.send("after"));
    await until(() => run(() => log.includes("message after")), "the echo after the return");

    const { log, readyState } = await run(() => ({ log, readyState: s.readyState }));
    assert.equal(readyState, 1);
    assert.ok(log.includes("pagehide true") && log.includes("pageshow true"), `restored from the cache: ${log}`);
    // One connection lost (closed as the page comes back: an error, then 1006), one reconnect.
    assert.deepEqual(
      log.filter((l) => l.startsWith("close") || l === "open" || l === "error"),
      ["open", "error", "close 1006", "open"],
    );
    assert.ok(log.indexOf("pageshow true") < log.indexOf("close 1006"), `closed on the return: ${log}`);
    // (The echo of "bye" may or may not come before the page is frozen.)
    assert.deepEqual(
      log.filter((l) => l.startsWith("message") && l !== "message bye"),
      ["message hello 1", "message hello 2", "message after"],
    );

    const r = await report(server, key);
    assert.equal(r.attempts, 2);
    const received = r.connections.map((c) => c.received.filter((m) => m !== "hb"));
    // What the page sent as it went (pagehide) reached the server; the rest went on the new
    // connection.
    assert.deepEqual(received, [["hello 1", "bye"], ["hello 2", "after"]]);
    assert.notEqual(r.connections[0].close, null);
    assert.equal(r.connections[1].close, null);
    await run(() => s.close());
  });
});
