import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";

import { watchSignals } from "../src/signals";
import { sleep } from "../src/sleep";

test("the first SIGINT or SIGTERM cancels, named; later ones change nothing", () => {
  const process = new EventEmitter();
  const { cancel, dispose } = watchSignals(process);
  assert.equal(cancel.aborted, false);

  process.emit("SIGTERM", "SIGTERM");
  process.emit("SIGINT", "SIGINT");

  assert.equal(cancel.aborted, true);
  assert.equal(cancel.reason, "SIGTERM");
  dispose();
});

test("signals stay handled until dispose, so Node does not exit mid-cleanup", () => {
  const process = new EventEmitter();
  const { dispose } = watchSignals(process);
  process.emit("SIGINT", "SIGINT");
  // Node's default action (exit) applies only while a signal has no listener.
  assert.equal(process.listenerCount("SIGINT"), 1);
  assert.equal(process.listenerCount("SIGTERM"), 1);

  dispose();

  assert.equal(process.listenerCount("SIGINT"), 0);
  assert.equal(process.listenerCount("SIGTERM"), 0);
});

test("sleep waits the time asked", async () => {
  const start = performance.now();
  await sleep(50, new AbortController().signal);
  // Timers may fire a little early in Node's clock granularity.
  assert.ok(performance.now() - start >= 45);
});

test("sleep ends as soon as the cancel signal aborts", async () => {
  const controller = new AbortController();
  const start = performance.now();
  setTimeout(() => controller.abort("SIGINT"), 10);
  await sleep(60_000, controller.signal);
  assert.ok(performance.now() - start < 5_000);
});

test("sleep on an already aborted signal returns at once", async () => {
  const controller = new AbortController();
  controller.abort("SIGINT");
  const start = performance.now();
  await sleep(60_000, controller.signal);
  assert.ok(performance.now() - start < 5_000);
});
