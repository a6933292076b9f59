// Assertions several e2e tests share, each tied to a line of docs/behaviour.md.

import assert from 'node:assert/strict';
import { FAKE_AWS, assertNoSecrets, maskedValues, describeRun } from './action.mjs';

/** Exit 0, not killed. */
export function assertSucceeded(result) {
  assert.equal(result.timedOut, false, `the action hung\n${describeRun(result)}`);
  assert.equal(result.code, 0, `the action failed\n${describeRun(result)}`);
}

/** Exit 1 (core.setFailed), not killed. */
export function assertFailed(result) {
  assert.equal(result.timedOut, false, `the action hung\n${describeRun(result)}`);
  assert.equal(result.code, 1, `expected exit 1\n${describeRun(result)}`);
}

/**
 * behaviour.md, "Logs and secrets": every secret is masked before anything
 * else is printed, and no other line contains one. The secrets known at start
 * (PAT, AWS secret key, session token) must be masked before the first
 * stdout line that is not a mask; those issued by GitHub at all.
 *
 * For a stop or reap run after a start: `issuedHere: false` (the JIT configs
 * and registration tokens were issued to the start step, which masked them;
 * this run need not). The `::debug::` lines are checked too: step debug
 * logging shows them.
 */
export function assertSecretsHandled(result, world, { tokenGiven = true, issuedHere = true } = {}) {
  assertNoSecrets(result, world.secrets());
  const stdout = result.stdout.split(/\r?\n/);
  const firstOther = stdout.findIndex((l) => l !== '' && !l.startsWith('::add-mask::'));
  const early = new Set(
    stdout
      .slice(0, firstOther === -1 ? stdout.length : firstOther)
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length)),
  );
  const known = [
    ['AWS_SECRET_ACCESS_KEY', FAKE_AWS.secretAccessKey],
    ['AWS_SESSION_TOKEN', FAKE_AWS.sessionToken],
  ];
  if (tokenGiven) known.unshift(['token', world.pat]);
  for (const [what, value] of known) {
    assert.ok(early.has(value), `${what} not masked before the first other line of output\n${describeRun(result)}`);
  }
  if (!issuedHere) return;
  const masked = new Set(maskedValues(result));
  for (const issued of world.gh.issued) {
    assert.ok(masked.has(issued.value), `the ${issued.kind} secret GitHub issued was never masked`);
  }
}

/**
 * Every request that reached AWS was SigV4-signed with the job's key, region
 * and session token, for the service it was sent to.
 */
export function assertAwsRequestsSigned(moto, region) {
  for (const call of moto.proxy.requests) {
    const what = `${call.service} ${call.operation}`;
    assert.equal(call.signature, 'valid', `${what}: ${call.signature}`);
    assert.equal(call.auth.accessKeyId, FAKE_AWS.accessKeyId, what);
    assert.equal(call.auth.region, region, what);
    assert.equal(call.auth.service, call.service, what);
    assert.equal(call.sessionToken, FAKE_AWS.sessionToken, `${what}: X-Amz-Security-Token`);
  }
}

/** behaviour.md, "GitHub REST requests": the headers of every request. */
export function assertGitHubHeaders(gh) {
  assert.deepEqual(gh.violations(), [], 'the fake GitHub rejected requests');
  for (const r of gh.requests) {
    assert.equal(r.headers['x-github-api-version'], '2022-11-28', `${r.method} ${r.path}`);
    assert.match(r.headers['user-agent'] ?? '', /^ecs-runner\/\S+/, `${r.method} ${r.path}: User-Agent`);
  }
}

/**
 * behaviour.md, "Names": labels in order, without case-insensitive
 * duplicates: self-hosted, Linux, {arch}, ephemeral, {name}, user labels,
 * {runner_id}.
 */
export function expectedLabels({ arch, name, labels, runnerId }) {
  const out = [];
  for (const l of ['self-hosted', 'Linux', arch, 'ephemeral', name, ...labels, runnerId]) {
    if (l && !out.some((o) => o.toLowerCase() === l.toLowerCase())) out.push(l);
  }
  return out;
}

/** behaviour.md, "Names": `{name}-{run_id}-{attempt}-{8 hex}`. */
export function assertRunnerId(runnerId, { name, runId, attempt }) {
  const prefix = `${name}-${runId}-${attempt}-`;
  assert.ok(runnerId?.startsWith(prefix), `runner_id ${runnerId} should start with ${prefix}`);
  assert.match(runnerId.slice(prefix.length), /^[0-9a-f]{8}$/);
}

/** behaviour.md, "Names": the task tags the action adds. */
export function assertTaskTags(task, { runnerId, repository, context, runId, attempt, job }) {
  const expected = {
    'ecs-runner:runner-id': runnerId,
    'ecs-runner:repository': repository,
    'ecs-runner:context': context,
    'ecs-runner:run-id': runId,
    'ecs-runner:run-attempt': attempt,
    'ecs-runner:job': job,
  };
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(task.tags[key], value, `task tag ${key}`);
  }
}

/** behaviour.md, "Names": clientToken = ecs-runner-{run_id}-{attempt}-{job}-{index}, at most 64. */
export function expectedClientToken({ runId, attempt, job, runnerId }, index = 0) {
  // The runner id's random suffix keeps matrix legs (same run, attempt and
  // job id) and two launch steps in one job apart.
  const suffix = runnerId.split('-').pop();
  const token = `ecsr-${runId}-${attempt}-${index}-${suffix}-${job}`;
  return token.length <= 64 ? token : null; // longer: the job is hashed, only the length is known
}

/** `::error::` text, all of it, for "mentions X" checks. */
export function errorText(annotationsList) {
  return annotationsList.join('\n');
}

/**
 * No runner left behind: every runner the action registered was deleted, by
 * a DELETE that GitHub answered 204.
 */
export function assertRunnersCleanedUp(gh) {
  assert.equal(gh.runners.size, 0, `runners left registered: ${[...gh.runners.values()].map((r) => r.name).join(', ')}`);
  for (const issued of gh.issued.filter((i) => i.kind === 'jit')) {
    const deletes = gh.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith(`/actions/runners/${issued.runnerId}`));
    assert.ok(deletes.some((d) => d.status === 204), `runner ${issued.runnerId} was not deleted with a DELETE`);
  }
}
