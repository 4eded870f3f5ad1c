/** A router answer that is not a success, with the fields of OpenAI's error shape. */
export class WorkflowRouterError extends Error {
  readonly status: number;
  readonly type: string | null;
  readonly code: string | null;
  readonly param: string | null;
  /** From `Retry-After` on 429 and 503 answers. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    message: string,
    fields: {
      type?: string | null;
      code?: string | null;
      param?: string | null;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = 'WorkflowRouterError';
    this.status = status;
    this.type = fields.type ?? null;
    this.code = fields.code ?? null;
    this.param = fields.param ?? null;
    this.retryAfterSeconds = fields.retryAfterSeconds;
  }

  /** Reads `{"error": {message, type, param, code}}` from a failed response (any body works). */
  static async fromResponse(res: Response): Promise<WorkflowRouterError> {
    const text = await res.text().catch(() => '');
    const retryAfter = Number(res.headers.get('retry-after') ?? Number.NaN);
    const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : undefined;
    let error: Record<string, unknown> | undefined;
    try {
      const body: unknown = JSON.parse(text);
      if (body !== null && typeof body === 'object' && 'error' in body) {
        const e = body.error;
        if (e !== null && typeof e === 'object') error = e as Record<string, unknown>;
      }
    } catch {
      // Not JSON (a proxy's error page): the text is the message.
    }
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return new WorkflowRouterError(
      res.status,
      str(error?.message) ?? (text.slice(0, 500) || `HTTP ${res.status}`),
      { type: str(error?.type), code: str(error?.code), param: str(error?.param), retryAfterSeconds },
    );
  }
}
