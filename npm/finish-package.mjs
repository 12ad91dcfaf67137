// Finishes a package that wasm-pack built (node npm/finish-package.mjs <dir>):
// - the JS-facing README and description instead of the crate's;
// - the licence texts in `files`;
// - the `resocket/stomp` entry (scripts/build-npm.sh builds it into <dir>/stomp): `exports`,
//   `files`, `sideEffects` and `typesVersions` for it;
// - `[Symbol.dispose]` that ends what still runs (see `disposers` below);
// - typings without `any`: the public API is hand-written (src/js/*.d.ts) and precise;
//   what wasm-bindgen generates around it (the raw wasm exports in `InitOutput` and
//   resocket_bg.wasm.d.ts) says `any` for JS values, made `unknown` here. Internal classes
//   wasm-bindgen must export (the iterator) stay out of the typings.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2];
if (!dir || !fs.existsSync(path.join(dir, "package.json"))) {
  console.error("usage: node npm/finish-package.mjs <wasm-pack output dir>");
  process.exit(2);
}

const pkgPath = path.join(dir, "package.json");
const pkg = JSON.parse(fs.readFileSync(pkgPath, "utf8"));
pkg.description =
  "A WebSocket that survives the real world: a drop-in for WebSocket and reconnecting-websocket with backoff and jitter, heartbeats, backpressure, and a queue that loses nothing; and a STOMP client on it (resocket/stomp). Rust compiled to wasm.";
pkg.keywords = ["websocket", "reconnecting-websocket", "reconnect", "backoff", "heartbeat", "backpressure", "wasm", "stomp"];
const stomp = path.join(dir, "stomp");
if (fs.existsSync(path.join(stomp, "resocket.js"))) {
  // The same files as the main entry (resocket_bg.js too for the bundler target), under stomp/.
  pkg.files = [...pkg.files, ...pkg.files.filter((f) => fs.existsSync(path.join(stomp, f))).map((f) => `stomp/${f}`)];
  if (Array.isArray(pkg.sideEffects) && pkg.sideEffects.includes("./resocket.js")) {
    pkg.sideEffects = [...pkg.sideEffects, "./stomp/resocket.js"];
  }
  pkg.exports = {
    ".": { types: "./resocket.d.ts", default: "./resocket.js" },
    "./stomp": { types: "./stomp/resocket.d.ts", default: "./stomp/resocket.js" },
    // For bundlers that import the .wasm by URL (e.g. vite's `?url`).
    "./resocket_bg.wasm": "./resocket_bg.wasm",
    "./stomp/resocket_bg.wasm": "./stomp/resocket_bg.wasm",
    "./package.json": "./package.json",
  };
  // TypeScript's older module resolution (`node`, `node10`: the default for CommonJS
  // projects) does not read `exports`; this points it at the entry's typings.
  pkg.typesVersions = { "*": { stomp: ["./stomp/resocket.d.ts"] } };
}
// The licence texts wasm-pack copied from the crate: npm packs a file named LICENSE on its
// own, but not LICENSE-MIT and LICENSE-APACHE.
const licences = fs.readdirSync(dir).filter((f) => f.startsWith("LICENSE"));
pkg.files = [...pkg.files, ...licences.filter((f) => !pkg.files.includes(f))];
fs.writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);

fs.copyFileSync(path.join(here, "README.md"), path.join(dir, "README.md"));

const typings = [dir, stomp]
  .filter((d) => fs.existsSync(d))
  .flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith(".d.ts")).map((f) => path.join(d, f)));
for (const p of typings) {
  const text = fs.readFileSync(p, "utf8");
  // Only the generated declarations of raw wasm exports: `(a: number, b: any) => any`.
  const fixed = text
    .split("\n")
    .map((line) =>
      /^\s*(readonly \w+|export const \w+): \(.*\) => /.test(line) ? line.replace(/\bany\b/g, "unknown") : line,
    )
    .join("\n");
  fs.writeFileSync(p, fixed);
}

// Rewrites every line of the generated JS files in `entry` through `edit` (a line, or what
// replaces it).
function rewriteGlue(entry, edit) {
  for (const f of fs.readdirSync(entry).filter((f) => f.endsWith(".js"))) {
    const p = path.join(entry, f);
    fs.writeFileSync(p, fs.readFileSync(p, "utf8").split("\n").map(edit).join("\n"));
  }
}

// `using` / `await using` (explicit resource management): wasm-bindgen makes every class's
// `[Symbol.dispose]` its `free()`, which only lets go of the JS object. For what still runs
// that is wrong: a freed socket stays open with nothing left to close it. Disposing ends it
// first: close() a socket, unsubscribe() a subscription. What ends asynchronously gets
// `[Symbol.asyncDispose]` (`await using`) and no `[Symbol.dispose]`, so `using` on it is a
// TypeError instead of leaving it running: a client disconnect()s (it is disconnected even
// when that rejects because the connection was lost), a transaction still open aborts (if
// that fails, the connection is gone and the broker aborts it). Messages and the iterator
// keep `free()`.
const disposers = {
  ResilientWebSocket: ["dispose", "this.close();"],
  StompSubscription: ["dispose", "this.unsubscribe();"],
  StompClient: ["asyncDispose", 'try { await this.disconnect(); } catch (e) { if (this.state !== "closed") throw e; }'],
  StompTransaction: ["asyncDispose", "await this.abort().catch(() => {});"],
};
const generated = /^if \(Symbol\.dispose\) (\w+)\.prototype\[Symbol\.dispose\] = \1\.prototype\.free;$/;
// Each entry's classes (the main one has no STOMP classes): every line must be found, or
// wasm-bindgen changed what it writes and this needs looking at.
const entries = [[dir, ["ResilientWebSocket"]], [stomp, Object.keys(disposers)]];
for (const [entry, expected] of entries.filter(([d]) => fs.existsSync(path.join(d, "resocket.js")))) {
  const rewritten = new Set();
  rewriteGlue(entry, (line) => {
    const name = generated.exec(line)?.[1];
    if (!name || !disposers[name]) return line;
    rewritten.add(name);
    const [symbol, body] = disposers[name];
    // Disposing twice (or after free()) does nothing.
    const steps = `if (!this.__wbg_ptr) return; ${body} if (this.__wbg_ptr) this.free();`;
    const fn = symbol === "dispose" ? `function () { ${steps} }` : `async function () { ${steps} }`;
    return `if (Symbol.${symbol}) ${name}.prototype[Symbol.${symbol}] = ${fn};`;
  });
  for (const name of expected.filter((n) => !rewritten.has(n))) {
    console.error(`finish-package: wasm-bindgen's [Symbol.dispose] line for ${name} was not found in ${entry}`);
    process.exit(1);
  }
}

// A transaction's ack(message) and nack(message) return promises, but wasm-bindgen checks
// the argument's class first and throws a plain Error, synchronously, for anything else (a
// message's headers, undefined, a freed message). They reject with a TypeError instead, as
// every other bad argument does. Both lines must be found in the STOMP entry.
const classCheck = /^(\s*)_assertClass\(message, StompMessage\);$/;
if (fs.existsSync(path.join(stomp, "resocket.js"))) {
  let found = 0;
  rewriteGlue(stomp, (line) => {
    const indent = classCheck.exec(line)?.[1];
    if (indent === undefined) return line;
    found += 1;
    return (
      `${indent}if (!(message instanceof StompMessage) || !message.__wbg_ptr) return Promise.reject(` +
      `new TypeError("a transaction's ack(message) and nack(message) take a StompMessage from a subscription, not " + ` +
      `(message instanceof StompMessage ? "a freed one" : message === null ? "null" : typeof message)));`
    );
  });
  if (found !== 2) {
    console.error(`finish-package: expected wasm-bindgen's class check in tx.ack and tx.nack, found ${found} in ${stomp}`);
    process.exit(1);
  }
}
