// Structural schemas (the OpenAPI v3 subset CRDs and our built-in kinds are described with):
// pruning of unknown fields, defaulting, and the list/map semantics that patches and
// server-side apply read from the `x-kubernetes-*` extensions.
import { clone, isObject } from './json.ts';
import type { JsonObject } from './json.ts';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  title?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  example?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-validations'?: ValidationRule[];
  [extension: `x-${string}`]: unknown;
}

/** ObjectMeta fields a client may send; anything else under metadata is unknown and pruned. */
export const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** The schema of a child field, or undefined when the schema does not know it. */
export function childSchema(schema: Schema | undefined, key: string): Schema | undefined {
  if (!schema) return undefined;
  const prop = schema.properties?.[key];
  if (prop) return prop;
  if (isObject(schema.additionalProperties)) return schema.additionalProperties;
  if (schema['x-kubernetes-preserve-unknown-fields'] === true)
    return { 'x-kubernetes-preserve-unknown-fields': true };
  return undefined;
}

function preservesUnknown(schema: Schema): boolean {
  return schema['x-kubernetes-preserve-unknown-fields'] === true;
}

function joinPath(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

function pruneMetadata(meta: unknown, path: string, pruned: string[]): void {
  if (!isObject(meta)) return;
  for (const key of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(key)) {
      pruned.push(joinPath(path, key));
      delete meta[key];
    }
  }
}

function pruneNode(
  value: unknown,
  schema: Schema | undefined,
  path: string,
  pruned: string[],
  isResource: boolean,
): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items) value.forEach((item, i) => pruneNode(item, items, `${path}[${i}]`, pruned, false));
    return;
  }
  if (!isObject(value)) return;
  const embedded = isResource || schema['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    const childPath = joinPath(path, key);
    if (embedded && (key === 'apiVersion' || key === 'kind')) continue;
    if (embedded && key === 'metadata') {
      pruneMetadata(value[key], childPath, pruned);
      continue;
    }
    const prop = schema.properties?.[key];
    if (prop) {
      pruneNode(value[key], prop, childPath, pruned, false);
    } else if (isObject(schema.additionalProperties)) {
      pruneNode(value[key], schema.additionalProperties, childPath, pruned, false);
    } else if (schema.additionalProperties === true || preservesUnknown(schema)) {
      continue;
    } else {
      pruned.push(childPath);
      delete value[key];
    }
  }
}

/**
 * Drops fields the schema does not declare, in place, as the apiserver's structural pruning
 * does, and returns their paths (`spec.foo`, `spec.items[0].bar`) for strict validation.
 */
export function prune(obj: JsonObject, schema: Schema): string[] {
  const pruned: string[] = [];
  pruneNode(obj, schema, '', pruned, true);
  return pruned;
}

function defaultNode(value: unknown, schema: Schema | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) defaultNode(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const current = value[key];
    if (
      prop.default !== undefined &&
      (current === undefined || (current === null && prop.nullable !== true))
    ) {
      value[key] = clone(prop.default);
    }
    defaultNode(value[key], prop);
  }
  if (isObject(schema.additionalProperties)) {
    const add = schema.additionalProperties as Schema;
    for (const key of Object.keys(value)) {
      if (!schema.properties?.[key]) defaultNode(value[key], add);
    }
  }
}

/** Applies `default` values top-down, in place (structural defaulting). */
export function applyDefaults(obj: JsonObject, schema: Schema): void {
  defaultNode(obj, schema);
}

// ---- list and map semantics ----

export type ListSemantics = { kind: 'atomic' } | { kind: 'set' } | { kind: 'map'; keys: string[] };

/**
 * How a list merges: associative by keys (`x-kubernetes-list-type: map` or a strategic merge
 * key), a set of scalars, or atomic (replaced whole), which is the default.
 */
export function listSemantics(schema: Schema | undefined): ListSemantics {
  if (!schema) return { kind: 'atomic' };
  const type = schema['x-kubernetes-list-type'];
  if (type === 'map') return { kind: 'map', keys: schema['x-kubernetes-list-map-keys'] ?? [] };
  if (type === 'set') return { kind: 'set' };
  if (type === 'atomic') return { kind: 'atomic' };
  const strategy = schema['x-kubernetes-patch-strategy'] ?? '';
  const mergeKey = schema['x-kubernetes-patch-merge-key'];
  if (strategy.split(',').includes('merge')) {
    if (mergeKey) return { kind: 'map', keys: [mergeKey] };
    return { kind: 'set' };
  }
  return { kind: 'atomic' };
}

/** True when a map is replaced whole (`x-kubernetes-map-type: atomic`). */
export function isAtomicMap(schema: Schema | undefined): boolean {
  return schema?.['x-kubernetes-map-type'] === 'atomic';
}
