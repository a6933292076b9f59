// mode: stop. A start runs first (the real action against moto and the fake
// GitHub), then stop runs in the same workflow run (same GITHUB_RUN_ID and
// attempt, another GITHUB_JOB), as the README's start/job/stop workflow does.
// Checks core/src/stop.rs and cleanup.rs from outside: StopTask with a reason
// naming the run, the task STOPPED, the runner deleted, the outputs
// stopped_tasks / deleted_runners, the summary; what is not this run's is
// left alone; a second stop is a success; a busy runner is not deleted.

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs, REGION, REPOSITORY } from './lib/world.mjs';
import { annotations, describeRun, readActionYaml } from './lib/action.mjs';
import {
  assertSucceeded,
  assertFailed,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  errorText,
} from './lib/checks.mjs';

const NAME = 'gh-runner';
const OTHER_REPOSITORY = 'octo-org/other-repo';

describe('stop', () => {
  let world;
  useWorld((w) => (world = w));

  const launchInputs = () => startInputs(world, { name: NAME });

  /**
   * Runs a start (exit 0 required) and returns its outputs, job context and
   * GitHub runner. `context` overrides the job's GITHUB_* values.
   */
  async function start(context = {}) {
    const result = await world.run({ inputs: launchInputs(), context });
    assertSucceeded(result);
    const ctx = { ...world.context };
    const runner = world.gh.runnerByName(result.outputs.runner_id);
    assert.ok(runner, `the start registered no runner ${result.outputs.runner_id}`);
    return { outputs: result.outputs, ctx, runner, arn: result.outputs.task_arn };
  }

  /** Runs mode: stop in the job context `ctx` (another job of the same run). */
  function stop(ctx, inputs = {}) {
    return world.run({
      inputs: { token: world.pat, name: NAME, cluster: 'runners', mode: 'stop', ...inputs },
      context: {
        GITHUB_REPOSITORY: ctx.GITHUB_REPOSITORY,
        GITHUB_RUN_ID: ctx.GITHUB_RUN_ID,
        GITHUB_RUN_ATTEMPT: ctx.GITHUB_RUN_ATTEMPT,
        GITHUB_JOB: 'stop-runner',
      },
    });
  }

  /** Every task of the cluster by ARN, read back from moto (after the action ended). */
  async function tasksByArn() {
    return new Map((await world.moto.tasks('runners')).map((t) => [t.arn, t]));
  }

  /**
   * The PAT and AWS keys masked first, no secret in any line (::debug::
   * included), output or the summary.
   */
  const assertStopSecrets = (result) => assertSecretsHandled(result, world, { issuedHere: false });

  /** The comma-separated list of an output (stopped_tasks: ARNs; deleted_runners: names). */
  const names = (value) => (value ?? '').split(',').filter(Boolean);
  const id = (arn) => arn.split('/').pop();

  /** StopTask calls the stop run made, by task id. */
  const stopTaskIds = (since = 0) =>
    world.moto.proxy
      .calls('StopTask')
      .filter((c) => c.at >= since)
      .map((c) => id(c.body.task));

  test("with the start step's outputs: StopTask with a reason naming the run, task STOPPED, runner deleted", async () => {
    const ours = await start();
    const stopAt = Date.now();
    const result = await stop(ours.ctx, { 'task-arn': ours.arn, 'runner-id': ours.outputs.runner_id });
    assertSucceeded(result);

    // ECS: one StopTask for that task, with a reason naming the repository and run.
    const stops = world.moto.proxy.calls('StopTask').filter((c) => c.at >= stopAt);
    assert.equal(stops.length, 1, `StopTask calls: ${stops.map((s) => s.body.task).join(', ')}`);
    assert.ok(stops[0].body.task === ours.arn || ours.arn.endsWith(`/${stops[0].body.task}`), stops[0].body.task);
    assert.equal(stops[0].body.cluster, 'runners');
    const reason = stops[0].body.reason ?? '';
    assert.ok(reason.includes(REPOSITORY), `StopTask reason does not name the repository: ${reason}`);
    assert.ok(reason.includes(ours.ctx.GITHUB_RUN_ID), `StopTask reason does not name the run id: ${reason}`);
    const task = (await tasksByArn()).get(ours.arn);
    assert.equal(task.lastStatus, 'STOPPED');
    assert.equal(task.desiredStatus, 'STOPPED');
    assert.equal(task.stoppedReason, reason);

    // GitHub: the runner deleted with one DELETE. runner-id may name a
    // fleet, so the runners are listed (and the task's tag may also look its
    // runner up by name, unless the listing found it first).
    assert.equal(world.gh.runners.size, 0, 'the runner is still registered');
    const deletes = world.gh.requestsTo('DELETE', `/repos/${REPOSITORY}/actions/runners/${ours.runner.id}`);
    assert.deepEqual(deletes.map((d) => d.status), [204]);
    const listings = world.gh.requests.filter((r) => r.method === 'GET' && r.query.per_page === '100' && r.at >= stopAt);
    assert.equal(listings.length, 1, 'the runners are listed once');
    const byName = world.gh.requests.filter((r) => r.method === 'GET' && r.query.name === ours.outputs.runner_id && r.at >= stopAt);
    assert.ok(byName.length <= 1, 'the runner from the task tag is looked up at most once');

    // Outputs and summary name them.
    assert.deepEqual(names(result.outputs.stopped_tasks), [ours.arn]);
    assert.deepEqual(names(result.outputs.deleted_runners), [ours.outputs.runner_id]);
    assert.equal(result.outputs.cluster, 'runners');
    assert.equal(result.outputs.region, REGION);
    assert.ok(result.summary.includes(id(ours.arn)), `summary lacks the task:\n${result.summary}`);
    assert.ok(result.summary.includes(ours.outputs.runner_id), `summary lacks the runner:\n${result.summary}`);
    assert.match(result.summary, /\|\s*task\s*\|[^\n]*\|\s*stopped/, `no "stopped" task row:\n${result.summary}`);
    assert.ok(
      result.lines.some((l) => l.includes(`deleted runner ${ours.outputs.runner_id}`)),
      `the log does not say the runner was deleted\n${describeRun(result)}`,
    );

    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertStopSecrets(result);
  });

  test('stopped_tasks holds the task ARNs, as action.yaml documents', async () => {
    const documented = readActionYaml().outputs.stopped_tasks.description;
    assert.match(documented, /ARNs of the tasks stopped/, 'action.yaml changed: update this test');
    const ours = await start();
    const result = await stop(ours.ctx, { 'task-arn': ours.arn, 'runner-id': ours.outputs.runner_id });
    assertSucceeded(result);
    assert.equal(
      result.outputs.stopped_tasks,
      ours.arn,
      `action.yaml: stopped_tasks is "${documented.trim()}", but stop set it to ${JSON.stringify(result.outputs.stopped_tasks)} (the task id, not its ARN ${ours.arn})`,
    );
  });

  test('debug: true prints no secret, not even the JIT config held in the task it describes', async () => {
    // behaviour.md, "Logs and secrets": no line other than ::add-mask:: holds
    // a secret. The stop step describes the task, whose overrides hold the
    // runner's JIT config (ACTIONS_RUNNER_INPUT_JITCONFIG); the start step
    // masked it, but that mask does not carry over to another job.
    const ours = await start();
    const result = await world.run({
      inputs: { token: world.pat, name: NAME, cluster: 'runners', mode: 'stop', debug: 'true', 'task-arn': ours.arn, 'runner-id': ours.outputs.runner_id },
      context: { GITHUB_RUN_ID: ours.ctx.GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT: ours.ctx.GITHUB_RUN_ATTEMPT, GITHUB_JOB: 'stop-runner' },
    });
    assertSucceeded(result);
    const [jit] = world.gh.issued;
    const leaks = result.lines.filter((l) => !l.startsWith('::add-mask::') && l.includes(jit.value));
    assert.deepEqual(
      leaks.map((l) => {
        const at = l.indexOf(jit.value);
        return `…${l.slice(Math.max(0, at - 90), at)}<JIT CONFIG>…`;
      }),
      [],
      `stop with debug: true printed the runner's JIT config (from DescribeTasks' containerOverrides) in ${leaks.length} line(s)`,
    );
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  test("with no inputs: finds this run's task and runner; another run's and another repository's survive", async () => {
    // Another run of the same workflow (another run id), same repository.
    const otherRun = await start();
    // Another repository's runner started in the same cluster by a run with the
    // SAME run id as ours: it has our startedBy, and only its
    // ecs-runner:repository tag tells it apart.
    world.gh.addRepo(OTHER_REPOSITORY);
    const ours = await start();
    const otherRepo = await start({ GITHUB_REPOSITORY: OTHER_REPOSITORY, GITHUB_RUN_ID: ours.ctx.GITHUB_RUN_ID });
    assert.equal((await tasksByArn()).get(otherRepo.arn).startedBy, `ecs-runner/${ours.ctx.GITHUB_RUN_ID}`);

    const stopAt = Date.now();
    const result = await stop(ours.ctx); // task-arn and runner-id empty: the launch job never set them
    assertSucceeded(result);

    const lists = world.moto.proxy.calls('ListTasks').filter((c) => c.at >= stopAt);
    assert.ok(lists.length >= 1, 'ListTasks was not used');
    assert.equal(lists[0].body.startedBy, `ecs-runner/${ours.ctx.GITHUB_RUN_ID}`);
    assert.deepEqual(stopTaskIds(stopAt), [id(ours.arn)], 'StopTask only for this run and repository');

    const tasks = await tasksByArn();
    assert.equal(tasks.get(ours.arn).lastStatus, 'STOPPED');
    assert.equal(tasks.get(otherRun.arn).lastStatus, 'RUNNING', "another run's task was touched");
    assert.equal(tasks.get(otherRepo.arn).lastStatus, 'RUNNING', "another repository's task was touched");

    assert.equal(world.gh.runnerByName(ours.outputs.runner_id), undefined, 'our runner is still registered');
    assert.ok(world.gh.runnerByName(otherRun.outputs.runner_id), "another run's runner was deleted");
    assert.ok(world.gh.runnerByName(otherRepo.outputs.runner_id), "another repository's runner was deleted");
    const deletes = world.gh.requests.filter((r) => r.method === 'DELETE');
    assert.deepEqual(
      deletes.map((d) => `${d.path} ${d.status}`),
      [`/repos/${REPOSITORY}/actions/runners/${ours.runner.id} 204`],
    );

    assert.deepEqual(names(result.outputs.stopped_tasks), [ours.arn]);
    assert.deepEqual(names(result.outputs.deleted_runners), [ours.outputs.runner_id]);
    assert.ok(result.summary.includes(id(ours.arn)) && result.summary.includes(ours.outputs.runner_id), result.summary);
    assert.ok(!result.summary.includes(id(otherRepo.arn)) && !result.summary.includes(id(otherRun.arn)), result.summary);
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertStopSecrets(result);
  });

  test('run twice: the second stop succeeds, says all was already gone, and sends no StopTask or DELETE', async () => {
    const ours = await start();
    const inputs = { 'task-arn': ours.arn, 'runner-id': ours.outputs.runner_id };
    assertSucceeded(await stop(ours.ctx, inputs));
    const secondAt = Date.now();
    const result = await stop(ours.ctx, inputs);
    assertSucceeded(result);
    assert.deepEqual(stopTaskIds(secondAt), [], 'the second stop sent StopTask again');
    const deletes = world.gh.requests.filter((r) => r.method === 'DELETE' && r.at >= secondAt);
    assert.deepEqual(deletes.map((d) => `${d.path} ${d.status}`), [], 'the second stop sent DELETE again');
    const log = result.lines.join('\n');
    assert.ok(log.includes(`task ${id(ours.arn)} was already stopped`), `no "already stopped" in the log\n${describeRun(result)}`);
    assert.ok(
      log.includes(`runner ${ours.outputs.runner_id} is not registered (already removed)`),
      `no "already removed" in the log\n${describeRun(result)}`,
    );
    assert.equal(result.outputs.stopped_tasks, '', 'nothing was stopped this time');
    assert.equal(result.outputs.deleted_runners, '', 'nothing was deleted this time');
    assert.deepEqual(annotations(result), [], 'no ::error:: on a repeated stop');
    assertStopSecrets(result);
  });

  test('a busy runner is not deleted and the log says so; the task is still stopped; exit 0', async () => {
    // What core/src/cleanup.rs does: CheckTask -> StopTask first, then the
    // runner is looked up by name and, being busy, left registered with a
    // warning (a "done" line, not a problem: the stop succeeds).
    const ours = await start();
    world.gh.setRunner(ours.runner.id, { status: 'online', busy: true });
    const result = await stop(ours.ctx, { 'task-arn': ours.arn, 'runner-id': ours.outputs.runner_id });
    assertSucceeded(result);
    assert.ok(world.gh.runnerByName(ours.outputs.runner_id), 'the busy runner was deleted');
    assert.equal(world.gh.requests.filter((r) => r.method === 'DELETE').length, 0, 'a DELETE was sent for a busy runner');
    const warnings = annotations(result, 'warning').join('\n');
    assert.ok(
      warnings.includes(`Runner ${ours.outputs.runner_id} is busy with a job; not deleted`),
      `no ::warning:: about the busy runner:\n${warnings}\n${describeRun(result)}`,
    );
    assert.equal(result.outputs.deleted_runners, '');
    assert.ok(result.summary.includes('busy'), `the summary does not mention the busy runner:\n${result.summary}`);
    // The task the busy runner lives in IS stopped (its job dies with it).
    assert.deepEqual(stopTaskIds(), [id(ours.arn)]);
    assert.equal((await tasksByArn()).get(ours.arn).lastStatus, 'STOPPED');
    assertStopSecrets(result);
  });

  test("task-arn of another repository's task, or of a task ecs-runner did not start: refused, exit 1, left alone", async () => {
    world.gh.addRepo(OTHER_REPOSITORY);
    const theirs = await start({ GITHUB_REPOSITORY: OTHER_REPOSITORY });
    const mine = await start();
    const stopAt = Date.now();
    const result = await stop(mine.ctx, { 'task-arn': theirs.arn });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.ok(
      errors.includes(`task ${id(theirs.arn)} belongs to repository ${OTHER_REPOSITORY}, not ${REPOSITORY}; left alone`),
      `the error does not say whose task it is:\n${errors}\n${describeRun(result)}`,
    );
    assert.deepEqual(stopTaskIds(stopAt), [], 'StopTask was sent for another repository’s task');
    assert.equal((await tasksByArn()).get(theirs.arn).lastStatus, 'RUNNING');
    assert.ok(world.gh.runnerByName(theirs.outputs.runner_id), "the other repository's runner was deleted");
    assert.equal(world.gh.requests.filter((r) => r.method === 'DELETE').length, 0);
    assert.equal(result.outputs.stopped_tasks, '');

    // A task without ecs-runner's tags (started by hand in the same cluster).
    const { network } = world.seeds;
    const { tasks } = await world.moto.ecs('RunTask', {
      cluster: 'runners',
      taskDefinition: 'gh-runner',
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: [network.subnets[0]], securityGroups: network.securityGroups } },
    });
    const foreign = tasks[0].taskArn;
    const secondAt = Date.now();
    const again = await stop(mine.ctx, { 'task-arn': id(foreign) }); // a task id works as well as an ARN
    assertFailed(again);
    const errors2 = errorText(annotations(again));
    assert.ok(
      errors2.includes(`task ${id(foreign)} was not started by ecs-runner`),
      `the error does not say the task is not ecs-runner's:\n${errors2}\n${describeRun(again)}`,
    );
    assert.deepEqual(stopTaskIds(secondAt), []);
    assert.equal((await tasksByArn()).get(foreign).lastStatus, 'RUNNING');
    assertStopSecrets(result);
    assertStopSecrets(again);
  });
});
