import { randomBytes } from "node:crypto";

import * as core from "@actions/core";

import type { Config } from "./protocol";

/**
 * The Config the core starts from. This is the only place that reads the
 * action's inputs; the core validates them (and the environment) itself, so
 * nothing is checked or defaulted here.
 *
 * @param names every input of action.yaml, from the core's `input_names()`
 * @param env the process environment
 * @param getInput `core.getInput` (trimmed, "" when not given)
 */
export function readConfig(
  names: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  getInput: (name: string) => string = core.getInput,
): Config {
  const inputs: Record<string, string> = {};
  for (const name of names) inputs[name] = getInput(name);
  return {
    inputs,
    env: stringsOnly(env),
    // Makes the runner name unique; Config asks for at least 16 bytes from
    // a cryptographic source.
    random: randomBytes(16).toString("hex"),
  };
}

/** process.env's type allows undefined values; the core takes strings. */
function stringsOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string") out[name] = value;
  }
  return out;
}
