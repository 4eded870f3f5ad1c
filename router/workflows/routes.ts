import { Router, type Request } from 'express';
import { z } from 'zod';
import { notFound } from '../../core/errors.ts';
import { idSchema, type WorkflowKey } from '../../core/ids.ts';
import { hitRate } from '../../core/store/workflow-record.ts';
import { normalizeSpecKeys, workflowSpecSchema } from '../../core/workflow-spec.ts';
import { statusView } from '../../core/workflow-status.ts';
import { isAdmin, tenantOf } from '../http/tenancy.ts';
import { parseOrThrow } from '../http/validation.ts';
import type { RouterCore } from '../router-core.ts';

const pathSchema = z.object({ id: idSchema });

/**
 * Workflow monitoring and declaration (DESIGN section 8, and PUT for use without Kubernetes).
 * Everything is scoped by the caller's tenant (router/http/tenancy.ts): another tenant's
 * workflow is a 404. Admin keys may name a tenant with `?tenant=`, and see fleet-wide
 * statistics with every pod; a user key sees its own tenant's statistics and no pod addresses.
 */
export function workflowsRouter(core: RouterCore): Router {
  const router = Router();
  const keyOf = (req: Request): WorkflowKey => ({
    tenant: tenantOf(req),
    id: parseOrThrow(pathSchema, req.params, 'path').id,
  });

  router.get('/v1/workflows', async (req, res) => {
    await core.workflows.stats.flush();
    const records = await core.store.workflows.list(tenantOf(req));
    const now = Date.now();
    records.sort((a, b) => b.lastActiveAt - a.lastActiveAt);
    res.json({
      object: 'list',
      data: records.map((r) => statusView(r, now, core.config.contextBudgetTokens)),
    });
  });

  router.get('/v1/workflows/stats', async (req, res) => {
    await core.workflows.stats.flush();
    const admin = isAdmin(req);
    const named = (req.query as Record<string, unknown>).tenant !== undefined;
    // Fleet-wide figures (every tenant, evictions, pods and their addresses) are for admins.
    const tenant = admin && !named ? undefined : tenantOf(req);
    const totals = await core.store.workflows.totals(tenant);
    const common = {
      object: 'workflow.stats',
      scope: tenant === undefined ? 'fleet' : 'tenant',
      ...(tenant !== undefined ? { tenant } : {}),
      routing_logic: core.config.routingLogic,
      calls: totals.calls,
      prompt_tokens: totals.promptTokens,
      cached_tokens: totals.cachedTokens,
      completion_tokens: totals.completionTokens,
      cache_hit_rate: Math.round(hitRate(totals) * 10_000) / 10_000,
      migrations: totals.migrations,
      spills: totals.spills,
      messages: totals.messages,
    };
    if (!admin) {
      res.json({ ...common, workflows: { live: totals.live } });
      return;
    }
    const pinCounts = await core.store.pins.countsByPod();
    res.json({
      ...common,
      store: core.store.kind,
      workflows: { live: totals.live, evicted: totals.evicted, expired: totals.expired },
      pods: core.pool.all().map((p) => ({
        id: p.id,
        url: p.url,
        models: p.models,
        healthy: p.healthy,
        down_reason: p.downReason ?? null,
        inflight: p.inflight,
        queued: core.queueDepth(p.id),
        running: p.scraped.running,
        waiting: p.scraped.waiting,
        kv_usage: p.scraped.kvUsage,
        pinned_workflows: pinCounts[p.id] ?? 0,
      })),
    });
  });

  router.get('/v1/workflows/:id/status', async (req, res) => {
    const key = keyOf(req);
    await core.workflows.stats.flush();
    const record = await core.store.workflows.get(key);
    if (!record) throw notFound(`workflow "${key.id}" not found`, 'workflow_not_found');
    res.json(statusView(record, Date.now(), core.config.contextBudgetTokens));
  });

  router.put('/v1/workflows/:id', async (req, res) => {
    const key = keyOf(req);
    const spec = parseOrThrow(workflowSpecSchema, normalizeSpecKeys(req.body ?? {}), 'body');
    const result = await core.workflows.declare(key, spec);
    res
      .status(result.created ? 201 : 200)
      .json(statusView(result.record, Date.now(), core.config.contextBudgetTokens));
  });

  router.delete('/v1/workflows/:id', async (req, res) => {
    const key = keyOf(req);
    await core.workflows.stats.flush();
    if (!(await core.workflows.delete(key)))
      throw notFound(`workflow "${key.id}" not found`, 'workflow_not_found');
    await core.limiter.forgetWorkflow(key);
    res.json({ object: 'workflow.deleted', id: key.id, deleted: true });
  });

  return router;
}
