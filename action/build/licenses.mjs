// Prints the licenses of the third-party code inside dist/: the npm packages
// esbuild bundled into dist/index.js and the Rust crates compiled into the
// .wasm. MIT and Apache-2.0 ask that their notices travel with the code.
//
//   node action/build/licenses.mjs <esbuild metafile>   (scripts/build.sh)
//
// Output is sorted and carries no machine path, so it rebuilds to the same
// bytes.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const [metafile] = process.argv.slice(2);
if (!metafile) throw new Error("usage: licenses.mjs <esbuild metafile>");

/** { kind, name, version, license, dir } for every package in dist/. */
const packages = [...npmPackages(metafile), ...crates()];
packages.sort((a, b) => key(a).localeCompare(key(b), "en"));

// Many packages share one license text word for word: print each text once,
// under the names of all the packages it covers.
// Texts that differ only in layout count as one.
const byText = new Map();
for (const pkg of packages) {
  for (const text of licenseTexts(pkg)) {
    const same = text.replace(/\s+/g, " ").trim();
    const entry = byText.get(same) ?? { text, names: [] };
    entry.names.push(key(pkg));
    byText.set(same, entry);
  }
}

const out = [];
out.push("Third-party software in this directory");
out.push("");
out.push("dist/index.js bundles npm packages; dist/ecs_runner_core_bg.wasm is compiled");
out.push("from Rust crates (build-time-only crates such as proc-macros are not listed).");
out.push("");
for (const pkg of packages) out.push(`${key(pkg)}: ${pkg.license ?? "(no license field)"}`);
for (const { text, names } of byText.values()) {
  out.push("", "=".repeat(78), ...names, "-".repeat(78), text.trimEnd());
}
const missing = packages.filter((pkg) => licenseTexts(pkg).length === 0).map(key);
if (missing.length > 0) out.push("", "=".repeat(78), "No license file shipped by:", ...missing);
process.stdout.write(out.join("\n") + "\n");

function key(pkg) {
  return `${pkg.kind} ${pkg.name} ${pkg.version}`;
}

/** The npm packages whose files esbuild put in the bundle. */
function npmPackages(metafilePath) {
  const meta = JSON.parse(readFileSync(metafilePath, "utf8"));
  const dirs = new Set();
  for (const input of Object.keys(meta.inputs)) {
    // The innermost node_modules/<name> or node_modules/@scope/<name>.
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) dirs.add(match[1]);
  }
  return [...dirs].map((dir) => {
    const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
    return {
      kind: "npm",
      name: manifest.name,
      version: manifest.version,
      license: manifest.license,
      dir,
    };
  });
}

/** The crates linked into the wasm: ecs-runner-core's normal dependencies. */
function crates() {
  const meta = JSON.parse(
    execFileSync(
      "cargo",
      [
        "metadata",
        "--format-version=1",
        "--locked",
        "--offline",
        "--filter-platform=wasm32-unknown-unknown",
      ],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    ),
  );
  const byId = new Map(meta.packages.map((p) => [p.id, p]));
  const deps = new Map(meta.resolve.nodes.map((n) => [n.id, n.deps]));
  const isProcMacro = (p) => p.targets.some((t) => t.kind.includes("proc-macro"));
  const root = meta.packages.find((p) => p.name === "ecs-runner-core");
  const seen = new Set();
  const todo = [root.id];
  while (todo.length > 0) {
    const id = todo.pop();
    if (seen.has(id)) continue;
    seen.add(id);
    for (const dep of deps.get(id) ?? []) {
      // kind null: a normal dependency (not dev, not build).
      const normal = dep.dep_kinds.some((k) => k.kind === null);
      if (normal && !isProcMacro(byId.get(dep.pkg))) todo.push(dep.pkg);
    }
  }
  seen.delete(root.id);
  return [...seen].map((id) => {
    const p = byId.get(id);
    return {
      kind: "crate",
      name: p.name,
      version: p.version,
      license: p.license,
      dir: path.dirname(p.manifest_path),
    };
  });
}

/** The texts of a package's LICENSE*, LICENCE*, COPYING* and NOTICE* files. */
function licenseTexts({ dir, license }) {
  if (!existsSync(dir)) return [];
  // Where MIT is one choice of several ("MIT OR Apache-2.0"), we take MIT,
  // whose notice is short, and leave out the Apache-2.0 text.
  const mitChosen = /\bMIT\b/.test(license ?? "") && /\bOR\b|\//.test(license ?? "");
  return readdirSync(dir)
    .filter((name) => /^(licen[cs]e|copying|notice)/i.test(name))
    .filter((name) => !(mitChosen && /apache/i.test(name)))
    .filter((name) => statSync(path.join(dir, name)).isFile())
    .sort()
    .map((name) => readFileSync(path.join(dir, name), "utf8").replace(/\r\n/g, "\n"));
}
