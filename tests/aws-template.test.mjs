// aws/ecs-runner.yaml, checked without AWS: cfn-lint (pinned, installed into
// .tools/cfn-lint by tests/e2e/setup.sh's ensure_cfn_lint on first use) finds
// nothing in it, and its launching role's policy is the README's policy
// statement by statement, action by action. tests/e2e/template.test.mjs
// deploys it into moto and runs the action against what it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './e2e/lib/action.mjs';
import { readTemplate, readmeLauncherPolicy, resolver, launcherPolicies, TEMPLATE_PATH } from './e2e/lib/template.mjs';

/** The README's example account and region; with the default names the policy must come out as the README's. */
const README_WORLD = { account: '123456789012', region: 'us-west-2' };

const template = readTemplate();

test('cfn-lint finds no error, warning or note in aws/ecs-runner.yaml, in any region', () => {
  const setup = spawnSync('bash', ['-c', '. tests/e2e/setup.sh && ensure_cfn_lint'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(setup.status, 0, `ensure_cfn_lint failed:\n${setup.stdout}\n${setup.stderr}`);
  const cfnLint = path.join(REPO_ROOT, '.tools/cfn-lint/bin/cfn-lint');
  const version = spawnSync(cfnLint, ['--version'], { encoding: 'utf8' });
  assert.match(version.stdout, /^cfn-lint 1\.58\.0\s*$/, 'the pinned cfn-lint');
  // Exit code: 0 clean, else a bit mask of 2 error, 4 warning, 8 informational.
  const lint = spawnSync(cfnLint, ['--regions', 'ALL_REGIONS', '--', TEMPLATE_PATH], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(lint.status, 0, `cfn-lint (exit ${lint.status}):\n${lint.stdout}\n${lint.stderr}`);
});

test("the launching role's policy is the README's, statement by statement and action by action", () => {
  const readme = readmeLauncherPolicy();
  const { policies } = launcherPolicies(template);
  assert.equal(policies.length, 1, 'the launching role has one inline policy');
  const { resolve } = resolver(template, README_WORLD);
  const ours = resolve(policies[0].PolicyDocument);

  const sids = (p) => p.Statement.map((s) => s.Sid);
  assert.deepEqual(sids(ours), sids(readme), 'the same statements (by Sid), in the same order');
  const actions = (s) => [s.Action].flat();
  for (const [i, mine] of ours.Statement.entries()) {
    const theirs = readme.Statement[i];
    assert.deepEqual(actions(mine), actions(theirs), `${mine.Sid}: the actions`);
    assert.deepEqual(mine.Resource, theirs.Resource, `${mine.Sid}: the resources`);
    assert.deepEqual(mine.Condition, theirs.Condition, `${mine.Sid}: the condition`);
    assert.deepEqual(mine, theirs, `${mine.Sid}: the whole statement`);
  }
  assert.deepEqual(ours, readme, 'the whole policy');
});

test("the launching role trusts GitHub's OIDC tokens for one repository, with or without a new provider", () => {
  const { role } = launcherPolicies(template);
  const providerArn = `arn:aws:iam::${README_WORLD.account}:oidc-provider/token.actions.githubusercontent.com`;
  for (const create of ['true', 'false']) {
    const { resolve } = resolver(template, {
      ...README_WORLD,
      parameters: { GitHubRepository: 'octo-org/hello-world', CreateOidcProvider: create },
    });
    const trust = resolve(role.Properties.AssumeRolePolicyDocument);
    assert.deepEqual(
      trust.Statement,
      [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
            StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:octo-org/hello-world:*' },
          },
        },
      ],
      `CreateOidcProvider=${create}`,
    );
  }
  const provider = template.Resources.GitHubOidcProvider;
  assert.equal(provider.Type, 'AWS::IAM::OIDCProvider');
  assert.equal(provider.Condition, 'CreateTheOidcProvider');
  assert.equal(provider.Properties.Url, 'https://token.actions.githubusercontent.com');
  assert.deepEqual(provider.Properties.ClientIdList, ['sts.amazonaws.com']);
});

test('the task definition runs the stock runner image on Fargate, logging to the log group', () => {
  const { resolve } = resolver(template, README_WORLD);
  const td = resolve(template.Resources.TaskDefinition.Properties);
  assert.equal(td.Family, 'github-ecs-runner', "the action's default name, so its default task-definition");
  assert.equal(td.NetworkMode, 'awsvpc');
  assert.deepEqual(td.RequiresCompatibilities, ['FARGATE']);
  assert.equal(td.ExecutionRoleArn, 'arn:aws:iam::123456789012:role/ecs-runner-execution');
  assert.equal(td.TaskRoleArn, 'arn:aws:iam::123456789012:role/ecs-runner-task');
  assert.equal(td.ContainerDefinitions.length, 1, 'one container, so the action needs no container-name');
  const [runner] = td.ContainerDefinitions;
  assert.equal(runner.Image, 'ghcr.io/actions/actions-runner:latest');
  assert.deepEqual(runner.Command, ['/home/runner/run.sh']);
  assert.deepEqual(runner.LogConfiguration, {
    LogDriver: 'awslogs',
    Options: { 'awslogs-group': '/ecs-runner', 'awslogs-region': 'us-west-2', 'awslogs-stream-prefix': 'ecs-runner' },
  });

  const execution = resolve(template.Resources.ExecutionRole.Properties);
  assert.deepEqual(execution.ManagedPolicyArns, [
    'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
  ]);
  for (const name of ['ExecutionRole', 'TaskRole']) {
    const [statement, ...more] = resolve(template.Resources[name].Properties.AssumeRolePolicyDocument).Statement;
    assert.equal(more.length, 0);
    assert.deepEqual(statement.Principal, { Service: 'ecs-tasks.amazonaws.com' }, `${name} is for ECS tasks`);
  }

  const sg = template.Resources.SecurityGroup.Properties;
  assert.equal(sg.SecurityGroupIngress, undefined, 'the security group lets nothing in');
  assert.ok(sg.SecurityGroupEgress.length > 0);
});

test('the outputs are what a workflow passes to the action', () => {
  assert.deepEqual(Object.keys(template.Outputs).sort(), [
    'Cluster',
    'ExecutionRoleArn',
    'LauncherRoleArn',
    'LogGroupName',
    'Region',
    'SecurityGroupId',
    'SubnetIds',
    'TaskDefinitionArn',
    'TaskDefinitionFamily',
    'TaskRoleArn',
  ]);
  assert.deepEqual(Object.keys(template.Parameters).filter((p) => template.Parameters[p].Default === undefined), [
    'VpcId',
    'SubnetIds',
    'GitHubRepository',
  ], 'only the VPC, the subnets and the repository must be given');
});
