// The servers one test file shares: moto (+ recording proxy) and the fake
// GitHub, started once per file and made fresh for every test.

import crypto from 'node:crypto';
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

  /** Fresh moto (see Moto.freshWorld) and an empty fake GitHub; returns the seeds. */
  async fresh(options) {
    this.gh.clear();
    this.seeds = await this.moto.freshWorld(options);
    return this.seeds;
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
