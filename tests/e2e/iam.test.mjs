// Signatures and IAM, enforced (issue 9, requirement 3): the bundled action
// runs as an IAM user whose policy is the README's least-privilege policy for
// the launching role, against a moto that checks every call's SigV4
// signature and that policy (startMoto `authFreeCalls`, see lib/moto.mjs
// "Signatures and IAM").
//
// How: one moto for the file, started with INITIAL_NO_AUTH_ACTION_COUNT. Its
// free calls seed the world (cluster, task definitions, a tagged network, an
// EC2 container instance for bridge mode, the log group, the two task roles)
// and create two IAM users with access keys: `harness-admin` (allowed
// everything; the harness signs its read-back and policy changes with it
// once the free calls are spent) and `ecs-runner-launcher`, the action's
// user, whose policy each test sets. Then the harness spends the free calls
// left, so every call of the action is checked.
//
// The policy is the JSON block of README.md's "IAM policy for the role that
// launches" (the single source), its example account and region replaced by
// moto's; the template's launching role, resolved for moto's account and
// region as tests/aws-template.test.mjs does, must come out the same. moto
// 5.2.1 cannot evaluate all of it (moto/iam/access_control.py,
// moto/iam/policy_conditions.py), so the policy it enforces is derived from
// it, and the first test prints what was changed:
//   - Condition blocks are dropped: moto evaluates none of the condition keys
//     (ecs:cluster, ecs:CreateAction, iam:PassedToService). It takes every
//     condition as met (it knows only StringEquals, and compares it with
//     request values it never collects), so a kept Condition would look
//     enforced and is not; dropped, the test says what is not checked;
//   - a Resource other than "*" becomes "*": moto checks every ECS, EC2 and
//     CloudWatch Logs action against the resource "*", which an ARN never
//     matches, so the statement would allow nothing.
// (The harness self-test shows both.) Every action of the policy is still
// enforced, each in its own statement.
//
// Then each action is removed in turn, one run per action and mode that
// needs it: the step must fail with a message that names the missing IAM
// action and how to fix it, and leave nothing behind (no live task, no
// registered runner), or, where it cannot remove something for lack of that
// very permission, say exactly how to remove it by hand. Two actions cannot
// be observed in moto at all (it checks only the action a call is named for):
// ecs:TagResource (real ECS also requires it for RunTask's tags) and
// iam:PassRole (real IAM also requires it for RunTask and
// RegisterTaskDefinition with roles); their runs succeed without them, which
// those tests assert, so a moto that starts checking them is noticed.
//
// And what moto leaves out is checked offline (lib/iam-eval.mjs): every
// request of every case is also held against the policy in force when it was
// sent, WITH its Conditions and Resources (the README's and the template's,
// narrowed to this file's names, the case's action removed), as real IAM
// would evaluate it. After each case the two must agree: a request moto
// refused with AccessDenied is denied offline too, and one moto let through
// is allowed offline, except, in the cases that remove ecs:TagResource or
// iam:PassRole, the authorizations of that action, which moto cannot see:
// those cases assert that real IAM denies them.

import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMoto } from './lib/moto.mjs';
import { startFakeGitHub } from './lib/github.mjs';
import { World, fakePat, startInputs, REGION, REPOSITORY, ORG } from './lib/world.mjs';
import { annotations, assertNoSecrets, describeRun } from './lib/action.mjs';
import { readTemplate, readmeLauncherPolicy, resolver, launcherPolicies } from './lib/template.mjs';
import { launcherPoliciesFor, actionCalls } from './lib/iam-eval.mjs';
import { assertSucceeded, assertFailed, assertRunnersCleanedUp, errorText } from './lib/checks.mjs';

/** moto's account (every moto ARN has it). */
const ACCOUNT = '123456789012';
/** The README's example account and region, which its policy's ARNs carry. */
const README_WORLD = { account: '123456789012', region: 'us-west-2' };
/**
 * The names of the seeded world: the README's, but for the family (the
 * README's policy names the default `name`, github-ecs-runner). moto enforces
 * the policy with every Resource widened to "*", so the names do not matter
 * there; the offline evaluation narrows the policies to these.
 */
const CLUSTER = 'runners';
const FAMILY = 'gh-runner';
const LOG_GROUP = '/ecs-runner';
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/ecs-runner-execution`;
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/ecs-runner-task`;
const IMAGE = 'ghcr.io/actions/actions-runner:latest';
/** A bridge-mode (EC2) task definition of the family, for ecs:DescribeContainerInstances / ec2:DescribeInstances. */
const BRIDGE_TASK_DEFINITION = `${FAMILY}:2`;
const LAUNCHER = 'ecs-runner-launcher';
/**
 * The calls moto lets through unchecked: more than the seeding needs (about
 * 30); `spendFreeCalls` uses up the rest before any test runs.
 */
const FREE_CALLS = 80;

describe('signatures and IAM, enforced by moto: the README policy, then each action removed', () => {
  let moto;
  let gh;
  let world;
  let pat;
  let admin;
  let launcher;
  /** The README's policy with moto's account and region (what a user would attach). */
  let readmePolicy;
  /** What moto enforces of it: {policy, dropped, widened}, see `enforceable`. */
  let enforced;
  /**
   * The launcher policies as real IAM evaluates them (lib/iam-eval.mjs): the
   * README's and the template's, narrowed to this file's names,
   * [{name, policy}].
   */
  let narrowed;
  /** The action whose authorizations the case expects real IAM, and not moto, to deny (the 'unchecked' cases). */
  let unseenExpected = null;
  /** The EC2 instance behind the container instance, and its private IP (bridge mode's ipaddr). */
  let instance;
  /** The services whose calls moto verified the signature of and answered 2xx. */
  const verifiedServices = new Set();
  /** The name of every case run, and the action runs they took, for the count at the end. */
  const cases = [];
  let actionRuns = 0;

  before(async () => {
    readmePolicy = readmePolicyFor({ account: ACCOUNT, region: REGION });
    enforced = enforceable(readmePolicy);
    narrowed = launcherPoliciesFor({
      Account: ACCOUNT,
      Region: REGION,
      Cluster: CLUSTER,
      Family: FAMILY,
      ExecutionRole: EXECUTION_ROLE.split('/').pop(),
      TaskRole: TASK_ROLE.split('/').pop(),
      LogGroup: LOG_GROUP,
    });
    pat = fakePat();
    moto = await startMoto({ region: REGION, authFreeCalls: FREE_CALLS });
    try {
      gh = await startFakeGitHub({ token: pat, repos: [REPOSITORY], orgs: [ORG] });
    } catch (error) {
      await moto.stop();
      throw error;
    }
    world = new World(moto, gh, pat);
    world.seeds = await seedWithFreeCalls();
    const spent = await moto.spendFreeCalls();
    assert.ok(spent > 0, `the seeding used all ${FREE_CALLS} free calls (or more): raise FREE_CALLS`);
    moto.signAs(admin);
    // The recording proxy checks the launcher's signatures too, with its secret.
    moto.proxy.credentials[launcher.accessKeyId] = launcher.secretAccessKey;
  });
  after(() => world?.close());
  beforeEach(async () => {
    gh.clear();
    moto.proxy.clear();
    moto.proxy.clearViolations();
    world.iamReset();
    world.useIamPolicies(narrowed);
    unseenExpected = null;
    await moto.setTaskTransition({ progression: 'manual', times: 1_000_000 });
    await stopEveryLiveTask();
    await removeOurRevisions();
  });
  afterEach(async () => {
    world.assertContracts();
    const { disagreements } = await offlineVerdicts();
    assert.deepEqual(disagreements, [], 'moto and real IAM (evaluated offline, lib/iam-eval.mjs) disagree');
  });

  /**
   * This case's requests held against real IAM (the policies in force when
   * each was sent): `unseen`, the denied authorizations of requests moto
   * let through (what moto cannot check), and `disagreements`, one line each:
   * a request moto refused with AccessDenied that real IAM allows, or an
   * unseen denial the case does not expect (`unseenExpected`).
   */
  async function offlineVerdicts() {
    const verdicts = await world.iamVerdicts();
    const unseen = [];
    const disagreements = [];
    for (const call of actionCalls(world.iamCalls)) {
      const denied = verdicts.filter((v) => v.call === call && !v.allowed);
      const refused = call.status === 403 && /AccessDenied/.test(call.response ?? '');
      const what = `${call.service}:${call.operation}`;
      if (refused && denied.length === 0) {
        disagreements.push(`moto refused ${what} with AccessDenied, real IAM allows it under ${call.iamPolicies.map((p) => p.name).join(' and ')}`);
      }
      if (refused) continue;
      for (const v of denied) {
        unseen.push(v);
        if (v.authorization.action !== unseenExpected) {
          disagreements.push(`moto let ${what} through, real IAM denies it: ${v.policy}: ${v.authorization.action} on ${v.authorization.resource} (${v.authorization.because}): ${v.why}`);
        }
      }
    }
    return { unseen, disagreements: [...new Set(disagreements)] };
  }

  /**
   * Everything the tests need, made with moto's free calls (unchecked, fake
   * scope): the world, the two users and their keys.
   */
  async function seedWithFreeCalls() {
    await moto.createCluster(CLUSTER);
    const runnerTaskDefinition = await moto.registerRunnerTaskDefinition(FAMILY);
    // Revision 2: bridge mode on EC2, where the IP comes from the instance.
    const bridge = await moto.ecs('RegisterTaskDefinition', {
      family: FAMILY,
      networkMode: 'bridge',
      requiresCompatibilities: ['EC2'],
      containerDefinitions: [{ name: 'runner', image: IMAGE, essential: true, memory: 512 }],
    });
    assert.equal(`${bridge.taskDefinition.family}:${bridge.taskDefinition.revision}`, BRIDGE_TASK_DEFINITION);
    const network = await moto.seedNetwork();
    instance = await seedContainerInstance();
    await moto.logs('CreateLogGroup', { logGroupName: LOG_GROUP });
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    for (const arn of [EXECUTION_ROLE, TASK_ROLE]) {
      await moto.iam('CreateRole', { RoleName: arn.split('/').pop(), AssumeRolePolicyDocument: trust });
    }
    admin = await userWithKey('harness-admin', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    launcher = await userWithKey(LAUNCHER, enforced.policy);
    return { cluster: CLUSTER, runnerTaskDefinition, network };
  }

  /** An EC2 instance registered as the cluster's container instance. */
  async function seedContainerInstance() {
    const images = await moto.ec2('DescribeImages', {});
    const imageId = /<imageId>([^<]+)<\/imageId>/.exec(images)[1];
    const run = await moto.ec2('RunInstances', { ImageId: imageId, MinCount: '1', MaxCount: '1', InstanceType: 'm5.large' });
    const instanceId = /<instanceId>([^<]+)<\/instanceId>/.exec(run)[1];
    const privateIp = /<privateIpAddress>([^<]+)<\/privateIpAddress>/.exec(run)[1];
    await moto.ecs('RegisterContainerInstance', {
      cluster: CLUSTER,
      instanceIdentityDocument: JSON.stringify({ instanceId, region: REGION }),
    });
    return { instanceId, privateIp };
  }

  async function userWithKey(name, policy) {
    await moto.iam('CreateUser', { UserName: name });
    await putPolicy(name, policy);
    const xml = await moto.iam('CreateAccessKey', { UserName: name });
    return {
      accessKeyId: /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)[1],
      secretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)[1],
    };
  }

  /** The user's only inline policy becomes `policy` (PutUserPolicy replaces one of the same name). */
  async function putPolicy(user, policy) {
    await moto.iam('PutUserPolicy', { UserName: user, PolicyName: LAUNCHER, PolicyDocument: JSON.stringify(policy) });
  }

  /** What the job's environment holds after configure-aws-credentials with the launcher's key (no session token). */
  const launcherEnv = (secret = launcher.secretAccessKey, accessKeyId = launcher.accessKeyId) => ({
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_SESSION_TOKEN: null,
  });

  /** A clean slate for a case: no live task in the cluster (StopTask as the admin). */
  async function stopEveryLiveTask() {
    for (const task of await moto.listTaskArns(CLUSTER, { desiredStatus: 'RUNNING' })) {
      await moto.ecs('StopTask', { cluster: CLUSTER, task, reason: 'iam.test.mjs: clean slate' });
    }
  }

  /**
   * A clean slate for a case: no revision of FAMILY that ecs-runner (or a
   * scene, as it would) registered (those with the `ecs-runner:spec` tag);
   * the seeded revisions 1 and 2 stay. Deregistered and deleted as the
   * admin, so each reap case sees only its own scene's revisions (and moto,
   * which answers a family with its highest revision even when INACTIVE,
   * never hands a start an old one).
   */
  async function removeOurRevisions() {
    for (const r of await moto.taskDefinitionRevisions(FAMILY)) {
      if (!r.spec) continue;
      if (r.status === 'ACTIVE') await moto.ecs('DeregisterTaskDefinition', { taskDefinition: r.arn });
      await moto.ecs('DeleteTaskDefinitions', { taskDefinitions: [r.arn] });
    }
  }

  // --- the runs -------------------------------------------------------------

  /** Runs the action as the launcher; `context` overrides the job's GITHUB_* values. */
  async function asLauncher({ inputs, context = {}, env = {}, ...rest }) {
    actionRuns += 1;
    const jobEnv = { ...launcherEnv(), ...env };
    const result = await world.run({ inputs, context, env: jobEnv, ...rest });
    assertNoSecrets(result, [pat, jobEnv.AWS_SECRET_ACCESS_KEY, launcher.secretAccessKey, admin.secretAccessKey, ...gh.secrets()]);
    return { result, context: { ...world.context } };
  }

  /** mode: start from the seeded Fargate task definition, by subnet and security group ids. */
  const startFromTaskDefinition = (extra = {}, rest = {}) =>
    asLauncher({ inputs: startInputs(world, { name: FAMILY, 'task-definition': `${FAMILY}:1`, 'wait-for-registration': 'false', ...extra }), ...rest });

  /** mode: start from `image` (RegisterTaskDefinition, the roles passed), finding the network by tag. */
  const startFromImage = (extra = {}, rest = {}) =>
    asLauncher({
      inputs: startInputs(world, {
        name: FAMILY,
        'task-definition': '',
        image: IMAGE,
        'execution-role': EXECUTION_ROLE,
        'task-role': TASK_ROLE,
        'log-group': LOG_GROUP,
        subnets: '',
        'security-groups': '',
        'subnets-tag': 'placement:ecs',
        'security-groups-tag': 'placement:ecs',
        'wait-for-registration': 'false',
        ...extra,
      }),
      ...rest,
    });

  /** mode: start of the bridge-mode definition on the EC2 container instance. */
  const startBridge = (extra = {}) =>
    asLauncher({
      inputs: {
        token: pat,
        name: FAMILY,
        cluster: CLUSTER,
        'task-definition': BRIDGE_TASK_DEFINITION,
        'launch-type': 'EC2',
        'wait-for-registration': 'false',
        ...extra,
      },
    });

  /** mode: stop in another job of the run `ctx` started in. */
  const stop = (ctx, inputs = {}) =>
    asLauncher({
      inputs: { token: pat, name: FAMILY, cluster: CLUSTER, mode: 'stop', ...inputs },
      context: { GITHUB_RUN_ID: ctx.GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT: ctx.GITHUB_RUN_ATTEMPT, GITHUB_JOB: 'stop-runner' },
    });

  /** mode: reap of the cluster and the family, everything of ours whatever its age. */
  const reap = () =>
    asLauncher({
      inputs: { token: pat, mode: 'reap', name: FAMILY, cluster: CLUSTER, 'max-age': '0' },
      context: { GITHUB_JOB: 'reap', GITHUB_RUN_ATTEMPT: '1' },
    });

  // --- checks ---------------------------------------------------------------

  /**
   * Every call the action sent since the case began reached moto signed with
   * the launcher's key (the proxy checked the signature), and moto (which
   * checks it too) did not refuse the signature; the services answered 2xx
   * go into `verifiedServices`.
   */
  function assertSignedAsLauncher(result) {
    const calls = moto.proxy.requests.filter((c) => c.auth?.accessKeyId !== 'AKIDTEST');
    assert.ok(calls.length > 0, `no AWS call\n${describeRun(result)}`);
    for (const c of calls) {
      const what = `${c.service} ${c.operation}`;
      assert.equal(c.auth?.accessKeyId, launcher.accessKeyId, `${what}: signed with ${c.auth?.accessKeyId}`);
      assert.equal(c.signature, 'valid', `${what}: ${c.signature}`);
      assert.equal(c.auth.region, REGION, what);
      assert.equal(c.auth.service, c.service, what);
      assert.ok(!/SignatureDoesNotMatch|InvalidClientTokenId|AuthFailure/.test(c.response ?? ''), `${what}: moto refused the signature: ${c.response}`);
      if (c.status >= 200 && c.status < 300) verifiedServices.add(c.service);
    }
  }

  /** The calls of `action` (`ecs:RunTask`) since the case began, with the status moto gave each. */
  const callsOf = (action) => moto.proxy.requests.filter((c) => `${c.service}:${c.operation}` === action);

  /**
   * What the run told the user: every `::error::` and `::warning::` and
   * every plain log line (not `::debug::`), as one text.
   */
  const said = (result) =>
    errorText([
      ...annotations(result),
      ...annotations(result, 'warning'),
      ...result.stdout.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('::')),
    ]);

  /**
   * The step failed, moto refused `action` (so the path that needs it was
   * taken), and an `::error::` names the action and what to do: the role
   * "needs" it, or "allow" it.
   */
  function assertRefusedAndNamed(result, action) {
    assertFailed(result);
    const refused = callsOf(action).filter((c) => c.status === 403 && /AccessDenied/.test(c.response ?? ''));
    assert.ok(refused.length > 0, `moto never refused ${action}: the path that needs it was not taken\n${describeRun(result)}`);
    const errors = errorText(annotations(result));
    assert.ok(errors.includes(action), `no ::error:: names ${action}:\n${errors}\n${describeRun(result)}`);
    const naming = errors.split('\n').filter((l) => l.includes(action));
    assert.ok(
      naming.some((l) => /needs|allow/i.test(l)),
      `the ::error:: naming ${action} does not say to allow it:\n${naming.join('\n')}`,
    );
  }

  /**
   * Nothing is left that the run should have removed, unless the run says
   * exactly how to remove it by hand (the README: "after a failure the log
   * says ... what was left behind and the command to remove it"):
   *   - every live task in the cluster (each case starts with none) is
   *     named with `aws ecs stop-task --cluster C --task ARN`. `tasks`:
   *     'known' (the run knew the ARN: RunTask answered, or task-arn given);
   *     'unknown' (it never learned it: a RunTask abandoned unanswered, a
   *     stop without task-arn): the command that lists it, `aws ecs
   *     list-tasks --cluster C --started-by S`, is enough; 'unknowable' (a
   *     reap that could not list or describe the cluster's tasks cannot tell
   *     which are its own, nor age their runners): the failure naming the
   *     permission is enough, for tasks and runners;
   *   - every revision reap was refused to deregister or delete is named with
   *     `aws ecs deregister-task-definition --task-definition X` /
   *     `aws ecs delete-task-definitions --task-definitions X`;
   *   - no runner is left registered in the fake GitHub (but see 'unknowable').
   * Resolves to the tasks left for the user (the next case's beforeEach
   * stops them, as the user would).
   */
  async function assertNothingLeftOrSaidHow(result, { tasks = 'known' } = {}) {
    const text = said(result);
    const live = (await moto.tasks(CLUSTER)).filter((t) => t.lastStatus !== 'STOPPED' && t.desiredStatus !== 'STOPPED');
    for (const t of live) {
      const stopIt = `aws ecs stop-task --cluster ${CLUSTER} --task ${t.arn}`;
      if (text.includes(stopIt) || tasks === 'unknowable') continue;
      const findIt = `aws ecs list-tasks --cluster ${CLUSTER} --started-by ${t.startedBy}`;
      assert.ok(
        tasks === 'unknown' && text.includes(findIt),
        `task ${t.id} (${t.lastStatus}) is left behind, and no message says \`${stopIt}\`${tasks === 'unknown' ? ` nor \`${findIt}\`` : ''}:\n${text}\n${describeRun(result)}`,
      );
    }
    for (const c of callsOf('ecs:DeregisterTaskDefinition').filter((x) => x.status === 403)) {
      const command = `aws ecs deregister-task-definition --task-definition ${c.body.taskDefinition}`;
      assert.ok(text.includes(command), `revision ${c.body.taskDefinition} is left ACTIVE, and no message says \`${command}\`:\n${text}`);
    }
    for (const c of callsOf('ecs:DeleteTaskDefinitions').filter((x) => x.status === 403)) {
      for (const arn of c.body.taskDefinitions) {
        const command = `aws ecs delete-task-definitions --task-definitions ${arn}`;
        assert.ok(text.includes(command), `revision ${arn} is left INACTIVE, and no message says \`${command}\`:\n${text}`);
      }
    }
    if (tasks !== 'unknowable') assertRunnersCleanedUp(gh);
    return live;
  }

  /** Says in the test output how a case ended. */
  function note(t, name, outcome) {
    t.diagnostic(`${name}: ${outcome}`);
  }

  /** The first `::error::` line naming `text`, shortened, for the diagnostics. */
  const firstErrorWith = (result, text) =>
    (errorText(annotations(result)).split('\n').find((l) => l.includes(text)) ?? '(none)').slice(0, 400);

  // --- the policy -------------------------------------------------------------

  test("the policy: the README's, the template's too; moto enforces it without Conditions, Resources widened", (t) => {
    const template = readTemplate();
    const { policies } = launcherPolicies(template);
    const { resolve } = resolver(template, { account: ACCOUNT, region: REGION });
    assert.deepEqual(resolve(policies[0].PolicyDocument), readmePolicy, "the template's launching role, resolved for moto, is the README's policy for moto");

    assert.deepEqual(actionsOf(enforced.policy), actionsOf(readmePolicy), 'every action of the README is still in the policy moto enforces');
    assert.deepEqual(enforced.dropped.map((d) => d.key).sort(), ['ecs:CreateAction', 'ecs:cluster', 'ecs:cluster', 'iam:PassedToService'].sort());
    for (const d of enforced.dropped) {
      t.diagnostic(`dropped, moto does not evaluate it (takes it as met), so moto does NOT check it (the offline evaluation does): statement ${d.sid}, Condition ${d.operator} ${d.key} = ${JSON.stringify(d.value)}`);
    }
    for (const w of enforced.widened) {
      t.diagnostic(`widened to "*" (moto checks every action against "*", which no ARN matches), so moto does NOT check the resource (the offline evaluation does): statement ${w.sid}, Resource ${JSON.stringify(w.resource)}`);
    }
    t.diagnostic(`enforced: ${actionsOf(enforced.policy).length} actions in ${enforced.policy.Statement.length} statements`);
  });

  // --- with the whole policy: everything works, every signature verifies -----

  test('with the policy: start (task-definition), stop with its outputs: both succeed, every call signed and accepted', async (t) => {
    cases.push('whole policy: start (task-definition) + stop');
    const { result: started, context } = await startFromTaskDefinition();
    assertSucceeded(started);
    assertSignedAsLauncher(started);
    const { result: stopped } = await stop(context, { 'task-arn': started.outputs.task_arn, 'runner-id': started.outputs.runner_id });
    assertSucceeded(stopped);
    assertSignedAsLauncher(stopped);
    assert.ok(callsOf('ecs:StopTask').some((c) => c.status === 200), 'the stop stopped no task');
    await assertNothingLeftOrSaidHow(stopped);
    note(t, 'whole policy: start (task-definition) + stop', 'both succeed');
  });

  test('with the policy: start from image (RegisterTaskDefinition, roles passed, network by tag), then reap: both succeed', async (t) => {
    cases.push('whole policy: start (image, tags) + reap');
    const { result: started } = await startFromImage({ memory: freshMemory() });
    assertSucceeded(started);
    assertSignedAsLauncher(started);
    assert.ok(callsOf('ecs:RegisterTaskDefinition').some((c) => c.status === 200), `no revision registered\n${describeRun(started)}`);
    assert.ok(callsOf('ec2:DescribeSubnets').some((c) => c.status === 200), 'subnets not found by tag');
    // A later revision of ours: the one the start registered is then an older one, which reap removes.
    const older = await registerLaterRevisionOfOurs();
    const { result: reaped } = await reap();
    assertSucceeded(reaped);
    assertSignedAsLauncher(reaped);
    assert.ok(callsOf('ecs:StopTask').some((c) => c.status === 200 && c.body.task === started.outputs.task_arn), `reap did not stop the task\n${describeRun(reaped)}`);
    assert.ok(callsOf('ecs:DeregisterTaskDefinition').some((c) => c.status === 200 && older.includes(c.body.taskDefinition)), `reap deregistered none of ${older}\n${describeRun(reaped)}`);
    assert.ok(callsOf('ecs:DeleteTaskDefinitions').some((c) => c.status === 200), 'reap deleted no revision');
    await assertNothingLeftOrSaidHow(reaped);
    note(t, 'whole policy: start (image, tags) + reap', 'both succeed');
  });

  test("with the policy: a start that fails shows the runner's log (logs:GetLogEvents accepted)", async (t) => {
    cases.push('whole policy: failed start with the log');
    await failingTaskWithLog();
    const { result } = await startFromImage();
    assertFailed(result);
    assertSignedAsLauncher(result);
    assert.ok(callsOf('logs:GetLogEvents').some((c) => c.status === 200), `the log was not read\n${describeRun(result)}`);
    assert.ok(result.stdout.includes(RUNNER_LOG_LINE), `the runner's log is not shown\n${describeRun(result)}`);
    await assertNothingLeftOrSaidHow(result);
    note(t, 'whole policy: failed start with the log', 'fails for the task, log shown');
  });

  test('with the policy: bridge mode on EC2 gets its ipaddr from the instance (DescribeContainerInstances, DescribeInstances)', async (t) => {
    cases.push('whole policy: start (bridge) + stop without inputs');
    const { result, context } = await startBridge();
    assertSucceeded(result);
    assertSignedAsLauncher(result);
    assert.equal(result.outputs.ipaddr, instance.privateIp);
    const { result: stopped } = await stop(context);
    assertSucceeded(stopped);
    await assertNothingLeftOrSaidHow(stopped);
    note(t, 'whole policy: start (bridge) + stop without inputs', 'both succeed, ipaddr from the instance');
  });

  test('signatures: moto verified a signed call of every service the action uses (ECS, EC2, CloudWatch Logs)', (t) => {
    assert.deepEqual([...verifiedServices].sort(), ['ec2', 'ecs', 'logs']);
    t.diagnostic(`moto accepted the signatures of: ${[...verifiedServices].sort().join(', ')}`);
  });

  test('a wrong secret key: SignatureDoesNotMatch, and the step fails saying the credentials were not accepted; nothing left', async (t) => {
    cases.push('wrong secret key');
    const { result } = await startFromTaskDefinition({}, { env: launcherEnv(`${launcher.secretAccessKey.slice(0, -4)}XXXX`) });
    assertFailed(result);
    const refused = moto.proxy.requests.filter((c) => /SignatureDoesNotMatch|AuthFailure/.test(c.response ?? ''));
    assert.ok(refused.length > 0, `moto refused no signature\n${describeRun(result)}`);
    assert.ok(refused.some((c) => c.service === 'ecs' && c.status === 403 && c.response.includes('SignatureDoesNotMatch')), 'ECS said SignatureDoesNotMatch');
    assert.ok(moto.proxy.requests.every((c) => c.signature.startsWith('invalid: signature mismatch')), 'the proxy should see the mismatch too');
    const errors = errorText(annotations(result));
    assert.match(errors, /SignatureDoesNotMatch/, `the ::error:: does not give AWS's code\n${errors}`);
    assert.match(errors, /did not accept the credentials/, `the ::error:: does not name the credentials problem\n${errors}`);
    await assertNothingLeftOrSaidHow(result);
    note(t, 'wrong secret key', firstErrorWith(result, 'SignatureDoesNotMatch'));
  });

  test('an access key moto never issued: InvalidClientTokenId, and the step says the credentials were not accepted', async (t) => {
    cases.push('unknown access key id');
    const { result } = await startFromTaskDefinition({}, { env: launcherEnv(launcher.secretAccessKey, 'AKIAE2EUNKNOWNKEY0001') });
    assertFailed(result);
    assert.ok(moto.proxy.requests.some((c) => c.status === 403 && /InvalidClientTokenId/.test(c.response ?? '')), `moto did not say InvalidClientTokenId\n${describeRun(result)}`);
    const errors = errorText(annotations(result));
    assert.match(errors, /InvalidClientTokenId/, errors);
    assert.match(errors, /did not accept the credentials/, errors);
    await assertNothingLeftOrSaidHow(result);
    note(t, 'unknown access key id', firstErrorWith(result, 'InvalidClientTokenId'));
  });

  // --- each action removed ----------------------------------------------------

  /**
   * One case per action and mode that needs it. `run(case)` performs the
   * scene (with the whole policy) and then the run under test (without the
   * action); it returns that run's result. `expect`:
   *   'refused'  moto refused the action, the step failed naming it and its fix,
   *              and nothing is left (or the message gives the command);
   *   'log'      the optional log read: the step fails for the task's own
   *              reason, and one line names logs:GetLogEvents;
   *   'unchecked' moto does not check the action: the run succeeds without it.
   */
  const REMOVALS = [
    // start from the Fargate task definition
    { action: 'ecs:DescribeTaskDefinition', mode: 'start (task-definition)', run: () => withoutIt(() => startFromTaskDefinition()) },
    { action: 'ecs:RunTask', mode: 'start (task-definition)', run: () => withoutIt(() => startFromTaskDefinition()) },
    { action: 'ecs:DescribeTasks', mode: 'start (task-definition)', run: () => withoutIt(() => startFromTaskDefinition()) },
    {
      action: 'ecs:StopTask',
      mode: 'start that fails after RunTask (runner never online)',
      why: 'the cleanup of a failed start stops the task',
      run: () => withoutIt(() => startFromTaskDefinition({ 'wait-for-registration': 'true', timeout: '2' })),
    },
    {
      action: 'ecs:ListTasks',
      mode: 'start cancelled while RunTask is unanswered',
      why: 'the cleanup finds a task whose RunTask got no answer by listing the run’s tasks',
      tasks: 'unknown',
      run: () => withoutIt(() => cancelledDuringRunTask()),
    },
    {
      action: 'ec2:DescribeSubnets',
      mode: 'start with subnets-tag',
      run: () => withoutIt(() => startFromTaskDefinition({ subnets: '', 'subnets-tag': 'placement:ecs' })),
    },
    {
      action: 'ec2:DescribeSecurityGroups',
      mode: 'start with security-groups-tag',
      run: () => withoutIt(() => startFromTaskDefinition({ 'security-groups': '', 'security-groups-tag': 'placement:ecs' })),
    },
    { action: 'ecs:DescribeContainerInstances', mode: 'start (bridge mode on EC2)', run: () => withoutIt(() => startBridge()) },
    { action: 'ec2:DescribeInstances', mode: 'start (bridge mode on EC2)', run: () => withoutIt(() => startBridge()) },
    { action: 'ecs:TagResource', mode: 'start (task-definition)', expect: 'unchecked', run: () => withoutIt(() => startFromTaskDefinition()) },
    // start from image
    { action: 'ecs:DescribeTaskDefinition', mode: 'start (image)', run: () => withoutIt(() => startFromImage()) },
    { action: 'ecs:RegisterTaskDefinition', mode: 'start (image)', run: () => withoutIt(() => startFromImage({ memory: freshMemory() })) },
    { action: 'ecs:RunTask', mode: 'start (image)', run: () => withoutIt(() => startFromImage()) },
    {
      action: 'logs:GetLogEvents',
      mode: 'start (image) whose task stops before RUNNING',
      expect: 'log',
      run: async () => {
        await failingTaskWithLog();
        return withoutIt(() => startFromImage());
      },
    },
    { action: 'iam:PassRole', mode: 'start (image)', expect: 'unchecked', run: () => withoutIt(() => startFromImage({ memory: freshMemory() })) },
    // stop
    { action: 'ecs:DescribeTasks', mode: 'stop with task-arn and runner-id', run: () => stopAfterStart({ outputs: true }) },
    { action: 'ecs:StopTask', mode: 'stop with task-arn and runner-id', run: () => stopAfterStart({ outputs: true }) },
    { action: 'ecs:ListTasks', mode: 'stop without inputs (finds the run’s tasks)', tasks: 'unknown', run: () => stopAfterStart({ outputs: false }) },
    {
      action: 'ecs:DescribeTaskDefinition',
      mode: 'stop of a runner that crashed (shows its log)',
      expect: 'stop-log',
      run: () => stopAfterCrash(),
    },
    { action: 'logs:GetLogEvents', mode: 'stop of a runner that crashed (shows its log)', expect: 'stop-log', run: () => stopAfterCrash() },
    // reap
    { action: 'ecs:ListTasks', mode: 'reap', tasks: 'unknowable', run: () => reapAfterScene() },
    { action: 'ecs:DescribeTasks', mode: 'reap', tasks: 'unknowable', run: () => reapAfterScene() },
    { action: 'ecs:StopTask', mode: 'reap', run: () => reapAfterScene() },
    { action: 'ecs:ListTaskDefinitions', mode: 'reap (old revisions of image)', run: () => reapAfterScene() },
    { action: 'ecs:DescribeTaskDefinition', mode: 'reap (old revisions of image)', run: () => reapAfterScene() },
    { action: 'ecs:DeregisterTaskDefinition', mode: 'reap (old revisions of image)', run: () => reapAfterScene() },
    { action: 'ecs:DeleteTaskDefinitions', mode: 'reap (old revisions of image)', run: () => reapAfterScene() },
  ];

  /** The action of the case being run (set by the loop below). */
  let removing = null;

  /** `run` as the launcher with the policy minus the case's action. */
  async function withoutIt(run) {
    await putPolicy(LAUNCHER, without(enforced.policy, removing));
    world.useIamPolicies(narrowed.map(({ name, policy }) => ({ name: `${name} without ${removing}`, policy: without(policy, removing) })));
    moto.proxy.requests.length = 0;
    const { result } = await run();
    return result;
  }

  /** The launcher gets the whole policy again (a scene before the run under test). */
  const wholePolicy = async () => {
    await putPolicy(LAUNCHER, enforced.policy);
    world.useIamPolicies(narrowed);
  };

  /**
   * A Fargate memory size for cpu 1024 (2048-8192) other than the last one
   * asked for, so a start from image registers a new revision.
   */
  let memoryStep = 0;
  const freshMemory = () => String(2048 + 1024 * (++memoryStep % 7));

  /** A start (whole policy), then a stop as the launcher without the action. */
  async function stopAfterStart({ outputs }) {
    await wholePolicy();
    const { result: started, context } = await startFromTaskDefinition();
    assertSucceeded(started);
    gh.requests.length = 0;
    return withoutIt(() =>
      stop(context, outputs ? { 'task-arn': started.outputs.task_arn, 'runner-id': started.outputs.runner_id } : {}),
    );
  }

  /** A start from image (whole policy) whose runner then crashes, and a stop without the action. */
  async function stopAfterCrash() {
    await wholePolicy();
    const { result: started, context } = await startFromImage();
    assertSucceeded(started);
    await moto.logs('CreateLogStream', { logGroupName: LOG_GROUP, logStreamName: `ecs-runner/runner/${started.outputs.task_id}` }).catch(() => {});
    await moto.logs('PutLogEvents', {
      logGroupName: LOG_GROUP,
      logStreamName: `ecs-runner/runner/${started.outputs.task_id}`,
      logEvents: [{ timestamp: Date.now(), message: RUNNER_LOG_LINE }],
    });
    // The runner exited with an error: moto cannot say so (lib/moto.mjs), the proxy does.
    moto.proxy.reportStoppedTasksAs('EssentialContainerExited', 'Essential container in task exited');
    await moto.ecs('StopTask', { cluster: CLUSTER, task: started.outputs.task_arn, reason: 'the runner exited' });
    return withoutIt(() => stop(context, { 'task-arn': started.outputs.task_arn, 'runner-id': started.outputs.runner_id }));
  }

  /**
   * For reap: a start from image (whole policy), so a task and an offline
   * runner of ours and a revision of ours, then a later revision of ours, so
   * that one is older; then the reap without the action.
   */
  async function reapAfterScene() {
    await wholePolicy();
    const { result: started } = await startFromImage({ memory: freshMemory() });
    assertSucceeded(started);
    await registerLaterRevisionOfOurs();
    return withoutIt(() => reap());
  }

  /**
   * A revision of FAMILY later than any, with an `ecs-runner:spec` tag (so
   * ours) that matches no inputs: every revision of ours before it is
   * "older". Resolves to the ARNs and family:revision names of those.
   */
  async function registerLaterRevisionOfOurs() {
    const earlier = (await moto.taskDefinitionRevisions(FAMILY)).filter((r) => r.status === 'ACTIVE' && r.spec);
    await moto.ecs('RegisterTaskDefinition', {
      family: FAMILY,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '1024',
      memory: '2048',
      containerDefinitions: [{ name: 'runner', image: IMAGE, essential: true, memory: 2048 }],
      tags: [{ key: 'ecs-runner:spec', value: `iam-test-${Date.now()}` }],
    });
    return earlier.flatMap((r) => [r.arn, `${FAMILY}:${r.revision}`]);
  }

  /**
   * A start whose RunTask the proxy holds back; SIGINT once the action has
   * sent it, so the action abandons it unanswered and must look for what it
   * may have started. The held RunTask then reaches moto.
   */
  async function cancelledDuringRunTask() {
    moto.proxy.delay((c) => c.operation === 'RunTask', 1500);
    const run = await startFromTaskDefinition({}, {
      signalAfter: { pattern: /x-amz-target: AmazonEC2ContainerServiceV20141113\.RunTask\]/, signal: 'SIGINT' },
    });
    assert.equal(run.result.signalSent, true, `no RunTask was sent\n${describeRun(run.result)}`);
    // Let the held RunTask land (it starts a task the action cannot know of).
    const [held] = moto.proxy.calls('RunTask');
    for (let i = 0; held && held.status === undefined && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(held?.status, 200, 'the held RunTask started a task');
    return run;
  }

  /** moto `immediate` (the task stops before RUNNING), a stop code the proxy adds, and the runner's log written as it starts. */
  async function failingTaskWithLog() {
    await moto.setTaskTransition({ progression: 'immediate' });
    moto.proxy.reportStoppedTasksAs('TaskFailedToStart', 'CannotPullContainerError: pull image manifest has been retried 5 time(s)');
    moto.proxy.rewrite(
      (c) => c.operation === 'RunTask',
      async (body) => {
        for (const task of body.tasks ?? []) {
          const stream = `ecs-runner/runner/${task.taskArn.split('/').pop()}`;
          await moto.logs('CreateLogStream', { logGroupName: LOG_GROUP, logStreamName: stream });
          await moto.logs('PutLogEvents', { logGroupName: LOG_GROUP, logStreamName: stream, logEvents: [{ timestamp: Date.now(), message: RUNNER_LOG_LINE }] });
        }
        return body;
      },
    );
  }


  for (const c of REMOVALS) {
    const expect = c.expect ?? 'refused';
    const title = {
      unchecked: `without ${c.action}, ${c.mode}: moto does not check it and the run succeeds; real IAM (offline) denies it`,
      log: `without ${c.action}, ${c.mode}: the step fails for the task's reason, one line names ${c.action}`,
      'stop-log': `without ${c.action}, ${c.mode}: a line names ${c.action}, the task and runner are removed`,
      refused: `without ${c.action}, ${c.mode}: the step fails naming ${c.action} and its fix, nothing left behind`,
    }[expect];
    test(title, async (t) => {
      const name = `without ${c.action} (${c.mode})`;
      cases.push(name);
      removing = c.action;
      if (expect === 'unchecked') unseenExpected = c.action;
      const result = await c.run();
      assertSignedAsLauncher(result);
      if (expect === 'unchecked') {
        assertSucceeded(result);
        assert.deepEqual(callsOf(c.action), [], `${c.action} is not a call the action makes`);
        // What moto cannot see, real IAM refuses: the calls that need the action.
        const { unseen } = await offlineVerdicts();
        const needing = [...new Set(unseen.filter((v) => v.authorization.action === c.action).map((v) => `${v.call.operation} (${v.authorization.because})`))];
        assert.ok(needing.length > 0, `real IAM does not deny ${c.action} for any request either\n${describeRun(result)}`);
        note(t, name, `not observable in moto (it checks only the action a call is named for): the run succeeds without it; real IAM (offline) denies ${c.action} for ${needing.join(', ')}`);
        return;
      }
      const refused = callsOf(c.action).filter((x) => x.status === 403);
      assert.ok(refused.length > 0, `moto never refused ${c.action}: the path that needs it was not taken\n${describeRun(result)}`);
      if (expect === 'log' || expect === 'stop-log') {
        // The runner's log is extra: its absence is one line, not the step's failure.
        const lines = said(result).split('\n').filter((l) => l.includes(c.action));
        assert.ok(lines.length >= 1, `no line names ${c.action}\n${describeRun(result)}`);
        assert.ok(lines.some((l) => /allow|lets/i.test(l)), `no line says to allow ${c.action}:\n${lines.join('\n')}`);
        if (expect === 'log') {
          assertFailed(result);
          assert.match(errorText(annotations(result)), /CannotPullContainerError/, 'the failure is the task’s own');
        } else {
          assertSucceeded(result);
        }
        await assertNothingLeftOrSaidHow(result);
        note(t, name, `exit ${result.code}; ${lines[0].slice(0, 300)}`);
        return;
      }
      assertRefusedAndNamed(result, c.action);
      const left = await assertNothingLeftOrSaidHow(result, { tasks: c.tasks });
      note(t, name, `${left.length ? `${left.length} task(s) left, said how; ` : ''}${firstErrorWith(result, c.action)}`);
    });
  }

  test('the count', (t) => {
    const removals = REMOVALS.length;
    const observable = REMOVALS.filter((c) => c.expect !== 'unchecked').length;
    t.diagnostic(
      `${cases.length} cases run (${actionRuns} runs of the action): ${cases.length - removals} with the whole policy or wrong credentials, ${removals} removals (${observable} observable in moto, ${removals - observable} not: ${REMOVALS.filter((c) => c.expect === 'unchecked').map((c) => c.action).join(', ')}); ${actionsOf(readmePolicy).length} actions in the README policy`,
    );
    const covered = new Set(REMOVALS.map((c) => c.action));
    assert.deepEqual([...covered].sort(), actionsOf(readmePolicy).sort(), 'every action of the README policy is removed in some case');
    assert.equal(cases.length, REMOVALS.length + 6, 'every case ran (and recorded itself)');
  });
});

/** A line the runner's log holds, looked for in the step's output. */
const RUNNER_LOG_LINE = 'Failed to connect: iam.test.mjs runner log line';

/**
 * The README's policy with its example account and region replaced by
 * `account` and `region` in every ARN (names are the README's: moto widens
 * every Resource, so they do not matter to it).
 */
function readmePolicyFor({ account, region }) {
  const fill = (value) => {
    if (Array.isArray(value)) return value.map(fill);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    if (typeof value !== 'string' || !value.startsWith('arn:')) return value;
    const parts = value.split(':');
    if (parts[3] === README_WORLD.region) parts[3] = region;
    if (parts[4] === README_WORLD.account) parts[4] = account;
    return parts.join(':');
  };
  return fill(readmeLauncherPolicy());
}

/**
 * What moto 5.2.1 can enforce of `policy`: each statement without its
 * Condition (moto evaluates no condition: it takes each as met) and with
 * Resource "*" (moto checks ECS, EC2 and Logs actions against "*" only, which
 * no ARN matches). Returns {policy, dropped: [{sid, operator, key, value}],
 * widened: [{sid, resource}]}.
 */
function enforceable(policy) {
  const dropped = [];
  const widened = [];
  const Statement = policy.Statement.map((s) => {
    const { Condition, ...rest } = s;
    for (const [operator, keys] of Object.entries(Condition ?? {})) {
      for (const [key, value] of Object.entries(keys)) dropped.push({ sid: s.Sid, operator, key, value });
    }
    if (rest.Resource !== '*') {
      widened.push({ sid: s.Sid, resource: rest.Resource });
      rest.Resource = '*';
    }
    return rest;
  });
  return { policy: { ...policy, Statement }, dropped, widened };
}

/** `policy` without `action` (a statement left with no action goes). */
function without(policy, action) {
  const Statement = policy.Statement.map((s) => ({ ...s, Action: [s.Action].flat().filter((a) => a !== action) })).filter(
    (s) => s.Action.length > 0,
  );
  assert.notDeepEqual(actionsOf({ Statement }), actionsOf(policy), `${action} is not in the policy`);
  return { ...policy, Statement };
}

/** Every action of `policy`, sorted. */
function actionsOf(policy) {
  return policy.Statement.flatMap((s) => [s.Action].flat()).sort();
}
