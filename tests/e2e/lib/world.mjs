// The servers one test file shares: moto (+ recording proxy) and the fake
// GitHub, started once per file and made fresh for every test. After each
// test, the requests the action sent must have kept the API contracts: the
// AWS service models (aws-contract.mjs, via the proxy) and GitHub's OpenAPI
// description (github.mjs); any violation fails that test.

import crypto from 'node:crypto';
import { before, after, beforeEach, afterEach } from 'node:test';
import { startMoto } from './moto.mjs';
import { startFakeGitHub } from './github.mjs';
import { FAKE_AWS, runAction, jobContext } from './action.mjs';

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
 * One world for a describe block: started before its tests, made fresh
 * before each (then `fresh(world)` runs, for a file's own setup), checked
 * for contract violations after each (`assertContracts`), closed after.
 * `set` receives it once started.
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
  afterEach(() => world?.assertContracts());
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

export async function startWorld({ onlineAfterMs = null } = {}) {
  const pat = fakePat();
  const moto = await startMoto({
    region: REGION,
    credentials: { [FAKE_AWS.accessKeyId]: FAKE_AWS.secretAccessKey },
  });
  let gh;
  try {
    gh = await startFakeGitHub({ token: pat, repos: [REPOSITORY], orgs: [ORG], onlineAfterMs });
  } catch (error) {
    await moto.stop();
    throw error;
  }
  return new World(moto, gh, pat);
}

export class World {
  constructor(moto, gh, pat) {
    this.moto = moto;
    this.gh = gh;
    this.pat = pat;
  }

  /**
   * Fresh moto (see Moto.freshWorld) and an empty fake GitHub, no contract
   * violations recorded; returns the seeds.
   */
  async fresh(options) {
    this.gh.clear();
    this.moto.proxy.clearViolations();
    this.seeds = await this.moto.freshWorld(options);
    return this.seeds;
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
      aws: { region: REGION, endpoint: this.moto.endpoint },
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
