// Kubernetes protobuf request bodies, decoded for the few kinds typed Go clients send that
// way to an apiserver that speaks it: Helm stores releases in Secrets (or ConfigMaps) and
// creates Namespaces and deletes through client-go's typed clients, which default to
// protobuf. Responses stay JSON (those clients accept it). Other kinds are refused with 415.
import { unsupportedMediaType } from './errors.ts';
import type { JsonObject } from './json.ts';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  no: number;
  wire: number;
  varint: bigint;
  bytes: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos];
    if (b === undefined) throw new Error('truncated varint');
    pos++;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    pos = next;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p] = readVarint(buf, pos);
      out.push({ no, wire, varint: v, bytes: Buffer.alloc(0) });
      pos = p;
    } else if (wire === 2) {
      const [len, p] = readVarint(buf, pos);
      const end = p + Number(len);
      out.push({ no, wire, varint: 0n, bytes: buf.subarray(p, end) });
      pos = end;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      out.push({ no, wire, varint: 0n, bytes: buf.subarray(pos, pos + size) });
      pos += size;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

type Decoder = (f: Field) => unknown;

const string: Decoder = (f) => f.bytes.toString('utf8');
const int: Decoder = (f) => Number(BigInt.asIntN(64, f.varint));
const bool: Decoder = (f) => f.varint !== 0n;
const bytes: Decoder = (f) => f.bytes.toString('base64');

function time(f: Field): string {
  let seconds = 0;
  for (const t of fields(f.bytes)) if (t.no === 1) seconds = Number(BigInt.asIntN(64, t.varint));
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface FieldSpec {
  name: string;
  decode: Decoder;
  kind?: 'repeated' | 'map';
}

function message(specs: Record<number, FieldSpec>): Decoder {
  return (f) => decodeMessage(f.bytes, specs);
}

function mapOf(value: Decoder): FieldSpec['decode'] {
  return (f) => {
    let k = '';
    let v: unknown;
    for (const e of fields(f.bytes)) {
      if (e.no === 1) k = e.bytes.toString('utf8');
      if (e.no === 2) v = value(e);
    }
    return [k, v ?? ''];
  };
}

function decodeMessage(buf: Buffer, specs: Record<number, FieldSpec>): JsonObject {
  const out: JsonObject = {};
  for (const f of fields(buf)) {
    const spec = specs[f.no];
    if (!spec) continue;
    const value = spec.decode(f);
    if (spec.kind === 'repeated') {
      const list = Array.isArray(out[spec.name]) ? (out[spec.name] as unknown[]) : [];
      list.push(value);
      out[spec.name] = list;
    } else if (spec.kind === 'map') {
      const map = (out[spec.name] ?? {}) as JsonObject;
      const [k, v] = value as [string, unknown];
      map[k] = v;
      out[spec.name] = map;
    } else {
      out[spec.name] = value;
    }
  }
  return out;
}

const ownerReference = message({
  1: { name: 'kind', decode: string },
  3: { name: 'name', decode: string },
  4: { name: 'uid', decode: string },
  5: { name: 'apiVersion', decode: string },
  6: { name: 'controller', decode: bool },
  7: { name: 'blockOwnerDeletion', decode: bool },
});

const objectMeta = message({
  1: { name: 'name', decode: string },
  2: { name: 'generateName', decode: string },
  3: { name: 'namespace', decode: string },
  5: { name: 'uid', decode: string },
  6: { name: 'resourceVersion', decode: string },
  7: { name: 'generation', decode: int },
  8: { name: 'creationTimestamp', decode: time },
  9: { name: 'deletionTimestamp', decode: time },
  10: { name: 'deletionGracePeriodSeconds', decode: int },
  11: { name: 'labels', decode: mapOf(string), kind: 'map' },
  12: { name: 'annotations', decode: mapOf(string), kind: 'map' },
  13: { name: 'ownerReferences', decode: ownerReference, kind: 'repeated' },
  14: { name: 'finalizers', decode: string, kind: 'repeated' },
});

const KINDS: Record<string, Record<number, FieldSpec>> = {
  Secret: {
    1: { name: 'metadata', decode: objectMeta },
    2: { name: 'data', decode: mapOf(bytes), kind: 'map' },
    3: { name: 'type', decode: string },
    4: { name: 'stringData', decode: mapOf(string), kind: 'map' },
    5: { name: 'immutable', decode: bool },
  },
  ConfigMap: {
    1: { name: 'metadata', decode: objectMeta },
    2: { name: 'data', decode: mapOf(string), kind: 'map' },
    3: { name: 'binaryData', decode: mapOf(bytes), kind: 'map' },
    4: { name: 'immutable', decode: bool },
  },
  Namespace: {
    1: { name: 'metadata', decode: objectMeta },
    2: { name: 'spec', decode: message({ 1: { name: 'finalizers', decode: string, kind: 'repeated' } }) },
  },
  DeleteOptions: {
    1: { name: 'gracePeriodSeconds', decode: int },
    2: {
      name: 'preconditions',
      decode: message({ 1: { name: 'uid', decode: string }, 2: { name: 'resourceVersion', decode: string } }),
    },
    3: { name: 'orphanDependents', decode: bool },
    4: { name: 'propagationPolicy', decode: string },
    5: { name: 'dryRun', decode: string, kind: 'repeated' },
  },
};

/** Decodes a `k8s\0`-framed runtime.Unknown into the JSON form of its object. */
export function decodeProtobuf(raw: Buffer): JsonObject {
  const refuse = (why: string) =>
    Object.assign(unsupportedMediaType(PROTOBUF, ['application/json', 'application/yaml']), {
      message: `the body of the request was in an unknown format (${why}) - accepted media types include: application/json, application/yaml`,
    });
  if (!raw.subarray(0, 4).equals(MAGIC)) throw refuse('missing k8s protobuf prefix');
  let apiVersion = '';
  let kind = '';
  let inner: Buffer = Buffer.alloc(0);
  try {
    for (const f of fields(raw.subarray(4))) {
      if (f.no === 1) {
        for (const t of fields(f.bytes)) {
          if (t.no === 1) apiVersion = t.bytes.toString('utf8');
          if (t.no === 2) kind = t.bytes.toString('utf8');
        }
      }
      if (f.no === 2) inner = f.bytes;
    }
    const specs = KINDS[kind];
    if (!specs) throw refuse(`protobuf ${kind || 'object'} is not decoded by the emulator`);
    return { apiVersion, kind, ...decodeMessage(inner, specs) };
  } catch (e) {
    if (e instanceof Error && 'code' in e) throw e;
    throw refuse(e instanceof Error ? e.message : 'malformed protobuf');
  }
}
