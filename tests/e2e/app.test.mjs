// A GitHub App instead of a token (README, action.yaml app-id and
// app-private-key; core/src/machine/app.rs). Runs dist/index.js as the
// Actions runner does against moto and the fake GitHub, which now plays GitHub's App side
// (lib/github.mjs, addApp): it verifies each JWT with the App's public key
// as GitHub does (RS256, iss, iat not in the future, exp within ten
// minutes), finds the installation, issues `ghs_` installation tokens that
// work only where the installation reaches, and revokes them on
// DELETE /installation/token. Each test checks from outside what the step
// did with the App: which credential every GitHub request carried, that the
// token was revoked (and really no longer works), that no secret (the key's
// lines, the JWT, the token) reached the log, outputs or summary, and what a
// failure says and leaves behind.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs, REGION, REPOSITORY, ORG } from './lib/world.mjs';
import { annotations, assertMasked, assertNoSecrets, describeRun } from './lib/action.mjs';
import {
  assertSucceeded,
  assertFailed,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  assertRunnerId,
  errorText,
} from './lib/checks.mjs';

const NAME = 'gh-runner';
/** The App under test, installed on the repository of the job. */
const APP_ID = 424242;
/** Another App, installed on the organization. */
const ORG_APP_ID = 515151;

describe('GitHub App', () => {
  let world;
  let app;
  let orgApp;
  useWorld((w) => (world = w), {
    fresh: (w) => {
      app = w.gh.addApp({ id: APP_ID, repos: [REPOSITORY] });
      orgApp = w.gh.addApp({ id: ORG_APP_ID, orgs: [ORG] });
    },
  });

  /** Start inputs with the App's credentials and no token. */
  const appInputs = (extra = {}) =>
    startInputs(world, {
      token: '',
      name: NAME,
      'wait-for-registration': 'false',
      'app-id': String(APP_ID),
      'app-private-key': app.privateKey,
      ...extra,
    });

  const since = (at) => world.gh.requests.filter((r) => r.at >= at);
  const summarize = (requests) => requests.map((r) => `${r.method} ${r.path} -> ${r.status} (${r.credential?.kind ?? 'rejected'})`);

  /** The installation tokens the fake issued to requests since `at`. */
  const tokensIssued = (at) =>
    since(at)
      .filter((r) => r.method === 'POST' && /\/app\/installations\/\d+\/access_tokens$/.test(r.path) && r.status === 201)
      .map((r) => r.response.token);

  /**
   * The secrets of an App run: the key's base64 lines (what core masks line
   * by line; the BEGIN/END lines are not secret), every JWT sent, and every
   * installation token issued; `all` adds the world's. The JWTs' signatures
   * (which make a JWT of the header and claims, themselves not secret) are
   * apart: one test below is about them.
   */
  function appSecrets(key = app.privateKey) {
    const keyLines = key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    const jwts = world.gh.jwtsSeen();
    return {
      keyLines,
      jwts,
      signatures: jwts.map((j) => j.split('.')[2]),
      tokens: world.gh.issued.filter((i) => i.kind === 'installation').map((i) => i.value),
      all: [...world.secrets(), ...keyLines, ...jwts],
    };
  }

  /**
   * The JWT of a request, decoded: what ecs-runner signs (core/src/github/app.rs,
   * iat 60 s ago, exp ten minutes after iat, iss the App id as text).
   */
  function assertAppJwt(request, { appId = APP_ID, at }) {
    assert.equal(request.credential?.kind, 'jwt', `${request.method} ${request.path} was not accepted as a JWT`);
    assert.equal(request.credential.app.id, appId);
    const [head, claims] = request.headers.authorization.slice('Bearer '.length).split('.').slice(0, 2);
    assert.deepEqual(JSON.parse(Buffer.from(head, 'base64url')), { alg: 'RS256', typ: 'JWT' });
    const c = JSON.parse(Buffer.from(claims, 'base64url'));
    assert.equal(c.iss, String(appId));
    const sent = Math.floor(at / 1000);
    assert.ok(c.iat >= sent - 62 && c.iat <= sent - 58, `iat ${c.iat} is not about a minute before ${sent}`);
    assert.equal(c.exp - c.iat, 600, 'valid ten minutes from iat');
  }

  /**
   * The installation token really no longer works: a call with it now is
   * refused 401 Bad credentials. (The fake records that refusal as a
   * violation, which this test provoked: it is taken off the list.)
   */
  async function assertTokenDead(token) {
    assert.equal(world.gh.tokenState(token), 'revoked');
    const res = await fetch(`${world.gh.url}/repos/${REPOSITORY}/actions/runners`, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'ecs-runner-e2e',
      },
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).message, 'Bad credentials');
    assert.equal(world.gh.takeViolations(/the installation token is revoked$/).length, 1);
  }

  /** Every GitHub request after `at` carried the App's JWT or an installation token, never a PAT. */
  function assertOnlyAppCredentials(at) {
    for (const r of since(at)) {
      assert.ok(['jwt', 'installation'].includes(r.credential?.kind), `${r.method} ${r.path} carried ${r.credential?.kind}`);
    }
  }

  /** No task in the cluster, no RunTask, no runner, no live installation token. */
  async function assertNothingLeft() {
    assert.deepEqual(await world.moto.tasks('runners'), [], 'a task was left running');
    assert.equal(world.moto.proxy.calls('RunTask').length, 0, 'RunTask was called');
    assert.equal(world.gh.runners.size, 0, 'a runner was left registered');
    assert.deepEqual(world.gh.activeInstallationTokens(), [], 'an installation token was left unrevoked');
  }

  test('start with app-id and the PKCS#1 key: JWT, installation, token used for GitHub, revoked at the end', async () => {
    const at = Date.now();
    const result = await world.run({ inputs: appInputs() });
    assertSucceeded(result);
    const { outputs } = result;
    assertRunnerId(outputs.runner_id, { name: NAME, runId: world.context.GITHUB_RUN_ID, attempt: world.context.GITHUB_RUN_ATTEMPT });

    // GitHub, in order: the installation and a token with the JWT, the runner
    // with the token, the token revoked last.
    const requests = since(at);
    const installationId = app.installations['octo-org'];
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        `GET /repos/${REPOSITORY}/installation 200`,
        `POST /app/installations/${installationId}/access_tokens 201`,
        `POST /repos/${REPOSITORY}/actions/runners/generate-jitconfig 201`,
        'DELETE /installation/token 204',
      ],
    );
    const [found, created, jit, revoke] = requests;
    assertAppJwt(found, { at: found.at });
    assertAppJwt(created, { at: created.at });
    const [token] = tokensIssued(at);
    assert.match(token, /^ghs_/);
    assert.equal(jit.headers.authorization, `Bearer ${token}`, 'the runner was registered with the installation token');
    assert.equal(jit.credential.kind, 'installation');
    assert.equal(revoke.headers.authorization, `Bearer ${token}`, 'the token revoked is the one issued');
    assertOnlyAppCredentials(at);

    // The runner and its task, as with a token.
    const runner = world.gh.runnerByName(outputs.runner_id);
    assert.ok(runner, 'no runner registered');
    assert.equal(outputs.github_runner_id, String(runner.id));
    const [task] = await world.moto.tasks('runners');
    assert.equal(outputs.task_arn, task.arn);
    assert.equal(outputs.region, REGION);
    const jitConfig = world.gh.issued.find((i) => i.kind === 'jit');
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, jitConfig.value);
    const raw = JSON.stringify(task.raw);
    const secrets = appSecrets();
    for (const s of [token, ...secrets.jwts, ...secrets.keyLines]) assert.ok(!raw.includes(s), 'an App secret is in the task');

    // The log says which App and installation.
    assert.ok(
      result.lines.some((l) => l.includes(`GitHub App ${APP_ID} is installed on ${REPOSITORY} (installation ${installationId})`)),
      `the log does not name the installation\n${describeRun(result)}`,
    );
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    // Masked: the AWS keys first, the JIT config and the installation token;
    // the key's lines and the JWT too. Shown: none of them.
    assertSecretsHandled(result, world, { tokenGiven: false });
    assertMasked(result, [...secrets.keyLines, ...secrets.jwts, token]);
    assertNoSecrets(result, [...world.secrets(), ...secrets.keyLines, ...secrets.jwts]);
    await assertTokenDead(token);
  });

  test("no ::debug:: line shows the JWT's signature (with header.claims shown, it is the JWT)", async () => {
    const result = await world.run({ inputs: appInputs() });
    assertSucceeded(result);
    const { jwts, signatures } = appSecrets();
    assert.equal(jwts.length, 2, 'the installation and the token requests');
    // The runner masks the JWT, not its parts: a line with the signature
    // alone is shown as it is, and the signing request's line shows the
    // header and claims. Together they are a JWT good for ten minutes.
    const [head, claims] = jwts[0].split('.');
    const shownInput = result.lines.some((l) => !l.startsWith('::add-mask::') && l.includes(`${head}.${claims}`));
    const shownSignature = result.lines.findIndex((l) => !l.startsWith('::add-mask::') && l.includes(signatures[0]));
    assert.ok(
      shownSignature === -1,
      `the JWT's signature is shown on log line ${shownSignature + 1}${shownInput ? ', and header.claims on another: the whole JWT can be rebuilt from the log' : ''}: ${result.lines[shownSignature]?.slice(0, 60)}...`,
    );
  });

  test('start with the PKCS#8 key ("BEGIN PRIVATE KEY"): the same flow, the token revoked', async () => {
    const at = Date.now();
    const result = await world.run({ inputs: appInputs({ 'app-private-key': app.privateKeyPkcs8 }) });
    assertSucceeded(result);
    const requests = since(at);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        `GET /repos/${REPOSITORY}/installation 200`,
        `POST /app/installations/${app.installations['octo-org']}/access_tokens 201`,
        `POST /repos/${REPOSITORY}/actions/runners/generate-jitconfig 201`,
        'DELETE /installation/token 204',
      ],
    );
    assertAppJwt(requests[0], { at: requests[0].at });
    const [token] = tokensIssued(at);
    assert.equal(requests[2].headers.authorization, `Bearer ${token}`);
    await assertTokenDead(token);
    assert.equal(world.gh.runners.size, 1);
    const secrets = appSecrets(app.privateKeyPkcs8);
    assertMasked(result, [...secrets.keyLines, token]);
    assertNoSecrets(result, [...world.secrets(), ...secrets.keyLines, ...secrets.jwts]);
  });

  test('an App not installed on the repository: exit 1 naming the install and the permission, nothing left behind', async () => {
    world.gh.addRepo('octo-org/elsewhere');
    const elsewhere = world.gh.addApp({ id: 626262, repos: ['octo-org/elsewhere'] });
    const at = Date.now();
    const result = await world.run({ inputs: appInputs({ 'app-id': '626262', 'app-private-key': elsewhere.privateKey }) });
    assertFailed(result);
    const message = errorText(annotations(result));
    assert.match(message, /GitHub App 626262 is not installed on octo-org\/hello-world/, message);
    assert.match(message, /install it/i, message);
    assert.match(message, /Administration: write/, message);
    // GitHub was asked once, with a JWT it accepted, and answered 404.
    const requests = since(at);
    assert.deepEqual(summarize(requests), [`GET /repos/${REPOSITORY}/installation -> 404 (jwt)`]);
    assert.equal(world.gh.installationTokens.size, 0, 'no token was created');
    await assertNothingLeft();
    assertNoSecrets(result, appSecrets(elsewhere.privateKey).all);
  });

  test("another App's private key: exit 1 with GitHub's 401, naming app-id and app-private-key", async () => {
    const at = Date.now();
    const result = await world.run({ inputs: appInputs({ 'app-private-key': orgApp.privateKey }) });
    assertFailed(result);
    const message = errorText(annotations(result));
    assert.match(message, /401/, message);
    assert.match(message, /A JSON web token could not be decoded/, message);
    assert.match(message, /app-id/, message);
    assert.match(message, /app-private-key/, message);
    assert.ok(message.includes(String(APP_ID)), `the message does not name the App id\n${message}`);
    // The fake refused the signature (and recorded it); nothing else was sent.
    const rejected = world.gh.takeViolations(/JWT rejected/);
    assert.equal(rejected.length, 1, rejected.join('\n'));
    assert.match(rejected[0], new RegExp(`the signature does not verify with app ${APP_ID}'s public key`));
    assert.deepEqual(summarize(since(at)), [`GET /repos/${REPOSITORY}/installation -> 401 (rejected)`]);
    await assertNothingLeft();
    assertNoSecrets(result, appSecrets(orgApp.privateKey).all);
  });

  test('the runner clock 30 s ahead of GitHub: accepted (iat is 60 s back); 2 min ahead: exit 1 naming the clock', async () => {
    world.gh.clockOffsetMs = -30_000;
    const ok = await world.run({ inputs: appInputs() });
    assertSucceeded(ok);
    world.gh.clockOffsetMs = -120_000;
    const at = Date.now();
    const late = await world.run({ inputs: appInputs() });
    assertFailed(late);
    const message = errorText(annotations(late));
    assert.match(message, /401/, message);
    assert.match(message, /'Issued at' claim \('iat'\)/, message);
    assert.match(message, /clock/, message);
    assert.equal(world.gh.takeViolations(/JWT rejected: iat \d+ is \d+\.\d s in the future/).length, 1);
    assert.deepEqual(summarize(since(at)), [`GET /repos/${REPOSITORY}/installation -> 401 (rejected)`]);
  });

  test('an App without Administration write: the registration is refused (403), exit 1, the token still revoked', async () => {
    const reader = world.gh.addApp({ id: 636363, repos: [REPOSITORY], permissions: { administration: 'read', metadata: 'read' } });
    const at = Date.now();
    const result = await world.run({ inputs: appInputs({ 'app-id': '636363', 'app-private-key': reader.privateKey }) });
    assertFailed(result);
    const message = errorText(annotations(result));
    assert.match(message, /403/, message);
    assert.match(message, /Resource not accessible by integration/, message);
    assert.match(message, /Administration: write/, message);
    const requests = since(at);
    const jit = requests.filter((r) => r.path.endsWith('/generate-jitconfig'));
    assert.ok(jit.length >= 1 && jit.every((r) => r.status === 403), summarize(requests).join('\n'));
    assert.deepEqual(summarize(requests.slice(-1)), ['DELETE /installation/token -> 204 (installation)'], 'revoked last, after the failure');
    const [token] = tokensIssued(at);
    await assertTokenDead(token);
    await assertNothingLeft();
    assertNoSecrets(result, appSecrets(reader.privateKey).all);
  });

  test('stop mode with the App: the runner deleted with an installation token, which is revoked too', async () => {
    const started = await world.run({ inputs: appInputs() });
    assertSucceeded(started);
    const ctx = { ...world.context };
    const runner = world.gh.runnerByName(started.outputs.runner_id);
    assert.ok(runner, 'the start registered no runner');
    const startToken = tokensIssued(0)[0];

    const at = Date.now();
    const result = await world.run({
      inputs: {
        token: '',
        'app-id': String(APP_ID),
        'app-private-key': app.privateKey,
        name: NAME,
        cluster: 'runners',
        mode: 'stop',
        'task-arn': started.outputs.task_arn,
        'runner-id': started.outputs.runner_id,
      },
      context: {
        GITHUB_REPOSITORY: ctx.GITHUB_REPOSITORY,
        GITHUB_RUN_ID: ctx.GITHUB_RUN_ID,
        GITHUB_RUN_ATTEMPT: ctx.GITHUB_RUN_ATTEMPT,
        GITHUB_JOB: 'stop-runner',
      },
    });
    assertSucceeded(result);
    const requests = since(at);
    assert.equal(requests[0].path, `/repos/${REPOSITORY}/installation`, summarize(requests).join('\n'));
    assertAppJwt(requests[0], { at: requests[0].at });
    const [token] = tokensIssued(at);
    assert.ok(token && token !== startToken, 'the stop step got its own installation token');
    const deletes = requests.filter((r) => r.method === 'DELETE' && r.path === `/repos/${REPOSITORY}/actions/runners/${runner.id}`);
    assert.deepEqual(deletes.map((d) => d.status), [204]);
    assert.equal(deletes[0].headers.authorization, `Bearer ${token}`, 'the runner was deleted with the installation token');
    assert.equal(world.gh.runners.size, 0);
    const [task] = await world.moto.tasks('runners');
    assert.equal(task.lastStatus, 'STOPPED');
    assert.deepEqual(summarize(requests.slice(-1)), ['DELETE /installation/token -> 204 (installation)']);
    assertOnlyAppCredentials(at);
    await assertTokenDead(token);
    assert.equal(world.gh.tokenState(startToken), 'revoked', "the start's token was revoked by the start");
    assert.deepEqual(world.gh.activeInstallationTokens(), []);
    assertMasked(result, [token]);
    assertNoSecrets(result, appSecrets().all);
  });

  test('org context with the App installed on the organization', async () => {
    const { network } = world.seeds;
    const at = Date.now();
    const result = await world.run({
      inputs: appInputs({
        context: ORG,
        'app-id': String(ORG_APP_ID),
        'app-private-key': orgApp.privateKey,
        subnets: network.subnets[0],
        'security-groups': network.securityGroups[0],
      }),
    });
    assertSucceeded(result);
    const requests = since(at);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        `GET /orgs/${ORG}/installation 200`,
        `POST /app/installations/${orgApp.installations['octo-org']}/access_tokens 201`,
        `POST /orgs/${ORG}/actions/runners/generate-jitconfig 201`,
        'DELETE /installation/token 204',
      ],
    );
    assertAppJwt(requests[0], { appId: ORG_APP_ID, at: requests[0].at });
    const [token] = tokensIssued(at);
    assert.equal(requests[2].headers.authorization, `Bearer ${token}`);
    const runner = world.gh.runnerByName(result.outputs.runner_id);
    assert.equal(runner?.scope, `org:${ORG}`);
    const [task] = await world.moto.tasks('runners');
    assert.equal(task.tags['ecs-runner:context'], ORG);
    assertGitHubHeaders(world.gh);
    assertNoSecrets(result, appSecrets(orgApp.privateKey).all);
    await assertTokenDead(token);
  });
});
