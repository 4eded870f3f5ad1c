import type { RequestListener } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ApiError, notFound } from '../core/errors.ts';
import { adminRouter } from './http/admin.ts';
import { authenticate } from './http/auth.ts';
import { bodyLog } from './http/body-log.ts';
import { requestGuard } from './http/limits.ts';
import { metricsHandler } from './http/metrics-access.ts';
import { DASHBOARD_PATHS, dashboardRouter } from './dashboard/routes.ts';
import { completionRoute } from './http/completion-route.ts';
import { completionsHandler } from './http/completions.ts';
import { errorHandler } from './http/errors.ts';
import { requestId } from './http/request-id.ts';
import { messagesRouter } from './messages/routes.ts';
import type { RouterCore } from './router-core.ts';
import { workflowsRouter } from './workflows/routes.ts';

/** Routes known to the router, with their methods, so a wrong method is 405 and not 404. */
const ROUTES: { pattern: RegExp; methods: string[] }[] = [
  { pattern: /^\/v1\/(chat\/)?completions$/, methods: ['POST'] },
  { pattern: /^\/v1\/models$/, methods: ['GET'] },
  { pattern: /^\/v1\/workflows$/, methods: ['GET'] },
  { pattern: /^\/v1\/workflows\/stats$/, methods: ['GET'] },
  { pattern: /^\/v1\/workflows\/[^/]+$/, methods: ['PUT', 'DELETE'] },
  { pattern: /^\/v1\/workflows\/[^/]+\/status$/, methods: ['GET'] },
  { pattern: /^\/v1\/workflows\/[^/]+\/messages$/, methods: ['POST'] },
  { pattern: /^\/v1\/workflows\/[^/]+\/agents\/[^/]+\/messages$/, methods: ['GET', 'POST'] },
  { pattern: /^\/v1\/workflows\/[^/]+\/agents\/[^/]+\/messages\/stream$/, methods: ['GET'] },
  { pattern: /^\/(healthz|readyz|metrics)$/, methods: ['GET'] },
  { pattern: /^\/v1\/admin\/config$/, methods: ['GET', 'PATCH'] },
  { pattern: /^\/v1\/admin\/keys\/reload$/, methods: ['POST'] },
  { pattern: DASHBOARD_PATHS, methods: ['GET'] },
];

function unmatched(req: Request, res: Response, next: NextFunction): void {
  const route = ROUTES.find((r) => r.pattern.test(req.path));
  if (route) {
    res.setHeader('allow', route.methods.join(', '));
    next(
      new ApiError(
        405,
        'invalid_request_error',
        `method ${req.method} is not allowed on ${req.path}; use ${route.methods.join(', ')}`,
        { code: 'method_not_allowed' },
      ),
    );
    return;
  }
  next(notFound(`no route ${req.method} ${req.path}`, 'unknown_route'));
}

/** The router's HTTP surface (DESIGN sections 3, 7, 8). */
export function createApp(
  core: RouterCore,
  isReady: () => { ready: boolean; detail: Record<string, unknown> },
): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(requestGuard(core.config.maxHeaders, core.draining.signal));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const { ready, detail } = isReady();
    const status = !ready ? 'not ready' : detail.degraded === true ? 'degraded' : 'ready';
    res.status(ready ? 200 : 503).json({ status, ...detail });
  });
  app.get('/metrics', metricsHandler(core));

  app.use(dashboardRouter(core));
  app.use('/v1', authenticate(core.keyring));
  // Per-tenant calls/s and concurrency, before any work is done on the call.
  app.post(['/v1/chat/completions', '/v1/completions'], core.limiter.callGate());
  app.use(
    '/v1',
    express.json({ limit: core.config.maxBodyBytes, type: ['application/json', 'application/*+json'] }),
  );
  app.use('/v1', bodyLog(core));

  app.post('/v1/chat/completions', completionsHandler(core, 'chat'));
  app.post('/v1/completions', completionsHandler(core, 'completions'));
  app.get('/v1/models', (_req, res) => {
    const created = Math.floor(Date.now() / 1000);
    res.json({
      object: 'list',
      data: core.pool
        .healthyModels()
        .map((id) => ({ id, object: 'model', created, owned_by: 'workflow-router' })),
    });
  });
  app.use(adminRouter(core));
  app.use(workflowsRouter(core));
  app.use(messagesRouter(core));
  app.use(unmatched);
  const onError = errorHandler(core.logger);
  app.use(onError);
  // The hot path: the completion calls run the chain above without Express's dispatch.
  const completions = completionRoute(core, app, onError);
  return (req, res) => {
    if (!completions(req, res)) app(req, res);
  };
}
