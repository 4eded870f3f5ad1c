// A small, honest subset of CEL for CRD `x-kubernetes-validations`. The apiserver compiles
// every rule with a full CEL engine; we have none, so we parse the common forms (field
// access, comparisons, arithmetic, `in`, `has()`, `size()`, string methods, `all`/`exists`/
// `exists_one`/`map`/`filter` macros, `oldSelf` transition rules) and report a rule we
// cannot parse or evaluate as unsupported, which callers skip instead of guessing.
import { deepEqual, isObject } from './json.ts';

export class CelUnsupported extends Error {}
/** A runtime error the real evaluator would also raise (e.g. `no such key`). */
export class CelRuntimeError extends Error {}

type Node =
  | { t: 'lit'; v: unknown }
  | { t: 'id'; name: string }
  | { t: 'list'; items: Node[] }
  | { t: 'map'; entries: [Node, Node][] }
  | { t: 'member'; obj: Node; name: string }
  | { t: 'index'; obj: Node; index: Node }
  | { t: 'call'; target: Node | undefined; fn: string; args: Node[] }
  | { t: 'unary'; op: string; arg: Node }
  | { t: 'binary'; op: string; left: Node; right: Node }
  | { t: 'cond'; test: Node; then: Node; else: Node };

interface Tok {
  k: 'num' | 'str' | 'id' | 'op' | 'end';
  v: string;
  n?: number;
}

const OPS = [
  '&&',
  '||',
  '==',
  '!=',
  '<=',
  '>=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '!',
  '?',
  ':',
  '.',
  ',',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(\d+\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+|0x[0-9a-fA-F]+|\d+)[uU]?/.exec(src.slice(i));
    if (num) {
      out.push({ k: 'num', v: num[0], n: Number(num[1]) });
      i += num[0].length;
      continue;
    }
    const raw = /^[rR]/.test(c) && (src.charAt(i + 1) === '"' || src.charAt(i + 1) === "'");
    if (c === '"' || c === "'" || raw) {
      const start = raw ? i + 1 : i;
      const q = src.charAt(start);
      const triple = src.startsWith(q.repeat(3), start);
      const closer = triple ? q.repeat(3) : q;
      let j = start + closer.length;
      let s = '';
      while (j < src.length && !src.startsWith(closer, j)) {
        if (src.charAt(j) === '\\' && !raw) {
          const e = src.charAt(j + 1);
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
        } else {
          s += src.charAt(j);
          j++;
        }
      }
      if (j >= src.length) throw new CelUnsupported('unterminated string');
      out.push({ k: 'str', v: s });
      i = j + closer.length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ k: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelUnsupported(`unexpected character ${c}`);
    out.push({ k: 'op', v: op });
    i += op.length;
  }
  out.push({ k: 'end', v: '' });
  return out;
}

class Parser {
  private pos = 0;
  private readonly toks: Tok[];

  constructor(src: string) {
    this.toks = lex(src);
  }

  private peek(): Tok {
    return this.toks[this.pos] ?? { k: 'end', v: '' };
  }

  private next(): Tok {
    const t = this.peek();
    this.pos++;
    return t;
  }

  private accept(v: string): boolean {
    const t = this.peek();
    if ((t.k === 'op' || t.k === 'id') && t.v === v) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(v: string): void {
    if (!this.accept(v)) throw new CelUnsupported(`expected ${v}, found ${this.peek().v || 'end'}`);
  }

  parse(): Node {
    const n = this.cond();
    if (this.peek().k !== 'end') throw new CelUnsupported(`unexpected ${this.peek().v}`);
    return n;
  }

  private cond(): Node {
    const test = this.or();
    if (this.accept('?')) {
      const then = this.cond();
      this.expect(':');
      return { t: 'cond', test, then, else: this.cond() };
    }
    return test;
  }

  private or(): Node {
    let left = this.and();
    while (this.accept('||')) left = { t: 'binary', op: '||', left, right: this.and() };
    return left;
  }

  private and(): Node {
    let left = this.rel();
    while (this.accept('&&')) left = { t: 'binary', op: '&&', left, right: this.rel() };
    return left;
  }

  private rel(): Node {
    let left = this.add();
    for (;;) {
      const t = this.peek();
      if (
        (t.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) ||
        (t.k === 'id' && t.v === 'in')
      ) {
        this.pos++;
        left = { t: 'binary', op: t.v, left, right: this.add() };
      } else return left;
    }
  }

  private add(): Node {
    let left = this.mul();
    for (;;) {
      const t = this.peek();
      if (t.k === 'op' && (t.v === '+' || t.v === '-')) {
        this.pos++;
        left = { t: 'binary', op: t.v, left, right: this.mul() };
      } else return left;
    }
  }

  private mul(): Node {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.k === 'op' && ['*', '/', '%'].includes(t.v)) {
        this.pos++;
        left = { t: 'binary', op: t.v, left, right: this.unary() };
      } else return left;
    }
  }

  private unary(): Node {
    if (this.accept('!')) return { t: 'unary', op: '!', arg: this.unary() };
    if (this.accept('-')) return { t: 'unary', op: '-', arg: this.unary() };
    return this.member();
  }

  private args(): Node[] {
    const args: Node[] = [];
    if (this.accept(')')) return args;
    do args.push(this.cond());
    while (this.accept(','));
    this.expect(')');
    return args;
  }

  private member(): Node {
    let node = this.primary();
    for (;;) {
      if (this.accept('.')) {
        if (this.accept('?')) throw new CelUnsupported('optional field selection');
        const name = this.next();
        if (name.k !== 'id') throw new CelUnsupported('expected field name');
        node = this.accept('(')
          ? { t: 'call', target: node, fn: name.v, args: this.args() }
          : { t: 'member', obj: node, name: name.v };
      } else if (this.accept('[')) {
        const index = this.cond();
        this.expect(']');
        node = { t: 'index', obj: node, index };
      } else return node;
    }
  }

  private primary(): Node {
    const t = this.next();
    if (t.k === 'num') return { t: 'lit', v: t.n };
    if (t.k === 'str') return { t: 'lit', v: t.v };
    if (t.k === 'id') {
      if (t.v === 'true' || t.v === 'false') return { t: 'lit', v: t.v === 'true' };
      if (t.v === 'null') return { t: 'lit', v: null };
      if (this.accept('(')) return { t: 'call', target: undefined, fn: t.v, args: this.args() };
      return { t: 'id', name: t.v };
    }
    if (t.k === 'op' && t.v === '(') {
      const n = this.cond();
      this.expect(')');
      return n;
    }
    if (t.k === 'op' && t.v === '[') {
      const items: Node[] = [];
      if (!this.accept(']')) {
        do items.push(this.cond());
        while (this.accept(','));
        this.expect(']');
      }
      return { t: 'list', items };
    }
    if (t.k === 'op' && t.v === '{') {
      const entries: [Node, Node][] = [];
      if (!this.accept('}')) {
        do {
          const k = this.cond();
          this.expect(':');
          entries.push([k, this.cond()]);
        } while (this.accept(','));
        this.expect('}');
      }
      return { t: 'map', entries };
    }
    throw new CelUnsupported(`unexpected ${t.v || 'end'}`);
  }
}

/** Parses a rule; throws CelUnsupported when it is outside the subset. */
export function compileCel(rule: string): Node {
  return new Parser(rule).parse();
}

/** True when the rule mentions oldSelf, i.e. is a transition rule. */
export function referencesOldSelf(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

type Env = Map<string, unknown>;

function size(v: unknown): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isObject(v)) return Object.keys(v).length;
  throw new CelRuntimeError(`no matching overload for 'size'`);
}

function truthy(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new CelRuntimeError('no matching overload: expected bool');
  return v;
}

function evalMacro(fn: string, target: unknown, args: Node[], env: Env): unknown {
  const varNode = args[0];
  const body = args[1];
  if (!varNode || varNode.t !== 'id' || !body) throw new CelUnsupported(`bad ${fn} macro`);
  const items = Array.isArray(target)
    ? (target as unknown[])
    : isObject(target)
      ? Object.keys(target)
      : undefined;
  if (!items) throw new CelRuntimeError(`no matching overload for '${fn}'`);
  const withVar = (item: unknown): unknown => {
    const inner = new Map(env);
    inner.set(varNode.name, item);
    return evaluate(body, inner);
  };
  switch (fn) {
    case 'all':
      return items.every((i) => truthy(withVar(i)));
    case 'exists':
      return items.some((i) => truthy(withVar(i)));
    case 'exists_one':
      return items.filter((i) => truthy(withVar(i))).length === 1;
    case 'map':
      return items.map(withVar);
    case 'filter':
      return items.filter((i) => truthy(withVar(i)));
  }
  throw new CelUnsupported(fn);
}

function callMethod(fn: string, target: unknown, args: unknown[]): unknown {
  const s = typeof target === 'string' ? target : undefined;
  const a0 = args[0];
  switch (fn) {
    case 'size':
      return size(target);
    case 'startsWith':
      if (s !== undefined && typeof a0 === 'string') return s.startsWith(a0);
      break;
    case 'endsWith':
      if (s !== undefined && typeof a0 === 'string') return s.endsWith(a0);
      break;
    case 'contains':
      if (s !== undefined && typeof a0 === 'string') return s.includes(a0);
      break;
    case 'matches':
      if (s !== undefined && typeof a0 === 'string') return new RegExp(a0, 'u').test(s);
      break;
    case 'lowerAscii':
      if (s !== undefined) return s.toLowerCase();
      break;
    case 'upperAscii':
      if (s !== undefined) return s.toUpperCase();
      break;
    case 'trim':
      if (s !== undefined) return s.trim();
      break;
  }
  throw new CelUnsupported(`function ${fn}`);
}

function callGlobal(fn: string, args: unknown[]): unknown {
  const a0 = args[0];
  switch (fn) {
    case 'size':
      return size(a0);
    case 'int':
    case 'uint':
      if (typeof a0 === 'number') return Math.trunc(a0);
      if (typeof a0 === 'string' && /^-?\d+$/.test(a0)) return Number(a0);
      break;
    case 'double':
      if (typeof a0 === 'number' || (typeof a0 === 'string' && a0.trim() !== '' && !Number.isNaN(Number(a0))))
        return Number(a0);
      break;
    case 'string':
      if (typeof a0 === 'string' || typeof a0 === 'number' || typeof a0 === 'boolean') return String(a0);
      break;
    case 'bool':
      if (typeof a0 === 'boolean') return a0;
      if (a0 === 'true' || a0 === 'false') return a0 === 'true';
      break;
    case 'matches':
      if (typeof a0 === 'string' && typeof args[1] === 'string') return new RegExp(args[1], 'u').test(a0);
      break;
  }
  throw new CelUnsupported(`function ${fn}`);
}

function arithmetic(op: string, l: unknown, r: unknown): unknown {
  if (op === '+' && typeof l === 'string' && typeof r === 'string') return l + r;
  if (op === '+' && Array.isArray(l) && Array.isArray(r)) return [...(l as unknown[]), ...(r as unknown[])];
  if (typeof l !== 'number' || typeof r !== 'number')
    throw new CelRuntimeError(`no matching overload for '${op}'`);
  const ints = Number.isInteger(l) && Number.isInteger(r);
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      if (ints && r === 0) throw new CelRuntimeError('division by zero');
      return ints ? Math.trunc(l / r) : l / r;
    case '%':
      if (r === 0) throw new CelRuntimeError('modulus by zero');
      return l % r;
  }
  throw new CelUnsupported(op);
}

function order(op: string, l: unknown, r: unknown): boolean {
  const comparable =
    (typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string');
  if (!comparable) throw new CelRuntimeError(`no matching overload for '${op}'`);
  const a = l;
  const b = r;
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

function evaluate(node: Node, env: Env): unknown {
  switch (node.t) {
    case 'lit':
      return node.v;
    case 'id':
      if (!env.has(node.name)) throw new CelUnsupported(`undeclared reference to '${node.name}'`);
      return env.get(node.name);
    case 'list':
      return node.items.map((i) => evaluate(i, env));
    case 'map':
      return Object.fromEntries(node.entries.map(([k, v]) => [String(evaluate(k, env)), evaluate(v, env)]));
    case 'member': {
      const obj = evaluate(node.obj, env);
      if (!isObject(obj)) throw new CelRuntimeError(`no such key: ${node.name}`);
      if (!(node.name in obj)) throw new CelRuntimeError(`no such key: ${node.name}`);
      return obj[node.name];
    }
    case 'index': {
      const obj = evaluate(node.obj, env);
      const idx = evaluate(node.index, env);
      if (Array.isArray(obj) && typeof idx === 'number') {
        if (idx < 0 || idx >= obj.length) throw new CelRuntimeError(`index out of bounds: ${idx}`);
        return obj[idx] as unknown;
      }
      if (isObject(obj) && typeof idx === 'string') {
        if (!(idx in obj)) throw new CelRuntimeError(`no such key: ${idx}`);
        return obj[idx];
      }
      throw new CelRuntimeError('invalid index');
    }
    case 'call': {
      if (node.target === undefined && node.fn === 'has') {
        const arg = node.args[0];
        if (!arg || arg.t !== 'member') throw new CelUnsupported('has() needs a field selection');
        const obj = evaluate(arg.obj, env);
        return isObject(obj) && arg.name in obj && obj[arg.name] !== undefined;
      }
      if (node.target !== undefined && ['all', 'exists', 'exists_one', 'map', 'filter'].includes(node.fn)) {
        return evalMacro(node.fn, evaluate(node.target, env), node.args, env);
      }
      const args = node.args.map((a) => evaluate(a, env));
      return node.target === undefined
        ? callGlobal(node.fn, args)
        : callMethod(node.fn, evaluate(node.target, env), args);
    }
    case 'unary': {
      const v = evaluate(node.arg, env);
      if (node.op === '!') return !truthy(v);
      if (typeof v !== 'number') throw new CelRuntimeError("no matching overload for '-'");
      return -v;
    }
    case 'binary': {
      if (node.op === '&&') {
        // CEL's && and || are commutative over errors; short-circuit on a decisive side.
        return truthy(evaluate(node.left, env)) && truthy(evaluate(node.right, env));
      }
      if (node.op === '||') return truthy(evaluate(node.left, env)) || truthy(evaluate(node.right, env));
      const l = evaluate(node.left, env);
      const r = evaluate(node.right, env);
      switch (node.op) {
        case '==':
          return deepEqual(l, r);
        case '!=':
          return !deepEqual(l, r);
        case 'in':
          if (Array.isArray(r)) return (r as unknown[]).some((x) => deepEqual(x, l));
          if (isObject(r) && typeof l === 'string') return l in r;
          throw new CelRuntimeError("no matching overload for 'in'");
        case '<':
        case '<=':
        case '>':
        case '>=':
          return order(node.op, l, r);
        default:
          return arithmetic(node.op, l, r);
      }
    }
    case 'cond':
      return truthy(evaluate(node.test, env)) ? evaluate(node.then, env) : evaluate(node.else, env);
  }
}

/** Evaluates a compiled rule with `self` (and `oldSelf` for transition rules). */
export function evalCel(node: Node, self: unknown, oldSelf?: unknown): unknown {
  const env: Env = new Map([['self', self]]);
  if (oldSelf !== undefined) env.set('oldSelf', oldSelf);
  return evaluate(node, env);
}
