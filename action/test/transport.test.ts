import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";

import type { HttpRequest } from "../src/protocol";
import { send } from "../src/transport";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const seen: Seen[] = [];
let base = "";
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => (body += chunk.toString()));
  req.on("end", () => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    switch (req.url) {
      case "/hang":
        return; // never answers
      case "/half":
        res.writeHead(200, { "Content-Length": "10" });
        res.write("12345"); // never finishes the body
        return;
      case "/moved":
        res.writeHead(302, { Location: "/elsewhere" });
        res.end();
        return;
      default:
        res.setHeader("X-Amzn-ErrorType", "ClusterNotFoundException");
        res.setHeader("Set-Cookie", ["a=1", "b=2"]);
        res.writeHead(400, { "Content-Type": "application/x-amz-json-1.1" });
        res.end('{"__type":"ClusterNotFoundException"}');
    }
  });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const live = (): AbortSignal => new AbortController().signal;

function req(path: string, fields: Partial<HttpRequest> = {}): HttpRequest {
  return { id: 9, method: "GET", url: base + path, headers: {}, body: "", timeout_ms: 5000, ...fields };
}

test("sends method, headers and body as given; answers status, headers and body as text", async () => {
  const response = await send(
    req("/ecs", {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RunTask",
      },
      body: '{"cluster":"c"}',
    }),
    live(),
  );

  const request = seen.at(-1);
  assert.equal(request?.method, "POST");
  assert.equal(request?.headers["x-amz-target"], "AmazonEC2ContainerServiceV20141113.RunTask");
  assert.equal(request?.headers["content-type"], "application/x-amz-json-1.1");
  assert.equal(request?.body, '{"cluster":"c"}');

  // Not thrown on a 4xx: the core reads AWS's error itself.
  assert.equal(response.id, 9);
  assert.equal(response.status, 400);
  assert.equal(response.body, '{"__type":"ClusterNotFoundException"}');
  assert.equal(response.error, undefined);
  // Names lower-cased; a repeated header keeps every value.
  assert.equal(response.headers?.["x-amzn-errortype"], "ClusterNotFoundException");
  assert.equal(response.headers?.["content-type"], "application/x-amz-json-1.1");
  assert.equal(response.headers?.["set-cookie"], "a=1, b=2");
  assert.ok(Object.keys(response.headers ?? {}).every((name) => name === name.toLowerCase()));
});

test("GET, HEAD and DELETE go without a body even when one is given", async () => {
  for (const method of ["GET", "DELETE", "HEAD"]) {
    const response = await send(req("/runner", { method, body: "ignored" }), live());
    assert.equal(response.error, undefined, `${method}: ${response.error}`);
    const request = seen.at(-1);
    assert.equal(request?.method, method);
    assert.equal(request?.body, "");
    assert.equal(request?.headers["content-length"], undefined, method);
  }
});

test("a redirect is answered, not followed", async () => {
  const response = await send(req("/moved"), live());
  assert.equal(response.status, 302);
  assert.equal(response.headers?.["location"], "/elsewhere");
});

test("a refused connection is status 0 with the reason undici hides in cause", async () => {
  // A port that was just free: nothing listens there.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));

  const response = await send(req("", { url: `http://127.0.0.1:${port}/` }), live());

  assert.equal(response.status, 0);
  assert.match(response.error ?? "", /^fetch failed: .*ECONNREFUSED/);
});

test("no answer within timeout_ms is status 0, saying so", async () => {
  const start = performance.now();
  const response = await send(req("/hang", { timeout_ms: 100 }), live());
  assert.equal(response.status, 0);
  assert.equal(response.error, "timed out after 100 ms");
  assert.ok(performance.now() - start < 4000);
});

test("the timeout also covers reading the body", async () => {
  const response = await send(req("/half", { timeout_ms: 200 }), live());
  assert.equal(response.status, 0);
  assert.equal(response.error, "timed out after 200 ms");
});

test("a cancel aborts a request in flight at once", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort("SIGINT"), 20);
  const start = performance.now();
  const response = await send(req("/hang", { timeout_ms: 30_000 }), controller.signal);
  assert.equal(response.status, 0);
  assert.equal(response.error, "SIGINT");
  assert.ok(performance.now() - start < 4000);
});

test("a file: URL is read from disk: 200 with its contents, or status 0 with the error", async () => {
  const { mkdtemp, writeFile } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const dir = await mkdtemp(path.join(tmpdir(), "ecs-runner-file-"));
  const file = path.join(dir, "token");
  await writeFile(file, "eyJ-web-identity\n");
  const get = (url: string): HttpRequest => ({ id: 9, method: "GET", url, headers: {}, body: "", timeout_ms: 1000 });
  const before = seen.length;
  assert.deepEqual(await send(get(`file://${file}`), new AbortController().signal), {
    id: 9,
    status: 200,
    headers: {},
    body: "eyJ-web-identity\n",
  });
  const missing = await send(get(`file://${path.join(dir, "missing")}`), new AbortController().signal);
  assert.equal(missing.status, 0);
  assert.match(missing.error ?? "", /ENOENT/);
  assert.equal(seen.length, before, "no HTTP request was made");
});

test("an RS256 signing request is signed with node:crypto: the signature verifies with the public key", async () => {
  const { generateKeyPairSync, verify } = await import("node:crypto");
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  for (const format of ["pkcs1", "pkcs8"] as const) {
    const pem = privateKey.export({ type: format, format: "pem" }).toString();
    const data = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxIn0";
    const r = await send(
      { id: 3, method: "POST", url: "ecs-runner:sign-rs256", headers: {}, body: JSON.stringify({ key: pem, data }), timeout_ms: 1000 },
      new AbortController().signal,
    );
    assert.equal(r.status, 200, r.error);
    const ok = verify("sha256", new TextEncoder().encode(data), publicKey, new Uint8Array(Buffer.from(r.body ?? "", "base64url")));
    assert.ok(ok, `${format}: the signature does not verify`);
  }
  const bad = await send(
    { id: 4, method: "POST", url: "ecs-runner:sign-rs256", headers: {}, body: JSON.stringify({ key: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", data: "x" }), timeout_ms: 1000 },
    new AbortController().signal,
  );
  assert.equal(bad.status, 0);
  assert.ok(!(bad.error ?? "").includes("nope"), bad.error);
});
