// Object metadata: the typed view of `metadata` every stored object has, the edge check that
// turns a request body into a KubeObject, and the name and label rules the apiserver applies.
import { z } from 'zod';
import { badRequest, fieldErr } from './errors.ts';
import type { FieldError } from './errors.ts';
import { isObject } from './json.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

const ownerReferenceSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

const objectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().nullable().optional(),
  deletionTimestamp: z.string().nullable().optional(),
  deletionGracePeriodSeconds: z.number().int().optional(),
  labels: z.record(z.string(), z.string()).nullable().optional(),
  annotations: z.record(z.string(), z.string()).nullable().optional(),
  finalizers: z.array(z.string()).nullable().optional(),
  ownerReferences: z.array(ownerReferenceSchema).nullable().optional(),
  managedFields: z.array(z.unknown()).nullable().optional(),
});

/**
 * Narrows a decoded request body to a KubeObject, failing like the apiserver's decoder does
 * (400, "cannot be handled as a Kind") when the envelope or metadata has the wrong shape.
 */
export function toKubeObject(body: unknown, kind: string, version: string): KubeObject {
  const prefix = `${kind} in version "${version}" cannot be handled as a ${kind}`;
  if (!isObject(body)) throw badRequest(`${prefix}: the request body must be a JSON object`);
  const metadata = body.metadata ?? {};
  const parsed = objectMetaSchema.safeParse(metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['metadata', ...(issue?.path ?? []).map(String)].join('.');
    throw badRequest(`${prefix}: json: cannot unmarshal into Go struct field ObjectMeta.${where}`);
  }
  if (body.apiVersion !== undefined && typeof body.apiVersion !== 'string') {
    throw badRequest(`${prefix}: apiVersion must be a string`);
  }
  if (body.kind !== undefined && typeof body.kind !== 'string') {
    throw badRequest(`${prefix}: kind must be a string`);
  }
  const meta: ObjectMeta = { ...(metadata as ObjectMeta) };
  // Go decodes null maps and lists as absent; normalise so later code sees one shape.
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields'] as const) {
    if (meta[key] === null) delete meta[key];
  }
  for (const key of ['creationTimestamp', 'deletionTimestamp'] as const) {
    if (meta[key] === null) delete meta[key];
  }
  return {
    ...body,
    apiVersion: typeof body.apiVersion === 'string' ? body.apiVersion : '',
    kind: typeof body.kind === 'string' ? body.kind : '',
    metadata: meta,
  };
}

/** RFC 3339 with whole seconds, as metav1.Time serialises. */
export function nowTimestamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- names and labels (k8s.io/apimachinery/pkg/util/validation) ----

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME})?`;

export type NameRule = 'subdomain' | 'label' | 'dns1035';

function fullMatch(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern}$`).test(value);
}

/** Messages for a name that breaks the rule, empty when it is valid. */
export function nameProblems(rule: NameRule, name: string): string[] {
  const out: string[] = [];
  if (rule === 'subdomain') {
    if (name.length > 253) out.push('must be no more than 253 characters');
    if (!fullMatch(DNS1123_SUBDOMAIN, name)) {
      out.push(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '" +
          DNS1123_SUBDOMAIN +
          "')",
      );
    }
  } else if (rule === 'label') {
    if (name.length > 63) out.push('must be no more than 63 characters');
    if (!fullMatch(DNS1123_LABEL, name)) {
      out.push(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '" +
          DNS1123_LABEL +
          "')",
      );
    }
  } else {
    if (name.length > 63) out.push('must be no more than 63 characters');
    if (!fullMatch(DNS1035_LABEL, name)) {
      out.push(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '" +
          DNS1035_LABEL +
          "')",
      );
    }
  }
  return out;
}

/** Problems with a qualified name such as a label key, annotation key or finalizer. */
export function qualifiedNameProblems(value: string): string[] {
  const out: string[] = [];
  const parts = value.split('/');
  let name = value;
  if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '" +
        QUALIFIED_NAME +
        "') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else for (const p of nameProblems('subdomain', prefix)) out.push(`prefix part ${p}`);
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  if (name.length > 0 && !fullMatch(QUALIFIED_NAME, name)) {
    out.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '" +
        QUALIFIED_NAME +
        "')",
    );
  }
  return out;
}

export function labelValueProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!fullMatch(LABEL_VALUE, value)) {
    out.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '" +
        LABEL_VALUE +
        "')",
    );
  }
  return out;
}

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/** ValidateObjectMeta: name, labels, annotations, finalizers and owner references. */
export function validateObjectMeta(meta: ObjectMeta, rule: NameRule): FieldError[] {
  const errors: FieldError[] = [];
  if (!meta.name) {
    errors.push(fieldErr.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const p of nameProblems(rule, meta.name))
      errors.push(fieldErr.invalid('metadata.name', meta.name, p));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    for (const p of qualifiedNameProblems(key)) errors.push(fieldErr.invalid('metadata.labels', key, p));
    for (const p of labelValueProblems(value)) errors.push(fieldErr.invalid('metadata.labels', value, p));
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    for (const p of qualifiedNameProblems(key.toLowerCase())) {
      errors.push(fieldErr.invalid('metadata.annotations', key, p));
    }
    annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (annotationBytes > ANNOTATIONS_MAX_BYTES) {
    errors.push({
      type: 'TooLong',
      field: 'metadata.annotations',
      detail: `must have at most ${ANNOTATIONS_MAX_BYTES} bytes`,
    });
  }
  for (const [i, f] of (meta.finalizers ?? []).entries()) {
    for (const p of qualifiedNameProblems(f))
      errors.push(fieldErr.invalid(`metadata.finalizers[${i}]`, f, p));
  }
  const refs = meta.ownerReferences ?? [];
  for (const [i, ref] of refs.entries()) {
    const at = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion)
      errors.push(fieldErr.invalid(`${at}.apiVersion`, ref.apiVersion, 'version must not be empty'));
    if (!ref.kind) errors.push(fieldErr.invalid(`${at}.kind`, ref.kind, 'must not be empty'));
    if (!ref.name) errors.push(fieldErr.invalid(`${at}.name`, ref.name, 'must not be empty'));
    if (!ref.uid) errors.push(fieldErr.invalid(`${at}.uid`, ref.uid, 'must not be empty'));
  }
  if (refs.filter((r) => r.controller === true).length > 1) {
    errors.push(
      fieldErr.invalid(
        'metadata.ownerReferences',
        refs,
        'Only one reference can have Controller set to true',
      ),
    );
  }
  return errors;
}
