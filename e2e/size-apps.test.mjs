// The minimal apps whose sizes the README compares (scripts/size.sh builds them into
// .tmp/size: resocket, gloo-net, ws_stream_wasm, web-sys alone), loaded as measured (release,
// wasm-opt -Oz) and run: each must echo a message through the test server and turn a bad URL
// (an ftp: one) into an error, never a trap. The size of an app that does not work would
// mean nothing.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT, launchBrowser, openPage, startServer } from "./harness.mjs";

const SIZE = path.join(ROOT, ".tmp", "size");
const APPS = ["resocket-minimal", "gloo-minimal", "wsstream-minimal", "websys-minimal"];
/** The app's JS glue, relative to .tmp/size (wasm-bindgen names it after the crate). */
const glue = (app) => `${app}/${app.replace("-", "_")}.js`;

describe("minimal apps of the size comparison", { timeout: 60000 }, () => {
  let server;
  let browser;
  let page;

  before(async () => {
    for (const app of APPS) {
      const file = path.join(SIZE, glue(app));
      assert.ok(fs.existsSync(file), `${file} is missing: run scripts/size.sh first`);
    }
    fs.writeFileSync(path.join(SIZE, "index.html"), "<!doctype html><title>minimal apps</title>\n");
    server = await startServer(0, SIZE);
    browser = await launchBrowser();
    page = await openPage(browser, `${server.base}/index.html`);
  });

  after(async () => {
    if (page) assert.deepEqual(page.crashes(), [], "no wasm trap or panic");
    await browser?.close();
    await server?.stop();
  });

  for (const app of APPS) {
    it(`${app}: echoes one message, and a URL with a wrong scheme is an error`, async () => {
      const text = `hello from ${app} ${Date.now()}`;
      const r = await page.evaluate(
        async ([module, url, text]) => {
          const m = await import(`/${module}`);
          await m.default();
          const reply = await m.echo_once(url, text);
          let bad = null;
          try {
            await m.echo_once("ftp://127.0.0.1/echo", "?");
          } catch (e) {
            bad = String(e?.message ?? e);
          }
          return { reply, bad };
        },
        [glue(app), `${server.ws}/echo`, text],
      );
      assert.equal(r.reply, text);
      assert.ok(r.bad, "echo_once on an ftp: URL must reject");
    });
  }
});
