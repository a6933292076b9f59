// mode: reap, for a scheduled workflow: in one cluster and one context,
// stop ecs-runner's tasks older than max-age whose runner is not busy, and
// delete ecs-runner's runners that are done with (core/src/reap.rs).
//
// The tasks are started by the real action (start mode) so they carry the
// real tags; a task without our tags is started straight in moto. moto gives
// tasks no createdAt: the proxy adds one to every DescribeTasks answer (epoch
// seconds with a fraction, as ECS's JSON does), from the age a test gives the
// task (default: created now).
//
// Runner rules tested: busy -> kept; its task being stopped -> deleted;
// online -> kept; offline with a live young task -> kept. An offline runner
// with NO live task in this cluster is aged by its workflow run (the run id in
// its name, GET /repos/{owner}/{repo}/actions/runs/{id}): completed, started
// max-age ago, or 404 -> deleted; younger, or unreadable (403, 500) -> kept
// with a note. That rule is newer than some cores: those tests fail on a core
// that deletes every offline orphan unlooked.

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useWorld, REGION, REPOSITORY } from './lib/world.mjs';
import { annotations, describeRun, readActionYaml } from './lib/action.mjs';
import {
  assertSucceeded,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  expectedLabels,
} from './lib/checks.mjs';

const NAME = 'gh-runner';
const OTHER_REPOSITORY = 'octo-org/other-repo';
const HOUR = 3600;

describe('reap', () => {
  let world;
  /** Task ARN -> age in seconds, for the createdAt the proxy adds. */
  let ages;
  useWorld((w) => (world = w), {
    fresh: () => {
      world.gh.addRepo(OTHER_REPOSITORY);
      ages = new Map();
      world.moto.proxy.rewrite(
        (c) => c.operation === 'DescribeTasks',
        (body) => {
          const now = Date.now() / 1000;
          for (const t of body.tasks ?? []) t.createdAt = Number((now - (ages.get(t.taskArn) ?? 0)).toFixed(3));
          return body;
        },
      );
    },
  });

  const id = (arn) => arn.split('/').pop();
  const list = (value) => (value ?? '').split(',').filter(Boolean);
  /** The task ARNs a stopped_tasks output names, sorted. */
  const taskArns = (value) => list(value).sort();

  /** A start of the real action; returns {arn, name, runner}. */
  async function start({ context = {}, inputs = {} } = {}) {
    const { network } = world.seeds;
    const result = await world.run({
      inputs: {
        token: world.pat,
        name: NAME,
        cluster: 'runners',
        'task-definition': 'gh-runner',
        'launch-type': 'FARGATE',
        subnets: network.subnets[0],
        'security-groups': network.securityGroups[0],
        ...inputs,
      },
      context,
    });
    assertSucceeded(result);
    const name = result.outputs.runner_id;
    return { arn: result.outputs.task_arn, name, runner: world.gh.runnerByName(name), runId: world.context.GITHUB_RUN_ID };
  }

  /** A task without ecs-runner's tags, started by hand in the same cluster. */
  async function startUntagged() {
    const { network } = world.seeds;
    const { tasks } = await world.moto.ecs('RunTask', {
      cluster: 'runners',
      taskDefinition: 'gh-runner',
      launchType: 'FARGATE',
      startedBy: 'someone-else',
      networkConfiguration: { awsvpcConfiguration: { subnets: [network.subnets[0]], securityGroups: network.securityGroups } },
    });
    return { arn: tasks[0].taskArn };
  }

  /** A run id like GitHub's (and jobContext's). */
  const newRunId = () => String(7_000_000_000 + crypto.randomInt(1_000_000_000));

  /**
   * A runner of ours with no task (its task stopped or never started), as
   * start registers it: `{name}-{run id}-{attempt}-{8 hex}`, ephemeral,
   * labelled with its own name.
   */
  function addOrphan(runId, { status = 'offline', busy = false } = {}) {
    const name = `${NAME}-${runId}-1-${crypto.randomBytes(4).toString('hex')}`;
    const labels = expectedLabels({ arch: 'X64', name: NAME, labels: [], runnerId: name });
    return world.gh.addRunner({ scope: REPOSITORY, name, labels, status, busy });
  }

  /**
   * The mix of (a)-(c):
   *   old      ours, 2 h old, runner online and idle -> task stopped, runner deleted
   *   young    ours, created now, runner offline     -> both kept
   *   busy     ours, 2 h old, runner busy            -> both kept
   *   foreign  ecs-runner's, 2 h old, context OTHER_REPOSITORY -> kept (not ours)
   *   untagged 2 h old, no tags                      -> kept (not ours)
   *   idle     a runner of ours, online, no task     -> kept
   *   byHand   a non-ephemeral runner named like a person would -> ignored
   */
  async function seedMix() {
    const old = await start();
    world.gh.setRunner(old.runner.id, { status: 'online', busy: false });
    const young = await start();
    const busy = await start();
    world.gh.setRunner(busy.runner.id, { status: 'online', busy: true });
    const foreign = await start({ inputs: { context: OTHER_REPOSITORY } });
    const untagged = await startUntagged();
    for (const t of [old, busy, foreign, untagged]) ages.set(t.arn, 2 * HOUR);
    ages.set(young.arn, 0);
    const idle = addOrphan(newRunId(), { status: 'online' });
    const byHand = world.gh.addRunner({ scope: REPOSITORY, name: 'build-box-1', labels: ['self-hosted', 'build-box-1'] });
    world.moto.proxy.requests.length = 0; // only the reap's calls from here on
    const since = Date.now();
    return { old, young, busy, foreign, untagged, idle, byHand, since };
  }

  function reap(inputs = {}) {
    return world.run({
      inputs: { token: world.pat, mode: 'reap', cluster: 'runners', 'max-age': '60', ...inputs },
      context: { GITHUB_JOB: 'reap', GITHUB_RUN_ATTEMPT: '1' },
    });
  }

  /** Task ids StopTask was sent for. */
  const stopped = () => world.moto.proxy.calls('StopTask').map((c) => id(c.body.task)).sort();
  /** Runner names deleted (DELETE answered 204) since `since`. */
  const deletedSince = (since, all) =>
    world.gh.requests
      .filter((r) => r.method === 'DELETE' && r.at >= since && r.status === 204)
      .map((r) => all.find((x) => r.path.endsWith(`/actions/runners/${x.id}`))?.name ?? r.path)
      .sort();
  const deletesSince = (since) => world.gh.requests.filter((r) => r.method === 'DELETE' && r.at >= since);

  async function statusOf(arn) {
    return (await world.moto.tasks('runners')).find((t) => t.arn === arn)?.lastStatus;
  }

  /** The summary's table rows as {what, name, result} (name without backticks). */
  function rows(summary) {
    return summary
      .split('\n')
      .filter((l) => /^\|.*\|$/.test(l.trim()) && !/^\|\s*-/.test(l.trim()))
      .map((l) => l.trim().slice(1, -1).split(' | ').map((c) => c.trim()))
      .filter(([what]) => what !== 'What')
      .map(([what, name, result]) => ({ what, name: name.replace(/^`|`$/g, ''), result }));
  }
  function rowOf(summary, what, name) {
    const found = rows(summary).filter((r) => r.what === what && r.name === name);
    assert.equal(found.length, 1, `expected one "${what}" row for ${name} in the summary:\n${summary}`);
    return found[0].result;
  }

  /** The reap's secrets check (the JIT configs were issued to the starts). */
  const assertReapSecrets = (result) => assertSecretsHandled(result, world, { issuedHere: false });

  test('(a) a mix: only the old task with an idle runner is stopped, and its runner deleted', async () => {
    const m = await seedMix();
    const result = await reap();
    assertSucceeded(result);

    assert.deepEqual(stopped(), [id(m.old.arn)], 'StopTask only for the old task with the idle runner');
    const [stop] = world.moto.proxy.calls('StopTask');
    assert.match(stop.body.reason, /ecs-runner \(.*\/actions\/runs\/\d+\): reaped: older than 60 minutes/, stop.body.reason);
    assert.equal(await statusOf(m.old.arn), 'STOPPED');
    for (const t of [m.young, m.busy, m.foreign, m.untagged]) assert.equal(await statusOf(t.arn), 'RUNNING', t.arn);

    const all = [m.old.runner, m.young.runner, m.busy.runner, m.foreign.runner, m.idle, m.byHand];
    assert.deepEqual(deletedSince(m.since, all), [m.old.name], 'only the old task’s runner is deleted');
    assert.equal(deletesSince(m.since).length, 1);
    for (const r of [m.young.runner, m.busy.runner, m.foreign.runner, m.idle, m.byHand]) {
      assert.ok(world.gh.runnerByName(r.name), `runner ${r.name} was deleted`);
    }
    assert.equal(world.gh.runnerByName(m.old.name), undefined);

    // The reap looked at every task of the cluster (no startedBy), with tags.
    const [listTasks] = world.moto.proxy.calls('ListTasks');
    assert.equal(listTasks.body.startedBy, undefined);
    assert.ok(world.moto.proxy.calls('DescribeTasks').every((c) => c.body.include?.includes('TAGS')));

    assert.deepEqual(taskArns(result.outputs.stopped_tasks), [m.old.arn]);
    assert.deepEqual(list(result.outputs.deleted_runners), [m.old.name]);
    assert.equal(result.outputs.cluster, 'runners');
    assert.equal(result.outputs.region, REGION);
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertReapSecrets(result);
  });

  test('(a) max-age 0: every idle task and runner of ours goes, whatever its age; busy and foreign stay', async () => {
    const m = await seedMix();
    const orphanRun = newRunId();
    // Started 5 minutes ago and still going: max-age 0 takes it anyway, without asking.
    world.gh.addWorkflowRun(REPOSITORY, { id: orphanRun, status: 'in_progress', run_started_at: Date.now() - 5 * 60_000 });
    const orphan = addOrphan(orphanRun);
    const result = await reap({ 'max-age': '0' });
    assertSucceeded(result);
    assert.deepEqual(stopped(), [id(m.old.arn), id(m.young.arn)].sort());
    for (const t of [m.busy, m.foreign, m.untagged]) assert.equal(await statusOf(t.arn), 'RUNNING', t.arn);
    const all = [m.old.runner, m.young.runner, m.busy.runner, m.foreign.runner, m.idle, m.byHand, orphan];
    assert.deepEqual(deletedSince(m.since, all), [m.old.name, m.young.name, orphan.name].sort());
    assert.ok(world.gh.runnerByName(m.idle.name), 'an online runner without a task is kept, even at max-age 0');
    assert.ok(world.gh.runnerByName(m.busy.name));
    assert.deepEqual(taskArns(result.outputs.stopped_tasks), [m.old.arn, m.young.arn].sort());
    assert.deepEqual(list(result.outputs.deleted_runners).sort(), [m.old.name, m.young.name, orphan.name].sort());
    assertReapSecrets(result);
  });

  test('(b) dry-run: nothing stopped or deleted; log, summary and outputs list what would be done', async () => {
    const m = await seedMix();
    const result = await reap({ 'dry-run': 'true' });
    assertSucceeded(result);
    assert.deepEqual(stopped(), [], 'a dry run sent StopTask');
    assert.deepEqual(deletesSince(m.since).map((d) => d.path), [], 'a dry run sent DELETE');
    for (const t of [m.old, m.young, m.busy]) assert.equal(await statusOf(t.arn), 'RUNNING');
    assert.ok(world.gh.runnerByName(m.old.name));

    const log = result.lines.join('\n');
    assert.match(log, /dry run/i, `the log does not say it is a dry run\n${describeRun(result)}`);
    assert.ok(log.includes(`task ${id(m.old.arn)}: would stop`), `the log does not say the old task would be stopped\n${describeRun(result)}`);
    assert.ok(log.includes(`runner ${m.old.name}: would delete`), `the log does not say the runner would be deleted\n${describeRun(result)}`);
    assert.match(rowOf(result.summary, 'task', id(m.old.arn)), /^would stop\b/);
    assert.match(rowOf(result.summary, 'runner', m.old.name), /^would delete\b/);
    assert.match(rowOf(result.summary, 'task', id(m.young.arn)), /^kept\b/);

    // action.yaml: "reap with dry-run: the tasks it would stop" / "the runners it would delete".
    const yaml = readActionYaml().outputs;
    assert.match(yaml.stopped_tasks.description, /dry-run: the tasks it would stop/, 'action.yaml changed: update this test');
    assert.deepEqual(
      taskArns(result.outputs.stopped_tasks),
      [m.old.arn],
      `dry-run: stopped_tasks should list the task it would stop (action.yaml: "${yaml.stopped_tasks.description.trim()}"), got ${JSON.stringify(result.outputs.stopped_tasks)}`,
    );
    assert.deepEqual(
      list(result.outputs.deleted_runners),
      [m.old.name],
      `dry-run: deleted_runners should list the runner it would delete (action.yaml: "${yaml.deleted_runners.description.trim()}"), got ${JSON.stringify(result.outputs.deleted_runners)}`,
    );
    assertReapSecrets(result);
  });

  test('(c) the summary lists each task and runner of ours with what was done and why, and nothing else', async () => {
    const m = await seedMix();
    const result = await reap();
    assertSucceeded(result);
    const s = result.summary;
    assert.match(s, /^### ecs-runner reap/m);
    assert.match(s, /\| What \| Name \| Result \|/);
    assert.match(rowOf(s, 'task', id(m.old.arn)), /^stop: 120 min old, runner not busy$/);
    assert.match(rowOf(s, 'task', id(m.young.arn)), /^kept: 0 min old, younger than max-age$/);
    assert.match(rowOf(s, 'task', id(m.busy.arn)), new RegExp(`^kept: 120 min old, runner ${m.busy.name} is busy`));
    assert.match(rowOf(s, 'runner', m.old.name), /^delete: its task is being stopped$/);
    assert.match(rowOf(s, 'runner', m.young.name), /^kept: offline, task 0 min old, younger than max-age$/);
    assert.match(rowOf(s, 'runner', m.busy.name), /^kept: busy with a job$/);
    assert.match(rowOf(s, 'runner', m.idle.name), /^kept: online, waiting for a job$/);
    for (const other of [id(m.foreign.arn), id(m.untagged.arn), m.foreign.name, m.byHand.name]) {
      assert.ok(!s.includes(other), `the summary lists ${other}, which is not this context's:\n${s}`);
    }
    assert.equal(rows(s).filter((r) => r.what === 'problem').length, 0, s);
    assert.match(s, new RegExp(`Cluster \`runners\` in \`${REGION}\`, runners of \`${REPOSITORY}\``));
    assertReapSecrets(result);
  });

  test("debug: true prints no secret, not even the JIT configs of the cluster's tasks (another context's included)", async () => {
    // Reap describes EVERY task of the cluster; their overrides hold the JIT
    // configs of runners of this and other repositories. behaviour.md: no
    // line other than ::add-mask:: holds a secret.
    const foreign = await start({ inputs: { context: OTHER_REPOSITORY } });
    const result = await reap({ debug: 'true', 'dry-run': 'true' });
    assertSucceeded(result);
    const jit = world.gh.issued.find((i) => i.runnerId === foreign.runner.id);
    const leaks = result.lines.filter((l) => !l.startsWith('::add-mask::') && l.includes(jit.value));
    assert.deepEqual(
      leaks.map((l) => {
        const at = l.indexOf(jit.value);
        return `…${l.slice(Math.max(0, at - 90), at)}<JIT CONFIG>…`;
      }),
      [],
      `reap (context ${REPOSITORY}) with debug: true printed the JIT config of ${OTHER_REPOSITORY}'s runner ${foreign.name} in ${leaks.length} line(s)`,
    );
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  // --- offline runners without a live task: aged by their workflow run ----

  test('orphans whose run is completed, started max-age ago, or gone (404) are deleted; each run looked up once', async () => {
    const [done, long, gone] = [newRunId(), newRunId(), newRunId()];
    world.gh.addWorkflowRun(REPOSITORY, { id: done, status: 'completed', run_started_at: Date.now() - 10 * 60_000 });
    world.gh.addWorkflowRun(REPOSITORY, { id: long, status: 'in_progress', run_started_at: Date.now() - 3 * HOUR * 1000 });
    const orphans = [addOrphan(done), addOrphan(done), addOrphan(long), addOrphan(gone)];
    const since = Date.now();
    const result = await reap();
    assertSucceeded(result);
    assert.deepEqual(deletedSince(since, orphans), orphans.map((o) => o.name).sort());
    assert.deepEqual(list(result.outputs.deleted_runners).sort(), orphans.map((o) => o.name).sort());

    const lookups = world.gh.requests.filter((r) => r.method === 'GET' && /\/actions\/runs\/\d+$/.test(r.path));
    assert.deepEqual(
      lookups.map((r) => r.path).sort(),
      [done, long, gone].map((r) => `/repos/${REPOSITORY}/actions/runs/${r}`).sort(),
      'each orphan\'s workflow run is looked up once (GET /repos/{owner}/{repo}/actions/runs/{run_id})',
    );
    assert.match(rowOf(result.summary, 'runner', orphans[0].name), /^delete: .*completed/);
    assert.match(rowOf(result.summary, 'runner', orphans[2].name), /^delete: .*started 180 min ago/);
    assert.match(rowOf(result.summary, 'runner', orphans[3].name), /^delete: .*no longer exists/);
    assertGitHubHeaders(world.gh);
    assertReapSecrets(result);
  });

  test('an orphan whose run is still in progress and younger than max-age is kept', async () => {
    const recent = newRunId();
    world.gh.addWorkflowRun(REPOSITORY, { id: recent, status: 'in_progress', run_started_at: Date.now() - 5 * 60_000 });
    const orphan = addOrphan(recent);
    const since = Date.now();
    const result = await reap();
    assertSucceeded(result);
    assert.deepEqual(
      deletesSince(since).map((d) => `${d.method} ${d.path}`),
      [],
      `deleted runner ${orphan.name}, whose run ${recent} started 5 min ago and is in progress (max-age 60); summary row: ${rows(result.summary).find((r) => r.name === orphan.name)?.result}`,
    );
    assert.match(rowOf(result.summary, 'runner', orphan.name), /^kept: .*5 min/);
    assert.equal(result.outputs.deleted_runners, '');
    assertReapSecrets(result);
  });

  test('an orphan whose run cannot be read (403, 500) is kept, with a note saying why', async () => {
    const [denied, broken] = [newRunId(), newRunId()];
    world.gh.fail({ method: 'GET', path: `/actions/runs/${denied}`, status: 403, body: { message: 'Resource not accessible by personal access token', status: '403' } });
    world.gh.fail({ method: 'GET', path: `/actions/runs/${broken}`, status: 500, body: { message: 'Server Error' } });
    const a = addOrphan(denied);
    const b = addOrphan(broken);
    const since = Date.now();
    const result = await reap();
    assertSucceeded(result);
    assert.deepEqual(
      deletesSince(since).map((d) => `${d.method} ${d.path}`),
      [],
      `deleted an orphan whose workflow run could not be read (403 for run ${denied}, 500 for run ${broken}); summary:\n${result.summary}`,
    );
    const warnings = annotations(result, 'warning').join('\n');
    for (const run of [denied, broken]) {
      assert.ok(warnings.includes(run), `no ::warning:: about run ${run}:\n${warnings}\n${describeRun(result)}`);
    }
    assert.match(rowOf(result.summary, 'runner', a.name), /^kept: .*(unknown|cannot read)/);
    assert.match(rowOf(result.summary, 'runner', b.name), /^kept: .*(unknown|cannot read)/);
    assertReapSecrets(result);
  });
});
