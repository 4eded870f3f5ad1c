import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ID_PATTERN } from '../../core/ids.ts';

/** Every response carries X-Request-Id: the client's when it sent a sane one, else a new one. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && ID_PATTERN.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
}

export function requestIdOf(res: Response): string {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : 'unknown';
}
