// Issue 13, "the runner's contract": what the action starts must be a runner
// that the STOCK image (ghcr.io/actions/actions-runner) really runs, held
// against the runner's source, not against our own idea of it.
//
// The action runs against moto and the fake GitHub as everywhere else; then
// each task it started is run for real in lib/runner-image.mjs, a stand-in of
// the image built from actions/runner's source (images/Dockerfile, run.sh,
// run-helper.sh.template, config.sh, Runner.Listener: see that file and
// lib/runner-listener.mjs). The container run is the task's effective one:
// the task definition as moto returns it (for `image`, the one the action
// registered) with the RunTask overrides the action really sent (the proxy's
// record). The runner that connects must be exactly the runner the action
// reported: its name (runner_name / runners[].name), its labels, the scope
// (GITHUB_SERVER_URL/context), the runner group by NAME (config.sh matches
// --runnergroup against group names), ephemeral, and a credential that the
// fake GitHub issued for that runner or scope.
//
// The first block tests the stand-in itself.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { useWorld, startInputs, REPOSITORY, ORG } from './lib/world.mjs';
import { describeRun } from './lib/action.mjs';
import { assertSucceeded, expectedLabels } from './lib/checks.mjs';
import { jitConfig } from './lib/github.mjs';
import { parseCommandLine } from './lib/runner-listener.mjs';
import {
  IMAGE_CONFIG,
  STOCK_COMMAND,
  effectiveContainer,
  startedContainers,
  githubAsSeenByRunner,
  runContainer,
  canRunStandIn,
  describeContainerRun,
} from './lib/runner-image.mjs';

const STOCK = 'ghcr.io/actions/actions-runner:latest';
const NAME = 'gh-runner';
const WORKDIR = '_workdir'; // action.yaml's default
const NOT_CONFIGURED = /Runner is not configured|Not configured\. Run config/;

/** A container of the stock image as effectiveContainer describes one. */
function stockContainer(extra = {}) {
  const { environment = {}, ...rest } = extra;
  return {
    name: 'runner',
    image: STOCK,
    entryPoint: null,
    command: [...STOCK_COMMAND],
    environment: { ...IMAGE_CONFIG.env, ...environment },
    user: 'runner',
    workingDirectory: '/home/runner',
    cpuArchitecture: 'X64',
    ...rest,
  };
}

const aJitConfig = (over = {}) =>
  jitConfig({ id: 4242, name: 'model-runner', poolId: 1, poolName: 'Default', workFolder: '_work', ...over });

describe('the stand-in of ghcr.io/actions/actions-runner (model self-test)', () => {
  test('this machine can run it (root, unshare, setpriv)', () => {
    assert.ok(canRunStandIn(), 'the stand-in needs root with /usr/bin/unshare and /usr/bin/setpriv');
  });

  test('run.sh alone: the runner is not configured, and run.sh still exits 0', async () => {
    const r = await runContainer(stockContainer());
    assert.equal(r.timedOut, false, describeContainerRun(r));
    assert.equal(r.configured, false);
    assert.equal(r.connected, null);
    assert.equal(r.exitCode, 0, 'run-helper maps the listener\'s 1 (terminated) to 0');
    assert.match(r.output, NOT_CONFIGURED);
    assert.match(r.output, /Runner listener exit with terminated error/);
  });

  test('run.sh with ACTIONS_RUNNER_INPUT_JITCONFIG connects as the runner in the JIT config', async () => {
    const r = await runContainer(stockContainer({ environment: { ACTIONS_RUNNER_INPUT_JITCONFIG: aJitConfig() } }));
    assert.equal(r.connected?.how, 'jit', describeContainerRun(r));
    assert.equal(r.connected.id, 4242);
    assert.equal(r.connected.name, 'model-runner');
    assert.equal(r.connected.ephemeral, true);
    assert.equal(r.connected.credential.keyBits, 2048);
    assert.equal(r.exitCode, 0);
  });

  test('the input variables match in any case: actions_runner_input_jitconfig is honoured', async () => {
    const r = await runContainer(stockContainer({ environment: { actions_runner_input_jitconfig: aJitConfig({ name: 'lower' }) } }));
    assert.equal(r.connected?.name, 'lower', describeContainerRun(r));
  });

  test('a JIT config that is not base64 is refused, and run.sh still exits 0', async () => {
    const r = await runContainer(stockContainer({ environment: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'not*base64' } }));
    assert.equal(r.connected, null);
    assert.match(r.output, /not a valid Base-64 string/);
    assert.equal(r.exitCode, 0);
  });

  test('config.sh without a token fails (unattended), and run.sh after it is not configured', async () => {
    const r = await runContainer(
      stockContainer({
        command: ['/bin/bash', '-c', './config.sh --unattended --url https://github.com/o/r --name x; echo "config exit $?"; ./run.sh'],
      }),
    );
    assert.match(r.output, /Invalid configuration provided for token\. Terminating unattended configuration\./, describeContainerRun(r));
    assert.match(r.output, /config exit 1/);
    assert.equal(r.registrations.length, 0);
    assert.equal(r.connected, null);
    assert.match(r.output, NOT_CONFIGURED);
  });

  test('config.sh from ACTIONS_RUNNER_INPUT_* (any case), then run.sh: connects as the registered runner', async () => {
    const r = await runContainer(
      stockContainer({
        command: ['/bin/bash', '-c', './config.sh && ./run.sh'],
        environment: {
          ACTIONS_RUNNER_INPUT_URL: 'https://github.com/o/r',
          Actions_Runner_Input_Token: 'AREGTOKEN',
          ACTIONS_RUNNER_INPUT_NAME: 'from-env',
          ACTIONS_RUNNER_INPUT_LABELS: 'a,b,A',
          ACTIONS_RUNNER_INPUT_WORK: '_w',
          ACTIONS_RUNNER_INPUT_UNATTENDED: 'true',
          ACTIONS_RUNNER_INPUT_EPHEMERAL: 'True',
        },
      }),
    );
    const [reg] = r.registrations;
    assert.ok(reg, describeContainerRun(r));
    assert.equal(reg.url, 'https://github.com/o/r');
    assert.equal(reg.token, 'AREGTOKEN');
    assert.equal(reg.name, 'from-env');
    assert.deepEqual(reg.labels, ['self-hosted', 'Linux', 'X64', 'a', 'b'], 'the runner adds its own labels; duplicates by case dropped');
    assert.equal(reg.runnerGroup, 'Default');
    assert.equal(reg.runnerGroupAsked, null);
    assert.equal(reg.work, '_w');
    assert.equal(reg.ephemeral, true);
    assert.equal(r.connected?.how, 'config');
    assert.equal(r.connected.name, 'from-env');
    assert.equal(r.connected.gitHubUrl, 'https://github.com/o/r');
    assert.equal(r.connected.workFolder, '_w');
  });

  test('a flag from the environment must say "true": ACTIONS_RUNNER_INPUT_EPHEMERAL=1 is not ephemeral', async () => {
    const r = await runContainer(
      stockContainer({
        command: ['/home/runner/config.sh', '--unattended', '--url', 'https://github.com/o/r', '--token', 'T'],
        environment: { ACTIONS_RUNNER_INPUT_EPHEMERAL: '1' },
      }),
      { hostname: 'ip-10-9-8-7' },
    );
    assert.equal(r.registrations[0]?.ephemeral, false, describeContainerRun(r));
    assert.equal(r.registrations[0].name, 'ip-10-9-8-7', 'no name: the host name');
  });

  test('the runner group is matched by NAME: --runnergroup 1 is no group of a repository', async () => {
    const r = await runContainer(
      stockContainer({ command: ['/home/runner/config.sh', '--unattended', '--url', 'https://github.com/o/r', '--token', 'T', '--runnergroup', '1'] }),
    );
    assert.match(r.output, /Could not find any self-hosted runner group named "1"\./, describeContainerRun(r));
    assert.equal(r.exitCode, 1);
  });

  test('config.sh as root is refused (the image runs as runner, uid 1001)', async () => {
    const r = await runContainer(stockContainer({ user: 'root', command: ['/home/runner/config.sh', '--unattended'] }));
    assert.match(r.output, /Must not run with sudo/);
    assert.equal(r.exitCode, 1);
  });

  test('bounded: a runner asking on a closed stdin (no --unattended) is killed at the timeout, nothing left running', async () => {
    const started = Date.now();
    const r = await runContainer(stockContainer({ command: ['/home/runner/config.sh', '--url', 'https://github.com/o/r'] }), { timeoutMs: 2000 });
    assert.equal(r.timedOut, true, describeContainerRun(r));
    assert.ok(Date.now() - started < 10_000);
    assert.match(r.output, /What is your runner register token\?/);
    const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('bin/listener.mjs');
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], 'no process of the stand-in is left');
  });

  test('a retryable listener error (2) is restarted by run.sh after 5 s', async () => {
    const bad = Buffer.from(JSON.stringify({ '.runner': Buffer.from('{not json').toString('base64') })).toString('base64');
    const r = await runContainer(stockContainer({ environment: { ACTIONS_RUNNER_INPUT_JITCONFIG: bad } }), { timeoutMs: 7000 });
    assert.equal(r.timedOut, true, describeContainerRun(r));
    assert.match(r.output, /re-launch runner in 5 seconds/);
    assert.match(r.output, /Restarting runner\.\.\./);
    assert.ok(r.events.filter((e) => e.event === 'listener').length >= 2, 'the listener ran again');
    assert.equal(r.connected, null);
  });

  test('no command: the image has no ENTRYPOINT or CMD, so the container cannot start', async () => {
    const r = await runContainer(stockContainer({ command: null }));
    assert.equal(r.started, false);
    assert.match(r.why, /CannotStartContainerError/);
  });

  test('the command line as CommandLineParser reads it', () => {
    const p = parseCommandLine(['configure', '--URL', 'u', '--unattended', '--name', 'a', 'b', '--Ephemeral']);
    assert.deepEqual(p.commands, ['configure']);
    assert.deepEqual([...p.args], [['url', 'u'], ['name', 'a']]);
    assert.deepEqual([...p.flags].sort(), ['ephemeral', 'unattended']);
  });

  test('the effective container: the override\'s command replaces, its environment adds and overrides', () => {
    const taskDefinition = {
      family: 'f',
      revision: 3,
      containerDefinitions: [
        { name: 'runner', image: STOCK, entryPoint: ['/bin/bash', '-c'], command: ['old'], environment: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
      ],
    };
    const c = effectiveContainer(taskDefinition, {
      overrides: { containerOverrides: [{ name: 'runner', command: ['new'], environment: [{ name: 'B', value: 'x' }, { name: 'C', value: 'y' }] }] },
    });
    assert.deepEqual(c.entryPoint, ['/bin/bash', '-c']);
    assert.deepEqual(c.command, ['new']);
    assert.equal(c.environment.A, '1');
    assert.equal(c.environment.B, 'x');
    assert.equal(c.environment.C, 'y');
    assert.equal(c.environment.RUNNER_MANUALLY_TRAP_SIG, '1', 'the image\'s ENV');
    assert.equal(c.user, 'runner');
    assert.equal(c.workingDirectory, '/home/runner');
    const plain = effectiveContainer(taskDefinition, { overrides: { containerOverrides: [{ name: 'runner' }] } });
    assert.deepEqual(plain.command, ['old']);
  });
});

describe('runners the action starts, run in the stand-in of the stock image', () => {
  let world;
  useWorld((w) => (world = w));

  const scopeKey = (context) => (context.includes('/') ? `repo:${context.toLowerCase()}` : `org:${context.toLowerCase()}`);

  /**
   * Runs the action with `inputs`, then the stand-in on every task it
   * started. Returns {result, runners (the runners output), runs: [{runner,
   * container, taskDefinition, run}]} matched by task ARN.
   */
  async function startAndRunAll(inputs) {
    const result = await world.run({ inputs });
    assertSucceeded(result);
    const runners = JSON.parse(result.outputs.runners);
    const started = await startedContainers(world.moto);
    assert.equal(started.length, runners.length, 'one started task per runner reported');
    const scopes = githubAsSeenByRunner(world.gh, world.context.GITHUB_SERVER_URL);
    const runs = [];
    for (const s of started) {
      const runner = runners.find((r) => r.task_arn === s.taskArn);
      assert.ok(runner, `task ${s.taskArn} is no runner the action reported`);
      runs.push({ runner, container: s.container, taskDefinition: s.taskDefinition, run: await runContainer(s.container, { scopes }) });
    }
    return { result, runners, runs };
  }

  /** The case of ACTIONS_RUNNER_INPUT_<name> does not matter to the runner. */
  const inputVar = (env, name) => Object.entries(env).find(([k]) => k.toUpperCase() === `ACTIONS_RUNNER_INPUT_${name}`)?.[1];

  /**
   * The runner that connected in `run` is exactly `runner` (reported by the
   * action) with `labels`, registered as `registration` wants, in `context`,
   * in the runner group named `group` (id `groupId`).
   */
  function assertConnectedAsReported({ run, runner, container }, { registration, labels, context, group = 'Default', groupId = 1 }) {
    const why = `\n${describeContainerRun(run, container)}`;
    assert.equal(run.started, true, `the container did not start${why}`);
    assert.doesNotMatch(run.output, NOT_CONFIGURED, `the runner in the task was not configured${why}`);
    assert.ok(run.connected, `no runner connected from the task${why}`);
    const c = run.connected;
    assert.equal(c.name, runner.name, `the runner that connects is the one reported${why}`);
    assert.equal(c.ephemeral, true, `ephemeral${why}`);
    assert.equal(c.poolName, group, `runner group${why}`);
    assert.equal(c.poolId, groupId, `runner group id${why}`);
    assert.equal(c.workFolder, WORKDIR, `work folder${why}`);
    const key = scopeKey(context);
    const sameLabels = (got, want, what) =>
      assert.deepEqual(
        [...new Set(got.map((l) => l.toLowerCase()))].sort(),
        [...new Set(want.map((l) => l.toLowerCase()))].sort(),
        `${what}${why}`,
      );
    if (registration === 'jit') {
      assert.equal(c.how, 'jit', `connected with the JIT config${why}`);
      assert.equal(String(c.id), String(runner.github_runner_id), `GitHub's runner id${why}`);
      const issued = world.gh.issued.find((i) => i.kind === 'jit' && i.runnerId === c.id);
      assert.ok(issued, `no JIT config GitHub issued for runner ${c.id}${why}`);
      assert.equal(issued.scope, key, `the JIT config is for ${context}${why}`);
      assert.equal(inputVar(container.environment, 'JITCONFIG'), issued.value, `the task holds that runner's JIT config${why}`);
      const ghRunner = world.gh.runners.get(c.id);
      assert.equal(ghRunner?.name, runner.name);
      sameLabels(ghRunner.labels.map((l) => l.name), labels, 'labels GitHub holds for the runner');
    } else {
      assert.equal(c.how, 'config', `connected as config.sh registered it${why}`);
      assert.equal(run.registrations.length, 1, `config.sh registered one runner${why}`);
      const [reg] = run.registrations;
      assert.equal(reg.url, `${world.context.GITHUB_SERVER_URL}/${context}`, `registration URL = GITHUB_SERVER_URL/context${why}`);
      const issued = world.gh.issued.find((i) => i.kind === 'registration' && i.value === reg.token);
      assert.ok(issued, `config.sh's token is none GitHub issued${why}`);
      assert.equal(issued.scope, key, `the token was issued for ${context}${why}`);
      assert.equal(reg.name, runner.name, `registered name${why}`);
      sameLabels(reg.labels, labels, 'registered labels (the runner\'s own added)');
      assert.equal(reg.runnerGroup, group, `runner group by name${why}`);
      assert.equal(reg.ephemeral, true, `--ephemeral${why}`);
      assert.equal(reg.unattended, true, `--unattended${why}`);
      assert.equal(reg.work, WORKDIR, `--work${why}`);
      assert.equal(c.gitHubUrl, reg.url);
    }
  }

  const imageInputs = (extra = {}) => startInputs(world, { name: NAME, 'task-definition': '', image: STOCK, ...extra });
  /** freshWorld's gh-runner: one container `runner`, the stock image, command ["/home/runner/run.sh"]. */
  const definitionInputs = (extra = {}) => startInputs(world, { name: NAME, ...extra });

  for (const registration of ['jit', 'token']) {
    for (const [mode, inputsOf] of [
      ['image (default command)', imageInputs],
      ['task-definition with the stock command', definitionInputs],
    ]) {
      test(`${registration}, ${mode}: the runner that connects is the one reported`, async () => {
        const { result, runs } = await startAndRunAll(inputsOf({ registration, labels: 'gpu' }));
        assert.equal(runs.length, 1);
        if (mode.startsWith('task')) assert.deepEqual(runs[0].taskDefinition.containerDefinitions[0].command, STOCK_COMMAND);
        else assert.equal(runs[0].taskDefinition.containerDefinitions[0].image, STOCK);
        assert.equal(runs[0].runner.name, result.outputs.runner_name, describeRun(result));
        const labels = expectedLabels({ arch: 'X64', name: NAME, labels: ['gpu'], runnerId: result.outputs.runner_id });
        assertConnectedAsReported(runs[0], { registration, labels, context: REPOSITORY });
      });
    }

    test(`${registration}, image, a fleet of 2: each task connects as its own runner`, async () => {
      const { result, runs } = await startAndRunAll(imageInputs({ registration, count: '2' }));
      assert.equal(runs.length, 2);
      const names = runs.map((r) => r.run.connected?.name);
      assert.deepEqual(new Set(names).size, 2, `two distinct runners connect: ${names.join(', ')}`);
      for (const r of runs) {
        const labels = [...expectedLabels({ arch: 'X64', name: NAME, labels: [], runnerId: result.outputs.runner_id }), r.runner.name];
        assertConnectedAsReported(r, { registration, labels, context: REPOSITORY });
      }
    });

    test(`${registration}, image, an organization and a runner group by name: that group`, async () => {
      const saved = world.gh.runnerGroups;
      world.gh.runnerGroups = [
        { id: 1, name: 'Default', default: true, visibility: 'all' },
        { id: 7, name: 'ecs-runners', default: false, visibility: 'all' },
      ];
      try {
        const { result, runs } = await startAndRunAll(imageInputs({ registration, context: ORG, 'runner-group': 'ecs-runners' }));
        const labels = expectedLabels({ arch: 'X64', name: NAME, labels: [], runnerId: result.outputs.runner_id });
        assertConnectedAsReported(runs[0], { registration, labels, context: ORG, group: 'ecs-runners', groupId: 7 });
      } finally {
        world.gh.runnerGroups = saved;
      }
    });

    test(`${registration}, image, default-labels false: the runner carries only its own labels`, async () => {
      const { result, runs } = await startAndRunAll(imageInputs({ registration, 'default-labels': 'false', labels: 'gpu' }));
      const id = result.outputs.runner_id;
      assertConnectedAsReported(runs[0], { registration, labels: [id, NAME, 'gpu'], context: REPOSITORY });
    });
  }

  test('token, a custom entrypoint: the RUNNER_* contract, and an entrypoint that uses it registers the runner', async () => {
    // What a custom image's entry point does with the documented variables
    // (README, "Your own task definition"): config.sh, then run.sh. Not
    // --runnergroup "$RUNNER_GROUP": RUNNER_GROUP is the group's id
    // (docs/behaviour.md), and config.sh matches --runnergroup against
    // group NAMES (ConfigurationManager.cs), so an id there fails (see the
    // model self-test of --runnergroup 1).
    const entrypoint = [
      'cd /home/runner',
      './config.sh --unattended --ephemeral --url "$RUNNER_URL" --token "$RUNNER_TOKEN" --name "$RUNNER_NAME"' +
        ' --labels "$RUNNER_LABELS" --work "$RUNNER_WORKDIR" || exit 1',
      'exec ./run.sh',
    ].join('\n');
    world.iamNames({ Family: 'custom-runner' }); // the user's policy names their definition
    await world.moto.registerTaskDefinition('custom-runner', [
      { name: 'runner', image: STOCK, entryPoint: ['/bin/bash', '-c'], command: [entrypoint], memory: 2048 },
    ]);
    const { result, runs } = await startAndRunAll(definitionInputs({ registration: 'token', 'task-definition': 'custom-runner', labels: 'gpu' }));
    const [{ container, runner, run }] = runs;
    const env = container.environment;
    const labels = expectedLabels({ arch: 'X64', name: NAME, labels: ['gpu'], runnerId: result.outputs.runner_id });
    assert.equal(container.overridden.command, false, 'a command that is not the stock run.sh is left as it is');
    assert.equal(env.RUNNER_URL, `${world.context.GITHUB_SERVER_URL}/${REPOSITORY}`, 'RUNNER_URL');
    assert.equal(env.RUNNER_NAME, runner.name, 'RUNNER_NAME');
    assert.deepEqual(env.RUNNER_LABELS?.split(','), labels, 'RUNNER_LABELS');
    assert.equal(env.RUNNER_WORKDIR, WORKDIR, 'RUNNER_WORKDIR');
    const issued = world.gh.issued.find((i) => i.kind === 'registration' && i.value === env.RUNNER_TOKEN);
    assert.equal(issued?.scope, scopeKey(REPOSITORY), 'RUNNER_TOKEN is a registration token GitHub issued for the repository');
    assert.equal(env.RUNNER_GROUP, '1', 'RUNNER_GROUP: the group id (docs/behaviour.md), the Default group of a repository');
    assertConnectedAsReported(runs[0], { registration: 'token', labels, context: REPOSITORY });
  });
});
