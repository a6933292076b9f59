// Bundles the shell (action/src/index.ts) into dist/index.js, and the shell
// tests (action/test/*.test.ts) into build/test. Run by scripts/build.sh and
// `npm run test:shell`.
//
//   node action/build/bundle.mjs dist <metafile>
//   node action/build/bundle.mjs tests
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
process.chdir(root); // esbuild writes paths relative to here into the bundle

const common = {
  bundle: true,
  platform: "node",
  // cjs: the wasm-bindgen glue (--target nodejs) is CommonJS and reads its
  // .wasm from __dirname. node20 keeps the bundle loadable by the Node 20 of
  // older self-hosted runners as well as by node24 (action.yaml).
  format: "cjs",
  target: "node20",
  charset: "utf8",
  legalComments: "none", // dist/licenses.txt carries the licenses
  logLevel: "warning",
  plugins: [notBundled()],
};

const [what, metafile] = process.argv.slice(2);
if (what === "dist" && metafile) {
  const result = await esbuild.build({
    ...common,
    entryPoints: ["action/src/index.ts"],
    outfile: "dist/index.js",
    metafile: true,
  });
  const { writeFileSync } = await import("node:fs");
  writeFileSync(metafile, JSON.stringify(result.metafile));
} else if (what === "tests") {
  await esbuild.build({
    ...common,
    entryPoints: readdirSync("action/test")
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => `action/test/${name}`),
    outdir: "build/test",
  });
} else {
  throw new Error("usage: bundle.mjs dist <metafile> | tests");
}

/** Replaces the dependencies that not-bundled.mjs explains. */
function notBundled() {
  const stub = path.join(root, "action/build/not-bundled.mjs");
  return {
    name: "not-bundled",
    setup(build) {
      build.onResolve({ filter: /^@actions\/(http-client|exec)(\/|$)/ }, () => ({ path: stub }));
    },
  };
}
