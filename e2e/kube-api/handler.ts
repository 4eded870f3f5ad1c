// Request routing: maps apiserver URLs (/version, discovery, OpenAPI, and
// /api|/apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]) to the cluster's
// verbs, decoding query options and bodies at the edge and rendering the result in the
// representation the client negotiated.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster, DeleteOptions, FieldValidation, ListOptions, WriteContext } from './cluster.ts';
import { PATCH_CONTENT_TYPES } from './cluster.ts';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from './discovery.ts';
import {
  StatusError,
  badRequest,
  methodNotAllowed,
  resourceNotServed,
  unsupportedMediaType,
} from './errors.ts';
import { decodeBody, negotiate, readBody, send, sendError, wantsAggregatedDiscovery } from './http.ts';
import type { Negotiated } from './http.ts';
import { isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import type { KubeObject } from './meta.ts';
import { documentHash, groupVersionDocument, groupVersionPath } from './openapi.ts';
import { apiVersionOf } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { toTable } from './table.ts';
import type { IncludeObject } from './table.ts';
import type { WatchHub } from './watch.ts';
import { queryBool } from './watch.ts';

export const SERVER_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-04-23T00:00:00Z',
  goVersion: 'go1.24.2',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface RequestRecord {
  method: string;
  url: string;
  accept: string;
  contentType: string;
  userAgent: string;
  status: number;
}

interface ResourcePath {
  group: string;
  version: string;
  namespace: string | undefined;
  plural: string;
  name: string | undefined;
  subresource: string | undefined;
  watchPrefix: boolean;
}

function parseResourcePath(group: string, version: string, rest: string[]): ResourcePath | undefined {
  let parts = rest;
  let watchPrefix = false;
  if (parts[0] === 'watch') {
    watchPrefix = true;
    parts = parts.slice(1);
  }
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length >= 2) {
    const third = parts[2];
    if (parts.length > 2 && third !== 'status' && third !== 'finalize') {
      namespace = parts[1];
      parts = parts.slice(2);
    }
  }
  const [plural, name, subresource, ...extra] = parts;
  if (!plural || extra.length > 0) return undefined;
  return { group, version, namespace, plural, name, subresource, watchPrefix };
}

function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function listOptions(q: URLSearchParams): ListOptions {
  const limit = q.get('limit');
  return {
    labelSelector: q.get('labelSelector') ?? '',
    fieldSelector: q.get('fieldSelector') ?? '',
    limit: limit ? Number(limit) : 0,
    continue: q.get('continue') ?? '',
    resourceVersion: q.get('resourceVersion') ?? '',
    resourceVersionMatch: q.get('resourceVersionMatch') ?? '',
  };
}

function writeOptions(q: URLSearchParams, req: IncomingMessage): WriteContext {
  const dryRun = q.getAll('dryRun');
  for (const d of dryRun)
    if (d !== 'All') throw badRequest(`Invalid dryRun value: ${d}; valid values are: All`);
  const validation = q.get('fieldValidation') ?? 'Warn';
  if (!['Ignore', 'Warn', 'Strict', ''].includes(validation)) {
    throw badRequest(`fieldValidation parameter unsupported: ${validation}`);
  }
  const agent = req.headers['user-agent'] ?? '';
  return {
    dryRun: dryRun.length > 0,
    fieldManager: q.get('fieldManager') ?? (agent.split('/')[0] || 'unknown'),
    fieldValidation: (validation || 'Warn') as FieldValidation,
    warnings: [],
    force: queryBool(q.get('force')),
  };
}

function deleteOptions(q: URLSearchParams, body: unknown): DeleteOptions {
  const opts: DeleteOptions = {};
  if (isObject(body)) {
    if (typeof body.propagationPolicy === 'string') opts.propagationPolicy = body.propagationPolicy;
    if (typeof body.orphanDependents === 'boolean') opts.orphanDependents = body.orphanDependents;
    if (isObject(body.preconditions)) {
      const p = body.preconditions;
      opts.preconditions = {};
      if (typeof p.uid === 'string') opts.preconditions.uid = p.uid;
      if (typeof p.resourceVersion === 'string') opts.preconditions.resourceVersion = p.resourceVersion;
    }
  }
  const policy = q.get('propagationPolicy');
  if (policy) opts.propagationPolicy = policy;
  const orphan = q.get('orphanDependents');
  if (orphan !== null) opts.orphanDependents = queryBool(orphan);
  return opts;
}

function bodyDryRun(body: unknown): boolean {
  return isObject(body) && Array.isArray(body.dryRun) && body.dryRun.includes('All');
}

export interface HandlerOptions {
  onRequest?: (r: RequestRecord) => void;
}

/** Builds the request listener of the emulated apiserver. */
export function createHandler(cluster: Cluster, hub: WatchHub, opts: HandlerOptions = {}) {
  const openapiCache = new Map<string, { generation: number; doc: JsonObject; hash: string }>();

  const openapiDoc = (group: string, version: string): { doc: JsonObject; hash: string } | undefined => {
    const key = groupVersionPath(group, version);
    const cached = openapiCache.get(key);
    if (cached && cached.generation === cluster.registry.generation) return cached;
    const doc = groupVersionDocument(cluster.registry, group, version);
    if (!doc) return undefined;
    const entry = { generation: cluster.registry.generation, doc, hash: documentHash(doc) };
    openapiCache.set(key, entry);
    return entry;
  };

  const respondObject = (
    res: ServerResponse,
    code: number,
    rt: ResourceType,
    obj: KubeObject,
    n: Negotiated,
    q: URLSearchParams,
    warnings: string[] = [],
  ): void => {
    let body: JsonObject = obj;
    if (n.form === 'table')
      body = toTable(rt, [obj], includeObjectParam(q), {
        resourceVersion: obj.metadata.resourceVersion ?? '',
      });
    else if (n.form === 'metadata')
      body = {
        kind: 'PartialObjectMetadata',
        apiVersion: `meta.k8s.io/${n.metaVersion}`,
        metadata: obj.metadata,
      };
    const contentType =
      n.form === 'table' ? `application/json;as=Table;v=${n.metaVersion};g=meta.k8s.io` : undefined;
    send(res, code, body, { yaml: n.yaml, warnings, ...(contentType && !n.yaml ? { contentType } : {}) });
  };

  const serveDiscovery = (req: IncomingMessage, res: ServerResponse, segments: string[]): boolean => {
    const accept = req.headers.accept;
    if (segments.length === 1 && (segments[0] === 'api' || segments[0] === 'apis')) {
      const aggregated = wantsAggregatedDiscovery(accept);
      if (aggregated) {
        send(res, 200, aggregatedDiscovery(cluster.registry, segments[0] === 'api', aggregated), {
          contentType: aggregatedContentType(aggregated),
        });
      } else if (segments[0] === 'api') {
        send(res, 200, apiVersions(req.headers.host ?? ''));
      } else {
        send(res, 200, apiGroupList(cluster.registry));
      }
      return true;
    }
    if (segments[0] === 'api' && segments.length === 2) {
      const list = apiResourceList(cluster.registry, '', segments[1] ?? '');
      if (!list) throw resourceNotServed();
      send(res, 200, list);
      return true;
    }
    if (segments[0] === 'apis' && segments.length === 2) {
      const group = apiGroup(cluster.registry, segments[1] ?? '');
      if (!group) throw resourceNotServed();
      send(res, 200, group);
      return true;
    }
    if (segments[0] === 'apis' && segments.length === 3) {
      const list = apiResourceList(cluster.registry, segments[1] ?? '', segments[2] ?? '');
      if (!list) throw resourceNotServed();
      send(res, 200, list);
      return true;
    }
    return false;
  };

  const serveOpenApi = (res: ServerResponse, segments: string[]): void => {
    if (segments[1] !== 'v3') throw resourceNotServed();
    if (segments.length === 2) {
      const paths: JsonObject = {};
      for (const g of cluster.registry.groups()) {
        for (const v of g.versions) {
          const entry = openapiDoc(g.group, v);
          const path = groupVersionPath(g.group, v);
          if (entry) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${entry.hash}` };
        }
      }
      send(res, 200, { paths });
      return;
    }
    const rest = segments.slice(2);
    const isCore = rest[0] === 'api' && rest.length === 2;
    const isGroup = rest[0] === 'apis' && rest.length === 3;
    const entry = isCore
      ? openapiDoc('', rest[1] ?? '')
      : isGroup
        ? openapiDoc(rest[1] ?? '', rest[2] ?? '')
        : undefined;
    if (!entry) throw resourceNotServed();
    res.setHeader('Etag', `"${entry.hash}"`);
    send(res, 200, entry.doc);
  };

  const serveResource = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    p: ResourcePath,
  ): Promise<void> => {
    const rt = cluster.registry.lookup(p.group, p.version, p.plural);
    if (!rt) throw resourceNotServed();
    if (p.namespace !== undefined && !rt.namespaced) throw resourceNotServed();
    if (p.subresource !== undefined && !rt.subresources.includes(p.subresource)) throw resourceNotServed();
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const n = negotiate(req.headers.accept);
    const isWatch = p.watchPrefix || queryBool(q.get('watch'));

    if (method === 'GET' && (isWatch || !p.name)) {
      if (isWatch) {
        let fieldSelector = q.get('fieldSelector') ?? '';
        if (p.name) fieldSelector = [fieldSelector, `metadata.name=${p.name}`].filter(Boolean).join(',');
        const timeout = q.get('timeoutSeconds');
        hub.serve(cluster, req, res, {
          rt,
          namespace: p.namespace,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          labelSelector: q.get('labelSelector') ?? '',
          fieldSelector,
          allowBookmarks: queryBool(q.get('allowWatchBookmarks')),
          sendInitialEvents: queryBool(q.get('sendInitialEvents')),
          timeoutSeconds: timeout ? Number(timeout) : undefined,
          format: n,
          includeObject: includeObjectParam(q),
        });
        return;
      }
      const result = cluster.list(rt, p.namespace, listOptions(q));
      const listMeta: JsonObject = { resourceVersion: result.resourceVersion };
      if (result.continue) listMeta.continue = result.continue;
      if (result.remainingItemCount !== undefined) listMeta.remainingItemCount = result.remainingItemCount;
      if (n.form === 'table') {
        send(res, 200, toTable(rt, result.items, includeObjectParam(q), listMeta), {
          yaml: n.yaml,
          ...(n.yaml ? {} : { contentType: `application/json;as=Table;v=${n.metaVersion};g=meta.k8s.io` }),
        });
      } else if (n.form === 'metadata') {
        send(
          res,
          200,
          {
            kind: 'PartialObjectMetadataList',
            apiVersion: `meta.k8s.io/${n.metaVersion}`,
            metadata: listMeta,
            items: result.items.map((o) => ({
              kind: 'PartialObjectMetadata',
              apiVersion: `meta.k8s.io/${n.metaVersion}`,
              metadata: o.metadata,
            })),
          },
          { yaml: n.yaml },
        );
      } else {
        send(
          res,
          200,
          { kind: rt.listKind, apiVersion: apiVersionOf(rt), metadata: listMeta, items: result.items },
          { yaml: n.yaml },
        );
      }
      return;
    }

    if (method === 'GET') {
      respondObject(res, 200, rt, cluster.get(rt, p.namespace, p.name ?? ''), n, q);
      return;
    }

    if (method === 'POST') {
      if (p.name) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
      if (rt.namespaced && p.namespace === undefined) throw resourceNotServed();
      const ctx = writeOptions(q, req);
      const body = decodeBody(await readBody(req), req.headers['content-type']);
      const created = cluster.create(rt, p.namespace, body, ctx);
      respondObject(res, 201, rt, created, n, q, ctx.warnings);
      return;
    }

    if (method === 'PUT') {
      if (!p.name) throw methodNotAllowed('the server does not allow this method on the requested resource');
      const ctx = writeOptions(q, req);
      const body = decodeBody(await readBody(req), req.headers['content-type']);
      if (p.subresource === 'finalize') {
        respondObject(res, 200, rt, finalizeNamespace(cluster, rt, p.name, body), n, q);
        return;
      }
      const { object, created } = cluster.update(rt, p.namespace, p.name, body, ctx, p.subresource);
      respondObject(res, created ? 201 : 200, rt, object, n, q, ctx.warnings);
      return;
    }

    if (method === 'PATCH') {
      if (!p.name) throw methodNotAllowed('the server does not allow this method on the requested resource');
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const type = PATCH_CONTENT_TYPES[contentType];
      if (!type || contentType === 'application/apply-patch+cbor') {
        throw unsupportedMediaType(contentType, [
          'application/json-patch+json',
          'application/merge-patch+json',
          'application/apply-patch+yaml',
          ...(rt.strategicMerge ? ['application/strategic-merge-patch+json'] : []),
        ]);
      }
      const ctx = writeOptions(q, req);
      if (type === 'apply' && !q.get('fieldManager'))
        throw badRequest('fieldManager is required for apply requests');
      const body = decodeBody(
        await readBody(req),
        type === 'apply' ? 'application/yaml' : 'application/json',
      );
      const { object, created } = cluster.patch(rt, p.namespace, p.name, type, body, ctx, p.subresource);
      respondObject(res, created ? 201 : 200, rt, object, n, q, ctx.warnings);
      return;
    }

    if (method === 'DELETE') {
      const raw = await readBody(req);
      const body = raw.length > 0 ? decodeBody(raw, req.headers['content-type']) : undefined;
      const ctx = writeOptions(q, req);
      if (bodyDryRun(body)) ctx.dryRun = true;
      const del = deleteOptions(q, body);
      if (!p.name) {
        const items = cluster.deleteCollection(rt, p.namespace, listOptions(q), del, ctx);
        send(res, 200, {
          kind: rt.listKind,
          apiVersion: apiVersionOf(rt),
          metadata: { resourceVersion: String(cluster.store.currentRevision) },
          items,
        });
        return;
      }
      const { object, deleted } = cluster.delete(rt, p.namespace, p.name, del, ctx);
      if (deleted && !rt.returnsDeletedObject) {
        const details: JsonObject = { name: p.name, kind: rt.plural, uid: object.metadata.uid ?? '' };
        if (rt.group) details.group = rt.group;
        send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details });
        return;
      }
      respondObject(res, deleted ? 200 : 202, rt, object, n, q, ctx.warnings);
      return;
    }

    throw methodNotAllowed(`the server does not allow this method on the requested resource`);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://kube-api.local');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const first = segments[0];
    if (first === 'version' && segments.length === 1) return send(res, 200, SERVER_VERSION);
    if ((first === 'healthz' || first === 'livez' || first === 'readyz') && segments.length === 1) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (first === 'openapi') return serveOpenApi(res, segments);
    if (first === 'api' || first === 'apis') {
      if (req.method === 'GET' && serveDiscovery(req, res, segments)) return;
      const group = first === 'api' ? '' : (segments[1] ?? '');
      const version = first === 'api' ? (segments[1] ?? '') : (segments[2] ?? '');
      const rest = segments.slice(first === 'api' ? 2 : 3);
      const p = parseResourcePath(group, version, rest);
      if (!p) throw resourceNotServed();
      return serveResource(req, res, url, p);
    }
    throw resourceNotServed();
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    res.on('finish', () => {
      opts.onRequest?.({
        method: req.method ?? '',
        url: req.url ?? '',
        accept: req.headers.accept ?? '',
        contentType: req.headers['content-type'] ?? '',
        userAgent: req.headers['user-agent'] ?? '',
        status: res.statusCode,
      });
    });
    route(req, res).catch((err: unknown) => {
      if (!(err instanceof StatusError)) console.error('kube-api emulator: internal error', err);
      sendError(res, err);
    });
  };
}

/** PUT namespaces/NAME/finalize: the namespace controller's way to drop spec.finalizers. */
function finalizeNamespace(cluster: Cluster, rt: ResourceType, name: string, body: unknown): KubeObject {
  const existing = cluster.get(rt, undefined, name);
  const spec = isObject(body) && isObject(body.spec) ? body.spec : {};
  const finalizers = Array.isArray(spec.finalizers)
    ? spec.finalizers.filter((f): f is string => typeof f === 'string')
    : [];
  const next: KubeObject = {
    ...existing,
    spec: { ...(isObject(existing.spec) ? existing.spec : {}), finalizers },
  };
  const saved = cluster.systemUpdate(rt, next);
  cluster.settle();
  return saved;
}
