// The Yew and Leptos chat examples, opened like a visitor would: they connect, echo a
// message, and leave a screenshot for the README (test-results/<name>.png).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { RESULTS, launchBrowser, openPage, startServer } from "./harness.mjs";

for (const name of ["yew-chat", "leptos-chat"]) {
  describe(name, { timeout: 60000 }, () => {
    let server;
    let browser;
    let page;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser();
      const ws = `${server.ws}/echo?key=${name}-${Date.now()}`;
      page = await openPage(browser, `${server.base}/examples/${name}/?ws=${encodeURIComponent(ws)}`, {
        width: 760,
        height: 720,
      });
    });

    after(async () => {
      if (page) assert.deepEqual(page.crashes(), [], "no wasm trap or panic");
      await browser?.close();
      await server?.stop();
    });

    it("connects, echoes, and looks right", async () => {
      await page.waitForFunction(() => document.querySelector(".status")?.textContent.includes("Online"), null, {
        timeout: 15000,
      });
      for (const text of ["Hello from the e2e test", "resocket keeps this chat alive"]) {
        await page.fill("input.compose", text);
        await page.press("input.compose", "Enter");
        await page.waitForFunction(
          (t) => [...document.querySelectorAll("ul.messages li")].some((li) => li.textContent === t),
          text,
          { timeout: 10000 },
        );
      }
      fs.mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: path.join(RESULTS, `${name}.png`) });
    });
  });
}
