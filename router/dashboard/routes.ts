/**
 * The live dashboard at /dashboard: a static page (HTML, one script, one stylesheet, no build
 * step) that renders the snapshots of /dashboard/feed (server-sent events) as they arrive.
 * /dashboard/snapshot answers the same JSON once, for scripts.
 */
import { readFileSync } from 'node:fs';
import { Router, type Response } from 'express';
import { callerOf } from '../http/auth.ts';
import type { RouterCore } from '../router-core.ts';
import { dashboardAuth } from './auth.ts';
import { DashboardFeeds } from './feed.ts';
import { buildSnapshot } from './snapshot.ts';

const asset = (name: string): Buffer => readFileSync(new URL(name, import.meta.url));

const ASSETS: Record<string, { body: Buffer; type: string }> = {
  '/dashboard': { body: asset('./page.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': { body: asset('./dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/dashboard.css': { body: asset('./dashboard.css'), type: 'text/css; charset=utf-8' },
};

/** Paths the dashboard answers (GET only), for the app's 405 table. */
export const DASHBOARD_PATHS = /^\/dashboard(\/(feed|snapshot|dashboard\.js|dashboard\.css))?$/;

function sendAsset(res: Response, path: string): void {
  const file = ASSETS[path];
  if (!file) return;
  res.setHeader('content-type', file.type);
  res.setHeader('cache-control', 'no-cache');
  res.setHeader(
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
  res.setHeader('x-content-type-options', 'nosniff');
  res.send(file.body);
}

export function dashboardRouter(core: RouterCore): Router {
  const router = Router();
  const auth = dashboardAuth(core.keyring);
  const feeds = new DashboardFeeds((tenant) => buildSnapshot(core, tenant), core.draining.signal);

  for (const path of Object.keys(ASSETS)) {
    router.get(path, auth, (_req, res) => sendAsset(res, path));
  }
  router.get('/dashboard/snapshot', auth, async (req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json(await buildSnapshot(core, callerOf(req).tenant));
  });
  router.get('/dashboard/feed', auth, (req, res) => {
    feeds.subscribe(callerOf(req).tenant, req, res);
  });
  return router;
}
