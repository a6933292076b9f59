// The real core, as built by `scripts/build.sh wasm`: what crosses the
// boundary has the shapes the shell's types promise.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";

import type * as Core from "../../build/wasm/ecs_runner_core";
import { readConfig } from "../src/inputs";

// Loaded at run time, not bundled: the glue reads its .wasm from its own
// directory. This file runs from build/test (bundle.mjs).
const glue = path.resolve(__dirname, "../wasm/ecs_runner_core.js");
const core = createRequire(__filename)(glue) as typeof Core;

/** A plain object, as JSON and Object.entries see it (not a Map). */
function assertPlainObject(value: unknown, what: string): void {
  assert.equal(Object.getPrototypeOf(value), Object.prototype, `${what} is not a plain object`);
}

test("input_names() is a plain array of the action's input names", () => {
  const names = core.input_names();
  assert.ok(Array.isArray(names));
  assert.ok(names.every((name) => typeof name === "string" && name !== ""));
  assert.ok(names.includes("mode") && names.includes("token"));
  assert.equal(new Set(names).size, names.length);
});

test("version() is the crate's", () => {
  assert.match(core.version(), /^\d+\.\d+\.\d+/);
});

test("a step answers a well-formed Action of plain objects", () => {
  const machine = new core.WasmMachine(readConfig(core.input_names(), {}, () => ""));
  const action = machine.step(Date.now(), { type: "start" });

  assertPlainObject(action, "action");
  assert.ok(Array.isArray(action.secrets));
  assert.ok(Array.isArray(action.logs));
  for (const log of action.logs) {
    assert.ok(["debug", "info", "notice", "warning", "error"].includes(log.level));
    assert.equal(typeof log.message, "string");
  }
  assertPlainObject(action.next, "next");
  // Without configuration the core cannot start anything; whatever it
  // answers, its maps must be plain objects.
  const next = action.next;
  switch (next.kind) {
    case "done":
    case "failed":
      assertPlainObject(next.outputs, "outputs");
      assert.equal(typeof next.summary, "string");
      break;
    case "wait":
      assert.ok(Array.isArray(next.requests));
      for (const request of next.requests) assertPlainObject(request.headers, "headers");
      // null, not undefined (which JSON would drop), when there is no wake time.
      assert.ok(next.wake_ms === null || typeof next.wake_ms === "number", `wake_ms: ${next.wake_ms}`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(action)), action, "does not survive JSON");
});

test("the core accepts every event the shell makes, transport errors included", () => {
  const events: Core.Event[] = [
    { type: "start" },
    // What transport.ts answers on a refused connection: no headers or body.
    {
      type: "responses",
      responses: [
        { id: 1, status: 0, error: "fetch failed: connect ECONNREFUSED 127.0.0.1:9" },
        { id: 2, status: 204, headers: { "x-amzn-requestid": "r" }, body: "" },
      ],
    },
    { type: "woke" },
    { type: "cancel", signal: "SIGINT" },
  ];
  for (const event of events) {
    // A fresh machine each: only the conversion is under test here, not what
    // the machine makes of an event out of turn.
    const machine = new core.WasmMachine(readConfig(core.input_names(), {}, () => ""));
    try {
      machine.step(Date.now(), event);
    } catch (error) {
      assert.doesNotMatch(String(error), /invalid Event/, JSON.stringify(event));
    }
  }
});

test("a value of the wrong shape is a JS Error that names the problem", () => {
  assert.throws(
    () => new core.WasmMachine({} as Core.Config),
    (error: unknown) =>
      error instanceof Error && /^ecs-runner: invalid Config: .*missing field/.test(error.message),
  );
  const machine = new core.WasmMachine(readConfig([], {}, () => ""));
  assert.throws(
    () => machine.step(0, { type: "jump" } as unknown as Core.Event),
    (error: unknown) =>
      error instanceof Error && /^ecs-runner: invalid Event: .*jump/.test(error.message),
  );
});
