// Self-test of the e2e harness: the fake GitHub's checks, moto seeding and
// read-back, the recording proxy's signature check, and runAction's
// environment. These do not need dist/ and pass before the action exists.

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeGitHub } from './lib/github.mjs';
import { startMoto } from './lib/moto.mjs';
import {
  FAKE_AWS,
  runAction,
  parseOutputFile,
  annotations,
  assertNoSecrets,
  inputVariable,
} from './lib/action.mjs';
import { fakePat } from './lib/world.mjs';

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
    assert.equal(gh.violations.length, 3);
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
    assert.equal(gh.violations.length, 4);
    assert.equal((await call('GET', `${REPO}/actions/runners`)).status, 200);
    assert.equal(gh.violations.length, 4);
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
