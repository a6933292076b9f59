// mode: start, two properties of the requests themselves:
// - a RunTask that fails with a 500 is retried with the SAME clientToken
//   (behaviour.md, "Names"), so ECS starts at most one task;
// - with debug: true (request and response dumps in the log) no secret is
//   printed: not the PAT, the JIT config or registration token, the AWS secret
//   key or session token (behaviour.md, "Logs and secrets").

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useWorld, startInputs, REGION } from './lib/world.mjs';
import { describeRun, FAKE_AWS, assertNoSecrets } from './lib/action.mjs';
import { assertSucceeded, assertSecretsHandled, assertAwsRequestsSigned, expectedClientToken } from './lib/checks.mjs';

describe('start: retries and debug output', () => {
  let world;
  useWorld((w) => (world = w));

  const inputs = (extra) => startInputs(world, extra);

  test('RunTask answered once with a 500 is retried with the same clientToken; one task exists', async () => {
    // Answered by the proxy in moto's place, once: the first attempt never
    // reaches moto (which ignores clientToken, so it could not dedupe).
    let failed = 0;
    world.moto.proxy.intercept((c) => c.operation === 'RunTask' && failed++ === 0, {
      status: 500,
      headers: { 'x-amzn-errortype': 'ServerException' },
      body: { __type: 'ServerException', message: 'Service Unavailable. Please try again later.' },
    });
    const result = await world.run({ inputs: inputs() });
    assertSucceeded(result);

    const runs = world.moto.proxy.calls('RunTask');
    assert.equal(runs.length, 2, `expected one retry of RunTask, got ${runs.length} calls\n${describeRun(result)}`);
    assert.deepEqual(runs.map((r) => [r.status, Boolean(r.intercepted)]), [[500, true], [200, false]]);
    const token = expectedClientToken({
      runId: world.context.GITHUB_RUN_ID,
      attempt: world.context.GITHUB_RUN_ATTEMPT,
      job: world.context.GITHUB_JOB,
      runnerId: result.outputs.runner_id,
    });
    assert.equal(runs[0].body.clientToken, token);
    assert.equal(runs[1].body.clientToken, runs[0].body.clientToken, 'the retry sent another clientToken');
    assert.deepEqual(runs[1].body, runs[0].body, 'the retry is the same request');
    assert.ok(
      result.lines.some((l) => /RunTask failed \(HTTP 500\); retrying/.test(l)),
      `the retry is not logged\n${describeRun(result)}`,
    );

    const tasks = await world.moto.tasks('runners');
    assert.equal(tasks.length, 1, `expected one task, found ${tasks.length}`);
    assert.equal(result.outputs.task_arn, tasks[0].arn);
    assert.equal(world.gh.runners.size, 1, 'one runner, registered once');
    assert.equal(world.gh.requestsTo('POST', '/generate-jitconfig').length, 1);
    assertAwsRequestsSigned(world.moto, REGION);
    assertSecretsHandled(result, world);
  });

  for (const registration of ['jit', 'token']) {
    test(`debug: true (registration ${registration}) prints no secret in the log, outputs or summary`, async () => {
      const result = await world.run({ inputs: inputs({ debug: 'true', registration }) });
      assertSucceeded(result);
      // The dumps are there (as visible lines, not ::debug::), so the check means something.
      const dumps = result.lines.filter((l) => /^(→|←) /.test(l));
      assert.ok(dumps.some((l) => l.includes('RunTask')), `no request dump in the log\n${describeRun(result)}`);
      assert.ok(dumps.some((l) => l.startsWith('← 201')), `no GitHub answer dump in the log\n${describeRun(result)}`);

      const issued = world.gh.secrets();
      assert.equal(issued.length, 1, `GitHub issued ${issued.length} secrets`);
      const secrets = [world.pat, issued[0], FAKE_AWS.secretAccessKey, FAKE_AWS.sessionToken];
      assertNoSecrets(result, secrets); // every line but ::add-mask::, every output, the summary
      assertSecretsHandled(result, world); // and each was masked, the known ones first
    });
  }
});
