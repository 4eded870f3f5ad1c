// OpenAPI v3 schema validation with ajv, reporting errors in the words of the apiserver's
// kube-openapi validator (`spec.ttlSeconds in body should be greater than or equal to 60`),
// so a 422 from the emulator reads like one from a real cluster.
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { fieldErr } from './errors.ts';
import type { FieldError } from './errors.ts';
import { isObject, jsonTypeName } from './json.ts';
import type { Schema } from './schema.ts';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w)\s*)+$/;

function isIpv6(v: string): boolean {
  return v.includes(':') && /^[0-9a-f:.]+$/i.test(v) && v.split('::').length <= 2;
}

/** The string formats the apiserver checks for CRDs; unknown formats are not checked, as there. */
const STRING_FORMATS: Record<string, (v: string) => boolean> = {
  'date-time': (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)),
  datetime: (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  duration: (v) => DURATION.test(v),
  uuid: (v) => UUID.test(v),
  uuid3: (v) => UUID.test(v),
  uuid4: (v) => UUID.test(v),
  uuid5: (v) => UUID.test(v),
  byte: (v) => /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0,
  ipv4: (v) => IPV4.test(v),
  ipv6: isIpv6,
  cidr: (v) => {
    const [ip, bits, extra] = v.split('/');
    return (
      extra === undefined &&
      bits !== undefined &&
      /^\d+$/.test(bits) &&
      (IPV4.test(ip ?? '') || isIpv6(ip ?? ''))
    );
  },
  mac: (v) => MAC.test(v),
  hostname: (v) => HOSTNAME.test(v),
  email: (v) => /^[^@\s]+@[^@\s]+$/.test(v),
  uri: (v) => URL.canParse(v),
};

const ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateFormats: true });
for (const [name, check] of Object.entries(STRING_FORMATS))
  ajv.addFormat(name, { type: 'string', validate: check });
for (const name of ['int32', 'int64', 'float', 'double'])
  ajv.addFormat(name, { type: 'number', validate: () => true });

function nonNullTypes(schema: Schema): string[] {
  if (schema['x-kubernetes-int-or-string'] === true) return ['integer', 'string'];
  return schema.type ? [schema.type] : [];
}

/** Rewrites a structural schema into the JSON Schema draft ajv speaks (OpenAPI 3.0 booleans, nullable). */
function toAjvSchema(schema: Schema, isResource: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const types = nonNullTypes(schema);
  if (types.length > 0)
    out.type = schema.nullable === true ? [...types, 'null'] : types.length === 1 ? types[0] : types;
  if (schema.enum) out.enum = schema.nullable === true ? [...schema.enum, null] : schema.enum;
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum === true) out.exclusiveMinimum = schema.minimum;
    else out.minimum = schema.minimum;
  }
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum === true) out.exclusiveMaximum = schema.maximum;
    else out.maximum = schema.maximum;
  }
  for (const key of [
    'multipleOf',
    'minLength',
    'maxLength',
    'pattern',
    'minItems',
    'maxItems',
    'uniqueItems',
    'minProperties',
    'maxProperties',
  ] as const) {
    if (schema[key] !== undefined) out[key] = schema[key];
  }
  if (
    schema.format &&
    (schema.format in STRING_FORMATS || ['int32', 'int64', 'float', 'double'].includes(schema.format))
  ) {
    out.format = schema.format;
  }
  const embedded = isResource || schema['x-kubernetes-embedded-resource'] === true;
  if (schema.required) {
    out.required = embedded ? schema.required.filter((r) => r !== 'metadata') : schema.required;
  }
  if (schema.properties) {
    const props: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(schema.properties)) {
      // ObjectMeta of a resource is checked by the metadata rules, not by the schema.
      if (embedded && key === 'metadata') continue;
      props[key] = toAjvSchema(child, false);
    }
    out.properties = props;
  }
  if (isObject(schema.additionalProperties)) {
    out.additionalProperties = toAjvSchema(schema.additionalProperties, false);
  }
  if (schema.items) out.items = toAjvSchema(schema.items, false);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (list) out[key] = list.map((s) => toAjvSchema(s, false));
  }
  if (schema.not) out.not = toAjvSchema(schema.not, false);
  return out;
}

const compiled = new WeakMap<Schema, ValidateFunction>();

function validatorFor(schema: Schema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(toAjvSchema(schema, true));
    compiled.set(schema, fn);
  }
  return fn;
}

/** Turns a JSON pointer into the apiserver's field path (`spec.agents[0].name`). */
function fieldPath(data: unknown, pointer: string): { path: string; value: unknown } {
  if (pointer === '') return { path: '', value: data };
  let path = '';
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(cur)) {
      path += `[${key}]`;
      cur = cur[Number(key)];
    } else {
      path = path ? `${path}.${key}` : key;
      cur = isObject(cur) ? cur[key] : undefined;
    }
  }
  return { path, value: cur };
}

function inCombinator(e: ErrorObject): boolean {
  // Errors from inside anyOf/oneOf/not branches are noise; the combinator's own error stands.
  return /\/(anyOf|oneOf|not)\/\d*/.test(e.schemaPath.replace(/\/(anyOf|oneOf|not)$/, ''));
}

function toFieldError(data: unknown, e: ErrorObject, prefix: string): FieldError | undefined {
  const at = fieldPath(data, e.instancePath);
  const full = (p: string): string => (prefix ? (p ? `${prefix}.${p}` : prefix) : p);
  const name = full(at.path);
  const shown = name || '.';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const missing = String(p.missingProperty);
      return fieldErr.required(full(at.path ? `${at.path}.${missing}` : missing));
    }
    case 'type': {
      const expected = (Array.isArray(p.type) ? (p.type as unknown[]) : [p.type])
        .filter((t) => t !== 'null')
        .join(',');
      const actual = jsonTypeName(at.value);
      return {
        type: 'TypeInvalid',
        field: shown,
        value: actual,
        detail: `${shown} in body must be of type ${expected}: "${actual}"`,
      };
    }
    case 'enum':
      return fieldErr.notSupported(
        shown,
        at.value,
        ((p.allowedValues as unknown[]) ?? [])
          .filter((v) => v !== null)
          .map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
      );
    case 'minimum':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body should be greater than or equal to ${String(p.limit)}`,
      );
    case 'exclusiveMinimum':
      return fieldErr.invalid(shown, at.value, `${shown} in body should be greater than ${String(p.limit)}`);
    case 'maximum':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body should be less than or equal to ${String(p.limit)}`,
      );
    case 'exclusiveMaximum':
      return fieldErr.invalid(shown, at.value, `${shown} in body should be less than ${String(p.limit)}`);
    case 'multipleOf':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body should be a multiple of ${String(p.multipleOf)}`,
      );
    case 'minLength':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body should be at least ${String(p.limit)} chars long`,
      );
    case 'maxLength':
      return fieldErr.tooLong(shown, Number(p.limit));
    case 'pattern':
      return fieldErr.invalid(shown, at.value, `${shown} in body should match '${String(p.pattern)}'`);
    case 'minItems':
      return fieldErr.invalid(
        shown,
        Array.isArray(at.value) ? at.value.length : at.value,
        `${shown} in body should have at least ${String(p.limit)} items`,
      );
    case 'maxItems':
      return fieldErr.tooMany(shown, Array.isArray(at.value) ? at.value.length : -1, Number(p.limit));
    case 'uniqueItems':
      return fieldErr.invalid(shown, at.value, `${shown} in body shouldn't contain duplicates`);
    case 'minProperties':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body should have at least ${String(p.limit)} properties`,
      );
    case 'maxProperties':
      return fieldErr.tooMany(shown, isObject(at.value) ? Object.keys(at.value).length : -1, Number(p.limit));
    case 'format':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body must be of type ${String(p.format)}: ${JSON.stringify(at.value)}`,
      );
    case 'anyOf':
      return fieldErr.invalid(shown, at.value, `${shown} in body must validate at least one schema (anyOf)`);
    case 'oneOf':
      return fieldErr.invalid(
        shown,
        at.value,
        `${shown} in body must validate one and only one schema (oneOf)`,
      );
    case 'not':
      return fieldErr.invalid(shown, at.value, `${shown} in body must not validate the schema (not)`);
    case 'additionalProperties':
      return fieldErr.invalid(
        full(at.path ? `${at.path}.${String(p.additionalProperty)}` : String(p.additionalProperty)),
        '',
        `${String(p.additionalProperty)} in body is a forbidden property`,
      );
    default:
      return fieldErr.invalid(shown, at.value, e.message ?? e.keyword);
  }
}

/**
 * Validates a whole object (apiVersion, kind, metadata, spec, status) against its schema and
 * returns apiserver-style field errors; `prefix` roots the paths when validating a sub-tree.
 */
export function validateAgainstSchema(data: unknown, schema: Schema, prefix = ''): FieldError[] {
  const fn = validatorFor(schema);
  if (fn(data)) return [];
  const out: FieldError[] = [];
  for (const e of fn.errors ?? []) {
    if (inCombinator(e)) continue;
    const fe = toFieldError(data, e, prefix);
    if (fe) out.push(fe);
  }
  return out;
}

/** True when a pattern is a regular expression JavaScript can compile (CRD schema checks). */
export function patternCompiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}
