// The wire formats of metav1.Time and metav1.MicroTime in built-in kinds. Time accepts any
// RFC 3339 timestamp and is stored in UTC at whole seconds; MicroTime (Lease renewTime,
// Event eventTime) must have exactly six fractional digits, as Go's parser requires, so a
// JavaScript Date's millisecond ISO string is refused with 400 like the real apiserver does.
import { badRequest } from './errors.ts';
import { isObject } from './json.ts';
import { childSchema } from './schema.ts';
import type { Schema } from './schema.ts';

/** Marks a string field of a built-in schema as metav1.Time or metav1.MicroTime. */
export const TIME_EXTENSION = 'x-emulator-time';

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function utcSeconds(value: string): string | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1] ?? ''}T${m[2] ?? ''}${(m[4] ?? 'Z').toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function normalize(value: string, kind: string, field: string): string {
  if (kind === 'MicroTime') {
    const m = RFC3339.exec(value);
    const seconds = utcSeconds(value);
    if (!m || seconds === undefined || m[3]?.length !== 7) {
      throw badRequest(
        `${field}: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${value.slice(19)}" as ".000000"`,
      );
    }
    return seconds.replace(/Z$/, `${m[3]}Z`);
  }
  const seconds = utcSeconds(value);
  if (seconds === undefined) {
    throw badRequest(
      `${field}: parsing time "${value}" as "2006-01-02T15:04:05Z07:00": cannot parse "${value}" as "2006"`,
    );
  }
  return seconds;
}

function walk(value: unknown, schema: Schema | undefined, path: string): unknown {
  if (!schema) return value;
  const kind = schema[TIME_EXTENSION];
  if (typeof kind === 'string' && typeof value === 'string') return normalize(value, kind, path);
  if (Array.isArray(value)) {
    return value.map((item, i) => walk(item, schema.items, `${path}[${i}]`));
  }
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value))
      value[k] = walk(v, childSchema(schema, k), path ? `${path}.${k}` : k);
  }
  return value;
}

/**
 * Rewrites Time fields to UTC whole seconds and checks MicroTime fields, in place; throws
 * the decoder's 400 for a timestamp Go would not parse.
 */
export function normalizeTimes(obj: Record<string, unknown>, schema: Schema): void {
  walk(obj, schema, '');
}
