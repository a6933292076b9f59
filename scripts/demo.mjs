// The README's "try it": runs dist/index.js the way the Actions runner does,
// against moto (an AWS emulator) and a fake GitHub, both on 127.0.0.1, seeded
// like the README's example: cluster `runners`, task definition `gh-runner`,
// subnets and security groups tagged placement=ecs. Runs mode: start, then
// mode: stop with the start's outputs (another job of the same workflow run),
// and prints each one's log, outputs and job summary, and what ECS and GitHub
// hold after each; then stops the servers.
// Run it with scripts/demo.sh (which installs what is missing).

import { startWorld, REGION } from '../tests/e2e/lib/world.mjs';
import { ENTRY } from '../tests/e2e/lib/action.mjs';
import { existsSync } from 'node:fs';

if (!existsSync(ENTRY)) {
  console.error(`${ENTRY} is missing: build it first (npm run build).`);
  process.exit(1);
}

console.log('Starting moto and a fake GitHub on 127.0.0.1 ...');
// The fake GitHub reports the runner online 2 s after it is registered, as if
// the container had started it (nothing really runs in moto).
const world = await startWorld({ onlineAfterMs: 2_000 });
let exitCode = 1;
const stop = async () => {
  await world.close();
};
process.once('SIGINT', async () => {
  await stop();
  process.exit(130);
});

try {
  const { network } = await world.fresh();
  console.log(`  moto ${world.moto.url} (the action talks to it through a recording proxy, ${world.moto.endpoint})`);
  console.log(`  fake GitHub ${world.gh.url}`);
  console.log(`  cluster runners, task definition gh-runner, region ${REGION}`);
  console.log(`  subnets tagged placement=ecs: ${network.subnets.join(', ')}`);
  console.log(`  security groups tagged placement=ecs: ${network.securityGroups.join(', ')}`);

  const startInputs = {
    token: world.pat,
    cluster: 'runners',
    'task-definition': 'gh-runner',
    'subnets-tag': 'placement:ecs',
    'security-groups-tag': 'placement:ecs',
    'wait-for-registration': 'true',
    // ECS_RUNNER_DEMO_COUNT=3 npm run demo: a fleet of three from one step.
    count: process.env.ECS_RUNNER_DEMO_COUNT || '1',
  };
  const started = await step('start', startInputs);
  if (started.code !== 0) throw new Error(`mode: start exited ${started.code}`);
  const startContext = { ...world.context };
  await showWorld();

  // The stop job of the same workflow run, given the start step's outputs.
  const stopInputs = {
    mode: 'stop',
    token: world.pat,
    cluster: 'runners',
    'task-arn': started.outputs.task_arns,
    'runner-id': started.outputs.runner_id,
  };
  const stopped = await step('stop', stopInputs, {
    GITHUB_RUN_ID: startContext.GITHUB_RUN_ID,
    GITHUB_RUN_ATTEMPT: startContext.GITHUB_RUN_ATTEMPT,
    GITHUB_JOB: 'stop-runner',
  });
  await showWorld();
  exitCode = stopped.code === 0 ? 0 : 1;
} catch (error) {
  console.error(`demo failed: ${error.stack ?? error}`);
} finally {
  await stop();
}
process.exit(exitCode);

/** Runs the action once with `inputs`, echoing its log; prints outputs and summary. */
async function step(mode, inputs, context = {}) {
  console.log(`\n===== mode: ${mode} =====`);
  console.log('Running: node dist/index.js with');
  for (const [k, v] of Object.entries(inputs)) console.log(`  ${k}: ${k === 'token' ? '***' : v}`);
  const jobContext = Object.entries(context);
  if (jobContext.length) console.log(`  (job: ${jobContext.map(([k, v]) => `${k}=${v}`).join(', ')})`);
  console.log('\n----- action log -----');
  const result = await world.run({ inputs, context, echo: asGitHubShowsIt, timeoutMs: 180_000 });
  console.log('----- end of log -----');
  console.log(`\nExit code: ${result.code}${result.timedOut ? ' (killed: time limit)' : ''}`);

  console.log('\nOutputs (GITHUB_OUTPUT):');
  const outputs = Object.entries(result.outputs);
  if (outputs.length === 0) console.log('  (none)');
  for (const [k, v] of outputs) console.log(`  ${k} = ${v}`);

  console.log('\nJob summary (GITHUB_STEP_SUMMARY):');
  console.log(result.summary.trim() ? result.summary.trimEnd().replace(/^/gm, '  ') : '  (empty)');
  return result;
}

/**
 * A line of the action's stdout as a GitHub run's log shows it: workflow
 * commands rendered (warnings, errors, notices), masks and debug lines hidden
 * unless ECS_RUNNER_DEMO_DEBUG=1 (as GitHub shows debug lines only with step
 * debug logging).
 */
function asGitHubShowsIt(line) {
  const command = /^::(debug|warning|error|notice|add-mask)(?: [^:]*)?::(.*)$/.exec(line);
  if (!command) return line;
  const [, kind, raw] = command;
  const text = raw.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
  const debug = process.env.ECS_RUNNER_DEMO_DEBUG === '1';
  switch (kind) {
    case 'add-mask':
      return null;
    case 'debug':
      return debug ? text.replace(/^/gm, '##[debug]') : null;
    case 'warning':
      return `Warning: ${text}`;
    case 'error':
      return `Error: ${text}`;
    default:
      return `Notice: ${text}`;
  }
}

/** What ECS and GitHub hold now, and the GitHub requests made so far. */
async function showWorld() {
  console.log('\nWhat ECS holds now (read back from moto):');
  const tasks = await world.moto.tasks('runners');
  if (tasks.length === 0) console.log('  no task');
  for (const t of tasks) {
    console.log(`  task ${t.arn}`);
    console.log(`    lastStatus ${t.lastStatus}, startedBy ${t.startedBy}, ip ${t.ip}`);
    if (t.stoppedReason) console.log(`    stoppedReason ${t.stoppedReason}`);
    console.log(`    tags: ${Object.entries(t.tags).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    for (const [container, env] of Object.entries(t.env)) {
      console.log(`    container ${container} env: ${Object.keys(env).join(', ')} (values not shown)`);
    }
  }
  console.log('\nRunners registered in the fake GitHub:');
  if (world.gh.runners.size === 0) console.log('  none');
  for (const r of world.gh.runners.values()) console.log(`  ${r.name} (id ${r.id})`);
  console.log('\nGitHub requests the action made so far:');
  for (const r of world.gh.requests) console.log(`  ${r.method} ${r.path}${Object.keys(r.query).length ? '?' + new URLSearchParams(r.query) : ''} -> ${r.status}`);
}
