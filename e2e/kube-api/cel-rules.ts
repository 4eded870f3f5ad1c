// Evaluates the `x-kubernetes-validations` of a CRD schema over an object, node by node as
// the apiserver does: `self` is the value at the node, `oldSelf` the stored value at the
// same place (transition rules run only on update, when both exist). Rules outside the
// CEL subset of cel.ts are skipped and reported, never guessed.
import { CelRuntimeError, CelUnsupported, compileCel, evalCel, referencesOldSelf } from './cel.ts';
import { fieldErr } from './errors.ts';
import type { FieldError } from './errors.ts';
import { deepEqual, isObject } from './json.ts';
import { listSemantics } from './schema.ts';
import type { Schema, ValidationRule } from './schema.ts';

export interface CelOutcome {
  errors: FieldError[];
  /** Rules not evaluated because they are outside the supported subset. */
  skipped: string[];
}

function schemaType(schema: Schema): string {
  if (schema['x-kubernetes-int-or-string'] === true) return 'integer-or-string';
  return schema.type ?? 'object';
}

function joinField(path: string, fieldPath: string | undefined): string {
  if (!fieldPath) return path;
  const rel = fieldPath.startsWith('.') ? fieldPath.slice(1) : fieldPath;
  return path ? `${path}.${rel}` : rel;
}

function ruleError(rule: ValidationRule, path: string, schema: Schema, detail: string): FieldError {
  const at = joinField(path, rule.fieldPath) || '<nil>';
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return fieldErr.forbidden(at, detail);
    case 'FieldValueRequired':
      return fieldErr.required(at, detail);
    case 'FieldValueDuplicate':
      return fieldErr.duplicate(at, schemaType(schema));
    default:
      return fieldErr.invalid(at, schemaType(schema), detail);
  }
}

function message(rule: ValidationRule, self: unknown, oldSelf: unknown): string {
  if (rule.messageExpression) {
    try {
      const m = evalCel(compileCel(rule.messageExpression), self, oldSelf);
      if (typeof m === 'string' && m.trim() !== '') return m;
    } catch {
      // Fall through to the static message, as the apiserver does when messageExpression fails.
    }
  }
  return rule.message ?? `failed rule: ${rule.rule.replace(/\s+/g, ' ').trim()}`;
}

function checkRules(schema: Schema, value: unknown, old: unknown, path: string, out: CelOutcome): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const transition = referencesOldSelf(rule.rule);
    if (transition && old === undefined && rule.optionalOldSelf !== true) continue;
    try {
      const ok = evalCel(compileCel(rule.rule), value, transition ? old : undefined);
      if (ok !== true) out.errors.push(ruleError(rule, path, schema, message(rule, value, old)));
    } catch (e) {
      if (e instanceof CelRuntimeError) {
        out.errors.push(ruleError(rule, path, schema, `${e.message} evaluating rule: ${rule.rule}`));
      } else if (e instanceof CelUnsupported || e instanceof SyntaxError) {
        out.skipped.push(rule.rule);
      } else {
        throw e;
      }
    }
  }
}

function walk(schema: Schema | undefined, value: unknown, old: unknown, path: string, out: CelOutcome): void {
  if (!schema || value === undefined || value === null) return;
  checkRules(schema, value, old, path, out);
  if (Array.isArray(value)) {
    const items = schema.items;
    if (!items) return;
    const sem = listSemantics(schema);
    value.forEach((item, i) => {
      // Only list-maps correlate items with the old list; other lists have no oldSelf per item.
      let oldItem: unknown;
      if (sem.kind === 'map' && Array.isArray(old) && isObject(item)) {
        oldItem = (old as unknown[]).find(
          (o) => isObject(o) && sem.keys.every((k) => deepEqual(o[k], item[k])),
        );
      }
      walk(items, item, oldItem, `${path}[${i}]`, out);
    });
    return;
  }
  if (!isObject(value)) return;
  const oldObj = isObject(old) ? old : undefined;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    walk(prop, value[key], oldObj?.[key], path ? `${path}.${key}` : key, out);
  }
  if (isObject(schema.additionalProperties)) {
    const add = schema.additionalProperties as Schema;
    for (const key of Object.keys(value)) {
      if (!schema.properties?.[key])
        walk(add, value[key], oldObj?.[key], path ? `${path}[${key}]` : key, out);
    }
  }
}

/** Runs every rule in the schema over `value` (and `old` on update). */
export function evaluateRules(schema: Schema, value: unknown, old: unknown): CelOutcome {
  const out: CelOutcome = { errors: [], skipped: [] };
  walk(schema, value, old, '', out);
  return out;
}

/** True when a rule is inside the supported subset (used to warn when a CRD is created). */
export function ruleSupported(rule: string): boolean {
  try {
    compileCel(rule);
    return true;
  } catch {
    return false;
  }
}
