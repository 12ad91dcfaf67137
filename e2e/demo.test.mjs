// The demo (www/), driven like a visitor would: connect, echo, drop, stall, go silent, close.
// Screenshots go to test-results/ (demo.png is the one for the README).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { RESULTS, launchBrowser, openPage, startServer, until } from "./harness.mjs";

describe("demo", { timeout: 120000 }, () => {
  let server;
  let browser;
  let page;

  const state = () => page.getAttribute("#state", "data-state");
  const logText = () => page.$$eval("#log li", (items) => items.map((li) => li.textContent));
  const logHas = async (re) => (await logText()).some((line) => re.test(line));
  const shot = async (name) => {
    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, name), fullPage: true });
  };

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await openPage(browser, `${server.base}/`);
  });

  after(async () => {
    if (page) {
      assert.deepEqual(page.crashes(), [], "no wasm trap or panic in the demo");
    }
    await browser?.close();
    await server?.stop();
  });

  it("connects at once and echoes what is sent", async () => {
    await page.waitForSelector("#state[data-state=open]", { timeout: 10000 });
    assert.equal(await page.textContent("#protocol"), "v2.resocket");
    await page.fill("#send-input", "e2e says hi");
    await page.click("#btn-send");
    await until(() => logHas(/↓\s*e2e says hi/), "the echo in the log");
  });

  it("reconnects after a drop, and a burst sent meanwhile arrives in order", async () => {
    await page.click("#btn-drop");
    await until(() => logHas(/close 1006/), "the close event of the dropped connection");
    await page.click("#btn-burst"); // while reconnecting: queued
    await until(() => logHas(/reconnect attempt 1 in/), "the reconnecting event");
    await page.waitForSelector("#state[data-state=open]", { timeout: 10000 });
    await until(() => logHas(/burst echoed up to #100/), "the whole burst echoed");
    assert.equal(await page.textContent("#order"), "✓");
    assert.ok(Number(await page.textContent("#reconnects")) >= 1);
  });

  it("reconnects at once on Reconnect now, and what is sent meanwhile arrives", async () => {
    await page.waitForSelector("#state[data-state=open]", { timeout: 10000 });
    const before = Number(await page.textContent("#reconnects"));
    await page.click("#btn-reconnect");
    await page.click("#btn-burst"); // during the closing handshake: queued for the next connection
    await until(() => logHas(/close 4000 "reconnect now" \(clean\)/), "the close of the old connection");
    await until(() => logHas(/reconnect attempt 1 in 0\.0 ms/), "an attempt at once");
    await page.waitForSelector("#state[data-state=open]", { timeout: 10000 });
    const last = Math.max(
      ...(await logText()).map((l) => Number(/burst of \d+ \(#\d+…#(\d+)\)/.exec(l)?.[1] ?? 0)),
    );
    await until(() => logHas(new RegExp(`burst echoed up to #${last}$`)), `the whole burst echoed (#${last})`);
    assert.equal(await page.textContent("#order"), "✓");
    assert.equal(Number(await page.textContent("#reconnects")), before + 1);
  });

  it("shows backpressure when the server stalls, and recovers when healed", async () => {
    await page.click("#btn-stall"); // reconnects to /stall and starts the load
    await page.waitForSelector("#backpressure[data-on=true]", { timeout: 15000 });
    const buffered = await page.evaluate(() => window.demo.socket.bufferedAmount);
    assert.ok(buffered >= 64 * 1024, `bufferedAmount is ${buffered} while stalled`);
    assert.match(await page.textContent("#endpoint"), /\/stall/);
    await page.waitForTimeout(1500); // let the chart show the plateau
    await shot("demo-stall.png");

    await page.click("#btn-heal");
    await until(async () => (await page.textContent("#endpoint")) === "/echo", "back on /echo", 15000);
    const received = Number(await page.textContent("#received"));
    await until(
      async () => Number(await page.textContent("#received")) > received + 10,
      "echoes flowing again",
      15000,
    );
    await page.click("#btn-load"); // stop the load
    await until(
      async () => (await page.textContent("#backpressure")) === "none",
      "backpressure gone",
      15000,
    );
    assert.equal(await page.textContent("#order"), "✓", "echoes stayed in order");
  });

  it("finds a silent server with the heartbeat", async () => {
    await page.click("#btn-silent");
    await until(() => logHas(/close 4000 "heartbeat timeout"/), "a heartbeat timeout", 20000);
    await page.click("#btn-heal");
    await page.waitForSelector("#state[data-state=open]", { timeout: 15000 });
    await until(async () => (await page.textContent("#endpoint")) === "/echo", "back on /echo", 15000);
    // Some calm on the chart and a heartbeat round trip, then the picture for the README.
    await until(async () => (await page.textContent("#rtt")) !== "—", "a heartbeat round trip", 10000);
    await shot("demo.png");
  });

  it("is closed for good by a server close code the policy does not retry", async () => {
    await page.fill("#close-code", "4001");
    await page.click("#btn-server-close");
    await page.waitForSelector("#state[data-state=closed]", { timeout: 10000 });
    await until(() => logHas(/ClosedError: .*4001/), "the ClosedError in the log");
    assert.equal(await page.isDisabled("#btn-send"), true);
    await page.click("#btn-new");
    await page.waitForSelector("#state[data-state=open]", { timeout: 10000 });
  });
});
