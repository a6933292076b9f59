import * as core from "@actions/core";

import { drive } from "./driver";
import { errorMessage } from "./errors";
import { readConfig } from "./inputs";
import type { Level } from "./protocol";
import { watchSignals } from "./signals";
import { sleep } from "./sleep";
import { send } from "./transport";

/** Where each log level goes; the names match, the map keeps TS honest. */
const LOG: Record<Level, (message: string) => void> = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  notice: (m) => core.notice(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
  group: (m) => core.startGroup(m),
  endgroup: () => core.endGroup(),
};

/**
 * Runs the action: hands the inputs and environment to the core and performs
 * what it asks until it is done. The exit code is 0, or 1 after setFailed.
 */
export async function run(): Promise<void> {
  // First, so that a cancel while the wasm loads is not lost.
  const signals = watchSignals();
  try {
    // Loaded here rather than imported at the top so that a missing or
    // broken .wasm fails the step like any other error, with a message.
    const wasm = await import("../../build/wasm/ecs_runner_core");
    const machine = new wasm.WasmMachine(readConfig(wasm.input_names()));
    await drive({
      machine,
      send,
      sleep,
      now: Date.now,
      setSecret: core.setSecret,
      // A level this shell does not know (a newer core) is still printed.
      log: (level, message) => (LOG[level] ?? core.info)(message),
      setOutput: core.setOutput,
      appendSummary: async (markdown) => {
        // Unset outside a GitHub runner (e.g. `node dist/index.js` locally).
        if (process.env["GITHUB_STEP_SUMMARY"]) await core.summary.addRaw(markdown, true).write();
      },
      setFailed: core.setFailed,
      cancel: signals.cancel,
    });
  } catch (error) {
    // A bug, not a failure the core foresaw (those arrive as Next::Failed):
    // e.g. a panic in the core, or a dependency that threw.
    core.setFailed(`ecs-runner internal error: ${errorMessage(error)}`);
  } finally {
    signals.dispose();
  }
}
