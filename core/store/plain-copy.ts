/**
 * A deep copy of plain data (what the stores hold: objects, arrays, primitives), the copy
 * structuredClone makes, without its serialisation: a workflow record is copied on every call
 * (the memory store's answers, the Redis store's near-cache), and structuredClone was 3% of
 * the router's CPU. Anything else (a Map, a Date) still goes to structuredClone.
 */
export function plainCopy<T>(value: T): T {
  return copyValue(value) as T;
}

function copyValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyValue);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) copy[key] = copyValue(source[key]);
  return copy;
}
