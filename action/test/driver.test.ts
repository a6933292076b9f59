import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";

import { drive } from "../src/driver";
import type { HttpRequest, HttpResponse } from "../src/protocol";
import { watchSignals } from "../src/signals";
import { ScriptedMachine, action, done, fakeDeps, request, tick } from "./fakes";

test("masks every secret of an action before printing any of its lines", async () => {
  const machine = new ScriptedMachine([
    action(
      { kind: "sleep", ms: 5 },
      {
        secrets: ["pat-1", "jit-2"],
        logs: [
          { level: "info", message: "token pat-1" },
          { level: "debug", message: "jit jit-2" },
        ],
      },
    ),
    action(done(), {
      // A secret first seen in a later action is masked before that
      // action's lines, not hoisted to the start.
      secrets: ["key-3"],
      logs: [
        { level: "notice", message: "n" },
        { level: "warning", message: "w" },
        { level: "error", message: "e key-3" },
      ],
    }),
  ]);
  const { deps, calls } = fakeDeps(machine);

  assert.equal(await drive(deps), "done");

  assert.deepEqual(calls, [
    "secret:pat-1",
    "secret:jit-2",
    "info:token pat-1",
    "debug:jit jit-2",
    "sleep:5",
    "secret:key-3",
    "notice:n",
    "warning:w",
    "error:e key-3",
  ]);
});

test("sends all requests of a step at once and answers them in one event, in order", async () => {
  const requests = [request(1), request(2), request(3)];
  const machine = new ScriptedMachine([
    action({ kind: "send", requests }),
    action(done()),
  ]);
  let inFlight = 0;
  let most = 0;
  const { deps } = fakeDeps(machine, {
    send: async (r: HttpRequest): Promise<HttpResponse> => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      // The last request finishes first: answers must still line up by id.
      for (let i = 0; i < 4 - r.id; i++) await tick();
      inFlight -= 1;
      return { id: r.id, status: 200 + r.id, headers: {}, body: "" };
    },
  });

  await drive(deps);

  assert.equal(most, 3, "requests were not in flight together");
  assert.deepEqual(machine.events, [
    { type: "start" },
    {
      type: "responses",
      responses: [
        { id: 1, status: 201, headers: {}, body: "" },
        { id: 2, status: 202, headers: {}, body: "" },
        { id: 3, status: 203, headers: {}, body: "" },
      ],
    },
  ]);
});

test("feeds a transport error back unchanged for the core to judge", async () => {
  const machine = new ScriptedMachine([
    action({ kind: "send", requests: [request(7)] }),
    action(done()),
  ]);
  const refused: HttpResponse = { id: 7, status: 0, error: "fetch failed: connect ECONNREFUSED" };
  const { deps } = fakeDeps(machine, { send: async () => refused });

  await drive(deps);

  assert.deepEqual(machine.events[1], { type: "responses", responses: [refused] });
});

test("an empty send is answered with an empty responses event", async () => {
  const machine = new ScriptedMachine([action({ kind: "send", requests: [] }), action(done())]);
  const { deps } = fakeDeps(machine);
  await drive(deps);
  assert.deepEqual(machine.events[1], { type: "responses", responses: [] });
});

test("sleeps as long as asked, then feeds woke with the clock's new time", async () => {
  const machine = new ScriptedMachine([
    action({ kind: "sleep", ms: 6000 }),
    action({ kind: "sleep", ms: 250 }),
    action(done()),
  ]);
  let clock = 1000;
  const slept: number[] = [];
  const { deps } = fakeDeps(machine, {
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
  });

  await drive(deps);

  assert.deepEqual(slept, [6000, 250]);
  assert.deepEqual(machine.events, [{ type: "start" }, { type: "woke" }, { type: "woke" }]);
  assert.deepEqual(machine.times, [1000, 7000, 7250]);
});

test("done: sets every output and appends the summary, and does not fail", async () => {
  const machine = new ScriptedMachine([
    action(done({ runner_id: "r-1", task_arn: "arn:x" }, "## Runner\nstarted")),
  ]);
  const { deps, calls } = fakeDeps(machine);

  assert.equal(await drive(deps), "done");

  assert.deepEqual(calls, [
    "output:runner_id=r-1",
    "output:task_arn=arn:x",
    "summary:## Runner\nstarted",
  ]);
});

test("failed: sets the outputs, appends the summary, then fails with the message", async () => {
  const machine = new ScriptedMachine([
    action({ kind: "failed", message: "RunTask: RESOURCE:ENI", outputs: { runner_id: "r-1" }, summary: "s" }),
  ]);
  const { deps, calls } = fakeDeps(machine);

  assert.equal(await drive(deps), "failed");

  assert.deepEqual(calls, ["output:runner_id=r-1", "summary:s", "failed:RunTask: RESOURCE:ENI"]);
});

test("an empty summary is not appended", async () => {
  const machine = new ScriptedMachine([
    action({ kind: "failed", message: "m", outputs: {}, summary: "" }),
  ]);
  const { deps, calls } = fakeDeps(machine);
  await drive(deps);
  assert.deepEqual(calls, ["failed:m"]);
});

test("SIGINT during a sleep: the core hears cancel next and the cleanup runs to the end", async () => {
  const process = new EventEmitter();
  const signals = watchSignals(process);
  const machine = new ScriptedMachine([
    action({ kind: "sleep", ms: 60_000 }),
    // The core cleans up: a StopTask, a sleep, then it is done.
    action({ kind: "send", requests: [request(1)] }),
    action({ kind: "sleep", ms: 10 }),
    action(done({ runner_id: "r-1" })),
  ]);
  const sleeps: string[] = [];
  const { deps, calls } = fakeDeps(machine, {
    cancel: signals.cancel,
    sleep: (ms, cancel) =>
      new Promise<void>((resolve) => {
        sleeps.push(`${ms} aborted=${cancel.aborted}`);
        if (ms === 60_000) {
          // The first sleep waits for the signal, like the real one.
          cancel.addEventListener("abort", () => resolve());
          process.emit("SIGINT", "SIGINT");
        } else {
          // GitHub's SIGTERM follows during the cleanup: ignored.
          process.emit("SIGTERM", "SIGTERM");
          resolve();
        }
      }),
    send: async (r, cancel) => {
      // Cleanup requests must not inherit the aborted signal.
      assert.equal(cancel.aborted, false);
      return { id: r.id, status: 200, headers: {}, body: "stopped" };
    },
  });

  assert.equal(await drive(deps), "done");
  signals.dispose();

  assert.deepEqual(machine.events, [
    { type: "start" },
    { type: "cancel", signal: "SIGINT" },
    { type: "responses", responses: [{ id: 1, status: 200, headers: {}, body: "stopped" }] },
    { type: "woke" },
  ]);
  assert.deepEqual(sleeps, ["60000 aborted=false", "10 aborted=false"]);
  assert.deepEqual(calls, ["output:runner_id=r-1"]);
});

test("a cancel during a send drops the answers, even from a transport that ignores it", async () => {
  const controller = new AbortController();
  const machine = new ScriptedMachine([
    action({ kind: "send", requests: [request(1), request(2)] }),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, {
    cancel: controller.signal,
    send: (r) => {
      if (r.id === 2) setImmediate(() => controller.abort("SIGTERM"));
      return new Promise<HttpResponse>(() => {}); // never answers
    },
  });

  assert.equal(await drive(deps), "done");

  assert.deepEqual(machine.events, [{ type: "start" }, { type: "cancel", signal: "SIGTERM" }]);
});

test("a cancel that came before the first step is fed instead of performing anything", async () => {
  const controller = new AbortController();
  controller.abort("SIGINT");
  const machine = new ScriptedMachine([
    action({ kind: "send", requests: [request(1)] }),
    action({ kind: "failed", message: "cancelled", outputs: {}, summary: "" }),
  ]);
  const { deps, calls } = fakeDeps(machine, { cancel: controller.signal });

  assert.equal(await drive(deps), "failed");

  assert.deepEqual(machine.events, [{ type: "start" }, { type: "cancel", signal: "SIGINT" }]);
  assert.deepEqual(calls, ["failed:cancelled"], "the request was sent anyway");
});

test("an error thrown by the machine ends the loop with that error", async () => {
  const machine = new ScriptedMachine([action({ kind: "sleep", ms: 1 })]);
  const { deps } = fakeDeps(machine);
  // The scripted machine throws once its script is used up.
  await assert.rejects(drive(deps), /no scripted action left/);
});
