// README.md's first command, `npm run demo` (scripts/demo.sh), as a user runs it: it builds
// what it needs, prints the URL, and serves the demo until Ctrl-C; the page at that URL
// connects and echoes in Chromium, the examples are served beside it, and Ctrl-C stops the
// server. (e2e/demo.test.mjs drives the demo page itself in depth.) PORT=0 picks a free port.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { ROOT, launchBrowser, openPage, until } from "./harness.mjs";

describe("npm run demo", { timeout: 300000 }, () => {
  let demo;
  let browser;
  // The whole group (npm, its shell, demo.sh, the server), whether or not npm itself is still
  // running: also when this process ends otherwise.
  const killGroup = () => {
    try {
      if (demo) process.kill(-demo.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.on("exit", killGroup);

  after(async () => {
    try {
      await browser?.close();
    } finally {
      killGroup();
    }
  });

  it("serves the demo at the URL it prints, until Ctrl-C", async () => {
    demo = spawn("npm", ["run", "--silent", "demo"], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0" },
      detached: true, // its own process group, as a terminal's Ctrl-C reaches
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    demo.stdout.on("data", (d) => (out += d));
    demo.stderr.on("data", (d) => (out += d));
    const url = await until(
      () => {
        assert.equal(demo.exitCode, null, `the demo command exited:\n${out}`);
        return /demo: open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      },
      "the demo's URL",
      240000,
    );

    browser = await launchBrowser();
    const page = await openPage(browser, url);
    await page.waitForSelector("#state[data-state=open]", { timeout: 10000 });
    await page.fill("#send-input", "hello from npm run demo");
    await page.click("#btn-send");
    await until(
      async () => (await page.$$eval("#log li", (li) => li.map((l) => l.textContent))).some((l) => /↓\s*hello from npm run demo/.test(l)),
      "the echo in the demo's log",
    );
    assert.deepEqual(page.crashes(), [], "no wasm trap or panic in the demo");
    for (const example of ["examples/yew-chat/", "examples/leptos-chat/"]) {
      const res = await fetch(new URL(example, url));
      assert.equal(res.status, 200, `${example} is served`);
    }

    // Ctrl-C: SIGINT to the command's process group. It ends as a command stopped by Ctrl-C
    // does (npm exits 130, or by the signal), and the server with it.
    process.kill(-demo.pid, "SIGINT");
    let timer;
    const [code, signal] = await Promise.race([
      once(demo, "exit"),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("still running 10 s after Ctrl-C")), 10000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.ok(code === 130 || code === 0 || signal === "SIGINT", `ended by Ctrl-C, not (${code}, ${signal}):\n${out}`);
    await until(
      () => fetch(url).then(() => false, () => true),
      "nothing to serve the demo's URL once it stopped",
      5000,
    );
  });
});
