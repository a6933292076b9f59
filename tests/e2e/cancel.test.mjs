// mode: start, cancelled. The Actions runner cancels a step with SIGINT, then
// SIGTERM (action/src/signals.ts); either one must make the action undo what
// it created -- stop the task, delete the runner -- and fail saying so.
//
// moto shows tasks RUNNING at once, so the proxy keeps the task PROVISIONING
// / PENDING (until it is stopped) and the action keeps polling; the signal is
// sent once the log shows it is waiting (a status line).

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs, REGION } from './lib/world.mjs';
import { annotations, describeRun } from './lib/action.mjs';
import {
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  assertRunnersCleanedUp,
  errorText,
} from './lib/checks.mjs';

describe('start cancelled', () => {
  let world;
  useWorld((w) => (world = w));

  const inputs = (extra) => startInputs(world, { timeout: '600', ...extra });

  /** Keeps moto's RUNNING task PROVISIONING (RunTask) then PENDING (DescribeTasks). */
  function neverRunning() {
    world.moto.proxy.rewrite(
      (c) => c.operation === 'RunTask' || c.operation === 'DescribeTasks',
      (body, call) => {
        const early = call.operation === 'RunTask' ? 'PROVISIONING' : 'PENDING';
        for (const t of body.tasks ?? []) if (t.lastStatus === 'RUNNING') t.lastStatus = early;
        return body;
      },
    );
  }

  /** The task RunTask started, by its ARN in moto's answer. */
  function startedTask() {
    const runs = world.moto.proxy.calls('RunTask');
    assert.equal(runs.length, 1, 'expected one RunTask');
    return JSON.parse(runs[0].response).tasks[0].taskArn;
  }

  async function assertCancelledAndCleanedUp(result, signal, stage) {
    assert.equal(result.signalSent, true, `the signal was never sent (no waiting line?)\n${describeRun(result)}`);
    assert.equal(result.timedOut, false, `the action did not end after ${signal}\n${describeRun(result)}`);
    assert.equal(result.signal, null, `the action was killed by ${result.signal} instead of exiting\n${describeRun(result)}`);
    assert.notEqual(result.code, 0, `a cancelled start exited 0\n${describeRun(result)}`);

    const arn = startedTask();
    const taskId = arn.split('/').pop();
    const stops = world.moto.proxy.calls('StopTask');
    assert.ok(
      stops.some((s) => s.body.task === arn || arn.endsWith(`/${s.body.task}`)),
      `task ${taskId} was not stopped (StopTask: ${stops.map((s) => s.body.task).join(', ') || 'none'})\n${describeRun(result)}`,
    );
    assert.ok(stops.every((s) => s.status === 200), 'a StopTask failed');
    const [task] = await world.moto.tasks('runners');
    assert.equal(task.arn, arn);
    assert.equal(task.lastStatus, 'STOPPED');
    assert.match(task.stoppedReason, new RegExp(`Cancelled \\(${signal}\\)`), 'the stop reason says it was cancelled');

    assertRunnersCleanedUp(world.gh);

    const errors = errorText(annotations(result));
    const runnerName = world.gh.requestsTo('POST', '/generate-jitconfig')[0].body.name;
    assert.ok(
      errors.includes(`Cancelled (${signal}) while ${stage}`),
      `the ::error:: does not say it was cancelled by ${signal} while ${stage}:\n${errors}\n${describeRun(result)}`,
    );
    assert.ok(errors.includes(`stopped task ${taskId}`), `the ::error:: does not say the task was stopped:\n${errors}`);
    assert.ok(errors.includes(`deleted runner ${runnerName}`), `the ::error:: does not say the runner was deleted:\n${errors}`);
    assert.ok(result.summary.includes('failed'), `the summary does not show the failure:\n${result.summary}`);
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  }

  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal} while waiting for RUNNING: the task is stopped, the runner deleted, exit non-zero`, async () => {
      neverRunning();
      const result = await world.run({
        inputs: inputs(),
        signalAfter: { pattern: /^Task \S+: PENDING \(\d+s\)$/, signal },
      });
      // It was still polling when the signal came: PENDING is the last status logged.
      assert.ok(
        !result.lines.some((l) => /^Task \S+: RUNNING/.test(l)),
        `the task was reported RUNNING\n${describeRun(result)}`,
      );
      await assertCancelledAndCleanedUp(result, signal, 'waiting for the task to be RUNNING');
    });
  }

  test('SIGINT while waiting for the runner to come online: the task is stopped, the runner deleted', async () => {
    // The task is RUNNING (moto), the runner never comes online (fake GitHub).
    const result = await world.run({
      inputs: inputs({ 'wait-for-registration': 'true' }),
      signalAfter: { pattern: /^Waiting for runner \S+ to come online/, signal: 'SIGINT' },
    });
    await assertCancelledAndCleanedUp(result, 'SIGINT', 'waiting for the runner to come online');
  });
});
