import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../../core/errors.ts';
import { DEFAULT_TENANT } from '../../core/ids.ts';

export interface Caller {
  tenant: string;
  role: 'user' | 'admin';
}

const OPEN: Caller = { tenant: DEFAULT_TENANT, role: 'admin' };

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Bearer-key check. Keys are kept only as SHA-256 digests and compared in constant time over
 * every key, so neither the key nor which key matched leaks through timing.
 */
export function authenticate(apiKeys: readonly string[]) {
  const digests = apiKeys.map(digest);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (digests.length === 0) {
      res.locals.caller = OPEN;
      next();
      return;
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1]) {
      throw new ApiError(401, 'authentication_error', 'missing API key: send Authorization: Bearer <key>', {
        code: 'missing_api_key',
      });
    }
    const given = digest(match[1].trim());
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    if (!ok) throw new ApiError(401, 'authentication_error', 'invalid API key', { code: 'invalid_api_key' });
    res.locals.caller = { tenant: DEFAULT_TENANT, role: 'admin' } satisfies Caller;
    next();
  };
}

export function callerOf(req: Request): Caller {
  const caller: unknown = req.res?.locals.caller;
  return caller !== undefined ? (caller as Caller) : OPEN;
}
