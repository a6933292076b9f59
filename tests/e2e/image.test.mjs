// mode: start with `image` (issue 8): the action registers the runners' task
// definition itself (family = `name`) and keeps it, registering a new revision
// only when what the inputs ask for changes (the `ecs-runner:spec` tag holds a
// digest of the content); placeholders in `env` and `tags` values, expanded
// per runner; the runner's last CloudWatch log lines when a start fails; and
// reap deregistering (and deleting) the old revisions it registered.
//
// Runs dist/index.js as the Actions runner does against moto (through the
// recording proxy) and the fake GitHub, and reads back what moto holds. What
// moto does not do is supplied by the proxy (see lib/moto.mjs): a task that
// stops before RUNNING is moto `immediate` plus a stopCode the proxy adds; the
// runner's log is written into moto's CloudWatch Logs from a proxy rewrite of
// the RunTask answer, so it is there before the action can ask for it; a
// task definition's registeredAt (moto has none) is added by a rewrite of
// DescribeTaskDefinition answers.
//
// The runner's log is the task's output, not the action's: shown in the
// launch step's log it must not act as workflow commands (`::error::`,
// `::add-mask::`, `::endgroup::` ...); one test checks that with a small
// model of how the Actions runner reads commands (stop-commands honoured).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs, REGION, REPOSITORY, IAM_NAMES } from './lib/world.mjs';
import { annotations, describeRun } from './lib/action.mjs';
import {
  assertSucceeded,
  assertFailed,
  assertSecretsHandled,
  assertAwsRequestsSigned,
  assertGitHubHeaders,
  assertRunnersCleanedUp,
  expectedLabels,
  errorText,
} from './lib/checks.mjs';

/** `name`, so the family; one moto does not hold before a test (freshWorld seeds gh-runner*). */
const FAMILY = 'img-runner';
const IMAGE = 'ghcr.io/actions/actions-runner:2.330.0';
const LOG_GROUP = '/ecs-runner/e2e';
const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';
const TASK_ROLE = 'arn:aws:iam::123456789012:role/gh-runner-jobs';
const SPEC_TAG = 'ecs-runner:spec';
/** action.yaml, tags: the placeholders, in the order the error lists them. */
const PLACEHOLDERS = ['runner_name', 'runner_id', 'index', 'run_id', 'run_attempt', 'job', 'repository'];
const HOUR = 3600;

describe('runners from an image', () => {
  let world;
  // The launcher policies (held against every request, lib/world.mjs),
  // narrowed to this file's family, roles and log group.
  useWorld((w) => (world = w), {
    iam: {
      Family: [FAMILY, ...IAM_NAMES.Family],
      ExecutionRole: EXECUTION_ROLE.split('/').pop(),
      TaskRole: TASK_ROLE.split('/').pop(),
      LogGroup: LOG_GROUP,
    },
  });

  /** A Fargate start from IMAGE in the seeded network; `extra` adds or overrides. */
  const imageInputs = (extra = {}) =>
    startInputs(world, { name: FAMILY, 'task-definition': '', image: IMAGE, 'wait-for-registration': 'false', ...extra });
  /** With CloudWatch logging (which needs an execution role). */
  const loggedInputs = (extra = {}) =>
    imageInputs({ 'log-group': LOG_GROUP, 'execution-role': EXECUTION_ROLE, ...extra });

  const proxy = () => world.moto.proxy;
  /**
   * Between two runs of one test: forget the recorded AWS and GitHub requests
   * and what GitHub issued (each run's secrets check covers its own).
   */
  const nextRun = () => {
    proxy().requests.length = 0;
    world.gh.clear();
  };
  const calls = (op) => proxy().calls(op);
  const stdoutLines = (result) => result.stdout.split(/\r?\n/);
  const hasLine = (result, text) => stdoutLines(result).some((l) => l.includes(text));

  /** RunTask's taskDefinition names `family:revision` exactly (as such, or as its ARN). */
  function assertNamesRevision(taskDefinition, family, revision, what = 'RunTask taskDefinition') {
    assert.match(
      taskDefinition ?? '',
      new RegExp(`^(arn:aws:ecs:${REGION}:\\d{12}:task-definition/)?${family}:${revision}$`),
      `${what} should name ${family}:${revision}`,
    );
  }

  /** The only RegisterTaskDefinition of the run, answered 200. */
  function theRegistration(result) {
    const regs = calls('RegisterTaskDefinition');
    assert.equal(regs.length, 1, `expected one RegisterTaskDefinition, got ${regs.length}\n${describeRun(result)}`);
    assert.equal(regs[0].status, 200, regs[0].response);
    return regs[0].body;
  }

  /** Nothing reached GitHub or AWS, and no task or task definition revision exists. */
  async function assertNothingSent(result) {
    assert.deepEqual(world.gh.requests.map((r) => `${r.method} ${r.path}`), [], `GitHub was contacted\n${describeRun(result)}`);
    assert.deepEqual(proxy().requests.map((r) => `${r.service} ${r.operation}`), [], `AWS was contacted\n${describeRun(result)}`);
    assert.deepEqual(await world.moto.allTasks(), []);
    assert.deepEqual(await world.moto.taskDefinitionRevisions(FAMILY), []);
  }

  // --- the task definition: registered once, reused while unchanged --------

  test('twice with the same inputs: the first registers revision 1 and runs it, the second reuses it', async () => {
    const inputs = loggedInputs({ 'task-role': TASK_ROLE, env: 'CACHE_DIR=/cache/{runner_name}' });
    const first = await world.run({ inputs });
    assertSucceeded(first);

    // It asked for the family (with its tags) before registering.
    const [describeCall] = calls('DescribeTaskDefinition');
    assert.ok(describeCall, 'no DescribeTaskDefinition');
    assert.equal(describeCall.body.taskDefinition, FAMILY);
    assert.ok(describeCall.body.include?.includes('TAGS'), 'DescribeTaskDefinition without include TAGS');

    const body = theRegistration(first);
    assert.equal(body.family, FAMILY);
    assert.equal(body.networkMode, 'awsvpc');
    assert.deepEqual(body.requiresCompatibilities, ['FARGATE']);
    assert.equal(body.cpu, '1024', 'cpu: the default, as a string');
    assert.equal(body.memory, '2048', 'memory: twice cpu, as a string');
    assert.deepEqual(body.runtimePlatform, { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' });
    assert.equal(body.executionRoleArn, EXECUTION_ROLE);
    assert.equal(body.taskRoleArn, TASK_ROLE);
    assert.equal(body.ephemeralStorage, undefined, 'ephemeral-storage was not given');
    assert.ok(!body.volumes?.length, 'a volume without efs-id');
    assert.equal(body.containerDefinitions?.length, 1, 'one container');
    const [c] = body.containerDefinitions;
    assert.equal(c.name, 'runner');
    assert.equal(c.image, IMAGE);
    assert.deepEqual(c.command, ['/home/runner/run.sh'], 'the default command');
    assert.equal(c.essential, true);
    assert.ok(Number.isInteger(c.memoryReservation) && c.memoryReservation > 0 && c.memoryReservation <= 2048, `memoryReservation ${c.memoryReservation}`);
    assert.deepEqual(c.logConfiguration, {
      logDriver: 'awslogs',
      options: { 'awslogs-group': LOG_GROUP, 'awslogs-region': REGION, 'awslogs-stream-prefix': 'ecs-runner' },
    });
    assert.ok(!c.mountPoints?.length, 'a mount point without efs-id');
    assert.deepEqual(body.tags?.map((t) => t.key), [SPEC_TAG], 'tags: the spec digest only');
    const spec = body.tags[0].value;
    assert.match(spec, /^[\x21-\x7e]{8,256}$/, `spec tag value ${spec}`);
    // What goes into the definition is the same for every job: no credential, no per-runner value.
    const text = JSON.stringify(body);
    for (const secret of world.secrets()) assert.ok(!text.includes(secret), 'a secret in the task definition');
    assert.ok(!text.includes(first.outputs.runner_id), 'a runner name in the task definition');

    const [run] = calls('RunTask');
    assert.equal(calls('RunTask').length, 1);
    assert.ok(run.at >= calls('RegisterTaskDefinition')[0].doneAt, 'RunTask before the registration answered');
    assertNamesRevision(run.body.taskDefinition, FAMILY, 1);
    assert.ok(hasLine(first, `Registered task definition ${FAMILY}:1 for image ${IMAGE}`), `no "Registered task definition" line\n${describeRun(first)}`);

    // moto: revision 1, ACTIVE, tagged; the task runs it, with the per-runner env expanded.
    const revisions = await world.moto.taskDefinitionRevisions(FAMILY);
    assert.deepEqual(revisions.map((r) => [r.revision, r.status, r.spec]), [[1, 'ACTIVE', spec]]);
    const [task] = await world.moto.tasks('runners');
    assert.equal(task.arn, first.outputs.task_arn);
    assert.match(task.taskDefinitionArn, new RegExp(`:task-definition/${FAMILY}:1$`));
    assert.equal(task.env.runner.CACHE_DIR, `/cache/${first.outputs.runner_id}`);
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, world.gh.issued[0].value);
    const [jit] = world.gh.requestsTo('POST', '/generate-jitconfig');
    assert.deepEqual(jit.body.labels, expectedLabels({ arch: 'X64', name: FAMILY, labels: [], runnerId: first.outputs.runner_id }));
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(first, world);

    // The same inputs again (another run): nothing registered, revision 1 runs.
    nextRun();
    const second = await world.run({ inputs });
    assertSucceeded(second);
    assert.deepEqual(calls('RegisterTaskDefinition').map((c) => c.body.family), [], `registered again though nothing changed\n${describeRun(second)}`);
    assert.ok(calls('DescribeTaskDefinition').some((c) => c.body.taskDefinition === FAMILY), 'the family was not looked at');
    const runs = calls('RunTask');
    assert.equal(runs.length, 1);
    assertNamesRevision(runs[0].body.taskDefinition, FAMILY, 1);
    assert.ok(hasLine(second, `Task definition ${FAMILY}:1 is up to date`), `no "is up to date" line\n${describeRun(second)}`);
    assert.ok(!hasLine(second, 'Registered task definition'), 'says it registered');
    assert.deepEqual((await world.moto.taskDefinitionRevisions(FAMILY)).map((r) => r.revision), [1]);
    const secondTask = (await world.moto.tasks('runners')).find((t) => t.arn === second.outputs.task_arn);
    assert.match(secondTask.taskDefinitionArn, new RegExp(`:task-definition/${FAMILY}:1$`));
    assertAwsRequestsSigned(world.moto, REGION);
    assertSecretsHandled(second, world);
  });

  test('changed memory registers revision 2 and runs it; cpu alone takes twice its memory', async () => {
    const first = await world.run({ inputs: imageInputs() });
    assertSucceeded(first);
    const spec1 = theRegistration(first).tags.find((t) => t.key === SPEC_TAG).value;

    nextRun();
    const second = await world.run({ inputs: imageInputs({ memory: '4096' }) });
    assertSucceeded(second);
    const body = theRegistration(second);
    assert.equal(body.family, FAMILY);
    assert.equal(body.cpu, '1024');
    assert.equal(body.memory, '4096');
    assert.ok(body.containerDefinitions[0].memoryReservation <= 4096);
    const spec2 = body.tags.find((t) => t.key === SPEC_TAG)?.value;
    assert.ok(spec2 && spec2 !== spec1, `the spec digest did not change (${spec1} / ${spec2})`);
    assertNamesRevision(calls('RunTask')[0].body.taskDefinition, FAMILY, 2);
    assert.ok(hasLine(second, `Registered task definition ${FAMILY}:2 for image ${IMAGE}`), describeRun(second));

    nextRun();
    const third = await world.run({ inputs: imageInputs({ cpu: '2048' }) });
    assertSucceeded(third);
    const body3 = theRegistration(third);
    assert.deepEqual([body3.cpu, body3.memory], ['2048', '4096'], 'cpu 2048 without memory: memory 4096');
    assertNamesRevision(calls('RunTask')[0].body.taskDefinition, FAMILY, 3);

    const revisions = await world.moto.taskDefinitionRevisions(FAMILY);
    assert.deepEqual(revisions.map((r) => [r.revision, r.status, r.raw.memory]), [[1, 'ACTIVE', '2048'], [2, 'ACTIVE', '4096'], [3, 'ACTIVE', '4096']]);
    const tasks = await world.moto.tasks('runners');
    const revisionOf = (arn) => tasks.find((t) => t.arn === arn).taskDefinitionArn.split(':').pop();
    assert.deepEqual([first, second, third].map((r) => revisionOf(r.outputs.task_arn)), ['1', '2', '3']);
    assertAwsRequestsSigned(world.moto, REGION);
    assertSecretsHandled(third, world);
  });

  test('RegisterTaskDefinition refused (iam:PassRole): exit 1 naming the call and the permission, no task, the runner deleted', async () => {
    const message = 'User: arn:aws:sts::123456789012:assumed-role/launcher/x is not authorized to perform: iam:PassRole on resource: ' + EXECUTION_ROLE;
    proxy().intercept((c) => c.operation === 'RegisterTaskDefinition', {
      status: 400,
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      body: { __type: 'AccessDeniedException', message },
    });
    const result = await world.run({ inputs: loggedInputs() });
    assertFailed(result);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes('RegisterTaskDefinition'), `the error does not name the call:\n${errors}`);
    assert.ok(errors.includes('iam:PassRole'), `the error does not carry AWS's message:\n${errors}`);
    assert.deepEqual(calls('RunTask'), [], 'RunTask without a task definition');
    assert.deepEqual(await world.moto.allTasks(), []);
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test('DescribeTaskDefinition refused (not "no such family"): exit 1, nothing registered', async () => {
    proxy().intercept((c) => c.operation === 'DescribeTaskDefinition', {
      status: 400,
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      body: { __type: 'AccessDeniedException', message: 'User: x is not authorized to perform: ecs:DescribeTaskDefinition' },
    });
    const result = await world.run({ inputs: imageInputs() });
    assertFailed(result);
    assert.ok(errorText(annotations(result)).includes('DescribeTaskDefinition'), errorText(annotations(result)));
    assert.deepEqual(calls('RegisterTaskDefinition'), [], 'registered although the family could not be read');
    assert.deepEqual(calls('RunTask'), []);
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test('a fleet from an image (count 3): one registration, every RunTask names that revision', async () => {
    const result = await world.run({ inputs: imageInputs({ count: '3' }) });
    assertSucceeded(result);
    theRegistration(result);
    const runs = calls('RunTask');
    assert.equal(runs.length, 3);
    for (const run of runs) assertNamesRevision(run.body.taskDefinition, FAMILY, 1);
    const registered = calls('RegisterTaskDefinition')[0];
    assert.ok(runs.every((r) => r.at >= registered.doneAt), 'a RunTask went out before the registration answered');
    assert.deepEqual((await world.moto.taskDefinitionRevisions(FAMILY)).map((r) => r.revision), [1]);
    assertSecretsHandled(result, world);
  });

  test('efs-id (from EFS_ID) and ephemeral-storage: an EFS volume mounted at /mnt/efs, the storage size; efs-path moves the mount', async () => {
    const result = await world.run({ inputs: imageInputs({ 'ephemeral-storage': '50' }), env: { EFS_ID: 'fs-0123abcd' } });
    assertSucceeded(result);
    const body = theRegistration(result);
    assert.deepEqual(body.ephemeralStorage, { sizeInGiB: 50 });
    assert.equal(body.volumes?.length, 1, 'one volume');
    const [volume] = body.volumes;
    assert.equal(volume.efsVolumeConfiguration?.fileSystemId, 'fs-0123abcd');
    const [c] = body.containerDefinitions;
    assert.deepEqual(c.mountPoints, [{ sourceVolume: volume.name, containerPath: '/mnt/efs' }]);

    nextRun();
    const moved = await world.run({ inputs: imageInputs({ 'ephemeral-storage': '50', 'efs-path': '/cache' }), env: { EFS_ID: 'fs-0123abcd' } });
    assertSucceeded(moved);
    const body2 = theRegistration(moved);
    assert.equal(body2.containerDefinitions[0].mountPoints?.[0]?.containerPath, '/cache');
    assertNamesRevision(calls('RunTask')[0].body.taskDefinition, FAMILY, 2);
    assertSecretsHandled(moved, world);
  });

  test('architecture ARM64: runtimePlatform ARM64, and the runner is labelled ARM64, not X64; roles from the environment; a JSON command', async () => {
    const command = ['/bin/bash', '-c', 'exec /home/runner/run.sh'];
    const result = await world.run({
      inputs: imageInputs({ architecture: 'ARM64', 'log-group': LOG_GROUP, command: JSON.stringify(command), labels: 'big' }),
      // RUNNER_ARCH is the launching job's machine (X64): the label must follow the input instead.
      context: { RUNNER_ARCH: 'X64' },
      env: { ECS_EXECUTION_ROLE: 'ecsTaskExecutionRole', ECS_TASK_ROLE: 'gh-runner-jobs' },
    });
    assertSucceeded(result);
    const body = theRegistration(result);
    assert.deepEqual(body.runtimePlatform, { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' });
    assert.deepEqual(body.containerDefinitions[0].command, command);
    // "ARN or role name": either may be sent, as long as it is that role.
    assert.match(body.executionRoleArn ?? '', /^(arn:aws:iam::\d{12}:role\/)?ecsTaskExecutionRole$/, 'ECS_EXECUTION_ROLE');
    assert.match(body.taskRoleArn ?? '', /^(arn:aws:iam::\d{12}:role\/)?gh-runner-jobs$/, 'ECS_TASK_ROLE');

    const [jit] = world.gh.requestsTo('POST', '/generate-jitconfig');
    const runnerId = result.outputs.runner_id;
    assert.deepEqual(jit.body.labels, expectedLabels({ arch: 'ARM64', name: FAMILY, labels: ['big'], runnerId }));
    assert.ok(!jit.body.labels.includes('X64'), `labels ${jit.body.labels}`);
    const revisions = await world.moto.taskDefinitionRevisions(FAMILY);
    assert.equal(revisions[0].raw.runtimePlatform.cpuArchitecture, 'ARM64');
    assertNamesRevision(calls('RunTask')[0].body.taskDefinition, FAMILY, 1);
    assertSecretsHandled(result, world);
  });

  test("a user's own ARM64 task definition labels its runners ARM64", async () => {
    world.iamNames({ Family: 'gh-runner-arm' });
    await world.moto.ecs('RegisterTaskDefinition', {
      family: 'gh-runner-arm',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '1024',
      memory: '2048',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      containerDefinitions: [{ name: 'runner', image: IMAGE, essential: true, memory: 2048 }],
    });
    const result = await world.run({ inputs: startInputs(world, { 'task-definition': 'gh-runner-arm', 'wait-for-registration': 'false' }) });
    assertSucceeded(result);
    const [jit] = world.gh.requestsTo('POST', '/generate-jitconfig');
    assert.deepEqual(jit.body.labels, expectedLabels({ arch: 'ARM64', name: 'gh-runner', labels: [], runnerId: result.outputs.runner_id }));
    assert.deepEqual(calls('RegisterTaskDefinition'), [], 'registered a definition without image');
    assertSecretsHandled(result, world);
  });

  // --- placeholders --------------------------------------------------------

  test('placeholders in env and tags, per runner of a fleet (count 2, task-definition); {{ }} are literal braces', async () => {
    const result = await world.run({
      inputs: startInputs(world, {
        count: '2',
        'wait-for-registration': 'false',
        env: [
          'CACHE_DIR=/cache/{runner_name}',
          'LITERAL={{literal}}',
          'WHO={repository}#{index}@{run_id}.{run_attempt}.{job}',
          'LABEL={runner_id}',
          'PLAIN=no placeholder here',
        ].join('\n'),
        tags: 'runner={runner_name},idx={index}',
      }),
    });
    assertSucceeded(result);
    const ctx = world.context;
    const label = result.outputs.runner_id;
    const runners = JSON.parse(result.outputs.runners);
    assert.deepEqual(runners.map((r) => r.name), [`${label}-1`, `${label}-2`]);

    const runTasks = calls('RunTask');
    assert.equal(runTasks.length, 2);
    const tasks = await world.moto.tasks('runners');
    for (const [i, runner] of runners.entries()) {
      const expected = {
        CACHE_DIR: `/cache/${runner.name}`,
        LITERAL: '{literal}',
        WHO: `${REPOSITORY}#${i + 1}@${ctx.GITHUB_RUN_ID}.${ctx.GITHUB_RUN_ATTEMPT}.${ctx.GITHUB_JOB}`,
        LABEL: label,
        PLAIN: 'no placeholder here',
      };
      // The request that started this runner (by its ecs-runner:runner-id tag) ...
      const request = runTasks.find((c) => c.body.tags?.some((t) => t.key === 'ecs-runner:runner-id' && t.value === runner.name));
      assert.ok(request, `no RunTask tagged ecs-runner:runner-id=${runner.name}`);
      const [override] = request.body.overrides.containerOverrides;
      const env = Object.fromEntries(override.environment.map((e) => [e.name, e.value]));
      const tags = Object.fromEntries(request.body.tags.map((t) => [t.key, t.value]));
      for (const [k, v] of Object.entries(expected)) assert.equal(env[k], v, `runner ${i + 1}: RunTask env ${k}`);
      assert.equal(tags.runner, runner.name, `runner ${i + 1}: tag runner`);
      assert.equal(tags.idx, String(i + 1), `runner ${i + 1}: tag idx`);
      // ... and the task moto holds.
      const task = tasks.find((t) => t.arn === runner.task_arn);
      for (const [k, v] of Object.entries(expected)) assert.equal(task.env.runner[k], v, `runner ${i + 1}: task env ${k}`);
      assert.equal(task.tags.runner, runner.name);
      assert.equal(task.tags.idx, String(i + 1));
    }
    assertSecretsHandled(result, world);
  });

  test('an unknown placeholder in env or tags: exit 1 naming the input and the known placeholders, nothing sent', async () => {
    const result = await world.run({
      inputs: imageInputs({ env: 'CACHE_DIR=/cache/{nope}', tags: 'who={whoami}' }),
    });
    assertFailed(result);
    const errors = errorText(annotations(result));
    for (const word of ['env', 'nope', 'tags', 'whoami', ...PLACEHOLDERS]) {
      assert.ok(errors.includes(word), `the error does not mention ${word}:\n${errors}\n${describeRun(result)}`);
    }
    await assertNothingSent(result);
    assertSecretsHandled(result, world);
  });

  // --- input errors: each named, nothing sent --------------------------------

  const INPUT_ERRORS = [
    {
      what: 'image together with task-definition',
      inputs: () => imageInputs({ 'task-definition': 'gh-runner' }),
      mentions: ['image', 'task-definition'],
    },
    {
      what: 'cpu 1024 with memory 1000 on Fargate (the table is listed)',
      inputs: () => imageInputs({ cpu: '1024', memory: '1000' }),
      mentions: ['memory', '1000', '256', '512', '1024', '2048', '4096', '8192', '16384', '30720', '61440', '122880'],
    },
    {
      what: 'log-group without an execution role',
      inputs: () => imageInputs({ 'log-group': LOG_GROUP }),
      mentions: ['log-group', 'execution-role'],
    },
    {
      what: 'ARM64 on FARGATE_SPOT',
      inputs: () => imageInputs({ architecture: 'ARM64', 'launch-type': '', 'capacity-provider-strategy': 'FARGATE_SPOT:1' }),
      mentions: ['architecture', 'FARGATE_SPOT'],
    },
    {
      what: 'cpu without image',
      inputs: () => startInputs(world, { cpu: '2048' }),
      mentions: ['cpu', 'image'],
    },
    {
      what: 'ephemeral-storage outside 21..200',
      inputs: () => imageInputs({ 'ephemeral-storage': '300' }),
      mentions: ['ephemeral-storage', '300'],
    },
    {
      what: 'an unknown architecture',
      inputs: () => imageInputs({ architecture: 'sparc' }),
      mentions: ['architecture', 'sparc'],
    },
    {
      what: 'ephemeral-storage on EC2',
      inputs: () => imageInputs({ 'launch-type': 'EC2', 'ephemeral-storage': '50' }),
      mentions: ['ephemeral-storage'],
    },
    {
      what: 'an efs-id that is not one',
      inputs: () => imageInputs({ 'efs-id': 'fs-nothex!' }),
      mentions: ['efs-id', 'fs-nothex!'],
    },
    {
      what: 'an execution-role that is not a role',
      inputs: () => imageInputs({ 'execution-role': 'arn:aws:s3:::my-bucket' }),
      mentions: ['execution-role', 'arn:aws:s3:::my-bucket'],
    },
    {
      what: 'a command that is not a JSON array of strings',
      inputs: () => imageInputs({ command: '["/home/runner/run.sh", 3]' }),
      mentions: ['command'],
    },
  ];
  for (const c of INPUT_ERRORS) {
    test(`input error, ${c.what}: exit 1, the input named, nothing sent`, async () => {
      const result = await world.run({ inputs: c.inputs() });
      assertFailed(result);
      const errors = errorText(annotations(result));
      for (const word of c.mentions) {
        assert.ok(errors.includes(word), `the error does not mention ${JSON.stringify(word)}:\n${errors}\n${describeRun(result)}`);
      }
      await assertNothingSent(result);
      assertSecretsHandled(result, world);
    });
  }

  // --- the runner's log on a failed start ------------------------------------

  /** 60 lines, so the tail (50) leaves the first 10 out. */
  const LOG_LINES = Array.from({ length: 60 }, (_, i) => `runner log ${String(i + 1).padStart(2, '0')}: ${i === 59 ? 'Error: config already used' : 'ok'}`);
  const TAIL = LOG_LINES.slice(-50);

  /**
   * As each RunTask answer passes the proxy (before the action sees it),
   * write `lines` into the stream `{prefix}/runner/{task id}` of `group`:
   * what the awslogs driver of the task would have written.
   */
  function writeRunnerLogOnStart({ group = LOG_GROUP, prefix = 'ecs-runner', lines = LOG_LINES } = {}) {
    const streams = [];
    proxy().rewrite(
      (c) => c.operation === 'RunTask',
      async (body) => {
        for (const t of body.tasks ?? []) {
          const stream = `${prefix}/runner/${t.taskArn.split('/').pop()}`;
          streams.push(stream);
          await world.moto.writeLog(group, stream, lines);
        }
      },
    );
    return streams;
  }


  /**
   * The lines shown in the `::group::` whose title starts with `title`, up to
   * the `::endgroup::` that closes it, or fails. Commands the runner would
   * not obey are text: lines between `::stop-commands::TOKEN` and `::TOKEN::`
   * (the markers themselves are left out), so a fix that shields the log's
   * lines that way passes.
   */
  function groupLines(result, title) {
    const lines = stdoutLines(result);
    const start = lines.findIndex((l) => l.startsWith(`::group::${title}`));
    assert.ok(start >= 0, `no "::group::${title}" line\n${describeRun(result)}`);
    const shown = [];
    let token = null;
    for (const line of lines.slice(start + 1)) {
      if (token !== null) {
        if (line === `::${token}::`) token = null;
        else shown.push(line);
        continue;
      }
      const stop = /^::stop-commands::(.+)$/.exec(line);
      if (stop) token = stop[1];
      else if (line === '::endgroup::') return { title: lines[start].slice('::group::'.length), lines: shown };
      else shown.push(line);
    }
    assert.fail(`the group "${title}" is never closed\n${describeRun(result)}`);
  }

  /** What AWS and GitHub hold after a failed start: every task stopped, every runner deleted. */
  async function assertNothingLeftBehind() {
    const tasks = await world.moto.allTasks();
    assert.ok(tasks.length >= 1, 'no task was started');
    for (const t of tasks) assert.equal(t.lastStatus, 'STOPPED', `task ${t.id} left ${t.lastStatus}`);
    assertRunnersCleanedUp(world.gh);
  }

  test('the task stops before RUNNING: its last 50 log lines in a collapsed group and in the summary', async () => {
    await world.moto.setTaskTransition({ progression: 'immediate' });
    const streams = writeRunnerLogOnStart();
    const reason = 'Essential container in task exited';
    proxy().reportStoppedTasksAs('EssentialContainerExited', reason);
    const result = await world.run({ inputs: loggedInputs() });
    assertFailed(result);
    const taskId = JSON.parse(calls('RunTask')[0].response).tasks[0].taskArn.split('/').pop();
    assert.deepEqual(streams, [`ecs-runner/runner/${taskId}`]);

    // The failure is the task's.
    const errors = errorText(annotations(result));
    assert.match(errors, /stopped/i, errors);
    assert.ok(errors.includes('EssentialContainerExited') || errors.includes(reason), `the stop is not reported:\n${errors}`);
    assert.ok(!/GetLogEvents/.test(errors), `the log tail became an error:\n${errors}`);

    // GetLogEvents: the task's stream in the definition's group, the last 50, signed for logs.
    const gets = calls('GetLogEvents');
    assert.equal(gets.length, 1, `expected one GetLogEvents\n${describeRun(result)}`);
    assert.equal(gets[0].service, 'logs');
    assert.equal(gets[0].body.logGroupName, LOG_GROUP);
    assert.equal(gets[0].body.logStreamName, `ecs-runner/runner/${taskId}`);
    assert.equal(gets[0].body.startFromHead, false);
    assert.equal(gets[0].body.limit, 50);
    assert.equal(gets[0].status, 200);
    assertAwsRequestsSigned(world.moto, REGION);

    // The log: a collapsed group holding exactly those lines.
    const name = world.gh.requestsTo('POST', '/generate-jitconfig')[0].body.name;
    const group = groupLines(result, `Runner ${name}: the last 50 lines of its log (task ${taskId})`);
    assert.deepEqual(group.lines, TAIL);
    assert.ok(!result.stdout.includes(LOG_LINES[9]), 'a line older than the last 50 was printed');

    // The summary: a <details> block with them.
    const details = /<details>[\s\S]*?<\/details>/.exec(result.summary)?.[0];
    assert.ok(details, `no <details> block in the summary:\n${result.summary}`);
    assert.ok(details.includes(`Runner ${name}: the last 50 lines of its log`), details);
    for (const line of TAIL) assert.ok(details.includes(line), `the summary lacks ${line}`);
    assert.ok(!result.summary.includes(LOG_LINES[9]), 'the summary holds a line older than the last 50');

    await assertNothingLeftBehind();
    assertSecretsHandled(result, world);
  });

  test('the task stops before RUNNING and wrote no log: one line says so, the failure is the task’s', async () => {
    await world.moto.setTaskTransition({ progression: 'immediate' });
    proxy().reportStoppedTasksAs('TaskFailedToStart', 'CannotPullContainerError: pull image manifest has been retried 5 time(s)');
    const result = await world.run({ inputs: loggedInputs() });
    assertFailed(result);
    const taskId = JSON.parse(calls('RunTask')[0].response).tasks[0].taskArn.split('/').pop();
    const gets = calls('GetLogEvents');
    assert.equal(gets.length, 1, `the log was not looked for\n${describeRun(result)}`);
    assert.equal(gets[0].status, 400, 'moto: no such stream');
    const noLog = stdoutLines(result).filter((l) => l.includes('The runner wrote no log: there is no stream'));
    assert.equal(noLog.length, 1, `expected one "wrote no log" line\n${describeRun(result)}`);
    assert.ok(noLog[0].includes(`ecs-runner/runner/${taskId}`), noLog[0]);
    assert.ok(!stdoutLines(result).some((l) => l.startsWith('::group::Runner ')), 'a log group without lines');
    const errors = annotations(result);
    assert.ok(errorText(errors).includes('CannotPullContainerError'), `the failure is not the task's:\n${errorText(errors)}`);
    assert.ok(!/GetLogEvents|no stream|wrote no log/.test(errorText(errors)), `the missing log became an error:\n${errorText(errors)}`);
    await assertNothingLeftBehind();
    assertSecretsHandled(result, world);
  });

  test('the log cannot be read (AccessDenied): one line naming logs:GetLogEvents, never a second failure', async () => {
    await world.moto.setTaskTransition({ progression: 'immediate' });
    writeRunnerLogOnStart();
    proxy().reportStoppedTasksAs('EssentialContainerExited', 'Essential container in task exited');
    proxy().intercept((c) => c.operation === 'GetLogEvents', {
      status: 400,
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      body: { __type: 'AccessDeniedException', message: 'User: arn:aws:sts::123456789012:assumed-role/launcher/x is not authorized to perform: logs:GetLogEvents' },
    });
    const result = await world.run({ inputs: loggedInputs() });
    assertFailed(result);
    const denied = stdoutLines(result).filter((l) => l.includes('logs:GetLogEvents') && !l.startsWith('::debug::'));
    assert.ok(denied.length >= 1, `no line naming logs:GetLogEvents\n${describeRun(result)}`);
    assert.ok(!stdoutLines(result).some((l) => l.startsWith('::group::Runner ')), 'a log group without lines');
    const errors = annotations(result);
    assert.equal(errors.length, 1, `expected one ::error:: (the task's)\n${errorText(errors)}`);
    assert.ok(/EssentialContainerExited|Essential container/.test(errors[0]), errors[0]);
    assert.ok(!errors[0].includes('AccessDenied'), `the log's failure became the step's:\n${errors[0]}`);
    assert.equal(calls('GetLogEvents').length, 1, 'AccessDenied is not retried');
    await assertNothingLeftBehind();
    assertSecretsHandled(result, world);
  });

  test("the runner never comes online (wait-for-registration): the tail of a user's own awslogs definition", async () => {
    // A task definition of the user's, logging with its own prefix `runner`.
    world.iamNames({ Family: 'gh-runner-logs', LogGroup: '/ecs/gh-runner' });
    await world.moto.ecs('RegisterTaskDefinition', {
      family: 'gh-runner-logs',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '1024',
      memory: '2048',
      executionRoleArn: EXECUTION_ROLE,
      containerDefinitions: [
        {
          name: 'runner',
          image: IMAGE,
          essential: true,
          memory: 2048,
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/ecs/gh-runner', 'awslogs-region': REGION, 'awslogs-stream-prefix': 'runner' },
          },
        },
      ],
    });
    const lines = ['√ Connected to GitHub', 'Failed to connect: the JIT configuration is invalid', 'Runner listener exited with error code 1'];
    writeRunnerLogOnStart({ group: '/ecs/gh-runner', prefix: 'runner', lines });
    const result = await world.run({
      inputs: startInputs(world, { 'task-definition': 'gh-runner-logs', 'wait-for-registration': 'true', timeout: '3' }),
    });
    assertFailed(result);
    assert.match(errorText(annotations(result)), /online|registration|timed out|timeout/i);
    const taskId = result.outputs.task_id || JSON.parse(calls('RunTask')[0].response).tasks[0].taskArn.split('/').pop();
    const [get] = calls('GetLogEvents');
    assert.ok(get, `the log was not fetched\n${describeRun(result)}`);
    assert.equal(get.body.logGroupName, '/ecs/gh-runner');
    assert.equal(get.body.logStreamName, `runner/runner/${taskId}`);
    const name = world.gh.requestsTo('POST', '/generate-jitconfig')[0].body.name;
    assert.deepEqual(groupLines(result, `Runner ${name}: the last 3 lines of its log (task ${taskId})`).lines, lines);
    for (const line of lines) assert.ok(result.summary.includes(line), `the summary lacks ${line}`);
    assert.ok(calls('StopTask').some((s) => s.body.task.endsWith(taskId)), 'the task was not stopped');
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test('the task stops while the runner is awaited (wait-for-registration): the tail is shown', async () => {
    // moto's default progression: RUNNING in the RunTask answer, then one step
    // towards STOPPED per DescribeTasks (DEACTIVATING, STOPPING, ... STOPPED).
    await world.moto.setTaskTransition({ progression: 'manual', times: 1 });
    writeRunnerLogOnStart();
    proxy().reportStoppedTasksAs('EssentialContainerExited', 'Essential container in task exited');
    const result = await world.run({ inputs: loggedInputs({ 'wait-for-registration': 'true', timeout: '60' }) });
    assertFailed(result);
    const taskId = JSON.parse(calls('RunTask')[0].response).tasks[0].taskArn.split('/').pop();
    assert.ok(
      stdoutLines(result).some((l) => new RegExp(`^Task ${taskId.slice(0, 8)}[\\w-]*: RUNNING \\(`).test(l)),
      `the task was never RUNNING: not the path this test is for\n${describeRun(result)}`,
    );
    const name = world.gh.requestsTo('POST', '/generate-jitconfig')[0].body.name;
    assert.deepEqual(groupLines(result, `Runner ${name}: the last 50 lines of its log (task ${taskId})`).lines, TAIL);
    assert.ok(result.summary.includes(TAIL.at(-1)), 'the summary lacks the last line');
    assertRunnersCleanedUp(world.gh);
    assertSecretsHandled(result, world);
  });

  test("workflow commands in the runner's log are not obeyed in the launch step's log", async () => {
    // The log comes from the task, not from the action: a line such as
    // `::error::` or `::endgroup::` in it must reach the log as text (e.g.
    // inside ::stop-commands::), or the runner's output would write
    // annotations, masks, outputs or end the group in the launch job.
    await world.moto.setTaskTransition({ progression: 'immediate' });
    const lines = ['starting', '::endgroup::', '::error::injected by the runner log', '::add-mask::ok', 'after'];
    writeRunnerLogOnStart({ lines });
    proxy().reportStoppedTasksAs('EssentialContainerExited', 'Essential container in task exited');
    const result = await world.run({ inputs: loggedInputs() });
    assertFailed(result);
    const commands = workflowCommands(stdoutLines(result));
    const obeyed = commands.filter((c) => c.command !== 'endgroup' && lines.includes(c.line));
    assert.deepEqual(obeyed.map((c) => c.line), [], `lines of the runner's log were obeyed as workflow commands\n${describeRun(result)}`);
    // The action's own ::endgroup:: closes its group; the log's must not close it early.
    const count = (name) => commands.filter((c) => c.command === name).length;
    assert.equal(count('endgroup'), count('group'), `the runner's ::endgroup:: was obeyed\n${describeRun(result)}`);
    for (const line of lines) assert.ok(result.stdout.includes(line), `the log line ${line} is not shown`);
    assertSecretsHandled(result, world);
  });

  /**
   * The workflow commands the Actions runner would obey in `lines`
   * (`::name params::text`), honouring `::stop-commands::TOKEN` ... `::TOKEN::`.
   */
  function workflowCommands(lines) {
    const out = [];
    let stopToken = null;
    for (const line of lines) {
      const m = /^::([A-Za-z0-9_-]+)(?: [^:]*)?::(.*)$/.exec(line);
      if (!m) continue;
      if (stopToken !== null) {
        if (m[1] === stopToken) stopToken = null;
        continue;
      }
      if (m[1] === 'stop-commands') {
        stopToken = m[2];
        continue;
      }
      out.push({ command: m[1], text: m[2], line });
    }
    return out;
  }

  // --- reap: old revisions of the family --------------------------------------

  /**
   * Task definition ARN -> age in seconds for the registeredAt the proxy
   * adds to DescribeTaskDefinition answers (moto has none); default 0.
   */
  function ageTaskDefinitions(ages) {
    proxy().rewrite(
      (c) => c.operation === 'DescribeTaskDefinition' || c.operation === 'RegisterTaskDefinition',
      (body) => {
        const td = body.taskDefinition;
        if (td) td.registeredAt = Number((Date.now() / 1000 - (ages.get(td.taskDefinitionArn) ?? 0)).toFixed(3));
        return body;
      },
    );
  }

  /**
   * FAMILY with: rev 1 (ours, 2 h old), rev 2 (ours, 10 min old), rev 3
   * (registered by hand, no spec tag, 2 h old), rev 4 (ours, the latest, 2 h
   * old); and `other-family` with two revisions of ours, 2 h old.
   */
  async function seedRevisions() {
    const ages = new Map();
    ageTaskDefinitions(ages);
    const start = async (extra) => {
      const result = await world.run({ inputs: imageInputs(extra) });
      assertSucceeded(result);
      return result;
    };
    await start({ memory: '2048' });
    await start({ memory: '3072' });
    await world.moto.ecs('RegisterTaskDefinition', {
      family: FAMILY,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '1024',
      memory: '2048',
      containerDefinitions: [{ name: 'runner', image: IMAGE, essential: true, memory: 2048 }],
    });
    await start({ memory: '4096' });
    for (const memory of ['2048', '4096']) {
      await world.moto.ecs('RegisterTaskDefinition', {
        family: 'other-family',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '1024',
        memory,
        containerDefinitions: [{ name: 'runner', image: IMAGE, essential: true, memoryReservation: Number(memory) }],
        tags: [{ key: SPEC_TAG, value: `other-${memory}` }],
      });
    }
    const revs = await world.moto.taskDefinitionRevisions(FAMILY);
    assert.deepEqual(revs.map((r) => [r.revision, r.status, Boolean(r.spec)]), [
      [1, 'ACTIVE', true],
      [2, 'ACTIVE', true],
      [3, 'ACTIVE', false],
      [4, 'ACTIVE', true],
    ], 'the seeded revisions');
    const arn = (rev, family = FAMILY) => revs[0].arn.replace(/task-definition\/.*$/, `task-definition/${family}:${rev}`);
    ages.set(arn(1), 2 * HOUR).set(arn(2), 10 * 60).set(arn(3), 2 * HOUR).set(arn(4), 2 * HOUR);
    ages.set(arn(1, 'other-family'), 2 * HOUR).set(arn(2, 'other-family'), 2 * HOUR);
    // Only the reap's calls from here on; its tasks are no concern of these tests.
    proxy().requests.length = 0;
    return { arn };
  }

  function reap(inputs = {}) {
    return world.run({
      inputs: { token: world.pat, mode: 'reap', cluster: 'runners', name: FAMILY, 'max-age': '60', ...inputs },
      context: { GITHUB_JOB: 'reap', GITHUB_RUN_ATTEMPT: '1' },
    });
  }

  const statuses = async (family) => (await world.moto.taskDefinitionRevisions(family)).map((r) => [r.revision, r.status]);
  /** The revisions a call named (family:rev), from ARNs or short names. */
  const named = (values) => values.map((v) => v.split('/').pop()).sort();

  /** The summary row of a task definition revision (`family:rev`), or undefined. */
  function revisionRow(summary, revision) {
    return summary.split('\n').find((l) => /^\s*\|/.test(l) && l.includes(`${FAMILY}:${revision}`) && !l.includes(`${FAMILY}:${revision}0`));
  }

  test('reap: the old revision of ours is deregistered and deleted; young, hand-made, latest and other families stay', async () => {
    await seedRevisions();
    const result = await reap();
    assertSucceeded(result);

    assert.deepEqual(named(calls('DeregisterTaskDefinition').map((c) => c.body.taskDefinition)), [`${FAMILY}:1`], `deregistered\n${describeRun(result)}`);
    const deletes = calls('DeleteTaskDefinitions').flatMap((c) => c.body.taskDefinitions);
    assert.deepEqual(named(deletes), [`${FAMILY}:1`], 'deleted');
    assert.ok(
      calls('DeleteTaskDefinitions')[0].at >= calls('DeregisterTaskDefinition')[0].doneAt,
      'deleted before it was deregistered (ECS deletes INACTIVE revisions only)',
    );
    assert.deepEqual(await statuses(FAMILY), [[2, 'ACTIVE'], [3, 'ACTIVE'], [4, 'ACTIVE']], 'revision 1 is gone, the others ACTIVE');
    assert.deepEqual(await statuses('other-family'), [[1, 'ACTIVE'], [2, 'ACTIVE']], "another family's revisions were touched");

    const log = result.lines.join('\n');
    assert.ok(log.includes(`${FAMILY}:1`), `the log does not name ${FAMILY}:1\n${describeRun(result)}`);
    const row1 = revisionRow(result.summary, 1);
    assert.ok(row1, `no summary row for ${FAMILY}:1:\n${result.summary}`);
    assert.match(row1, /deregister/i);
    assert.match(row1, /120 min/);
    const row2 = revisionRow(result.summary, 2);
    assert.ok(row2 && /kept/i.test(row2) && /younger than max-age/.test(row2), `revision 2 row: ${row2}\n${result.summary}`);
    assert.ok(!revisionRow(result.summary, 4) || /kept/i.test(revisionRow(result.summary, 4)), 'the latest is not removed');
    assertAwsRequestsSigned(world.moto, REGION);
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  test('reap max-age 0: every older revision of ours goes, the latest and the hand-made one stay', async () => {
    await seedRevisions();
    const result = await reap({ 'max-age': '0' });
    assertSucceeded(result);
    assert.deepEqual(named(calls('DeregisterTaskDefinition').map((c) => c.body.taskDefinition)), [`${FAMILY}:1`, `${FAMILY}:2`]);
    assert.deepEqual(await statuses(FAMILY), [[3, 'ACTIVE'], [4, 'ACTIVE']]);
    for (const rev of [1, 2]) assert.match(revisionRow(result.summary, rev) ?? '', /deregister/i, `row of ${FAMILY}:${rev}:\n${result.summary}`);
    // The next start still finds its definition up to date.
    proxy().requests.length = 0;
    const again = await world.run({ inputs: imageInputs({ memory: '4096' }) });
    assertSucceeded(again);
    assert.deepEqual(calls('RegisterTaskDefinition'), []);
    assertNamesRevision(calls('RunTask')[0].body.taskDefinition, FAMILY, 4);
    assertSecretsHandled(result, world, { issuedHere: false });
  });

  test('reap dry-run: nothing deregistered or deleted; the summary lists the revision it would remove', async () => {
    await seedRevisions();
    const result = await reap({ 'dry-run': 'true' });
    assertSucceeded(result);
    assert.deepEqual(calls('DeregisterTaskDefinition'), [], 'a dry run deregistered');
    assert.deepEqual(calls('DeleteTaskDefinitions'), [], 'a dry run deleted');
    assert.deepEqual(await statuses(FAMILY), [[1, 'ACTIVE'], [2, 'ACTIVE'], [3, 'ACTIVE'], [4, 'ACTIVE']]);
    const row1 = revisionRow(result.summary, 1);
    assert.ok(row1, `no summary row for ${FAMILY}:1:\n${result.summary}`);
    assert.match(row1, /would deregister/i);
    assert.match(result.lines.join('\n'), new RegExp(`${FAMILY}:1.*would deregister`), describeRun(result));
    assertSecretsHandled(result, world, { issuedHere: false });
  });
});
