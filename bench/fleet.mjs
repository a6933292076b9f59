// Fleet launch benchmark of the bundle in dist/: how long a start of 1, 10
// and 50 runners takes, and how late the action notices that a task turned
// RUNNING. README.md ("Fleet launch") explains the method and the numbers.
//
//   node bench/fleet.mjs [--reps 5] [--counts 1,10,50] [--lag-runs 10]
//       [--lag-fleet 10] [--lag-window 3,20] [--delay 100] [--seed 1]
//       [--json FILE] [--trace]
//
// ECS_RUNNER_E2E_ROOT=DIR measures another checkout's build instead, as in
// the end-to-end tests.
//
// The action runs as in the end-to-end tests (tests/e2e/lib/action.mjs:
// `node dist/index.js` under Node 24, INPUT_* variables, a GITHUB_OUTPUT
// file) against moto and the fake GitHub, each behind a proxy of this file
// that answers every request `--delay` ms (default 100) late, so a request
// costs what it costs over the internet rather than a loopback round trip.
// The proxies count the requests of each kind and how many were in flight at
// once, per service. moto is reset and seeded again before every run, so runs
// are independent (nothing of an earlier run is left to poll or clean up).
//
// moto starts every task RUNNING; the AWS proxy hides that, as real ECS
// would: the RunTask answer and every DescribeTasks asked before a task's
// chosen moment say lastStatus PENDING, every DescribeTasks asked from that
// moment on says RUNNING.
//   1. Wall time: the moment is the RunTask answer itself (the first
//      DescribeTasks sees RUNNING), so only the action's own requests,
//      waits and start-up are measured. Spawn to exit of the child, `--reps`
//      runs per count.
//   2. Lag: the moment is 3-20 s (`--lag-window`) after the task's RunTask
//      answer (uniform, from a PRNG seeded with `--seed`). Lag = when the
//      proxy finished sending the first DescribeTasks answer that showed the
//      task RUNNING, minus the moment; whether a DescribeTasks shows RUNNING
//      is decided by when it reached the proxy. `--lag-runs` runs of count 1,
//      then one run of count `--lag-fleet` (each task its own moment).
//
// Every run has a time limit (the action's `timeout` input and a hard kill
// in runAction); the servers are stopped on exit, Ctrl-C included. A rebuild
// of dist/ during the benchmark stops it (the tables then show the runs
// before).

import http from 'node:http';
import os from 'node:os';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startMoto } from '../tests/e2e/lib/moto.mjs';
import { startFakeGitHub } from '../tests/e2e/lib/github.mjs';
import {
  runAction,
  readActionYaml,
  inputDefaults,
  describeRun,
  FAKE_AWS,
  NODE24,
  ENTRY,
} from '../tests/e2e/lib/action.mjs';

const REGION = 'eu-west-1';
const REPOSITORY = 'octo-org/hello-world';
const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

const options = parseArgs(process.argv.slice(2), {
  reps: 5,
  counts: '1,10,50',
  'lag-runs': 10,
  'lag-fleet': 10,
  'lag-window': '3,20',
  delay: 100,
  seed: 1,
  json: '',
  trace: false,
});
const counts = String(options.counts).split(',').map(Number);
/** A task of a lag run turns RUNNING this long (ms) after its RunTask answer. */
const LAG_WINDOW_MS = String(options['lag-window']).split(',').map((x) => Number(x) * 1000);
if (LAG_WINDOW_MS.length !== 2 || !(LAG_WINDOW_MS[0] >= 0 && LAG_WINDOW_MS[1] >= LAG_WINDOW_MS[0])) {
  console.error(`--lag-window needs "low,high" in seconds, got ${JSON.stringify(options['lag-window'])}`);
  process.exit(2);
}
/** The action's `timeout` input (s): well past the latest moment. One run is killed a minute after it. */
const ACTION_TIMEOUT_S = Math.max(120, Math.ceil(LAG_WINDOW_MS[1] / 1000) + 60);
const RUN_LIMIT_MS = (ACTION_TIMEOUT_S + 60) * 1000;
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- the slow proxy ---------------------------------------------------------

/**
 * An HTTP proxy on 127.0.0.1 that forwards to `upstream` and sends each
 * answer `delayMs` after upstream gave it. `classify(req, raw)` names a
 * request {service, op}; `answer(call, body)` may replace an answer's body
 * just before it is sent (call.askedAt is when the request arrived) and
 * `sent(call)` hears when it has been sent (call.sentAt).
 */
class SlowProxy {
  constructor({ upstream, delayMs, classify, answer = null, sent = null }) {
    this.upstream = new URL(upstream);
    this.delayMs = delayMs;
    this.classify = classify;
    this.answer = answer;
    this.sent = sent;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    this.server = http.createServer((req, res) =>
      this.#handle(req, res).catch((error) => {
        // A bug of the bench must not look like a slow AWS: fail the run.
        console.error(`slow proxy: ${error.stack}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`slow proxy bug: ${error.message}`);
      }),
    );
    this.reset();
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  /** Forget the calls and the in-flight peaks (between runs). */
  reset() {
    this.calls = [];
    this.inFlight = new Map();
    this.peak = new Map();
  }

  #enter(keys) {
    for (const key of keys) {
      const n = (this.inFlight.get(key) ?? 0) + 1;
      this.inFlight.set(key, n);
      this.peak.set(key, Math.max(this.peak.get(key) ?? 0, n));
    }
  }

  #leave(keys) {
    for (const key of keys) this.inFlight.set(key, this.inFlight.get(key) - 1);
  }

  async #handle(req, res) {
    const askedAt = now();
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const call = { ...this.classify(req, raw), askedAt, sentAt: undefined, status: undefined };
    this.calls.push(call);
    // In flight per service and per operation, from arrival to sent.
    const keys = [call.service, `${call.service}:${call.op}`];
    this.#enter(keys);
    try {
      let upstream;
      try {
        upstream = await forward(this.upstream, this.agent, req, raw);
      } catch (error) {
        upstream = { status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`slow proxy: ${error.message}`) };
      }
      await sleep(this.delayMs);
      let body = upstream.body;
      if (this.answer && upstream.status < 300) body = this.answer(call, body) ?? body;
      const headers = { ...upstream.headers };
      for (const h of ['content-length', 'transfer-encoding', 'connection', 'keep-alive']) delete headers[h];
      call.status = upstream.status;
      res.writeHead(upstream.status, { ...headers, 'content-length': body.length });
      await new Promise((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
        res.end(body);
      });
      call.sentAt = now();
      this.sent?.(call);
    } finally {
      this.#leave(keys);
    }
  }
}

function forward(base, agent, req, raw) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, 'content-length': String(raw.length) };
    delete headers.connection;
    const out = http.request(
      { host: base.hostname, port: base.port, method: req.method, path: req.url, headers, agent, timeout: 30_000 },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    out.on('timeout', () => out.destroy(new Error('upstream timeout after 30 s')));
    out.on('error', reject);
    out.end(raw);
  });
}

/** ECS operations are named in X-Amz-Target, EC2 ones in the form's Action. */
function classifyAws(req, raw) {
  const target = req.headers['x-amz-target'] ?? '';
  if (target.startsWith(ECS_TARGET_PREFIX)) {
    const op = target.slice(ECS_TARGET_PREFIX.length);
    let tasks;
    if (op === 'DescribeTasks') {
      try {
        tasks = JSON.parse(raw.toString('utf8')).tasks?.length;
      } catch {
        // counted as a call all the same
      }
    }
    return { service: 'ecs', op, tasks };
  }
  const form = new URLSearchParams(raw.toString('utf8'));
  return { service: 'ec2', op: form.get('Action') ?? `${req.method} ${req.url}` };
}

/** GitHub requests by their last path segment, ids folded: "generate-jitconfig", "DELETE runners/{id}". */
function classifyGitHub(req) {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.endsWith('/generate-jitconfig')) return { service: 'github', op: 'generate-jitconfig' };
  if (path.endsWith('/registration-token')) return { service: 'github', op: 'registration-token' };
  const tail = path.split('/').slice(-2).join('/').replace(/\/\d+$/, '/{id}');
  return { service: 'github', op: `${req.method} ${tail}` };
}

// --- when tasks turn RUNNING --------------------------------------------------

/**
 * The moment each task turns RUNNING, chosen when its RunTask answer is sent
 * (`pickMs()` after it), and when the action first saw it RUNNING.
 */
class RunningSchedule {
  constructor(pickMs) {
    this.pickMs = pickMs;
    /** task ARN -> {afterMs, runningAt, askedAt?, seenAt?} */
    this.tasks = new Map();
  }

  /** RunTask answer: every task PENDING, each with its moment. */
  runTask(answer, sentAt) {
    for (const task of answer.tasks ?? []) {
      const afterMs = this.pickMs();
      this.tasks.set(task.taskArn, { afterMs, runningAt: sentAt + afterMs });
      task.lastStatus = 'PENDING';
    }
  }

  /** DescribeTasks answer: PENDING while the request came before the moment. */
  describeTasks(answer, call) {
    call.running = [];
    for (const task of answer.tasks ?? []) {
      const known = this.tasks.get(task.taskArn);
      if (!known) continue;
      if (call.askedAt < known.runningAt) task.lastStatus = 'PENDING';
      else if (task.lastStatus === 'RUNNING') call.running.push(known);
    }
  }

  /** A DescribeTasks answer was sent: the first one showing a task RUNNING dates it. */
  sent(call) {
    for (const known of call.running ?? []) {
      if (known.seenAt === undefined || call.sentAt < known.seenAt) {
        known.askedAt = call.askedAt;
        known.seenAt = call.sentAt;
      }
    }
  }
}

// --- servers -----------------------------------------------------------------

/** A fake PAT, the only token the fake GitHub takes. */
const pat = 'ghp_benchFleetFakeTokenDoNotUse012345678';
let moto;
let gh;
let awsProxy;
let ghProxy;
/** The schedule of the current run (set before each run). */
let schedule = new RunningSchedule(() => 0);

async function startServers() {
  moto = await startMoto({ region: REGION, credentials: { [FAKE_AWS.accessKeyId]: FAKE_AWS.secretAccessKey } });
  gh = await startFakeGitHub({ token: pat, repos: [REPOSITORY] });
  awsProxy = new SlowProxy({
    upstream: moto.url, // moto itself: this proxy records what the bench needs
    delayMs: options.delay,
    classify: classifyAws,
    answer(call, body) {
      if (call.op !== 'RunTask' && call.op !== 'DescribeTasks') return undefined;
      const json = JSON.parse(body.toString('utf8'));
      // The answer is sent right after this (no await in between).
      if (call.op === 'RunTask') schedule.runTask(json, now());
      else schedule.describeTasks(json, call);
      return Buffer.from(JSON.stringify(json));
    },
    sent(call) {
      if (call.op === 'DescribeTasks') schedule.sent(call);
    },
  });
  ghProxy = new SlowProxy({ upstream: gh.url, delayMs: options.delay, classify: classifyGitHub });
  await Promise.all([awsProxy.listen(), ghProxy.listen()]);
}

let stopping;
function stopServers() {
  stopping ??= Promise.allSettled([awsProxy?.close(), ghProxy?.close(), gh?.close(), moto?.stop()]);
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    stopServers().finally(() => process.exit(130));
  });
}

// --- one run -----------------------------------------------------------------

// Parsed once: runAction would parse action.yaml on every run (~13 ms,
// before the spawn, inside the measured time).
const actionYaml = readActionYaml();
const fingerprint = distFingerprint();
const declared = inputDefaults(actionYaml);

/**
 * One start of `count` runners in a fresh moto; `pickMs()` gives each task's
 * moment, in ms after its RunTask answer. Returns what the run did and how
 * long it took.
 */
async function run(count, pickMs) {
  if (distFingerprint() !== fingerprint) throw new Error(`${ENTRY} changed during the benchmark: run it again`);
  gh.clear();
  const seeds = await moto.freshWorld();
  awsProxy.reset();
  ghProxy.reset();
  schedule = new RunningSchedule(pickMs);
  const inputs = {
    token: pat,
    name: 'gh-runner',
    cluster: 'runners',
    'task-definition': 'gh-runner',
    'launch-type': 'FARGATE',
    subnets: seeds.network.subnets.join(','),
    'security-groups': seeds.network.securityGroups.join(','),
    timeout: String(ACTION_TIMEOUT_S),
    'wait-for-registration': 'false',
  };
  if ('count' in declared) inputs.count = String(count);
  else if (count !== 1) throw new Error('action.yaml declares no count input');

  // runAction's own set-up before the spawn and read-back after the exit
  // (a temporary folder, three empty files) add about 3 ms to the wall time.
  const t0 = now();
  const result = await runAction({
    inputs,
    actionYaml,
    context: { GITHUB_REPOSITORY: REPOSITORY },
    aws: { region: REGION, endpoint: awsProxy.url },
    github: { url: ghProxy.url },
    timeoutMs: RUN_LIMIT_MS,
  });
  const exitAt = now();
  if (result.code !== 0) {
    throw new Error(`count ${count}: the action failed\n${describeRun(result)}`);
  }
  const launched = runnersOf(result.outputs);
  const calls = [...awsProxy.calls, ...ghProxy.calls];
  const requests = {};
  for (const c of calls) requests[c.op] = (requests[c.op] ?? 0) + 1;
  const peak = Object.fromEntries([...awsProxy.peak, ...ghProxy.peak]);
  const tasks = [...schedule.tasks.values()];
  const unseen = tasks.filter((t) => t.seenAt === undefined).length;
  if (unseen > 0) throw new Error(`count ${count}: ${unseen} task(s) never seen RUNNING, yet the action succeeded`);
  return {
    count,
    launched,
    wallMs: exitAt - t0,
    requests,
    peak,
    describeTasksMaxBatch: Math.max(0, ...awsProxy.calls.filter((c) => c.op === 'DescribeTasks').map((c) => c.tasks ?? 0)),
    lags: tasks.map((t) => ({
      afterMs: t.afterMs,
      lagMs: t.seenAt - t.runningAt,
      exitLagMs: exitAt - t.runningAt,
    })),
    /** [operation, asked, sent] in ms after the spawn, in order of arrival. */
    timeline: calls
      .sort((a, b) => a.askedAt - b.askedAt)
      .map((c) => [c.op, Math.round(c.askedAt - t0), Math.round((c.sentAt ?? NaN) - t0)]),
    /** The tasks' moments in ms after the spawn. */
    moments: tasks.map((t) => Math.round(t.runningAt - t0)),
  };
}

/** With --trace: a run's requests and moments, on stderr. */
function trace(what, r) {
  if (!options.trace) return;
  console.error(`  ${what}: exit ${Math.round(r.wallMs)} ms, RUNNING moments ${r.moments.join(' ')} ms`);
  for (const [op, asked, sent] of r.timeline) console.error(`    ${String(asked).padStart(6)} → ${String(sent).padStart(6)}  ${op}`);
}

/** How many runners the outputs name: the `runners` array, else one task_arn. */
function runnersOf(outputs) {
  if (outputs.runners) {
    try {
      const list = JSON.parse(outputs.runners);
      if (Array.isArray(list)) return list.length;
    } catch {
      // not JSON: fall through
    }
  }
  return outputs.task_arn ? 1 : 0;
}

// --- statistics and tables ------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile: the smallest sample with at least q of them at or below it. */
function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)];
}

/** "n", or "min–max" when the runs differed. */
function range(xs) {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}

const s = (ms) => (ms / 1000).toFixed(2);

/** A seeded PRNG (mulberry32), so a lag series can be repeated. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in defaults)) {
      console.error(`unknown argument ${argv[i]}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
      process.exit(2);
    }
    const kind = typeof defaults[m[1]];
    if (kind === 'boolean') {
      out[m[1]] = m[2] === undefined || m[2] !== 'false';
      continue;
    }
    const value = m[2] ?? argv[++i];
    out[m[1]] = kind === 'number' ? Number(value) : value;
    if (kind === 'number' && !Number.isFinite(out[m[1]])) {
      console.error(`--${m[1]} needs a number, got ${JSON.stringify(value)}`);
      process.exit(2);
    }
  }
  return out;
}

// --- which dist ---------------------------------------------------------------

/**
 * sha256 of the files of dist/ (first 12 hex digits): checked before every
 * run, because a rebuild in the middle would mix two builds' numbers.
 */
function distFingerprint() {
  const dir = path.dirname(ENTRY);
  const hash = crypto.createHash('sha256');
  for (const file of readdirSync(dir).sort()) {
    const full = path.join(dir, file);
    if (!statSync(full).isFile()) continue;
    hash.update(`${file}\0`);
    hash.update(readFileSync(full));
  }
  return hash.digest('hex').slice(0, 12);
}

/** "commit abc1234" of the last dist commit, plus ", modified" when the tree differs; '' outside git. */
function distCommit() {
  const dir = path.dirname(ENTRY);
  const git = (...args) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
  const last = git('log', '-1', '--format=%h', '--', '.');
  if (last.status !== 0 || !last.stdout.trim()) return '';
  const dirty = git('status', '--porcelain', '--', '.').stdout.trim() !== '';
  return `commit ${last.stdout.trim()}${dirty ? ', modified since' : ''}`;
}

// --- main ---------------------------------------------------------------------

/** What has been measured so far; printed at the end even when a run failed. */
const results = { fleet: null, wall: [], lagRuns: [], lagFleet: null };

async function main() {
  const node = spawnSync(NODE24, ['--version']).stdout.toString().trim();
  console.log(
    `${new Date().toISOString().slice(0, 10)}, ${ENTRY} (sha256 ${fingerprint}${distCommit() ? `, ${distCommit()}` : ''}), ` +
      `Node ${node}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
      `${options.delay} ms added to every AWS and GitHub answer`,
  );
  await startServers();
  // moto's first ECS call loads the service (~1.3 s): not part of any run.
  await run(1, () => 0);

  // Does this dist launch `count` runners, or one whatever count says?
  const probe = 'count' in declared ? await run(5, () => 0) : { launched: 1 };
  results.fleet = probe.launched === 5;
  console.log(
    results.fleet
      ? 'dist launches count runners (count 5 gave 5)'
      : `dist ignores count (count 5 launched ${probe.launched}): fleets not measured`,
  );

  for (const count of counts) {
    if (count !== 1 && !results.fleet) continue;
    const entry = { count, runs: [] };
    results.wall.push(entry);
    for (let i = 0; i < options.reps; i++) {
      const r = await run(count, () => 0);
      if (r.launched !== count) throw new Error(`count ${count} launched ${r.launched} runners`);
      entry.runs.push(r);
      console.error(`  wall count ${count} #${i + 1}: ${s(r.wallMs)} s`);
      trace(`wall count ${count} #${i + 1}`, r);
    }
  }

  const random = mulberry32(options.seed);
  const [lo, hi] = LAG_WINDOW_MS;
  const moment = () => lo + random() * (hi - lo);
  for (let i = 0; i < options['lag-runs']; i++) {
    const r = await run(1, moment);
    results.lagRuns.push(r);
    console.error(`  lag count 1 #${i + 1}: ${s(r.lags[0].lagMs)} s`);
    trace(`lag count 1 #${i + 1}`, r);
  }
  if (results.fleet && options['lag-fleet'] > 1) {
    const r = await run(options['lag-fleet'], moment);
    if (r.launched !== r.count) throw new Error(`count ${r.count} launched ${r.launched} runners`);
    results.lagFleet = r;
    console.error(`  lag count ${r.count}: ${r.lags.map((l) => s(l.lagMs)).join(' ')}`);
    trace(`lag count ${r.count}`, r);
  }
}

/** The tables of README.md's "Fleet launch", from what was measured. */
function report({ fleet, wall, lagRuns, lagFleet }) {
  const missing = fleet === false ? 'not measured yet (this dist ignores count)' : 'not measured';
  console.log(
    '\n| count | runs | median s | min s | max s | RunTask | DescribeTasks | tasks per DescribeTasks (max) | generate-jitconfig | peak in flight ECS / EC2 / GitHub | peak RunTask / generate-jitconfig |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const count of counts) {
    const runs = wall.find((w) => w.count === count)?.runs ?? [];
    if (runs.length === 0) {
      console.log(`| ${count} | – | ${missing} | | | | | | | | |`);
      continue;
    }
    const ms = runs.map((r) => r.wallMs);
    const req = (op) => range(runs.map((r) => r.requests[op] ?? 0));
    const peak = (key) => range(runs.map((r) => r.peak[key] ?? 0));
    console.log(
      `| ${count} | ${runs.length} | ${s(median(ms))} | ${s(Math.min(...ms))} | ${s(Math.max(...ms))} | ` +
        `${req('RunTask')} | ${req('DescribeTasks')} | ${range(runs.map((r) => r.describeTasksMaxBatch))} | ${req('generate-jitconfig')} | ` +
        `${peak('ecs')} / ${peak('ec2')} / ${peak('github')} | ${peak('ecs:RunTask')} / ${peak('github:generate-jitconfig')} |`,
    );
  }
  const one = wall.find((w) => w.count === 1 && w.runs.length > 0);
  const fleets = wall.filter((w) => w.count !== 1 && w.runs.length > 0);
  if (one && fleets.length) {
    const base = median(one.runs.map((r) => r.wallMs));
    console.log('');
    for (const w of fleets) {
      const m = median(w.runs.map((r) => r.wallMs));
      const diff = `${m >= base ? '+' : '−'}${s(Math.abs(m - base))} s`;
      console.log(`count ${w.count} / count 1 (medians): ${(m / base).toFixed(2)}× (${diff}); goal: at most 2×`);
    }
  }

  console.log('\n| RUNNING noticed | tasks | median s | p90 s | min s | max s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const lagRow = (what, xs) =>
    console.log(`| ${what} | ${xs.length} | ${s(median(xs))} | ${s(percentile(xs, 0.9))} | ${s(Math.min(...xs))} | ${s(Math.max(...xs))} |`);
  const ones = lagRuns.map((r) => r.lags[0]);
  if (ones.length) {
    lagRow(`count 1 × ${ones.length}: DescribeTasks answer`, ones.map((l) => l.lagMs));
    lagRow(`count 1 × ${ones.length}: action exit`, ones.map((l) => l.exitLagMs));
  } else if (options['lag-runs'] > 0) {
    console.log(`| count 1 | – | not measured | | | |`);
  }
  if (lagFleet) {
    lagRow(`count ${lagFleet.count}: DescribeTasks answer`, lagFleet.lags.map((l) => l.lagMs));
    if (ones.length) lagRow('all of the above', [...ones, ...lagFleet.lags].map((l) => l.lagMs));
  } else if (options['lag-fleet'] > 1) {
    console.log(`| count ${options['lag-fleet']} | – | ${missing} | | | |`);
  }
  const lagRequests = lagRuns.map((r) => r.requests.DescribeTasks ?? 0);
  if (lagRequests.length) console.log(`\nDescribeTasks per count 1 lag run: ${range(lagRequests)}`);
  if (lagFleet) console.log(`DescribeTasks in the count ${lagFleet.count} lag run: ${lagFleet.requests.DescribeTasks ?? 0}`);

  if (options.json) {
    writeFileSync(options.json, JSON.stringify({ options, dist: fingerprint, ...results }, null, 2));
    console.log(`\nraw numbers in ${options.json}`);
  }
}

try {
  await main();
} catch (error) {
  console.error(error?.stack ?? String(error));
  console.log('\nINCOMPLETE: a run failed (see stderr); the tables hold the runs before it.');
  process.exitCode = 1;
} finally {
  await stopServers();
}
if (results.fleet !== null) report(results);
