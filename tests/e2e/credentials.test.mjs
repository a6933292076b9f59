// mode: start, with AWS credentials from each source of the chain (README,
// "AWS credentials, wherever they are"; core/src/machine/creds.rs), and the
// labels of `default-labels: false` (README, "Runners only the intended job
// takes"). Runs dist/index.js as the Actions runner does against moto
// (ECS through the recording proxy; STS, whose AssumeRoleWithWebIdentity
// moto answers unsigned, through a recording relay: see startStsRelay) and
// the fake GitHub, with the credential endpoints faked on loopback
// (lib/credential-servers.mjs).
//
// Except where the environment keys are the subject, the child has no
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN. Every test
// points AWS_EC2_METADATA_SERVICE_ENDPOINT at the fake instance metadata, so
// that even an action that ignored AWS_EC2_METADATA_DISABLED=true would reach
// loopback, never 169.254.169.254; where IMDS is not the subject the fake
// must see no request.

import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useWorld, startInputs, REGION, REPOSITORY } from './lib/world.mjs';
import { FAKE_AWS, annotations, assertMasked, assertNoSecrets, describeRun } from './lib/action.mjs';
import { freePort } from './lib/moto.mjs';
import {
  assertSucceeded,
  assertFailed,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertRunnerId,
  errorText,
} from './lib/checks.mjs';
import {
  fakeJwt,
  temporaryCredentials,
  startOidcFake,
  startContainerCredentialsFake,
  startImdsFake,
  startSilentServer,
  startStsRelay,
} from './lib/credential-servers.mjs';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/ecs-runner-launcher';
const IMDS_ROLE = 'ecs-runner-launcher-instance';
/** Removed from the child's environment: only the tests of the environment keys keep them. */
const NO_KEYS = { AWS_ACCESS_KEY_ID: null, AWS_SECRET_ACCESS_KEY: null, AWS_SESSION_TOKEN: null };

describe('AWS credentials', () => {
  let world;
  useWorld((w) => (world = w));

  /** The fakes, started once for the file; their secrets are per file too. */
  const oidcRequestToken = `oidc-request-token-${Math.random().toString(36).slice(2)}DoNotPrint`;
  const jwt = fakeJwt();
  const containerToken = `container-authorization-${Math.random().toString(36).slice(2)}DoNotPrint`;
  const containerCreds = temporaryCredentials('container');
  const imdsCreds = temporaryCredentials('imds');
  let oidc;
  let container;
  let imds;
  let silent;
  let sts;
  let scratch;
  let trustedBefore;

  before(async () => {
    oidc = await startOidcFake({ requestToken: oidcRequestToken, jwt });
    container = await startContainerCredentialsFake({ credentials: containerCreds, authorization: containerToken });
    imds = await startImdsFake({ role: IMDS_ROLE, credentials: imdsCreds });
    silent = await startSilentServer();
    sts = await startStsRelay({ upstream: world.moto.url });
    scratch = await mkdtemp(path.join(os.tmpdir(), 'ecs-runner-e2e-creds-'));
    // The proxy verifies a signature when it knows the key's secret: tell it
    // the fakes' keys, and those moto's STS hands out (read from the STS
    // answers the relay passed on, recorded before the action sees them).
    const proxy = world.moto.proxy;
    trustedBefore = proxy.credentials;
    const known = {
      ...trustedBefore,
      [containerCreds.AccessKeyId]: containerCreds.SecretAccessKey,
      [imdsCreds.AccessKeyId]: imdsCreds.SecretAccessKey,
    };
    proxy.credentials = new Proxy(known, {
      get: (target, key) => (key in target ? target[key] : sts.issued().get(key)?.secretAccessKey),
    });
  });

  after(async () => {
    if (world && trustedBefore) world.moto.proxy.credentials = trustedBefore;
    await Promise.allSettled([oidc?.close(), container?.close(), imds?.close(), silent?.close(), sts?.close()]);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  beforeEach(() => {
    for (const fake of [oidc, container, imds, sts]) fake.clear();
    oidc.refuse = null;
  });

  afterEach(() => {
    // Whatever the test, nothing may have asked the instance metadata unless
    // the test was about it (it says so by emptying the fake's requests
    // after its checks).
    assert.deepEqual(
      imds.requests.map((r) => `${r.method} ${r.path}`),
      [],
      'the instance metadata was asked although AWS_EC2_METADATA_DISABLED=true',
    );
  });

  const inputs = (extra) => startInputs(world, { 'wait-for-registration': 'false', ...extra });

  /**
   * What every run gets: STS at the relay, the instance metadata at the
   * fake; `extra` adds or removes (null).
   */
  const endpoints = (extra = {}) => ({ AWS_ENDPOINT_URL_STS: sts.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, ...extra });

  /** The environment of a run with no keys; `extra` adds or removes (null). */
  const env = (extra = {}) => endpoints({ ...NO_KEYS, ...extra });

  /** Writes `text` to a new file in the scratch directory; returns its path. */
  async function scratchFile(name, text) {
    const file = path.join(scratch, `${name}-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  /** The one task the action started, read back from moto. */
  async function theTask() {
    const tasks = await world.moto.tasks('runners');
    assert.equal(tasks.length, 1, `expected exactly one task, found ${tasks.length}`);
    return tasks[0];
  }

  /** The recorded AssumeRoleWithWebIdentity calls. */
  const stsCalls = () => sts.requests.filter((r) => r.form?.Action === 'AssumeRoleWithWebIdentity');

  /**
   * Every request to the proxy (ECS here) was SigV4-signed, validly, with
   * `key` and its session token, for eu-west-1 and the service it went to;
   * there was at least one RunTask.
   */
  function assertSignedWith(key, sessionToken) {
    const calls = world.moto.proxy.requests;
    assert.ok(calls.some((c) => c.operation === 'RunTask'), 'no RunTask reached AWS');
    for (const call of calls) {
      const what = `${call.service} ${call.operation}`;
      assert.equal(call.auth?.accessKeyId, key, `${what}: signed with ${call.auth?.accessKeyId}, not ${key}`);
      assert.equal(call.signature, 'valid', `${what}: ${call.signature}`);
      assert.equal(call.auth.region, REGION, what);
      assert.equal(call.auth.service, call.service, what);
      assert.equal(call.sessionToken, sessionToken, `${what}: X-Amz-Security-Token`);
    }
  }

  /** A start that worked: exit 0, one JIT runner registered, its task RUNNING in moto. */
  async function assertStarted(result) {
    assertSucceeded(result);
    assertRunnerId(result.outputs.runner_id, {
      name: 'gh-runner',
      runId: world.context.GITHUB_RUN_ID,
      attempt: world.context.GITHUB_RUN_ATTEMPT,
    });
    assert.equal(world.gh.issued.filter((i) => i.kind === 'jit').length, 1, 'one JIT config issued');
    const task = await theTask();
    assert.equal(result.outputs.task_arn, task.arn);
    assert.equal(task.lastStatus, 'RUNNING');
  }

  /** Nothing reached GitHub or AWS. */
  function assertNothingSent(result) {
    const sent = [
      ...world.gh.requests.map((r) => `GitHub ${r.method} ${r.path}`),
      ...world.moto.proxy.requests.map((r) => `AWS ${r.service} ${r.operation || r.path}`),
      ...sts.requests.map((r) => `STS ${r.form?.Action}`),
      ...container.requests.map((r) => `container ${r.method} ${r.path}`),
    ];
    assert.deepEqual(sent, [], `requests were sent\n${describeRun(result)}`);
  }

  /** The log line that names the source. */
  function assertSourceLogged(result, pattern) {
    const line = result.stdout.split('\n').find((l) => l.includes('Getting AWS credentials from'));
    assert.ok(line, `no "Getting AWS credentials from" line\n${describeRun(result)}`);
    assert.match(line, pattern);
  }

  /** The secrets of a run that had no keys: the world's and the credential fakes'. */
  const secrets = (...more) => [...world.secrets(), ...more];

  test('role-to-assume: GitHub OIDC token, then STS; every ECS request signed with the role', async () => {
    const result = await world.run({
      inputs: inputs({ 'role-to-assume': ROLE_ARN, 'role-session-name': 'e2e-launch', 'role-duration-seconds': '1800' }),
      env: env({ ACTIONS_ID_TOKEN_REQUEST_URL: oidc.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidcRequestToken }),
    });
    await assertStarted(result);
    assertSourceLogged(result, new RegExp(`Getting AWS credentials from role ${ROLE_ARN.replace(/[/:]/g, '\\$&')}`));

    // One ID token, asked with the request token, for STS's audience, on
    // the URL as given (its api-version kept).
    assert.equal(oidc.requests.length, 1, 'one OIDC token request');
    const [asked] = oidc.requests;
    assert.equal(asked.status, 200);
    assert.equal(asked.headers.authorization, `Bearer ${oidcRequestToken}`);
    assert.equal(asked.query.audience, 'sts.amazonaws.com');
    assert.equal(asked.query['api-version'], '2.0');

    // One AssumeRoleWithWebIdentity, unsigned (the token is the proof),
    // with the role, the session name, the duration and the token.
    const assumed = stsCalls();
    assert.equal(assumed.length, 1, 'one AssumeRoleWithWebIdentity');
    assert.equal(assumed[0].status, 200, assumed[0].response);
    assert.equal(assumed[0].headers.authorization, undefined, 'AssumeRoleWithWebIdentity is sent unsigned');
    assert.equal(assumed[0].form.RoleArn, ROLE_ARN);
    assert.equal(assumed[0].form.RoleSessionName, 'e2e-launch');
    assert.equal(assumed[0].form.DurationSeconds, '1800');
    assert.equal(assumed[0].form.WebIdentityToken, jwt);
    assert.equal(assumed[0].form.Version, '2011-06-15');
    assert.ok(assumed[0].at < Math.min(...world.moto.proxy.requests.map((r) => r.at)), 'STS before any ECS request');
    // moto honours both: the session is named, and lasts 30 minutes.
    const issued = [...sts.issued().values()][0];
    assert.match(issued.assumedRoleArn, /assumed-role\/ecs-runner-launcher\/e2e-launch$/);
    const lasts = Date.parse(issued.expiration) - assumed[0].at;
    assert.ok(Math.abs(lasts - 1_800_000) < 60_000, `the session lasts ${lasts} ms, not 30 minutes`);

    assertSignedWith(issued.accessKeyId, issued.sessionToken);
    assertNoSecrets(result, secrets(oidcRequestToken, jwt, issued.secretAccessKey, issued.sessionToken));
    assertMasked(result, [oidcRequestToken, jwt, issued.secretAccessKey, issued.sessionToken]);
  });

  test('role-to-assume without ACTIONS_ID_TOKEN_REQUEST_URL: exit 1 naming id-token: write, nothing sent', async () => {
    const result = await world.run({
      inputs: inputs({ 'role-to-assume': ROLE_ARN }),
      env: env({ ACTIONS_ID_TOKEN_REQUEST_URL: null, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidcRequestToken }),
    });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes('permissions: id-token: write'), `the error does not name the permission:\n${errors}`);
    assert.ok(errors.includes('role-to-assume'), `the error does not name role-to-assume:\n${errors}`);
    assertNothingSent(result);
    assert.deepEqual(oidc.requests, [], 'the OIDC endpoint was asked');
    assert.deepEqual(await world.moto.allTasks(), []);
    assertNoSecrets(result, secrets(oidcRequestToken));
  });

  test('role-to-assume, the OIDC endpoint refusing (403): exit 1 saying so, nothing sent to AWS or GitHub', async () => {
    oidc.refuse = 403;
    const result = await world.run({
      inputs: inputs({ 'role-to-assume': ROLE_ARN }),
      env: env({ ACTIONS_ID_TOKEN_REQUEST_URL: oidc.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidcRequestToken }),
    });
    assertFailed(result);
    assert.equal(oidc.requests.length, 1, 'a refusal (4xx) is not retried');
    const errors = errorText(annotations(result));
    assert.match(errors, /OIDC/, `the error does not say the OIDC token was refused:\n${errors}`);
    assert.match(errors, /\b403\b/, `the error does not give the status:\n${errors}`);
    assert.ok(errors.includes('id-token: write'), `the error does not point at the permission:\n${errors}`);
    assertNothingSent(result);
    assert.deepEqual(await world.moto.allTasks(), []);
    assertNoSecrets(result, secrets(oidcRequestToken));
  });

  test('AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME: STS, then a start', async () => {
    const token = fakeJwt();
    const file = await scratchFile('web-identity-token', `${token}\n`);
    const result = await world.run({
      inputs: inputs(),
      env: env({ AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: ROLE_ARN, AWS_ROLE_SESSION_NAME: 'eks-launcher' }),
    });
    await assertStarted(result);
    assertSourceLogged(result, /role arn:aws:iam::123456789012:role\/ecs-runner-launcher, assumed with the web identity token in /);
    const assumed = stsCalls();
    assert.equal(assumed.length, 1, 'one AssumeRoleWithWebIdentity');
    assert.equal(assumed[0].status, 200, assumed[0].response);
    assert.equal(assumed[0].headers.authorization, undefined, 'AssumeRoleWithWebIdentity is sent unsigned');
    assert.equal(assumed[0].form.RoleArn, ROLE_ARN);
    assert.equal(assumed[0].form.RoleSessionName, 'eks-launcher');
    assert.equal(assumed[0].form.WebIdentityToken, token, 'the file\'s token, without its newline');
    const issued = [...sts.issued().values()][0];
    assertSignedWith(issued.accessKeyId, issued.sessionToken);
    assert.deepEqual(oidc.requests, [], 'GitHub OIDC was asked without role-to-assume');
    assertNoSecrets(result, secrets(token, issued.secretAccessKey, issued.sessionToken));
    assertMasked(result, [token, issued.secretAccessKey, issued.sessionToken]);
  });

  test('ECS container credentials (FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN): a start signed with them', async () => {
    const result = await world.run({
      inputs: inputs(),
      env: env({ AWS_CONTAINER_CREDENTIALS_FULL_URI: container.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: containerToken }),
    });
    await assertStarted(result);
    assertSourceLogged(result, new RegExp(`the ECS container credentials at ${container.url}`));
    assert.deepEqual(
      container.requests.map((r) => [r.method, r.path, r.headers.authorization, r.status]),
      [['GET', new URL(container.url).pathname, containerToken, 200]],
    );
    assertSignedWith(containerCreds.AccessKeyId, containerCreds.Token);
    assertNoSecrets(result, secrets(containerToken, containerCreds.SecretAccessKey, containerCreds.Token));
    assertMasked(result, [containerCreds.SecretAccessKey, containerCreds.Token]);
  });

  test('ECS container credentials with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity): the file wins', async () => {
    const file = await scratchFile('container-token', `${containerToken}\n`);
    const result = await world.run({
      inputs: inputs(),
      env: env({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: container.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: file,
        // The SDKs read the file when both are set; a wrong token here
        // fails the test if the action sends it instead.
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'not-the-token-in-the-file',
      }),
    });
    await assertStarted(result);
    assert.deepEqual(
      container.requests.map((r) => [r.headers.authorization, r.status]),
      [[containerToken, 200]],
      'the token from the file, trimmed',
    );
    assertSignedWith(containerCreds.AccessKeyId, containerCreds.Token);
    assertNoSecrets(result, secrets(containerToken, containerCreds.SecretAccessKey, containerCreds.Token));
    assertMasked(result, [containerToken, containerCreds.SecretAccessKey, containerCreds.Token]);
  });

  test('EC2 instance metadata, IMDSv2: token, role, credentials; a start signed with them', async () => {
    const result = await world.run({
      inputs: inputs(),
      env: env({ AWS_EC2_METADATA_DISABLED: null, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    });
    await assertStarted(result);
    assertSourceLogged(result, new RegExp(`the EC2 instance metadata at ${imds.url} \\(IMDSv2\\)`));
    const base = '/latest/meta-data/iam/security-credentials/';
    assert.deepEqual(
      imds.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      ['PUT /latest/api/token 200', `GET ${base} 200`, `GET ${base}${IMDS_ROLE} 200`],
      'IMDSv2 in three steps, never refused',
    );
    const [put, ...gets] = imds.requests;
    assert.ok(Number(put.headers['x-aws-ec2-metadata-token-ttl-seconds']) > 0, 'the token PUT asks for a TTL');
    for (const get of gets) assert.equal(get.headers['x-aws-ec2-metadata-token'], imds.tokens[0], `${get.path}: the session token`);
    assertSignedWith(imdsCreds.AccessKeyId, imdsCreds.Token);
    assertNoSecrets(result, secrets(imds.tokens[0], imdsCreds.SecretAccessKey, imdsCreds.Token));
    assertMasked(result, [imdsCreds.SecretAccessKey, imdsCreds.Token]);
    imds.clear(); // asked, as it should be (see afterEach)
  });

  for (const [what, endpoint] of [
    ['a port nothing listens on', async () => `http://127.0.0.1:${await freePort()}`],
    ['a server that never answers', async () => silent.url],
  ]) {
    test(`EC2 instance metadata at ${what}: the step fails fast, naming the instance metadata`, async () => {
      const url = await endpoint();
      const started = Date.now();
      const result = await world.run({
        inputs: inputs(),
        env: env({ AWS_EC2_METADATA_DISABLED: null, AWS_EC2_METADATA_SERVICE_ENDPOINT: url }),
        timeoutMs: 30_000,
      });
      const took = Date.now() - started;
      assertFailed(result);
      assert.ok(took < 10_000, `the step took ${took} ms to give up on the instance metadata\n${describeRun(result)}`);
      const errors = errorText(annotations(result));
      assert.match(errors, /instance metadata/, `the error does not name the instance metadata:\n${errors}`);
      assert.ok(errors.includes(url), `the error does not give the endpoint ${url}:\n${errors}`);
      assertNothingSent(result);
      assert.deepEqual(await world.moto.allTasks(), []);
    });
  }

  test('no credentials anywhere, AWS_EC2_METADATA_DISABLED=true: exit 1, one message listing what was tried', async () => {
    const result = await world.run({ inputs: inputs(), env: env() });
    assertFailed(result);
    const errors = annotations(result);
    assert.equal(errors.length, 1, `expected one ::error::, got ${errors.length}:\n${errors.join('\n')}`);
    for (const tried of [
      'AWS_ACCESS_KEY_ID',
      'role-to-assume',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'instance metadata',
      'AWS_EC2_METADATA_DISABLED',
    ]) {
      assert.ok(errors[0].includes(tried), `the message does not list ${tried}:\n${errors[0]}`);
    }
    assertNothingSent(result);
    assert.deepEqual(oidc.requests, []);
    assert.deepEqual(await world.moto.allTasks(), []);
  });

  test('default-labels: false: the runner carries only its own labels', async () => {
    const result = await world.run({ inputs: inputs({ 'default-labels': 'false', labels: 'gpu' }), env: endpoints() });
    assertSucceeded(result);
    const { runner_id: runnerId } = result.outputs;
    const jit = world.gh.requestsTo('POST', `/repos/${REPOSITORY}/actions/runners/generate-jitconfig`);
    assert.equal(jit.length, 1);
    const labels = jit[0].body.labels;
    for (const generic of ['self-hosted', 'linux', 'x64', 'ephemeral']) {
      assert.ok(!labels.some((l) => l.toLowerCase() === generic), `label ${generic} is there: ${labels.join(', ')}`);
    }
    for (const own of [runnerId, 'gh-runner', 'gpu']) {
      assert.ok(labels.includes(own), `label ${own} is missing: ${labels.join(', ')}`);
    }
    // With count 1 the runner's name is the runner id.
    assert.equal(jit[0].body.name, runnerId);
    assert.equal(result.outputs.runner_name, runnerId);
    assertAwsRequestsSigned(world.moto, REGION);
    assertSecretsHandled(result, world);
  });

  // README: "target it with `runs-on: [<runner_id>]` then, since
  // `self-hosted` is not among its labels".
  test(
    'default-labels: false: the log says to use runs-on: [<runner_id>], without self-hosted',
    async () => {
      const result = await world.run({ inputs: inputs({ 'default-labels': 'false' }), env: endpoints() });
      assertSucceeded(result);
      const hint = result.stdout.split('\n').find((l) => l.includes('runs-on:'));
      assert.ok(hint, `no runs-on hint in the log\n${describeRun(result)}`);
      assert.ok(hint.includes(`runs-on: [${result.outputs.runner_id}]`), `the hint is: ${hint}`);
    },
  );

  test('precedence: the environment keys win over container credentials', async () => {
    const result = await world.run({
      inputs: inputs(),
      env: endpoints({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: container.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: containerToken,
      }),
    });
    await assertStarted(result);
    assert.deepEqual(container.requests, [], 'the container endpoint was asked although the keys are set');
    assert.ok(
      !result.stdout.includes('Getting AWS credentials from the ECS container'),
      `the log says the container credentials were used\n${describeRun(result)}`,
    );
    assertSignedWith(FAKE_AWS.accessKeyId, FAKE_AWS.sessionToken);
    assertSecretsHandled(result, world);
    assertNoSecrets(result, [containerToken]);
  });
});
