// One error type for the whole emulator, rendered as the `Status` object the real apiserver
// sends, so clients (kubectl, @kubernetes/client-node) print and classify it the same way.
import type { JsonObject } from './json.ts';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** An API failure with the HTTP code, reason and details of a metav1.Status. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** The wire form: kind Status, status Failure. */
  toStatus(): JsonObject {
    const status: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
    };
    if (this.details) status.details = this.details;
    status.code = this.code;
    return status;
  }
}

/** The group and plural the apiserver names in its messages, e.g. `workflows.workflow-router.vllm.ai`. */
export interface GroupResource {
  group: string;
  plural: string;
}

/** The group and kind used by Invalid errors, e.g. `Workflow.workflow-router.vllm.ai`. */
export interface GroupKind {
  group: string;
  kind: string;
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.plural}.${gr.group}` : gr.plural;
}

function details(gr: GroupResource, name: string): StatusDetails {
  return gr.group ? { name, group: gr.group, kind: gr.plural } : { name, kind: gr.plural };
}

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, details(gr, name));
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(
    409,
    'AlreadyExists',
    `${qualifiedResource(gr)} "${name}" already exists`,
    details(gr, name),
  );
}

export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    details(gr, name),
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function forbidden(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(
    403,
    'Forbidden',
    `${qualifiedResource(gr)} "${name}" is forbidden: ${why}`,
    details(gr, name),
  );
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function methodNotAllowed(message: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', message);
}

export function unsupportedMediaType(contentType: string, accepted: string[]): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    contentType
      ? { causes: [{ reason: 'UnexpectedHeader', message: contentType, field: 'Content-Type' }] }
      : {},
  );
}

export function notAcceptable(accepted: string[]): StatusError {
  return new StatusError(
    406,
    'NotAcceptable',
    `only the following media types are accepted: ${accepted.join(', ')}`,
  );
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function resourceNotServed(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function internal(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: '', message }],
  });
}

// ---- field errors, formatted as k8s.io/apimachinery/pkg/util/validation/field does ----

export type FieldErrorType =
  | 'Required'
  | 'Invalid'
  | 'TypeInvalid'
  | 'NotSupported'
  | 'Forbidden'
  | 'TooLong'
  | 'TooMany'
  | 'Duplicate'
  | 'NotFound';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value?: unknown;
  detail?: string;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  Required: 'Required value',
  Invalid: 'Invalid value',
  TypeInvalid: 'Invalid value',
  NotSupported: 'Unsupported value',
  Forbidden: 'Forbidden',
  TooLong: 'Too long',
  TooMany: 'Too many',
  Duplicate: 'Duplicate value',
  NotFound: 'Not found',
};

const CAUSE_REASON: Record<FieldErrorType, string> = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  TypeInvalid: 'FieldValueTypeInvalid',
  NotSupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  TooLong: 'FieldValueTooLong',
  TooMany: 'FieldValueTooMany',
  Duplicate: 'FieldValueDuplicate',
  NotFound: 'FieldValueNotFound',
};

/** Go prints strings quoted and scalars bare; composite values are shown as JSON here. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The part after `field: `, as field.Error.ErrorBody() renders it. */
export function fieldErrorBody(e: FieldError): string {
  const withoutValue = ['Required', 'Forbidden', 'TooLong'].includes(e.type) || !('value' in e);
  let s = withoutValue ? TYPE_TEXT[e.type] : `${TYPE_TEXT[e.type]}: ${formatValue(e.value)}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** 422 Invalid with one cause per field error, the message aggregated as `[a, b]` when several. */
export function invalid(gk: GroupKind, name: string, errors: FieldError[]): StatusError {
  const qualified = gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
  const messages = [...new Set(errors.map(fieldErrorString))];
  const aggregate = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
  const d: StatusDetails = { name, kind: gk.kind };
  if (gk.group) d.group = gk.group;
  d.causes = errors.map((e) => ({
    reason: CAUSE_REASON[e.type],
    message: fieldErrorBody(e),
    field: e.field,
  }));
  return new StatusError(422, 'Invalid', `${qualified} "${name}" is invalid: ${aggregate}`, d);
}

export const fieldErr = {
  required: (field: string, detail = ''): FieldError => ({ type: 'Required', field, detail }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    type: 'Invalid',
    field,
    value,
    detail,
  }),
  notSupported: (field: string, value: unknown, allowed: readonly string[]): FieldError => ({
    type: 'NotSupported',
    field,
    value,
    detail: `supported values: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'Forbidden', field, detail }),
  tooLong: (field: string, max: number): FieldError => ({
    type: 'TooLong',
    field,
    detail: `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}`,
  }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    type: 'TooMany',
    field,
    value: actual,
    detail: `must have at most ${max} ${max === 1 ? 'item' : 'items'}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'Duplicate', field, value }),
};
