// Test doubles for the driver's dependencies: a scripted machine, a recorder
// of everything the driver does to the outside world, and a transport and
// timers that answer and fire only when the test says, so that tests order
// events without depending on real time.
import type { Dependencies, Machine } from "../src/driver";
import type { Action, Event, HttpRequest, HttpResponse, Next } from "../src/protocol";

/** Answers each step with the next scripted action; records the events. */
export class ScriptedMachine implements Machine {
  readonly events: Event[] = [];
  readonly times: number[] = [];
  private readonly script: Action[];

  constructor(script: Action[]) {
    this.script = [...script];
  }

  step(nowMs: number, event: Event): Action {
    this.events.push(event);
    this.times.push(nowMs);
    const action = this.script.shift();
    if (action === undefined) throw new Error(`no scripted action left for ${JSON.stringify(event)}`);
    return action;
  }
}

export function action(next: Next, extra: Partial<Omit<Action, "next">> = {}): Action {
  return { secrets: [], logs: [], ...extra, next };
}

/** Start `requests`, then wait for an answer, or `wakeMs` when not null. */
export const wait = (requests: HttpRequest[], wakeMs: number | null = null): Next => ({
  kind: "wait",
  requests,
  wake_ms: wakeMs,
});

export const done = (outputs: Record<string, string> = {}, summary = ""): Next => ({
  kind: "done",
  outputs,
  summary,
});

export function request(id: number, url = `http://127.0.0.1/${id}`): HttpRequest {
  return { id, method: "GET", url, headers: {}, body: "", timeout_ms: 1000 };
}

/** What the driver asked a ManualTransport to send. */
export interface Sent {
  request: HttpRequest;
  signal: AbortSignal;
  /** Settles the send's promise with this answer (status 200, body = url, by default). */
  answer(response?: Partial<HttpResponse>): void;
}

/**
 * A transport whose requests are answered only when the test says, and that
 * ignores its abort signal (as a careless transport might): the driver alone
 * must keep a late answer from reaching the core.
 */
export class ManualTransport {
  readonly sent: Sent[] = [];

  readonly send = (request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> =>
    new Promise((resolve) => {
      this.sent.push({
        request,
        signal,
        answer: (response = {}) => resolve({ id: request.id, status: 200, headers: {}, body: request.url, ...response }),
      });
    });

  /** The ids sent so far, in order. */
  get ids(): number[] {
    return this.sent.map((s) => s.request.id);
  }

  /** The request sent with this id (ids are unique, as the core makes them). */
  get(id: number): Sent {
    const found = this.sent.filter((s) => s.request.id === id);
    if (found.length !== 1) throw new Error(`request ${id} was sent ${found.length} times`);
    return found[0]!;
  }

  answer(id: number, response: Partial<HttpResponse> = {}): void {
    this.get(id).answer(response);
  }
}

/** What the driver asked ManualTimers to sleep. */
export interface Slept {
  ms: number;
  signal: AbortSignal;
  /** Ends the sleep as if `ms` had passed. */
  fire(): void;
}

/** Sleeps that end when the test fires them, or, like sleep.ts, when aborted. */
export class ManualTimers {
  readonly slept: Slept[] = [];

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
      this.slept.push({ ms, signal, fire: resolve });
    });

  /** The latest sleep. */
  get last(): Slept {
    const last = this.slept.at(-1);
    if (last === undefined) throw new Error("nothing slept");
    return last;
  }
}

/**
 * Dependencies that write to `calls` in order ("secret:x", "info:y",
 * "output:k=v", ...). Requests answer 200 with their url as body, sleeps end
 * at once; override what a test needs.
 */
export function fakeDeps(machine: Machine, overrides: Partial<Dependencies> = {}) {
  const calls: string[] = [];
  let clock = 1_700_000_000_000;
  const deps: Dependencies = {
    machine,
    send: async (r: HttpRequest): Promise<HttpResponse> => {
      calls.push(`send:${r.id}`);
      return { id: r.id, status: 200, headers: {}, body: r.url };
    },
    sleep: async (ms: number) => {
      calls.push(`sleep:${ms}`);
    },
    now: () => (clock += 1000),
    setSecret: (s) => calls.push(`secret:${s}`),
    log: (level, message) => calls.push(`${level}:${message}`),
    setOutput: (name, value) => calls.push(`output:${name}=${value}`),
    appendSummary: async (markdown) => {
      calls.push(`summary:${markdown}`);
    },
    setFailed: (message) => calls.push(`failed:${message}`),
    cancel: new AbortController().signal,
    ...overrides,
  };
  return { deps, calls };
}

/**
 * Resolves after the pending I/O callbacks, and so after every promise
 * already settled has run its reactions: the driver has then done all it can
 * until the test answers, fires or cancels something.
 */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
