import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";

import { drive } from "../src/driver";
import type { Event, HttpResponse, Next } from "../src/protocol";
import { watchSignals } from "../src/signals";
import {
  ManualTimers,
  ManualTransport,
  ScriptedMachine,
  action,
  done,
  fakeDeps,
  request,
  tick,
  wait,
} from "./fakes";

/** What ManualTransport answers by default for request `id`. */
const ok = (id: number): HttpResponse => ({ id, status: 200, headers: {}, body: `http://127.0.0.1/${id}` });

/** The ids of a responses event's answers, sorted: their order is free (protocol.rs). */
function answeredIds(event: Event | undefined): number[] {
  assert.equal(event?.type, "responses", `not a responses event: ${JSON.stringify(event)}`);
  return event.responses.map((r) => r.id).sort((a, b) => a - b);
}

test("masks every secret of an action before printing any of its lines", async () => {
  const machine = new ScriptedMachine([
    action(wait([], 5), {
      secrets: ["pat-1", "jit-2"],
      logs: [
        { level: "info", message: "token pat-1" },
        { level: "debug", message: "jit jit-2" },
      ],
    }),
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

test("starts every request of an action together, without waiting for an answer", async () => {
  const transport = new ManualTransport();
  const machine = new ScriptedMachine([
    action(wait([request(1), request(2), request(3)])),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send });

  const running = drive(deps);
  await tick();

  assert.deepEqual(transport.ids, [1, 2, 3]);
  assert.deepEqual(machine.events, [{ type: "start" }], "stepped before any answer");
  assert.ok(transport.sent.every((s) => !s.signal.aborted));

  transport.answer(3);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events, [{ type: "start" }, { type: "responses", responses: [ok(3)] }]);
});

test("answers that arrive at different times are delivered as they arrive, one event each", async () => {
  const transport = new ManualTransport();
  const machine = new ScriptedMachine([
    action(wait([request(1), request(2), request(3)])),
    action(wait([])),
    action(wait([])),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send });

  const running = drive(deps);
  await tick();
  transport.answer(2, { status: 404, body: "no such task" });
  await tick();
  assert.deepEqual(machine.events, [
    { type: "start" },
    { type: "responses", responses: [{ id: 2, status: 404, headers: {}, body: "no such task" }] },
  ]);

  transport.answer(3);
  await tick();
  assert.deepEqual(machine.events.at(-1), { type: "responses", responses: [ok(3)] });

  transport.answer(1);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events.at(-1), { type: "responses", responses: [ok(1)] });
  assert.equal(machine.events.length, 4);
  assert.deepEqual(transport.ids, [1, 2, 3], "a request was sent again");
});

test("answers that arrive together are delivered in one event", async () => {
  const transport = new ManualTransport();
  const machine = new ScriptedMachine([
    action(wait([request(1), request(2), request(3)])),
    action(wait([])),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send });

  const running = drive(deps);
  await tick();
  transport.answer(3);
  transport.answer(1);
  await tick();
  assert.equal(machine.events.length, 2);
  assert.deepEqual(answeredIds(machine.events[1]), [1, 3]);

  transport.answer(2);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events[2], { type: "responses", responses: [ok(2)] });
});

test("a slow request stays in flight across later steps, beside requests started after it", async () => {
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([
    action(wait([request(1), request(2)])),
    // Request 1 is still out: the core starts 3 and wakes in a second.
    action(wait([request(3)], 1000)),
    action(wait([])),
    action(wait([])),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send, sleep: timers.sleep });

  const running = drive(deps);
  await tick();
  transport.answer(2);
  await tick();
  assert.deepEqual(transport.ids, [1, 2, 3]);
  assert.deepEqual(timers.slept.map((s) => s.ms), [1000]);

  timers.last.fire();
  await tick();
  assert.deepEqual(machine.events.at(-1), { type: "woke" });
  assert.equal(transport.get(1).signal.aborted, false, "the slow request was given up");
  assert.equal(transport.get(3).signal.aborted, false);

  transport.answer(1, { body: "late" });
  await tick();
  assert.deepEqual(machine.events.at(-1), {
    type: "responses",
    responses: [{ id: 1, status: 200, headers: {}, body: "late" }],
  });

  transport.answer(3);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events, [
    { type: "start" },
    { type: "responses", responses: [ok(2)] },
    { type: "woke" },
    { type: "responses", responses: [{ id: 1, status: 200, headers: {}, body: "late" }] },
    { type: "responses", responses: [ok(3)] },
  ]);
});

test("wake_ms passing before any answer feeds woke; the requests stay in flight", async () => {
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([
    action(wait([request(1)], 500)),
    action(wait([])),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send, sleep: timers.sleep });

  const running = drive(deps);
  await tick();
  assert.deepEqual(timers.slept.map((s) => s.ms), [500]);
  assert.deepEqual(machine.events, [{ type: "start" }], "woke before the time passed");

  timers.last.fire();
  await tick();
  assert.deepEqual(machine.events, [{ type: "start" }, { type: "woke" }]);
  assert.equal(transport.get(1).signal.aborted, false);

  transport.answer(1);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events[2], { type: "responses", responses: [ok(1)] });
  assert.equal(timers.slept.length, 1, "a wait without wake_ms started a timer");
});

test("an answer before wake_ms wins: the timer is stopped, and the next wait's replaces it", async () => {
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([
    action(wait([request(1), request(2)], 500)),
    action(wait([])),
    action(wait([], 200)),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send, sleep: timers.sleep });

  const running = drive(deps);
  await tick();
  const first = timers.last;
  assert.equal(first.signal.aborted, false);

  transport.answer(1);
  await tick();
  assert.deepEqual(machine.events, [{ type: "start" }, { type: "responses", responses: [ok(1)] }]);
  assert.equal(first.signal.aborted, true, "the timer of the answered wait still runs");

  // The second wait has no wake_ms: the first's timer, were it to end late,
  // wakes nothing.
  first.fire();
  await tick();
  assert.equal(machine.events.length, 2, "a replaced timer woke the core");

  transport.answer(2);
  await tick();
  assert.deepEqual(machine.events[2], { type: "responses", responses: [ok(2)] });
  assert.deepEqual(timers.slept.map((s) => s.ms), [500, 200]);
  assert.equal(timers.last.signal.aborted, false);

  timers.last.fire();
  assert.equal(await running, "done");
  assert.deepEqual(machine.events[3], { type: "woke" });
});

test("an answer just before wake_ms, in the same turn, still wins over the timer", async () => {
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([
    action(wait([request(1)], 500)),
    action(wait([], 500)),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, { send: transport.send, sleep: timers.sleep });

  const running = drive(deps);
  await tick();
  // The timer's promise settles in fewer hops than the answer's: the
  // driver must still see that the answer came first.
  transport.answer(1);
  timers.last.fire();
  await tick();
  assert.deepEqual(machine.events, [{ type: "start" }, { type: "responses", responses: [ok(1)] }]);

  timers.last.fire();
  assert.equal(await running, "done");
  assert.deepEqual(machine.events[2], { type: "woke" });
});

test("wake_ms null waits for an answer only", async () => {
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([action(wait([request(1)], null)), action(done())]);
  const { deps } = fakeDeps(machine, { send: transport.send, sleep: timers.sleep });

  const running = drive(deps);
  for (let i = 0; i < 3; i++) await tick();
  assert.deepEqual(timers.slept, []);
  assert.deepEqual(machine.events, [{ type: "start" }]);

  transport.answer(1);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events[1], { type: "responses", responses: [ok(1)] });
});

test("feeds a transport error back unchanged for the core to judge", async () => {
  const machine = new ScriptedMachine([action(wait([request(7)])), action(done())]);
  const refused: HttpResponse = { id: 7, status: 0, error: "fetch failed: connect ECONNREFUSED" };
  const { deps } = fakeDeps(machine, { send: async () => refused });

  await drive(deps);

  assert.deepEqual(machine.events[1], { type: "responses", responses: [refused] });
});

test("a send that rejects (a bug) is answered with status 0, not lost", async () => {
  const machine = new ScriptedMachine([action(wait([request(7)])), action(done())]);
  const { deps } = fakeDeps(machine, {
    send: async () => {
      throw new Error("boom");
    },
  });

  await drive(deps);

  assert.deepEqual(machine.events[1], {
    type: "responses",
    responses: [{ id: 7, status: 0, error: "Error: boom" }],
  });
});

test("each step gets the clock's time: after a woke, and after an answer", async () => {
  const machine = new ScriptedMachine([
    action(wait([], 6000)),
    action(wait([], 250)),
    action(wait([request(1)])),
    action(done()),
  ]);
  let clock = 1000;
  const { deps } = fakeDeps(machine, {
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    send: async (r) => {
      clock += 30;
      return ok(r.id);
    },
  });

  await drive(deps);

  assert.deepEqual(machine.events, [
    { type: "start" },
    { type: "woke" },
    { type: "woke" },
    { type: "responses", responses: [ok(1)] },
  ]);
  assert.deepEqual(machine.times, [1000, 7000, 7250, 7280]);
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
  const machine = new ScriptedMachine([action({ kind: "failed", message: "m", outputs: {}, summary: "" })]);
  const { deps, calls } = fakeDeps(machine);
  await drive(deps);
  assert.deepEqual(calls, ["failed:m"]);
});

for (const end of [
  done({ n: "1" }),
  { kind: "failed", message: "gave up", outputs: { n: "1" }, summary: "" } satisfies Next,
]) {
  test(`${end.kind}: requests still in flight are aborted and their answers dropped`, async () => {
    const transport = new ManualTransport();
    const machine = new ScriptedMachine([action(wait([request(1), request(2)])), action(end)]);
    const { deps, calls } = fakeDeps(machine, { send: transport.send });

    const running = drive(deps);
    await tick();
    assert.equal(transport.get(2).signal.aborted, false);
    transport.answer(1);

    assert.equal(await running, end.kind);
    assert.equal(transport.get(2).signal.aborted, true, "left running after the end");
    assert.equal(calls[0], "output:n=1");

    // The transport ignores the abort: its late answer must go nowhere (the
    // scripted machine would throw on another step).
    transport.answer(2);
    await tick();
    assert.equal(machine.events.length, 2);
  });
}

test("a cancel aborts the requests in flight; their late answers are never delivered", async () => {
  const controller = new AbortController();
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([
    action(wait([request(1), request(2)], 60_000)),
    // The core cleans up: it asks again for what it still needs.
    action(wait([request(3)])),
    action(done()),
  ]);
  const { deps } = fakeDeps(machine, {
    send: transport.send,
    sleep: timers.sleep,
    cancel: controller.signal,
  });

  const running = drive(deps);
  await tick();
  controller.abort("SIGTERM");
  await tick();

  assert.deepEqual(machine.events, [{ type: "start" }, { type: "cancel", signal: "SIGTERM" }]);
  assert.equal(transport.get(1).signal.aborted, true);
  assert.equal(transport.get(2).signal.aborted, true);
  assert.equal(timers.slept[0]?.signal.aborted, true, "the timer outlived the cancel");
  // The cleanup's request must not inherit the aborted signal.
  assert.equal(transport.get(3).signal.aborted, false);

  // A transport that ignores the abort answers anyway, and late.
  transport.answer(1);
  transport.answer(2);
  await tick();
  assert.equal(machine.events.length, 2, "an aborted request's answer was delivered");

  transport.answer(3);
  assert.equal(await running, "done");
  assert.deepEqual(machine.events[2], { type: "responses", responses: [ok(3)] });
});

test("SIGINT during a wait: the core hears cancel next, and the cleanup runs to the end past SIGTERM", async () => {
  const process = new EventEmitter();
  const signals = watchSignals(process);
  const transport = new ManualTransport();
  const timers = new ManualTimers();
  const machine = new ScriptedMachine([
    action(wait([], 60_000)),
    // The core cleans up: a StopTask, a pause, then it is done.
    action(wait([request(1)])),
    action(wait([], 10)),
    action(done({ runner_id: "r-1" })),
  ]);
  const { deps, calls } = fakeDeps(machine, {
    cancel: signals.cancel,
    send: transport.send,
    sleep: timers.sleep,
  });

  const running = drive(deps);
  await tick();
  process.emit("SIGINT", "SIGINT");
  await tick();
  assert.deepEqual(machine.events, [{ type: "start" }, { type: "cancel", signal: "SIGINT" }]);
  assert.equal(transport.get(1).signal.aborted, false, "the cleanup request inherited the cancel");

  // GitHub's SIGTERM follows during the cleanup: ignored.
  process.emit("SIGTERM", "SIGTERM");
  await tick();
  assert.equal(transport.get(1).signal.aborted, false);
  assert.equal(machine.events.length, 2);

  transport.answer(1, { body: "stopped" });
  await tick();
  assert.equal(timers.last.ms, 10);
  process.emit("SIGTERM", "SIGTERM");
  await tick();
  assert.equal(timers.last.signal.aborted, false, "the cleanup timer inherited the cancel");
  timers.last.fire();

  assert.equal(await running, "done");
  signals.dispose();

  assert.deepEqual(machine.events, [
    { type: "start" },
    { type: "cancel", signal: "SIGINT" },
    { type: "responses", responses: [{ id: 1, status: 200, headers: {}, body: "stopped" }] },
    { type: "woke" },
  ]);
  assert.deepEqual(calls, ["output:runner_id=r-1"]);
});

test("a cancel that came before the first step is fed instead of performing anything", async () => {
  const controller = new AbortController();
  controller.abort("SIGINT");
  const machine = new ScriptedMachine([
    action(wait([request(1)], 100)),
    action({ kind: "failed", message: "cancelled", outputs: {}, summary: "" }),
  ]);
  const { deps, calls } = fakeDeps(machine, { cancel: controller.signal });

  assert.equal(await drive(deps), "failed");

  assert.deepEqual(machine.events, [{ type: "start" }, { type: "cancel", signal: "SIGINT" }]);
  assert.deepEqual(calls, ["failed:cancelled"], "the request was sent or the timer started anyway");
});

test("a wait with nothing in flight and no wake_ms is a core bug: the driver throws", async () => {
  const empty = new ScriptedMachine([action(wait([]))]);
  await assert.rejects(drive(fakeDeps(empty).deps), /waits for nothing/);

  // Nothing is in flight any more once its answer was delivered.
  const answered = new ScriptedMachine([action(wait([request(1)])), action(wait([]))]);
  await assert.rejects(drive(fakeDeps(answered).deps), /waits for nothing/);
  assert.deepEqual(answered.events[1], { type: "responses", responses: [ok(1)] });
});

test("an error thrown by the machine ends the loop with that error", async () => {
  const machine = new ScriptedMachine([action(wait([], 1))]);
  const { deps } = fakeDeps(machine);
  // The scripted machine throws once its script is used up.
  await assert.rejects(drive(deps), /no scripted action left/);
});
