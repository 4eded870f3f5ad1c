/**
 * Pods answer errors in their own dialect: vLLM sends `{"error": {"message", "type":
 * "BadRequestError", "param", "code": 400}}` (a numeric code), a proxy in front of a pod may
 * send HTML. Clients get OpenAI's shape from the router whatever the pod said:
 * `{"error": {"message": string, "type": string, "param": string|null, "code": string|null}}`.
 * The message of a JSON error is kept (it is about the caller's request); a body that is not a
 * JSON error is replaced by a neutral message, so nothing of the pod's internals reaches a client.
 */
export interface OpenAIError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

function typeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'upstream_error';
  return 'invalid_request_error';
}

/** OpenAI's error object from whatever a pod put under `error` (or undefined if it is no error object). */
export function normalizeError(raw: unknown, status: number): OpenAIError | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return typeof raw === 'string' && raw !== ''
      ? { message: raw, type: typeForStatus(status), param: null, code: null }
      : undefined;
  }
  const e = raw as Record<string, unknown>;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : undefined;
  if (message === undefined) return undefined;
  const code =
    typeof e.code === 'string'
      ? e.code
      : typeof e.code === 'number' && Number.isFinite(e.code)
        ? String(e.code)
        : null;
  return {
    message,
    type: typeof e.type === 'string' && e.type !== '' ? e.type : typeForStatus(status),
    param: typeof e.param === 'string' ? e.param : null,
    code,
  };
}

/** The body to send for a pod's error answer (status >= 400), in OpenAI's shape. */
export function normalizeErrorBody(status: number, body: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const fromPod =
    parsed !== null && typeof parsed === 'object' && 'error' in parsed
      ? normalizeError(parsed.error, status)
      : undefined;
  // FastAPI's own validation errors: {"detail": ...}.
  const detail =
    fromPod === undefined && parsed !== null && typeof parsed === 'object' && 'detail' in parsed
      ? normalizeError(
          typeof parsed.detail === 'string' ? parsed.detail : JSON.stringify(parsed.detail),
          status,
        )
      : undefined;
  const error = fromPod ??
    detail ?? {
      message: `the model server answered HTTP ${status}`,
      type: typeForStatus(status),
      param: null,
      code: status >= 500 ? 'upstream_error' : null,
    };
  return JSON.stringify({ error });
}
