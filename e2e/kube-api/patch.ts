// JSON merge patch (RFC 7386) and JSON patch (RFC 6902), applied to a copy of the stored object.
import { StatusError, badRequest } from './errors.ts';
import { clone, deepEqual, isObject } from './json.ts';
import type { JsonObject } from './json.ts';

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

class PatchFailure extends Error {}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchFailure(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchFailure(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) {
    throw new PatchFailure(`array index ${i} out of bounds`);
  }
  return i;
}

function parentOf(doc: unknown, path: string[]): { parent: unknown; last: string } {
  let cur = doc;
  for (const token of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, token, false)];
    else if (isObject(cur) && token in cur) cur = cur[token];
    else throw new PatchFailure(`doc is missing path: "/${path.join('/')}"`);
  }
  const last = path.at(-1);
  if (last === undefined) throw new PatchFailure('operation on the document root');
  return { parent: cur, last };
}

function getAt(doc: unknown, path: string[]): unknown {
  let cur = doc;
  for (const token of path) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, token, false)];
    else if (isObject(cur) && token in cur) cur = cur[token];
    else throw new PatchFailure(`doc is missing path: "/${path.join('/')}"`);
  }
  return cur;
}

function add(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, clone(value));
  else if (isObject(parent)) parent[last] = clone(value);
  else throw new PatchFailure(`doc is missing path: "/${path.join('/')}"`);
  return doc;
}

function remove(doc: unknown, path: string[]): unknown {
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isObject(parent) && last in parent) delete parent[last];
  else throw new PatchFailure(`unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

/** RFC 6902 operations in order; any failure rejects the whole patch with 422, as the apiserver does. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  try {
    for (const op of operations) {
      if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
        throw new PatchFailure('invalid operation');
      }
      const path = parsePointer(op.path);
      switch (op.op) {
        case 'add':
          doc = add(doc, path, op.value);
          break;
        case 'remove':
          doc = remove(doc, path);
          break;
        case 'replace':
          getAt(doc, path);
          doc = path.length === 0 ? clone(op.value) : add(remove(doc, path), path, op.value);
          break;
        case 'move':
        case 'copy': {
          if (typeof op.from !== 'string') throw new PatchFailure(`missing from in ${op.op}`);
          const from = parsePointer(op.from);
          const value = clone(getAt(doc, from));
          if (op.op === 'move') doc = remove(doc, from);
          doc = add(doc, path, value);
          break;
        }
        case 'test':
          if (!deepEqual(getAt(doc, path), op.value))
            throw new PatchFailure('testing value ' + op.path + ' failed');
          break;
        default:
          throw new PatchFailure(`Unexpected kind: ${op.op}`);
      }
    }
  } catch (e) {
    if (e instanceof PatchFailure) throw new StatusError(422, 'Invalid', e.message);
    throw e;
  }
  return doc;
}
