// The package's TypeScript typings: a strict consumer compiles (and its @ts-expect-error lines
// prove the types are precise), also in an app that has the package from its tarball and finds
// both entries' typings by name under each of TypeScript's module resolutions, and no shipped
// .d.ts says `any`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { ROOT, newApp } from "./harness.mjs";

const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** Node run with `args` in the repository: "" if it succeeds, else what it printed. */
function nodeFails(args) {
  try {
    execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
    return "";
  } catch (e) {
    return `${e.stdout}${e.stderr}` || String(e);
  }
}
const compile = (args) => nodeFails([tsc, ...args]);

/**
 * tsc in `app` (a newApp), with e2e/tsconfig.json's options but its `paths` (the package is
 * installed there) and `options` over them, for the files `include` matches.
 */
function compileApp(app, options, include) {
  const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(ROOT, "e2e", "tsconfig.json"), "utf8"));
  delete compilerOptions.paths;
  const tsconfig = { compilerOptions: { ...compilerOptions, ...options }, include };
  fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify(tsconfig));
  return compile(["-p", app]);
}

/** Every .d.ts the packages ship (the `resocket/stomp` entry's in stomp/). */
function typings() {
  const dirs = ["www/pkg", "pkg/web", "pkg/bundler"]
    .flatMap((d) => [d, `${d}/stomp`])
    .map((d) => path.join(ROOT, d));
  return dirs
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith(".d.ts")).map((f) => path.join(d, f)));
}

describe("typings", () => {
  it("type-check strict consumers of both entries, resocket and resocket/stomp (tsc --strict --noEmit)", () => {
    const out = compile(["-p", path.join("e2e", "tsconfig.json")]);
    assert.equal(out, "", out);
  });

  it("let `using` and `await using` dispose of sockets, clients, subscriptions and transactions (lib esnext)", () => {
    const out = compile(["-p", path.join("e2e", "tsconfig-using.json")]);
    assert.equal(out, "", out);
  });

  // The consumers in an app of their own with the package installed, no `paths`: TypeScript
  // finds each entry's typings through package.json (`exports`, or `typesVersions` under the
  // older `node10` resolution that ignores it).
  for (const [resolution, module] of [["Bundler", "ESNext"], ["NodeNext", "NodeNext"], ["Node10", "ESNext"]]) {
    it(`resolve both entries from the installed package under moduleResolution ${resolution}`, () => {
      const app = newApp("ts-app-");
      try {
        const files = ["consumer.ts", "consumer-stomp.ts"];
        for (const f of files) fs.copyFileSync(path.join(ROOT, "e2e", f), path.join(app, f));
        const out = compileApp(app, { module, moduleResolution: resolution }, files);
        assert.equal(out, "", out);
      } finally {
        fs.rmSync(app, { recursive: true, force: true });
      }
    });
  }

  it("type-check the READMEs' JavaScript examples against the installed package", () => {
    const app = newApp("readme-js-");
    try {
      // Each ```js block is a module of its own. A fragment that uses the package without
      // importing it gets the import; what the examples take as given is declared here.
      let blocks = 0;
      for (const readme of ["npm/README.md", "README.md"]) {
        const text = fs.readFileSync(path.join(ROOT, readme), "utf8");
        // Every code block is checked (js here, rust by scripts/readme-rust.mjs) or is a
        // command or a manifest: a block of another kind would go unchecked.
        const kinds = [...text.matchAll(/^\s*```(\S+)/gm)].map((k) => k[1]);
        const unchecked = kinds.filter((k) => !/^(js|rust(,no_run|,ignore)?|sh|toml)$/.test(k));
        assert.deepEqual(unchecked, [], `${readme} has code blocks that no test checks`);
        for (const m of text.matchAll(/^```js\n([\s\S]*?)^```$/gm)) {
          const line = text.slice(0, m.index).split("\n").length;
          let code = m[1];
          for (const [name, entry] of [["StompClient", "resocket/stomp"], ["ResilientWebSocket", "resocket"]]) {
            const used = new RegExp(`\\b${name}\\b`).test(code);
            const declared = new RegExp(`\\b(import|const|let)\\s[^=;]*\\b${name}\\b`).test(code);
            if (used && !declared) code = `import { ${name} } from "${entry}";\n${code}`;
          }
          const name = `${readme.replace(/\W/g, "_")}_line_${line}`;
          fs.writeFileSync(path.join(app, `${name}.ts`), `${code}\nexport {};\n`);
          // And JavaScript as written, no TypeScript syntax: Node parses it as a module.
          fs.writeFileSync(path.join(app, `${name}.mjs`), code);
          const syntax = nodeFails(["--check", path.join(app, `${name}.mjs`)]);
          assert.equal(syntax, "", `${readme} line ${line} is not JavaScript: ${syntax}`);
          blocks++;
        }
      }
      assert.ok(blocks >= 10, `only ${blocks} JavaScript examples found in the READMEs`);
      fs.writeFileSync(
        path.join(app, "given.d.ts"),
        `declare const socket: import("resocket").ResilientWebSocket;
declare const chunks: Uint8Array[];
declare const bigChunk: Uint8Array;
declare function token(): string;
declare function getToken(): string;
declare function render(data: import("resocket").MessageData): Promise<void>;
declare function showGap(dropped: number): void;
declare function handle(body: unknown): void;
declare module "node:fs" {
  export function readFileSync(path: URL): Uint8Array;
}
`,
      );
      // (noUnusedLocals off: an example may import what it only shows.)
      const out = compileApp(app, { noUnusedLocals: false }, ["*.ts"]);
      assert.equal(out, "", out);
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
    }
  });

  it("ship no `any` in the public surface", () => {
    const files = typings();
    assert.ok(files.some((f) => f.endsWith(path.join("www", "pkg", "resocket.d.ts"))), "the package was built");
    assert.ok(files.some((f) => f.endsWith(path.join("www", "pkg", "stomp", "resocket.d.ts"))), "with its STOMP entry");
    for (const file of files) {
      const code = fs
        .readFileSync(file, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/\/\/.*$/gm, "");
      const lines = code.split("\n").filter((l) => /\bany\b/.test(l));
      assert.deepEqual(lines, [], `${path.relative(ROOT, file)} says any`);
    }
  });

  it("compile on their own for the bundler target", { skip: !fs.existsSync(path.join(ROOT, "pkg", "bundler")) }, () => {
    const out = compile([
      "--strict", "--noEmit", "--target", "ES2022", "--module", "ESNext", "--moduleResolution", "Bundler",
      "--lib", "ES2022,DOM,DOM.Iterable,DOM.AsyncIterable", "--skipLibCheck", "false",
      path.join("pkg", "bundler", "resocket.d.ts"),
      path.join("pkg", "bundler", "stomp", "resocket.d.ts"),
    ]);
    assert.equal(out, "", out);
  });
});
