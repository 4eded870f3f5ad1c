import { z } from 'zod';

/** How far the router retries a call whose pod failed before answering (README, Reliability). */
export const UPSTREAM_RETRY_POLICIES = ['before-response', 'connect'] as const;
export type UpstreamRetryPolicy = (typeof UPSTREAM_RETRY_POLICIES)[number];

/** Per-tenant limits; 0 means unlimited. */
export const tenantLimitsSchema = z.object({
  callsPerSecond: z.number().min(0),
  maxConcurrentCalls: z.number().int().min(0),
  maxWorkflows: z.number().int().min(0),
  maxQueuedMessages: z.number().int().min(0),
});

export type TenantLimits = z.infer<typeof tenantLimitsSchema>;

/**
 * The reliability and security part of the router's configuration (issue 10): keys, limits on
 * what a client may send and hold, upstream timeouts and retries, passive pod ejection,
 * draining and logging of bodies. Spread into routerConfigSchema; defaults in the README.
 */
export const safetyConfigShape = {
  /** YAML/JSON file of SHA-256 key digests with tenant and role, and per-tenant limits. */
  apiKeysFile: z.string().min(1).optional(),
  /** Log prompt and message bodies (off: bodies never reach the logs). */
  logBodies: z.boolean(),
  maxHeaderBytes: z.number().int().min(1024),
  maxHeaders: z.number().int().min(8),
  /** Longest a client may take to send its request headers (slow-loris). */
  headersTimeoutMs: z.number().int().min(100),
  /** Longest a client may take to send a whole request, body included. */
  bodyTimeoutMs: z.number().int().min(100),
  keepAliveTimeoutMs: z.number().int().min(100),
  /** Open client connections per replica; 0: unlimited. */
  maxConnections: z.number().int().min(0),
  /** Open connections per client address; 0: unlimited. */
  maxConnectionsPerClient: z.number().int().min(0),
  upstreamConnectTimeoutMs: z.number().int().min(1),
  /** From the request sent to the pod's response headers; 0: the same as upstreamTimeoutMs. */
  upstreamFirstByteTimeoutMs: z.number().int().min(0),
  upstreamRetry: z.enum(UPSTREAM_RETRY_POLICIES),
  /** Transport failures in a row (resets, silent pods) before a pod is ejected; 0: never. */
  passiveFailures: z.number().int().min(0),
  /** How long an ejected pod gets no calls (doubled for each ejection in a row, up to 16x). */
  ejectionMs: z.number().int().min(1),
  /** How long a SIGTERM waits for in-flight calls and streams before it cuts them. */
  drainMs: z.number().int().min(0),
  tenantLimits: tenantLimitsSchema,
};

export type SafetyConfig = z.infer<z.ZodObject<typeof safetyConfigShape>>;

export const SAFETY_DEFAULTS: SafetyConfig = {
  apiKeysFile: undefined,
  logBodies: false,
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 20_000,
  maxConnectionsPerClient: 0,
  upstreamConnectTimeoutMs: 5000,
  upstreamFirstByteTimeoutMs: 0,
  upstreamRetry: 'before-response',
  passiveFailures: 3,
  ejectionMs: 10_000,
  drainMs: 25_000,
  tenantLimits: { callsPerSecond: 0, maxConcurrentCalls: 0, maxWorkflows: 0, maxQueuedMessages: 0 },
};
