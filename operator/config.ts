import { z } from 'zod';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const address = z.object({ host: z.string(), port: z.number().int() });

/** The operator's whole configuration, validated once at start-up. */
export const operatorConfigSchema = z.object({
  /** Path of a kubeconfig; undefined: in-cluster when running in a pod, else the default kubeconfig. */
  kubeconfig: z.string().optional(),
  /** Watch one namespace; undefined: every namespace. */
  namespace: z.string().min(1).optional(),
  redisUrl: z.string().optional(),
  redisSentinels: z.array(address),
  redisSentinelName: z.string().optional(),
  redisClusterNodes: z.array(address),
  redisUsername: z.string().optional(),
  redisPassword: z.string().optional(),
  redisSentinelPassword: z.string().optional(),
  redisTls: z.boolean(),
  redisPrefix: z.string().min(1),
  leaderElect: z.boolean(),
  leaseName: z.string().min(1),
  /** undefined: the pod's own namespace in-cluster, else --namespace, else `default`. */
  leaseNamespace: z.string().min(1).optional(),
  leaseDurationMs: z.number().int().min(100),
  renewDeadlineMs: z.number().int().min(50),
  retryPeriodMs: z.number().int().min(10),
  /** This replica's name in the Lease. */
  identity: z.string().min(1),
  /** Least time between two status patches of one resource (and the Redis poll of workflow status). */
  statusIntervalMs: z.number().int().min(10),
  /** Idle ttl written for Workflows without spec.ttlSeconds (keep equal to the routers' --workflow-ttl). */
  workflowTtlSeconds: z.number().int().min(1),
  logLevel: z.enum(LOG_LEVELS),
  metricsHost: z.string().min(1),
  /** 0 picks a free port. */
  metricsPort: z.number().int().min(0).max(65535),
});

export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

export const DEFAULT_OPERATOR_CONFIG: Omit<OperatorConfig, 'identity'> = {
  kubeconfig: undefined,
  namespace: undefined,
  redisUrl: undefined,
  redisSentinels: [],
  redisSentinelName: undefined,
  redisClusterNodes: [],
  redisUsername: undefined,
  redisPassword: undefined,
  redisSentinelPassword: undefined,
  redisTls: false,
  redisPrefix: 'wr:',
  leaderElect: false,
  leaseName: 'workflow-operator',
  leaseNamespace: undefined,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  statusIntervalMs: 2_000,
  workflowTtlSeconds: 3600,
  logLevel: 'info',
  metricsHost: '0.0.0.0',
  metricsPort: 8080,
};
