// Shared by the end-to-end tests: the test server (started on port 0, or on a given port to
// "restart" it), Debian's Chromium driven by playwright-core, and pages that fail the test on
// any sign of a wasm trap or panic.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const RESULTS = path.join(ROOT, "test-results");
const SERVER =
  process.env.RESOCKET_TEST_SERVER ?? path.join(ROOT, "target", "debug", "resocket-test-server");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the test server serving `www` (www/ unless given); `port` 0 picks a free one. */
export async function startServer(port = 0, www = path.join(ROOT, "www")) {
  fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, ".tmp", "e2e-"));
  const portFile = path.join(dir, "port");
  const proc = spawn(
    SERVER,
    ["--www", www, "--port", String(port), "--port-file", portFile],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const deadline = Date.now() + 15000;
  while (!fs.existsSync(portFile)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`the test server (${SERVER}) did not start: ${stderr || `exit ${proc.exitCode}`}`);
    }
    await sleep(25);
  }
  const p = Number(fs.readFileSync(portFile, "utf8").trim());
  return {
    port: p,
    base: `http://127.0.0.1:${p}`,
    ws: `ws://127.0.0.1:${p}`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await Promise.race([once(proc, "exit"), sleep(5000)]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the server again on the same port (the old one stopped), retrying while the port is busy. */
export async function restartServer(server) {
  await server.stop();
  for (let i = 0; ; i++) {
    try {
      return await startServer(server.port);
    } catch (e) {
      if (i >= 40) throw e;
      await sleep(250);
    }
  }
}

/**
 * Debian's Chromium through playwright-core. `options` go to `chromium.launch`: the
 * back/forward cache test passes `ignoreDefaultArgs: ["--disable-back-forward-cache"]`, which
 * Playwright otherwise adds.
 */
export async function launchBrowser(options = {}) {
  return chromium.launch({
    ...options,
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A fresh page at `url`. Everything the page logs is kept; `page.crashes()` lists what looks
 * like a wasm trap or a Rust panic ("unreachable", "panicked", RuntimeError), which must never
 * happen whatever JS hands the package.
 */
export async function openPage(browser, url, viewport = { width: 1280, height: 1000 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const logged = [];
  page.on("console", (m) => logged.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logged.push(`pageerror: ${e.name}: ${e.message}`));
  page.logged = logged;
  page.crashes = () => logged.filter((l) => /unreachable|panicked|RuntimeError|wasm trap/i.test(l));
  await page.goto(url);
  return page;
}

/** The test page with the package loaded: `window.resocket` is the module. */
export async function openTestPage(browser, server) {
  const page = await openPage(browser, `${server.base}/test.html`);
  await page.evaluate(() => window.resocketReady);
  return page;
}

/** What the server saw for a key: `{ attempts, connections: [{ received, protocol, close }] }`. */
export async function report(server, key) {
  const r = await fetch(`${server.base}/api/report/${key}`);
  return r.json();
}

/** Waits until `f()` is truthy, polling. */
export async function until(f, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

const tarballs = {};
/**
 * Puts the npm package (pkg/web, or pkg/bundler for `target` "bundler") into `app`'s
 * node_modules as `npm install` would: unpacked from the tarball that `npm pack` makes of it
 * (only what its `files` list names, and package.json), packed once per process into a
 * folder of its own under .tmp, removed when the process exits.
 */
function installPackage(app, target) {
  if (!tarballs[target]) {
    const into = fs.mkdtempSync(path.join(ROOT, ".tmp", `npm-pack-${target}-`));
    const remove = () => fs.rmSync(into, { recursive: true, force: true });
    process.on("exit", remove);
    // Deno's test runner ends without the exit event; it fires `unload`.
    globalThis.addEventListener?.("unload", remove);
    const [{ filename }] = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", into], {
        cwd: path.join(ROOT, "pkg", target),
        encoding: "utf8",
      }),
    );
    tarballs[target] = path.join(into, filename);
  }
  const installed = path.join(app, "node_modules", "resocket");
  fs.mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", tarballs[target], "-C", installed, "--strip-components=1"]);
}

/**
 * A new app's folder under .tmp (named from `prefix`): an ES module package that has the npm
 * package installed (`target`: "web", or "bundler" for pkg/bundler), as installPackage puts
 * it. The caller removes it.
 */
export function newApp(prefix, target = "web") {
  const app = fs.mkdtempSync(path.join(ROOT, ".tmp", prefix));
  installPackage(app, target);
  fs.writeFileSync(path.join(app, "package.json"), '{ "name": "app", "private": true, "type": "module" }\n');
  return app;
}

export function uniqueKey(name) {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
