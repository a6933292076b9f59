// The servers one test file shares: moto (+ recording proxy) and the fake
// GitHub, started once per file and made fresh for every test. After each
// test, the requests the action sent must have kept the API contracts: the
// AWS service models (aws-contract.mjs, via the proxy) and GitHub's OpenAPI
// description (github.mjs); any violation fails that test. And every AWS
// request must be allowed by real IAM (iam-eval.mjs): by the README's
// launcher policy and by aws/ecs-runner.yaml's, each narrowed to the test's
// names (`iam` below); a denied one fails the test, naming the policy, the
// action, the resource and the context.

import crypto from 'node:crypto';
import { before, after, beforeEach, afterEach } from 'node:test';
import { startMoto } from './moto.mjs';
import { startFakeGitHub } from './github.mjs';
import { FAKE_AWS, runAction, jobContext } from './action.mjs';
import { MOTO_ACCOUNT, launcherPoliciesFor, verdicts, describeDenial } from './iam-eval.mjs';

export const REGION = 'eu-west-1';
export const REPOSITORY = 'octo-org/hello-world';
export const ORG = 'octo-org';

/** A fake classic PAT: `ghp_` + 36 letters and digits. */
export function fakePat() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let t = 'ghp_';
  for (let i = 0; i < 36; i++) t += alphabet[crypto.randomInt(alphabet.length)];
  return t;
}

/**
 * The names the launcher policies are narrowed to by default (see
 * iam-eval.mjs `instantiate`): what the fresh world seeds and startInputs
 * uses (cluster `runners`, task definitions `gh-runner` and
 * `gh-runner-sidecar`) and the README's names for the roles and the log
 * group. A file with other names gives them to useWorld / startWorld as
 * `iam`; a test adds its own with `world.iamNames(...)`.
 */
export const IAM_NAMES = Object.freeze({
  Account: MOTO_ACCOUNT,
  Region: REGION,
  Cluster: ['runners'],
  Family: ['gh-runner', 'gh-runner-sidecar'],
  ExecutionRole: ['ecs-runner-execution'],
  TaskRole: ['ecs-runner-task'],
  LogGroup: ['/ecs-runner'],
});

/**
 * One world for a describe block: started before its tests, made fresh
 * before each (then `fresh(world)` runs, for a file's own setup), checked
 * after each for contract violations (`assertContracts`) and for requests
 * real IAM would deny (`assertIam`), closed after. `set` receives it once
 * started.
 */
export function useWorld(set, { fresh = null, ...options } = {}) {
  let world;
  before(async () => {
    world = await startWorld(options);
    set(world);
  });
  after(() => world?.close());
  beforeEach(async () => {
    await world.fresh();
    if (fresh) await fresh(world);
  });
  afterEach(() => world?.assertAfterTest());
}

/**
 * Inputs of a Fargate start in the seeded world, by subnet and security
 * group ids; `extra` adds or overrides.
 */
export function startInputs(world, extra = {}) {
  return {
    token: world.pat,
    name: 'gh-runner',
    cluster: 'runners',
    'task-definition': 'gh-runner',
    'launch-type': 'FARGATE',
    subnets: world.seeds.network.subnets.join(','),
    'security-groups': world.seeds.network.securityGroups.join(','),
    ...extra,
  };
}

export async function startWorld({ onlineAfterMs = null, iam = {}, region = REGION } = {}) {
  const pat = fakePat();
  const moto = await startMoto({
    region,
    credentials: { [FAKE_AWS.accessKeyId]: FAKE_AWS.secretAccessKey },
  });
  let gh;
  try {
    gh = await startFakeGitHub({ token: pat, repos: [REPOSITORY], orgs: [ORG], onlineAfterMs });
  } catch (error) {
    await moto.stop();
    throw error;
  }
  return new World(moto, gh, pat, { iam, region });
}

export class World {
  /**
   * `iam`: names over IAM_NAMES for the launcher policies (see `iamNames`);
   * `region`: moto's, and the action's AWS_REGION (default REGION).
   */
  constructor(moto, gh, pat, { iam = {}, region = REGION } = {}) {
    this.moto = moto;
    this.gh = gh;
    this.pat = pat;
    this.region = region;
    this.fileIamNames = { ...IAM_NAMES, Region: region, ...iam };
    this.iamCalls = [];
    this.iamReset();
    // Every call the proxy records, whatever a test does to its `requests`,
    // with the policies in force when it was sent.
    moto.proxy?.onRecord?.((call) => {
      call.iamPolicies ??= this.iamPolicies();
      this.iamCalls.push(call);
    });
  }

  /**
   * Fresh moto (see Moto.freshWorld) and an empty fake GitHub, no contract
   * violations recorded, nothing yet for the IAM check; returns the seeds.
   */
  async fresh(options) {
    this.gh.clear();
    this.moto.proxy.clearViolations();
    this.seeds = await this.moto.freshWorld(options);
    this.iamReset();
    return this.seeds;
  }

  // --- IAM: every request held against the launcher policies ---------------

  /** Forget the calls seen and this test's own names and policies. */
  iamReset() {
    this.iamCalls.length = 0;
    this.testIamNames = {};
    this.testIamPolicies = null;
  }

  /**
   * Adds names (as IAM_NAMES: {Cluster: 'other'}, a string or a list) the
   * launcher policies are narrowed to, for this test: what a user who runs
   * the test's scene would put in the policy.
   */
  iamNames(extra) {
    for (const [k, v] of Object.entries(extra)) {
      this.testIamNames[k] = [...new Set([...[this.testIamNames[k] ?? []].flat(), ...[v].flat()])];
    }
  }

  /** The policies in force now: this test's own (`useIamPolicies`), else the two launcher policies for the names. */
  iamPolicies() {
    if (this.testIamPolicies) return this.testIamPolicies;
    const names = { ...this.fileIamNames };
    for (const [k, v] of Object.entries(this.testIamNames)) names[k] = [...new Set([...[names[k]].flat(), ...v])];
    return launcherPoliciesFor(names);
  }

  /** From now on in this test, calls are held against `policies` ([{name, policy}]) instead. */
  useIamPolicies(policies) {
    this.testIamPolicies = policies;
  }

  /** Every authorization of this test's calls, evaluated (iam-eval.mjs `verdicts`). */
  async iamVerdicts() {
    return verdicts(this.iamCalls, { policies: this.iamPolicies(), account: MOTO_ACCOUNT, region: this.region });
  }

  /** Throws, listing them, if a policy denies an authorization a call of this test needed. */
  async assertIam() {
    const denied = (await this.iamVerdicts()).filter((v) => !v.allowed);
    if (denied.length === 0) return;
    const lines = [...new Set(denied.map(describeDenial))];
    throw new Error(`real IAM would deny requests of this test (${lines.length}):\n${lines.map((l) => `  - ${l}`).join('\n')}`);
  }

  /** After a test: the contracts and IAM, both, every failure in one error. */
  async assertAfterTest() {
    const failures = [];
    try {
      this.assertContracts();
    } catch (error) {
      failures.push(error.message);
    }
    try {
      await this.assertIam();
    } catch (error) {
      failures.push(error.message);
    }
    if (failures.length > 0) throw new Error(failures.join('\n\n'));
  }

  /**
   * The contract violations since `fresh()`, one line each: `AWS ...` from
   * the proxy (aws-proxy.mjs), `GitHub ...` from the fake GitHub.
   */
  contractViolations() {
    // The fake GitHub's `violations` became a method with its OpenAPI checks.
    const github = typeof this.gh.violations === 'function' ? this.gh.violations() : [];
    return [...this.moto.proxy.violations().map((v) => `AWS ${v}`), ...github.map((v) => `GitHub ${v}`)];
  }

  /** Throws, listing them, if there were contract violations since `fresh()`. */
  assertContracts() {
    const found = this.contractViolations();
    if (found.length === 0) return;
    throw new Error(
      `the requests of this test broke the API contract (${found.length}):\n${found.map((v) => `  - ${v}`).join('\n')}`,
    );
  }

  /** Runs the action against these servers; `context` overrides the job's GITHUB_* values. */
  async run({ inputs = {}, env = {}, context = {}, ...rest } = {}) {
    this.context = jobContext({ GITHUB_REPOSITORY: REPOSITORY, ...context });
    return runAction({
      inputs,
      env,
      context: this.context,
      aws: { region: this.region, endpoint: this.moto.endpoint },
      github: this.gh,
      ...rest,
    });
  }

  /** Every secret a run may have held: PAT, AWS secret and session token, all issued by GitHub. */
  secrets() {
    return [this.pat, FAKE_AWS.secretAccessKey, FAKE_AWS.sessionToken, ...this.gh.secrets()];
  }

  async close() {
    await Promise.allSettled([this.gh.close(), this.moto.stop()]);
  }
}
