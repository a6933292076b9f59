/** Waits `ms`, or until `cancel` aborts; never rejects. */
export function sleep(ms: number, cancel: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (cancel.aborted) return resolve();
    const wake = (): void => {
      clearTimeout(timer);
      cancel.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    cancel.addEventListener("abort", wake, { once: true });
  });
}
