/** Narrowing for Redis replies, which ioredis types as unknown for scripts. */

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`unexpected Redis reply for ${what}: ${String(value)}`);
  return value as unknown[];
}

export function asString(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new Error(`unexpected Redis reply for ${what}: ${String(value)}`);
}

export function asNumber(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : Number(asString(value, what));
  if (!Number.isFinite(n)) throw new Error(`unexpected Redis reply for ${what}: ${String(value)}`);
  return n;
}

/** A flat `[field, value, field, value, ...]` reply (HGETALL inside a script) as a map. */
export function pairs(value: unknown, what: string): Map<string, string> {
  const flat = asArray(value, what);
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(asString(flat[i], what), asString(flat[i + 1], what));
  return map;
}

/** Numbers cross into Lua as decimal strings; non-finite bounds become a huge finite one. */
export function luaNumber(n: number): string {
  if (Number.isNaN(n)) throw new Error('NaN cannot be stored');
  if (n === Infinity) return '1e300';
  if (n === -Infinity) return '-1e300';
  return String(n);
}
