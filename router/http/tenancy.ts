import type { NextFunction, Request, Response } from 'express';
import { badRequest, forbidden } from '../../core/errors.ts';
import { ID_PATTERN } from '../../core/ids.ts';
import { callerOf } from './auth.ts';

/**
 * Tenancy rules of the HTTP surface (issue 10, docs/security.md):
 * - a workflow's identity is (tenant, id) and the tenant is the caller's, so another tenant's
 *   workflow, status or inbox simply does not exist for a caller: 404, never 403, and no id
 *   leaks (the stores scope every key by tenant);
 * - admin keys alone may act on another tenant (`?tenant=` on list, status and delete), read
 *   fleet-wide statistics and change the runtime configuration; a user key gets 403 there
 *   (a route's existence is no secret, a workflow's is).
 */
export function isAdmin(req: Request): boolean {
  return callerOf(req).role === 'admin';
}

/** Middleware: admin keys only (403 in OpenAI's shape otherwise). */
export function adminOnly(req: Request, _res: Response, next: NextFunction): void {
  if (!isAdmin(req)) {
    next(forbidden('this route needs an admin key', 'admin_required'));
    return;
  }
  next();
}

/** The tenant a request acts on: the caller's own; an admin may name another with `?tenant=`. */
export function tenantOf(req: Request): string {
  const caller = callerOf(req);
  const asked: unknown = (req.query as Record<string, unknown>).tenant;
  if (asked === undefined) return caller.tenant;
  if (typeof asked !== 'string' || !ID_PATTERN.test(asked)) {
    throw badRequest(
      'tenant must be a tenant name (A-Z a-z 0-9 . _ : -, up to 128)',
      'tenant',
      'invalid_tenant',
    );
  }
  if (asked !== caller.tenant && caller.role !== 'admin') {
    throw forbidden('acting on another tenant needs an admin key', 'admin_required');
  }
  return asked;
}
