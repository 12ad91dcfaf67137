// The npm package in an app built with the bundlers JS apps are built with: installed from its
// tarball as `npm install` puts it and imported by name. The package (pkg/web) with no bundler
// configuration and no plugin: Vite's production build (`vite build`) and dev server, webpack
// 5's production and development builds. The bundler build (pkg/bundler, the wasm imported as
// an ES module) in webpack with `experiments.asyncWebAssembly`. Built apps are served by the
// test server; each runs in Chromium, and must load both entries' wasm (resocket and
// resocket/stomp, a chunk of its own) and talk to the test server through them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { build, createLogger, createServer } from "vite";
import webpack from "webpack";
import { ROOT, launchBrowser, newApp, openPage, startServer } from "./harness.mjs";

const INDEX = `<!doctype html>
<link rel="icon" href="data:,">
<title>resocket in a bundled app</title>
<script type="module" src="./main.js"></script>
`;

/**
 * The app: what npm/README.md shows, plus `resocket/stomp` loaded on demand (its own chunk and
 * its own wasm). The page's `window.result` settles with what came back. `init`: whether the
 * package's wasm is loaded by its `init()` (pkg/web) or by the import itself (pkg/bundler).
 */
const main = (init) => `import ${init ? "init, " : ""}{ ResilientWebSocket } from "resocket";

const ws = new URLSearchParams(location.search).get("ws");
const nextMessage = (socket) => new Promise((resolve) => (socket.onmessage = (e) => resolve(e.data)));

window.result = (async () => {
  ${init ? "await init();" : ""}
  const socket = new ResilientWebSocket(ws + "/echo");
  socket.binaryType = "arraybuffer";
  let reply = nextMessage(socket);
  socket.send("hello from a bundle");
  const text = await reply;
  reply = nextMessage(socket);
  socket.send(new Uint8Array([1, 2, 3]));
  const bytes = [...new Uint8Array(await reply)];
  socket.close();

  // /stomp-split answers every SUBSCRIBE with a MESSAGE "hi".
  const stomp = await import("resocket/stomp");
  ${init ? "await stomp.default();" : ""}
  const client = await stomp.StompClient.connect(ws + "/stomp-split", { heartbeat: false, closeTimeout: 300 });
  const body = await new Promise((resolve) => client.subscribe("/queue/a", (m) => resolve(m.body)));
  await client.disconnect().catch(() => {}); // /stomp-split never sends the RECEIPT
  return { text, bytes, body };
})();
`;
const EXPECTED = { text: "hello from a bundle", bytes: [1, 2, 3], body: "hi" };

/** The sizes of the package's two .wasm (its entries'), for `target` web or bundler, sorted. */
const packageWasm = (target) =>
  ["resocket_bg.wasm", "stomp/resocket_bg.wasm"].map((f) => fs.statSync(path.join(ROOT, "pkg", target, f)).size).sort();

/** The sizes of the .wasm files anywhere under `dir`, sorted. */
const wasmIn = (dir) =>
  fs
    .readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith(".wasm"))
    .map((f) => fs.statSync(path.join(dir, f)).size)
    .sort();

/**
 * A webpack build of the `target` app's main.js (in `app`) into `outDir`; resolves to its
 * errors and warnings.
 */
function webpackBuild(app, target, outDir, mode, experiments = {}) {
  return new Promise((resolve, reject) => {
    const compiler = webpack({
      mode,
      context: app,
      entry: "./main.js",
      output: { path: outDir, clean: true },
      // The dev-mode default (eval) source maps would not change what is tested.
      devtool: false,
      experiments,
    });
    compiler.run((err, stats) =>
      compiler.close(() => {
        if (err) return reject(err);
        const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
        // Bar its performance hint for the resocket/stomp entry's wasm alone (247 KiB, over the
        // 244 KiB that webpack suggests for one asset; npm/README.md says so), named by its
        // size as webpack writes it.
        const stomp = +(fs.statSync(path.join(ROOT, "pkg", target, "stomp", "resocket_bg.wasm")).size / 1024).toPrecision(3);
        const hint = (m) =>
          new RegExp(`^asset size limit: .*\\nAssets: \\n +[\\w.]+\\.wasm \\(${stomp} KiB\\)$`, "s").test(m);
        resolve([...errors, ...warnings].map((e) => e.message).filter((m) => !hint(m)));
      }),
    );
  });
}

describe("the npm package in a bundled app", { timeout: 120000 }, () => {
  const apps = {};
  let server;
  let browser;
  // What Vite warned of or reported as an error while building or serving the app.
  const complaints = [];
  const logger = createLogger("warn");
  for (const level of ["warn", "warnOnce", "error"]) {
    logger[level] = (msg) => complaints.push(`${level}: ${msg}`);
  }

  before(async () => {
    for (const target of ["web", "bundler"]) {
      const app = newApp(`bundled-app-${target}-`, target);
      apps[target] = app;
      fs.writeFileSync(path.join(app, "index.html"), INDEX);
      fs.writeFileSync(path.join(app, "main.js"), main(target === "web"));
    }
    browser = await launchBrowser();
  });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      try {
        await server?.stop();
      } finally {
        for (const app of Object.values(apps)) fs.rmSync(app, { recursive: true, force: true });
      }
    }
  });

  /** Opens `url` with the test server's address and returns the page's result. */
  async function run(url, wsBase) {
    const page = await openPage(browser, `${url}?ws=${encodeURIComponent(wsBase)}`);
    try {
      // Set once the app's module runs: after its wasm is loaded where the import loads it.
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 20000 });
      let timer;
      const result = await Promise.race([
        page.evaluate(() => window.result),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("the app gave no result within 20 s")), 20000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert.deepEqual(
        page.logged.filter((l) => !l.startsWith("console.debug")),
        [],
        "the page logged nothing but Vite's own debug lines",
      );
      return result;
    } finally {
      await page.context().close();
    }
  }

  /** Serves the built app in `outDir` (index.html added) and runs it. */
  async function serveAndRun(outDir) {
    if (!fs.existsSync(path.join(outDir, "index.html"))) {
      fs.copyFileSync(path.join(outDir, "..", "index.html"), path.join(outDir, "index.html"));
    }
    const served = await startServer(0, outDir);
    try {
      return await run(`${served.base}/index.html`, served.ws);
    } finally {
      await served.stop();
    }
  }

  it("works in a Vite production build, each entry's wasm emitted as an asset", async () => {
    const outDir = path.join(apps.web, "vite-dist");
    await build({ root: apps.web, configFile: false, customLogger: logger, logLevel: "warn", build: { outDir } });
    assert.deepEqual(complaints, [], "Vite built the app without a warning");
    assert.deepEqual(wasmIn(outDir), packageWasm("web"), "the two entries' wasm, as the package has them");
    assert.deepEqual(await serveAndRun(outDir), EXPECTED);
  });

  it("works on Vite's dev server", async () => {
    server = await startServer(0, apps.web);
    const dev = await createServer({
      root: apps.web,
      configFile: false,
      customLogger: logger,
      logLevel: "warn",
      server: { host: "127.0.0.1", port: 0, hmr: false },
    });
    try {
      await dev.listen();
      assert.deepEqual(await run(dev.resolvedUrls.local[0], server.ws), EXPECTED);
      assert.deepEqual(complaints, [], "Vite served the app without a warning");
    } finally {
      await dev.close();
    }
  });

  for (const mode of ["production", "development"]) {
    it(`works in a webpack ${mode} build, each entry's wasm emitted as an asset`, async () => {
      const outDir = path.join(apps.web, `webpack-${mode}`);
      assert.deepEqual(await webpackBuild(apps.web, "web", outDir, mode), [], "webpack built it without a warning");
      assert.deepEqual(wasmIn(outDir), packageWasm("web"), "the two entries' wasm, as the package has them");
      assert.deepEqual(await serveAndRun(outDir), EXPECTED);
    });
  }

  it("works as the bundler build in webpack with asyncWebAssembly, the wasm imported as a module", async () => {
    const outDir = path.join(apps.bundler, "webpack-production");
    const complaints = await webpackBuild(apps.bundler, "bundler", outDir, "production", { asyncWebAssembly: true });
    assert.deepEqual(complaints, [], "webpack built it without a warning");
    assert.deepEqual(wasmIn(outDir), packageWasm("bundler"), "the two entries' wasm, as the package has them");
    assert.deepEqual(await serveAndRun(outDir), EXPECTED);
  });
});
