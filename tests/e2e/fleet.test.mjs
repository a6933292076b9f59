// mode: start with `count` > 1 (a fleet, issue 7), and stop of a fleet. Runs
// dist/index.js as the Actions runner does against moto (through the
// recording proxy) and the fake GitHub, and reads back what they hold.
//
// The contract (action.yaml's count, runners, task_arns, ipaddrs,
// runner_names, task-arn and runner-id): with count N > 1, runner_id is one
// label every runner of the step carries; runner K (1-based) is named
// `{runner_id}-K` and carries its name as a label too; each runner has its
// own JIT config, its own task (one RunTask, count 1, its own clientToken)
// whose ecs-runner:runner-id tag is the runner's name. The first runner's
// values fill task_arn, task_id, ipaddr, runner_name, github_runner_id and
// their aliases. Requests go out concurrently, at most 10 to GitHub and 20
// to ECS at once; DescribeTasks carries up to 100 tasks. All or nothing: a
// runner that cannot be registered or started fails the step, which removes
// every runner and task it created. Stop takes the task_arns list and the
// shared label, or finds everything of the run when given nothing.
//
// To see concurrency at all, tests slow GitHub's and ECS's answers down
// (`delay`): both servers otherwise answer in about a millisecond.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs, REGION, REPOSITORY } from './lib/world.mjs';
import { annotations, describeRun } from './lib/action.mjs';
import {
  assertSucceeded,
  assertFailed,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  assertRunnerId,
  assertTaskTags,
  assertRunnersCleanedUp,
  expectedLabels,
  expectedClientToken,
  errorText,
} from './lib/checks.mjs';

const NAME = 'gh-runner';
const WORKDIR = '_fleet_work';
const USER_LABELS = ['gpu'];
/** action.yaml / issue 7: the bounds on requests in flight at once. */
const GITHUB_BOUND = 10;
const ECS_BOUND = 20;
const JIT_PATH = `/repos/${REPOSITORY}/actions/runners/generate-jitconfig`;

describe('fleet', () => {
  let world;
  useWorld((w) => (world = w));

  const inputs = (extra = {}) =>
    startInputs(world, { name: NAME, workdir: WORKDIR, labels: USER_LABELS.join(','), 'wait-for-registration': 'false', ...extra });

  const id = (arn) => arn.split('/').pop();
  /** A comma-separated output (stopped_tasks, deleted_runners), sorted. */
  const list = (value) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean).sort();
  const sorted = (values) => [...values].sort();

  /** A JSON output, parsed; fails saying which output is missing or not JSON. */
  function jsonOutput(result, name) {
    const text = result.outputs[name];
    assert.ok(text !== undefined && text !== '', `no output ${name} (outputs: ${Object.keys(result.outputs).join(', ')})\n${describeRun(result)}`);
    try {
      return JSON.parse(text);
    } catch (error) {
      assert.fail(`output ${name} is not JSON (${error.message}): ${text.slice(0, 300)}`);
    }
  }

  /**
   * The start's fleet outputs, checked against each other: runner_id (the
   * label), runners (N entries named label-1..label-N, in order), and
   * task_arns, ipaddrs, runner_names equal to the runners' fields.
   */
  function fleetOutputs(result, count) {
    const { outputs } = result;
    const label = outputs.runner_id;
    const ctx = world.context;
    assertRunnerId(label, { name: NAME, runId: ctx.GITHUB_RUN_ID, attempt: ctx.GITHUB_RUN_ATTEMPT });
    assert.equal(outputs.id, label, 'id is runner_id');
    const runners = jsonOutput(result, 'runners');
    assert.ok(Array.isArray(runners), 'runners is a JSON array');
    const names = Array.from({ length: count }, (_, i) => (count === 1 ? label : `${label}-${i + 1}`));
    assert.deepEqual(
      runners.map((r) => r.name),
      names,
      `runners are named ${count === 1 ? 'runner_id' : 'runner_id-1 .. runner_id-N'}, in order`,
    );
    for (const r of runners) {
      assert.deepEqual(
        Object.keys(r).sort(),
        ['capacity', 'github_runner_id', 'ipaddr', 'name', 'task_arn', 'task_id'],
        `fields of runner ${r.name}`,
      );
      assert.match(r.task_arn, /^arn:aws:ecs:[^:]+:\d{12}:task\/runners\/[0-9a-f-]+$/, `task_arn of ${r.name}`);
      assert.equal(r.task_id, id(r.task_arn), `task_id of ${r.name}`);
      assert.match(r.ipaddr ?? '', /^\d+\.\d+\.\d+\.\d+$/, `ipaddr of ${r.name}`);
      assert.equal(r.capacity, 'primary', `capacity of ${r.name} (no capacity-fallback given)`);
    }
    assert.equal(new Set(runners.map((r) => r.task_arn)).size, count, 'every runner has a task of its own');
    assert.deepEqual(jsonOutput(result, 'task_arns'), runners.map((r) => r.task_arn), 'task_arns');
    assert.deepEqual(jsonOutput(result, 'ipaddrs'), runners.map((r) => r.ipaddr), 'ipaddrs');
    assert.deepEqual(jsonOutput(result, 'runner_names'), names, 'runner_names');

    // The single-runner outputs hold the first runner's values.
    const [first] = runners;
    assert.equal(outputs.runner_name, first.name, 'runner_name is the first runner');
    assert.equal(String(outputs.github_runner_id), String(first.github_runner_id), 'github_runner_id is the first runner');
    for (const key of ['task_arn', 'arn', 'aws_task_arn']) assert.equal(outputs[key], first.task_arn, `${key} is the first task`);
    for (const key of ['task_id', 'aws_task_id']) assert.equal(outputs[key], first.task_id, `${key} is the first task`);
    assert.equal(outputs.ipaddr, first.ipaddr, 'ipaddr is the first task');
    assert.equal(outputs.cluster, 'runners');
    assert.equal(outputs.region, REGION);
    return { label, runners, names, taskArns: runners.map((r) => r.task_arn) };
  }

  /** Runs a start of `count` runners (exit 0 required); returns its fleet, job context and outputs. */
  async function launch(count, { context = {}, extra = {} } = {}) {
    const result = await world.run({ inputs: inputs({ count: String(count), ...extra }), context });
    assertSucceeded(result);
    const ctx = { ...world.context };
    const fleet = fleetOutputs(result, count);
    for (const name of fleet.names) assert.ok(world.gh.runnerByName(name), `the start registered no runner ${name}`);
    return { result, ctx, outputs: result.outputs, ...fleet };
  }

  /** Runs mode: stop in another job of the run of `ctx`. */
  function stop(ctx, extra = {}) {
    return world.run({
      inputs: { token: world.pat, name: NAME, cluster: 'runners', mode: 'stop', ...extra },
      context: {
        GITHUB_REPOSITORY: ctx.GITHUB_REPOSITORY,
        GITHUB_RUN_ID: ctx.GITHUB_RUN_ID,
        GITHUB_RUN_ATTEMPT: ctx.GITHUB_RUN_ATTEMPT,
        GITHUB_JOB: 'stop-runners',
      },
    });
  }

  /** Every task of the cluster by ARN, read back from moto (after the action ended: reads tick moto's states). */
  async function tasksByArn() {
    return new Map((await world.moto.tasks('runners')).map((t) => [t.arn, t]));
  }

  /** The runner-id tag of a recorded RunTask request. */
  const runTaskRunner = (call) => call.body.tags?.find((t) => t.key === 'ecs-runner:runner-id')?.value;

  /** ARNs of the tasks the RunTask calls started (from moto's answers as the action saw them). */
  const startedArns = () =>
    world.moto.proxy
      .calls('RunTask')
      .filter((c) => c.status === 200 && c.response)
      .flatMap((c) => JSON.parse(c.response).tasks?.map((t) => t.taskArn) ?? []);

  /** Task ids sent to StopTask since `since`. */
  const stopTaskIds = (since = 0) =>
    world.moto.proxy
      .calls('StopTask')
      .filter((c) => c.at >= since)
      .map((c) => id(c.body.task));

  /** The JIT config GitHub issued to the runner named `name`. */
  function jitConfigOf(name) {
    const answer = world.gh.requestsTo('POST', JIT_PATH).find((r) => r.status === 201 && r.body?.name === name);
    assert.ok(answer, `no JIT config was issued for ${name}`);
    return answer.response.encoded_jit_config;
  }

  test('count 5: five runners, each in its own RUNNING task with its own JIT config; registrations concurrent', async () => {
    // Slow registrations make concurrent requests visibly overlap.
    world.gh.delay({ method: 'POST', path: '/generate-jitconfig', ms: 300 });
    const { result, ctx, label, runners, names } = await launch(5);

    // GitHub: five JIT configs, one per name, with the shared label and the runner's own name.
    const jit = world.gh.requestsTo('POST', JIT_PATH);
    assert.equal(jit.length, 5, `expected 5 generate-jitconfig requests, got ${jit.length}`);
    assert.deepEqual(jit.map((r) => r.status), [201, 201, 201, 201, 201]);
    assert.deepEqual(sorted(jit.map((r) => r.body.name)), sorted(names));
    for (const r of jit) {
      const own = r.body.name;
      assert.deepEqual(
        r.body.labels,
        [...expectedLabels({ arch: 'X64', name: NAME, labels: USER_LABELS, runnerId: label }), own],
        `labels of ${own}: the usual ones, the shared runner_id, then its own name`,
      );
      assert.equal(r.body.runner_group_id, 1);
      assert.equal(r.body.work_folder, WORKDIR);
    }
    assert.equal(world.gh.runners.size, 5, 'five runners registered');
    for (const r of runners) {
      const registered = world.gh.runnerByName(r.name);
      assert.equal(String(r.github_runner_id), String(registered.id), `github_runner_id of ${r.name}`);
      const labelNames = registered.labels.map((l) => l.name);
      assert.ok(labelNames.includes(label) && labelNames.includes(r.name), `${r.name} lacks ${label} or its own name: ${labelNames}`);
    }
    assert.equal(world.gh.requests.filter((r) => r.method === 'DELETE').length, 0, 'nothing deleted');
    assert.equal(new Set(world.gh.issued.map((i) => i.value)).size, 5, 'five distinct JIT configs');

    // Concurrency: the five registrations went out together, and never more than 10 requests at once.
    assert.ok(world.gh.maxInFlight() <= GITHUB_BOUND, `GitHub saw ${world.gh.maxInFlight()} requests at once (bound ${GITHUB_BOUND})`);
    assert.equal(
      world.gh.maxInFlight(jit),
      5,
      `the 5 generate-jitconfig requests (each answered after 300 ms) should all be in flight together; at most ${world.gh.maxInFlight(jit)} were`,
    );

    // ECS: one RunTask per runner, count 1, its own clientToken and JIT config.
    const runs = world.moto.proxy.calls('RunTask');
    assert.equal(runs.length, 5, `expected 5 RunTask calls, got ${runs.length}`);
    assert.deepEqual(sorted(runs.map(runTaskRunner)), sorted(names), 'one RunTask per runner, tagged with its name');
    for (const run of runs) {
      const own = runTaskRunner(run);
      assert.equal(run.body.count, 1, `RunTask of ${own} asks for one task`);
      const env = Object.fromEntries(run.body.overrides.containerOverrides[0].environment.map((e) => [e.name, e.value]));
      assert.equal(env.ACTIONS_RUNNER_INPUT_JITCONFIG, jitConfigOf(own), `the RunTask of ${own} carries ${own}'s JIT config`);
      const index = names.indexOf(own);
      assert.equal(
        run.body.clientToken,
        expectedClientToken({ runId: ctx.GITHUB_RUN_ID, attempt: ctx.GITHUB_RUN_ATTEMPT, job: ctx.GITHUB_JOB, runnerId: label }, index),
        `clientToken of ${own} (index ${index})`,
      );
    }
    assert.equal(new Set(runs.map((r) => r.body.clientToken)).size, 5, 'distinct clientTokens');
    assert.ok(world.moto.proxy.maxInFlight() <= ECS_BOUND, `ECS saw ${world.moto.proxy.maxInFlight()} calls at once`);

    // DescribeTasks batches the fleet's tasks (up to 100 a call).
    const describes = world.moto.proxy.calls('DescribeTasks');
    assert.ok(describes.length >= 1, 'the tasks were never described');
    const sizes = describes.map((d) => d.body.tasks.length);
    assert.ok(Math.max(...sizes) >= 2, `every DescribeTasks carried one task (sizes ${sizes}): not batched`);
    assert.ok(Math.max(...sizes) <= 100, `a DescribeTasks carried more than 100 tasks (sizes ${sizes})`);

    // The tasks, as moto holds them.
    const tasks = await tasksByArn();
    assert.equal(tasks.size, 5, `expected 5 tasks in the cluster, found ${tasks.size}`);
    for (const r of runners) {
      const task = tasks.get(r.task_arn);
      assert.ok(task, `task ${r.task_arn} of ${r.name} is not in moto`);
      assert.equal(task.lastStatus, 'RUNNING', `task of ${r.name}`);
      assert.equal(task.ip, r.ipaddr, `ipaddr of ${r.name}`);
      assert.equal(task.startedBy, `ecs-runner/${ctx.GITHUB_RUN_ID}`);
      assertTaskTags(task, {
        runnerId: r.name,
        repository: REPOSITORY,
        context: REPOSITORY,
        runId: ctx.GITHUB_RUN_ID,
        attempt: ctx.GITHUB_RUN_ATTEMPT,
        job: ctx.GITHUB_JOB,
      });
      assert.deepEqual(Object.keys(task.env), ['runner']);
      assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, jitConfigOf(r.name), `${r.name}'s task holds its own JIT config`);
      assert.ok(!JSON.stringify(task.raw).includes(world.pat), 'the PAT is in a task');
    }

    // The job summary: a table row per runner, with its task.
    const rows = result.summary.split('\n').filter((l) => /^\s*\|.*\|\s*$/.test(l));
    for (const r of runners) {
      assert.ok(
        rows.some((l) => l.includes(r.name) && l.includes(r.task_id)),
        `no summary row with runner ${r.name} and task ${r.task_id}:\n${result.summary}`,
      );
    }

    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('count 25: at most 10 GitHub and 20 ECS requests in flight, and both bounds are used', async () => {
    // Registrations answered after 200 ms, RunTask after 1500 ms: a start
    // that keeps each service busy up to its bound has 10 registrations in
    // flight (3 waves for 25), then 20 RunTasks (the first two waves' runners)
    // while the last 5 wait for a free slot.
    world.gh.delay({ method: 'POST', path: '/generate-jitconfig', ms: 200 });
    world.moto.proxy.delay((c) => c.operation === 'RunTask', 1_500);
    const { result, runners } = await launch(25);

    const jit = world.gh.requestsTo('POST', JIT_PATH);
    assert.equal(jit.length, 25);
    assert.ok(world.gh.maxInFlight() <= GITHUB_BOUND, `GitHub saw ${world.gh.maxInFlight()} requests at once (bound ${GITHUB_BOUND})`);
    assert.equal(world.gh.maxInFlight(jit), GITHUB_BOUND, `registrations in flight at once: ${world.gh.maxInFlight(jit)}, not the bound`);

    const runs = world.moto.proxy.calls('RunTask');
    assert.equal(runs.length, 25);
    const ecsPeak = world.moto.proxy.maxInFlight(world.moto.proxy.requests.filter((c) => c.service === 'ecs'));
    assert.ok(ecsPeak <= ECS_BOUND, `ECS saw ${ecsPeak} calls at once (bound ${ECS_BOUND})`);
    assert.equal(world.moto.proxy.maxInFlight(runs), ECS_BOUND, `RunTasks in flight at once: ${world.moto.proxy.maxInFlight(runs)}, not the bound`);

    for (const d of world.moto.proxy.calls('DescribeTasks')) assert.ok(d.body.tasks.length <= 100);
    const tasks = await tasksByArn();
    assert.equal(tasks.size, 25);
    for (const r of runners) assert.equal(tasks.get(r.task_arn)?.lastStatus, 'RUNNING', `task of ${r.name}`);
    assert.equal(world.gh.runners.size, 25);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('count 1 (the default): one runner named runner_id, and the list outputs hold it', async () => {
    const result = await world.run({ inputs: inputs() }); // count not set: action.yaml's default
    assertSucceeded(result);
    const { outputs } = result;
    const { label, runners } = fleetOutputs(result, 1);
    assert.equal(outputs.runner_name, label, 'with count 1 the name is runner_id');
    assert.equal(runners.length, 1);
    const jit = world.gh.requestsTo('POST', JIT_PATH);
    assert.equal(jit.length, 1);
    assert.equal(jit[0].body.name, label);
    assert.deepEqual(jit[0].body.labels, expectedLabels({ arch: 'X64', name: NAME, labels: USER_LABELS, runnerId: label }), 'no extra label');
    const tasks = [...(await tasksByArn()).values()];
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].arn, outputs.task_arn);
    assert.equal(tasks[0].tags['ecs-runner:runner-id'], label);
    assertSecretsHandled(result, world);
  });

  test('count outside 1..100 or not a number: exit 1 naming count and the value; nothing contacted', async () => {
    for (const bad of ['0', '101', 'five', '2.5', '-3']) {
      const result = await world.run({ inputs: inputs({ count: bad }) });
      assertFailed(result);
      const errors = errorText(annotations(result));
      assert.ok(
        /\bcount\b/.test(errors) && errors.includes(`'${bad}'`),
        `count ${bad}: the error does not name count and the quoted value:\n${errors}\n${describeRun(result)}`,
      );
      assert.deepEqual(world.gh.requests.map((r) => `${r.method} ${r.path}`), [], `count ${bad}: GitHub was contacted`);
      assert.deepEqual(world.moto.proxy.requests.map((r) => r.operation), [], `count ${bad}: AWS was contacted`);
      assertSecretsHandled(result, world);
    }
  });

  test("count 5, then stop with the outputs (task_arns JSON, runner_id): every task STOPPED, every runner deleted", async () => {
    const ours = await launch(5);
    const stopAt = Date.now();
    const result = await stop(ours.ctx, { 'task-arn': ours.outputs.task_arns, 'runner-id': ours.label });
    assertSucceeded(result);

    assert.deepEqual(sorted(stopTaskIds(stopAt)), sorted(ours.taskArns.map(id)), 'one StopTask per task of the fleet');
    const tasks = await tasksByArn();
    for (const arn of ours.taskArns) assert.equal(tasks.get(arn).lastStatus, 'STOPPED', `task ${id(arn)}`);

    assert.equal(world.gh.runners.size, 0, `runners still registered: ${[...world.gh.runners.values()].map((r) => r.name)}`);
    const deletes = world.gh.requests.filter((r) => r.method === 'DELETE');
    assert.deepEqual(
      sorted(deletes.map((d) => `${d.path} ${d.status}`)),
      sorted(ours.runners.map((r) => `/repos/${REPOSITORY}/actions/runners/${r.github_runner_id} 204`)),
      'one DELETE per runner',
    );

    assert.deepEqual(list(result.outputs.stopped_tasks), sorted(ours.taskArns), 'stopped_tasks');
    assert.deepEqual(list(result.outputs.deleted_runners), sorted(ours.names), 'deleted_runners');
    for (const r of ours.runners) {
      assert.ok(result.summary.includes(r.task_id) && result.summary.includes(r.name), `summary lacks ${r.name} or its task:\n${result.summary}`);
    }
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  test('count 3, then stop with task-arn as a list of ARNs and ids (commas, spaces, newlines): tasks stopped, runners found by their tags', async () => {
    const ours = await launch(3);
    const [a, b, c] = ours.taskArns;
    const stopAt = Date.now();
    // No runner-id: each task's ecs-runner:runner-id tag names its runner.
    const result = await stop(ours.ctx, { 'task-arn': `${a},\n ${id(b)}\n\n${c} ` });
    assertSucceeded(result);
    // moto's DescribeTasks finds a task whose id is a SUBSTRING of any entry
    // (moto/ecs/models.py), so a list split wrongly still "works" there: the
    // requests themselves must name each task cleanly.
    const known = new Set([...ours.taskArns, ...ours.taskArns.map(id)]);
    for (const call of world.moto.proxy.requests.filter((r) => r.at >= stopAt && ['DescribeTasks', 'StopTask'].includes(r.operation))) {
      for (const task of call.body.tasks ?? [call.body.task]) {
        assert.ok(known.has(task), `${call.operation} was sent ${JSON.stringify(task)}: task-arn was not split into ARNs and ids`);
      }
    }
    assert.deepEqual(sorted(stopTaskIds(stopAt)), sorted([a, b, c].map(id)));
    const tasks = await tasksByArn();
    for (const arn of ours.taskArns) assert.equal(tasks.get(arn).lastStatus, 'STOPPED', `task ${id(arn)}`);
    assert.equal(world.gh.runners.size, 0, `runners still registered: ${[...world.gh.runners.values()].map((r) => r.name)}`);
    assert.deepEqual(list(result.outputs.stopped_tasks), sorted(ours.taskArns), 'stopped_tasks holds ARNs, also for a task given by id');
    assert.deepEqual(list(result.outputs.deleted_runners), sorted(ours.names));
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  test('count 3, then stop with only runner-id (the shared label): every runner of the step and its task removed', async () => {
    // Another step of the same run, whose runners must survive: the label of
    // one step is not a prefix of another's.
    const ours = await launch(3);
    const sibling = await launch(2, { context: { GITHUB_RUN_ID: ours.ctx.GITHUB_RUN_ID, GITHUB_JOB: 'start-more' } });
    const stopAt = Date.now();
    const result = await stop(ours.ctx, { 'runner-id': ours.label });
    assertSucceeded(result);

    assert.deepEqual(sorted(stopTaskIds(stopAt)), sorted(ours.taskArns.map(id)), "StopTask for this step's tasks only");
    const tasks = await tasksByArn();
    for (const arn of ours.taskArns) assert.equal(tasks.get(arn).lastStatus, 'STOPPED', `task ${id(arn)}`);
    for (const arn of sibling.taskArns) assert.equal(tasks.get(arn).lastStatus, 'RUNNING', `the other step's task ${id(arn)}`);
    for (const name of ours.names) assert.equal(world.gh.runnerByName(name), undefined, `${name} is still registered`);
    for (const name of sibling.names) assert.ok(world.gh.runnerByName(name), `the other step's runner ${name} was deleted`);
    assert.deepEqual(list(result.outputs.deleted_runners), sorted(ours.names));
    assert.deepEqual(list(result.outputs.stopped_tasks), sorted(ours.taskArns));
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  test("count 5, then stop with no inputs in the same run: all of the run's runners and tasks removed; another run's survive", async () => {
    const otherRun = await launch(2);
    const ours = await launch(5);
    // A count 1 step of the same run: also this run's.
    const single = await launch(1, { context: { GITHUB_RUN_ID: ours.ctx.GITHUB_RUN_ID, GITHUB_JOB: 'start-single' } });
    const mine = { arns: [...ours.taskArns, ...single.taskArns], names: [...ours.names, ...single.names] };

    const stopAt = Date.now();
    const result = await stop(ours.ctx); // the launch job never set its outputs
    assertSucceeded(result);

    assert.deepEqual(sorted(stopTaskIds(stopAt)), sorted(mine.arns.map(id)), 'StopTask for this run’s tasks only');
    const tasks = await tasksByArn();
    for (const arn of mine.arns) assert.equal(tasks.get(arn).lastStatus, 'STOPPED', `task ${id(arn)}`);
    for (const arn of otherRun.taskArns) assert.equal(tasks.get(arn).lastStatus, 'RUNNING', `another run's task ${id(arn)} was touched`);

    for (const name of mine.names) assert.equal(world.gh.runnerByName(name), undefined, `${name} is still registered`);
    for (const name of otherRun.names) assert.ok(world.gh.runnerByName(name), `another run's runner ${name} was deleted`);
    const deleted = world.gh.requests.filter((r) => r.method === 'DELETE');
    assert.ok(deleted.every((d) => d.status === 204), deleted.map((d) => `${d.path} ${d.status}`).join(', '));
    assert.equal(deleted.length, mine.names.length, 'one DELETE per runner of this run');

    assert.deepEqual(list(result.outputs.stopped_tasks), sorted(mine.arns));
    assert.deepEqual(list(result.outputs.deleted_runners), sorted(mine.names));
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  /**
   * After a failed fleet start: no task of the run is alive, every task
   * started was stopped, and no runner is left registered.
   */
  async function assertAllRemoved(result) {
    const started = startedArns();
    const stopped = new Set(world.moto.proxy.calls('StopTask').filter((c) => c.status === 200).map((c) => id(c.body.task)));
    for (const arn of started) assert.ok(stopped.has(id(arn)), `task ${id(arn)} was started and never stopped\n${describeRun(result)}`);
    const live = [...(await tasksByArn()).values()].filter((t) => t.lastStatus !== 'STOPPED');
    assert.deepEqual(live.map((t) => `${t.tags['ecs-runner:runner-id']} ${t.lastStatus}`), [], 'tasks left running');
    assertRunnersCleanedUp(world.gh);
  }

  test('GitHub refuses one runner of 4 (422): exit 1 naming it and the reason; every runner and task removed', async () => {
    const refusal = 'Validation Failed: e2e refuses the third runner';
    const third = (r) => /-3$/.test(r.body?.name ?? '');
    world.gh.fail({ method: 'POST', path: '/generate-jitconfig', match: third, status: 422, body: { message: refusal, status: '422' } });
    // Answered last, so the other three are registered (and may be starting) when it fails.
    world.gh.delay({ method: 'POST', path: '/generate-jitconfig', match: third, ms: 800 });
    const result = await world.run({ inputs: inputs({ count: '4' }) });
    assertFailed(result);

    const jit = world.gh.requestsTo('POST', JIT_PATH);
    const refused = jit.filter((r) => r.status === 422);
    assert.ok(refused.length >= 1, `the third runner was never asked for\n${describeRun(result)}`);
    const name = refused[0].body.name;
    const label = name.replace(/-3$/, '');
    assertRunnerId(label, { name: NAME, runId: world.context.GITHUB_RUN_ID, attempt: world.context.GITHUB_RUN_ATTEMPT });
    assert.ok(jit.filter((r) => r.status === 201).every((r) => /-[124]$/.test(r.body.name)), 'the others were registered');
    const errors = errorText(annotations(result));
    assert.ok(errors.includes(name), `the error does not name runner ${name}:\n${errors}\n${describeRun(result)}`);
    assert.ok(errors.includes(refusal), `the error does not give GitHub's reason:\n${errors}`);
    assert.ok(!world.moto.proxy.calls('RunTask').some((c) => runTaskRunner(c) === name), 'a task was started for the refused runner');

    await assertAllRemoved(result);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('ECS starts no task for one runner of 4 (failures[]): exit 1 naming it and the reason; every runner and task removed', async () => {
    const second = (c) => c.operation === 'RunTask' && /-2$/.test(runTaskRunner(c) ?? '');
    world.moto.proxy.intercept(second, {
      status: 200,
      body: {
        tasks: [],
        failures: [{ arn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/runners', reason: 'ATTRIBUTE', detail: 'e2e: no placement for the second runner' }],
      },
    });
    const result = await world.run({ inputs: inputs({ count: '4' }) });
    assertFailed(result);

    const refused = world.moto.proxy.calls('RunTask').filter(second);
    assert.ok(refused.length >= 1, `no RunTask for the second runner\n${describeRun(result)}`);
    const name = runTaskRunner(refused[0]);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes(name), `the error does not name runner ${name}:\n${errors}\n${describeRun(result)}`);
    assert.ok(errors.includes('ATTRIBUTE'), `the error does not give ECS's reason:\n${errors}`);
    assert.equal(world.gh.requestsTo('POST', JIT_PATH).filter((r) => r.status === 201).length, 4, 'four runners were registered');

    await assertAllRemoved(result);
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });

  test('a secondary rate limit (403, retry-after: 1) on one registration is waited out; the start succeeds', async () => {
    // docs.github.com, "Rate limits for the REST API": wait retry-after seconds.
    world.gh.fail({
      method: 'POST',
      path: '/generate-jitconfig',
      match: (r) => /-2$/.test(r.body?.name ?? ''),
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        status: '403',
      },
      times: 1,
    });
    const { result, names } = await launch(3);

    const tries = world.gh.requestsTo('POST', JIT_PATH).filter((r) => r.body.name === names[1]);
    assert.deepEqual(tries.map((r) => r.status), [403, 201], `${names[1]}: refused once, then registered`);
    const waited = tries[1].at - tries[0].doneAt;
    assert.ok(waited >= 950, `the retry came ${waited} ms after the 403, before retry-after's 1 s`);
    assert.ok(
      result.lines.some((l) => /403|rate limit/i.test(l) && /retry|wait/i.test(l) && !l.startsWith('::debug::')),
      `no log line says it waited for the rate limit\n${describeRun(result)}`,
    );
    const tasks = await tasksByArn();
    assert.equal(tasks.size, 3);
    assert.ok([...tasks.values()].every((t) => t.lastStatus === 'RUNNING'));
    assert.equal(world.gh.runners.size, 3);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
  });
});
