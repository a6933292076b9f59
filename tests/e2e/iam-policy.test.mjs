// The README's examples held against real IAM (issue 13): what a user who
// copies them gets. The `with:` inputs come from README.md itself (its first
// workflow example, launch and stop; the reap example; the role-to-assume
// and GitHub App fragments), run against moto seeded with what they name
// (the cluster, subnets and security groups with the tag they give, the
// roles, the log group), in the region and account the README uses. Every
// AWS request of each run must be allowed by the README's launcher policy AS
// WRITTEN (no name replaced: the README's account is moto's, and moto runs in
// the README's region) and by aws/ecs-runner.yaml's launcher policy as the
// README's deploy command makes it (the default names), both evaluated
// offline with their Conditions and Resources (lib/iam-eval.mjs). A denial
// names the policy, the action, the resource, the context and why.
//
// Then the evaluator itself, on recorded calls made up here: it denies what
// real IAM denies (a tag-on-create the policy does not allow, another
// family, another cluster, a role not named) and throws for a call it has no
// mapping for, so the check after every test has teeth.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { useWorld, REPOSITORY } from './lib/world.mjs';
import { REPO_ROOT, describeRun } from './lib/action.mjs';
import { assertSucceeded } from './lib/checks.mjs';
import { fakeJwt, startOidcFake, startStsRelay } from './lib/credential-servers.mjs';
import { readTemplate, readmeLauncherPolicy, resolver, launcherPolicies } from './lib/template.mjs';
import {
  MOTO_ACCOUNT,
  actionSteps,
  describeDenial,
  authorizationsFor,
  verdicts,
  launcherPoliciesFor,
  readmePolicyTemplate,
  stackPolicyTemplate,
  placeholdersOf,
} from './lib/iam-eval.mjs';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
/** Every ```yaml block of the README, parsed, in order. */
const BLOCKS = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]));

/** The first workflow example: its jobs' steps that use the action (launch, stop), and its credentials step. */
const FIRST = BLOCKS[0];
const [LAUNCH, STOP] = actionSteps(FIRST);
const CREDENTIALS_STEP = Object.values(FIRST.jobs)
  .flatMap((j) => j.steps ?? [])
  .find((s) => /^aws-actions\/configure-aws-credentials@/.test(s.uses ?? ''));
/** The README's region: the one its first example configures. */
const REGION = CREDENTIALS_STEP.with['aws-region'];
/** The block whose action step has `with:` holding `key` (its first such step). */
const stepWith = (key) => {
  const step = BLOCKS.flatMap((b) => (b && typeof b === 'object' ? actionSteps(b) : [])).find((s) => key in (s.with ?? {}));
  assert.ok(step, `no example in README.md gives the action ${key}`);
  return step;
};
const ROLE_FRAGMENT = stepWith('role-to-assume');
const APP_FRAGMENT = stepWith('app-id');
const REAP = BLOCKS.flatMap((b) => (b && typeof b === 'object' ? actionSteps(b) : [])).find((s) => s.with?.mode === 'reap');

/** The GitHub App the fragment's ${{ vars.RUNNER_APP_ID }} stands for. */
const APP_ID = 434343;

/**
 * The two policies as a user following the README has them: the README's
 * JSON block as it is, and the stack's launching role for the README's
 * deploy command (only VpcId, SubnetIds and GitHubRepository given, none of
 * which is in the policy) in the README's account and region.
 */
function policiesAsWritten() {
  const readme = readmeLauncherPolicy();
  const template = readTemplate();
  const { resolve } = resolver(template, { account: MOTO_ACCOUNT, region: REGION });
  const stack = resolve(launcherPolicies(template).policies[0].PolicyDocument);
  return [
    { name: "the README's launcher policy as written", policy: readme },
    { name: `aws/ecs-runner.yaml's launcher policy, deployed with the README's command (default names, ${REGION})`, policy: stack },
  ];
}

describe("the README's examples, each request allowed by the README's and the stack's launcher policies as written", () => {
  let world;
  let app;
  useWorld((w) => (world = w), {
    region: REGION,
    fresh: async (w) => {
      w.useIamPolicies(policiesAsWritten());
      await seedWhatTheExamplesName(w);
      app = w.gh.addApp({ id: APP_ID, repos: [REPOSITORY] });
      // The fragments name subnets but no security groups, which real ECS
      // accepts (the VPC's default group) and moto answers with a 500
      // (lib/moto.mjs): moto gets an empty list instead.
      w.moto.proxy.forwardAs(
        (c) => c.operation === 'RunTask' && c.body?.networkConfiguration?.awsvpcConfiguration && !c.body.networkConfiguration.awsvpcConfiguration.securityGroups,
        (body) => {
          body.networkConfiguration.awsvpcConfiguration.securityGroups = [];
          return body;
        },
      );
    },
  });

  // role-to-assume: GitHub's OIDC token endpoint and STS (moto's, through a
  // relay: see credential-servers.mjs), as in credentials.test.mjs.
  const oidcRequestToken = `oidc-request-token-${Math.random().toString(36).slice(2)}DoNotPrint`;
  const jwt = fakeJwt();
  let oidc;
  let sts;
  let trustedBefore;
  before(async () => {
    oidc = await startOidcFake({ requestToken: oidcRequestToken, jwt });
    sts = await startStsRelay({ upstream: world.moto.url });
    // The proxy verifies the signatures of the keys moto's STS hands out.
    const proxy = world.moto.proxy;
    trustedBefore = proxy.credentials;
    proxy.credentials = new Proxy(
      { ...trustedBefore },
      { get: (target, key) => (key in target ? target[key] : sts.issued().get(key)?.secretAccessKey) },
    );
  });
  after(async () => {
    if (world && trustedBefore) world.moto.proxy.credentials = trustedBefore;
    await Promise.allSettled([oidc?.close(), sts?.close()]);
  });

  /**
   * What the examples name, made in moto: the clusters, the network (subnets
   * and security groups carrying the tags of the `-tag` inputs), the roles
   * (execution, task, and the one role-to-assume names) and the log group.
   */
  async function seedWhatTheExamplesName(w) {
    const all = [LAUNCH, STOP, ROLE_FRAGMENT, APP_FRAGMENT, REAP].map((s) => s.with);
    for (const cluster of new Set(all.map((i) => i.cluster).filter(Boolean))) {
      if (cluster !== w.seeds.cluster) await w.moto.createCluster(cluster);
    }
    const tags = new Set(all.flatMap((i) => [i['subnets-tag'], i['security-groups-tag']]).filter(Boolean));
    for (const tag of tags) {
      const [key, value] = tag.split(':');
      if (`${key}:${value}` !== 'placement:ecs') await w.moto.seedNetwork({ key, value }); // freshWorld's is placement=ecs
    }
    const trust = (principal) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: ['sts:AssumeRole', 'sts:AssumeRoleWithWebIdentity'] }] });
    const roles = new Map();
    for (const i of all) {
      for (const key of ['execution-role', 'task-role']) if (i[key]) roles.set(i[key], { Service: 'ecs-tasks.amazonaws.com' });
      if (i['role-to-assume']) roles.set(i['role-to-assume'], { Federated: `arn:aws:iam::${MOTO_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` });
    }
    for (const [arn, principal] of roles) {
      await w.moto.iam('CreateRole', { RoleName: arn.split('/').pop(), AssumeRolePolicyDocument: trust(principal) }).catch((error) => {
        if (error.code !== 'EntityAlreadyExists') throw error;
      });
    }
    for (const group of new Set(all.map((i) => i['log-group']).filter(Boolean))) {
      await w.moto.logs('CreateLogGroup', { logGroupName: group });
    }
  }

  /**
   * A step's `with:` as the runner passes it: every value a string, each
   * `${{ expression }}` replaced from `vars` (a secret, a variable, an
   * earlier job's output); an expression it does not know throws.
   */
  function inputsOf(step, vars) {
    const out = {};
    for (const [key, value] of Object.entries(step.with ?? {})) {
      out[key] = String(value).replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (whole, expr) => {
        assert.ok(expr in vars, `the README's example uses ${whole}, which this test does not know how to fill`);
        return vars[expr];
      });
    }
    return out;
  }

  const secrets = () => ({
    'secrets.RUNNER_ADMIN_TOKEN': world.pat,
    'vars.RUNNER_APP_ID': String(APP_ID),
    'secrets.RUNNER_APP_KEY': app.privateKey,
  });

  /** Holds this test's requests against both policies; lists every denial. */
  async function assertEveryRequestAllowed(expectActions) {
    const verdicts = await world.iamVerdicts();
    const denied = [...new Set(verdicts.filter((v) => !v.allowed).map(describeDenial))];
    assert.deepEqual(denied, [], `real IAM would deny requests of the README's example (${denied.length}):\n${denied.join('\n')}`);
    const asked = new Set(verdicts.map((v) => v.authorization.action));
    for (const action of expectActions) assert.ok(asked.has(action), `no request needed ${action}: the run did not take the path the example describes`);
    for (const name of policiesAsWritten().map((p) => p.name)) {
      assert.ok(verdicts.some((v) => v.policy === name), `nothing was held against ${name}`);
    }
  }

  test('the first workflow example: launch (image, roles, log group, network by tag), then its stop job', async () => {
    const launched = await world.run({ inputs: inputsOf(LAUNCH, secrets()), context: { GITHUB_JOB: 'launch' } });
    assertSucceeded(launched);
    const launchContext = world.context;
    const needs = Object.fromEntries(Object.entries(launched.outputs).map(([k, v]) => [`needs.launch.outputs.${k}`, v]));
    const stopped = await world.run({
      inputs: inputsOf(STOP, { ...secrets(), ...needs }),
      context: { GITHUB_RUN_ID: launchContext.GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT: launchContext.GITHUB_RUN_ATTEMPT, GITHUB_JOB: 'stop' },
    });
    assertSucceeded(stopped);
    assert.equal(stopped.outputs.stopped_tasks, launched.outputs.task_arn, `the stop job stopped the task\n${describeRun(stopped)}`);
    await assertEveryRequestAllowed([
      'ecs:RegisterTaskDefinition',
      'ecs:TagResource',
      'iam:PassRole',
      'ecs:RunTask',
      'ecs:DescribeTasks',
      'ec2:DescribeSubnets',
      'ec2:DescribeSecurityGroups',
      'ecs:StopTask',
    ]);
  });

  test('the role-to-assume fragment: the OIDC token exchanged at STS, then a start from image', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: null,
      AWS_SECRET_ACCESS_KEY: null,
      AWS_SESSION_TOKEN: null,
      ACTIONS_ID_TOKEN_REQUEST_URL: oidc.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidcRequestToken,
      AWS_ENDPOINT_URL_STS: sts.url,
      ...ROLE_FRAGMENT.env,
    };
    const result = await world.run({ inputs: inputsOf(ROLE_FRAGMENT, secrets()), env });
    assertSucceeded(result);
    assert.ok(sts.requests.some((r) => r.form?.Action === 'AssumeRoleWithWebIdentity' && r.status === 200), 'the role was assumed');
    await assertEveryRequestAllowed(['ecs:RegisterTaskDefinition', 'ecs:TagResource', 'ecs:RunTask', 'ec2:DescribeSubnets']);
  });

  test('the GitHub App fragment: a start from image with the App installation token', async () => {
    const result = await world.run({ inputs: inputsOf(APP_FRAGMENT, secrets()) });
    assertSucceeded(result);
    assert.ok(world.gh.issued.some((i) => i.kind === 'installation'), 'an installation token was used');
    await assertEveryRequestAllowed(['ecs:RegisterTaskDefinition', 'ecs:TagResource', 'ecs:RunTask', 'ec2:DescribeSubnets']);
  });

  test('the reap example, after a start of the first example', async () => {
    const launched = await world.run({ inputs: inputsOf(LAUNCH, secrets()) });
    assertSucceeded(launched);
    const reaped = await world.run({ inputs: inputsOf(REAP, secrets()), context: { GITHUB_JOB: 'reap' } });
    assertSucceeded(reaped);
    await assertEveryRequestAllowed(['ecs:RunTask', 'ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:ListTaskDefinitions']);
  });
});

describe('the IAM evaluator (lib/iam-eval.mjs) on made-up calls', () => {
  const NAMES = {
    Account: MOTO_ACCOUNT,
    Region: 'eu-west-1',
    Cluster: 'runners',
    Family: 'fam',
    ExecutionRole: 'exec',
    TaskRole: 'task',
    LogGroup: '/logs',
  };
  const arn = (rest) => `arn:aws:ecs:eu-west-1:${MOTO_ACCOUNT}:${rest}`;
  /** A recorded ECS call as aws-proxy.mjs records it, answered 200 with `answer`. */
  const ecsCall = (operation, body, answer = {}) => ({
    service: 'ecs',
    operation,
    body,
    status: 200,
    response: JSON.stringify(answer),
    auth: { accessKeyId: 'AKIAE2EFAKEKEY000001', region: 'eu-west-1', service: 'ecs' },
  });
  const denials = async (calls, policies = launcherPoliciesFor(NAMES)) =>
    (await verdicts(calls, { policies, region: 'eu-west-1' })).filter((v) => !v.allowed);
  const register = (family, extra = {}) =>
    ecsCall(
      'RegisterTaskDefinition',
      { family, containerDefinitions: [{ name: 'runner', image: 'x' }], tags: [{ key: 'ecs-runner:spec', value: 'abc' }], ...extra },
      { taskDefinition: { taskDefinitionArn: arn(`task-definition/${family}:4`), family, revision: 4 } },
    );
  const run = (taskDefinition, cluster = 'runners') =>
    ecsCall(
      'RunTask',
      { cluster, taskDefinition, tags: [{ key: 'ecs-runner:run-id', value: '1' }] },
      { tasks: [{ taskArn: arn(`task/${cluster}/0123456789abcdef0123456789abcdef`), taskDefinitionArn: arn(`task-definition/${taskDefinition.split(':')[0]}:7`) }] },
    );

  test('the README policy and the stack policy have the same placeholders, and both templates equal', () => {
    assert.deepEqual(placeholdersOf(readmePolicyTemplate()), ['Account', 'Cluster', 'ExecutionRole', 'Family', 'LogGroup', 'Region', 'TaskRole']);
    assert.deepEqual(stackPolicyTemplate(), readmePolicyTemplate());
  });

  test('tag-on-create: RegisterTaskDefinition with tags needs ecs:TagResource with ecs:CreateAction=RegisterTaskDefinition', async () => {
    const needed = authorizationsFor(register('fam'), { region: 'eu-west-1' });
    const tag = needed.find((a) => a.action === 'ecs:TagResource');
    assert.deepEqual(tag, {
      action: 'ecs:TagResource',
      resource: arn('task-definition/fam:4'),
      context: { 'ecs:CreateAction': 'RegisterTaskDefinition', 'aws:TagKeys': ['ecs-runner:spec'], 'aws:RequestTag/ecs-runner:spec': 'abc' },
      because: 'RegisterTaskDefinition with tags (tag-on-create)',
    });
    // A policy that tags only what RunTask creates (the README's before issue 13) denies it, and says why.
    const runTaskOnly = launcherPoliciesFor(NAMES).map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: policy.Statement.map((st) =>
          [st.Action].flat().includes('ecs:TagResource') ? { ...st, Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } } } : st,
        ),
      },
    }));
    const denied = await denials([register('fam')], runTaskOnly);
    assert.equal(denied.length, 2, 'denied by both policies');
    for (const d of denied) assert.match(describeDenial(d), /no statement allows ecs:TagResource with ecs:CreateAction=RegisterTaskDefinition/);
    assert.deepEqual(await denials([register('fam')]), [], 'the policies as they are allow it');
  });

  test('RunTask: the family and the cluster are held to the policy; a bare family is the revision it ran', async () => {
    assert.deepEqual(await denials([run('fam')]), []);
    const [runTask] = authorizationsFor(run('fam'), { region: 'eu-west-1' });
    assert.equal(runTask.resource, arn('task-definition/fam:7'), 'the revision of the answer');
    assert.deepEqual(runTask.context['ecs:cluster'], arn('cluster/runners'));
    const otherFamily = await denials([run('other:3')]);
    assert.ok(otherFamily.some((d) => d.authorization.action === 'ecs:RunTask' && /task-definition\/fam:\*.*does not match/.test(d.why)), otherFamily.map(describeDenial).join('\n'));
    const otherCluster = await denials([run('fam:3', 'elsewhere')]);
    assert.ok(otherCluster.some((d) => d.authorization.action === 'ecs:RunTask' && /ecs:cluster/.test(d.why)), otherCluster.map(describeDenial).join('\n'));
  });

  test('iam:PassRole for the roles a definition names, with iam:PassedToService; a role not in the policy is denied', async () => {
    const call = register('fam', { executionRoleArn: 'exec', taskRoleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/someone-else` });
    const passed = authorizationsFor(call, { region: 'eu-west-1' }).filter((a) => a.action === 'iam:PassRole');
    assert.deepEqual(
      passed.map((a) => [a.resource, a.context]),
      [
        [`arn:aws:iam::${MOTO_ACCOUNT}:role/exec`, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }],
        [`arn:aws:iam::${MOTO_ACCOUNT}:role/someone-else`, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }],
      ],
    );
    const denied = await denials([call]);
    assert.deepEqual([...new Set(denied.map((d) => d.authorization.resource))], [`arn:aws:iam::${MOTO_ACCOUNT}:role/someone-else`]);
  });

  test("a call it has no mapping for throws, naming it; the harness's own calls are not evaluated", async () => {
    await assert.rejects(verdicts([ecsCall('CreateService', {})], { policies: launcherPoliciesFor(NAMES) }), /no IAM mapping for ECS CreateService/);
    await assert.rejects(
      verdicts([{ service: 'ec2', operation: 'RunInstances', body: {}, status: 200, auth: { accessKeyId: 'K', region: 'eu-west-1', service: 'ec2' } }], { policies: launcherPoliciesFor(NAMES) }),
      /no IAM mapping for EC2 RunInstances/,
    );
    const harness = { ...ecsCall('CreateService', {}), auth: { accessKeyId: 'AKIDTEST', region: 'eu-west-1', service: 'ecs' } };
    assert.deepEqual(await verdicts([harness], { policies: launcherPoliciesFor(NAMES) }), []);
  });
});
