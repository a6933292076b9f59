import { createPrivateKey, sign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { errorMessage } from "./errors";
import type { HttpRequest, HttpResponse } from "./protocol";

/**
 * Performs one request as the core gave it. fetch adds the headers the core
 * leaves out (user-agent, accept, content-type text/plain for a string body,
 * accept-encoding) and takes `host` from the URL. Never rejects: a failure
 * to get an answer (refused, DNS, TLS, time-out, abort) comes back as
 * `status: 0` with `error`, and the core decides what it means.
 *
 * @param cancel aborts the request when the run is cancelled
 */
export async function send(request: HttpRequest, cancel: AbortSignal): Promise<HttpResponse> {
  // The core asks for a file's contents (a web identity token, a container
  // authorization token) as a GET of a file: URL.
  if (request.url.startsWith("file:")) return read(request);
  // The core asks for an RS256 signature (a GitHub App's JWT): the key
  // stays in this process.
  if (request.url === "ecs-runner:sign-rs256") return signRs256(request);
  const controller = new AbortController();
  // fetch rejects with the abort reason, so this becomes the error message.
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${request.timeout_ms} ms`)),
    request.timeout_ms,
  );
  const onCancel = (): void => controller.abort(cancel.reason);
  if (cancel.aborted) onCancel();
  else cancel.addEventListener("abort", onCancel, { once: true });
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      // fetch refuses a body on GET and HEAD; a DELETE never needs one.
      ...(hasBody(request.method) ? { body: request.body } : {}),
      // Answers go to the core as they are, redirects included.
      redirect: "manual",
      signal: controller.signal,
    });
    const headers: Record<string, string> = {};
    // Headers iterates with lower-case names, repeated ones joined by ", "
    // except set-cookie, which comes once per value.
    response.headers.forEach((value, name) => {
      const earlier = headers[name];
      headers[name] = earlier === undefined ? value : `${earlier}, ${value}`;
    });
    // Still under the timeout: the signal also aborts reading the body.
    const body = await response.text();
    return { id: request.id, status: response.status, headers, body };
  } catch (error) {
    return { id: request.id, status: 0, error: describe(error) };
  } finally {
    clearTimeout(timer);
    cancel.removeEventListener("abort", onCancel);
  }
}

/** A file's contents as a 200, or the error (ENOENT, EACCES) as status 0. */
async function read(request: HttpRequest): Promise<HttpResponse> {
  try {
    const body = await readFile(fileURLToPath(request.url), "utf8");
    return { id: request.id, status: 200, headers: {}, body };
  } catch (error) {
    return { id: request.id, status: 0, error: errorMessage(error) };
  }
}

/**
 * RSASSA-PKCS1-v1_5 with SHA-256 of `data` with `key` (PEM, PKCS#1 or
 * PKCS#8), answered as base64url; a bad key as status 0 with the error.
 */
function signRs256(request: HttpRequest): HttpResponse {
  try {
    const { key, data } = JSON.parse(request.body) as { key: string; data: string };
    const signature = sign("sha256", new TextEncoder().encode(data), createPrivateKey(key));
    return { id: request.id, status: 200, headers: {}, body: signature.toString("base64url") };
  } catch (error) {
    // Never the key: only what went wrong.
    return { id: request.id, status: 0, error: errorMessage(error).split("\n")[0] ?? "cannot sign" };
  }
}

function hasBody(method: string): boolean {
  const m = method.toUpperCase();
  return m !== "GET" && m !== "HEAD" && m !== "DELETE";
}

/**
 * fetch says only "fetch failed"; undici puts the reason (ECONNREFUSED,
 * ENOTFOUND, a TLS error, ...) in `cause`, sometimes as an AggregateError
 * with an empty message when every address of a host failed.
 */
function describe(error: unknown): string {
  const message = errorMessage(error);
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause === undefined) return message;
  const code = codeOf(cause);
  let reason = errorMessage(cause);
  if (code !== undefined && !reason.includes(code)) {
    reason = reason === "" ? code : `${reason} (${code})`;
  }
  return reason === "" ? message : `${message}: ${reason}`;
}

function codeOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || !("code" in value)) return undefined;
  return typeof value.code === "string" ? value.code : undefined;
}
