// A fake of GitHub's REST API for self-hosted runners, on 127.0.0.1.
//
// It answers the requests listed in docs/behaviour.md ("GitHub REST
// requests") the way docs.github.com documents them ("REST API endpoints for
// self-hosted runners"), and it CHECKS what it is sent, so a test fails when
// the action sends a wrong header or body rather than when a real GitHub
// would. It keeps runners in memory, records every request (with when it
// arrived and when it was answered, so a test can measure how many were in
// flight at once), and lets a test inject failures, slow answers down, or
// change a runner (online, busy).
//
// Routes, under `{basePath}` (empty for github.com, `/api/v3` to mimic GHES)
// and `{scope}` = `/repos/{owner}/{repo}` or `/orgs/{org}`:
//   POST   {scope}/actions/runners/generate-jitconfig -> 201 {runner, encoded_jit_config}
//   POST   {scope}/actions/runners/registration-token -> 201 {token, expires_at}
//   GET    {scope}/actions/runners[?name=&per_page=&page=] -> 200 {total_count, runners}
//   GET    {scope}/actions/runners/{id}   -> 200 runner | 404
//   DELETE {scope}/actions/runners/{id}   -> 204 | 404 gone | 422 busy
//   GET    /orgs/{org}/actions/runner-groups -> 200 {total_count, runner_groups}
//   GET    /repos/{owner}/{repo}/actions/runs/{run_id} -> 200 workflow run | 404
//          ("Get a workflow run"; runs exist only once a test adds them with
//          `addWorkflowRun`)
// and, for the GitHub Apps a test adds with `addApp` (docs.github.com,
// "Authenticating as a GitHub App installation"; REST "GitHub Apps"):
//   GET    {scope}/installation -> 200 installation | 404 (JWT)
//   POST   /app/installations/{installation_id}/access_tokens
//          -> 201 {token: "ghs_...", expires_at, permissions, repository_selection}
//          | 404 not this app's | 422 more than installed (JWT)
//   DELETE /installation/token -> 204, the token revoked (installation token)
// Anything else, or an unknown repo/org: 404 {"message":"Not Found"}.
//
// Checks, in the order GitHub applies them, each answered like GitHub does:
//   no User-Agent -> 403; Authorization not `Bearer <token>` -> 401
//   {"message":"Bad credentials"} (the token: the PAT given at start, or an
//   installation token the fake issued, not revoked, not expired; the three
//   App routes take a JWT instead, see "GitHub App JWTs" below);
//   X-GitHub-Api-Version not a version the
//   OpenAPI description knows -> 400; Accept not `application/vnd.github+json`
//   -> 400 (GitHub itself tolerates other Accept values; behaviour.md
//   requires this one, so the fake is stricter and says so in the message).
//   A failed check is also recorded as a violation.
//
// The contract (github-contract.mjs, GitHub's own OpenAPI description): every
// request is matched to a documented operation (method + path template) and
// its path parameters, query parameters and JSON body are validated against
// that operation's schemas; every answer the fake sends (its own and those a
// test injects) is validated against the schema documented for its status.
// Each failure, and each request to a path no operation documents, is a
// violation: `violations()` lists them as text (should stay empty). The
// description is api.github.com's, or with `basePath` the newest GHES one
// the package ships (option `description` to choose another).
//
// GitHub App JWTs (docs.github.com, "Generating a JSON Web Token (JWT) for a
// GitHub App": "signed using the RS256 algorithm"; iat "the time that the JWT
// was created" (60 s in the past recommended "to protect against clock
// drift"); exp "no more than 10 minutes into the future"; iss "the client ID
// or application ID of your GitHub App ... used to find the right public key
// to verify the signature"). Each failure is a 401 with the message GitHub
// gives (as users report them in octokit/auth-app.js, probot,
// actions/create-github-app-token issues):
//   not `Bearer <header>.<claims>.<signature>`, not base64url JSON, alg not
//   RS256, signature not verified with the app's public key (another app's
//   key, or a wrong iss) -> "A JSON web token could not be decoded";
//   iat missing, not an integer or later than now -> "'Issued at' claim
//   ('iat') must be an Integer representing the time that the assertion was
//   issued"; exp missing or not later than now -> "'Expiration time' claim
//   ('exp') must be a numeric value representing the future time at which
//   the assertion expires"; exp more than 600 s after now -> "'Expiration
//   time' claim ('exp') is too far in the future".
// iat gets no tolerance: GitHub's seems small (microsoft/AL-Go#2289: iat 10 s
// back failed on runners whose clock ran more than about 10 s ahead), and
// the 60 s that ecs-runner backdates it are what must absorb a runner's
// clock running ahead.
// The limit is exp - now, as documented, not exp - iat: GitHub's own example
// (iat now - 60, exp now + 600) lives 11 minutes. "now" is the fake's clock,
// `Date.now() + clockOffsetMs`, so a test can put the runner's clock ahead
// of or behind GitHub's.
//
// Installation tokens work like a PAT where the installation reaches and
// its permissions allow: runners of a repository need "administration"
// (read to list or get, write to create or delete), of an organization
// "organization_self_hosted_runners", a workflow run "actions" read.
//
// Where docs.github.com is silent the fake chooses, and says so here:
//   - an iss naming no app -> 401 "Integration not found" (the message users
//     report; the status is the fake's choice);
//   - a JWT is checked before X-GitHub-Api-Version and Accept, like a token;
//   - an installation token outside its installation's repositories or
//     organization -> 404 Not Found (as for a private repository); without
//     the permission -> 403 "Resource not accessible by integration";
//   - DELETE /installation/token with the PAT -> 403 (and a violation);
//   - a repo runner must use runner_group_id 1; an unknown group -> 404;
//   - a second runner with a name already registered in the scope -> 409;
//   - validation errors use GitHub's JSON-schema wording:
//     422 {"message": "Invalid request.\n\n<detail>", "documentation_url", "status": "422"}.

import http from 'node:http';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { peakOverlap } from './overlap.mjs';
import { githubContract, newestGhes, BASE_API_VERSION } from './github-contract.mjs';

const DOCS = 'https://docs.github.com/rest/actions/self-hosted-runners';
/** Labels GitHub gives type "read-only" (added by the runner itself). */
const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'x64', 'arm64', 'arm', 'windows', 'macos']);

/**
 * Starts the fake. `token` is the PAT it accepts (besides the installation
 * tokens it issues to the Apps a test adds with `addApp`). `repos`
 * (`owner/repo`) and `orgs` are the scopes that exist. `onlineAfterMs`, when
 * set, makes a registered runner report `online` that long after it was
 * created (as if the container had started the runner). `description` names
 * the OpenAPI description to check against (`api.github.com`, `ghes-3.19`,
 * `ghec`); by default api.github.com, or the newest GHES with `basePath`.
 */
export async function startFakeGitHub(options) {
  const gh = new FakeGitHub(options);
  await gh.listen();
  return gh;
}

export class FakeGitHub {
  constructor({ token, repos = [], orgs = [], basePath = '', onlineAfterMs = null, runnerGroups = null, description = null }) {
    if (!token) throw new Error('FakeGitHub needs the token it should accept');
    this.token = token;
    /** GitHub's OpenAPI description that requests and answers are checked against. */
    this.contract = githubContract(description ?? (basePath ? newestGhes() : 'api.github.com'));
    this.repos = new Set(repos.map((r) => r.toLowerCase()));
    this.initialRepos = new Set(this.repos);
    this.orgs = new Set(orgs.map((o) => o.toLowerCase()));
    this.basePath = basePath.replace(/\/$/, '');
    /** Settable per test; `clear()` restores the value given at start. */
    this.onlineAfterMs = onlineAfterMs;
    this.initialOnlineAfterMs = onlineAfterMs;
    /**
     * Org runner groups (`{id, name, default, visibility, ...}`, shown with
     * the other fields GitHub's answer has); id 1 "Default" always exists.
     */
    this.runnerGroups = runnerGroups ?? [{ id: 1, name: 'Default', default: true, visibility: 'all' }];
    /**
     * Every request: {method, path, query, headers, body, status, at,
     * doneAt}; `at` when it arrived, `doneAt` when its answer was sent
     * (Date.now()).
     */
    this.requests = [];
    /** Failed checks and contract violations, as text; see `violations()`. */
    this.problems = [];
    /** Runners by id. */
    this.runners = new Map();
    /** Workflow runs by `owner/repo#id` (lower-case repo). */
    this.workflowRuns = new Map();
    /** Secrets handed out: {kind: 'jit'|'registration', value, runnerId?, scope}. */
    this.issued = [];
    this.failures = [];
    this.delays = [];
    this.nextRunnerId = 1000 + crypto.randomInt(90_000);
    /** GitHub Apps by id (`addApp`). */
    this.apps = new Map();
    /** Installations by id: {id, app, account, accountLogin, accountType, accountId, selection, repos, permissions}. */
    this.installations = new Map();
    /** Installation tokens by value: {value, installation, repos (Set or null: all), permissions, expiresAt, revoked}. */
    this.installationTokens = new Map();
    this.nextInstallationId = 40_000_000 + crypto.randomInt(1_000_000);
    /** How far the fake's clock (for JWTs and token expiry) is ahead of this host's; settable per test. */
    this.clockOffsetMs = 0;
    this.server = http.createServer((req, res) => this.#handle(req, res));
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    /** What the action gets as GITHUB_API_URL. */
    this.url = this.origin + this.basePath;
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Every failed check and contract violation since start or `clear()`, as
   * readable text: `METHOD /path?query [operationId]: what was wrong`.
   */
  violations() {
    return [...this.problems];
  }

  /**
   * Removes the violations that match `pattern` (a RegExp or a substring) and
   * returns them: for a test that provokes a rejection on purpose (a wrong
   * key, a revoked token) and asserts exactly those, leaving any other to
   * fail it.
   */
  takeViolations(pattern) {
    const hit = (v) => (pattern instanceof RegExp ? pattern.test(v) : v.includes(pattern));
    const taken = this.problems.filter(hit);
    this.problems = this.problems.filter((v) => !hit(v));
    return taken;
  }

  /** Forget requests, violations, runners, issued secrets, injected failures, apps. */
  clear() {
    this.requests.length = 0;
    this.problems.length = 0;
    this.apps.clear();
    this.installations.clear();
    this.installationTokens.clear();
    this.clockOffsetMs = 0;
    this.runners.clear();
    this.workflowRuns.clear();
    this.repos = new Set(this.initialRepos);
    this.issued.length = 0;
    this.failures.length = 0;
    this.delays.length = 0;
    this.onlineAfterMs = this.initialOnlineAfterMs;
  }

  // --- test controls -----------------------------------------------------

  /**
   * Answer matching requests with `status`/`body` (and extra response
   * `headers`, e.g. `{'retry-after': '1'}`) instead of the normal answer
   * (after the header checks). `path` is a RegExp or a string the path
   * (without query, without basePath) ends with; `match`, when given, is a
   * predicate on the recorded request (`{method, path, query, headers,
   * body}`, body parsed), e.g. `(r) => r.body?.name?.endsWith('-3')` to refuse
   * one runner of several. `times` defaults to every time.
   *
   * GitHub's error answers always carry `message`, `documentation_url` and
   * `status` (the status as text); an error `body` without the last two gets
   * them, so an injected answer is realistic by default. Injected answers are
   * validated against the description like the fake's own.
   */
  fail({ method, path, match, status, body, headers = {}, times = Infinity }) {
    let answer = body ?? { message: `injected ${status}` };
    if (status >= 400 && answer && typeof answer === 'object' && !Array.isArray(answer)) {
      answer = { documentation_url: 'https://docs.github.com/rest', status: String(status), ...answer };
    }
    this.failures.push({ method, path, match, status, body: answer, headers, times });
  }

  /**
   * Answer matching requests (same `method`/`path`/`match` as `fail`) only
   * `ms` milliseconds after they arrived, as a slow GitHub would; requests in
   * the meantime are answered as usual. Injected failures are delayed too.
   */
  delay({ method, path, match, ms, times = Infinity }) {
    this.delays.push({ method, path, match, ms, times });
  }

  /**
   * The most requests that were in flight at once (arrived, not yet
   * answered), among `requests` (default: all recorded).
   */
  maxInFlight(requests = this.requests) {
    return peakOverlap(requests);
  }

  /** Change a runner, e.g. `setRunner(id, {status: 'online', busy: true})`. */
  setRunner(id, patch) {
    const runner = this.runners.get(Number(id));
    if (!runner) throw new Error(`no runner ${id}`);
    Object.assign(runner, patch);
    if ('status' in patch) runner.statusFixed = true;
  }

  /** Another repository that exists (until `clear()`). */
  addRepo(repo) {
    this.repos.add(repo.toLowerCase());
  }

  /**
   * A runner registered some other way (an earlier workflow, by hand), e.g.
   * `addRunner({scope: 'octo-org/hello-world', name, labels, status, busy})`.
   * `scope` is `owner/repo` or an org name. Returns the stored runner.
   */
  addRunner({ scope, name, labels = ['self-hosted'], status = 'offline', busy = false, ephemeral = true }) {
    const key = scope.includes('/') ? `repo:${scope.toLowerCase()}` : `org:${scope.toLowerCase()}`;
    const runner = this.#createRunner(key, name, labels, 1);
    Object.assign(runner, { status, busy, ephemeral, statusFixed: true });
    return runner;
  }

  /**
   * A workflow run of `repo`, answered by GET .../actions/runs/{id}:
   * `{id, status, conclusion, run_started_at, created_at, updated_at}`; times
   * as Date, epoch milliseconds or ISO strings. `status` is queued,
   * in_progress or completed (docs.github.com, "Get a workflow run").
   */
  addWorkflowRun(repo, { id, status = 'in_progress', conclusion, run_started_at, created_at, updated_at, run_attempt = 1 }) {
    const iso = (t) => (t === undefined || t === null ? t : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const started = iso(run_started_at ?? created_at ?? Date.now());
    const run = {
      id: Number(id),
      status,
      conclusion: conclusion === undefined ? (status === 'completed' ? 'success' : null) : conclusion,
      run_started_at: started,
      created_at: iso(created_at) ?? started,
      updated_at: iso(updated_at) ?? started,
      run_attempt,
    };
    this.workflowRuns.set(`${repo.toLowerCase()}#${run.id}`, run);
    return run;
  }

  /**
   * A GitHub App (until `clear()`) with a new 2048-bit RSA key pair,
   * installed on the repositories `repos` (`owner/repo`; those of one owner
   * share one installation, repository_selection "selected") and the
   * organizations `orgs` (repository_selection "all"), with `permissions`
   * (default: what ecs-runner needs). Returns {id, slug, clientId,
   * privateKey (PKCS#1 PEM, "BEGIN RSA PRIVATE KEY", what GitHub hands
   * out), privateKeyPkcs8 ("BEGIN PRIVATE KEY"), publicKey, installations
   * (their ids by account, lower-case)}.
   */
  addApp({ id, slug, repos = [], orgs = [], permissions = APP_PERMISSIONS }) {
    if (!Number.isInteger(id) || id <= 0) throw new Error(`addApp: id must be a positive integer, not ${id}`);
    if (this.apps.has(id)) throw new Error(`addApp: app ${id} exists`);
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const app = {
      id,
      slug: slug ?? `ecs-runner-e2e-${id}`,
      clientId: `Iv23li${crypto.randomBytes(7).toString('hex')}`,
      publicKey,
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }),
      privateKeyPkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      permissions: { ...permissions },
    };
    this.apps.set(id, app);
    const byAccount = new Map();
    const account = (login) => {
      const key = login.toLowerCase();
      let inst = byAccount.get(key);
      if (!inst) {
        inst = {
          id: this.nextInstallationId++,
          app,
          account: key,
          accountLogin: login,
          accountType: this.orgs.has(key) ? 'Organization' : 'User',
          accountId: 10_000 + crypto.randomInt(1_000_000),
          selection: 'selected',
          repos: new Set(),
          permissions: { ...permissions },
          createdAt: isoSeconds(Date.now()),
        };
        byAccount.set(key, inst);
        this.installations.set(inst.id, inst);
      }
      return inst;
    };
    for (const org of orgs) account(org).selection = 'all';
    for (const repo of repos) {
      const [owner, name] = repo.split('/');
      if (!name) throw new Error(`addApp: repos are owner/repo, not ${repo}`);
      account(owner).repos.add(repo.toLowerCase());
    }
    return {
      id,
      slug: app.slug,
      clientId: app.clientId,
      privateKey: app.privateKey,
      privateKeyPkcs8: app.privateKeyPkcs8,
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
      installations: Object.fromEntries([...byAccount].map(([k, inst]) => [k, inst.id])),
    };
  }

  /** What an installation token is now: 'active', 'revoked', 'expired' or 'unknown'. */
  tokenState(token) {
    const t = this.installationTokens.get(token);
    if (!t) return 'unknown';
    if (t.revoked) return 'revoked';
    return t.expiresAt <= this.#nowMs() ? 'expired' : 'active';
  }

  /** The installation tokens issued and neither revoked nor expired. */
  activeInstallationTokens() {
    return [...this.installationTokens.keys()].filter((t) => this.tokenState(t) === 'active');
  }

  /** Every JWT sent to the App routes (accepted or not), in order. */
  jwtsSeen() {
    return this.requests
      .filter((r) => typeof r.apiPath === 'string' && isJwtRoute(r.apiPath))
      .map((r) => /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1])
      .filter(Boolean);
  }

  runnerByName(name) {
    return [...this.runners.values()].find((r) => r.name === name);
  }

  /**
   * What the runner's config.sh does with a registration token: registers a
   * runner (here without checking the token's scope beyond existence).
   */
  registerWithToken(token, { name, labels = [], scope }) {
    const grant = this.issued.find((i) => i.kind === 'registration' && i.value === token);
    if (!grant) throw new Error('unknown registration token');
    return this.#createRunner(scope ?? grant.scope, name, labels, 1);
  }

  /** Every secret value handed out so far (JIT configs, registration tokens). */
  secrets() {
    return this.issued.map((i) => i.value);
  }

  /** Recorded requests matching method and a path suffix/RegExp. */
  requestsTo(method, path) {
    return this.requests.filter((r) => r.method === method && pathMatches(path, r.path));
  }

  // --- serving ---------------------------------------------------------------

  async #handle(req, res) {
    const arrived = Date.now();
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, this.origin);
    let path = url.pathname;
    const entry = {
      method: req.method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text === '' ? undefined : parseJson(text),
      rawBody: text,
      status: undefined,
      at: arrived,
      doneAt: undefined,
    };
    this.requests.push(entry);

    const under = !this.basePath || path.startsWith(this.basePath + '/');
    const apiPath = under ? path.slice(this.basePath.length) : null;
    entry.apiPath = apiPath;
    const where = `${req.method} ${path}${url.search}`;
    const version = this.contract.apiVersions.includes(req.headers['x-github-api-version'])
      ? req.headers['x-github-api-version']
      : BASE_API_VERSION;
    const matched = under ? this.contract.match(req.method, apiPath) : { problem: `not under the API's base path ${this.basePath}` };
    const operation = matched.operation;
    entry.operation = operation?.id ?? null;
    entry.template = operation?.template ?? null;
    const label = operation ? `${where} [${operation.id}]` : where;
    if (operation) {
      for (const problem of this.contract.checkRequest(operation, {
        searchParams: url.searchParams,
        rawBody: text,
        contentType: req.headers['content-type'],
        version,
      })) {
        this.problems.push(`${label}: ${problem}`);
      }
    } else {
      this.problems.push(`${where}: ${matched.problem}`);
    }

    const send = (status, body, headers = {}) => {
      entry.status = status;
      entry.response = body;
      entry.doneAt = Date.now();
      if (operation) {
        for (const problem of this.contract.checkResponse(operation, { status, body, version })) {
          this.problems.push(`${label}: fake GitHub's ${problem}`);
        }
      }
      const payload = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-api-version-selected': '2022-11-28',
        ...headers,
      });
      res.end(payload);
    };

    const problem = this.#checkHeaders(req.headers, apiPath, entry);
    if (problem) {
      this.problems.push(`${label}: ${problem.why}`);
      return send(problem.status, { message: problem.message, documentation_url: DOCS, status: String(problem.status) });
    }

    if (!under) return send(404, notFound());
    path = apiPath;
    entry.apiPath = path;

    const applies = (rule) =>
      rule.times > 0 && (!rule.method || rule.method === req.method) && pathMatches(rule.path, path) && (!rule.match || rule.match(entry));
    const slow = this.delays.find(applies);
    if (slow) {
      slow.times -= 1;
      await sleep(slow.ms);
    }
    const failure = this.failures.find(applies);
    if (failure) {
      failure.times -= 1;
      return send(failure.status, failure.body, failure.headers);
    }

    try {
      const [status, body, headers] = this.#route(req.method, path, url.searchParams, entry);
      return send(status, body, headers);
    } catch (error) {
      return send(500, { message: `fake GitHub bug: ${error.message}` });
    }
  }

  #checkHeaders(h, apiPath, entry) {
    if (!h['user-agent']) {
      return {
        status: 403,
        why: 'no User-Agent',
        message:
          'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).',
      };
    }
    const auth = apiPath !== null && isJwtRoute(apiPath) ? this.#verifyJwt(h.authorization) : this.#token(h.authorization);
    if (auth.problem) return auth.problem;
    entry.credential = auth.credential;
    const version = h['x-github-api-version'];
    if (!this.contract.apiVersions.includes(version)) {
      return {
        status: 400,
        why: `X-GitHub-Api-Version ${JSON.stringify(version)}`,
        message: version
          ? `API version '${version}' is not supported.`
          : 'fake GitHub: X-GitHub-Api-Version header missing (behaviour.md requires it)',
      };
    }
    if (h.accept !== 'application/vnd.github+json') {
      return {
        status: 400,
        why: `Accept ${JSON.stringify(h.accept)}`,
        message: 'fake GitHub: Accept must be application/vnd.github+json (behaviour.md)',
      };
    }
    return null;
  }

  #nowMs() {
    return Date.now() + this.clockOffsetMs;
  }

  /** The PAT or an installation token: {credential: {kind: 'pat'|'installation', token?}} or {problem}. */
  #token(authorization) {
    if (authorization === `Bearer ${this.token}`) return { credential: { kind: 'pat' } };
    const value = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    const state = value ? this.tokenState(value) : 'unknown';
    if (state === 'active') return { credential: { kind: 'installation', token: this.installationTokens.get(value) } };
    const got = authorization ? authorization.split(' ')[0] + ' <value>' : 'none';
    const why = state === 'unknown' ? `Authorization was ${got}, not "Bearer <token>"` : `the installation token is ${state}`;
    return { problem: { status: 401, why, message: 'Bad credentials' } };
  }

  /**
   * A GitHub App's JWT, verified as GitHub does (see "GitHub App JWTs" at the
   * top): {credential: {kind: 'jwt', app, claims}} or {problem}.
   */
  #verifyJwt(authorization) {
    const reject = (why, message = 'A JSON web token could not be decoded') => ({
      problem: { status: 401, why: `JWT rejected: ${why}`, message },
    });
    const parts = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!parts) return reject(authorization ? `Authorization is ${authorization.split(' ')[0]} <value>, not "Bearer <JWT>"` : 'no Authorization');
    const [, head, body, signature] = parts;
    const header = base64urlJson(head);
    const claims = base64urlJson(body);
    if (!header || !claims) return reject('the header or the claims are not base64url JSON objects');
    if (header.alg !== 'RS256') return reject(`alg ${JSON.stringify(header.alg)}, not RS256`);
    const app = [...this.apps.values()].find(
      (a) => (typeof claims.iss === 'number' || typeof claims.iss === 'string') && (String(claims.iss) === String(a.id) || claims.iss === a.clientId),
    );
    if (!app) return reject(`iss ${JSON.stringify(claims.iss)} names no app`, 'Integration not found');
    const verified = crypto.verify('sha256', Buffer.from(`${head}.${body}`), app.publicKey, Buffer.from(signature, 'base64url'));
    if (!verified) return reject(`the signature does not verify with app ${app.id}'s public key`);
    const now = this.#nowMs() / 1000;
    if (!Number.isInteger(claims.iat) || claims.iat > now) {
      return reject(
        `iat ${JSON.stringify(claims.iat)} is ${Number.isInteger(claims.iat) ? `${(claims.iat - now).toFixed(1)} s in the future` : 'not an integer'}`,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    if (typeof claims.exp !== 'number' || !(claims.exp > now)) {
      return reject(
        `exp ${JSON.stringify(claims.exp)} is not in the future`,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (claims.exp - now > JWT_MAX_SECONDS) {
      return reject(
        `exp is ${(claims.exp - now).toFixed(1)} s ahead, more than ${JWT_MAX_SECONDS}`,
        "'Expiration time' claim ('exp') is too far in the future",
      );
    }
    return { credential: { kind: 'jwt', app, claims } };
  }

  /**
   * May `credential` use `permission` (`read` or `write`) on `scope`
   * (`repo:owner/repo` or `org:org`)? null if so, else the answer.
   */
  #authorize(credential, scope, permission, level) {
    if (credential?.kind === 'pat') return null;
    const token = credential?.token;
    if (credential?.kind !== 'installation' || !token) return [401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }];
    const inst = token.installation;
    const reaches = scope.startsWith('org:')
      ? inst.account === scope.slice(4)
      : inst.account === scope.slice(5).split('/')[0] && (token.repos === null || token.repos.has(scope.slice(5)));
    if (!reaches) return [404, notFound()];
    const granted = token.permissions[permission];
    if (!granted || (level === 'write' && granted !== 'write')) {
      return [403, { message: 'Resource not accessible by integration', documentation_url: DOCS, status: '403' }];
    }
    return null;
  }

  /** "Get a repository installation for the authenticated app", "Get an organization installation for the authenticated app". */
  #installation(app, owner, repo, org) {
    const found = [...this.installations.values()].find((inst) => {
      if (inst.app !== app) return false;
      if (org !== undefined) return inst.account === org.toLowerCase();
      const full = `${owner}/${repo}`.toLowerCase();
      return this.repos.has(full) && inst.account === owner.toLowerCase() && (inst.selection === 'all' || inst.repos.has(full));
    });
    return found ? [200, this.#installationView(found)] : [404, notFound()];
  }

  /** "Create an installation access token for an app": the body may narrow repositories and permissions. */
  #accessToken(app, id, entry) {
    const inst = /^\d+$/.test(id) ? this.installations.get(Number(id)) : undefined;
    if (!inst || inst.app !== app) return [404, notFound()];
    const body = entry.body === undefined ? {} : entry.body;
    if (body === PARSE_ERROR || typeof body !== 'object' || Array.isArray(body) || body === null) {
      return [400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' }];
    }
    let repos = inst.selection === 'all' ? null : new Set(inst.repos);
    if (Array.isArray(body.repositories)) {
      const asked = body.repositories.map((name) => `${inst.account}/${String(name).toLowerCase()}`);
      const outside = asked.filter((r) => !this.repos.has(r) || (repos !== null && !repos.has(r)));
      if (outside.length > 0) {
        return [422, { message: 'There is at least one repository that does not exist or is not accessible to the parent installation.', documentation_url: DOCS, status: '422' }];
      }
      repos = new Set(asked);
    }
    let permissions = { ...inst.permissions };
    if (body.permissions && typeof body.permissions === 'object') {
      const rank = { read: 1, write: 2, admin: 3 };
      for (const [name, level] of Object.entries(body.permissions)) {
        if (!(rank[inst.permissions[name]] >= rank[level])) {
          return [422, { message: 'The permissions requested are not granted to this installation.', documentation_url: DOCS, status: '422' }];
        }
      }
      permissions = { ...body.permissions };
    }
    const value = installationToken();
    const expiresAt = this.#nowMs() + 3_600_000;
    this.installationTokens.set(value, { value, installation: inst, repos, permissions, expiresAt, revoked: false });
    this.issued.push({ kind: 'installation', value, installationId: inst.id, scope: `installation:${inst.id}` });
    return [
      201,
      { token: value, expires_at: isoSeconds(expiresAt), permissions, repository_selection: repos === null ? 'all' : 'selected' },
    ];
  }

  #installationView(inst) {
    return {
      id: inst.id,
      account: userView(this.url, inst.accountLogin, inst.accountId, inst.accountType),
      repository_selection: inst.selection,
      access_tokens_url: `${this.url}/app/installations/${inst.id}/access_tokens`,
      repositories_url: `${this.url}/installation/repositories`,
      html_url:
        inst.accountType === 'Organization'
          ? `https://github.com/organizations/${inst.accountLogin}/settings/installations/${inst.id}`
          : `https://github.com/settings/installations/${inst.id}`,
      app_id: inst.app.id,
      app_slug: inst.app.slug,
      client_id: inst.app.clientId,
      target_id: inst.accountId,
      target_type: inst.accountType,
      permissions: inst.permissions,
      events: [],
      created_at: inst.createdAt,
      updated_at: inst.createdAt,
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      suspended_by: null,
      suspended_at: null,
    };
  }

  #route(method, path, params, entry) {
    const credential = entry.credential;
    const installation = /^\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+))\/installation$/.exec(path);
    if (installation) {
      if (method !== 'GET') return [404, notFound()];
      return this.#installation(credential.app, installation[1], installation[2], installation[3]);
    }
    const tokens = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(path);
    if (tokens) return method === 'POST' ? this.#accessToken(credential.app, tokens[1], entry) : [404, notFound()];
    if (path === '/installation/token' && method === 'DELETE') {
      if (credential.kind !== 'installation') {
        this.problems.push(`${entry.method} ${entry.path}: revoking needs an installation token, not the PAT`);
        return [403, { message: 'fake GitHub: DELETE /installation/token takes an installation token', documentation_url: DOCS, status: '403' }];
      }
      credential.token.revoked = true;
      return [204, undefined];
    }
    const groups = /^\/orgs\/([^/]+)\/actions\/runner-groups$/.exec(path);
    if (groups) {
      if (method !== 'GET' || !this.orgs.has(groups[1].toLowerCase())) return [404, notFound()];
      const denied = this.#authorize(credential, `org:${groups[1].toLowerCase()}`, 'organization_self_hosted_runners', 'read');
      if (denied) return denied;
      const api = `${this.url}/orgs/${groups[1]}/actions/runner_groups`;
      const runnerGroups = this.runnerGroups.map((g) => ({
        // The fields GitHub's answer always has (docs.github.com, "List
        // self-hosted runner groups for an organization", runner-groups-org).
        runners_url: `${api}/${g.id}/runners`,
        inherited: false,
        allows_public_repositories: false,
        restricted_to_workflows: false,
        selected_workflows: [],
        workflow_restrictions_read_only: false,
        ...(g.visibility === 'selected' ? { selected_repositories_url: `${api}/${g.id}/repositories` } : {}),
        ...g,
      }));
      return [200, { total_count: runnerGroups.length, runner_groups: runnerGroups }];
    }
    const runs = /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/([^/]+)$/.exec(path);
    if (runs) {
      const repo = `${runs[1]}/${runs[2]}`.toLowerCase();
      if (this.repos.has(repo)) {
        const denied = this.#authorize(credential, `repo:${repo}`, 'actions', 'read');
        if (denied) return denied;
      }
      return this.#workflowRun(method, `${runs[1]}/${runs[2]}`, runs[3]);
    }
    const m = /^\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+))\/actions\/runners(?:\/([^/]+))?$/.exec(path);
    if (!m) return [404, notFound()];
    const scope = m[3] ? `org:${m[3].toLowerCase()}` : `repo:${m[1].toLowerCase()}/${m[2].toLowerCase()}`;
    const exists = m[3] ? this.orgs.has(m[3].toLowerCase()) : this.repos.has(`${m[1]}/${m[2]}`.toLowerCase());
    if (!exists) return [404, notFound()];
    const denied = this.#authorize(
      credential,
      scope,
      m[3] ? 'organization_self_hosted_runners' : 'administration',
      method === 'GET' ? 'read' : 'write',
    );
    if (denied) return denied;
    const tail = m[4];

    if (tail === 'generate-jitconfig' && method === 'POST') return this.#jitConfig(scope, entry);
    if (tail === 'registration-token' && method === 'POST') {
      const token = registrationToken();
      this.issued.push({ kind: 'registration', value: token, scope });
      return [201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString() }];
    }
    if (tail === undefined && method === 'GET') return this.#list(scope, params);
    if (tail !== undefined && /^\d+$/.test(tail)) {
      const runner = this.runners.get(Number(tail));
      const mine = runner && runner.scope === scope;
      if (method === 'GET') return mine ? [200, this.#view(runner)] : [404, notFound()];
      if (method === 'DELETE') {
        if (!mine) return [404, notFound()];
        if (runner.busy) {
          return [
            422,
            { message: `Bad request - Runner "${runner.name}" is still running a job"`, documentation_url: DOCS, status: '422' },
          ];
        }
        this.runners.delete(runner.id);
        return [204, undefined];
      }
    }
    return [404, notFound()];
  }

  /**
   * "Get a workflow run": every field docs.github.com's schema
   * (workflow-run) requires, for a stored run; the rest is fixed.
   */
  #workflowRun(method, repo, id) {
    const key = repo.toLowerCase();
    if (method !== 'GET' || !this.repos.has(key) || !/^\d+$/.test(id)) return [404, notFound()];
    const run = this.workflowRuns.get(`${key}#${Number(id)}`);
    if (!run) return [404, notFound()];
    const [owner, name] = repo.split('/');
    const repository = repositoryView(this.url, owner, name);
    const api = repository.url;
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const actor = userView(this.url, 'octocat', 583231, 'User');
    return [
      200,
      {
        id: run.id,
        name: 'e2e',
        node_id: `WFR_${Buffer.from(String(run.id)).toString('base64')}`,
        check_suite_id: 414944374,
        check_suite_node_id: 'CS_kwDOABCD5M4YuT2W',
        head_branch: 'main',
        head_sha: sha,
        path: '.github/workflows/e2e.yml',
        run_number: 42,
        run_attempt: run.run_attempt,
        event: 'workflow_dispatch',
        display_title: 'e2e',
        status: run.status,
        conclusion: run.conclusion,
        workflow_id: 159038,
        url: `${api}/actions/runs/${run.id}`,
        html_url: `${repository.html_url}/actions/runs/${run.id}`,
        pull_requests: [],
        created_at: run.created_at,
        updated_at: run.updated_at,
        actor,
        triggering_actor: actor,
        run_started_at: run.run_started_at,
        jobs_url: `${api}/actions/runs/${run.id}/jobs`,
        logs_url: `${api}/actions/runs/${run.id}/logs`,
        check_suite_url: `${api}/check-suites/414944374`,
        artifacts_url: `${api}/actions/runs/${run.id}/artifacts`,
        cancel_url: `${api}/actions/runs/${run.id}/cancel`,
        rerun_url: `${api}/actions/runs/${run.id}/rerun`,
        previous_attempt_url: run.run_attempt > 1 ? `${api}/actions/runs/${run.id}/attempts/${run.run_attempt - 1}` : null,
        workflow_url: `${api}/actions/workflows/159038`,
        head_commit: {
          id: sha,
          tree_id: 'd23f6eedb1e1b9610bbc754ddb5197bfe7271223',
          message: 'e2e',
          timestamp: run.created_at,
          author: { name: 'Octo Cat', email: 'octocat@github.com' },
          committer: { name: 'GitHub', email: 'noreply@github.com' },
        },
        repository,
        head_repository: repository,
      },
    ];
  }

  #jitConfig(scope, entry) {
    const body = entry.body;
    if (body === undefined || body === PARSE_ERROR || typeof body !== 'object' || Array.isArray(body)) {
      return [400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' }];
    }
    const problems = [];
    if (!('name' in body)) problems.push('"name" wasn\'t supplied.');
    else if (typeof body.name !== 'string' || body.name === '') problems.push(`For 'properties/name', ${JSON.stringify(body.name)} is not a non-empty string.`);
    if (!('runner_group_id' in body)) problems.push('"runner_group_id" wasn\'t supplied.');
    else if (!Number.isInteger(body.runner_group_id)) {
      problems.push(`For 'properties/runner_group_id', ${JSON.stringify(body.runner_group_id)} is not an integer.`);
    }
    if (!('labels' in body)) problems.push('"labels" wasn\'t supplied.');
    else if (!Array.isArray(body.labels)) problems.push(`For 'properties/labels', ${JSON.stringify(body.labels)} is not an array.`);
    else {
      if (body.labels.length < 1) problems.push("For 'properties/labels', [] has fewer than 1 items.");
      if (body.labels.length > 100) problems.push(`For 'properties/labels', ${body.labels.length} items is more than 100.`);
      body.labels.forEach((l, i) => {
        if (typeof l !== 'string' || l === '') problems.push(`For 'items/${i}', ${JSON.stringify(l)} is not a non-empty string.`);
      });
    }
    if ('work_folder' in body && typeof body.work_folder !== 'string') {
      problems.push(`For 'properties/work_folder', ${JSON.stringify(body.work_folder)} is not a string.`);
    }
    // The answer GitHub gives a body that does not fit; the contract check
    // (github-contract.mjs) has already recorded the violation, except for an
    // empty name or label, which the description allows and the fake refuses.
    if (problems.length > 0) {
      return [422, { message: `Invalid request.\n\n${problems.join('\n')}`, documentation_url: DOCS, status: '422' }];
    }
    const groupOk = scope.startsWith('repo:')
      ? body.runner_group_id === 1
      : this.runnerGroups.some((g) => g.id === body.runner_group_id);
    if (!groupOk) return [404, notFound()];
    if ([...this.runners.values()].some((r) => r.scope === scope && r.name === body.name)) {
      return [
        409,
        { message: `Already exists - A runner with the name '${body.name}' already exists.`, documentation_url: DOCS, status: '409' },
      ];
    }
    const runner = this.#createRunner(scope, body.name, body.labels, body.runner_group_id);
    runner.workFolder = body.work_folder ?? '_work';
    const group = scope.startsWith('repo:') ? { name: 'Default' } : this.runnerGroups.find((g) => g.id === body.runner_group_id);
    const encoded = jitConfig({ id: runner.id, name: runner.name, poolId: body.runner_group_id, poolName: group.name, workFolder: runner.workFolder });
    this.issued.push({ kind: 'jit', value: encoded, runnerId: runner.id, scope });
    return [201, { runner: this.#view(runner), encoded_jit_config: encoded }];
  }

  #createRunner(scope, name, labels, groupId) {
    const id = this.nextRunnerId++;
    const runner = {
      id,
      name,
      os: 'Linux',
      status: 'offline',
      busy: false,
      ephemeral: true,
      runner_group_id: groupId,
      labels: labels.map((label, i) => ({
        id: i + 1,
        name: label,
        type: READ_ONLY_LABELS.has(label.toLowerCase()) ? 'read-only' : 'custom',
      })),
      scope,
      createdAt: Date.now(),
      statusFixed: false,
    };
    this.runners.set(id, runner);
    return runner;
  }

  #list(scope, params) {
    const perPage = Math.min(Math.max(Number(params.get('per_page') ?? 30) || 30, 1), 100);
    const page = Math.max(Number(params.get('page') ?? 1) || 1, 1);
    let all = [...this.runners.values()].filter((r) => r.scope === scope).sort((a, b) => a.id - b.id);
    if (params.has('name')) all = all.filter((r) => r.name === params.get('name'));
    const runners = all.slice((page - 1) * perPage, page * perPage).map((r) => this.#view(r));
    const headers = {};
    if (page * perPage < all.length) {
      const next = new URLSearchParams(params);
      next.set('page', String(page + 1));
      headers.link = `<${this.origin}${this.basePath}${scopePath(scope)}/actions/runners?${next}>; rel="next"`;
    }
    return [200, { total_count: all.length, runners }, headers];
  }

  /** The runner as GitHub shows it (without our bookkeeping). */
  #view(r) {
    const online = r.statusFixed
      ? r.status
      : this.onlineAfterMs !== null && Date.now() - r.createdAt >= this.onlineAfterMs
        ? 'online'
        : r.status;
    return {
      id: r.id,
      name: r.name,
      os: r.os,
      status: online,
      busy: r.busy,
      ephemeral: r.ephemeral,
      runner_group_id: r.runner_group_id,
      labels: r.labels,
    };
  }
}

const PARSE_ERROR = Symbol('unparsable JSON');

/** docs.github.com: a JWT's exp "no more than 10 minutes into the future". */
const JWT_MAX_SECONDS = 600;

/** What ecs-runner's App needs (action.yaml, app-id), and metadata, which every App has. */
export const APP_PERMISSIONS = Object.freeze({
  administration: 'write',
  organization_self_hosted_runners: 'write',
  actions: 'read',
  metadata: 'read',
});

/** The routes an App calls with its JWT rather than a token. */
function isJwtRoute(apiPath) {
  return (
    /^\/(?:repos\/[^/]+\/[^/]+|orgs\/[^/]+)\/installation$/.test(apiPath) || /^\/app\/installations\/[^/]+\/access_tokens$/.test(apiPath)
  );
}

function base64urlJson(part) {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * A JWT as a GitHub App makes one: `claims` signed RS256 with `privateKey`
 * (PEM or KeyObject); `header` replaces {alg: 'RS256', typ: 'JWT'}, for
 * tests of what the fake rejects.
 */
export function signAppJwt(privateKey, claims, header = { alg: 'RS256', typ: 'JWT' }) {
  const encode = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** ISO 8601 without milliseconds, as GitHub writes times. */
function isoSeconds(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return PARSE_ERROR;
  }
}

function pathMatches(pattern, path) {
  if (pattern === undefined) return true;
  return pattern instanceof RegExp ? pattern.test(path) : path.endsWith(pattern);
}

function scopePath(scope) {
  return scope.startsWith('org:') ? `/orgs/${scope.slice(4)}` : `/repos/${scope.slice(5)}`;
}

/**
 * A user or organization as GitHub shows it (schema simple-user), `api` the
 * API's base URL.
 */
function userView(api, login, id, type) {
  const url = `${api}/users/${login}`;
  return {
    login,
    id,
    node_id: `U_${Buffer.from(String(id)).toString('base64')}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url,
    html_url: `https://github.com/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type,
    user_view_type: 'public',
    site_admin: false,
  };
}

/** A repository as GitHub shows it in a workflow run (schema minimal-repository). */
function repositoryView(api, owner, name) {
  const url = `${api}/repos/${owner}/${name}`;
  const id = 1296269;
  return {
    id,
    node_id: `R_${Buffer.from(String(id)).toString('base64')}`,
    name,
    full_name: `${owner}/${name}`,
    owner: userView(api, owner, 9919, 'Organization'),
    private: true,
    html_url: `https://github.com/${owner}/${name}`,
    description: null,
    fork: false,
    url,
    archive_url: `${url}/{archive_format}{/ref}`,
    assignees_url: `${url}/assignees{/user}`,
    blobs_url: `${url}/git/blobs{/sha}`,
    branches_url: `${url}/branches{/branch}`,
    collaborators_url: `${url}/collaborators{/collaborator}`,
    comments_url: `${url}/comments{/number}`,
    commits_url: `${url}/commits{/sha}`,
    compare_url: `${url}/compare/{base}...{head}`,
    contents_url: `${url}/contents/{+path}`,
    contributors_url: `${url}/contributors`,
    deployments_url: `${url}/deployments`,
    downloads_url: `${url}/downloads`,
    events_url: `${url}/events`,
    forks_url: `${url}/forks`,
    git_commits_url: `${url}/git/commits{/sha}`,
    git_refs_url: `${url}/git/refs{/sha}`,
    git_tags_url: `${url}/git/tags{/sha}`,
    hooks_url: `${url}/hooks`,
    issue_comment_url: `${url}/issues/comments{/number}`,
    issue_events_url: `${url}/issues/events{/number}`,
    issues_url: `${url}/issues{/number}`,
    keys_url: `${url}/keys{/key_id}`,
    labels_url: `${url}/labels{/name}`,
    languages_url: `${url}/languages`,
    merges_url: `${url}/merges`,
    milestones_url: `${url}/milestones{/number}`,
    notifications_url: `${url}/notifications{?since,all,participating}`,
    pulls_url: `${url}/pulls{/number}`,
    releases_url: `${url}/releases{/id}`,
    stargazers_url: `${url}/stargazers`,
    statuses_url: `${url}/statuses/{sha}`,
    subscribers_url: `${url}/subscribers`,
    subscription_url: `${url}/subscription`,
    tags_url: `${url}/tags`,
    teams_url: `${url}/teams`,
    trees_url: `${url}/git/trees{/sha}`,
  };
}

function notFound() {
  return { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' };
}

/** Like GitHub's: 'A' + 28 upper-case letters and digits. */
function registrationToken() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let t = 'A';
  for (let i = 0; i < 28; i++) t += alphabet[crypto.randomInt(alphabet.length)];
  return t;
}

/** Like GitHub's: `ghs_` + 36 letters and digits. */
function installationToken() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let t = 'ghs_';
  for (let i = 0; i < 36; i++) t += alphabet[crypto.randomInt(alphabet.length)];
  return t;
}

/**
 * An `encoded_jit_config` of the real shape (what the runner decodes in
 * actions/runner src/Runner.Listener/Runner.cs): base64 of a JSON map from
 * file name to the file's content in base64, for the runner's root:
 *   .runner                 RunnerSettings (ConfigurationStore.cs), camelCase:
 *                           agentId, agentName, poolId, poolName, serverUrl,
 *                           workFolder, ephemeral, useV2Flow, serverUrlV2 (a JIT
 *                           runner's has no gitHubUrl: RunnerSettings.IsHostedServer
 *                           says so)
 *   .credentials            CredentialData: scheme OAuth, data {clientId,
 *                           authorizationUrl, requireFipsCryptography}
 *   .credentials_rsaparams  RSAParametersSerializable: d, dp, dq, exponent,
 *                           inverseQ, modulus, p, q, each base64 of a real
 *                           RSA-2048 key's big-endian integer
 * About 4 KB in all, like the real ones (it counts against RunTask's 8192
 * characters of overrides). The labels are not in it (GitHub keeps them
 * with the runner), as in the real one. One key serves every config of this
 * process (made on first use): a key per runner would cost ~50 ms each.
 */
export function jitConfig({ id, name, poolId, poolName, workFolder }) {
  const tenant = crypto.randomBytes(37).toString('base64url');
  const serverUrl = `https://pipelinesghubeus${1 + crypto.randomInt(25)}.actions.githubusercontent.com/${tenant}/`;
  const runnerFile = {
    agentId: id,
    agentName: name,
    poolId,
    poolName,
    serverUrl,
    workFolder,
    ephemeral: true,
    useV2Flow: true,
    serverUrlV2: 'https://broker.actions.githubusercontent.com/',
  };
  const credentials = {
    scheme: 'OAuth',
    data: { clientId: crypto.randomUUID(), authorizationUrl: `${serverUrl}_apis/oauth2/token`, requireFipsCryptography: 'True' },
  };
  const files = {
    '.runner': Buffer.from(JSON.stringify(runnerFile)).toString('base64'),
    '.credentials': Buffer.from(JSON.stringify(credentials)).toString('base64'),
    '.credentials_rsaparams': Buffer.from(JSON.stringify(runnerRsaParams())).toString('base64'),
  };
  return Buffer.from(JSON.stringify(files)).toString('base64');
}

let rsaParams = null;

/** RSAParametersSerializable of one RSA-2048 key: its numbers in base64 (not base64url). */
function runnerRsaParams() {
  if (!rsaParams) {
    const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    const b64 = (v) => Buffer.from(v, 'base64url').toString('base64');
    rsaParams = { d: b64(jwk.d), dp: b64(jwk.dp), dq: b64(jwk.dq), exponent: b64(jwk.e), inverseQ: b64(jwk.qi), modulus: b64(jwk.n), p: b64(jwk.p), q: b64(jwk.q) };
  }
  return rsaParams;
}
