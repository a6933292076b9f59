// mode: start, the paths that fail: bad inputs (nothing may be contacted), an
// unknown cluster, a task that stops before RUNNING, a GitHub that refuses.
// On every failure the action exits 1 with ::error:: naming the cause, leaves
// no registered runner behind, and prints no secret.

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs } from './lib/world.mjs';
import { annotations, describeRun } from './lib/action.mjs';
import {
  assertFailed,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  assertRunnersCleanedUp,
  errorText,
} from './lib/checks.mjs';

describe('start fails', () => {
  let world;
  useWorld((w) => (world = w));

  const inputs = (extra) => startInputs(world, { 'wait-for-registration': 'false', ...extra });

  /** Nothing reached GitHub or AWS, and no task exists anywhere. */
  async function assertNothingContacted(result) {
    assert.deepEqual(
      world.gh.requests.map((r) => `${r.method} ${r.path}`),
      [],
      `GitHub was contacted\n${describeRun(result)}`,
    );
    assert.deepEqual(
      world.moto.proxy.requests.map((r) => `${r.service} ${r.operation}`),
      [],
      `AWS was contacted\n${describeRun(result)}`,
    );
    assert.deepEqual(await world.moto.allTasks(), []);
  }

  test('bad inputs: exit 1, each one named, and nothing contacted', async () => {
    const bad = {
      name: 'n'.repeat(40), // at most 32
      'launch-type': 'BANANA',
      timeout: 'soon',
      'subnets-tag': 'no-colon-here',
      registration: 'magic',
    };
    const result = await world.run({ inputs: inputs({ ...bad, subnets: '' }) });
    assertFailed(result);
    const errors = errorText(annotations(result));
    for (const name of Object.keys(bad)) {
      assert.ok(errors.includes(name), `no ::error:: names the input "${name}":\n${errors}\n${describeRun(result)}`);
    }
    await assertNothingContacted(result);
    assertSecretsHandled(result, world);
  });

  test('launch-type and capacity-provider-strategy together: exit 1 naming both, nothing contacted', async () => {
    const result = await world.run({
      inputs: inputs({ 'capacity-provider-strategy': 'FARGATE_SPOT' }),
    });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes('launch-type') && errors.includes('capacity-provider-strategy'), errors);
    await assertNothingContacted(result);
    assertSecretsHandled(result, world);
  });

  test('no token: exit 1 naming the input, nothing contacted', async () => {
    const result = await world.run({ inputs: inputs({ token: '', 'github-token': '' }) });
    assertFailed(result);
    assert.match(errorText(annotations(result)), /token/);
    await assertNothingContacted(result);
    assertSecretsHandled(result, world, { tokenGiven: false });
  });

  test('unknown cluster: exit 1 naming the cluster; the registered runner is deleted', async () => {
    // A policy narrowed to the missing cluster (say, one deleted since), so
    // real IAM lets the RunTask reach ECS, which does not know the cluster;
    // narrowed to another cluster, real AWS would answer AccessDenied.
    world.iamNames({ Cluster: 'no-such-cluster' });
    const result = await world.run({ inputs: inputs({ cluster: 'no-such-cluster' }) });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes('no-such-cluster'), `the error does not name the cluster:\n${errors}`);

    const runs = world.moto.proxy.calls('RunTask');
    assert.ok(runs.length >= 1, 'RunTask was never tried');
    assert.ok(runs.every((r) => r.status === 400));
    const jit = world.gh.requestsTo('POST', '/generate-jitconfig');
    assert.equal(jit.length, 1, 'the runner was registered once');
    assertRunnersCleanedUp(world.gh);
    const del = world.gh.requests.find((r) => r.method === 'DELETE');
    assert.ok(del.at >= runs[0].at, 'the runner was deleted after RunTask failed');
    assert.deepEqual(await world.moto.allTasks(), []);
    assertAwsRequestsSigned(world.moto, world.moto.region);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('task STOPPED before it was ever RUNNING: exit 1, runner deleted', async () => {
    // moto `immediate`: the RunTask answer already says STOPPED (see moto.mjs).
    await world.moto.setTaskTransition({ progression: 'immediate' });
    const result = await world.run({ inputs: inputs() });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.match(errors, /stopped/i);
    assert.ok(
      !result.stdout.split('\n').some((l) => /^Task \S+: RUNNING \(/.test(l)),
      'logged RUNNING for a task moto never showed RUNNING',
    );
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test('task STOPPED before RUNNING with a stop code and reason: the reason is reported', async () => {
    // moto cannot set stopCode, nor stoppedReason without a racy StopTask; the
    // proxy adds them to moto's STOPPED tasks the way ECS reports a failed pull.
    await world.moto.setTaskTransition({ progression: 'immediate' });
    const reason =
      'CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref ghcr.io/actions/actions-runner:nope: not found';
    const addReason = (body) => {
      for (const task of body.tasks ?? []) {
        if (task.lastStatus !== 'STOPPED') continue;
        task.stopCode = 'TaskFailedToStart';
        task.stoppedReason = reason;
        for (const c of task.containers ?? []) c.reason = reason;
      }
      return body;
    };
    world.moto.proxy.rewrite((c) => c.operation === 'RunTask' || c.operation === 'DescribeTasks', addReason);
    const result = await world.run({ inputs: inputs() });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes('CannotPullContainerError'), `the stop reason is not reported:\n${errors}`);
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test('task never RUNNING within timeout: exit 1, task stopped, runner deleted', async () => {
    // The proxy keeps moto's RUNNING task PENDING (until it is stopped).
    world.moto.proxy.rewrite(
      (c) => c.operation === 'RunTask' || c.operation === 'DescribeTasks',
      (body) => {
        for (const t of body.tasks ?? []) if (t.lastStatus === 'RUNNING') t.lastStatus = 'PENDING';
        return body;
      },
    );
    const result = await world.run({ inputs: inputs({ timeout: '3' }) });
    assertFailed(result);
    assert.match(errorText(annotations(result)), /RUNNING|timed out|timeout/i);
    assertTaskStopped();
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test('runner never online within timeout (wait-for-registration): exit 1, task stopped, runner deleted', async () => {
    const result = await world.run({ inputs: inputs({ timeout: '3', 'wait-for-registration': 'true' }) });
    assertFailed(result);
    assert.match(errorText(annotations(result)), /online|registration|timed out|timeout/i);
    assertTaskStopped();
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  /** The one task the action started was stopped with StopTask. */
  function assertTaskStopped() {
    const [run] = world.moto.proxy.calls('RunTask');
    assert.ok(run, 'no RunTask');
    const arn = JSON.parse(run.response).tasks[0].taskArn;
    const stops = world.moto.proxy.calls('StopTask');
    assert.ok(
      stops.some((s) => s.body.task === arn || arn.endsWith(`/${s.body.task}`)),
      `task ${arn} was not stopped (StopTask calls: ${stops.map((s) => s.body.task).join(', ') || 'none'})`,
    );
  }

  test('GitHub refuses to create the runner (403): exit 1 with its message, no task started', async () => {
    const message = 'Resource not accessible by personal access token';
    world.gh.fail({ method: 'POST', path: '/generate-jitconfig', status: 403, body: { message, status: '403' } });
    const result = await world.run({ inputs: inputs() });
    assertFailed(result);
    assert.ok(errorText(annotations(result)).includes(message), errorText(annotations(result)));
    assert.deepEqual(world.moto.proxy.calls('RunTask'), []);
    assert.deepEqual(await world.moto.allTasks(), []);
    assertSecretsHandled(result, world);
  });

  test('unknown repository (404 from GitHub): exit 1 naming it, no task started', async () => {
    const result = await world.run({ inputs: inputs({ context: 'octo-org/does-not-exist' }) });
    assertFailed(result);
    assert.ok(errorText(annotations(result)).includes('octo-org/does-not-exist'), errorText(annotations(result)));
    assert.deepEqual(world.moto.proxy.calls('RunTask'), []);
    assertSecretsHandled(result, world);
  });

  test('two containers and no container-name: exit 1 naming container-name, nothing left behind', async () => {
    const result = await world.run({ inputs: inputs({ 'task-definition': 'gh-runner-sidecar' }) });
    assertFailed(result);
    assert.ok(errorText(annotations(result)).includes('container-name'), errorText(annotations(result)));
    assert.deepEqual(world.moto.proxy.calls('RunTask'), []);
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });
});
