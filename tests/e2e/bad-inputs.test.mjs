// Bad input, run as the real dist/index.js (issue 9, requirement 5): one
// wrong value per case, for every input of action.yaml and every
// environment variable the action reads, plus cases with several wrong at
// once. Each case must exit 1 with one ::error:: that lists exactly the
// inputs (or variables) that are wrong, send nothing to AWS or GitHub, and
// print no secret (the PAT, the AWS secret key, the session token, or a
// secret-looking value the case itself passes).
//
// The base of every case is a valid start (checked by the first case, whose
// only problem is a name: the list of names in the error would otherwise
// be longer). One world for the file: nothing may reach it, so there is
// nothing to reset between cases, and the cases run concurrently.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { startWorld } from './lib/world.mjs';
import { FAKE_AWS, annotations, assertNoSecrets, describeRun, readActionYaml } from './lib/action.mjs';
import { assertFailed, errorText } from './lib/checks.mjs';

const SUBNET = 'subnet-0123456789abcdef0';
const SG = 'sg-0123456789abcdef0';
const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/runners/0123456789abcdef0123456789abcdef';
/** A second secret-looking token, for the cases that pass one in a bad place. */
const OTHER_PAT = 'ghp_0therS3cretValueThatMustNotPrint0000';
/** A GitHub App key as the inputs check it (the BEGIN line); its body is the secret. */
const PEM_BODY = 'MIIEowIBAAKCAQEAFakeAppKeyMaterialDoNotPrint0123456789';
const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----`;
const HEADER = 'Invalid inputs; nothing was sent to AWS or GitHub:';

/** With `image`, the action registers the task definition: its companions apply. */
const IMAGE = { image: 'ghcr.io/actions/actions-runner:latest', 'task-definition': '' };
const ROLE = 'arn:aws:iam::123456789012:role/ecs-runner';
/** GitHub's OIDC variables (`permissions: id-token: write`); the token is a secret. */
const OIDC = Object.freeze({
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://pipelines.actions.example.test/idtoken?api-version=2.0',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'eyJOIDCRequestTokenSecret.DoNotPrint.0123456789',
});
/** No AWS keys in the environment (AWS_EC2_METADATA_DISABLED=true is always set). */
const NO_KEYS = Object.freeze({ AWS_ACCESS_KEY_ID: null, AWS_SECRET_ACCESS_KEY: null, AWS_SESSION_TOKEN: null });
const STOP = { mode: 'stop', subnets: '', 'security-groups': '', 'task-definition': '' };
const REAP = { mode: 'reap', subnets: '', 'security-groups': '', 'task-definition': '' };

/**
 * Each case: `inputs` and `env` laid over the valid base (an env value of
 * null removes the variable); `expect`: every name the error must list,
 * and no other (in any order); `mentions`: further text the message must hold (the
 * variable a fallback came from); `secrets`: values this case passes that
 * must not be printed. `$PAT` in a value is the world's PAT.
 */
const CASES = [
  // ---- inputs, in action.yaml's order ----
  { title: 'mode: not a mode', inputs: { mode: 'launch' }, expect: ['mode'] },
  { title: 'count: 0', inputs: { count: '0' }, expect: ['count'] },
  { title: 'count: above 100', inputs: { count: '101' }, expect: ['count'] },
  { title: 'count: not a number', inputs: { count: 'two' }, expect: ['count'] },
  { title: 'name: starts with a dash', inputs: { name: '-runner' }, expect: ['name'] },
  { title: 'name: longer than 32', inputs: { name: 'n'.repeat(33) }, expect: ['name'] },
  { title: 'token: missing (and github-token too)', inputs: { token: '', 'github-token': '' }, expect: ['token']},
  { title: 'token: with a space (not shown)', inputs: { token: 'ghp_secretpart1 secretpart2' }, expect: ['token'], secrets: ['ghp_secretpart1', 'secretpart2']},
  { title: 'token and github-token disagree (neither shown)', inputs: { 'github-token': OTHER_PAT }, expect: ['token'], mentions: ['github-token'], secrets: [OTHER_PAT] },
  { title: 'github-token: with a control character (not shown)', inputs: { token: '', 'github-token': 'ghs_secretpart3\u0007x' }, expect: ['github-token'], secrets: ['ghs_secretpart3']},
  { title: 'labels: one longer than the runner limit of 256', inputs: { labels: `ok,${'l'.repeat(257)}` }, expect: ['labels'] },
  { title: 'name: runner names over 64 characters in this run', inputs: { name: 'n'.repeat(32) }, env: { GITHUB_RUN_ID: '12345678901234567890', GITHUB_RUN_ATTEMPT: '100' }, expect: ['name'] },
  { title: 'labels: more than GitHub allows', inputs: { labels: Array.from({ length: 95 }, (_, i) => `l${i}`).join(',') }, expect: ['labels'] },
  { title: 'workdir: two lines', inputs: { workdir: 'a\nb' }, expect: ['workdir'] },
  { title: 'context: three parts', inputs: { context: 'a/b/c' }, expect: ['context'] },
  { title: 'context: repository ..', inputs: { context: 'octo-org/..' }, expect: ['context'] },
  { title: 'image: with a space', inputs: { ...IMAGE, image: 'my image' }, expect: ['image'] },
  { title: 'cpu: not a Fargate size', inputs: { ...IMAGE, cpu: '300' }, expect: ['cpu'] },
  { title: 'cpu: without image', inputs: { cpu: '1024' }, expect: ['cpu'] },
  { title: 'memory: not a size for the cpu', inputs: { ...IMAGE, memory: '1000' }, expect: ['memory'] },
  { title: 'architecture: unknown', inputs: { ...IMAGE, architecture: 'mips' }, expect: ['architecture'] },
  { title: 'execution-role: not an IAM role ARN', inputs: { ...IMAGE, 'execution-role': 'arn:aws:s3:::bucket' }, expect: ['execution-role'] },
  { title: 'task-role: not a role name', inputs: { ...IMAGE, 'task-role': 'bad role!' }, expect: ['task-role'] },
  { title: 'log-group: bad characters', inputs: { ...IMAGE, 'execution-role': 'ecsTaskExecutionRole', 'log-group': 'bad group' }, expect: ['log-group'] },
  { title: 'log-group: without an execution role', inputs: { ...IMAGE, 'log-group': '/ecs-runner' }, expect: ['log-group'] },
  { title: 'efs-id: not a file system id', inputs: { ...IMAGE, 'efs-id': 'efs-1' }, expect: ['efs-id'] },
  { title: 'efs-path: relative', inputs: { ...IMAGE, 'efs-id': 'fs-01234567', 'efs-path': 'cache' }, expect: ['efs-path'] },
  { title: 'efs-access-point: not an access point id', inputs: { ...IMAGE, 'efs-id': 'fs-01234567', 'efs-access-point': 'ap-1' }, expect: ['efs-access-point'] },
  { title: 'efs-iam: not a boolean', inputs: { ...IMAGE, 'efs-id': 'fs-01234567', 'efs-iam': 'maybe' }, expect: ['efs-iam'] },
  { title: 'efs-id: on ECS Anywhere', inputs: { ...IMAGE, 'launch-type': 'EXTERNAL', 'efs-id': 'fs-01234567' }, expect: ['efs-id'] },
  { title: 'ephemeral-storage: below 21', inputs: { ...IMAGE, 'ephemeral-storage': '10' }, expect: ['ephemeral-storage'] },
  { title: 'command: a JSON array of numbers', inputs: { ...IMAGE, command: '[1]' }, expect: ['command'] },
  { title: 'task-definition: revision 0', inputs: { 'task-definition': 'runner:0' }, expect: ['task-definition'] },
  { title: 'task-definition: an ARN of another service', inputs: { 'task-definition': 'arn:aws:s3:eu-west-1:123456789012:task-definition/r:1' }, expect: ['task-definition'] },
  { title: 'cluster: with a space', inputs: { cluster: 'bad cluster' }, expect: ['cluster'] },
  { title: 'launch-type: unknown', inputs: { 'launch-type': 'BANANA' }, expect: ['launch-type'] },
  { title: 'launch-type and capacity-provider-strategy both', inputs: { 'capacity-provider-strategy': 'FARGATE_SPOT:1' }, expect: ['launch-type'], mentions: ['capacity-provider-strategy'] },
  { title: 'capacity-provider-strategy: weight above 1000', inputs: { 'launch-type': '', 'capacity-provider-strategy': 'FARGATE:1001' }, expect: ['capacity-provider-strategy'] },
  { title: 'capacity-fallback: not a strategy', inputs: { 'capacity-fallback': 'spot:x' }, expect: ['capacity-fallback'] },
  { title: 'capacity-fallback: the placement itself', inputs: { 'capacity-fallback': 'FARGATE' }, expect: ['capacity-fallback'] },
  { title: 'platform-version: not N.N.N', inputs: { 'platform-version': 'v1.4' }, expect: ['platform-version'] },
  { title: 'subnets: not a subnet id', inputs: { subnets: 'subnet-xyz' }, expect: ['subnets'] },
  { title: 'subnets: none for Fargate', inputs: { subnets: '' }, expect: ['subnets'] },
  { title: 'subnets and subnets-tag both', inputs: { 'subnets-tag': 'Name:ci' }, expect: ['subnets'], mentions: ['subnets-tag'] },
  // EC2: with Fargate the bad tag also reports "subnets" as missing.
  { title: 'subnets-tag: no colon', inputs: { 'launch-type': 'EC2', subnets: '', 'subnets-tag': 'no-colon-here' }, expect: ['subnets-tag'] },
  { title: 'security-groups: not a group id', inputs: { 'security-groups': 'sg-1' }, expect: ['security-groups'] },
  { title: 'security-groups: more than 5', inputs: { 'security-groups': Array.from({ length: 6 }, (_, i) => `sg-0${i}234567`).join(',') }, expect: ['security-groups'] },
  { title: 'security-groups-tag: empty key', inputs: { 'security-groups': '', 'security-groups-tag': ':ci' }, expect: ['security-groups-tag'] },
  { title: 'assign-public-ip: maybe', inputs: { 'assign-public-ip': 'maybe' }, expect: ['assign-public-ip'] },
  { title: 'container-name: with a space', inputs: { 'container-name': 'my container' }, expect: ['container-name'] },
  { title: 'tags: reserved prefix', inputs: { tags: 'aws:owner=me' }, expect: ['tags'] },
  { title: 'tags: a value with the reserved prefix', inputs: { tags: 'owner=AWS:me' }, expect: ['tags'] },
  { title: 'tags: a value over 256 once {repository} is expanded', inputs: { tags: `k=${'v'.repeat(250)}{repository}` }, expect: ['tags'] },
  { title: 'tags: no =', inputs: { tags: 'team' }, expect: ['tags'] },
  { title: 'tags: a key twice', inputs: { tags: 'team=a,team=b' }, expect: ['tags'] },
  { title: 'env: a reserved name holding the PAT (not shown)', inputs: { env: 'RUNNER_TOKEN=$PAT' }, expect: ['env'] },
  { title: 'env: a line without = that is a secret (not shown)', inputs: { env: `OK=1\n${OTHER_PAT}` }, expect: ['env'], secrets: [OTHER_PAT] },
  { title: 'env: a bad name, its value not shown', inputs: { env: `1BAD=${OTHER_PAT}` }, expect: ['env'], secrets: [OTHER_PAT] },
  { title: 'env: an unknown placeholder', inputs: { env: 'WHERE={nowhere}' }, expect: ['env'] },
  { title: 'env: a runner argument in lower case', inputs: { env: 'actions_runner_input_jitconfig=x' }, expect: ['env'] },
  { title: 'env: too large to leave room for the JIT configuration', inputs: { env: `BIG=${'x'.repeat(3300)}` }, expect: ['env'] },
  { title: 'runner-group: 0', inputs: { 'runner-group': '0' }, expect: ['runner-group'] },
  { title: 'registration: unknown', inputs: { registration: 'magic' }, expect: ['registration'] },
  { title: 'timeout: above a day', inputs: { timeout: '86401' }, expect: ['timeout'] },
  { title: 'timeout: not a number', inputs: { timeout: 'soon' }, expect: ['timeout'] },
  { title: 'wait-for-registration: yes', inputs: { 'wait-for-registration': 'yes' }, expect: ['wait-for-registration'] },
  { title: 'debug: on', inputs: { debug: 'on' }, expect: ['debug'] },
  { title: 'task-arn: not a task', inputs: { ...STOP, 'task-arn': 'a/b' }, expect: ['task-arn'] },
  { title: 'task-arn: a broken JSON array', inputs: { ...STOP, 'task-arn': `["${TASK}",` }, expect: ['task-arn'] },
  { title: 'runner-id: longer than 64', inputs: { ...STOP, 'runner-id': 'r'.repeat(65) }, expect: ['runner-id'] },
  { title: 'max-age: negative', inputs: { ...REAP, 'max-age': '-5' }, expect: ['max-age'] },
  { title: 'dry-run: maybe', inputs: { ...REAP, 'dry-run': 'maybe' }, expect: ['dry-run'] },
  { title: 'role-to-assume: not a role ARN', inputs: { 'role-to-assume': 'arn:aws:iam::123:role/ci' }, env: OIDC, expect: ['role-to-assume'] },
  { title: 'role-to-assume: without the OIDC variables', inputs: { 'role-to-assume': ROLE }, expect: ['role-to-assume'], mentions: ['id-token: write'] },
  { title: 'role-session-name: bad characters', inputs: { 'role-to-assume': ROLE, 'role-session-name': 'my session!' }, env: OIDC, expect: ['role-session-name'] },
  { title: 'role-session-name: without role-to-assume', inputs: { 'role-session-name': 'ci-session' }, expect: ['role-session-name'] },
  { title: 'role-duration-seconds: below 900', inputs: { 'role-to-assume': ROLE, 'role-duration-seconds': '100' }, env: OIDC, expect: ['role-duration-seconds'] },
  { title: 'audience: without role-to-assume', inputs: { audience: 'sts.amazonaws.com' }, expect: ['audience'] },
  // With the token kept: without one, half an App also reports "no token given".
  { title: 'app-id without app-private-key', inputs: { 'app-id': '123456' }, expect: ['app-private-key'] },
  { title: 'app-private-key without app-id (not shown)', inputs: { 'app-private-key': PEM }, expect: ['app-id'], secrets: [PEM_BODY] },
  { title: 'app-id: not a number', inputs: { token: '', 'app-id': 'my-app', 'app-private-key': PEM }, expect: ['app-id'], secrets: [PEM_BODY] },
  { title: 'app-private-key: not a PEM key (not shown)', inputs: { token: '', 'app-id': '123456', 'app-private-key': OTHER_PAT }, expect: ['app-private-key'], secrets: [OTHER_PAT] },
  { title: 'token and a GitHub App both', inputs: { 'app-id': '123456', 'app-private-key': PEM }, expect: ['token'], secrets: [PEM_BODY] },
  { title: 'default-labels: nope', inputs: { 'default-labels': 'nope' }, expect: ['default-labels'] },
  { title: 'runner-group: a name for a repository', inputs: { 'runner-group': 'ECS runners' }, expect: ['runner-group'] },

  // ---- the environment ----
  { title: 'AWS_REGION and AWS_DEFAULT_REGION unset', env: { AWS_REGION: null, AWS_DEFAULT_REGION: null }, expect: ['AWS_REGION'] },
  { title: 'AWS_REGION: upper case', env: { AWS_REGION: 'EU-WEST-1' }, expect: ['AWS_REGION'] },
  { title: 'AWS_DEFAULT_REGION: not a region', env: { AWS_REGION: '', AWS_DEFAULT_REGION: 'mars' }, expect: ['AWS_DEFAULT_REGION'] },
  { title: 'AWS_ACCESS_KEY_ID unset, the secret key set', env: { AWS_ACCESS_KEY_ID: null }, expect: ['AWS_ACCESS_KEY_ID'] },
  { title: 'AWS_SECRET_ACCESS_KEY unset, the key id set', env: { AWS_SECRET_ACCESS_KEY: '' }, expect: ['AWS_SECRET_ACCESS_KEY'] },
  { title: 'no AWS credentials anywhere (metadata disabled)', env: NO_KEYS, expect: ['AWS_ACCESS_KEY_ID'], mentions: ['no AWS credentials found'] },
  { title: 'AWS_WEB_IDENTITY_TOKEN_FILE without AWS_ROLE_ARN', env: { ...NO_KEYS, AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token' }, expect: ['AWS_ROLE_ARN', 'AWS_ACCESS_KEY_ID'] },
  { title: 'AWS_ROLE_ARN without AWS_WEB_IDENTITY_TOKEN_FILE', env: { ...NO_KEYS, AWS_ROLE_ARN: ROLE }, expect: ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ACCESS_KEY_ID'] },
  { title: 'AWS_ROLE_ARN: not a role ARN', env: { ...NO_KEYS, AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token', AWS_ROLE_ARN: 'arn:aws:iam::123456789012:user/me' }, expect: ['AWS_ROLE_ARN'] },
  { title: 'AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http to another host', env: { ...NO_KEYS, AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.169.254/creds', AWS_CONTAINER_AUTHORIZATION_TOKEN: OTHER_PAT }, expect: ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], secrets: [OTHER_PAT] },
  { title: 'ACTIONS_ID_TOKEN_REQUEST_URL: not http(s)', inputs: { 'role-to-assume': ROLE }, env: { ...OIDC, ACTIONS_ID_TOKEN_REQUEST_URL: 'ftp://token.actions' }, expect: ['ACTIONS_ID_TOKEN_REQUEST_URL'], secrets: [OIDC.ACTIONS_ID_TOKEN_REQUEST_TOKEN] },
  { title: 'AWS_ENDPOINT_URL: no scheme', env: { AWS_ENDPOINT_URL: '127.0.0.1:5000' }, expect: ['AWS_ENDPOINT_URL'] },
  { title: 'AWS_ENDPOINT_URL_ECS: ftp', env: { AWS_ENDPOINT_URL_ECS: 'ftp://ecs.local' }, expect: ['AWS_ENDPOINT_URL_ECS'] },
  { title: 'AWS_ENDPOINT_URL_EC2: no host', env: { AWS_ENDPOINT_URL_EC2: 'http://' }, expect: ['AWS_ENDPOINT_URL_EC2'] },
  { title: 'AWS_ENDPOINT_URL_LOGS: a space', env: { AWS_ENDPOINT_URL_LOGS: 'https://logs .local' }, expect: ['AWS_ENDPOINT_URL_LOGS'] },
  { title: 'AWS_ENDPOINT_URL_STS: no scheme', env: { AWS_ENDPOINT_URL_STS: 'sts.local' }, expect: ['AWS_ENDPOINT_URL_STS'] },
  { title: 'GITHUB_API_URL: no scheme', env: { GITHUB_API_URL: 'api.github.com' }, expect: ['GITHUB_API_URL'] },
  { title: 'GITHUB_SERVER_URL: no scheme', env: { GITHUB_SERVER_URL: 'github.com' }, expect: ['GITHUB_SERVER_URL'] },
  { title: 'GITHUB_RUN_ID unset (start)', env: { GITHUB_RUN_ID: null }, expect: ['GITHUB_RUN_ID'] },
  { title: 'GITHUB_RUN_ID: not a run id', env: { GITHUB_RUN_ID: '12 34' }, expect: ['GITHUB_RUN_ID'] },
  { title: 'GITHUB_RUN_ATTEMPT: 0', env: { GITHUB_RUN_ATTEMPT: '0' }, expect: ['GITHUB_RUN_ATTEMPT'] },
  { title: 'GITHUB_REPOSITORY: not owner/repo (context empty)', env: { GITHUB_REPOSITORY: 'not a repo' }, expect: ['context'], mentions: ['GITHUB_REPOSITORY'] },
  { title: 'GITHUB_REPOSITORY unset (context empty)', env: { GITHUB_REPOSITORY: null }, expect: ['context'], mentions: ['GITHUB_REPOSITORY'] },
  { title: 'RUNNER_ARCH: a space', env: { RUNNER_ARCH: 'X 64' }, expect: ['RUNNER_ARCH'] },
  { title: 'ECS_CLUSTER_NAME: bad (cluster empty)', inputs: { cluster: '' }, env: { ECS_CLUSTER_NAME: 'bad name' }, expect: ['cluster'], mentions: ['ECS_CLUSTER_NAME'] },
  { title: 'ECS_SUBNETS: bad (subnets empty)', inputs: { subnets: '' }, env: { ECS_SUBNETS: 'subnet-x' }, expect: ['subnets'], mentions: ['ECS_SUBNETS'] },
  { title: 'ECS_SECURITY_GROUPS: bad (security-groups empty)', inputs: { 'security-groups': '' }, env: { ECS_SECURITY_GROUPS: 'sg-x' }, expect: ['security-groups'], mentions: ['ECS_SECURITY_GROUPS'] },
  { title: 'ECS_EXECUTION_ROLE: bad (with image)', inputs: IMAGE, env: { ECS_EXECUTION_ROLE: 'bad role!' }, expect: ['execution-role'], mentions: ['ECS_EXECUTION_ROLE'] },
  { title: 'ECS_TASK_ROLE: bad (with image)', inputs: IMAGE, env: { ECS_TASK_ROLE: 'arn:aws:s3:::b' }, expect: ['task-role'], mentions: ['ECS_TASK_ROLE'] },
  { title: 'EFS_ID: bad (with image)', inputs: IMAGE, env: { EFS_ID: 'fs-x' }, expect: ['efs-id'] },

  // ---- several wrong at once: every one is in the one message ----
  {
    title: 'a bad mode hides the start-only checks, not the others',
    inputs: { mode: 'stpo', subnets: '', timeout: 'y' },
    env: { AWS_REGION: null, GITHUB_RUN_ID: null },
    expect: ['mode', 'timeout', 'AWS_REGION'],
  },
  {
    title: 'ten inputs and variables wrong at once',
    inputs: {
      name: 'n'.repeat(40),
      count: '0',
      'launch-type': 'BANANA',
      timeout: 'soon',
      subnets: '',
      'subnets-tag': 'no-colon-here',
      registration: 'magic',
      tags: 'aws:x=1',
      env: `RUNNER_NAME=${OTHER_PAT}`,
    },
    env: { GITHUB_API_URL: 'nope', AWS_SECRET_ACCESS_KEY: '', GITHUB_RUN_ATTEMPT: 'x' },
    expect: ['name', 'count', 'launch-type', 'timeout', 'subnets-tag', 'registration', 'tags', 'env', 'GITHUB_API_URL', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_RUN_ATTEMPT'],
    secrets: [OTHER_PAT],
  },
  {
    title: 'every image companion wrong at once',
    inputs: {
      ...IMAGE,
      cpu: '300',
      architecture: 'mips',
      'execution-role': 'arn:aws:s3:::b',
      'task-role': 'x y',
      'log-group': 'a b',
      'efs-id': 'nope',
      'efs-path': 'rel',
      'ephemeral-storage': '500',
      command: '[',
    },
    expect: ['cpu', 'architecture', 'execution-role', 'task-role', 'log-group', 'efs-id', 'efs-path', 'ephemeral-storage', 'command'],
  },
  {
    title: 'stop with bad task-arn, runner-id, token and credentials',
    inputs: { ...STOP, token: '', 'task-arn': 'x/y', 'runner-id': 'a b' },
    env: { ...NO_KEYS, GITHUB_RUN_ID: null },
    expect: ['token', 'task-arn', 'runner-id', 'AWS_ACCESS_KEY_ID'],
  },
  {
    title: 'the OIDC role with every companion wrong, and the OIDC token not shown',
    inputs: { 'role-to-assume': 'role/ci', 'role-session-name': 'x', 'role-duration-seconds': '99999' },
    env: { ...OIDC, ACTIONS_ID_TOKEN_REQUEST_URL: 'token.actions' },
    expect: ['role-to-assume', 'role-session-name', 'role-duration-seconds', 'ACTIONS_ID_TOKEN_REQUEST_URL'],
    secrets: [OIDC.ACTIONS_ID_TOKEN_REQUEST_TOKEN],
  },
];

/** The input and variable names the failure lists (each once, in parse order). */
function namedIn(message) {
  return message
    .split('\n')
    .filter((l) => l.startsWith('- '))
    .map((l) => /^- (?:Input|Environment variable) '([^']+)': /.exec(l)?.[1] ?? `unparsed line: ${l}`)
    .filter((name, i, all) => all.indexOf(name) === i);
}

describe('bad inputs: exit 1, every problem named, nothing sent, no secret shown', { concurrency: Math.max(2, os.availableParallelism()) }, () => {
  let world;
  before(async () => {
    world = await startWorld();
  });
  after(() => world?.close());

  /** The valid start every case changes. */
  const base = () => ({
    token: world.pat,
    name: 'gh-runner',
    cluster: 'runners',
    'task-definition': 'gh-runner',
    'launch-type': 'FARGATE',
    subnets: SUBNET,
    'security-groups': SG,
  });

  test('the table covers every input of action.yaml and the variables the action reads', () => {
    const declared = Object.keys(readActionYaml().inputs);
    const covered = new Set(CASES.flatMap((c) => c.expect));
    const missing = declared.filter((n) => !covered.has(n));
    assert.deepEqual(missing, [], `inputs without a bad-input case: ${missing.join(', ')}`);
    for (const variable of [
      'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_ECS', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_LOGS', 'GITHUB_API_URL', 'GITHUB_SERVER_URL',
      'AWS_ENDPOINT_URL_STS', 'GITHUB_RUN_ID', 'GITHUB_RUN_ATTEMPT', 'RUNNER_ARCH', 'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'ACTIONS_ID_TOKEN_REQUEST_URL',
    ]) {
      assert.ok(covered.has(variable), `no case for ${variable}`);
    }
    assert.ok(CASES.length >= 40, `${CASES.length} cases`);
  });

  for (const c of CASES) {
    test(c.title, async () => {
      const inputs = { ...base(), ...(c.inputs ?? {}) };
      for (const [k, v] of Object.entries(inputs)) inputs[k] = v.replaceAll('$PAT', world.pat);
      const result = await world.run({ inputs, env: c.env ?? {} });
      assertFailed(result);
      const errors = annotations(result);
      assert.equal(errors.length, 1, `one ::error:: expected\n${describeRun(result)}`);
      const [message] = errors;
      assert.ok(message.startsWith(HEADER), `${message}\n${describeRun(result)}`);
      assert.deepEqual(namedIn(message).sort(), [...c.expect].sort(), errorText(errors));
      for (const m of c.mentions ?? []) assert.ok(message.includes(m), `the message does not mention ${m}:\n${message}`);
      assert.ok(!message.includes('internal error'), message);
      assert.deepEqual(world.gh.requests.map((r) => `${r.method} ${r.path}`), [], 'GitHub was contacted');
      assert.deepEqual(world.moto.proxy.requests.map((r) => `${r.service} ${r.operation}`), [], 'AWS was contacted');
      assertNoSecrets(result, [
        world.pat,
        FAKE_AWS.secretAccessKey,
        FAKE_AWS.sessionToken,
        OIDC.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
        ...(c.secrets ?? []),
      ]);
      assert.equal(result.outputs.task_arn ?? '', '', 'no task output');
    });
  }
});
