import { z } from 'zod';
import { ROUTING_LOGICS } from './scheduling/profiles.ts';
import { SAFETY_DEFAULTS, safetyConfigShape } from './safety-config.ts';

/** One backend of `--service-discovery static`: a URL and the models it serves. */
export interface StaticBackend {
  id: string;
  url: string;
  models: string[];
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** The router's whole configuration, validated once at start-up. */
export const routerConfigSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  routingLogic: z.enum(ROUTING_LOGICS),
  serviceDiscovery: z.enum(['static', 'k8s']),
  staticBackends: z.array(
    z.object({ id: z.string(), url: z.string(), models: z.array(z.string().min(1)).min(1) }),
  ),
  sessionKey: z.string().min(1),
  workflowTtlSeconds: z.number().int().min(1),
  maxWorkflows: z.number().int().min(1),
  maxMessageQueueSize: z.number().int().min(1),
  messageTtlSeconds: z.number().int().min(1),
  maxMessageBytes: z.number().int().min(1),
  batchingPreference: z.number().min(0).max(1),
  contextBudgetTokens: z.number().int().min(0),
  maxBodyBytes: z.number().int().min(1),
  healthCheckIntervalMs: z.number().min(10),
  maxInflightPerPod: z.number().int().min(1),
  admissionQueueSize: z.number().int().min(0),
  upstreamTimeoutMs: z.number().int().min(1),
  ...safetyConfigShape,
  statsFlushMs: z.number().int().min(0),
  /** How long a replica's count of calls in flight holds in the store unless renewed (stats-batch.ts). */
  inflightLeaseMs: z.number().int().min(100),
  logLevel: z.enum(LOG_LEVELS),
  apiKeys: z.array(z.string().min(8)),
  redisUrl: z.string().optional(),
  redisSentinels: z.array(z.object({ host: z.string(), port: z.number().int() })),
  redisSentinelName: z.string().optional(),
  redisClusterNodes: z.array(z.object({ host: z.string(), port: z.number().int() })),
  redisUsername: z.string().optional(),
  redisPassword: z.string().optional(),
  redisSentinelPassword: z.string().optional(),
  redisTls: z.boolean(),
  redisPrefix: z.string().min(1),
  otelEndpoint: z.url().optional(),
  otelServiceName: z.string().min(1),
  metricsTopWorkflows: z.number().int().min(0).max(1000),
});

export type RouterConfig = z.infer<typeof routerConfigSchema>;

export const DEFAULT_CONFIG: RouterConfig = {
  host: '0.0.0.0',
  port: 8001,
  routingLogic: 'workflow_aware',
  serviceDiscovery: 'static',
  staticBackends: [],
  sessionKey: 'x-user-id',
  workflowTtlSeconds: 3600,
  maxWorkflows: 10_000,
  maxMessageQueueSize: 1000,
  messageTtlSeconds: 3600,
  maxMessageBytes: 256 * 1024,
  batchingPreference: 0.8,
  contextBudgetTokens: 16_384,
  maxBodyBytes: 10 * 1024 * 1024,
  healthCheckIntervalMs: 5000,
  maxInflightPerPod: 256,
  admissionQueueSize: 1024,
  upstreamTimeoutMs: 600_000,
  ...SAFETY_DEFAULTS,
  statsFlushMs: 50,
  inflightLeaseMs: 30_000,
  logLevel: 'info',
  apiKeys: [],
  redisUrl: undefined,
  redisSentinels: [],
  redisSentinelName: undefined,
  redisClusterNodes: [],
  redisUsername: undefined,
  redisPassword: undefined,
  redisSentinelPassword: undefined,
  redisTls: false,
  redisPrefix: 'wr:',
  otelEndpoint: undefined,
  otelServiceName: 'workflow-router',
  metricsTopWorkflows: 20,
};

/** Builds a config for tests and embedding: defaults, then the given fields, validated. */
export function makeConfig(overrides: Partial<RouterConfig>): RouterConfig {
  return routerConfigSchema.parse({ ...DEFAULT_CONFIG, ...overrides });
}
