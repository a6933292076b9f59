// mode: start, the paths that succeed. Runs dist/index.js as the Actions
// runner does against moto (through the recording proxy) and the fake GitHub.
// Each test checks docs/behaviour.md: outputs, the task's overrides, tags and
// startedBy, the RunTask request, the GitHub requests, the job summary, and
// that no secret is printed.

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, REGION, REPOSITORY, ORG } from './lib/world.mjs';
import { describeRun } from './lib/action.mjs';
import {
  assertSucceeded,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  assertRunnerId,
  assertTaskTags,
  expectedLabels,
  expectedClientToken,
} from './lib/checks.mjs';

const NAME = 'gh-runner';
const WORKDIR = '_e2e_work';

describe('start', () => {
  let world;
  useWorld((w) => (world = w));

  /** Inputs most tests share; the test adds placement and its own. */
  const inputs = (extra) => ({
    token: world.pat,
    name: NAME,
    cluster: 'runners',
    'task-definition': 'gh-runner',
    'launch-type': 'FARGATE',
    workdir: WORKDIR,
    'wait-for-registration': 'false',
    ...extra,
  });

  /** The one task the action started (by its startedBy), read back from moto. */
  async function theTask() {
    const tasks = await world.moto.tasks('runners');
    assert.equal(tasks.length, 1, `expected exactly one task, found ${tasks.length}`);
    return tasks[0];
  }

  test('tag lookup: a JIT runner in a task placed in the tagged subnets and security groups', async () => {
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({
        'subnets-tag': 'placement:ecs',
        'security-groups-tag': 'placement:ecs',
        labels: 'gpu,linux',
        tags: 'team=ci',
        env: 'FOO=bar',
      }),
    });
    assertSucceeded(result);
    const ctx = world.context;
    const { outputs } = result;

    // Names
    assertRunnerId(outputs.runner_id, { name: NAME, runId: ctx.GITHUB_RUN_ID, attempt: ctx.GITHUB_RUN_ATTEMPT });
    assert.equal(outputs.runner_name, outputs.runner_id);
    assert.equal(outputs.id, outputs.runner_id);

    // GitHub: one JIT config for that name and those labels, nothing deleted.
    const jit = world.gh.requestsTo('POST', `/repos/${REPOSITORY}/actions/runners/generate-jitconfig`);
    assert.equal(jit.length, 1);
    assert.equal(jit[0].status, 201);
    assert.equal(jit[0].body.name, outputs.runner_id);
    assert.equal(jit[0].body.runner_group_id, 1);
    assert.equal(jit[0].body.work_folder, WORKDIR);
    assert.deepEqual(
      jit[0].body.labels,
      expectedLabels({ arch: 'X64', name: NAME, labels: ['gpu', 'linux'], runnerId: outputs.runner_id }),
    );
    const [issued] = world.gh.issued;
    assert.equal(outputs.github_runner_id, String(issued.runnerId));
    assert.equal(world.gh.requests.filter((r) => r.method === 'DELETE').length, 0);
    assert.equal(world.gh.runners.size, 1);
    assertGitHubHeaders(world.gh);

    // The task, as moto holds it
    const task = await theTask();
    assert.equal(outputs.task_arn, task.arn);
    assert.equal(outputs.arn, task.arn);
    assert.equal(outputs.aws_task_arn, task.arn);
    assert.equal(outputs.task_id, task.id);
    assert.equal(outputs.aws_task_id, task.id);
    assert.equal(outputs.ipaddr, task.ip);
    assert.equal(outputs.cluster, 'runners');
    assert.equal(outputs.region, REGION);
    assert.equal(task.startedBy, `ecs-runner/${ctx.GITHUB_RUN_ID}`);
    assert.equal(task.launchType, 'FARGATE');
    assert.match(task.taskDefinitionArn, /:task-definition\/gh-runner:\d+$/);
    assertTaskTags(task, {
      runnerId: outputs.runner_id,
      repository: REPOSITORY,
      context: REPOSITORY,
      runId: ctx.GITHUB_RUN_ID,
      attempt: ctx.GITHUB_RUN_ATTEMPT,
      job: ctx.GITHUB_JOB,
    });
    assert.equal(task.tags.team, 'ci');

    // The runner container gets the JIT config, then the user's env; never the PAT.
    assert.deepEqual(Object.keys(task.env), ['runner']);
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, issued.value);
    assert.equal(task.env.runner.FOO, 'bar');
    const names = Object.keys(task.env.runner);
    assert.ok(names.indexOf('FOO') > names.indexOf('ACTIONS_RUNNER_INPUT_JITCONFIG'), 'user env comes after');
    assert.ok(!JSON.stringify(task.raw).includes(world.pat), 'the PAT is in the task');

    // The RunTask request: ids of the tagged subnets and groups (not names, not the decoys).
    const runs = world.moto.proxy.calls('RunTask');
    assert.equal(runs.length, 1);
    const vpc = runs[0].body.networkConfiguration.awsvpcConfiguration;
    assert.deepEqual([...vpc.subnets].sort(), [...network.subnets].sort());
    assert.deepEqual(vpc.securityGroups, network.securityGroups);
    const token = expectedClientToken({
      runId: ctx.GITHUB_RUN_ID,
      attempt: ctx.GITHUB_RUN_ATTEMPT,
      job: ctx.GITHUB_JOB,
      runnerId: result.outputs.runner_id,
    });
    assert.equal(runs[0].body.clientToken, token);
    assert.equal(runs[0].body.capacityProviderStrategy, undefined);
    assertAwsRequestsSigned(world.moto, REGION);

    // Log and summary
    const shortId = task.id.slice(0, 8);
    assert.ok(
      result.stdout.split('\n').some((l) => new RegExp(`Task ${shortId}[\\w-]*: RUNNING \\(\\d+s\\)`).test(l)),
      `no "Task ${shortId}: RUNNING (Ns)" line\n${describeRun(result)}`,
    );
    const rows = result.summary.split('\n').filter((l) => /^\s*\|.*\|\s*$/.test(l));
    assert.ok(rows.some((l) => /^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(l)), `no markdown table in the summary:\n${result.summary}`);
    assert.ok(rows.some((l) => l.includes(outputs.runner_id)), 'summary table lacks the runner id');
    assert.ok(rows.some((l) => l.includes(task.id)), 'summary table lacks the task');

    assertSecretsHandled(result, world);
  });

  test('id inputs: the given subnets and security groups, as given', async () => {
    const { network } = world.seeds;
    const subnets = [network.subnets[1], network.subnets[0]];
    const result = await world.run({
      inputs: inputs({ subnets: subnets.join(','), 'security-groups': network.securityGroups.join(',') }),
    });
    assertSucceeded(result);
    const [run] = world.moto.proxy.calls('RunTask');
    const vpc = run.body.networkConfiguration.awsvpcConfiguration;
    assert.deepEqual(vpc.subnets, subnets);
    assert.deepEqual(vpc.securityGroups, network.securityGroups);
    const task = await theTask();
    assert.equal(result.outputs.task_arn, task.arn);
    assert.equal(result.outputs.ipaddr, task.ip);
    assertAwsRequestsSigned(world.moto, REGION);
    assertSecretsHandled(result, world);
  });

  test('environment fallbacks ECS_CLUSTER_NAME, ECS_SUBNETS, ECS_SECURITY_GROUPS', async () => {
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({ cluster: '', subnets: '', 'security-groups': '' }),
      env: {
        ECS_CLUSTER_NAME: 'runners',
        ECS_SUBNETS: network.subnets[0],
        ECS_SECURITY_GROUPS: network.securityGroups[0],
      },
    });
    assertSucceeded(result);
    const [run] = world.moto.proxy.calls('RunTask');
    assert.equal(run.body.cluster, 'runners');
    assert.deepEqual(run.body.networkConfiguration.awsvpcConfiguration.subnets, [network.subnets[0]]);
    assert.deepEqual(run.body.networkConfiguration.awsvpcConfiguration.securityGroups, [network.securityGroups[0]]);
    assert.equal(result.outputs.cluster, 'runners');
    assertSecretsHandled(result, world);
  });

  test('registration: token puts RUNNER_* in the task and asks for no JIT config', async () => {
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({
        registration: 'token',
        subnets: network.subnets.join(','),
        'security-groups': network.securityGroups.join(','),
        labels: 'gpu',
        env: 'FOO=bar',
      }),
    });
    assertSucceeded(result);
    const ctx = world.context;
    assert.equal(world.gh.requestsTo('POST', '/generate-jitconfig').length, 0);
    const reg = world.gh.requestsTo('POST', `/repos/${REPOSITORY}/actions/runners/registration-token`);
    assert.equal(reg.length, 1);
    const [issued] = world.gh.issued;
    assert.equal(issued.kind, 'registration');
    assert.ok(!result.outputs.github_runner_id, 'github_runner_id is for JIT only');

    const task = await theTask();
    const env = task.env.runner;
    assert.equal(env.RUNNER_TOKEN, issued.value);
    assert.equal(env.RUNNER_URL, `${ctx.GITHUB_SERVER_URL}/${REPOSITORY}`);
    assert.equal(env.RUNNER_NAME, result.outputs.runner_id);
    assert.equal(
      env.RUNNER_LABELS,
      expectedLabels({ arch: 'X64', name: NAME, labels: ['gpu'], runnerId: result.outputs.runner_id }).join(','),
    );
    assert.equal(env.RUNNER_WORKDIR, WORKDIR);
    assert.ok('RUNNER_GROUP' in env, 'RUNNER_GROUP is set');
    assert.equal(env.ACTIONS_RUNNER_INPUT_JITCONFIG, undefined);
    assert.equal(env.FOO, 'bar');
    const names = Object.keys(env);
    assert.ok(names.indexOf('FOO') > names.indexOf('RUNNER_TOKEN'), 'user env comes after');
    assert.ok(!JSON.stringify(task.raw).includes(world.pat), 'the PAT is in the task');
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('org context: the runner is registered with the organisation', async () => {
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({ context: ORG, subnets: network.subnets[0], 'security-groups': network.securityGroups[0] }),
    });
    assertSucceeded(result);
    const jit = world.gh.requestsTo('POST', `/orgs/${ORG}/actions/runners/generate-jitconfig`);
    assert.equal(jit.length, 1);
    assert.equal(world.gh.requestsTo('POST', `/repos/${REPOSITORY}/actions/runners/generate-jitconfig`).length, 0);
    const task = await theTask();
    assert.equal(task.tags['ecs-runner:context'], ORG);
    assert.equal(task.tags['ecs-runner:repository'], REPOSITORY);
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, world.gh.issued[0].value);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('status changes before RUNNING are logged with seconds since RunTask', async () => {
    // moto creates tasks RUNNING; the proxy shows PROVISIONING in the RunTask
    // answer and PENDING in the first DescribeTasks, as ECS does.
    let describes = 0;
    world.moto.proxy.rewrite(
      (c) => c.operation === 'RunTask' || c.operation === 'DescribeTasks',
      (body, call) => {
        const early = call.operation === 'RunTask' ? 'PROVISIONING' : describes++ === 0 ? 'PENDING' : null;
        if (early) for (const t of body.tasks ?? []) if (t.lastStatus === 'RUNNING') t.lastStatus = early;
        return body;
      },
    );
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({ subnets: network.subnets[0], 'security-groups': network.securityGroups[0] }),
    });
    assertSucceeded(result);
    const task = await theTask();
    const shortId = task.id.slice(0, 8);
    const seen = result.stdout
      .split('\n')
      .map((l) => new RegExp(`Task ${shortId}[\\w-]*: ([A-Z]+) \\((\\d+)s\\)`).exec(l))
      .filter(Boolean);
    assert.deepEqual(
      seen.map((m) => m[1]),
      ['PROVISIONING', 'PENDING', 'RUNNING'],
      `each status once, in order\n${describeRun(result)}`,
    );
    const seconds = seen.map((m) => Number(m[2]));
    assert.deepEqual([...seconds].sort((a, b) => a - b), seconds, 'seconds since RunTask never decrease');
    assertSecretsHandled(result, world);
  });

  test('wait-for-registration: succeeds once GitHub shows the runner online', async () => {
    world.gh.onlineAfterMs = 1_500;
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({
        'wait-for-registration': 'true',
        subnets: network.subnets[0],
        'security-groups': network.securityGroups[0],
      }),
    });
    assertSucceeded(result);
    const [issued] = world.gh.issued;
    const looks = world.gh.requests.filter(
      (r) =>
        r.method === 'GET' &&
        (r.path.endsWith(`/actions/runners/${issued.runnerId}`) ||
          (r.path.endsWith('/actions/runners') && r.query.name === result.outputs.runner_id)),
    );
    assert.ok(looks.length >= 1, 'the runner was never looked up');
    assert.equal(looks.at(-1).response.status ?? looks.at(-1).response.runners?.[0]?.status, 'online');
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('container-name picks the runner container of a two-container task definition', async () => {
    const { network } = world.seeds;
    const result = await world.run({
      inputs: inputs({
        'task-definition': 'gh-runner-sidecar',
        'container-name': 'runner',
        subnets: network.subnets[0],
        'security-groups': network.securityGroups[0],
      }),
    });
    assertSucceeded(result);
    const task = await theTask();
    assert.deepEqual(Object.keys(task.env), ['runner']);
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, world.gh.issued[0].value);
    assertSecretsHandled(result, world);
  });
});
