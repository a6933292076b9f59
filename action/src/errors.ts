/**
 * The message of anything thrown. Not only Errors are thrown: the wasm glue
 * can throw a plain string, and an aborted fetch rejects with the abort
 * reason, whatever it is. `String(error)` on an Error would add "Error: ".
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
