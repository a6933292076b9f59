import type { Action, Event, HttpRequest, HttpResponse, Level, Next } from "./protocol";

/** The core's state machine (WasmMachine, or a fake in tests). */
export interface Machine {
  step(nowMs: number, event: Event): Action;
}

/**
 * Everything the loop does to the outside world, injected so that tests can
 * drive it without wasm, network, timers or a GitHub runner.
 */
export interface Dependencies {
  machine: Machine;
  /** Performs one request; never rejects (errors come back as status 0). */
  send(request: HttpRequest, cancel: AbortSignal): Promise<HttpResponse>;
  /** Waits `ms`, or less when `cancel` aborts. */
  sleep(ms: number, cancel: AbortSignal): Promise<void>;
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Masks a value in everything printed after (core.setSecret). */
  setSecret(secret: string): void;
  /** Prints one line at a level (core.debug, core.info, ...). */
  log(level: Level, message: string): void;
  setOutput(name: string, value: string): void;
  /** Appends Markdown to the step summary. */
  appendSummary(markdown: string): Promise<void>;
  /** Marks the step failed (core.setFailed: exit code 1). */
  setFailed(message: string): void;
  /**
   * Aborted, with the signal's name as reason, when the run is cancelled
   * (signals.ts).
   */
  cancel: AbortSignal;
}

/** Never aborts: what requests and sleeps get once the core knows of the cancel. */
const NEVER = new AbortController().signal;

/**
 * Runs the machine to the end: feeds it events, performs what it asks.
 * Resolves with how it ended; throws only what a dependency or the machine
 * throws.
 */
export async function drive(deps: Dependencies): Promise<"done" | "failed"> {
  let event: Event = { type: "start" };
  // Set once the core has been told: from then on it is cleaning up, and
  // its requests and sleeps must run to the end, whatever signal follows.
  let cancelled = false;
  for (;;) {
    const action = deps.machine.step(deps.now(), event);
    // Before any log line: a line of this very action may carry a secret.
    for (const secret of action.secrets) deps.setSecret(secret);
    for (const line of action.logs) deps.log(line.level, line.message);

    const next = action.next;
    if (next.kind === "done" || next.kind === "failed") {
      await finish(deps, next);
      return next.kind;
    }
    const cancel = cancelled ? NEVER : deps.cancel;
    const performed = cancel.aborted ? undefined : await perform(deps, next, cancel);
    if (performed !== undefined && !cancel.aborted) {
      event = performed;
    } else {
      // Whatever was performed is dropped (protocol.rs, Event::Cancel).
      event = { type: "cancel", signal: String(cancel.reason) };
      cancelled = true;
    }
  }
}

/** The event that reports `next` done; undefined when `cancel` aborted first. */
async function perform(
  deps: Dependencies,
  next: Extract<Next, { kind: "send" | "sleep" }>,
  cancel: AbortSignal,
): Promise<Event | undefined> {
  switch (next.kind) {
    case "send": {
      // All at once: the protocol lets the core ask for several independent
      // requests in one step (today it asks for one at a time).
      const answers = Promise.all(next.requests.map((request) => deps.send(request, cancel)));
      const responses = await untilAborted(answers, cancel);
      return responses === undefined ? undefined : { type: "responses", responses };
    }
    case "sleep": {
      const slept = await untilAborted(deps.sleep(next.ms, cancel).then(() => true), cancel);
      return slept === undefined ? undefined : { type: "woke" };
    }
  }
}

async function finish(
  deps: Dependencies,
  next: Extract<Next, { kind: "done" | "failed" }>,
): Promise<void> {
  for (const [name, value] of Object.entries(next.outputs)) deps.setOutput(name, value);
  if (next.summary !== "") await deps.appendSummary(next.summary);
  if (next.kind === "failed") deps.setFailed(next.message);
}

/**
 * `work`'s result, or undefined as soon as `signal` aborts: a cancel must not
 * wait for a request or sleep that ignores its signal.
 */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal === NEVER) return work;
  // Once abandoned, a late rejection must not crash the process as unhandled.
  work.catch(() => undefined);
  let onAbort = (): void => {};
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
