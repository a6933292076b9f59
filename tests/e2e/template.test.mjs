// aws/ecs-runner.yaml deployed into moto with CloudFormation CreateStack, then
// the bundled action run against what the stack made, with the stack's
// outputs as its inputs (README "The AWS side": which output goes to which
// input): a start that leaves the task RUNNING and the runner registered,
// then a stop that removes both. Once with the stack's task definition
// (task-definition), once with `image` and the stack's roles and log group.
//
// Where moto's CloudFormation falls short (details in lib/cloudformation.mjs):
// - it has no AWS::IAM::OIDCProvider, so the stack is deployed with
//   CreateOidcProvider=false after IAM CreateOpenIDConnectProvider made the
//   provider (the template's path for an account that has one already);
// - its AWS::ECS::TaskDefinition drops NetworkMode, RequiresCompatibilities,
//   Cpu and the roles, so this file runs moto through moto_server_cfn.py,
//   which passes them on (nothing else in moto changes);
// - it ignores ManagedPolicyArns and SecurityGroupEgress, and checks no IAM
//   policy: the launching role's policy is compared with the README's here
//   and in tests/aws-template.test.mjs, and every request of the action is
//   held against it offline (lib/iam-eval.mjs, after each test): the
//   template's and the README's launcher policies, narrowed to this stack's
//   names, must allow each one.

import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, REGION, REPOSITORY } from './lib/world.mjs';
import { describeRun } from './lib/action.mjs';
import { assertSucceeded, assertSecretsHandled, assertAwsRequestsSigned, assertGitHubHeaders } from './lib/checks.mjs';
import { useMotoWithCfnTaskDefinitions, deployStack, iam, xmlText } from './lib/cloudformation.mjs';
import { templateText, readmeLauncherPolicy } from './lib/template.mjs';

const ACCOUNT = '123456789012'; // moto's
const OIDC_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
/** Not the defaults, so the name parameters are seen to reach every resource and the policy. */
const NAMES = {
  ClusterName: 'ci-runners',
  TaskDefinitionFamily: 'ci-runner',
  LogGroupName: '/ci/ecs-runner',
  ExecutionRoleName: 'ci-runner-execution',
  TaskRoleName: 'ci-runner-task',
  LauncherRoleName: 'ci-runner-launcher',
};

describe('the CloudFormation template, deployed into moto', () => {
  let world;
  /** This test's VPC and subnets, the stack's outputs and resources. */
  let network;
  let stack;
  let patchedMoto;

  // startWorld, not useWorld: the stack makes the cluster, the task
  // definition and the security group that useWorld's fresh world would seed.
  before(async () => {
    patchedMoto = useMotoWithCfnTaskDefinitions();
    world = await startWorld({
      iam: {
        Cluster: NAMES.ClusterName,
        Family: NAMES.TaskDefinitionFamily,
        ExecutionRole: NAMES.ExecutionRoleName,
        TaskRole: NAMES.TaskRoleName,
        LogGroup: NAMES.LogGroupName,
      },
    });
  });
  // The checks useWorld runs after each test (lib/world.mjs): the API
  // contracts, and IAM for this stack's names.
  afterEach(() => world?.assertAfterTest());
  after(async () => {
    await world?.close();
    patchedMoto?.dispose();
  });

  beforeEach(async () => {
    world.gh.clear();
    world.moto.proxy.clearViolations?.();
    world.iamReset();
    await world.moto.reset();
    await world.moto.setTaskTransition({ progression: 'manual', times: 1_000_000 });
    network = await createNetwork();
    await iam(world.moto, 'CreateOpenIDConnectProvider', {
      Url: 'https://token.actions.githubusercontent.com',
      'ClientIDList.member.1': 'sts.amazonaws.com',
    });
    stack = await deployStack(world.moto, {
      stackName: 'ecs-runner',
      templateBody: templateText(),
      parameters: {
        VpcId: network.vpcId,
        SubnetIds: network.subnets.join(','),
        GitHubRepository: REPOSITORY,
        CreateOidcProvider: 'false',
        ...NAMES,
      },
    });
    world.moto.proxy.clear(); // count only the action's requests
  });

  /** A VPC with two subnets; moto's RunTask needs EnableDnsHostnames on it (lib/moto.mjs). */
  async function createNetwork() {
    const { moto } = world;
    const vpcId = xmlText(await moto.ec2('CreateVpc', { CidrBlock: '10.88.0.0/16' }), 'vpcId');
    await moto.ec2('ModifyVpcAttribute', { VpcId: vpcId, 'EnableDnsHostnames.Value': 'true' });
    const subnet = async (cidr, az) =>
      xmlText(await moto.ec2('CreateSubnet', { VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: `${REGION}${az}` }), 'subnetId');
    return { vpcId, subnets: [await subnet('10.88.1.0/24', 'a'), await subnet('10.88.2.0/24', 'b')] };
  }

  /** The inputs the README's snippet maps from the outputs, for a start. */
  const startInputs = (extra = {}) => ({
    token: world.pat,
    name: NAMES.TaskDefinitionFamily,
    cluster: stack.outputs.Cluster,
    subnets: stack.outputs.SubnetIds,
    'security-groups': stack.outputs.SecurityGroupId,
    ...extra,
  });

  /** Start, check the task is RUNNING with the stack's network and the runner is registered; returns both. */
  async function startAndCheck(inputs) {
    const result = await world.run({ inputs });
    assertSucceeded(result);
    const { outputs } = result;
    const tasks = await world.moto.tasks(stack.outputs.Cluster);
    assert.equal(tasks.length, 1, `one task in the stack's cluster\n${describeRun(result)}`);
    const [task] = tasks;
    assert.equal(task.arn, outputs.task_arn);
    assert.equal(task.lastStatus, 'RUNNING');
    assert.equal(task.cluster, NAMES.ClusterName);
    assert.equal(outputs.cluster, NAMES.ClusterName);
    assert.equal(outputs.region, REGION);
    assert.match(task.taskDefinitionArn, new RegExp(`:task-definition/${NAMES.TaskDefinitionFamily}:\\d+$`));
    assert.equal(task.subnetId, network.subnets[0], 'the ENI is in the first of the stack subnets');
    assert.equal(outputs.ipaddr, task.ip);
    const [run] = world.moto.proxy.calls('RunTask');
    assert.deepEqual(run.body.networkConfiguration.awsvpcConfiguration.subnets, network.subnets);
    assert.deepEqual(run.body.networkConfiguration.awsvpcConfiguration.securityGroups, [stack.outputs.SecurityGroupId]);
    const runner = world.gh.runnerByName(outputs.runner_id);
    assert.ok(runner, `runner ${outputs.runner_id} is registered`);
    assert.equal(task.env.runner.ACTIONS_RUNNER_INPUT_JITCONFIG, world.gh.issued[0].value);
    assertAwsRequestsSigned(world.moto, REGION);
    assertGitHubHeaders(world.gh);
    assertSecretsHandled(result, world);
    return { outputs, context: { ...world.context } };
  }

  /** Stop in another job of the same run, with the start's outputs; check the task STOPPED and the runner gone. */
  async function stopAndCheck({ outputs, context }) {
    const result = await world.run({
      inputs: {
        token: world.pat,
        mode: 'stop',
        name: NAMES.TaskDefinitionFamily,
        cluster: stack.outputs.Cluster,
        'task-arn': outputs.task_arn,
        'runner-id': outputs.runner_id,
      },
      context: {
        GITHUB_RUN_ID: context.GITHUB_RUN_ID,
        GITHUB_RUN_ATTEMPT: context.GITHUB_RUN_ATTEMPT,
        GITHUB_JOB: 'stop-runner',
      },
    });
    assertSucceeded(result);
    assert.deepEqual(result.outputs.stopped_tasks.split(','), [outputs.task_arn]);
    assert.deepEqual(result.outputs.deleted_runners.split(','), [outputs.runner_id]);
    const [task] = await world.moto.tasks(stack.outputs.Cluster);
    assert.equal(task.desiredStatus, 'STOPPED');
    assert.equal(task.lastStatus, 'STOPPED');
    assert.equal(world.gh.runnerByName(outputs.runner_id), undefined, 'the runner is deleted');
    assert.equal(world.gh.runners.size, 0);
    assertSecretsHandled(result, world, { issuedHere: false });
  }

  test('the stack creates every resource and the outputs name them', async () => {
    const { moto } = world;
    const { outputs } = stack;
    assert.equal(stack.status, 'CREATE_COMPLETE');
    assert.deepEqual(
      stack.resources.map((r) => r.logicalId).sort(),
      ['Cluster', 'ExecutionRole', 'LauncherRole', 'LogGroup', 'SecurityGroup', 'TaskDefinition', 'TaskRole'],
      'all but GitHubOidcProvider (CreateOidcProvider=false)',
    );
    assert.equal(outputs.Cluster, NAMES.ClusterName);
    assert.equal(outputs.TaskDefinitionFamily, NAMES.TaskDefinitionFamily);
    assert.equal(outputs.SubnetIds, network.subnets.join(','));
    assert.equal(outputs.LogGroupName, NAMES.LogGroupName);
    assert.equal(outputs.Region, REGION);
    for (const [output, name] of [
      ['ExecutionRoleArn', NAMES.ExecutionRoleName],
      ['TaskRoleArn', NAMES.TaskRoleName],
      ['LauncherRoleArn', NAMES.LauncherRoleName],
    ]) {
      assert.equal(outputs[output], `arn:aws:iam::${ACCOUNT}:role/${name}`, output);
    }

    const [cluster] = (await moto.ecs('DescribeClusters', { clusters: [outputs.Cluster] })).clusters;
    assert.equal(cluster.status, 'ACTIVE');

    const td = (await moto.ecs('DescribeTaskDefinition', { taskDefinition: outputs.TaskDefinitionFamily })).taskDefinition;
    assert.equal(td.taskDefinitionArn, outputs.TaskDefinitionArn);
    assert.equal(td.networkMode, 'awsvpc');
    assert.deepEqual(td.requiresCompatibilities, ['FARGATE']);
    assert.equal(td.cpu, '1024');
    assert.equal(td.memory, '2048');
    assert.equal(td.executionRoleArn, outputs.ExecutionRoleArn);
    assert.equal(td.taskRoleArn, outputs.TaskRoleArn);
    assert.deepEqual(td.runtimePlatform, { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' });
    assert.equal(td.containerDefinitions.length, 1);
    const [runner] = td.containerDefinitions;
    assert.equal(runner.name, 'runner');
    assert.equal(runner.image, 'ghcr.io/actions/actions-runner:latest');
    assert.deepEqual(runner.command, ['/home/runner/run.sh']);
    assert.deepEqual(runner.logConfiguration, {
      logDriver: 'awslogs',
      options: { 'awslogs-group': outputs.LogGroupName, 'awslogs-region': REGION, 'awslogs-stream-prefix': 'ecs-runner' },
    });

    const { logGroups } = await moto.logs('DescribeLogGroups', { logGroupNamePrefix: outputs.LogGroupName });
    assert.deepEqual(logGroups.map((g) => [g.logGroupName, g.retentionInDays]), [[outputs.LogGroupName, 30]]);

    const sgXml = await moto.ec2('DescribeSecurityGroups', { 'GroupId.1': outputs.SecurityGroupId });
    assert.equal(xmlText(sgXml, 'vpcId'), network.vpcId);
    assert.match(sgXml, /<ipPermissions\/>/, 'no ingress rule');

    // The launching role: assumable by this repository's workflows only.
    const role = await iam(moto, 'GetRole', { RoleName: NAMES.LauncherRoleName });
    const trust = JSON.parse(decodeURIComponent(xmlText(role, 'AssumeRolePolicyDocument')));
    assert.deepEqual(trust.Statement, [
      {
        Effect: 'Allow',
        Principal: { Federated: OIDC_PROVIDER_ARN },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
          StringLike: { 'token.actions.githubusercontent.com:sub': `repo:${REPOSITORY}:*` },
        },
      },
    ]);

    // Its policy, as CloudFormation resolved it: the README's statements and
    // actions, on this stack's cluster, family, log group and roles.
    const policy = rolePolicy(await iam(moto, 'GetRolePolicy', { RoleName: NAMES.LauncherRoleName, PolicyName: 'ecs-runner-launch' }));
    const readme = readmeLauncherPolicy();
    assert.deepEqual(
      policy.Statement.map((s) => [s.Sid, [s.Action].flat()]),
      readme.Statement.map((s) => [s.Sid, [s.Action].flat()]),
    );
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    const familyArn = outputs.TaskDefinitionArn.replace(/:\d+$/, '');
    assert.equal(bySid.RunTheRunnerTask.Resource, `${familyArn}:*`);
    assert.deepEqual(bySid.RunTheRunnerTask.Condition, { ArnEquals: { 'ecs:cluster': cluster.clusterArn } });
    assert.deepEqual(bySid.WatchStopAndFindTasks.Condition, { ArnEquals: { 'ecs:cluster': cluster.clusterArn } });
    assert.equal(
      bySid.ReadTheRunnersLogOnFailure.Resource,
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${outputs.LogGroupName}:*`,
    );
    assert.deepEqual(bySid.PassTheTaskRoles.Resource, [outputs.ExecutionRoleArn, outputs.TaskRoleArn]);
  });

  test("task-definition: the stack's definition runs RUNNING with a registered runner, and stop removes both", async () => {
    const started = await startAndCheck(startInputs({ 'task-definition': stack.outputs.TaskDefinitionFamily }));
    const [task] = await world.moto.tasks(stack.outputs.Cluster);
    assert.equal(task.taskDefinitionArn, stack.outputs.TaskDefinitionArn, "the stack's revision itself");
    assert.equal(world.moto.proxy.calls('RegisterTaskDefinition').length, 0);
    await stopAndCheck(started);
  });

  test("image: a definition registered with the stack's roles and log group runs in the stack's family", async () => {
    const started = await startAndCheck(
      startInputs({
        image: 'ghcr.io/actions/actions-runner:latest',
        'execution-role': stack.outputs.ExecutionRoleArn,
        'task-role': stack.outputs.TaskRoleArn,
        'log-group': stack.outputs.LogGroupName,
      }),
    );
    const [registered] = world.moto.proxy.calls('RegisterTaskDefinition');
    assert.ok(registered, 'the action registered its definition');
    // name = the stack's family, so the launching role's RunTask (on
    // task-definition/FAMILY:*) covers the revision the action registers.
    assert.equal(registered.body.family, NAMES.TaskDefinitionFamily);
    assert.equal(registered.body.executionRoleArn, stack.outputs.ExecutionRoleArn);
    assert.equal(registered.body.taskRoleArn, stack.outputs.TaskRoleArn);
    assert.equal(registered.body.containerDefinitions[0].logConfiguration.options['awslogs-group'], stack.outputs.LogGroupName);
    const [task] = await world.moto.tasks(stack.outputs.Cluster);
    assert.notEqual(task.taskDefinitionArn, stack.outputs.TaskDefinitionArn, 'a new revision of the family');
    await stopAndCheck(started);
  });
});

/**
 * GetRolePolicy's PolicyDocument: URL-encoded JSON from IAM; moto 5.2.1
 * writes a policy from a template as Python's repr (single quotes), which
 * this one holds no other quote in.
 */
function rolePolicy(xml) {
  const text = decodeURIComponent(xmlText(xml, 'PolicyDocument'));
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.replaceAll("'", '"'));
  }
}
