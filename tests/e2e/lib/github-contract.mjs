// GitHub's REST contract, read from GitHub's own OpenAPI description (npm
// `@octokit/openapi`, a copy of github/rest-api-description with Octokit's
// extensions), so the fake GitHub can tell, for every request it is sent,
// which documented operation it is and whether its path parameters, query
// parameters and JSON body fit that operation's schemas, and, for every
// answer it gives, whether the answer fits the schema documented for its
// status. Validation is ajv's (JSON Schema), not ours.
//
// Cost: one description is read and parsed once per process (13 MB for
// api.github.com: 0.1 to 0.3 s, measured across the e2e files run in
// parallel); only the operations actually called are compiled, each the first
// time it is called (50 to 130 ms for an e2e file's few operations). See
// `Contract.loadMs` and `Contract.compileMs`. The package's `index.js` is
// not used: it would parse all ten descriptions (385 MB).
//
// OpenAPI 3.0 is not JSON Schema: before ajv sees a schema, a `$ref`'s
// siblings are dropped (OpenAPI 3.0.3, "Reference Object": they "SHALL be
// ignored"), `nullable` without `type` is dropped (3.0.3: it only adds null
// to an explicit `type`), and ajv's own OpenAPI support reads `nullable`.
//
// API versions: the description is that of the base version 2022-11-28 (which
// it never names); later versions appear only as `x-github-breaking-changes`
// on operations and component schemas, each `{changeset, patch, version}`,
// the patch a JSON Merge Patch (RFC 7396, an object) or a JSON Patch (RFC
// 6902, an array). A request that asks for a later version is checked, and
// answered, against the description with the patches up to that version
// applied.

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const GENERATED = path.join(path.dirname(require.resolve('@octokit/openapi/package.json')), 'generated');

/** The version every description is written for (docs.github.com, "API Versions"). */
export const BASE_API_VERSION = '2022-11-28';

/** The newest GitHub Enterprise Server description the pinned package ships, e.g. `ghes-3.19`. */
export function newestGhes() {
  const names = readdirSync(GENERATED)
    .map((f) => /^ghes-(\d+)\.(\d+)\.json$/.exec(f))
    .filter(Boolean)
    .sort((a, b) => Number(a[1]) - Number(b[1]) || Number(a[2]) - Number(b[2]));
  if (names.length === 0) throw new Error(`no ghes-*.json in ${GENERATED}`);
  return `ghes-${names.at(-1)[1]}.${names.at(-1)[2]}`;
}

const contracts = new Map();

/**
 * The contract of one description (`api.github.com`, `ghes-3.19`, `ghec`),
 * loaded once per process.
 */
export function githubContract(name = 'api.github.com') {
  let contract = contracts.get(name);
  if (!contract) {
    contract = new Contract(name);
    contracts.set(name, contract);
  }
  return contract;
}

/** What GitHub's description says about its REST API, and checks against it. */
export class Contract {
  constructor(name) {
    const t0 = performance.now();
    /** @type {string} */
    this.name = name;
    this.doc = JSON.parse(readFileSync(path.join(GENERATED, `${name}.json`), 'utf8'));
    this.routes = Object.entries(this.doc.paths).map(([template, item]) => ({
      template,
      segments: template.split('/').slice(1).map((s) => {
        const m = /^\{([^}]+)\}$/.exec(s);
        return m ? { param: m[1] } : { literal: s };
      }),
      item,
    }));
    const later = new Set();
    for (const route of this.routes) {
      for (const op of Object.values(route.item)) for (const c of op?.['x-github-breaking-changes'] ?? []) later.add(c.version);
    }
    for (const schema of Object.values(this.doc.components.schemas)) {
      for (const c of schema['x-github-breaking-changes'] ?? []) later.add(c.version);
    }
    /** The X-GitHub-Api-Version values this description knows: the base one and those its breaking changes name. */
    this.apiVersions = [BASE_API_VERSION, ...[...later].sort()];
    /** Milliseconds to read, parse and index the description. */
    this.loadMs = performance.now() - t0;
    /** Milliseconds spent compiling validators so far. */
    this.compileMs = 0;
    /** Per API version: {ajv, params (coercing ajv), added: Set of schema names, validators: Map}. */
    this.compiled = new Map();
  }

  /**
   * The documented operation for `method` and `apiPath` (the path after any
   * GHES `/api/v3` prefix, undecoded): `{operation}` with `operation =
   * {id, method, template, params}`, or `{problem}` when none matches. A
   * literal segment wins over a parameter, as in
   * `/actions/runners/generate-jitconfig` vs `/actions/runners/{runner_id}`.
   */
  match(method, apiPath) {
    const segments = apiPath.split('/');
    if (segments[0] !== '' || segments.length < 2) return { problem: `no operation of ${this.name} matches this path` };
    segments.shift();
    const fits = this.routes.filter(
      (r) => r.segments.length === segments.length && r.segments.every((s, i) => (s.literal !== undefined ? s.literal === segments[i] : segments[i] !== '')),
    );
    if (fits.length === 0) return { problem: `no operation of ${this.name} matches this path` };
    const specificity = (r) => r.segments.map((s) => (s.literal !== undefined ? '1' : '0')).join('');
    fits.sort((a, b) => (specificity(a) < specificity(b) ? 1 : specificity(a) > specificity(b) ? -1 : 0));
    const verb = method.toLowerCase();
    const route = fits.find((r) => r.item[verb]);
    if (!route) {
      const documented = [...new Set(fits.flatMap((r) => Object.keys(r.item).filter((k) => HTTP_METHODS.has(k))))];
      return {
        problem: `${fits[0].template} documents no ${method} (only ${documented.map((m) => m.toUpperCase()).join(', ')}) in ${this.name}`,
      };
    }
    const params = {};
    route.segments.forEach((s, i) => {
      if (s.param === undefined) return;
      try {
        params[s.param] = decodeURIComponent(segments[i]);
      } catch {
        params[s.param] = segments[i];
      }
    });
    return { operation: { id: route.item[verb].operationId, method: verb, template: route.template, params } };
  }

  /**
   * Problems (readable strings) of a request to a matched `operation`:
   * path parameters, query parameters (`searchParams`, a URLSearchParams),
   * the body (`rawBody` text, `contentType` header) against the operation
   * of API `version`.
   */
  checkRequest(operation, { searchParams, rawBody, contentType, version = BASE_API_VERSION }) {
    const v = this.#validators(operation, version);
    const problems = [];
    const params = { ...operation.params };
    if (!v.path(params)) problems.push(...explain('path parameters', v.path.errors));

    const query = {};
    for (const key of new Set(searchParams.keys())) {
      const all = searchParams.getAll(key);
      query[key] = v.arrays.has(key) ? all : all.length === 1 ? all[0] : all;
    }
    if (!v.query(query)) problems.push(...explain('query parameters', v.query.errors));

    const body = v.body;
    if (rawBody === '') {
      if (body.required) problems.push('the request body is required and none was sent');
    } else if (!body.media) {
      problems.push(`a request body was sent (${rawBody.length} bytes) but the operation takes none`);
    } else {
      const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
      if (!body.media.includes(media)) {
        problems.push(`Content-Type ${JSON.stringify(contentType ?? null)}, the operation takes ${body.media.join(', ')}`);
      }
      let parsed;
      try {
        parsed = JSON.parse(rawBody);
      } catch {
        problems.push('the request body is not JSON');
        return problems;
      }
      if (body.validate && !body.validate(parsed)) problems.push(...explain('request body', body.validate.errors));
    }
    return problems;
  }

  /**
   * Problems of an answer (`status`, parsed `body` or undefined) to
   * `operation`: its body against the schema documented for that status.
   * An error status the operation does not list (GitHub answers 401, 403,
   * 404, 5xx on any operation, and the description lists only some) is
   * checked against the description's `basic-error`; an undocumented
   * success status is itself a problem.
   */
  checkResponse(operation, { status, body, version = BASE_API_VERSION }) {
    const v = this.#validators(operation, version);
    let answer = v.responses.get(String(status)) ?? v.responses.get(`${String(status)[0]}XX`) ?? v.responses.get('default');
    if (!answer) {
      if (status < 400) return [`answer ${status} is not documented (documented: ${[...v.responses.keys()].join(', ')})`];
      answer = v.error;
    }
    if (!answer.validate) return body === undefined ? [] : [`answer ${status} has a body but the description documents none`];
    if (body === undefined) return [`answer ${status} has no body but the description documents one`];
    return answer.validate(body) ? [] : explain(`answer ${status} body`, answer.validate.errors);
  }

  // --- compiling -------------------------------------------------------------

  #validators(operation, version) {
    const compiled = this.#forVersion(version);
    const key = `${operation.method} ${operation.template}`;
    let v = compiled.validators.get(key);
    if (v) return v;
    const t0 = performance.now();
    const op = patched(this.doc.paths[operation.template][operation.method], version);
    const parameters = [...(this.doc.paths[operation.template].parameters ?? []), ...(op.parameters ?? [])].map((p) => this.#deref(p));
    const paramSchema = (where) => {
      const own = parameters.filter((p) => p.in === where);
      return {
        type: 'object',
        properties: Object.fromEntries(own.map((p) => [p.name, p.schema ?? {}])),
        required: own.filter((p) => p.required).map((p) => p.name),
        additionalProperties: false,
      };
    };
    const requestBody = op.requestBody ? this.#deref(op.requestBody) : null;
    const json = requestBody ? Object.entries(requestBody.content ?? {}).find(([m]) => isJson(m)) : null;
    const responses = new Map();
    for (const [status, r] of Object.entries(op.responses ?? {})) responses.set(status, this.#answer(compiled, this.#deref(r)));
    v = {
      path: this.#compile(compiled.params, paramSchema('path'), compiled, version),
      query: this.#compile(compiled.params, paramSchema('query'), compiled, version),
      arrays: new Set(parameters.filter((p) => p.in === 'query' && p.schema?.type === 'array').map((p) => p.name)),
      body: {
        required: Boolean(requestBody?.required),
        media: requestBody ? Object.keys(requestBody.content ?? {}) : null,
        validate: json?.[1].schema ? this.#compile(compiled.ajv, json[1].schema, compiled, version) : null,
      },
      responses,
      error: { validate: this.#compile(compiled.ajv, { $ref: '#/components/schemas/basic-error' }, compiled, version) },
    };
    compiled.validators.set(key, v);
    this.compileMs += performance.now() - t0;
    return v;
  }

  #answer(compiled, response) {
    const json = Object.entries(response.content ?? {}).find(([m]) => isJson(m));
    const schema = json?.[1].schema;
    return { validate: schema ? this.#compile(compiled.ajv, schema, compiled, compiled.version) : null };
  }

  #forVersion(version) {
    let compiled = this.compiled.get(version);
    if (compiled) return compiled;
    const make = (options) => {
      // strict: false: OpenAPI's own keywords (example, x-github, ...) are not JSON Schema.
      const ajv = new Ajv({ allErrors: true, strict: false, ...options });
      addFormats(ajv);
      return ajv;
    };
    // Path and query values arrive as text; OpenAPI's `style: simple`/`form`
    // mean "123" is the integer 123, so those are checked with coercion.
    compiled = { version, ajv: make({}), params: make({ coerceTypes: true }), added: new Set(), validators: new Map() };
    this.compiled.set(version, compiled);
    return compiled;
  }

  /** Compiles `schema` in `ajv`, first adding every component schema it reaches. */
  #compile(ajv, schema, compiled, version) {
    const converted = toJsonSchema(schema, (name) => this.#add(ajv, name, compiled, version));
    return ajv.compile(converted);
  }

  #add(ajv, name, compiled, version) {
    const key = `${ajv === compiled.ajv ? 'body' : 'params'}:${name}`;
    if (compiled.added.has(key)) return;
    compiled.added.add(key);
    const schema = this.doc.components.schemas[name];
    if (!schema) throw new Error(`${this.name}: no component schema ${name}`);
    ajv.addSchema(toJsonSchema(patched(schema, version), (n) => this.#add(ajv, n, compiled, version)), schemaId(name));
  }

  /** A Reference Object to components/{parameters,responses,requestBodies} resolved. */
  #deref(object) {
    let o = object;
    for (let i = 0; o?.$ref && i < 10; i++) {
      const m = /^#\/components\/([^/]+)\/(.+)$/.exec(o.$ref);
      o = m ? this.doc.components[m[1]]?.[m[2]] : undefined;
      if (!o) throw new Error(`${this.name}: cannot resolve ${object.$ref}`);
    }
    return o;
  }
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

function isJson(media) {
  return media === 'application/json' || /\+json$/.test(media);
}

function schemaId(name) {
  return `urn:github-openapi:components:schemas:${name}`;
}

/**
 * An OpenAPI 3.0 Schema Object as JSON Schema for ajv: component references
 * become ids ajv knows (`onRef` is told each component reached), a
 * reference's siblings are dropped, `nullable` without `type` is dropped,
 * boolean exclusiveMinimum/Maximum (draft 4 style) become numbers.
 */
function toJsonSchema(schema, onRef) {
  const walk = (node) => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    if (typeof node.$ref === 'string') {
      const m = /^#\/components\/schemas\/(.+)$/.exec(node.$ref);
      if (!m) throw new Error(`unsupported schema reference ${node.$ref}`);
      onRef(m[1]);
      return { $ref: schemaId(m[1]) };
    }
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'x-github-breaking-changes' || k === 'example' || k === 'examples') continue;
      // Keys of these are names (property names, not schemas with keywords).
      out[k] = k === 'properties' || k === 'patternProperties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, walk(s)])) : walk(v);
    }
    if (out.nullable !== undefined && out.type === undefined) delete out.nullable;
    for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
      if (typeof out[flag] === 'boolean') {
        if (out[flag] && out[bound] !== undefined) {
          out[flag] = out[bound];
          delete out[bound];
        } else delete out[flag];
      }
    }
    return out;
  };
  return walk(schema);
}

/** `object` as of API `version`: its `x-github-breaking-changes` up to that version applied in order. */
function patched(object, version) {
  const changes = (object['x-github-breaking-changes'] ?? []).filter((c) => c.version <= version);
  let out = object;
  for (const change of changes) {
    out = Array.isArray(change.patch) ? jsonPatch(out, change.patch) : mergePatch(out, change.patch);
  }
  return out;
}

/** RFC 7396. */
function mergePatch(target, patch) {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902, the operations GitHub's breaking changes use (add, remove, replace). */
function jsonPatch(target, operations) {
  const out = structuredClone(target);
  for (const { op, path: pointer, value } of operations) {
    const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let parent = out;
    for (const k of keys) parent = parent?.[k];
    if (parent === undefined || parent === null) throw new Error(`JSON Patch ${op} ${pointer}: no such location`);
    if (op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op === 'add' && Array.isArray(parent)) {
      parent.splice(last === '-' ? parent.length : Number(last), 0, structuredClone(value));
    } else if (op === 'add' || op === 'replace') {
      parent[last] = structuredClone(value);
    } else {
      throw new Error(`JSON Patch op ${op} not supported`);
    }
  }
  return out;
}

/** ajv's errors as readable lines: `what[ /pointer]: message (detail)`. */
function explain(what, errors) {
  return (errors ?? []).map((e) => {
    let detail = '';
    if (e.params?.additionalProperty !== undefined) detail = ` (${JSON.stringify(e.params.additionalProperty)} is not documented)`;
    else if (e.params?.allowedValues) detail = ` (${e.params.allowedValues.map((x) => JSON.stringify(x)).join(', ')})`;
    return `${what}${e.instancePath ? ` ${e.instancePath}` : ''}: ${e.message}${detail}`;
  });
}
