// Field ownership, as server-side apply tracks it in `metadata.managedFields`: every write
// records which fields its manager set (operation Update), an apply records the fields in
// its configuration (operation Apply), re-applying without a field removes it if nobody else
// owns it, and applying a value another manager owns is a 409 conflict unless forced.
// Paths use the FieldsV1 encoding (`f:name`, `k:{"name":"x"}`, `v:"x"`).
import { StatusError } from './errors.ts';
import { clone, deepEqual, isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import type { KubeObject } from './meta.ts';
import { nowTimestamp } from './meta.ts';
import { apiVersionOf } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { childSchema, isAtomicMap, listSemantics } from './schema.ts';
import type { Schema } from './schema.ts';

type Path = string[];

/** Field paths of an object: `leaves` carry values, `items` are list-map entries owned for their existence. */
interface Fields {
  leaves: Set<string>;
  items: Set<string>;
}

const TRACKED_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

function key(path: Path): string {
  return JSON.stringify(path);
}

function unkey(k: string): Path {
  return JSON.parse(k) as Path;
}

/**
 * The `k:` element of a list-map entry. A key field the entry leaves out takes its schema
 * default (a port's protocol is TCP), as structured-merge-diff does, so an applied
 * configuration without it names the same entry as the defaulted stored object.
 */
function itemKey(item: JsonObject, keys: string[], itemSchema: Schema | undefined): string {
  const picked: JsonObject = {};
  for (const k of [...keys].sort()) {
    const v = item[k] ?? itemSchema?.properties?.[k]?.default;
    if (v !== undefined) picked[k] = v;
  }
  return `k:${JSON.stringify(picked)}`;
}

function collect(value: unknown, schema: Schema | undefined, prefix: Path, out: Fields): void {
  if (Array.isArray(value)) {
    const sem = listSemantics(schema);
    if (
      sem.kind === 'map' &&
      sem.keys.length > 0 &&
      value.every((v) => isObject(v) && sem.keys.some((k) => v[k] !== undefined))
    ) {
      for (const item of value as JsonObject[]) {
        const at = [...prefix, itemKey(item, sem.keys, schema?.items)];
        out.items.add(key(at));
        collect(item, schema?.items, at, out);
      }
    } else if (sem.kind === 'set' && value.every((v) => !isObject(v) && !Array.isArray(v))) {
      for (const item of value) out.leaves.add(key([...prefix, `v:${JSON.stringify(item)}`]));
    } else {
      out.leaves.add(key(prefix));
    }
    return;
  }
  if (isObject(value) && !isAtomicMap(schema) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value))
      collect(v, childSchema(schema, k), [...prefix, `f:${k}`], out);
    return;
  }
  if (prefix.length > 0) out.leaves.add(key(prefix));
}

function fieldsOf(obj: KubeObject, rt: ResourceType, scope: 'all' | 'status' | 'main'): Fields {
  const out: Fields = { leaves: new Set(), items: new Set() };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && scope === 'main' && rt.subresources.includes('status')) continue;
    if (k !== 'status' && scope === 'status') continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      for (const m of TRACKED_METADATA) {
        if (v[m] !== undefined)
          collect(v[m], childSchema(childSchema(rt.schema, 'metadata'), m), ['f:metadata', `f:${m}`], out);
      }
      continue;
    }
    collect(v, childSchema(rt.schema, k), [`f:${k}`], out);
  }
  return out;
}

function allPaths(f: Fields): Set<string> {
  return new Set([...f.leaves, ...f.items]);
}

/** The schema of the child at one path element (list entries share the items schema). */
function childAt(schema: Schema | undefined, element: string): Schema | undefined {
  return element.startsWith('f:') ? childSchema(schema, element.slice(2)) : schema?.items;
}

function step(value: unknown, element: string, schema: Schema | undefined): unknown {
  if (element.startsWith('f:')) return isObject(value) ? value[element.slice(2)] : undefined;
  if (!Array.isArray(value)) return undefined;
  if (element.startsWith('k:')) {
    // An entry is identified by all its list-map keys, exactly as it was encoded.
    const sem = listSemantics(schema);
    const keys = sem.kind === 'map' ? sem.keys : Object.keys(JSON.parse(element.slice(2)) as JsonObject);
    return (value as unknown[]).find(
      (item) => isObject(item) && itemKey(item, keys, schema?.items) === element,
    );
  }
  if (element.startsWith('v:')) {
    const want: unknown = JSON.parse(element.slice(2));
    return (value as unknown[]).find((item) => deepEqual(item, want));
  }
  return undefined;
}

function valueAt(obj: unknown, path: Path, rootSchema: Schema): unknown {
  let cur = obj;
  let schema: Schema | undefined = rootSchema;
  for (const el of path) {
    cur = step(cur, el, schema);
    schema = childAt(schema, el);
  }
  return cur;
}

function removeAt(obj: unknown, path: Path, rootSchema: Schema): void {
  let parentSchema: Schema | undefined = rootSchema;
  for (const el of path.slice(0, -1)) parentSchema = childAt(parentSchema, el);
  const parent = valueAt(obj, path.slice(0, -1), rootSchema);
  const last = path.at(-1);
  if (last === undefined) return;
  if (last.startsWith('f:') && isObject(parent)) {
    delete parent[last.slice(2)];
  } else if (Array.isArray(parent)) {
    const target = step(parent, last, parentSchema);
    const i = (parent as unknown[]).indexOf(target);
    if (i >= 0) parent.splice(i, 1);
  }
}

// ---- FieldsV1 encoding ----

function toTree(paths: Set<string>): JsonObject {
  const root: JsonObject = {};
  const parsed = [...paths].map(unkey);
  for (const p of parsed) {
    let node = root;
    for (const el of p) {
      const child = node[el];
      node = isObject(child) ? child : (node[el] = {});
    }
  }
  // A path that is itself owned and also has owned children is marked with ".".
  for (const p of parsed) {
    let cur: JsonObject = root;
    for (const el of p) cur = cur[el] as JsonObject;
    if (Object.keys(cur).some((k) => k !== '.')) cur['.'] = {};
  }
  return root;
}

function fromTree(tree: unknown, prefix: Path, out: Set<string>): void {
  if (!isObject(tree)) return;
  for (const [k, child] of Object.entries(tree)) {
    if (k === '.') {
      out.add(key(prefix));
      continue;
    }
    if (isObject(child) && Object.keys(child).length === 0) out.add(key([...prefix, k]));
    else fromTree(child, [...prefix, k], out);
  }
}

interface Entry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource: string | undefined;
  paths: Set<string>;
}

function parse(managed: unknown): Entry[] {
  if (!Array.isArray(managed)) return [];
  const out: Entry[] = [];
  for (const m of managed) {
    if (!isObject(m) || typeof m.manager !== 'string') continue;
    const paths = new Set<string>();
    fromTree(m.fieldsV1, [], paths);
    out.push({
      manager: m.manager,
      operation: m.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof m.apiVersion === 'string' ? m.apiVersion : '',
      time: typeof m.time === 'string' ? m.time : nowTimestamp(),
      subresource: typeof m.subresource === 'string' ? m.subresource : undefined,
      paths,
    });
  }
  return out;
}

function serialize(entries: Entry[]): unknown[] | undefined {
  const out = entries
    .filter((e) => e.paths.size > 0)
    .map((e) => {
      const m: JsonObject = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: 'FieldsV1',
        fieldsV1: toTree(e.paths),
      };
      if (e.subresource) m.subresource = e.subresource;
      return m;
    });
  return out.length > 0 ? out : undefined;
}

function entryFor(
  entries: Entry[],
  manager: string,
  operation: Entry['operation'],
  subresource: string | undefined,
  rt: ResourceType,
): Entry {
  let e = entries.find(
    (x) => x.manager === manager && x.operation === operation && x.subresource === subresource,
  );
  if (!e) {
    e = {
      manager,
      operation,
      apiVersion: apiVersionOf(rt),
      time: nowTimestamp(),
      subresource,
      paths: new Set(),
    };
    entries.push(e);
  }
  e.time = nowTimestamp();
  e.apiVersion = apiVersionOf(rt);
  return e;
}

/** managedFields after a non-apply write by `manager`: it owns what it changed. */
export function recordUpdate(
  old: KubeObject | undefined,
  next: KubeObject,
  rt: ResourceType,
  manager: string,
  subresource: string | undefined,
): unknown[] | undefined {
  const entries = parse(old?.metadata.managedFields);
  if (!manager) return serialize(entries);
  const scope = subresource === 'status' ? 'status' : 'main';
  const before = old ? fieldsOf(old, rt, scope) : { leaves: new Set<string>(), items: new Set<string>() };
  const after = fieldsOf(next, rt, scope);
  const changed = new Set<string>();
  for (const p of after.leaves) {
    if (
      !before.leaves.has(p) ||
      !deepEqual(valueAt(old, unkey(p), rt.schema), valueAt(next, unkey(p), rt.schema))
    )
      changed.add(p);
  }
  for (const p of after.items) if (!before.items.has(p)) changed.add(p);
  const afterAll = allPaths(after);
  const removed = [...allPaths(before)].filter((p) => !afterAll.has(p));
  for (const e of entries) {
    for (const p of removed) e.paths.delete(p);
    for (const p of changed) e.paths.delete(p);
  }
  if (changed.size > 0) {
    const own = entryFor(entries, manager, 'Update', subresource, rt);
    for (const p of changed) own.paths.add(p);
  }
  return serialize(entries);
}

/** managedFields of an object created by server-side apply. */
export function recordApply(
  created: KubeObject,
  config: KubeObject,
  rt: ResourceType,
  manager: string,
): unknown[] | undefined {
  const entries = parse(undefined);
  const own = entryFor(entries, manager, 'Apply', undefined, rt);
  for (const p of allPaths(fieldsOf(config, rt, 'main'))) {
    if (valueAt(created, unkey(p), rt.schema) !== undefined) own.paths.add(p);
  }
  return serialize(entries);
}

function mergeValue(current: unknown, config: unknown, schema: Schema | undefined): unknown {
  if (Array.isArray(config)) {
    const sem = listSemantics(schema);
    if (!Array.isArray(current) || sem.kind === 'atomic') return clone(config);
    const result = clone(current);
    if (sem.kind === 'set') {
      for (const c of config) if (!result.some((r) => deepEqual(r, c))) result.push(clone(c));
      return result;
    }
    for (const c of config) {
      if (!isObject(c)) continue;
      const key = itemKey(c, sem.keys, schema?.items);
      const at = result.findIndex((r) => isObject(r) && itemKey(r, sem.keys, schema?.items) === key);
      if (at >= 0) result[at] = mergeValue(result[at], c, schema?.items);
      else result.push(clone(c));
    }
    return result;
  }
  if (isObject(config) && isObject(current) && !isAtomicMap(schema)) {
    const result = clone(current);
    for (const [k, v] of Object.entries(config)) result[k] = mergeValue(result[k], v, childSchema(schema, k));
    return result;
  }
  return clone(config);
}

function display(path: Path): string {
  return path
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('k:')) {
        const keys = JSON.parse(el.slice(2)) as JsonObject;
        return `[${Object.entries(keys)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[=${el.slice(2)}]`;
    })
    .join('');
}

/**
 * Server-side apply of `config` by `manager` over `existing`: conflicts with other owners
 * (409 unless `force`), merge, and removal of fields this manager applied before but no
 * longer does and nobody else owns.
 */
export function serverSideApply(
  existing: KubeObject,
  config: KubeObject,
  rt: ResourceType,
  manager: string,
  force: boolean,
  subresource: string | undefined,
): { object: KubeObject; managedFields: unknown[] | undefined } {
  const entries = parse(existing.metadata.managedFields);
  const scope = subresource === 'status' ? 'status' : 'main';
  const applied = fieldsOf(config, rt, scope);
  const appliedAll = allPaths(applied);
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  for (const e of entries) {
    if (e.manager === manager && e.operation === 'Apply') continue;
    for (const p of applied.leaves) {
      if (
        e.paths.has(p) &&
        !deepEqual(valueAt(existing, unkey(p), rt.schema), valueAt(config, unkey(p), rt.schema))
      ) {
        conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: display(unkey(p)) });
        if (force) e.paths.delete(p);
      }
    }
  }
  if (conflicts.length > 0 && !force) {
    const n = conflicts.length;
    const first = conflicts[0];
    const message =
      n === 1 && first
        ? `Apply failed with 1 conflict: conflict with "${first.manager}" using ${first.apiVersion}: ${first.path}`
        : `Apply failed with ${n} conflicts: ${conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${c.path}`).join('\n')}`;
    throw new StatusError(409, 'Conflict', message, {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with "${c.manager}" using ${c.apiVersion}`,
        field: c.path,
      })),
    });
  }
  const merged = clone(existing);
  for (const [k, v] of Object.entries(config)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (scope === 'status' && k !== 'status') continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      const metaSchema = childSchema(rt.schema, 'metadata');
      for (const m of TRACKED_METADATA) {
        if (v[m] !== undefined)
          merged.metadata[m] = mergeValue(merged.metadata[m], v[m], childSchema(metaSchema, m));
      }
      continue;
    }
    merged[k] = mergeValue(merged[k], v, childSchema(rt.schema, k));
  }
  const own = entryFor(entries, manager, 'Apply', subresource, rt);
  const othersOwn = new Set(entries.filter((e) => e !== own).flatMap((e) => [...e.paths]));
  const stale = [...own.paths].filter((p) => !appliedAll.has(p) && !othersOwn.has(p));
  for (const p of stale.sort((a, b) => unkey(b).length - unkey(a).length))
    removeAt(merged, unkey(p), rt.schema);
  own.paths = appliedAll;
  return { object: merged, managedFields: serialize(entries) };
}
