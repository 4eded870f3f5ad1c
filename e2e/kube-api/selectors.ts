// Label and field selectors, parsed with the grammar and errors of k8s.io/apimachinery
// (labels.Parse, fields.ParseSelector) and matched against stored objects.
import { badRequest } from './errors.ts';
import type { KubeObject } from './meta.ts';
import { labelValueProblems, qualifiedNameProblems } from './meta.ts';
import type { ResourceType } from './resources.ts';

type LabelOp = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('=!(),<>'.includes(c)) {
      tokens.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    let j = i;
    while (j < input.length && !/[\s=!(),<>]/.test(input.charAt(j))) j++;
    tokens.push({ kind: 'id', text: input.slice(i, j) });
    i = j;
  }
  return tokens;
}

function fail(selector: string, why: string): never {
  throw badRequest(`unable to parse requirement: ${why} (in label selector "${selector}")`);
}

function checkKey(selector: string, key: string): void {
  const problems = qualifiedNameProblems(key);
  if (problems.length > 0) fail(selector, `key: Invalid value: "${key}": ${problems.join('; ')}`);
}

function checkValue(selector: string, value: string): void {
  const problems = labelValueProblems(value);
  if (problems.length > 0) fail(selector, `values[0]: Invalid value: "${value}": ${problems.join('; ')}`);
}

/** Parses `a=b,c!=d,e in (f,g),!h,i` into requirements; throws 400 on bad syntax. */
export function parseLabelSelector(selector: string): LabelSelector {
  const tokens = tokenize(selector);
  const reqs: LabelSelector = [];
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token | undefined => tokens[pos++];
  while (pos < tokens.length) {
    let t = next();
    if (!t) break;
    if (t.kind === 'op' && t.text === '!') {
      const k = next();
      if (!k || k.kind !== 'id')
        fail(selector, "found end of string or operator, expected: identifier after '!'");
      checkKey(selector, k.text);
      reqs.push({ key: k.text, op: '!', values: [] });
    } else if (t.kind === 'id') {
      const key = t.text;
      checkKey(selector, key);
      const op = peek();
      if (!op || (op.kind === 'op' && op.text === ',')) {
        reqs.push({ key, op: 'exists', values: [] });
      } else if (op.kind === 'op' && ['=', '==', '!='].includes(op.text)) {
        pos++;
        const v = peek();
        let value = '';
        if (v && v.kind === 'id') {
          value = v.text;
          pos++;
        }
        checkValue(selector, value);
        reqs.push({ key, op: op.text === '!=' ? '!=' : '=', values: [value] });
      } else if (op.kind === 'op' && (op.text === '>' || op.text === '<')) {
        pos++;
        const v = next();
        if (!v || v.kind !== 'id' || !/^-?\d+$/.test(v.text)) {
          fail(selector, `for 'Gt', 'Lt' operators, the value must be an integer`);
        }
        reqs.push({ key, op: op.text === '>' ? 'gt' : 'lt', values: [v.text] });
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        pos++;
        const open = next();
        if (!open || open.text !== '(') fail(selector, `found '${open?.text ?? ''}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const v = next();
          if (!v) fail(selector, "found end of string, expected: ')'");
          if (v.kind === 'op' && v.text === ')') break;
          if (v.kind === 'op' && v.text === ',') continue;
          if (v.kind !== 'id') fail(selector, `found '${v.text}', expected: ',', ')' or identifier`);
          checkValue(selector, v.text);
          values.push(v.text);
        }
        if (values.length === 0) fail(selector, "for 'in', 'notin' operators, values set can't be empty");
        reqs.push({ key, op: op.text, values });
      } else {
        fail(selector, `found '${op.text}', expected: '=', '!=', '==', 'in', notin'`);
      }
    } else {
      fail(selector, `found '${t.text}', expected: !, identifier, or 'end of string'`);
    }
    t = next();
    if (t && !(t.kind === 'op' && t.text === ','))
      fail(selector, `found '${t.text}', expected: ',' or 'end of string'`);
  }
  return reqs;
}

/** Label selector match, with the apiserver's semantics for absent keys. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v ?? '');
      case 'notin':
        return !has || !r.values.includes(v ?? '');
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v ?? '')) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        return r.op === 'gt' ? n > bound : n < bound;
      }
    }
    return false;
  });
}

// ---- field selectors ----

interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (c === '\\' && i + 1 < input.length) {
      cur += c + input.charAt(i + 1);
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** Parses `a=b,c!=d` (with `\,` `\=` `\\` escapes); throws 400 on bad syntax. */
export function parseFieldSelector(selector: string): FieldSelector {
  const out: FieldSelector = [];
  if (selector.trim() === '') return out;
  for (const term of splitUnescaped(selector, ',')) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/s.exec(term.trim());
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    out.push({ field: (m[1] ?? '').trim(), op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3] ?? '') });
  }
  return out;
}

/** The value of a field label for an object, or undefined when the type does not support the label. */
function fieldValue(rt: ResourceType, obj: KubeObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata.name ?? '';
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  const fn = rt.fieldLabels[field];
  return fn ? (fn(obj) ?? '') : undefined;
}

/** Throws 400 `field label not supported` as the apiserver does for labels the type lacks. */
export function checkFieldLabels(rt: ResourceType, selector: FieldSelector): void {
  for (const r of selector) {
    if (r.field !== 'metadata.name' && r.field !== 'metadata.namespace' && !rt.fieldLabels[r.field]) {
      throw badRequest(`field label not supported: ${r.field}`);
    }
  }
}

export function matchesFields(rt: ResourceType, selector: FieldSelector, obj: KubeObject): boolean {
  return selector.every((r) => {
    const v = fieldValue(rt, obj, r.field);
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}
