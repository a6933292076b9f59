// Self-test of the e2e harness: the fake GitHub's checks, moto seeding and
// read-back, the recording proxy's signature check and AWS request contract
// (botocore's service models), and runAction's environment. These do not
// need dist/ and pass before the action exists.

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeGitHub, signAppJwt, APP_PERMISSIONS } from './lib/github.mjs';
import { startMoto } from './lib/moto.mjs';
import {
  FAKE_AWS,
  runAction,
  parseOutputFile,
  annotations,
  assertNoSecrets,
  inputVariable,
} from './lib/action.mjs';
import { fakePat, World } from './lib/world.mjs';
import { HARNESS_ACCESS_KEY_ID } from './lib/aws-proxy.mjs';
import { shebangPython } from './lib/aws-contract.mjs';
import { githubContract, newestGhes } from './lib/github-contract.mjs';
import crypto from 'node:crypto';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('fake GitHub', () => {
  const token = fakePat();
  let gh;
  before(async () => {
    gh = await startFakeGitHub({ token, repos: ['octo-org/hello-world'], orgs: ['octo-org'] });
  });
  after(() => gh.close());
  beforeEach(() => gh.clear());

  const good = {
    authorization: `Bearer ${token}`,
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'ecs-runner/0.0.0-test',
  };
  async function call(method, p, { headers = good, body } = {}) {
    const res = await fetch(gh.url + p, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }
  const jit = (scope, name, extra = {}) =>
    call('POST', `${scope}/actions/runners/generate-jitconfig`, {
      body: { name, runner_group_id: 1, labels: ['self-hosted', 'Linux', 'X64', name], work_folder: '_work', ...extra },
    });
  const REPO = '/repos/octo-org/hello-world';

  test('rejects a wrong or missing token with 401 Bad credentials', async () => {
    for (const authorization of [undefined, 'Bearer nope', `token ${token}`]) {
      const headers = { ...good };
      if (authorization) headers.authorization = authorization;
      else delete headers.authorization;
      const r = await call('GET', `${REPO}/actions/runners`, { headers });
      assert.equal(r.status, 401);
      assert.equal(r.body.message, 'Bad credentials');
    }
    assert.equal(gh.violations().length, 3);
    assert.equal(gh.requests.length, 3);
  });

  test('checks User-Agent, X-GitHub-Api-Version and Accept', async () => {
    const without = (name) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
    // fetch() always adds a User-Agent, so send this one with node:http.
    const noAgent = await new Promise((resolve, reject) => {
      const req = http.request(`${gh.url}${REPO}/actions/runners`, { headers: without('user-agent'), timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(noAgent, 403);
    assert.equal((await call('GET', `${REPO}/actions/runners`, { headers: without('x-github-api-version') })).status, 400);
    const old = await call('GET', `${REPO}/actions/runners`, { headers: { ...good, 'x-github-api-version': '2021-01-01' } });
    assert.equal(old.status, 400);
    assert.match(old.body.message, /2021-01-01/);
    assert.equal((await call('GET', `${REPO}/actions/runners`, { headers: { ...good, accept: 'application/json' } })).status, 400);
    assert.equal(gh.violations().length, 4);
    assert.equal((await call('GET', `${REPO}/actions/runners`)).status, 200);
    assert.equal(gh.violations().length, 4);
  });

  test('generate-jitconfig registers a runner and issues a fresh config', async () => {
    const r = await jit(REPO, 'gh-runner-1-1-aaaaaaaa');
    assert.equal(r.status, 201);
    assert.equal(r.body.runner.name, 'gh-runner-1-1-aaaaaaaa');
    assert.ok(Number.isInteger(r.body.runner.id));
    assert.equal(r.body.runner.status, 'offline');
    assert.ok(r.body.encoded_jit_config.length > 100);
    assert.deepEqual(gh.secrets(), [r.body.encoded_jit_config]);
    const second = await jit(REPO, 'other');
    assert.notEqual(second.body.encoded_jit_config, r.body.encoded_jit_config);
    assert.notEqual(second.body.runner.id, r.body.runner.id);
    const labels = gh.runnerByName('gh-runner-1-1-aaaaaaaa').labels;
    assert.deepEqual(
      labels.map((l) => [l.name, l.type]),
      [['self-hosted', 'read-only'], ['Linux', 'read-only'], ['X64', 'read-only'], ['gh-runner-1-1-aaaaaaaa', 'custom']],
    );
  });

  test('generate-jitconfig validates the body like GitHub (422), bad JSON is 400', async () => {
    const cases = [
      [{ runner_group_id: '1' }, /runner_group_id/],
      [{ runner_group_id: 1.5 }, /runner_group_id/],
      [{ labels: [] }, /fewer than 1/],
      [{ labels: Array.from({ length: 101 }, (_, i) => `l${i}`) }, /more than 100/],
      [{ labels: ['ok', 7] }, /items\/1/],
      [{ labels: 'self-hosted' }, /not an array/],
      [{ name: '' }, /name/],
      [{ work_folder: 3 }, /work_folder/],
    ];
    for (const [extra, pattern] of cases) {
      const r = await jit(REPO, 'x', extra);
      assert.equal(r.status, 422, JSON.stringify(extra));
      assert.match(r.body.message, /^Invalid request\./);
      assert.match(r.body.message, pattern);
    }
    const missing = await call('POST', `${REPO}/actions/runners/generate-jitconfig`, { body: { labels: ['a'] } });
    assert.equal(missing.status, 422);
    assert.match(missing.body.message, /"name" wasn't supplied/);
    assert.match(missing.body.message, /"runner_group_id" wasn't supplied/);
    assert.equal((await call('POST', `${REPO}/actions/runners/generate-jitconfig`, { body: '{not json' })).status, 400);
    assert.equal(gh.runners.size, 0);
    assert.equal(gh.issued.length, 0);
  });

  test('a repo runner needs group 1; a duplicate name is 409', async () => {
    assert.equal((await jit(REPO, 'a', { runner_group_id: 2 })).status, 404);
    assert.equal((await jit(REPO, 'a')).status, 201);
    assert.equal((await jit(REPO, 'a')).status, 409);
  });

  test('registration token', async () => {
    const r = await call('POST', `${REPO}/actions/runners/registration-token`);
    assert.equal(r.status, 201);
    assert.match(r.body.token, /^A[A-Z0-9]{28}$/);
    assert.ok(Date.parse(r.body.expires_at) > Date.now() + 50 * 60_000);
    assert.deepEqual(gh.secrets(), [r.body.token]);
    const runner = gh.registerWithToken(r.body.token, { name: 'via-token', labels: ['self-hosted'] });
    assert.equal((await call('GET', `${REPO}/actions/runners/${runner.id}`)).body.name, 'via-token');
  });

  test('list by name, paging with Link, get, delete 204/404/422', async () => {
    const token1 = (await call('POST', `${REPO}/actions/runners/registration-token`)).body.token;
    for (let i = 0; i < 130; i++) gh.registerWithToken(token1, { name: `r-${i}`, labels: ['self-hosted'] });
    const byName = await call('GET', `${REPO}/actions/runners?name=r-42`);
    assert.equal(byName.status, 200);
    assert.equal(byName.body.total_count, 1);
    assert.equal(byName.body.runners[0].name, 'r-42');
    assert.deepEqual(Object.keys(byName.body.runners[0]).sort(), ['busy', 'ephemeral', 'id', 'labels', 'name', 'os', 'runner_group_id', 'status']);
    const p1 = await call('GET', `${REPO}/actions/runners?per_page=100&page=1`);
    assert.equal(p1.body.total_count, 130);
    assert.equal(p1.body.runners.length, 100);
    assert.match(p1.headers.get('link'), /page=2>; rel="next"/);
    const p2 = await call('GET', `${REPO}/actions/runners?per_page=100&page=2`);
    assert.equal(p2.body.runners.length, 30);
    assert.equal(p2.headers.get('link'), null);
    const ids = new Set([...p1.body.runners, ...p2.body.runners].map((r) => r.id));
    assert.equal(ids.size, 130);

    const id = byName.body.runners[0].id;
    gh.setRunner(id, { status: 'online', busy: true });
    const got = await call('GET', `${REPO}/actions/runners/${id}`);
    assert.equal(got.body.status, 'online');
    assert.equal(got.body.busy, true);
    const busy = await call('DELETE', `${REPO}/actions/runners/${id}`);
    assert.equal(busy.status, 422);
    assert.match(busy.body.message, /still running a job/);
    gh.setRunner(id, { busy: false });
    assert.equal((await call('DELETE', `${REPO}/actions/runners/${id}`)).status, 204);
    assert.equal((await call('DELETE', `${REPO}/actions/runners/${id}`)).status, 404);
    assert.equal((await call('GET', `${REPO}/actions/runners/${id}`)).status, 404);
    assert.equal(gh.requestsTo('DELETE', `/actions/runners/${id}`).length, 3);
  });

  test('org scope, unknown repo and org are 404, runners are per scope', async () => {
    const org = await jit('/orgs/octo-org', 'org-runner');
    assert.equal(org.status, 201);
    assert.equal((await jit('/orgs/octo-org', 'org-runner-2', { runner_group_id: 99 })).status, 404);
    assert.equal((await call('GET', '/orgs/octo-org/actions/runner-groups')).body.runner_groups[0].id, 1);
    assert.equal((await jit('/repos/octo-org/unknown', 'x')).status, 404);
    assert.equal((await jit('/orgs/nobody', 'x')).status, 404);
    assert.equal((await call('GET', `${REPO}/actions/runners?name=org-runner`)).body.total_count, 0);
    assert.equal((await call('GET', `${REPO}/actions/runners/${org.body.runner.id}`)).status, 404);
    assert.equal((await call('GET', '/orgs/octo-org/actions/runners?name=org-runner')).body.total_count, 1);
  });

  test('injected failures, after the header checks', async () => {
    gh.fail({ method: 'POST', path: '/generate-jitconfig', status: 403, body: { message: 'Resource not accessible by personal access token' }, times: 1 });
    const denied = await jit(REPO, 'x');
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /not accessible/);
    assert.equal((await jit(REPO, 'x')).status, 201);
    const unauth = await call('POST', `${REPO}/actions/runners/generate-jitconfig`, { headers: { ...good, authorization: 'Bearer x' }, body: {} });
    assert.equal(unauth.status, 401);
  });

  test('an injected failure can pick one request by its body, and carry response headers', async () => {
    const message = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
    gh.fail({
      method: 'POST',
      path: '/generate-jitconfig',
      match: (r) => r.body?.name?.endsWith('-3'),
      status: 403,
      body: { message },
      headers: { 'retry-after': '1' },
      times: 1,
    });
    const [one, three, two] = await Promise.all([jit(REPO, 'fleet-1'), jit(REPO, 'fleet-3'), jit(REPO, 'fleet-2')]);
    assert.deepEqual([one.status, two.status, three.status], [201, 201, 403]);
    assert.equal(three.body.message, message);
    assert.equal(three.headers.get('retry-after'), '1');
    assert.equal(one.headers.get('retry-after'), null, 'headers only on the injected answer');
    assert.equal(gh.runnerByName('fleet-3'), undefined, 'the refused runner was not registered');
    assert.equal((await jit(REPO, 'fleet-3')).status, 201, 'times: 1 is spent');
    // A predicate sees the parsed body, and one that never matches changes nothing.
    gh.fail({ path: '/generate-jitconfig', match: (r) => r.body?.labels?.includes('never'), status: 422 });
    assert.equal((await jit(REPO, 'fleet-4')).status, 201);
  });

  test('delay holds answers back; maxInFlight counts the requests in flight at once', async () => {
    gh.delay({ method: 'POST', path: '/generate-jitconfig', ms: 300 });
    const t0 = Date.now();
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((n) => jit(REPO, `slow-${n}`)));
    assert.ok(Date.now() - t0 >= 290, 'the answers were not held back');
    assert.ok(Date.now() - t0 < 1_200, 'the delayed requests were answered one after another');
    assert.deepEqual(answers.map((a) => a.status), [201, 201, 201, 201]);
    assert.equal(gh.maxInFlight(), 4);
    for (const r of gh.requests) assert.ok(r.doneAt - r.at >= 290, `${r.path} answered after ${r.doneAt - r.at} ms`);
    // One after another: never more than one in flight; subsets can be measured.
    for (const n of ['e', 'f']) await jit(REPO, `slow-${n}`);
    assert.equal(gh.maxInFlight(gh.requests.slice(4)), 1);
    assert.equal((await call('GET', `${REPO}/actions/runners`)).status, 200, 'other routes are not delayed');
    assert.ok(gh.requests.at(-1).doneAt - gh.requests.at(-1).at < 250);
    gh.clear();
    assert.equal(gh.delays.length, 0, 'clear() forgets delays');
  });

  test('maxInFlight of records with equal end and start times: they did not overlap', () => {
    assert.equal(gh.maxInFlight([{ at: 1, doneAt: 5 }, { at: 5, doneAt: 9 }]), 1);
    assert.equal(gh.maxInFlight([{ at: 1, doneAt: 6 }, { at: 5, doneAt: 9 }, { at: 2, doneAt: undefined }]), 3);
    assert.equal(gh.maxInFlight([]), 0);
  });

  test('workflow runs: GET .../actions/runs/{id} answers the runs a test added, else 404', async () => {
    const started = Date.parse('2026-01-02T03:04:05Z');
    gh.addWorkflowRun('octo-org/hello-world', { id: 30433642, status: 'in_progress', run_started_at: started });
    gh.addWorkflowRun('octo-org/hello-world', { id: 7, status: 'completed', run_started_at: started });
    const r = await call('GET', `${REPO}/actions/runs/30433642`);
    assert.equal(r.status, 200);
    assert.equal(r.body.id, 30433642);
    assert.equal(r.body.status, 'in_progress');
    assert.equal(r.body.conclusion, null);
    assert.equal(r.body.run_started_at, '2026-01-02T03:04:05Z');
    for (const k of ['created_at', 'updated_at', 'html_url', 'run_attempt']) assert.ok(k in r.body, k);
    assert.equal((await call('GET', `${REPO}/actions/runs/7`)).body.conclusion, 'success');
    assert.equal((await call('GET', `${REPO}/actions/runs/8`)).status, 404);
    assert.equal((await call('GET', '/repos/octo-org/unknown/actions/runs/7')).status, 404);
    const noAuth = await call('GET', `${REPO}/actions/runs/7`, { headers: { ...good, authorization: 'Bearer nope' } });
    assert.equal(noAuth.status, 401);
    gh.addRepo('octo-org/other');
    assert.equal((await call('GET', '/repos/octo-org/other/actions/runs/7')).status, 404, 'runs are per repository');
    const added = gh.addRunner({ scope: 'octo-org/other', name: 'x-1-1-0123abcd', labels: ['ephemeral'], status: 'online', busy: true });
    const listed = await call('GET', `/repos/octo-org/other/actions/runners/${added.id}`);
    assert.equal(listed.body.status, 'online');
    assert.equal(listed.body.busy, true);
    gh.clear();
    assert.equal((await call('GET', `${REPO}/actions/runs/30433642`)).status, 404, 'clear() forgets runs');
    assert.equal((await call('GET', '/repos/octo-org/other/actions/runners')).status, 404, 'clear() forgets added repos');
  });

  test('onlineAfterMs brings runners online', async () => {
    const gh2 = await startFakeGitHub({ token, repos: ['o/r'], onlineAfterMs: 200, basePath: '/api/v3' });
    try {
      assert.match(gh2.url, /\/api\/v3$/);
      const res = await fetch(`${gh2.url}/repos/o/r/actions/runners/generate-jitconfig`, {
        method: 'POST',
        headers: good,
        body: JSON.stringify({ name: 'n', runner_group_id: 1, labels: ['a'] }),
      });
      const { runner } = await res.json();
      assert.equal(runner.status, 'offline');
      await sleep(300);
      const again = await (await fetch(`${gh2.url}/repos/o/r/actions/runners/${runner.id}`, { headers: good })).json();
      assert.equal(again.status, 'online');
      assert.equal((await fetch(`${gh2.origin}/repos/o/r/actions/runners`, { headers: good })).status, 404);
    } finally {
      await gh2.close();
    }
  });
});

describe('moto seeding, read-back and the recording proxy', () => {
  let moto;
  let seeds;
  before(async () => {
    moto = await startMoto({ region: 'eu-west-1', credentials: { [FAKE_AWS.accessKeyId]: FAKE_AWS.secretAccessKey } });
  });
  after(() => moto?.stop());
  beforeEach(async () => {
    seeds = await moto.freshWorld();
  });

  test('the network tagged placement=ecs is found by tag, decoys are not', async () => {
    const { network } = seeds;
    assert.deepEqual((await moto.subnetIdsTagged('placement', 'ecs')).sort(), [...network.subnets].sort());
    assert.deepEqual(await moto.securityGroupIdsTagged('placement', 'ecs'), network.securityGroups);
    assert.ok(!network.securityGroups.includes(network.decoySecurityGroup));
    assert.ok(network.securityGroups.every((id) => id.startsWith('sg-')));
    assert.deepEqual(await moto.subnetIdsTagged('placement', 'nowhere'), []);
  });

  test('task definitions: gh-runner has one container, the sidecar one two', async () => {
    const one = (await moto.ecs('DescribeTaskDefinition', { taskDefinition: 'gh-runner' })).taskDefinition;
    assert.deepEqual(one.containerDefinitions.map((c) => c.name), ['runner']);
    const two = (await moto.ecs('DescribeTaskDefinition', { taskDefinition: 'gh-runner-sidecar' })).taskDefinition;
    assert.deepEqual(two.containerDefinitions.map((c) => c.name), ['sidecar', 'runner']);
  });

  test('a task started through the proxy by a real SDK is recorded, signature verified, and read back', async (t) => {
    const python = await sdkAvailable();
    if (!python) return t.skip('python3 with boto3 not available');
    const { network } = seeds;
    const script = `
import boto3, json, sys
a = json.loads(sys.argv[1])
kw = dict(endpoint_url=a['endpoint'], region_name=a['region'], aws_access_key_id=a['akid'],
          aws_secret_access_key=a['secret'], aws_session_token=a['session'])
ec2 = boto3.client('ec2', **kw)
subnets = [s['SubnetId'] for s in ec2.describe_subnets(Filters=[{'Name': 'tag:placement', 'Values': ['ecs']}])['Subnets']]
ecs = boto3.client('ecs', **kw)
r = ecs.run_task(cluster='runners', taskDefinition='gh-runner', launchType='FARGATE', clientToken='ecs-runner-1-1-job-0',
    startedBy='ecs-runner/1', tags=[{'key': 'ecs-runner:runner-id', 'value': 'gh-runner-1-1-00000000'}],
    networkConfiguration={'awsvpcConfiguration': {'subnets': subnets, 'securityGroups': a['sgs'], 'assignPublicIp': 'DISABLED'}},
    overrides={'containerOverrides': [{'name': 'runner', 'environment': [{'name': 'ACTIONS_RUNNER_INPUT_JITCONFIG', 'value': 'JIT'}]}]})
print(json.dumps({'arn': r['tasks'][0]['taskArn'], 'subnets': subnets}))
`;
    const out = JSON.parse(
      await exec('python3', ['-c', script, JSON.stringify({
        endpoint: moto.endpoint,
        region: 'eu-west-1',
        akid: FAKE_AWS.accessKeyId,
        secret: FAKE_AWS.secretAccessKey,
        session: FAKE_AWS.sessionToken,
        sgs: network.securityGroups,
      })]),
    );
    assert.deepEqual(out.subnets.sort(), [...network.subnets].sort());

    const calls = moto.proxy.requests;
    assert.deepEqual(calls.map((c) => `${c.service}:${c.operation}`), ['ec2:DescribeSubnets', 'ecs:RunTask']);
    for (const c of calls) {
      assert.equal(c.signature, 'valid', c.signature);
      assert.equal(c.auth.region, 'eu-west-1');
      assert.equal(c.auth.service, c.service);
      assert.equal(c.sessionToken, FAKE_AWS.sessionToken);
    }
    const [run] = moto.proxy.calls('RunTask');
    assert.equal(run.body.clientToken, 'ecs-runner-1-1-job-0');
    assert.deepEqual(run.body.networkConfiguration.awsvpcConfiguration.subnets.sort(), [...network.subnets].sort());
    assert.equal(run.status, 200);

    const [task] = await moto.tasks('runners', { startedBy: 'ecs-runner/1' });
    assert.equal(task.arn, out.arn);
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, 'JIT');
    assert.equal(task.tags['ecs-runner:runner-id'], 'gh-runner-1-1-00000000');
    assert.equal(task.lastStatus, 'RUNNING');
    assert.match(task.ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(network.subnets.includes(task.subnetId));
    assert.deepEqual(await moto.listTaskArns('runners', { startedBy: 'ecs-runner/2' }), []);
  });

  test('the proxy flags a bad signature, an unknown key and an unsigned request', async () => {
    const send = (authorization) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters',
          'x-amz-date': '20260101T000000Z',
          ...(authorization ? { authorization } : {}),
        },
        body: '{}',
      }).then((r) => r.text());
    await send(`AWS4-HMAC-SHA256 Credential=${FAKE_AWS.accessKeyId}/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`);
    await send('AWS4-HMAC-SHA256 Credential=AKIDOTHER/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00');
    await send(undefined);
    const [bad, unknown, unsigned] = moto.proxy.requests.map((r) => r.signature);
    assert.match(bad, /^invalid: signature mismatch/);
    assert.match(unknown, /unknown access key id/);
    assert.equal(unsigned, 'unsigned');
  });

  test('state manager: immediate shows STOPPED from RunTask on; manual 1e6 stays RUNNING', async () => {
    const run = () =>
      moto.ecs('RunTask', {
        cluster: 'runners',
        taskDefinition: 'gh-runner',
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: seeds.network.subnets, securityGroups: seeds.network.securityGroups } },
      });
    const describe = async (arn) =>
      (await moto.ecs('DescribeTasks', { cluster: 'runners', tasks: [arn] })).tasks[0];
    const running = (await run()).tasks[0];
    assert.equal(running.lastStatus, 'RUNNING');
    for (let i = 0; i < 3; i++) assert.equal((await describe(running.taskArn)).lastStatus, 'RUNNING');

    await moto.setTaskTransition({ progression: 'immediate' });
    const stopped = (await run()).tasks[0];
    assert.equal(stopped.lastStatus, 'STOPPED');
    const again = await describe(stopped.taskArn);
    assert.equal(again.lastStatus, 'STOPPED');
    assert.equal(again.stopCode, undefined);
    assert.equal(again.stoppedReason, '');
  });

  test('reset forgets tasks and clusters; the transition must be set again', async () => {
    await moto.setTaskTransition({ progression: 'immediate' });
    await moto.reset();
    assert.deepEqual((await moto.ecs('ListClusters')).clusterArns, []);
    const res = await fetch(`${moto.url}/moto-api/state-manager/get-transition?model_name=ecs::task`);
    assert.deepEqual(await res.json(), { progression: 'immediate' });
    await assert.rejects(moto.ecs('RunTask', { cluster: 'runners', taskDefinition: 'gh-runner' }), (e) => e.type === 'ClusterNotFoundException');
  });

  test('proxy rewrite and intercept', async () => {
    moto.proxy.rewrite(
      (c) => c.operation === 'ListClusters',
      (body) => ({ ...body, clusterArns: [...body.clusterArns, 'arn:added'] }),
    );
    moto.proxy.intercept((c) => c.operation === 'ListTasks', { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
    const post = (op) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `AmazonEC2ContainerServiceV20141113.${op}`,
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: JSON.stringify({ cluster: 'runners' }),
      });
    const clusters = await (await post('ListClusters')).json();
    assert.ok(clusters.clusterArns.includes('arn:added'));
    assert.ok(clusters.clusterArns.some((a) => a.endsWith('/runners')));
    const throttled = await post('ListTasks');
    assert.equal(throttled.status, 400);
    assert.equal((await throttled.json()).__type, 'ThrottlingException');
  });

  /** A JSON 1.1 call through the proxy with moto's fake (unverifiable) signature. */
  const viaProxy = (service, target, body) =>
    fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': target,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/eu-west-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));

  test('proxy: an async rewrite holds the answer until it resolves; CloudWatch Logs calls are recorded and rewritable', async () => {
    let wrote = false;
    moto.proxy.rewrite(
      (c) => c.operation === 'ListClusters',
      async (body) => {
        await sleep(200);
        wrote = true;
        body.clusterArns.push('arn:late');
      },
    );
    moto.proxy.rewrite(
      (c) => c.service === 'logs' && c.operation === 'DescribeLogGroups',
      (body) => ({ ...body, logGroups: [...body.logGroups, { logGroupName: '/added' }] }),
    );
    const t0 = Date.now();
    const clusters = await viaProxy('ecs', 'AmazonEC2ContainerServiceV20141113.ListClusters', {});
    assert.ok(wrote && Date.now() - t0 >= 190, 'the answer did not wait for the rewrite');
    assert.ok(clusters.body.clusterArns.includes('arn:late'), 'an edit in place (undefined returned) is kept');
    const groups = await viaProxy('logs', 'Logs_20140328.DescribeLogGroups', {});
    assert.equal(groups.status, 200);
    assert.ok(groups.body.logGroups.some((g) => g.logGroupName === '/added'));
    const [call] = moto.proxy.calls('DescribeLogGroups');
    assert.equal(call.service, 'logs');
    assert.deepEqual(call.body, {});
  });

  test('CloudWatch Logs: writeLog, then GetLogEvents startFromHead false gives the last `limit` events; no stream is ResourceNotFoundException', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`);
    await moto.writeLog('/e2e/logs', 'ecs-runner/runner/abc', lines);
    await moto.writeLog('/e2e/logs', 'ecs-runner/runner/other', ['other']); // the group exists already: fine
    const last = await viaProxy('logs', 'Logs_20140328.GetLogEvents', {
      logGroupName: '/e2e/logs',
      logStreamName: 'ecs-runner/runner/abc',
      limit: 50,
      startFromHead: false,
    });
    assert.equal(last.status, 200);
    assert.deepEqual(last.body.events.map((e) => e.message), lines.slice(10));
    const none = await viaProxy('logs', 'Logs_20140328.GetLogEvents', {
      logGroupName: '/e2e/logs',
      logStreamName: 'ecs-runner/runner/none',
      startFromHead: false,
    });
    assert.equal(none.status, 400);
    assert.equal(none.body.__type, 'ResourceNotFoundException');
    assert.deepEqual(moto.proxy.requests.map((c) => `${c.service}:${c.operation}:${c.status}`), [
      'logs:GetLogEvents:200',
      'logs:GetLogEvents:400',
    ]);
    await moto.reset();
    await assert.rejects(
      moto.logs('GetLogEvents', { logGroupName: '/e2e/logs', logStreamName: 'ecs-runner/runner/abc' }),
      (e) => e.type === 'ResourceNotFoundException',
      'reset forgets log groups',
    );
  });

  test('task definitions: tags read back, no registeredAt, deregister and delete as moto does them', async () => {
    const register = (memory, tags) =>
      moto.ecs('RegisterTaskDefinition', {
        family: 'img',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '1024',
        memory: String(memory),
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
        containerDefinitions: [{ name: 'runner', image: 'x', essential: true, memoryReservation: memory }],
        ...(tags ? { tags } : {}),
      });
    const first = (await register(2048, [{ key: 'ecs-runner:spec', value: 'one' }])).taskDefinition;
    assert.equal(first.revision, 1);
    assert.equal(first.registeredAt, undefined, 'moto gained registeredAt: the proxy rewrite in image.test.mjs may go');
    assert.deepEqual(first.runtimePlatform, { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' });
    await register(4096, [{ key: 'ecs-runner:spec', value: 'two' }]);
    await register(4096);
    let revs = await moto.taskDefinitionRevisions('img');
    assert.deepEqual(revs.map((r) => [r.revision, r.status, r.spec]), [[1, 'ACTIVE', 'one'], [2, 'ACTIVE', 'two'], [3, 'ACTIVE', undefined]]);
    assert.deepEqual(await moto.taskDefinitionRevisions('im'), [], 'familyPrefix matches the family exactly');

    await moto.ecs('DeregisterTaskDefinition', { taskDefinition: 'img:1' });
    const del = await moto.ecs('DeleteTaskDefinitions', { taskDefinitions: ['img:1', 'img:2'] });
    assert.deepEqual(del.taskDefinitions.map((t) => t.revision), [1]);
    assert.equal(del.failures.length, 1, 'an ACTIVE revision cannot be deleted');
    revs = await moto.taskDefinitionRevisions('img');
    assert.deepEqual(revs.map((r) => [r.revision, r.status]), [[2, 'ACTIVE'], [3, 'ACTIVE']]);
    await assert.rejects(moto.ecs('DescribeTaskDefinition', { taskDefinition: 'img:1' }), (e) => e.type === 'ClientException');

    // moto's quirk: the family names its highest revision, even INACTIVE.
    await moto.ecs('DeregisterTaskDefinition', { taskDefinition: 'img:3' });
    const latest = (await moto.ecs('DescribeTaskDefinition', { taskDefinition: 'img' })).taskDefinition;
    assert.deepEqual([latest.revision, latest.status], [3, 'INACTIVE']);
  });

  test('proxy delay holds calls back; maxInFlight counts the calls in flight at once', async () => {
    moto.proxy.delay((c) => c.operation === 'ListClusters', 300);
    const post = (op) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `AmazonEC2ContainerServiceV20141113.${op}`,
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: JSON.stringify({ cluster: 'runners' }),
      }).then((r) => r.json());
    const t0 = Date.now();
    const answers = await Promise.all([post('ListClusters'), post('ListClusters'), post('ListClusters')]);
    assert.ok(Date.now() - t0 >= 290, 'the calls were not held back');
    assert.ok(answers.every((a) => a.clusterArns.some((arn) => arn.endsWith('/runners'))), 'held back, then answered by moto');
    const calls = moto.proxy.calls('ListClusters');
    assert.equal(calls.length, 3);
    assert.ok(calls.every((c) => c.doneAt - c.at >= 290));
    assert.equal(moto.proxy.maxInFlight(), 3);
    await post('ListTasks');
    await post('ListTasks');
    assert.equal(moto.proxy.maxInFlight(moto.proxy.calls('ListTasks')), 1, 'one after another');
    assert.ok(moto.proxy.calls('ListTasks').every((c) => c.doneAt - c.at < 250), 'other calls are not delayed');
  });

  describe('the AWS request contract (botocore service models)', () => {
    beforeEach(() => moto.proxy.clearViolations());

    /** Signed (unverifiably) with the action's key id: checked like the action's requests. */
    const scope = (service, key = FAKE_AWS.accessKeyId) =>
      `AWS4-HMAC-SHA256 Credential=${key}/20260101/eu-west-1/${service}/aws4_request, SignedHeaders=host, Signature=0`;
    const json = (service, target, body, key) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, authorization: scope(service, key) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }).then((r) => r.text());
    const ecs = (operation, body, key) => json('ecs', `AmazonEC2ContainerServiceV20141113.${operation}`, body, key);
    const logs = (operation, body) => json('logs', `Logs_20140328.${operation}`, body);
    const ec2 = (form) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', authorization: scope('ec2') },
        body: form,
      }).then((r) => r.text());
    /** STS AssumeRoleWithWebIdentity is sent unsigned, as the action sends it. */
    const assumeRole = ({ duration = '1800', extra = '' } = {}) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body:
          'Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Flauncher' +
          `&RoleSessionName=e2e-launch&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.e30.c2ln&DurationSeconds=${duration}${extra}`,
      }).then((r) => r.text());
    /** A RunTask as the action sends it (what botocore's RunTask accepts). */
    const runTask = () => ({
      cluster: 'runners',
      taskDefinition: 'gh-runner',
      count: 1,
      launchType: 'FARGATE',
      clientToken: 'ecs-runner-1-1-job-0',
      startedBy: 'ecs-runner/1',
      propagateTags: 'TASK_DEFINITION',
      enableExecuteCommand: false,
      tags: [{ key: 'ecs-runner:runner-id', value: 'gh-runner-1-1-00000000' }],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: seeds.network.subnets, securityGroups: seeds.network.securityGroups, assignPublicIp: 'DISABLED' },
      },
      overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'ACTIONS_RUNNER_INPUT_JITCONFIG', value: 'JIT' }] }] },
    });
    /** The one violation of the last request; fails unless there is exactly one. */
    const onlyViolation = () => {
      const found = moto.proxy.violations();
      assert.equal(found.length, 1, `expected one violation, got:\n${found.join('\n')}`);
      moto.proxy.clearViolations();
      return found[0];
    };

    test('accepts correct requests of ECS, CloudWatch Logs and EC2, and passes them on to moto', async () => {
      const run = JSON.parse(await ecs('RunTask', runTask()));
      assert.equal(run.tasks.length, 1, 'moto started the task');
      await ecs('DescribeTasks', { cluster: 'runners', tasks: [run.tasks[0].taskArn], include: ['TAGS'] });
      await ecs('ListTasks', { cluster: 'runners', startedBy: 'ecs-runner/1', desiredStatus: 'RUNNING' });
      await ecs('StopTask', { cluster: 'runners', task: run.tasks[0].taskArn, reason: 'ecs-runner: job done' });
      await ecs('ListClusters', '');
      await logs('GetLogEvents', { logGroupName: '/ecs/gh-runner', logStreamName: 'ecs/runner/abc', limit: 50, startFromHead: false });
      await ec2('Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag%3Aplacement&Filter.1.Value.1=ecs&NextToken=abc');
      await ec2('Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=tag%3Aplacement&Filter.1.Value.1=ecs&MaxResults=5');
      await ec2('Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123&InstanceId.2=i-4567');
      assert.match(await assumeRole(), /<AssumeRoleWithWebIdentityResponse/);
      assert.deepEqual(moto.proxy.violations(), []);
      assert.ok(moto.proxy.requests.every((c) => Array.isArray(c.contract) && c.contract.length === 0), 'each request was checked');
      assert.ok(moto.proxy.checker.info.botocore, 'the checker names its botocore');
    });

    test('ECS: an unknown operation', async () => {
      await ecs('RunTasks', runTask());
      assert.match(onlyViolation(), /^ECS RunTasks: \(operation\): operation: ECS 2014-11-13 has no operation 'RunTasks' \(did you mean RunTask\?\)$/);
    });

    test('ECS: an unknown parameter, a missing required one, a wrong type, a bad enum value', async () => {
      await ecs('RunTask', { ...runTask(), launchTyp: 'FARGATE' });
      assert.match(onlyViolation(), /^ECS RunTask: launchTyp: unknown parameter: botocore ParamValidator: Unknown parameter in input: "launchTyp", must be one of: /);
      const { taskDefinition, ...noTaskDefinition } = runTask();
      await ecs('RunTask', noTaskDefinition);
      assert.match(onlyViolation(), /^ECS RunTask: taskDefinition: required: botocore ParamValidator: Missing required parameter in input: "taskDefinition"$/);
      await ecs('RunTask', { ...runTask(), count: '1' });
      assert.match(onlyViolation(), /^ECS RunTask: count: type: botocore ParamValidator: Invalid type for parameter count, value: 1, type: <class 'str'>, valid types: <class 'int'>$/);
      await ecs('RunTask', { ...runTask(), enableExecuteCommand: 1 });
      assert.match(onlyViolation(), /^ECS RunTask: enableExecuteCommand: type: /);
      await ecs('RunTask', { ...runTask(), count: true });
      assert.match(onlyViolation(), /^ECS RunTask: count: type: JSON true given for BoxedInteger \(integer\)/, 'a bool is not a number (botocore lets it pass)');
      await ecs('RunTask', { ...runTask(), launchType: 'FARGATTE' });
      assert.match(onlyViolation(), /^ECS RunTask: launchType: enum: 'FARGATTE' is not one of LaunchType: EC2, FARGATE, EXTERNAL/);
      await ecs('DescribeTasks', { cluster: 'runners', tasks: ['x'], include: ['TAG'] });
      assert.match(onlyViolation(), /^ECS DescribeTasks: include\[0\]: enum: 'TAG' is not one of TaskField: TAGS$/);
      const nested = runTask();
      nested.networkConfiguration.awsvpcConfiguration.subnets = seeds.network.subnets.join(',');
      await ecs('RunTask', nested);
      assert.match(onlyViolation(), /^ECS RunTask: networkConfiguration\.awsvpcConfiguration\.subnets: type: /);
      await ecs('ListTasks', '{"cluster":"a","cluster":"b"}');
      assert.match(onlyViolation(), /^ECS ListTasks: cluster: duplicate key: /);
    });

    test('JSON 1.1: the X-Amz-Target prefix, the Content-Type and the SigV4 service name', async () => {
      await json('ecs', 'AmazonEC2ContainerServiceV20141112.ListClusters', {});
      assert.match(onlyViolation(), /^ECS ListClusters: X-Amz-Target: target prefix: 'AmazonEC2ContainerServiceV20141112' is not the model's targetPrefix 'AmazonEC2ContainerServiceV20141113'$/);
      await fetch(moto.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters', authorization: scope('ecs') },
        body: '{}',
      }).then((r) => r.text());
      assert.match(onlyViolation(), /^ECS ListClusters: Content-Type: content type: 'application\/json'; the model's protocol wants 'application\/x-amz-json-1\.1'$/);
      await json('ecs', 'Logs_20140328.DescribeLogGroups', {});
      assert.match(onlyViolation(), /^CloudWatch Logs DescribeLogGroups: Authorization: signing name: signed for service 'ecs'; CloudWatch Logs signs as 'logs'$/);
    });

    test('CloudWatch Logs: a wrong type, a bad pattern, a value over the maximum', async () => {
      const good = { logGroupName: '/ecs/gh-runner', logStreamName: 'ecs/runner/abc', startFromHead: false };
      await logs('GetLogEvents', { ...good, limit: '50' });
      assert.match(onlyViolation(), /^CloudWatch Logs GetLogEvents: limit: type: /);
      await logs('GetLogEvents', { ...good, logGroupName: 'ecs runners' });
      assert.match(onlyViolation(), /^CloudWatch Logs GetLogEvents: logGroupName: pattern: 'ecs runners' does not match LogGroupName's pattern /);
      await logs('GetLogEvents', { ...good, limit: 10_001 });
      assert.match(onlyViolation(), /^CloudWatch Logs GetLogEvents: limit: max: 10001; the model allows at most 10000$/);
    });

    test('EC2: a parameter name the model does not serialize, and a wrong Version', async () => {
      await ec2('Action=DescribeSubnets&Version=2016-11-15&Filters.1.Name=tag%3Aplacement&Filter.1.Value.1=ecs');
      assert.match(onlyViolation(), /^EC2 DescribeSubnets: Filters\.1\.Name: query name: DescribeSubnets does not serialize 'Filters\.1\.Name': 'Filters' is not a member of DescribeSubnetsRequest \(did you mean 'Filter'\?\); it serializes Filter\.N, SubnetId\.N, NextToken, MaxResults, DryRun$/);
      await ec2('Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag%3Aplacement&Filter.1.Values.1=ecs');
      assert.match(onlyViolation(), /^EC2 DescribeSubnets: Filter\.1\.Values\.1: query name: .*'Values' is not a member of Filter \(did you mean 'Value'\?\); it serializes Name, Value\.N$/);
      await ec2('Action=DescribeInstances&Version=2016-11-15&InstanceId=i-0123');
      assert.match(onlyViolation(), /^EC2 DescribeInstances: InstanceId: query name: .*a list \(InstanceIdStringList\) serializes as \.1, \.2, \.\.\. \.N, never bare$/);
      await ec2('Action=DescribeSubnets&Version=2014-10-01&Filter.1.Name=tag%3Aplacement&Filter.1.Value.1=ecs');
      assert.match(onlyViolation(), /^EC2 DescribeSubnets: Version: api version: Version is '2014-10-01'; the model's apiVersion is '2016-11-15'$/);
      await ec2('Action=DescribeSubnetz&Version=2016-11-15');
      assert.match(onlyViolation(), /^EC2 DescribeSubnetz: \(operation\): operation: EC2 2016-11-15 has no operation 'DescribeSubnetz' \(did you mean DescribeSubnets\?\)$/);
    });

    test('STS, unsigned (query protocol): a list named as EC2 would name it, a value under the minimum', async () => {
      await assumeRole({ extra: '&PolicyArns.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess' });
      assert.match(onlyViolation(), /^STS AssumeRoleWithWebIdentity: PolicyArns\.1\.arn: query name: .*a list \(policyDescriptorListType\) serializes as \.member\.N$/);
      await assumeRole({ extra: '&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess' });
      assert.deepEqual(moto.proxy.violations(), [], 'Name.member.N is right for the query protocol');
      await assumeRole({ duration: '60' });
      assert.match(onlyViolation(), /^STS AssumeRoleWithWebIdentity: DurationSeconds: min: botocore ParamValidator: Invalid value for parameter DurationSeconds, value: 60, valid min value: 900$/);
    });

    test('EC2: values read back by type, list indexes 1..N, each name once', async () => {
      await ec2('Action=DescribeSubnets&Version=2016-11-15&MaxResults=ten');
      assert.match(onlyViolation(), /^EC2 DescribeSubnets: MaxResults: type: MaxResults='ten' does not read as a decimal integer/);
      await ec2('Action=DescribeSubnets&Version=2016-11-15&DryRun=True');
      assert.match(onlyViolation(), /^EC2 DescribeSubnets: DryRun: type: DryRun='True' does not read as a boolean \(true or false\)/);
      await ec2('Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.3=i-3');
      assert.match(onlyViolation(), /^EC2 DescribeInstances: InstanceIds: list index: list items are numbered \[1, 3\]; SDKs send 1\.\.N$/);
      await ec2('Action=DescribeInstances&Version=2016-11-15&InstanceId.0=i-1');
      assert.match(onlyViolation(), /^EC2 DescribeInstances: InstanceId\.0: query name: .*'0' is not a list index/);
      await ec2('Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.1=i-2');
      assert.match(onlyViolation(), /^EC2 DescribeInstances: InstanceId\.1: duplicate parameter: InstanceId\.1 is given 2 times$/);
    });

    test("only the code under test is held to it: the harness's own requests (HARNESS_ACCESS_KEY_ID) are not checked", async () => {
      await ecs('RunTasks', { bogus: true }, HARNESS_ACCESS_KEY_ID);
      assert.deepEqual(moto.proxy.violations(), []);
      assert.equal(moto.proxy.requests.at(-1).contract, undefined);
      assert.equal(moto.proxy.requests.at(-1).operation, 'RunTasks', 'still recorded and passed on');
    });

    test("the checker's python is moto_server's, read from its shebang", async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-shebang-'));
      try {
        const cases = [
          ['#!/work/.tools/moto/bin/python3\nimport sys\n', '/work/.tools/moto/bin/python3'],
          ['#!/usr/bin/env python3\n', 'python3'],
          ['#!/bin/sh\n\'\'\'exec\' "/a/very/long/venv/bin/python3.12" "$0" "$@"\n\' \'\'\'\n', '/a/very/long/venv/bin/python3.12'],
          ["#!/bin/sh\nexec '/opt/py/bin/python3' '/x/moto_server_cfn.py' \"$@\"\n", '/opt/py/bin/python3'],
          ['#!/bin/sh\nexec /usr/bin/node x.js\n', null],
          ['#!/usr/bin/env bash\nexec pyenv exec "$@"\n', null],
        ];
        for (const [i, [text, expected]] of cases.entries()) {
          const file = path.join(dir, `moto_server_${i}`);
          await writeFile(file, text);
          assert.equal(shebangPython(file), expected, text);
        }
        assert.equal(shebangPython(path.join(dir, 'missing')), null);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('a world fails the test with every violation of the AWS and GitHub contracts', () => {
      const world = new World({ proxy: { violations: () => ['ECS RunTask: count: type: bad'] } }, { violations: () => ['GET /x: not documented'] }, 'pat');
      assert.throws(() => world.assertContracts(), (e) => {
        assert.equal(e.message, 'the requests of this test broke the API contract (2):\n  - AWS ECS RunTask: count: type: bad\n  - GitHub GET /x: not documented');
        return true;
      });
      const clean = new World({ proxy: { violations: () => [] } }, { violations: [] }, 'pat');
      assert.doesNotThrow(() => clean.assertContracts(), 'an older fake GitHub (violations an array) adds none');
    });
  });
});

describe('runAction', () => {
  let dir;
  const actionYaml = {
    inputs: {
      'task-definition': { default: 'gh-runner' },
      token: { required: true },
      'my input': { default: 7 },
      debug: { default: false },
    },
  };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-stub-'));
    // A stand-in for dist/index.js: reports its environment, writes outputs
    // the way @actions/core 3 does, and masks a secret.
    await writeFile(
      path.join(dir, 'stub.mjs'),
      `import { appendFileSync } from 'node:fs';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(INPUT_|AWS_|GITHUB_|RUNNER_|HOME$|LEAK)/.test(k)));
console.log('::add-mask::' + process.env.INPUT_TOKEN);
env.INPUT_TOKEN = env.INPUT_TOKEN === 's3cret' ? 'matches' : 'differs'; // never print the value
console.log('ENV ' + JSON.stringify(env));
appendFileSync(process.env.GITHUB_OUTPUT, 'runner_id<<ghadelimiter_1\\nr-1\\nghadelimiter_1\\nmulti<<ghadelimiter_2\\na\\nb\\nghadelimiter_2\\n');
appendFileSync(process.env.GITHUB_STEP_SUMMARY, '| a | b |\\n');
console.log('::error::bad %0Atwo lines');
if (process.env.INPUT_TOKEN === 'leak') console.error('token is ' + process.env.INPUT_TOKEN);
if (process.env.INPUT_DEBUG === 'wait') { process.on('SIGINT', () => { console.log('GOT SIGINT'); process.exit(3); }); console.log('READY'); setInterval(() => {}, 1000); }
if (process.env.INPUT_DEBUG === 'hang') setInterval(() => {}, 1000);
`,
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const run = (opts) => runAction({ entry: path.join(dir, 'stub.mjs'), actionYaml, ...opts });
  const envOf = (result) => JSON.parse(result.stdout.split('\n').find((l) => l.startsWith('ENV ')).slice(4));

  test('every input as INPUT_<NAME> with defaults, overrides, job env; nothing of the host', async () => {
    process.env.INPUT_LEAKED = 'host';
    process.env.AWS_PROFILE = 'host-profile';
    process.env.LEAKY_HOST_VAR = 'x';
    try {
      const result = await run({ inputs: { token: 's3cret' }, aws: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' }, github: { url: 'http://127.0.0.1:8' } });
      assert.equal(result.code, 0);
      const env = envOf(result);
      assert.equal(env['INPUT_TASK-DEFINITION'], 'gh-runner');
      assert.equal(env.INPUT_TOKEN, 'matches');
      assert.equal(env.INPUT_MY_INPUT, '7');
      assert.equal(env.INPUT_DEBUG, 'false');
      assert.equal(inputVariable('task-definition'), 'INPUT_TASK-DEFINITION');
      assert.equal(env.INPUT_LEAKED, undefined);
      assert.equal(env.AWS_PROFILE, undefined);
      assert.equal(env.LEAKY_HOST_VAR, undefined);
      assert.equal(env.AWS_REGION, 'eu-west-1');
      assert.equal(env.AWS_ENDPOINT_URL, 'http://127.0.0.1:9');
      assert.equal(env.AWS_EC2_METADATA_DISABLED, 'true');
      assert.equal(env.AWS_SECRET_ACCESS_KEY, FAKE_AWS.secretAccessKey);
      assert.equal(env.GITHUB_API_URL, 'http://127.0.0.1:8');
      assert.match(env.GITHUB_RUN_ID, /^\d+$/);
      assert.equal(env.RUNNER_ARCH, 'X64');
      assert.notEqual(env.HOME, process.env.HOME);
      assert.deepEqual(result.outputs, { runner_id: 'r-1', multi: 'a\nb' });
      assert.equal(result.summary, '| a | b |\n');
      assert.deepEqual(annotations(result), ['bad \ntwo lines']);
      assertNoSecrets(result, ['s3cret']);
    } finally {
      delete process.env.INPUT_LEAKED;
      delete process.env.AWS_PROFILE;
      delete process.env.LEAKY_HOST_VAR;
    }
  });

  test('rejects inputs action.yaml does not declare', async () => {
    await assert.rejects(run({ inputs: { nope: 'x' } }), /does not declare/);
  });

  test('assertNoSecrets finds a secret outside ::add-mask::', async () => {
    const result = await run({ inputs: { token: 'leak' } });
    assert.throws(() => assertNoSecrets(result, ['leak']), /leaked in log line/);
  });

  test('signalAfter sends the signal once a line matches; the time limit kills', async () => {
    const waited = await run({ inputs: { token: 't', debug: 'wait' }, signalAfter: { pattern: /^READY$/, signal: 'SIGINT' }, timeoutMs: 20_000 });
    assert.equal(waited.signalSent, true);
    assert.equal(waited.code, 3);
    assert.match(waited.stdout, /GOT SIGINT/);
    const hung = await run({ inputs: { token: 't', debug: 'hang' }, timeoutMs: 1_500 });
    assert.equal(hung.timedOut, true);
    assert.equal(hung.signal, 'SIGKILL');
  });

  test('parseOutputFile reads both formats and rejects a broken block', () => {
    assert.deepEqual(parseOutputFile('a=1\nb<<EOF\nx\ny\nEOF\n'), { a: '1', b: 'x\ny' });
    assert.throws(() => parseOutputFile('b<<EOF\nx\n'), /closing delimiter/);
  });
});

let sdkCheck;
function sdkAvailable() {
  sdkCheck ??= exec('python3', ['-c', 'import boto3']).then(
    () => true,
    () => false,
  );
  return sdkCheck;
}

function exec(file, args) {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: 'true' }, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${file}: ${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

// The contract checks of the fake GitHub: requests and answers against
// GitHub's OpenAPI description (lib/github-contract.mjs).

describe('fake GitHub: the OpenAPI contract of requests and answers', () => {
  const token = fakePat();
  let gh;
  before(async () => {
    gh = await startFakeGitHub({ token, repos: ['octo-org/hello-world'], orgs: ['octo-org'] });
  });
  after(() => gh.close());
  beforeEach(() => gh.clear());

  const headers = {
    authorization: `Bearer ${token}`,
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'ecs-runner/0.0.0-test',
  };
  async function call(method, p, { body, version, base = gh.url } = {}) {
    const h = { ...headers, ...(version ? { 'x-github-api-version': version } : {}) };
    const res = await fetch(base + p, {
      method,
      headers: body === undefined ? h : { ...h, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const REPO = '/repos/octo-org/hello-world';
  const ORG = '/orgs/octo-org';
  const jitBody = (name, extra = {}) => ({ name, runner_group_id: 1, labels: ['self-hosted', 'Linux', 'X64', name], work_folder: '_work', ...extra });
  /** The violations, each expected to match one pattern, in order. */
  const assertViolations = (...patterns) => {
    const got = gh.violations();
    assert.equal(got.length, patterns.length, `violations:\n${got.join('\n')}`);
    patterns.forEach((p, i) => assert.match(got[i], p));
  };

  test('the description is loaded once per process and names its API versions', (t) => {
    const contract = githubContract();
    assert.equal(gh.contract, contract, 'every fake shares one parsed description');
    assert.deepEqual(contract.apiVersions, ['2022-11-28', '2026-03-10']);
    assert.deepEqual(githubContract(newestGhes()).apiVersions, ['2022-11-28'], 'GHES knows only the base version');
    t.diagnostic(`api.github.com loaded in ${contract.loadMs.toFixed(0)} ms; validators compiled so far in ${contract.compileMs.toFixed(0)} ms`);
  });

  test('a path or method no operation documents is flagged', async () => {
    assert.equal((await call('GET', `${REPO}/actions/runnerz`)).status, 404);
    assert.equal((await call('PUT', `${REPO}/actions/runners`)).status, 404);
    assert.equal((await call('GET', `${REPO}/actions/runners/`)).status, 404);
    assertViolations(
      /^GET \/repos\/octo-org\/hello-world\/actions\/runnerz: no operation of api\.github\.com matches this path$/,
      /^PUT \/repos\/octo-org\/hello-world\/actions\/runners: \/repos\/\{owner\}\/\{repo\}\/actions\/runners documents no PUT \(only GET\)/,
      /^GET \/repos\/octo-org\/hello-world\/actions\/runners\/: no operation of api\.github\.com matches this path$/,
    );
  });

  test('generate-jitconfig without runner_group_id, or with a field of the wrong type, is flagged', async () => {
    const { runner_group_id: _, ...noGroup } = jitBody('a');
    await call('POST', `${REPO}/actions/runners/generate-jitconfig`, { body: noGroup });
    await call('POST', `${ORG}/actions/runners/generate-jitconfig`, { body: jitBody('b', { runner_group_id: '1' }) });
    await call('POST', `${REPO}/actions/runners/generate-jitconfig`, { body: jitBody('c', { labels: 'self-hosted', work_folder: 3 }) });
    assertViolations(
      /^POST \S+generate-jitconfig \[actions\/generate-runner-jitconfig-for-repo\]: request body: must have required property 'runner_group_id'$/,
      /^POST \S+generate-jitconfig \[actions\/generate-runner-jitconfig-for-org\]: request body \/runner_group_id: must be integer$/,
      /\[actions\/generate-runner-jitconfig-for-repo\]: request body \/labels: must be array$/,
      /\[actions\/generate-runner-jitconfig-for-repo\]: request body \/work_folder: must be string$/,
    );
  });

  test('a body where none is documented, a missing body and a wrong Content-Type are flagged', async () => {
    await call('POST', `${REPO}/actions/runners/registration-token`, { body: {} });
    await call('POST', `${REPO}/actions/runners/generate-jitconfig`);
    await fetch(`${gh.url}${REPO}/actions/runners/generate-jitconfig`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: JSON.stringify(jitBody('d')),
    }).then((r) => r.text());
    assertViolations(
      /\[actions\/create-registration-token-for-repo\]: a request body was sent \(2 bytes\) but the operation takes none$/,
      /\[actions\/generate-runner-jitconfig-for-repo\]: the request body is required and none was sent$/,
      /\[actions\/generate-runner-jitconfig-for-repo\]: Content-Type "text\/plain", the operation takes application\/json$/,
    );
  });

  test('a query or path parameter of the wrong type, or an undocumented one, is flagged', async () => {
    await call('GET', `${REPO}/actions/runners?per_page=abc`);
    await call('GET', `${ORG}/actions/runners?name=x&page=1.5`);
    await call('GET', `${REPO}/actions/runners?perpage=100`);
    await call('GET', `${REPO}/actions/runs/7?exclude_pull_requests=yes`);
    await call('DELETE', `${REPO}/actions/runners/abc`);
    assertViolations(
      /^GET \/repos\/octo-org\/hello-world\/actions\/runners\?per_page=abc \[actions\/list-self-hosted-runners-for-repo\]: query parameters \/per_page: must be integer$/,
      /\[actions\/list-self-hosted-runners-for-org\]: query parameters \/page: must be integer$/,
      /\[actions\/list-self-hosted-runners-for-repo\]: query parameters: must NOT have additional properties \("perpage" is not documented\)$/,
      /\[actions\/get-workflow-run\]: query parameters \/exclude_pull_requests: must be boolean$/,
      /^DELETE \S+\/runners\/abc \[actions\/delete-self-hosted-runner-from-repo\]: path parameters \/runner_id: must be integer$/,
    );
  });

  test('correct requests to every route pass, and every answer of the fake fits its documented schema', async () => {
    const seen = [];
    const expect = async (method, p, status, body) => {
      const r = await call(method, p, { body });
      assert.equal(r.status, status, `${method} ${p}: ${JSON.stringify(r.body)}`);
      seen.push(gh.requests.at(-1).operation);
      return r.body;
    };
    for (const scope of [REPO, ORG]) {
      const jit = await expect('POST', `${scope}/actions/runners/generate-jitconfig`, 201, jitBody('ok-1'));
      await expect('POST', `${scope}/actions/runners/generate-jitconfig`, 409, jitBody('ok-1'));
      await expect('POST', `${scope}/actions/runners/generate-jitconfig`, 422, jitBody('ok-2', { labels: ['ok', ''] }));
      await expect('POST', `${scope}/actions/runners/registration-token`, 201);
      await expect('GET', `${scope}/actions/runners?name=ok-1`, 200);
      await expect('GET', `${scope}/actions/runners?per_page=1&page=1`, 200);
      await expect('GET', `${scope}/actions/runners/${jit.runner.id}`, 200);
      gh.setRunner(jit.runner.id, { busy: true, status: 'online' });
      await expect('DELETE', `${scope}/actions/runners/${jit.runner.id}`, 422);
      gh.setRunner(jit.runner.id, { busy: false });
      await expect('DELETE', `${scope}/actions/runners/${jit.runner.id}`, 204);
      await expect('DELETE', `${scope}/actions/runners/${jit.runner.id}`, 404);
      await expect('GET', `${scope}/actions/runners/${jit.runner.id}`, 404);
    }
    await expect('POST', `${REPO}/actions/runners/generate-jitconfig`, 404, jitBody('group-2', { runner_group_id: 2 }));
    await expect('GET', `${ORG}/actions/runner-groups`, 200);
    gh.addWorkflowRun('octo-org/hello-world', { id: 30433642, status: 'in_progress', run_attempt: 2 });
    gh.addWorkflowRun('octo-org/hello-world', { id: 7, status: 'completed' });
    await expect('GET', `${REPO}/actions/runs/30433642`, 200);
    await expect('GET', `${REPO}/actions/runs/7?exclude_pull_requests=true`, 200);
    await expect('GET', `${REPO}/actions/runs/8`, 404);
    await expect('GET', '/repos/octo-org/unknown/actions/runners', 404);
    gh.fail({ method: 'POST', path: '/generate-jitconfig', status: 403, body: { message: 'Resource not accessible by personal access token' }, times: 1 });
    await expect('POST', `${REPO}/actions/runners/generate-jitconfig`, 403, jitBody('denied'));
    gh.fail({ method: 'POST', path: '/generate-jitconfig', status: 422, body: { message: 'Validation Failed' }, times: 1 });
    await expect('POST', `${REPO}/actions/runners/generate-jitconfig`, 422, jitBody('refused'));
    assert.deepEqual(gh.violations(), []);
    assert.deepEqual(
      [...new Set(seen)].sort(),
      [
        'actions/create-registration-token-for-org',
        'actions/create-registration-token-for-repo',
        'actions/delete-self-hosted-runner-from-org',
        'actions/delete-self-hosted-runner-from-repo',
        'actions/generate-runner-jitconfig-for-org',
        'actions/generate-runner-jitconfig-for-repo',
        'actions/get-self-hosted-runner-for-org',
        'actions/get-self-hosted-runner-for-repo',
        'actions/get-workflow-run',
        'actions/list-self-hosted-runner-groups-for-org',
        'actions/list-self-hosted-runners-for-org',
        'actions/list-self-hosted-runners-for-repo',
      ],
    );
  });

  test('a deliberately wrong answer is flagged', async () => {
    gh.fail({ method: 'POST', path: '/generate-jitconfig', status: 201, body: { runner: { id: 'x', name: 'a' } }, times: 1 });
    await call('POST', `${REPO}/actions/runners/generate-jitconfig`, { body: jitBody('a') });
    gh.fail({ method: 'DELETE', path: /\/runners\/\d+$/, status: 200, body: {}, times: 1 });
    await call('DELETE', `${REPO}/actions/runners/5`);
    gh.fail({ method: 'GET', path: '/actions/runners', status: 500, body: { message: 7 }, times: 1 });
    await call('GET', `${REPO}/actions/runners`);
    gh.fail({ method: 'DELETE', path: /\/runners\/\d+$/, status: 204, body: { message: 'gone' }, times: 1 });
    await call('DELETE', `${REPO}/actions/runners/5`);
    const got = gh.violations();
    const jit = got.filter((v) => v.includes('[actions/generate-runner-jitconfig-for-repo]'));
    assert.ok(jit.some((v) => /fake GitHub's answer 201 body: must have required property 'encoded_jit_config'$/.test(v)), got.join('\n'));
    assert.ok(jit.some((v) => /fake GitHub's answer 201 body \/runner\/id: must be integer$/.test(v)), got.join('\n'));
    assert.ok(jit.some((v) => /answer 201 body \/runner: must have required property 'os'$/.test(v)), got.join('\n'));
    assert.ok(got.some((v) => /\[actions\/delete-self-hosted-runner-from-repo\]: fake GitHub's answer 200 is not documented \(documented: 204, 422\)$/.test(v)), got.join('\n'));
    assert.ok(got.some((v) => /\[actions\/list-self-hosted-runners-for-repo\]: fake GitHub's answer 500 body \/message: must be string$/.test(v)), got.join('\n'));
    assert.ok(got.some((v) => /\[actions\/delete-self-hosted-runner-from-repo\]: fake GitHub's answer 204 has a body but the description documents none$/.test(v)), got.join('\n'));
    gh.clear();
    assert.deepEqual(gh.violations(), [], 'clear() forgets violations');
  });

  test('X-GitHub-Api-Version: a later version the description names is checked against that version', async () => {
    gh.addWorkflowRun('octo-org/hello-world', { id: 9, status: 'queued' });
    assert.equal((await call('GET', `${REPO}/actions/runs/9`, { version: '2026-03-10' })).status, 200);
    assert.equal((await call('GET', `${REPO}/actions/runs/9`, { version: '2024-01-01' })).status, 400);
    assertViolations(/: X-GitHub-Api-Version "2024-01-01"$/);
    // The breaking changes apply: a JSON Merge Patch on an operation (204 -> 202) ...
    const contract = githubContract();
    const uninstall = contract.match('DELETE', '/app/installations/1').operation;
    assert.deepEqual(contract.checkResponse(uninstall, { status: 204 }), []);
    assert.deepEqual(contract.checkResponse(uninstall, { status: 204, version: '2026-03-10' }), ['answer 204 is not documented (documented: 202, 404)']);
    assert.deepEqual(contract.checkResponse(uninstall, { status: 202, version: '2026-03-10' }), []);
    // ... and a JSON Patch on a component schema (root loses authorizations_url).
    const root = contract.match('GET', '/').operation;
    const missing = (version) => contract.checkResponse(root, { status: 200, body: {}, version }).filter((p) => p.includes("'authorizations_url'"));
    assert.equal(missing(undefined).length, 1);
    assert.equal(missing('2026-03-10').length, 0);
  });

  test('with basePath the newest GHES description applies, and a path outside it is flagged', async () => {
    const ghes = await startFakeGitHub({ token, repos: ['o/r'], basePath: '/api/v3' });
    try {
      assert.equal(ghes.contract.name, newestGhes());
      const ok = await fetch(`${ghes.url}/repos/o/r/actions/runners/generate-jitconfig`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(jitBody('n')),
      });
      assert.equal(ok.status, 201);
      assert.equal((await fetch(`${ghes.origin}/repos/o/r/actions/runners`, { headers })).status, 404);
      const later = await fetch(`${ghes.url}/repos/o/r/actions/runners`, { headers: { ...headers, 'x-github-api-version': '2026-03-10' } });
      assert.equal(later.status, 400, 'GHES does not know 2026-03-10');
      const got = ghes.violations();
      assert.equal(got.length, 2, got.join('\n'));
      assert.match(got[0], /^GET \/repos\/o\/r\/actions\/runners: not under the API's base path \/api\/v3$/);
      assert.match(got[1], /^GET \/api\/v3\/repos\/o\/r\/actions\/runners \[actions\/list-self-hosted-runners-for-repo\]: X-GitHub-Api-Version "2026-03-10"$/);
    } finally {
      await ghes.close();
    }
  });
});

// GitHub Apps in the fake GitHub: JWTs verified with the app's public key
// (docs.github.com, "Generating a JSON Web Token (JWT) for a GitHub App"),
// installations, installation tokens that work like a PAT where the
// installation reaches, and their revocation. Every answer is also checked
// against the OpenAPI description: no test here may leave an unexpected
// violation.

describe('fake GitHub: GitHub Apps', () => {
  const pat = fakePat();
  const APP_ID = 424242;
  const OTHER_ID = 515151;
  let gh;
  let app;
  let other;
  before(async () => {
    gh = await startFakeGitHub({ token: pat, repos: ['octo-org/hello-world', 'octo-org/other-repo', 'octocat/solo'], orgs: ['octo-org'] });
  });
  after(() => gh.close());
  beforeEach(() => {
    gh.clear();
    app = gh.addApp({ id: APP_ID, repos: ['octo-org/hello-world'] });
    other = gh.addApp({ id: OTHER_ID, orgs: ['octo-org'] });
  });

  const base = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'ecs-runner/0.0.0-test',
  };
  async function call(method, p, bearer, body) {
    const headers = { ...base, ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) };
    const res = await fetch(gh.url + p, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const now = () => Math.floor(Date.now() / 1000);
  /** The JWT ecs-runner makes (core/src/github/app.rs): issued 60 s ago, valid ten minutes from then. */
  const jwt = ({ key = app.privateKey, iss = String(APP_ID), iat = now() - 60, exp = iat + 600, header } = {}) =>
    signAppJwt(key, { iat, exp, iss }, header);
  const REPO = '/repos/octo-org/hello-world';
  const jitBody = (name) => ({ name, runner_group_id: 1, labels: ['self-hosted', name] });
  /** Takes the violations of the rejections this test provoked, one per pattern in order; no other may remain. */
  const takeRejections = (...patterns) => {
    const got = gh.takeViolations(/JWT rejected|Bad credentials|installation token is|Authorization was/);
    assert.equal(got.length, patterns.length, `rejections:\n${got.join('\n')}`);
    patterns.forEach((p, i) => assert.match(got[i], p));
    assert.deepEqual(gh.violations(), []);
  };

  test('addApp: a 2048-bit RSA key, as PKCS#1 and PKCS#8 PEM, one installation per account', () => {
    assert.match(app.privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----\n$/);
    assert.match(app.privateKeyPkcs8, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const key = crypto.createPrivateKey(app.privateKey);
    assert.equal(key.asymmetricKeyDetails.modulusLength, 2048);
    assert.equal(
      crypto.createPublicKey(app.privateKeyPkcs8).export({ type: 'spki', format: 'pem' }),
      app.publicKey,
      'both PEMs are the same key',
    );
    assert.notEqual(app.privateKey, other.privateKey);
    assert.deepEqual(Object.keys(app.installations), ['octo-org']);
    assert.throws(() => gh.addApp({ id: APP_ID }), /exists/);
  });

  test('a valid JWT finds the installation; the installation token registers, lists and deletes runners', async () => {
    const token = jwt();
    const found = await call('GET', `${REPO}/installation`, token);
    assert.equal(found.status, 200);
    assert.equal(found.body.id, app.installations['octo-org']);
    assert.equal(found.body.app_id, APP_ID);
    assert.equal(found.body.repository_selection, 'selected');
    assert.equal(found.body.account.login, 'octo-org');
    // JWTs with a numeric iss and the client ID as iss work too (docs: "The client ID or application ID").
    assert.equal((await call('GET', `${REPO}/installation`, jwt({ iss: APP_ID }))).status, 200);
    assert.equal((await call('GET', `${REPO}/installation`, jwt({ iss: app.clientId }))).status, 200);
    // GitHub's own example (iat now - 60, exp now + 600: 11 minutes of life) is accepted.
    assert.equal((await call('GET', `${REPO}/installation`, jwt({ iat: now() - 60, exp: now() + 600 }))).status, 200);

    const created = await call('POST', `/app/installations/${found.body.id}/access_tokens`, token);
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^ghs_[A-Za-z0-9]{36}$/);
    const expires = Date.parse(created.body.expires_at);
    assert.ok(Math.abs(expires - Date.now() - 3_600_000) < 5_000, `expires_at ${created.body.expires_at} is an hour away`);
    assert.deepEqual(created.body.permissions, APP_PERMISSIONS);
    assert.equal(created.body.repository_selection, 'selected');
    const ghs = created.body.token;
    assert.equal(gh.tokenState(ghs), 'active');
    assert.ok(gh.secrets().includes(ghs), 'the token counts as a secret the fake handed out');

    const registered = await call('POST', `${REPO}/actions/runners/generate-jitconfig`, ghs, jitBody('app-runner'));
    assert.equal(registered.status, 201);
    const listed = await call('GET', `${REPO}/actions/runners?name=app-runner`, ghs);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.total_count, 1);
    assert.equal((await call('DELETE', `${REPO}/actions/runners/${registered.body.runner.id}`, ghs)).status, 204);
    const used = gh.requests.filter((r) => r.credential?.kind === 'installation').map((r) => `${r.method} ${r.path}`);
    assert.equal(used.length, 3, used.join('\n'));
    assert.deepEqual(gh.jwtsSeen().length, 5);
    // Those answers were checked against the description, which does see a wrong one.
    assert.deepEqual(gh.violations(), []);
    const operation = (method, p) => gh.contract.match(method, p).operation;
    const { account: _, ...noAccount } = found.body;
    assert.match(gh.contract.checkResponse(operation('GET', `${REPO}/installation`), { status: 200, body: noAccount }).join('\n'), /'account'/);
    const { expires_at: __, ...noExpiry } = created.body;
    assert.match(
      gh.contract.checkResponse(operation('POST', '/app/installations/1/access_tokens'), { status: 201, body: noExpiry }).join('\n'),
      /'expires_at'/,
    );
  });

  test('expired, future-dated, wrongly signed, wrong iss, too long: each 401 with GitHub\'s message', async () => {
    const cases = [
      ['expired', jwt({ iat: now() - 700, exp: now() - 100 }), "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"],
      ['exp = now', jwt({ iat: now() - 60, exp: now() }), "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"],
      ['future iat', jwt({ iat: now() + 30, exp: now() + 300 }), "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"],
      ['iat not an integer', jwt({ iat: now() - 60.5, exp: now() + 300 }), "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"],
      ['another key', jwt({ key: other.privateKey }), 'A JSON web token could not be decoded'],
      ['wrong iss (the other app, whose key this is not)', jwt({ iss: String(OTHER_ID) }), 'A JSON web token could not be decoded'],
      ['iss of no app', jwt({ iss: '999999999' }), 'Integration not found'],
      ['more than 10 minutes', jwt({ iat: now() - 60, exp: now() + 660 }), "'Expiration time' claim ('exp') is too far in the future"],
      ['alg HS256', jwt({ header: { alg: 'HS256', typ: 'JWT' } }), 'A JSON web token could not be decoded'],
      ['not a JWT', pat, 'A JSON web token could not be decoded'],
      ['no Authorization', undefined, 'A JSON web token could not be decoded'],
    ];
    for (const [what, token, message] of cases) {
      const r = await call('GET', `${REPO}/installation`, token);
      assert.equal(r.status, 401, what);
      assert.equal(r.body.message, message, what);
      assert.equal(r.body.status, '401', what);
      assert.equal(typeof r.body.documentation_url, 'string', what);
    }
    // The access-token route checks the same way.
    const r = await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt({ key: other.privateKey }));
    assert.equal(r.status, 401);
    takeRejections(...cases.map(() => /JWT rejected: /), /\[apps\/create-installation-access-token\]: JWT rejected: the signature does not verify/);
    assert.equal(gh.installationTokens.size, 0, 'no token was issued');
  });

  test("the fake's clock: a runner clock ahead by less than the 60 s backdating passes, by more fails", async () => {
    gh.clockOffsetMs = -30_000; // GitHub 30 s behind the runner: iat (runner's now - 60) is still past
    assert.equal((await call('GET', `${REPO}/installation`, jwt())).status, 200);
    gh.clockOffsetMs = -90_000; // 90 s behind: iat is 30 s in GitHub's future
    const r = await call('GET', `${REPO}/installation`, jwt());
    assert.equal(r.status, 401);
    assert.match(r.body.message, /'Issued at' claim/);
    takeRejections(/JWT rejected: iat \d+ is (29|30)\.\d s in the future/);
  });

  test('the installation decides what the token reaches and what it may do', async () => {
    // Not installed on octocat/solo, nor (with the repository selection) on octo-org/other-repo.
    assert.equal((await call('GET', '/repos/octocat/solo/installation', jwt())).status, 404);
    assert.equal((await call('GET', '/repos/octo-org/other-repo/installation', jwt())).status, 404);
    assert.equal((await call('GET', '/orgs/octo-org/installation', jwt())).status, 200, 'the installation is on the org account');
    // The access token of another app's installation: 404.
    assert.equal((await call('POST', `/app/installations/${other.installations['octo-org']}/access_tokens`, jwt())).status, 404);
    const ghs = (await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt())).body.token;
    assert.equal((await call('GET', '/repos/octo-org/other-repo/actions/runners', ghs)).status, 404, 'outside the selection');
    assert.equal((await call('GET', '/orgs/octo-org/actions/runners', ghs)).status, 200, 'the org permission is granted');
    // More than the installation has: 422.
    const more = await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt(), { permissions: { contents: 'write' } });
    assert.equal(more.status, 422);
    // Narrowed to read: registering is refused with 403, listing works.
    const narrow = await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt(), {
      permissions: { administration: 'read' },
    });
    assert.equal(narrow.status, 201);
    assert.equal((await call('GET', `${REPO}/actions/runners`, narrow.body.token)).status, 200);
    const refused = await call('POST', `${REPO}/actions/runners/generate-jitconfig`, narrow.body.token, jitBody('x'));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.message, 'Resource not accessible by integration');
    // An org-wide installation reaches every repository of the org.
    const wide = gh.addApp({ id: 616161, orgs: ['octo-org'], permissions: { administration: 'write', metadata: 'read' } });
    const wideJwt = signAppJwt(wide.privateKey, { iat: now() - 60, exp: now() + 540, iss: '616161' });
    const wideToken = (await call('POST', `/app/installations/${wide.installations['octo-org']}/access_tokens`, wideJwt)).body.token;
    assert.equal((await call('GET', '/repos/octo-org/other-repo/actions/runners', wideToken)).status, 200);
    assert.equal((await call('GET', '/orgs/octo-org/actions/runners', wideToken)).status, 403, 'no organization_self_hosted_runners');
    assert.deepEqual(gh.violations(), []);
  });

  test('DELETE /installation/token revokes the token: later use is 401, a second revoke too', async () => {
    const ghs = (await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt())).body.token;
    assert.equal((await call('GET', `${REPO}/actions/runners`, ghs)).status, 200);
    assert.equal((await call('DELETE', '/installation/token', ghs)).status, 204);
    assert.equal(gh.tokenState(ghs), 'revoked');
    assert.deepEqual(gh.activeInstallationTokens(), []);
    const after = await call('GET', `${REPO}/actions/runners`, ghs);
    assert.equal(after.status, 401);
    assert.equal(after.body.message, 'Bad credentials');
    assert.equal((await call('POST', `${REPO}/actions/runners/generate-jitconfig`, ghs, jitBody('late'))).status, 401);
    assert.equal((await call('DELETE', '/installation/token', ghs)).status, 401);
    // An unknown ghs_ token, and a token used as a JWT: 401 as well.
    assert.equal((await call('GET', `${REPO}/actions/runners`, 'ghs_' + 'x'.repeat(36))).status, 401);
    assert.equal((await call('GET', `${REPO}/installation`, ghs)).status, 401);
    // An expired one (the fake's clock an hour and a minute on).
    const fresh = (await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt())).body.token;
    gh.clockOffsetMs = 3_660_000;
    assert.equal(gh.tokenState(fresh), 'expired');
    assert.equal((await call('GET', `${REPO}/actions/runners`, fresh)).status, 401);
    gh.clockOffsetMs = 0;
    // The PAT cannot revoke (there is no installation token to revoke).
    assert.equal((await call('DELETE', '/installation/token', pat)).status, 403);
    assert.equal(gh.takeViolations(/revoking needs an installation token/).length, 1);
    takeRejections(
      /actions\/runners \[actions\/list-self-hosted-runners-for-repo\]: the installation token is revoked$/,
      /generate-jitconfig \[actions\/generate-runner-jitconfig-for-repo\]: the installation token is revoked$/,
      /DELETE \/installation\/token \[apps\/revoke-installation-access-token\]: the installation token is revoked$/,
      /Authorization was Bearer <value>/,
      /JWT rejected: /,
      /the installation token is expired$/,
    );
  });

  test('clear() forgets apps, installations and tokens', async () => {
    const ghs = (await call('POST', `/app/installations/${app.installations['octo-org']}/access_tokens`, jwt())).body.token;
    gh.clear();
    assert.equal(gh.apps.size, 0);
    assert.equal(gh.tokenState(ghs), 'unknown');
    assert.equal((await call('GET', `${REPO}/installation`, jwt())).status, 401, 'no app, so "Integration not found"');
    takeRejections(/JWT rejected: iss "424242" names no app/);
  });
});

// moto with signatures and IAM checked (startMoto `authFreeCalls`, i.e.
// INITIAL_NO_AUTH_ACTION_COUNT): exactly N free calls, then every call must
// be signed with a key moto issued and be allowed by the caller's policy;
// the harness signs its own calls after `signAs`. Also the two limits of
// moto's policy check that tests/e2e/iam.test.mjs works around: it evaluates
// no Condition (each counts as met, so a condition that would not hold still
// allows), and a statement whose Resource is not "*" never allows (moto
// checks ECS, EC2 and Logs actions against the resource "*").
describe('moto with authFreeCalls: signatures and IAM checked', () => {
  const FREE = 10;
  let moto;
  before(async () => {
    moto = await startMoto({ region: 'eu-west-1', authFreeCalls: FREE, contract: false });
  });
  after(() => moto?.stop());

  const keyOf = (xml) => ({
    accessKeyId: /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)[1],
    secretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)[1],
  });
  const refusal = async (promise) => {
    try {
      await promise;
    } catch (error) {
      return `${error.status} ${error.type ?? error.code}`;
    }
    return 'accepted';
  };

  test('the free calls seed; then the fake scope is refused, signatures are checked and policies enforced', async () => {
    // 7 free calls: a cluster, an admin, and a user allowed ListClusters, and
    // DescribeClusters / ListTasks / ListServices only in ways moto cannot evaluate.
    await moto.createCluster('runners');
    await moto.iam('CreateUser', { UserName: 'admin' });
    await moto.iam('PutUserPolicy', {
      UserName: 'admin',
      PolicyName: 'all',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
    });
    const admin = keyOf(await moto.iam('CreateAccessKey', { UserName: 'admin' }));
    await moto.iam('CreateUser', { UserName: 'user' });
    const cluster = 'arn:aws:ecs:eu-west-1:123456789012:cluster/runners';
    await moto.iam('PutUserPolicy', {
      UserName: 'user',
      PolicyName: 'p',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['ecs:ListClusters', 'ec2:DescribeVpcs'], Resource: '*' },
          { Effect: 'Allow', Action: 'ecs:DescribeClusters', Resource: cluster },
          { Effect: 'Allow', Action: 'ecs:ListTasks', Resource: '*', Condition: { ArnEquals: { 'ecs:cluster': `${cluster}-not` } } },
          { Effect: 'Allow', Action: 'ecs:ListServices', Resource: '*', Condition: { StringEquals: { 'aws:username': 'not-user' } } },
        ],
      }),
    });
    const user = keyOf(await moto.iam('CreateAccessKey', { UserName: 'user' }));

    assert.equal(await moto.spendFreeCalls(), FREE - 7, 'the calls left of the free ones');
    assert.equal(await refusal(moto.ecs('ListClusters')), '403 InvalidClientTokenId', 'the fake scope, once the free calls are spent');

    moto.signAs(user);
    assert.deepEqual((await moto.ecs('ListClusters')).clusterArns, [cluster]);
    assert.match(await moto.ec2('DescribeVpcs'), /<DescribeVpcsResponse/, 'a signed EC2 query call');
    assert.equal(await refusal(moto.ecs('DescribeClusters', { clusters: ['runners'] })), '403 AccessDenied', 'an ARN Resource never matches');
    assert.equal(await refusal(moto.ecs('ListTasks', { cluster: 'runners' })), 'accepted', 'a Condition that does not hold is not evaluated');
    assert.equal(await refusal(moto.ecs('ListServices', { cluster: 'runners' })), 'accepted', 'nor a StringEquals one');
    assert.equal(await refusal(moto.ecs('ListContainerInstances', { cluster: 'runners' })), '403 AccessDenied', 'an action not in the policy');

    moto.signAs({ ...user, secretAccessKey: `${user.secretAccessKey.slice(0, -1)}x` });
    assert.equal(await refusal(moto.ecs('ListClusters')), '403 SignatureDoesNotMatch');
    assert.equal(await refusal(moto.logs('DescribeLogGroups')), '403 SignatureDoesNotMatch');
    assert.equal(await refusal(moto.ec2('DescribeVpcs')), '401 AuthFailure', 'EC2 says AuthFailure');

    // The admin's form POSTs verify even with `*`, spaces and quotes in a value
    // (moto checks the form as botocore would encode it again).
    moto.signAs(admin);
    await moto.iam('PutUserPolicy', {
      UserName: 'user',
      PolicyName: 'p',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: "it's all", Effect: 'Allow', Action: 'ecs:*', Resource: '*' }] }),
    });
    moto.signAs(user);
    assert.equal(await refusal(moto.ecs('DescribeClusters', { clusters: ['runners'] })), 'accepted', 'the new policy applies at once');
    assert.equal(await refusal(moto.iam('CreateUser', { UserName: 'x' })), '403 AccessDenied');
  });

  test('a moto started without authFreeCalls checks nothing: spendFreeCalls says so', async () => {
    const plain = await startMoto({ region: 'eu-west-1', contract: false });
    try {
      await assert.rejects(plain.spendFreeCalls(), /checks no signatures/);
      assert.deepEqual((await plain.ecs('ListClusters')).clusterArns, []);
    } finally {
      await plain.stop();
    }
  });
});
