import type { NextFunction, Request, Response } from 'express';
import type { RouterCore } from '../router-core.ts';
import { callerOf } from './auth.ts';
import { requestIdOf } from './request-id.ts';

/**
 * `--log-bodies`: logs each request body (prompts, agent messages) with its request id. Off by
 * default, and nothing else in the router logs a body: prompts and messages are other
 * people's data (docs/security.md).
 */
export function bodyLog(core: RouterCore) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (core.config.logBodies && req.method !== 'GET' && req.body !== undefined) {
      core.logger.info('request body', {
        requestId: requestIdOf(res),
        path: req.path,
        tenant: callerOf(req).tenant,
        body: req.body as unknown,
      });
    }
    next();
  };
}
