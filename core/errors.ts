/** The one error type of the HTTP surface; every failure becomes OpenAI's error shape. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'service_unavailable';

export interface OpenAIErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    type: ApiErrorType,
    message: string,
    options: { code?: string; param?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param?: string, code = 'invalid_request'): ApiError =>
  new ApiError(400, 'invalid_request_error', message, { code, ...(param ? { param } : {}) });

export const notFound = (message: string, code = 'not_found'): ApiError =>
  new ApiError(404, 'not_found_error', message, { code });

export const forbidden = (message: string, code = 'forbidden'): ApiError =>
  new ApiError(403, 'permission_error', message, { code });

export const tooManyRequests = (
  message: string,
  retryAfterSeconds: number,
  code = 'rate_limited',
): ApiError => new ApiError(429, 'rate_limit_error', message, { code, retryAfterSeconds });

export const unavailable = (message: string, code = 'unavailable', retryAfterSeconds?: number): ApiError =>
  new ApiError(503, 'service_unavailable', message, {
    code,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });

/** Turns a zod issue path into OpenAI's `param` form (`workflow_metadata.agent_id`). */
export function paramPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replaceAll('.[', '[');
}
