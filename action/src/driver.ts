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
 * Requests run concurrently and stay in flight across steps; each answer is
 * handed to the core as it arrives (with any others that arrived meanwhile),
 * and the core's `wake_ms` is a timer that the next action replaces.
 * Resolves with how it ended; throws only what a dependency or the machine
 * throws.
 */
export async function drive(deps: Dependencies): Promise<"done" | "failed"> {
  let event: Event = { type: "start" };
  // Set once the core has been told: from then on it is cleaning up, and
  // its requests and timers must run to the end, whatever signal follows.
  let cancelled = false;
  const flight = new Flight(deps);
  for (;;) {
    const action = deps.machine.step(deps.now(), event);
    // Before any log line: a line of this very action may carry a secret.
    for (const secret of action.secrets) deps.setSecret(secret);
    for (const line of action.logs) deps.log(line.level, line.message);

    const next = action.next;
    if (next.kind === "done" || next.kind === "failed") {
      flight.abandon();
      await finish(deps, next);
      return next.kind;
    }
    const cancel = cancelled ? NEVER : deps.cancel;
    // A cancel the core has not heard of yet (one that came before the first
    // step): start nothing, tell it first.
    if (!cancel.aborted) for (const request of next.requests) flight.start(request);
    const happened = await flight.next(next.wake_ms, cancel);
    if (happened === "cancel") {
      // The answers still owed are dropped (protocol.rs, Event::Cancel).
      flight.abandon();
      event = { type: "cancel", signal: String(deps.cancel.reason) };
      cancelled = true;
    } else if (happened === "woke") {
      event = { type: "woke" };
    } else {
      event = { type: "responses", responses: happened };
    }
  }
}

/**
 * The requests in flight and the answers that arrived and are not yet
 * handed to the core.
 */
class Flight {
  private readonly arrived: HttpResponse[] = [];
  /** Requests started in this generation; abandon() starts a new one. */
  private inFlight = 0;
  private generation = 0;
  /** Aborts this generation's requests (the run ended, or a cancel). */
  private stopAll = new AbortController();
  /** Wakes the current next() when an answer arrives. */
  private notify: (() => void) | undefined;

  constructor(private readonly deps: Dependencies) {}

  start(request: HttpRequest): void {
    const generation = this.generation;
    this.inFlight += 1;
    // send never rejects (transport.ts); a dependency that does is a bug,
    // reported as an answer with status 0 rather than a lost request.
    // Aborted by abandon(), which drive calls at once on a cancel (not
    // AbortSignal.any with the cancel: Node 20.3+, and @types/node 20.9
    // does not declare it).
    this.deps
      .send(request, this.stopAll.signal)
      .catch((error: unknown) => ({ id: request.id, status: 0, error: String(error) }))
      .then((response) => {
        if (generation !== this.generation) return;
        this.inFlight -= 1;
        this.arrived.push(response);
        this.notify?.();
      });
  }

  /** Drops every request in flight: their answers are never delivered. */
  abandon(): void {
    this.stopAll.abort(new Error("abandoned"));
    this.stopAll = new AbortController();
    this.generation += 1;
    this.inFlight = 0;
    this.arrived.length = 0;
  }

  /**
   * The answers that have arrived, as soon as there is at least one;
   * "woke" when `wakeMs` passes first; "cancel" when `cancel` aborts.
   */
  async next(wakeMs: number | null, cancel: AbortSignal): Promise<HttpResponse[] | "woke" | "cancel"> {
    if (cancel.aborted) return "cancel";
    if (this.arrived.length > 0) return this.arrived.splice(0);
    if (this.inFlight === 0 && wakeMs === null) {
      throw new Error("the core waits for nothing: no request in flight and no wake time");
    }
    const stop = new AbortController();
    const woke = wakeMs === null ? new Promise<never>(() => {}) : this.deps.sleep(wakeMs, stop.signal).then(() => "woke" as const);
    const answered = new Promise<"answered">((resolve) => {
      this.notify = () => resolve("answered");
    });
    let onAbort = (): void => {};
    const aborted = new Promise<"cancel">((resolve) => {
      onAbort = () => resolve("cancel");
      cancel.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const first = await Promise.race([answered, woke, aborted]);
      if (first === "cancel" || cancel.aborted) return "cancel";
      // An answer that arrived while the timer fired still goes first.
      if (this.arrived.length > 0) return this.arrived.splice(0);
      return "woke";
    } finally {
      this.notify = undefined;
      stop.abort();
      cancel.removeEventListener("abort", onAbort);
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
