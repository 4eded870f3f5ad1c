import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../../core/errors.ts';
import { StoreUnavailableError } from '../../core/store/errors.ts';
import type { Logger } from '../logger.ts';
import { requestIdOf } from './request-id.ts';

interface BodyParserError {
  type: string;
  status?: number;
  limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return error !== null && typeof error === 'object' && 'type' in error && typeof error.type === 'string';
}

/**
 * zlib's failure to inflate a body sent with `Content-Encoding: gzip|deflate|br` that is not
 * what it claims: body-parser passes it on as is (code `Z_DATA_ERROR`, `Z_BUF_ERROR`, ...; brotli's
 * decoder errors become `ERR__ERROR_FORMAT_*` and the like), no status, which would otherwise read as the router's own fault.
 */
function isDecompressionError(error: unknown): boolean {
  if (error === null || typeof error !== 'object' || !('code' in error)) return false;
  const code = error.code;
  return typeof code === 'string' && (/^Z_[A-Z_]+$/.test(code) || code.startsWith('ERR__ERROR_'));
}

/** Maps anything thrown on the request path to OpenAI's error shape; never leaks internals. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailableError) {
    return new ApiError(
      503,
      'service_unavailable',
      'the shared state store (Redis) is unreachable; retry shortly',
      {
        code: 'store_unavailable',
        retryAfterSeconds: 1,
      },
    );
  }
  if (error instanceof URIError) {
    // Express could not percent-decode a path parameter (e.g. `/v1/workflows/%E0%A4%A/status`).
    return new ApiError(400, 'invalid_request_error', 'the request path is not valid percent-encoding', {
      code: 'invalid_path',
    });
  }
  if (isBodyParserError(error)) {
    switch (error.type) {
      case 'entity.too.large':
        return new ApiError(
          413,
          'invalid_request_error',
          `request body exceeds the limit of ${error.limit ?? '?'} bytes`,
          {
            code: 'body_too_large',
          },
        );
      case 'entity.parse.failed':
        return new ApiError(400, 'invalid_request_error', 'the request body is not valid JSON', {
          code: 'invalid_json',
        });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new ApiError(415, 'invalid_request_error', 'unsupported body encoding', {
          code: 'unsupported_encoding',
        });
      case 'request.aborted':
        return new ApiError(400, 'invalid_request_error', 'the request body was cut short', {
          code: 'body_aborted',
        });
      default:
        return new ApiError(400, 'invalid_request_error', 'the request body could not be read', {
          code: 'invalid_body',
        });
    }
  }
  if (isDecompressionError(error)) {
    return new ApiError(
      400,
      'invalid_request_error',
      'the request body does not match its Content-Encoding',
      {
        code: 'invalid_encoding',
      },
    );
  }
  return new ApiError(500, 'server_error', 'internal error in the router', { code: 'internal_error' });
}

export function sendError(res: Response, error: ApiError): void {
  if (error.retryAfterSeconds !== undefined)
    res.setHeader('retry-after', String(Math.ceil(error.retryAfterSeconds)));
  res.status(error.status).json(error.toBody());
}

export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const apiError = toApiError(error);
    if (error instanceof StoreUnavailableError) {
      logger.warn('request refused: state store unavailable', {
        requestId: requestIdOf(res),
        path: req.path,
      });
    } else if (apiError.status >= 500 && !(error instanceof ApiError)) {
      logger.error('request failed', {
        requestId: requestIdOf(res),
        path: req.path,
        error: String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, apiError);
  };
}
