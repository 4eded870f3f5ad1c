// The JSONPath subset kubectl and CRD printer columns use (client-go's jsonpath):
// `.a.b`, `['a']`, `[0]`, `[-1]`, `[*]`, `..a` and filters `[?(@.type=="Ready")]`.
import { isObject } from './json.ts';

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'recursive'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: string[]; op: string | undefined; value: unknown };

/** Parses a path such as `.status.conditions[?(@.type=="Ready")].status`; throws on syntax it does not know. */
export function parseJsonPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('..', i)) {
      const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i + 2));
      if (!m) throw new Error(`unrecognized JSONPath ${expr}`);
      steps.push({ kind: 'recursive', name: m[0] });
      i += 2 + m[0].length;
    } else if (s[i] === '.') {
      const m = /^[A-Za-z0-9_\-/]*/.exec(s.slice(i + 1));
      const name = m?.[0] ?? '';
      if (name === '*') steps.push({ kind: 'wildcard' });
      else if (name) steps.push({ kind: 'field', name });
      i += 1 + name.length;
      if (s[i] === '*') {
        steps.push({ kind: 'wildcard' });
        i++;
      }
    } else if (s[i] === '[') {
      const end = s.indexOf(']', i);
      if (end < 0) throw new Error(`unclosed [ in JSONPath ${expr}`);
      let inner = s.slice(i + 1, end);
      // A filter may contain ']' inside a quoted value; extend to the real closing bracket.
      let close = end;
      if (inner.startsWith('?(')) {
        close = s.indexOf(')]', i);
        if (close < 0) throw new Error(`unclosed filter in JSONPath ${expr}`);
        inner = s.slice(i + 1, close + 1);
        close += 1;
      }
      steps.push(parseBracket(inner, expr));
      i = close + 1;
    } else {
      throw new Error(`unrecognized character in JSONPath ${expr} at ${i}`);
    }
  }
  return steps;
}

function parseBracket(inner: string, expr: string): Step {
  const t = inner.trim();
  if (t === '*') return { kind: 'wildcard' };
  if (/^-?\d+$/.test(t)) return { kind: 'index', index: Number(t) };
  const quoted = /^['"](.*)['"]$/.exec(t);
  if (quoted) return { kind: 'field', name: quoted[1] ?? '' };
  const filter = /^\?\(\s*@((?:\.[A-Za-z0-9_-]+)+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$/.exec(t);
  if (filter) {
    const path = (filter[1] ?? '').slice(1).split('.');
    const raw = filter[3]?.trim();
    let value: unknown = raw;
    if (raw !== undefined) {
      const q = /^['"](.*)['"]$/.exec(raw);
      value = q ? q[1] : raw === 'true' ? true : raw === 'false' ? false : Number(raw);
    }
    return { kind: 'filter', path, op: filter[2], value };
  }
  throw new Error(`unrecognized JSONPath bracket [${inner}] in ${expr}`);
}

function recurse(value: unknown, name: string, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) recurse(v, name, out);
  else if (isObject(value)) {
    if (name in value) out.push(value[name]);
    for (const v of Object.values(value)) recurse(v, name, out);
  }
}

function compare(a: unknown, op: string, b: unknown): boolean {
  switch (op) {
    case '==':
      return a === b || String(a) === String(b);
    case '!=':
      return !(a === b || String(a) === String(b));
    case '<':
      return Number(a) < Number(b);
    case '>':
      return Number(a) > Number(b);
    case '<=':
      return Number(a) <= Number(b);
    case '>=':
      return Number(a) >= Number(b);
  }
  return false;
}

/** All values the path selects (missing keys select nothing). */
export function evalJsonPath(steps: Step[], data: unknown): unknown[] {
  let current: unknown[] = [data];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      switch (step.kind) {
        case 'field':
          if (isObject(v) && step.name in v) next.push(v[step.name]);
          break;
        case 'recursive':
          recurse(v, step.name, next);
          break;
        case 'index':
          if (Array.isArray(v)) {
            const item: unknown = v[step.index < 0 ? v.length + step.index : step.index];
            if (item !== undefined) next.push(item);
          }
          break;
        case 'wildcard':
          if (Array.isArray(v)) next.push(...(v as unknown[]));
          else if (isObject(v)) next.push(...Object.values(v));
          break;
        case 'filter':
          if (Array.isArray(v)) {
            for (const item of v as unknown[]) {
              let field: unknown = item;
              for (const p of step.path) field = isObject(field) ? field[p] : undefined;
              if (step.op === undefined ? field !== undefined : compare(field, step.op, step.value))
                next.push(item);
            }
          }
          break;
      }
    }
    current = next;
  }
  return current;
}

/** How client-go's jsonpath prints a value: strings bare, other values as JSON. */
export function jsonPathText(values: unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
}
