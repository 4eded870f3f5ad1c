// Strategic merge patch, the patch type kubectl sends for built-in kinds (apply, edit,
// label, annotate): lists merge by the `x-kubernetes-patch-merge-key` the schema declares,
// and `$patch`, `$retainKeys`, `$setElementOrder/…` and `$deleteFromPrimitiveList/…`
// directives are honoured.
import { badRequest } from './errors.ts';
import { clone, deepEqual, isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { childSchema, isAtomicMap } from './schema.ts';
import type { Schema } from './schema.ts';

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

type ListStrategy = { merge: false } | { merge: true; key: string | undefined };

function strategyOf(schema: Schema | undefined): ListStrategy {
  const strategies = (schema?.['x-kubernetes-patch-strategy'] ?? '').split(',');
  if (!strategies.includes('merge')) return { merge: false };
  return { merge: true, key: schema?.['x-kubernetes-patch-merge-key'] };
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value))
    return value
      .filter((v) => !(isObject(v) && v.$patch === 'replace' && Object.keys(v).length === 1))
      .map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM))
      continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

function mergeList(original: unknown, patch: unknown[], schema: Schema | undefined): unknown[] {
  const strategy = strategyOf(schema);
  if (!strategy.merge) return stripDirectives(patch) as unknown[];
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return stripDirectives(patch) as unknown[];
  const result = Array.isArray(original) ? clone(original) : [];
  const itemSchema = schema?.items;
  if (!strategy.key) {
    for (const p of patch) if (!result.some((r) => deepEqual(r, p))) result.push(clone(p));
    return result;
  }
  const key = strategy.key;
  for (const p of patch) {
    if (!isObject(p)) {
      result.push(clone(p));
      continue;
    }
    const at = result.findIndex((r) => isObject(r) && deepEqual(r[key], p[key]));
    if (p.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const merged = mergeObject(result[at] as JsonObject, p, itemSchema);
      if (merged === undefined) result.splice(at, 1);
      else result[at] = merged;
    } else {
      const created = mergeObject(undefined, p, itemSchema);
      if (created !== undefined) result.push(created);
    }
  }
  return result;
}

function reorder(list: unknown, order: unknown, schema: Schema | undefined): unknown {
  if (!Array.isArray(list) || !Array.isArray(order)) return list;
  const key = strategyOf(schema).merge ? schema?.['x-kubernetes-patch-merge-key'] : undefined;
  const same = (item: unknown, o: unknown): boolean =>
    key && isObject(item) && isObject(o) ? deepEqual(item[key], o[key]) : deepEqual(item, o);
  const ordered: unknown[] = [];
  for (const o of order) {
    const found: unknown = (list as unknown[]).find((item) => same(item, o));
    if (found !== undefined && !ordered.includes(found)) ordered.push(found);
  }
  for (const item of list) if (!ordered.includes(item)) ordered.push(item);
  return ordered;
}

function mergeObject(
  original: JsonObject | undefined,
  patch: JsonObject,
  schema: Schema | undefined,
): JsonObject | undefined {
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') return stripDirectives(patch) as JsonObject;
  const result: JsonObject = original ? clone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM))
      continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const child = childSchema(schema, key);
    if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, child);
    } else if (isObject(value)) {
      const base = isObject(result[key]) && !isAtomicMap(child) ? result[key] : undefined;
      const merged = mergeObject(base, value, child);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM) && Array.isArray(value)) {
      const field = key.slice(DELETE_FROM.length);
      const list = result[field];
      if (Array.isArray(list)) result[field] = list.filter((item) => !value.some((v) => deepEqual(v, item)));
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(SET_ORDER)) {
      const field = key.slice(SET_ORDER.length);
      result[field] = reorder(result[field], value, childSchema(schema, field));
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}

/** Applies a strategic merge patch to a copy of `original`, guided by the type's schema. */
export function strategicMergePatch(original: JsonObject, patch: unknown, schema: Schema): JsonObject {
  if (!isObject(patch)) {
    throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
  }
  return mergeObject(original, patch, schema) ?? {};
}
