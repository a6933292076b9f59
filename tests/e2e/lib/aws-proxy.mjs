// A recording proxy in front of moto, on 127.0.0.1.
//
// The action is pointed at this proxy (AWS_ENDPOINT_URL), which forwards every
// request unchanged to moto. It exists because moto, with auth checking off,
// accepts anything and keeps no request log, so on its own it cannot tell us:
//   - how many requests reached AWS at all (the bad-inputs test wants zero);
//   - exactly what RunTask was sent (moto keeps only the first subnet, and
//     drops clientToken, capacityProviderStrategy, assignPublicIp);
//   - whether each request was correctly SigV4-signed with the credentials,
//     region, service and session token the action was given.
// It also lets a test rewrite a response (for what moto cannot produce, e.g. a
// stopCode, see moto.mjs; a rewrite may be async, so a test can act on an
// answer, e.g. write a task's log, before the action sees it), answer in
// moto's place (fault injection), or hold
// an answer back (`delay`, so calls the action makes at once visibly overlap:
// moto answers a RunTask in about 3 ms). Each record has `at` and `doneAt`,
// for counting the calls in flight at once (overlap.mjs).
//
// And it holds every request to the AWS request contract (aws-contract.mjs):
// before a request goes on, it is checked against botocore's model of its
// service, and what is wrong with it is kept in `violations()` (world.mjs
// fails the test that caused any). The request still goes on unchanged: the
// test sees what the action does next, and every violation, not only the
// first. Only the requests of the code under test are checked, not those a
// test makes by hand to set a scene or to probe the proxy: those carry
// moto.mjs's fake credential scope, HARNESS_ACCESS_KEY_ID.

import http from 'node:http';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { peakOverlap } from './overlap.mjs';
import { startContractChecker } from './aws-contract.mjs';

/** ECS JSON 1.1 operations are named in X-Amz-Target. */
const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
/** So are CloudWatch Logs' (JSON 1.1 too). */
const LOGS_TARGET_PREFIX = 'Logs_20140328.';
/** The services whose answers are JSON, which `rewrite` can edit. */
const JSON_SERVICES = new Set(['ecs', 'logs']);

/**
 * The access key id of the requests the harness makes itself (moto.mjs signs
 * its seeding and read-back with it, unverifiably): they are exempt from the
 * contract.
 */
export const HARNESS_ACCESS_KEY_ID = 'AKIDTEST';

/**
 * Starts the proxy. `upstream` is moto's base URL; `credentials` maps an
 * access key id to its secret key so signatures can be verified. `contract:
 * false` skips the request contract (no python process).
 */
export async function startAwsProxy({ upstream, credentials = {}, contract = true }) {
  const checker = contract ? await startContractChecker() : null;
  const proxy = new AwsProxy(upstream, credentials, checker);
  try {
    await proxy.listen();
  } catch (error) {
    await checker?.close();
    throw error;
  }
  return proxy;
}

export class AwsProxy {
  constructor(upstream, credentials, checker = null) {
    this.upstream = new URL(upstream);
    this.credentials = credentials;
    /** The contract checker (aws-contract.mjs), or null for none. */
    this.checker = checker;
    /** Contract violations since the last `clearViolations()`, as text. */
    this.contractViolations = [];
    /** Every request, in arrival order; see `record` below for the shape. */
    this.requests = [];
    /** Test hooks, tried in order: (call) => undefined | {status, headers?, body}. */
    this.interceptors = [];
    /** Test hooks: (call, parsedResponseBody) => new body | undefined. */
    this.rewriters = [];
    /** Test hooks: (call) => milliseconds to hold the call back | undefined. */
    this.delays = [];
    /** Test hooks: (call) => the JSON body to send moto instead | undefined (see `forwardAs`). */
    this.requestEdits = [];
    /**
     * Watchers of every call as it is recorded (`onRecord`): kept by
     * `clear()`, and they see calls a test later drops from `requests`.
     */
    this.watchers = [];
    this.server = http.createServer((req, res) => this.#handle(req, res));
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
    await this.checker?.close();
  }

  /**
   * What was wrong with the checked requests since the last
   * `clearViolations()`, one line each: `<service> <operation>: <parameter>:
   * <rule>: <why>`. Each call's own are also in its record (`contract`).
   * Kept apart from `requests` (which tests may empty) and from `clear()`.
   */
  violations() {
    return [...this.contractViolations];
  }

  clearViolations() {
    this.contractViolations.length = 0;
  }

  /** Forget recorded requests and test hooks (between tests). */
  clear() {
    this.requests.length = 0;
    this.interceptors.length = 0;
    this.rewriters.length = 0;
    this.delays.length = 0;
    this.requestEdits.length = 0;
  }

  /**
   * `watch(call)` is called with each call as it is recorded (before it goes
   * on; the record's status and response are filled in later). For whoever
   * needs every call whatever a test does to `requests` (world.mjs's IAM
   * check). Returns a function that stops watching.
   */
  onRecord(watch) {
    this.watchers.push(watch);
    return () => {
      this.watchers = this.watchers.filter((w) => w !== watch);
    };
  }

  /** Answer matching calls in moto's place. `match(call)` gets the recorded call. */
  intercept(match, response) {
    this.interceptors.push((call) => (match(call) ? response : undefined));
  }

  /**
   * Change moto's JSON answer (ECS, CloudWatch Logs) for matching calls:
   * `edit(body, call)` returns the new body, or a promise of it; the answer
   * waits for it. Returning undefined keeps the body (as edited in place).
   */
  /**
   * ECS's account of STOPPED tasks, which moto lacks: RunTask and
   * DescribeTasks answers give each STOPPED task `stopCode` and
   * `stoppedReason`, and its containers exit code 1.
   */
  reportStoppedTasksAs(stopCode, reason) {
    this.rewrite(
      (c) => c.operation === 'RunTask' || c.operation === 'DescribeTasks',
      (body) => {
        for (const task of body.tasks ?? []) {
          if (task.lastStatus !== 'STOPPED') continue;
          task.stopCode = stopCode;
          task.stoppedReason = reason;
          for (const c of task.containers ?? []) {
            c.lastStatus = 'STOPPED';
            c.exitCode = 1;
          }
        }
        return body;
      },
    );
  }

  rewrite(match, edit) {
    this.rewriters.push((call, body) => (match(call) ? edit(body, call) : undefined));
  }

  /**
   * Send moto another JSON body than the action sent, for matching ECS or
   * CloudWatch Logs calls: `edit(body, call)` gets a copy of the sent body
   * and returns the one to forward. For a request real AWS accepts and moto
   * cannot serve (moto.mjs says which). The record keeps what the action
   * sent (`body`) and adds what went on (`forwardedBody`). Only for a moto
   * that checks no signature: the signature no longer matches the body.
   */
  forwardAs(match, edit) {
    this.requestEdits.push((call) => (match(call) ? edit(structuredClone(call.body), call) : undefined));
  }

  /**
   * Hold matching calls `ms` milliseconds before they go on (to moto or an
   * interceptor), as a slow AWS endpoint would.
   */
  delay(match, ms) {
    this.delays.push((call) => (match(call) ? ms : undefined));
  }

  /** The most calls in flight at once among `calls` (default: all recorded). */
  maxInFlight(calls = this.requests) {
    return peakOverlap(calls);
  }

  /** Recorded calls of one operation, e.g. `calls('RunTask')` or `calls('DescribeSubnets')`. */
  calls(operation) {
    return this.requests.filter((r) => r.operation === operation);
  }

  /** Checks `call` against the contract; sets `call.contract` (list of text). */
  async #checkContract(call, req, raw) {
    let lines;
    try {
      const answer = await this.checker.check({
        method: req.method,
        path: req.url,
        contentType: req.headers['content-type'] ?? '',
        target: req.headers['x-amz-target'] ?? '',
        scope: call.auth?.service ?? '',
        body: raw.toString('utf8'),
      });
      const what = `${answer.service} ${answer.operation || call.operation || '(no operation)'}`;
      lines = answer.violations.map((v) => `${what}: ${v.parameter}: ${v.rule}: ${v.message}`);
    } catch (error) {
      lines = [`${call.service} ${call.operation}: not checked: ${error.message}`];
    }
    call.contract = lines;
    this.contractViolations.push(...lines);
  }

  async #handle(req, res) {
    const arrived = Date.now();
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const call = record(req, raw, this.credentials);
    call.at = arrived;
    this.requests.push(call);
    for (const watch of this.watchers) watch(call);
    res.once('finish', () => {
      call.doneAt = Date.now();
    });
    if (this.checker && call.auth?.accessKeyId !== HARNESS_ACCESS_KEY_ID) await this.#checkContract(call, req, raw);
    for (const hook of this.delays) {
      const ms = hook(call);
      if (ms) await sleep(ms);
    }

    for (const hook of this.interceptors) {
      const answer = hook(call);
      if (answer) {
        const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
        call.status = answer.status;
        call.intercepted = true;
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', ...answer.headers });
        res.end(body);
        return;
      }
    }

    let forwarded = raw;
    if (JSON_SERVICES.has(call.service)) {
      for (const hook of this.requestEdits) {
        const body = hook(call);
        if (body === undefined) continue;
        call.forwardedBody = body;
        forwarded = Buffer.from(JSON.stringify(body));
      }
    }
    let upstream;
    try {
      upstream = await forward(this.upstream, req, forwarded);
    } catch (error) {
      call.status = 502;
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`aws-proxy: moto unreachable: ${error.message}`);
      return;
    }
    let body = upstream.body;
    if (this.rewriters.length > 0 && upstream.status < 300 && JSON_SERVICES.has(call.service)) {
      let parsed = JSON.parse(body.toString('utf8') || '{}');
      for (const hook of this.rewriters) parsed = (await hook(call, parsed)) ?? parsed;
      body = Buffer.from(JSON.stringify(parsed));
    }
    call.status = upstream.status;
    call.response = body.toString('utf8');
    const headers = { ...upstream.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(upstream.status, { ...headers, 'content-length': body.length });
    res.end(body);
  }
}

/**
 * What the tests see of one request:
 * { service: 'ecs'|'ec2'|'logs'|other, operation, body (parsed JSON, or an object of
 *   form fields for the EC2 query API), headers (lower-case names), auth:
 *   {accessKeyId, date, region, service, signedHeaders} | null,
 *   signature: 'valid' | 'unsigned' | 'invalid: <why>', sessionToken, status,
 *   at (Date.now() on arrival), doneAt (once answered), contract (the
 *   contract violations of this request, text; undefined if not checked) }
 */
function record(req, raw, credentials) {
  const headers = req.headers;
  const text = raw.toString('utf8');
  let service = 'unknown';
  let operation = '';
  let body = text;
  const target = headers['x-amz-target'] ?? '';
  if (target.startsWith(ECS_TARGET_PREFIX)) {
    service = 'ecs';
    operation = target.slice(ECS_TARGET_PREFIX.length);
    body = text ? safeJson(text) : {};
  } else if (target.startsWith(LOGS_TARGET_PREFIX)) {
    service = 'logs';
    operation = target.slice(LOGS_TARGET_PREFIX.length);
    body = text ? safeJson(text) : {};
  } else if ((headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    body = Object.fromEntries(new URLSearchParams(text));
    operation = body.Action ?? '';
    service = 'ec2';
  }
  const auth = parseAuthorization(headers.authorization);
  if (auth && service === 'unknown') service = auth.service;
  return {
    method: req.method,
    path: req.url,
    service,
    operation,
    body,
    headers,
    auth,
    signature: verifySignature(req, raw, auth, credentials),
    sessionToken: headers['x-amz-security-token'],
    status: undefined,
    at: Date.now(),
    doneAt: undefined,
  };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { unparsable: text };
  }
}

function forward(base, req, raw) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, 'content-length': String(raw.length) };
    const out = http.request(
      { host: base.hostname, port: base.port, method: req.method, path: req.url, headers, timeout: 30_000 },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    out.on('timeout', () => out.destroy(new Error('timeout after 30 s')));
    out.on('error', reject);
    out.end(raw);
  });
}

// --- SigV4 verification (AWS General Reference, "Create a signed AWS API
// request": canonical request, string to sign, signing key). Only what the
// action sends is handled: POST or GET to a path, with an optional query.

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/;

export function parseAuthorization(value) {
  const m = AUTH_RE.exec(value ?? '');
  if (!m) return null;
  return {
    accessKeyId: m[1],
    date: m[2],
    region: m[3],
    service: m[4],
    signedHeaders: m[5].split(';'),
    signature: m[6],
  };
}

function verifySignature(req, raw, auth, credentials) {
  if (!req.headers.authorization) return 'unsigned';
  if (!auth) return `invalid: unparsable Authorization header ${JSON.stringify(req.headers.authorization)}`;
  const secret = credentials[auth.accessKeyId];
  if (secret === undefined) return `invalid: unknown access key id ${auth.accessKeyId}`;
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return 'invalid: missing or malformed X-Amz-Date';
  if (!amzDate.startsWith(auth.date)) return 'invalid: credential scope date differs from X-Amz-Date';
  if (!auth.signedHeaders.includes('host')) return 'invalid: host is not signed';
  if (req.headers['x-amz-security-token'] && !auth.signedHeaders.includes('x-amz-security-token')) {
    // Allowed by SigV4, but every AWS SDK signs it; flag it so tests notice.
    return 'invalid: x-amz-security-token sent but not signed';
  }
  const canonical = canonicalRequest(req, raw, auth.signedHeaders);
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  let key = hmac(`AWS4${secret}`, auth.date);
  key = hmac(key, auth.region);
  key = hmac(key, auth.service);
  key = hmac(key, 'aws4_request');
  const expected = crypto.createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === auth.signature ? 'valid' : `invalid: signature mismatch; canonical request was:\n${canonical}`;
}

function canonicalRequest(req, raw, signedHeaders) {
  const url = new URL(req.url, 'http://placeholder');
  // Non-S3 services encode each path segment twice; for "/" both are "/".
  const path = url.pathname
    .split('/')
    .map((s) => awsEncode(awsEncode(decodeURIComponent(s))))
    .join('/');
  const query = [...url.searchParams]
    .map(([k, v]) => [awsEncode(k), awsEncode(v)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const values = new Map();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    values.set(name, values.has(name) ? `${values.get(name)},${value}` : value);
  }
  const headers = signedHeaders.map((h) => `${h}:${values.get(h) ?? ''}\n`).join('');
  return [req.method, path || '/', query, headers, signedHeaders.join(';'), sha256hex(raw)].join('\n');
}

function awsEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}
