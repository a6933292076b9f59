/** The part of `process` that delivers signals (an EventEmitter in tests). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * GitHub cancels a step with SIGINT, then SIGTERM about 7.5 s later, then
 * kills it. The first of these aborts the returned signal (reason: the
 * signal's name) so the core can clean up. Later ones are ignored, but stay
 * handled until `dispose`: without a listener, Node would exit at once and
 * leave the cleanup half done.
 */
export function watchSignals(source: SignalSource = process): {
  cancel: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) controller.abort(signal);
  };
  const names: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  for (const name of names) source.on(name, onSignal);
  return {
    cancel: controller.signal,
    dispose() {
      for (const name of names) source.off(name, onSignal);
    },
  };
}
