// The simulator's one error type, rendered as vLLM renders errors: OpenAI's shape with
// vLLM's values (`type` is the exception class name, `code` the HTTP status).

export type SimErrorType = 'BadRequestError' | 'NotFoundError' | 'InternalServerError';

export interface OpenAIErrorBody {
  error: { message: string; type: SimErrorType; param: string | null; code: number };
}

export class SimError extends Error {
  readonly status: number;
  readonly type: SimErrorType;
  readonly param: string | null;

  constructor(status: number, type: SimErrorType, message: string, param: string | null = null) {
    super(message);
    this.name = 'SimError';
    this.status = status;
    this.type = type;
    this.param = param;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.status } };
  }
}

export const badRequest = (message: string, param: string | null = null): SimError =>
  new SimError(400, 'BadRequestError', message, param);

export const notFound = (message: string): SimError => new SimError(404, 'NotFoundError', message);

export const internalError = (message: string): SimError => new SimError(500, 'InternalServerError', message);
