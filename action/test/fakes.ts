// Test doubles for the driver's dependencies: a scripted machine and a
// recorder of everything the driver does to the outside world.
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

export const done = (outputs: Record<string, string> = {}, summary = ""): Next => ({
  kind: "done",
  outputs,
  summary,
});

export function request(id: number, url = `http://127.0.0.1/${id}`): HttpRequest {
  return { id, method: "GET", url, headers: {}, body: "", timeout_ms: 1000 };
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

/** Resolves after the pending I/O callbacks: lets other started work run. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
