import type { NextFunction, Request, Response } from 'express';
import { ApiError, forbidden } from '../../core/errors.ts';
import type { Keyring } from '../http/api-keys.ts';
import { authenticate, callerOf } from '../http/auth.ts';

const REALM = 'Basic realm="workflow-router dashboard", charset="UTF-8"';

/**
 * The dashboard's key check. A browser cannot add a bearer header to a page load or to an
 * EventSource, but it can answer HTTP Basic: the API key is the password (any user name), and
 * the browser then sends it with the page, its script and its event stream. Bearer keys work
 * too, for scripts. The caller must hold an admin key (role `admin` in --api-keys-file; the
 * legacy --api-keys are admin keys).
 */
export function dashboardAuth(keys: Keyring | readonly string[]) {
  const bearer = authenticate(keys);
  return (req: Request, res: Response, next: NextFunction): void => {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      req.headers.authorization = `Bearer ${decoded.slice(decoded.indexOf(':') + 1)}`;
    }
    try {
      bearer(req, res, (error?: unknown) => {
        if (error !== undefined) return next(error);
        if (callerOf(req).role !== 'admin')
          return next(forbidden('the dashboard needs an admin key', 'admin_required'));
        next();
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) res.setHeader('www-authenticate', REALM);
      throw error;
    }
  };
}
