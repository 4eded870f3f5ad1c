import type { Request, Response } from 'express';
import type { RouterCore } from '../router-core.ts';

/** A sample line of a per-workflow series (labels tenant and workflow). */
const PER_WORKFLOW = /^[a-zA-Z_:][a-zA-Z0-9_:]*\{(?:[^}]*,)?(?:tenant|workflow)="/;

/**
 * GET /metrics. Prometheus scrapes it without a key, and the fleet-level families are no
 * tenant's secret; but the per-workflow series (`--metrics-top-workflows`) name tenants and
 * workflows, so while API keys are on they are only shown to an admin key (a ServiceMonitor
 * with `authorization` set to one). Anyone else gets every other family.
 */
export function metricsHandler(core: RouterCore) {
  return async (req: Request, res: Response): Promise<void> => {
    await core.refreshGauges();
    let text = await core.metrics.registry.metrics();
    if (core.keyring.enabled) {
      const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
      const owner = presented === undefined ? undefined : core.keyring.identify(presented);
      if (owner?.role !== 'admin') {
        text = text
          .split('\n')
          .filter((line) => !PER_WORKFLOW.test(line))
          .join('\n');
      }
    }
    res.setHeader('content-type', core.metrics.registry.contentType);
    res.send(text);
  };
}
