import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../../core/errors.ts';
import { LOG_LEVELS } from '../config.ts';
import type { RouterCore } from '../router-core.ts';
import { adminOnly } from './tenancy.ts';
import { parseOrThrow } from './validation.ts';

const limitsPatch = z
  .object({
    calls_per_second: z.number().finite().min(0),
    max_concurrent_calls: z.number().int().min(0),
    max_workflows: z.number().int().min(0),
    max_queued_messages: z.number().int().min(0),
  })
  .partial()
  .strict();

const configPatch = z
  .object({
    log_level: z.enum(LOG_LEVELS),
    log_bodies: z.boolean(),
    tenant_limits: limitsPatch,
  })
  .partial()
  .strict();

/** A Redis URL with its password masked. */
function redactUrl(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

function view(core: RouterCore) {
  const c = core.config;
  const limits = core.limiter.defaults;
  return {
    object: 'router.config',
    routing_logic: c.routingLogic,
    service_discovery: c.serviceDiscovery,
    store: core.store.kind,
    redis_url: redactUrl(c.redisUrl),
    api_keys: { enabled: core.keyring.enabled, count: core.keyring.size, file: c.apiKeysFile ?? null },
    log_level: core.logger.level,
    log_bodies: c.logBodies,
    tenant_limits: {
      calls_per_second: limits.callsPerSecond,
      max_concurrent_calls: limits.maxConcurrentCalls,
      max_workflows: limits.maxWorkflows,
      max_queued_messages: limits.maxQueuedMessages,
    },
    limits: {
      max_body_bytes: c.maxBodyBytes,
      max_header_bytes: c.maxHeaderBytes,
      max_headers: c.maxHeaders,
      headers_timeout_ms: c.headersTimeoutMs,
      body_timeout_ms: c.bodyTimeoutMs,
      keep_alive_timeout_ms: c.keepAliveTimeoutMs,
      max_connections: c.maxConnections,
      max_connections_per_client: c.maxConnectionsPerClient,
      max_message_bytes: c.maxMessageBytes,
      max_message_queue_size: c.maxMessageQueueSize,
      max_workflows: c.maxWorkflows,
    },
    upstream: {
      connect_timeout_ms: c.upstreamConnectTimeoutMs,
      first_byte_timeout_ms: c.upstreamFirstByteTimeoutMs || c.upstreamTimeoutMs,
      idle_timeout_ms: c.upstreamTimeoutMs,
      retry: c.upstreamRetry,
      passive_failures: c.passiveFailures,
      ejection_ms: c.ejectionMs,
    },
    drain_ms: c.drainMs,
  };
}

/**
 * Runtime configuration, admin keys only: GET shows the effective settings (no key, no
 * password); PATCH changes the log level, body logging and the default tenant limits of the
 * replica that answers (the flags and the keys file stay the fleet-wide source of truth);
 * POST /v1/admin/keys/reload re-reads the keys file now.
 */
export function adminRouter(core: RouterCore): Router {
  const router = Router();
  router.use('/v1/admin', adminOnly);
  router.get('/v1/admin/config', (_req, res) => {
    res.json(view(core));
  });
  router.patch('/v1/admin/config', (req, res) => {
    const patch = parseOrThrow(configPatch, req.body ?? {}, 'body');
    if (patch.log_level !== undefined) core.logger.level = patch.log_level;
    if (patch.log_bodies !== undefined) core.config.logBodies = patch.log_bodies;
    const l = patch.tenant_limits;
    if (l) {
      const d = core.limiter.defaults;
      core.limiter.defaults = {
        callsPerSecond: l.calls_per_second ?? d.callsPerSecond,
        maxConcurrentCalls: l.max_concurrent_calls ?? d.maxConcurrentCalls,
        maxWorkflows: l.max_workflows ?? d.maxWorkflows,
        maxQueuedMessages: l.max_queued_messages ?? d.maxQueuedMessages,
      };
    }
    core.logger.warn('runtime configuration changed by an admin', { change: patch });
    res.json(view(core));
  });
  router.post('/v1/admin/keys/reload', (_req, res) => {
    if (core.config.apiKeysFile === undefined) {
      throw new ApiError(409, 'conflict_error', 'no --api-keys-file to reload', { code: 'no_keys_file' });
    }
    try {
      core.keyring.reload();
    } catch (error) {
      throw new ApiError(
        422,
        'invalid_request_error',
        `keys file not reloaded: ${(error as Error).message}`,
        {
          code: 'invalid_keys_file',
        },
      );
    }
    res.json({ object: 'router.keys', count: core.keyring.size });
  });
  return router;
}
