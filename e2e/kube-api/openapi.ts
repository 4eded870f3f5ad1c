// OpenAPI v3, per group-version, as kubectl 1.33 reads it: `kubectl apply` checks a PATCH
// operation of the kind declares the `fieldValidation` parameter before it relies on
// server-side field validation, and `kubectl explain` walks the component schemas by their
// `x-kubernetes-group-version-kind`. Built-in schemas come from builtin-schemas.ts, custom
// resources from their CRD's openAPIV3Schema.
import { createHash } from 'node:crypto';
import { objectMetaSchema, statusSchema } from './builtin-schemas.ts';
import { clone } from './json.ts';
import type { JsonObject } from './json.ts';
import type { ResourceRegistry, ResourceType } from './resources.ts';
import type { Schema } from './schema.ts';
import { TIME_EXTENSION } from './times.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const REF_OBJECT_META = `#/components/schemas/${META}.ObjectMeta`;
const REF_LIST_META = `#/components/schemas/${META}.ListMeta`;
const REF_STATUS = `#/components/schemas/${META}.Status`;
const REF_DELETE_OPTIONS = `#/components/schemas/${META}.DeleteOptions`;
const REF_PATCH = `#/components/schemas/${META}.Patch`;

/** The component name the real apiserver uses, e.g. io.k8s.api.core.v1.Pod or ai.vllm.x.v1alpha1.Foo. */
export function componentName(rt: ResourceType, kind = rt.kind): string {
  if (rt.crd) return `${rt.group.split('.').reverse().join('.')}.${rt.version}.${kind}`;
  if (rt.group === 'apiextensions.k8s.io')
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${rt.version}.${kind}`;
  const g = rt.group === '' ? 'core' : rt.group.replace(/\.k8s\.io$/, '');
  return `io.k8s.api.${g}.${rt.version}.${kind}`;
}

function gvk(rt: ResourceType, kind = rt.kind): JsonObject {
  return { group: rt.group, version: rt.version, kind };
}

/** Drops the emulator's private extensions from a published schema. */
function published(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(published);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => k !== TIME_EXTENSION)
      .map(([k, v]) => [k, published(v)]),
  );
}

function kindSchema(rt: ResourceType): Schema {
  const schema = published(clone(rt.schema)) as Schema;
  schema.properties = {
    apiVersion: {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    },
    kind: {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents.',
    },
    ...schema.properties,
    metadata: { allOf: [{ $ref: REF_OBJECT_META } as Schema], default: {} },
  };
  schema.type ??= 'object';
  schema['x-kubernetes-group-version-kind'] = [gvk(rt)];
  return schema;
}

function listSchema(rt: ResourceType): Schema {
  return {
    type: 'object',
    required: ['items'],
    description: `${rt.listKind} is a list of ${rt.kind}`,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      items: {
        type: 'array',
        items: { allOf: [{ $ref: `#/components/schemas/${componentName(rt)}` } as Schema], default: {} },
      },
      metadata: { allOf: [{ $ref: REF_LIST_META } as Schema], default: {} },
    },
    'x-kubernetes-group-version-kind': [gvk(rt, rt.listKind)],
  };
}

function queryParam(name: string, description: string): JsonObject {
  return {
    name,
    in: 'query',
    description,
    schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
  };
}

const WRITE_PARAMS = [
  queryParam(
    'dryRun',
    'When present, indicates that modifications should not be persisted. Valid value: All.',
  ),
  queryParam(
    'fieldManager',
    'fieldManager is a name associated with the actor or entity that is making these changes.',
  ),
  queryParam(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default), Strict.',
  ),
];

function jsonContent(ref: string): JsonObject {
  return { 'application/json': { schema: { $ref: ref } }, 'application/yaml': { schema: { $ref: ref } } };
}

function operation(
  rt: ResourceType,
  action: string,
  verb: string,
  ref: string,
  extra: JsonObject = {},
): JsonObject {
  return {
    tags: [rt.group ? `${rt.group.replaceAll('.', '_')}_${rt.version}` : `core_${rt.version}`],
    description: `${verb} ${rt.kind}`,
    operationId: `${verb}${rt.group ? '' : 'Core'}${rt.version}${rt.namespaced ? 'Namespaced' : ''}${rt.kind}`,
    responses: {
      '200': { description: 'OK', content: jsonContent(ref) },
      '401': { description: 'Unauthorized' },
    },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(rt),
    ...extra,
  };
}

function paths(rt: ResourceType): Record<string, JsonObject> {
  const base = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const collection = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.plural}` : `${base}/${rt.plural}`;
  const item = `${collection}/{name}`;
  const objRef = `#/components/schemas/${componentName(rt)}`;
  const listRef = `#/components/schemas/${componentName(rt, rt.listKind)}`;
  const pathParams: JsonObject[] = [
    { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
  ];
  const nsParams: JsonObject[] = rt.namespaced
    ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }]
    : [];
  const body = (ref: string): JsonObject => ({ content: jsonContent(ref), required: true });
  const patchTypes = [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
  ];
  if (rt.strategicMerge) patchTypes.push('application/strategic-merge-patch+json');
  const patchBody: JsonObject = {
    content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { $ref: REF_PATCH } }])),
    required: true,
  };
  const patchParams = [...WRITE_PARAMS, queryParam('force', 'Force is going to "force" Apply requests.')];
  const out: Record<string, JsonObject> = {
    [collection]: {
      get: operation(rt, 'list', 'list', listRef, {
        parameters: [
          queryParam('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
          queryParam('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
        ],
      }),
      post: operation(rt, 'post', 'create', objRef, { parameters: WRITE_PARAMS, requestBody: body(objRef) }),
      delete: operation(rt, 'deletecollection', 'deletecollection', REF_STATUS, {
        requestBody: { content: jsonContent(REF_DELETE_OPTIONS) },
      }),
      parameters: nsParams,
    },
    [item]: {
      get: operation(rt, 'get', 'read', objRef),
      put: operation(rt, 'put', 'replace', objRef, { parameters: WRITE_PARAMS, requestBody: body(objRef) }),
      patch: operation(rt, 'patch', 'patch', objRef, { parameters: patchParams, requestBody: patchBody }),
      delete: operation(rt, 'delete', 'delete', objRef, {
        requestBody: { content: jsonContent(REF_DELETE_OPTIONS) },
      }),
      parameters: [...pathParams, ...nsParams],
    },
  };
  for (const sub of rt.subresources.filter((s) => s === 'status')) {
    out[`${item}/${sub}`] = {
      get: operation(rt, 'get', 'read', objRef),
      put: operation(rt, 'put', 'replace', objRef, { parameters: WRITE_PARAMS, requestBody: body(objRef) }),
      patch: operation(rt, 'patch', 'patch', objRef, { parameters: patchParams, requestBody: patchBody }),
      parameters: [...pathParams, ...nsParams],
    };
  }
  if (rt.namespaced) out[`${base}/${rt.plural}`] = { get: operation(rt, 'list', 'list', listRef) };
  return out;
}

const META_COMPONENTS: Record<string, Schema> = {
  [`${META}.ObjectMeta`]: published(objectMetaSchema) as Schema,
  [`${META}.ListMeta`]: {
    type: 'object',
    properties: {
      resourceVersion: { type: 'string' },
      continue: { type: 'string' },
      remainingItemCount: { type: 'integer', format: 'int64' },
    },
  },
  [`${META}.Status`]: {
    ...statusSchema,
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
  [`${META}.DeleteOptions`]: {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      dryRun: { type: 'array', items: { type: 'string' } },
      gracePeriodSeconds: { type: 'integer', format: 'int64' },
      orphanDependents: { type: 'boolean' },
      preconditions: {
        type: 'object',
        properties: { uid: { type: 'string' }, resourceVersion: { type: 'string' } },
      },
      propagationPolicy: { type: 'string' },
    },
  },
  [`${META}.Patch`]: {
    type: 'object',
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
  },
};

/** The OpenAPI v3 document of one group-version, or undefined when nothing is served there. */
export function groupVersionDocument(
  registry: ResourceRegistry,
  group: string,
  version: string,
): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const schemas: Record<string, Schema> = { ...META_COMPONENTS };
  let allPaths: Record<string, JsonObject> = {};
  for (const rt of types) {
    schemas[componentName(rt)] = kindSchema(rt);
    schemas[componentName(rt, rt.listKind)] = listSchema(rt);
    allPaths = { ...allPaths, ...paths(rt) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.33.0' },
    paths: allPaths,
    components: { schemas },
  };
}

/** Path key of a group-version in the /openapi/v3 index (`api/v1`, `apis/g/v`). */
export function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function documentHash(doc: JsonObject): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}
