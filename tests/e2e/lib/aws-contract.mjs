// The AWS request contract of the e2e tests (issue 9): every request the
// action sends must be one the official service models accept, as botocore
// (the AWS CLI's and boto3's core) reads them. moto accepts far more than AWS
// does (unknown operations answer 500, unknown parameters and bad enum values
// pass), so a request moto answers can still be one AWS would refuse.
//
// aws_contract.py does the checking, with botocore's own models, validator
// and serializer naming (what it checks is in its docstring). It is started
// once per proxy, i.e. once per test file, with the python that runs
// moto_server: botocore comes with moto, so wherever moto runs the models are
// there, on a fresh machine too (tests/e2e/setup.sh's venv .tools/moto).
// Requests go to it one JSON line each on stdin, answers come back one line
// each on stdout, matched by id.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'aws_contract.py');
const REPO_ROOT = path.resolve(HERE, '../../..');

/** Checkers still running, killed if the test process exits without `close()`. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts aws_contract.py with the first python that can run it (see
 * `pythonCandidates`). Throws, naming every python tried and why it failed,
 * when none can.
 */
export async function startContractChecker({ readyTimeoutMs = 20_000 } = {}) {
  const failures = [];
  for (const python of pythonCandidates()) {
    try {
      return await ContractChecker.start(python, readyTimeoutMs);
    } catch (error) {
      failures.push(`${python}: ${error.message}`);
    }
  }
  throw new Error(
    'no python with botocore to check AWS requests against (botocore comes with moto: ' +
      `run tests/e2e/setup.sh, or put moto_server on PATH). Tried:\n${failures.join('\n')}`,
  );
}

/**
 * The pythons that may have botocore, best first: the one moto_server runs
 * with (its shebang, where pip writes the venv's python; for a pyenv shim,
 * the shebang of the script `pyenv which` names), a python next to
 * moto_server, setup.sh's venv, then python3.
 */
export function pythonCandidates(env = process.env) {
  const out = [];
  const moto = onPath('moto_server', env.PATH ?? '');
  if (moto) {
    const fromShebang = shebangPython(moto) ?? shebangPython(pyenvWhich('moto_server', env));
    if (fromShebang) out.push(fromShebang);
    for (const name of ['python3', 'python']) {
      const sibling = path.join(path.dirname(moto), name);
      if (existsSync(sibling)) out.push(sibling);
    }
  }
  for (const name of ['python3', 'python']) {
    const venv = path.join(REPO_ROOT, '.tools/moto/bin', name);
    if (existsSync(venv)) out.push(venv);
  }
  out.push('python3');
  return [...new Set(out)];
}

/** The script a pyenv shim runs (`pyenv which NAME`), or null without pyenv. */
function pyenvWhich(name, env) {
  try {
    return execFileSync('pyenv', ['which', name], { env, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function onPath(name, PATH) {
  for (const dir of PATH.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/**
 * The interpreter a console script names: `#!/venv/bin/python3`,
 * `#!/usr/bin/env python3`, pip's form for long paths (`#!/bin/sh` then
 * `'''exec' "/venv/bin/python3" "$0" "$@"`), or a sh wrapper's
 * `exec '/venv/bin/python3' ...` (cloudformation.mjs puts one on PATH).
 * Null for anything else (e.g. a pyenv shim, `#!/usr/bin/env bash`).
 */
export function shebangPython(file) {
  if (!file) return null;
  let head;
  try {
    head = readFileSync(file, 'utf8').slice(0, 1000).split('\n');
  } catch {
    return null;
  }
  const first = head[0] ?? '';
  if (!first.startsWith('#!')) return null;
  const words = first.slice(2).trim().split(/\s+/);
  const program = path.basename(words[0] ?? '') === 'env' ? words.find((w, i) => i > 0 && !w.startsWith('-')) : words[0];
  if (program && /^python[\d.]*$/.test(path.basename(program))) return program;
  if (!/^(\/usr)?\/bin\/sh$/.test(words[0] ?? '')) return null;
  const exec = /^(?:'''exec'|exec)\s+(["']?)([^"'\s]+)\1/.exec(head[1] ?? '');
  if (exec && /python[\d.]*$/.test(exec[2])) return exec[2];
  return null;
}

export class ContractChecker {
  /** Spawns aws_contract.py with `python` and waits for its "ready" line. */
  static async start(python, readyTimeoutMs) {
    const child = spawn(python, [SCRIPT], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    const checker = new ContractChecker(child, python);
    try {
      checker.info = await checker.#ready(readyTimeoutMs);
    } catch (error) {
      await checker.close();
      throw error;
    }
    return checker;
  }

  constructor(child, python) {
    this.child = child;
    this.python = python;
    /** What the script reported on start: {botocore: version, models: {service: apiVersion}}. */
    this.info = null;
    this.nextId = 1;
    /** id -> {resolve, reject, timer} */
    this.pending = new Map();
    this.stderr = '';
    this.buffered = '';
    /** Set once the child has exited: the error every later check rejects with. */
    this.gone = null;
    this.readyLine = new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onGone = reject;
    });
    this.readyLine.catch(() => {}); // a late exit, with nobody waiting
    child.stdout.on('data', (chunk) => this.#onData(chunk));
    child.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-5_000);
    });
    child.stdin.on('error', () => {}); // EPIPE when it died; reported by 'exit'
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        this.gone = new Error(`aws_contract.py exited (${signal ?? code}): ${this.stderr.trim().slice(-2_000)}`);
        for (const { reject, timer } of this.pending.values()) {
          clearTimeout(timer);
          reject(this.gone);
        }
        this.pending.clear();
        this.onGone(this.gone);
        resolve();
      });
    });
    child.once('error', (error) => {
      this.stderr += `spawn error: ${error.message}\n`;
    });
  }

  #onData(chunk) {
    this.buffered += chunk.toString('utf8');
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop();
    for (const line of lines) {
      if (!line.trim()) continue;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        this.stderr += `unparsable line: ${line}\n`;
        continue;
      }
      if (message.ready) {
        this.onReady(message);
        continue;
      }
      const entry = this.pending.get(message.id);
      if (!entry) continue;
      this.pending.delete(message.id);
      clearTimeout(entry.timer);
      entry.resolve(message);
    }
  }

  async #ready(timeoutMs) {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms: ${this.stderr.trim()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.readyLine, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Checks one request: {method, path, contentType, target (X-Amz-Target or
   * ''), scope (the SigV4 credential scope's service or ''), body (raw
   * text)}. Resolves to {service, operation, violations: [{parameter, rule,
   * message}]}; rejects when the checker is gone or takes over `timeoutMs`.
   */
  check(request, timeoutMs = 10_000) {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`aws_contract.py did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  /** Ends the checker: stdin closed (it exits at EOF), SIGKILL after 2 s. */
  async close() {
    if (!this.gone) {
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
