// Loopback fakes of the places, other than the environment, where the action
// finds AWS credentials (README, "AWS credentials, wherever they are";
// core/src/machine/creds.rs): GitHub's OIDC token endpoint, the ECS container
// credentials endpoint, EC2 instance metadata (IMDSv2), a server that takes
// connections and never answers (an instance metadata endpoint that is not
// there), and a recording relay in front of moto's STS. Each one checks what it is sent the way the real one does,
// records every request, and answers at once (except the silent one), so no
// test waits on it; `close()` drops every connection.
//
// References: GitHub docs, "About security hardening with OpenID Connect"
// (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, `Authorization: Bearer`, the
// `audience` query parameter, the answer `{"value": "<JWT>"}`); AWS SDKs and
// Tools reference guide, "Container credential provider" (the Authorization
// header is the token as is, the answer `{AccessKeyId, SecretAccessKey,
// Token, Expiration}`); EC2 user guide, "Use IMDSv2" (PUT /latest/api/token
// with X-aws-ec2-metadata-token-ttl-seconds 1..21600, then every GET with
// X-aws-ec2-metadata-token; 401 for a missing or wrong token on an instance
// that requires IMDSv2, 400 for a PUT without the TTL).

import http from 'node:http';
import crypto from 'node:crypto';

/** The ID token endpoint's path, as the runner gives it (plus `?api-version=2.0`). */
export const OIDC_PATH = '/_apis/distributedtask/hubs/Actions/plans/e2e-plan/jobs/e2e-job/idtoken';

/** A token shaped like GitHub's OIDC JWT: three base64url parts, random. */
export function fakeJwt() {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = part({ alg: 'RS256', typ: 'JWT', kid: 'e2e' });
  const claims = part({
    iss: 'https://token.actions.githubusercontent.com',
    sub: 'repo:octo-org/hello-world:ref:refs/heads/main',
    aud: 'sts.amazonaws.com',
    jti: crypto.randomUUID(),
  });
  return `${header}.${claims}.${crypto.randomBytes(48).toString('base64url')}`;
}

/**
 * Temporary credentials with distinctive, random values (so one found in a
 * log is a leak), expiring `ttlMs` from now: the JSON the container and IMDS
 * endpoints answer.
 */
export function temporaryCredentials(tag, { ttlMs = 3_600_000 } = {}) {
  const upper = crypto.randomBytes(6).toString('hex').toUpperCase();
  return {
    AccessKeyId: `ASIAE2E${tag.toUpperCase().slice(0, 5)}${upper}`.slice(0, 20),
    SecretAccessKey: `${tag}Secret/DoNotPrint+${crypto.randomBytes(12).toString('base64url')}`,
    Token: `${tag}-session-token/DoNotPrint+${crypto.randomBytes(24).toString('base64url')}==`,
    Expiration: new Date(Date.now() + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/**
 * A server on 127.0.0.1 that records each request ({method, path, query
 * (object), headers, body, status, at}) and answers with `answer(request)`
 * -> {status, body (object: JSON, or text), headers?} (or a promise of it).
 */
export class RecordingServer {
  constructor(answer) {
    this.answer = answer;
    this.requests = [];
    this.server = http.createServer((req, res) => this.#handle(req, res));
    // A request that never finishes its headers or body is dropped after 5 s.
    this.server.headersTimeout = 5_000;
    this.server.requestTimeout = 5_000;
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  /** Forget the requests (between tests). */
  clear() {
    this.requests.length = 0;
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const url = new URL(req.url, 'http://placeholder');
    const request = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      status: undefined,
      at: Date.now(),
    };
    this.requests.push(request);
    let answer;
    try {
      answer = await this.answer(request);
    } catch (error) {
      answer = { status: 502, body: `${error.message}` };
    }
    const { status, body = '', headers = {} } = answer;
    request.status = status;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8';
    res.writeHead(status, { 'content-type': type, ...headers });
    res.end(text);
  }
}

/**
 * GitHub's OIDC token endpoint. `requestToken` is the one bearer token it
 * accepts (401 otherwise); `audience` the audience it insists on (400 for
 * another or none); `refuse` answers every request with that status instead
 * (what GitHub does when the token is not valid for an ID token). Answers
 * `{"count": 1, "value": jwt}`. `url` is what ACTIONS_ID_TOKEN_REQUEST_URL
 * should be (with `?api-version=2.0`, as the runner sets it).
 */
export async function startOidcFake({ requestToken, jwt, audience = 'sts.amazonaws.com' }) {
  const fake = new RecordingServer((r) => {
    if (fake.refuse) return { status: fake.refuse, body: { message: 'Forbidden: the token may not issue an ID token' } };
    if (r.method !== 'GET' || r.path !== OIDC_PATH) return { status: 404, body: { message: 'Not Found' } };
    if (r.headers.authorization !== `Bearer ${requestToken}`) return { status: 401, body: { message: 'Unauthorized' } };
    if (r.query['api-version'] !== '2.0') return { status: 400, body: { message: 'api-version 2.0 is required' } };
    if (r.query.audience !== audience) {
      return { status: 400, body: { message: `audience ${JSON.stringify(r.query.audience ?? null)} is not ${audience}` } };
    }
    return { status: 200, body: { count: 1, value: jwt } };
  });
  fake.refuse = null;
  await fake.listen();
  fake.url = `${fake.origin}${OIDC_PATH}?api-version=2.0`;
  return fake;
}

/**
 * The ECS container credentials endpoint at `path`. With `authorization`
 * set, a request must carry exactly that Authorization header (401
 * otherwise). Answers `credentials` (see temporaryCredentials). `url` is
 * what AWS_CONTAINER_CREDENTIALS_FULL_URI should be.
 */
export async function startContainerCredentialsFake({ credentials, authorization = null, path = '/v2/credentials/e2e-task' }) {
  const fake = new RecordingServer((r) => {
    if (r.method !== 'GET' || r.path !== path) return { status: 404, body: { message: 'Not Found' } };
    if (authorization !== null && r.headers.authorization !== authorization) {
      return { status: 401, body: { code: 'AccessDenied', message: 'Authorization header mismatch' } };
    }
    return { status: 200, body: { RoleArn: 'arn:aws:iam::123456789012:role/e2e-task', ...credentials } };
  });
  await fake.listen();
  fake.url = `${fake.origin}${path}`;
  return fake;
}

/**
 * EC2 instance metadata that requires IMDSv2: PUT /latest/api/token with
 * X-aws-ec2-metadata-token-ttl-seconds (1..21600; else 400) gives a session
 * token; GET /latest/meta-data/iam/security-credentials/ lists `role`, and
 * .../`role` answers `credentials`; every GET without a token it issued is
 * 401 (IMDSv1 refused). `url` is what AWS_EC2_METADATA_SERVICE_ENDPOINT
 * should be.
 */
export async function startImdsFake({ role, credentials }) {
  const tokens = new Set();
  const base = '/latest/meta-data/iam/security-credentials/';
  const fake = new RecordingServer((r) => {
    if (r.path === '/latest/api/token') {
      if (r.method !== 'PUT') return { status: 405, body: '' };
      const ttl = Number(r.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21_600) return { status: 400, body: '' };
      const token = `imds-${crypto.randomBytes(24).toString('base64url')}`;
      tokens.add(token);
      fake.tokens.push(token);
      return { status: 200, body: token, headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) } };
    }
    if (r.method !== 'GET') return { status: 405, body: '' };
    if (!tokens.has(r.headers['x-aws-ec2-metadata-token'])) return { status: 401, body: '' };
    if (r.path === base) return { status: 200, body: `${role}\n` };
    if (r.path === `${base}${role}`) {
      return {
        status: 200,
        body: { Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC', ...credentials },
      };
    }
    return { status: 404, body: '' };
  });
  /** The session tokens it issued (secrets the action must mask). */
  fake.tokens = [];
  await fake.listen();
  fake.url = fake.origin;
  return fake;
}

/**
 * A server that accepts connections and reads requests but never answers
 * (an address where something listens and hangs). Records when each
 * connection arrived (`connections`); `close()` destroys them.
 */
export async function startSilentServer() {
  const sockets = new Set();
  const fake = { connections: [] };
  fake.server = http.createServer(() => {
    // Never answered; the socket is destroyed on close().
  });
  fake.server.on('connection', (socket) => {
    sockets.add(socket);
    fake.connections.push({ at: Date.now() });
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    fake.server.once('error', reject);
    fake.server.listen(0, '127.0.0.1', resolve);
  });
  fake.url = `http://127.0.0.1:${fake.server.address().port}`;
  fake.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => fake.server.close(() => resolve()));
  };
  return fake;
}

/**
 * A relay in front of moto's STS (`upstream`, moto's own URL) that records
 * each request as RecordingServer does, plus `form` (the parsed body) and
 * `response` (moto's answer, recorded before it is passed on), and `issued()`:
 * the credentials the AssumeRoleWithWebIdentity answers carried.
 *
 * Why not the recording proxy (aws-proxy.mjs): it checks every form request
 * without a SigV4 scope against the EC2 model, so the unsigned
 * AssumeRoleWithWebIdentity (STS API reference: "Calling
 * AssumeRoleWithWebIdentity does not require the use of AWS security
 * credentials") reads as a contract violation there. The action is pointed
 * here with AWS_ENDPOINT_URL_STS.
 */
export async function startStsRelay({ upstream }) {
  const relay = new RecordingServer(async (r) => {
    r.form = Object.fromEntries(new URLSearchParams(r.body));
    const headers = { ...r.headers };
    delete headers.host;
    delete headers.connection;
    delete headers['content-length'];
    const answer = await fetch(`${upstream}${r.path}`, {
      method: r.method,
      headers,
      body: r.method === 'GET' ? undefined : r.body,
      signal: AbortSignal.timeout(20_000),
    });
    r.response = await answer.text();
    return { status: answer.status, body: r.response, headers: { 'content-type': answer.headers.get('content-type') ?? 'text/xml' } };
  });
  relay.issued = () => {
    const out = new Map();
    for (const r of relay.requests) {
      if (r.form?.Action !== 'AssumeRoleWithWebIdentity' || typeof r.response !== 'string') continue;
      const field = (name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(r.response)?.[1];
      const accessKeyId = field('AccessKeyId');
      if (!accessKeyId) continue;
      out.set(accessKeyId, {
        accessKeyId,
        secretAccessKey: field('SecretAccessKey'),
        sessionToken: field('SessionToken'),
        expiration: field('Expiration'),
        assumedRoleArn: field('Arn'),
      });
    }
    return out;
  };
  await relay.listen();
  relay.url = relay.origin;
  return relay;
}
