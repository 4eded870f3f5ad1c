import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../../core/errors.ts';
import { DEFAULT_TENANT } from '../../core/ids.ts';
import { Keyring, type Role } from './api-keys.ts';

export interface Caller {
  tenant: string;
  role: Role;
  /** How logs name the key (never the key); 'open' when keys are off. */
  label: string;
}

const OPEN: Caller = { tenant: DEFAULT_TENANT, role: 'admin', label: 'open' };

/**
 * Bearer-key check: identifies the caller's tenant and role from the keyring (digests only,
 * compared in constant time). With no key configured the router is open: tenant `default`, admin.
 * A plain key list is accepted for callers that predate the keyring (tenant `default`, admin).
 */
export function authenticate(keys: Keyring | readonly string[]) {
  const keyring = keys instanceof Keyring ? keys : new Keyring(keys);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!keyring.enabled) {
      res.locals.caller = OPEN;
      next();
      return;
    }
    const header = req.headers.authorization ?? '';
    const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (!presented) {
      throw new ApiError(401, 'authentication_error', 'missing API key: send Authorization: Bearer <key>', {
        code: 'missing_api_key',
      });
    }
    const owner = keyring.identify(presented);
    if (!owner)
      throw new ApiError(401, 'authentication_error', 'invalid API key', { code: 'invalid_api_key' });
    res.locals.caller = owner satisfies Caller;
    next();
  };
}

export function callerOf(req: Request): Caller {
  const caller: unknown = req.res?.locals.caller;
  return caller !== undefined ? (caller as Caller) : OPEN;
}
