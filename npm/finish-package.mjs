// Finishes a package that wasm-pack built (node npm/finish-package.mjs <dir>):
// - the JS-facing README and description instead of the crate's;
// - typings without `any`: the public API is hand-written (src/js/resocket.d.ts) and precise;
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
  "A WebSocket that survives the real world: a drop-in for WebSocket and reconnecting-websocket with backoff and jitter, heartbeats, backpressure, and a queue that loses nothing. Rust compiled to wasm.";
pkg.keywords = ["websocket", "reconnecting-websocket", "reconnect", "backoff", "heartbeat", "backpressure", "wasm"];
fs.writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);

fs.copyFileSync(path.join(here, "README.md"), path.join(dir, "README.md"));

for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".d.ts"))) {
  const p = path.join(dir, file);
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
