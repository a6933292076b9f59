// The committed bundle runs the way the Actions runner starts it: INPUT_*
// variables, a GITHUB_OUTPUT file, `node dist/index.js`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "../..");

test("dist/index.js loads its wasm and fails the step cleanly without AWS or GitHub", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ecs-runner-dist-"));
  try {
    const output = path.join(dir, "output");
    writeFileSync(output, "");
    // Run from elsewhere: the wasm must be found next to the bundle, not in
    // the working directory.
    const child = spawnSync(process.execPath, [path.join(root, "dist/index.js")], {
      cwd: dir,
      env: { PATH: process.env["PATH"] ?? "", INPUT_MODE: "start", GITHUB_OUTPUT: output },
      encoding: "utf8",
      timeout: 20_000,
    });

    assert.equal(child.status, 1, `stdout: ${child.stdout}\nstderr: ${child.stderr}`);
    assert.match(child.stdout, /^::error::/m);
    assert.doesNotMatch(child.stdout, /internal error/);
    assert.equal(child.stderr, "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
