import { Command, CommanderError, Option } from 'commander';
import { FlagError } from '../core/cli/flag-error.ts';
import { addRedisFlags, redisSettingsFromFlags, type RedisFlags } from '../core/cli/redis-flags.ts';
import { DEFAULT_CONFIG, LOG_LEVELS, type RouterConfig, type StaticBackend } from './config.ts';
import { ROUTING_LOGICS } from './scheduling/profiles.ts';
import { safetyConfig, safetyOptions, type FlagKit, type SafetyFlags } from './safety-flags.ts';

export { FlagError };

function envName(flag: string): string {
  return `WORKFLOW_ROUTER_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function flag(name: string, arg: string, description: string): Option {
  return new Option(`--${name} <${arg}>`, description).env(envName(name));
}

function integer(flagName: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || n < min || n > max) {
      throw new FlagError(
        flagName,
        value,
        `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`,
      );
    }
    return n;
  };
}

function decimal(flagName: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new FlagError(flagName, value, `a number from ${min} to ${max}`);
    }
    return n;
  };
}

function oneOf<T extends string>(flagName: string, values: readonly T[]) {
  return (value: string): T => {
    const found = values.find((v) => v === value);
    if (found === undefined) throw new FlagError(flagName, value, values.join(', '));
    return found;
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function httpUrl(flagName: string) {
  return (value: string): string => {
    if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
      throw new FlagError(flagName, value, 'an http(s) URL');
    return value;
  };
}

function parseBackendUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FlagError('static-backends', value, 'comma-separated http(s) URLs');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FlagError('static-backends', value, 'comma-separated http(s) URLs');
  }
  return url.origin;
}

/** `--static-models`: one list for every backend, or `;`-separated lists, one per backend. */
export function staticBackends(urls: string[], models: string | undefined): StaticBackend[] {
  if (urls.length === 0) return [];
  if (models === undefined || models.trim() === '') {
    throw new FlagError('static-models', models ?? '', 'model names for the static backends');
  }
  const perBackend = models.split(';').map(list);
  if (perBackend.length !== 1 && perBackend.length !== urls.length) {
    throw new FlagError(
      'static-models',
      models,
      `one comma-separated list, or ${urls.length} lists separated by ';' (one per backend)`,
    );
  }
  return urls.map((url, i) => {
    const served = perBackend.length === 1 ? perBackend[0] : perBackend[i];
    if (!served || served.length === 0) throw new FlagError('static-models', models, 'non-empty model lists');
    return { id: `pod-${i}`, url: parseBackendUrl(url), models: served };
  });
}

export const USAGE_NAME = 'workflow-router';

const FLAG_KIT: FlagKit = {
  flag,
  integer,
  decimal,
  oneOf,
  fail: (name, value, accepts) => new FlagError(name, value, accepts),
};

function program(): Command {
  const d = DEFAULT_CONFIG;
  const cmd = new Command(USAGE_NAME)
    .description(
      'OpenAI-compatible, workflow-aware router for vLLM pods.\nEvery flag can also be set as WORKFLOW_ROUTER_<FLAG> (e.g. WORKFLOW_ROUTER_PORT).',
    )
    .usage('[options]')
    .helpOption('-h, --help', 'show this help')
    .addOption(flag('host', 'addr', 'address to listen on').default(d.host))
    .addOption(
      flag('port', 'n', 'port to listen on')
        .default(d.port)
        .argParser(integer('port', 0, 65535)),
    )
    .addOption(
      flag('routing-logic', 'name', `one of ${ROUTING_LOGICS.join(', ')}`)
        .default(d.routingLogic)
        .argParser(oneOf('routing-logic', ROUTING_LOGICS)),
    )
    .addOption(
      flag(
        'service-discovery',
        'kind',
        'static (flags) or k8s (routing table in Redis, written by the operator)',
      )
        .default(d.serviceDiscovery)
        .argParser(oneOf('service-discovery', ['static', 'k8s'] as const)),
    )
    .addOption(flag('static-backends', 'urls', 'comma-separated vLLM base URLs').argParser(list))
    .addOption(flag('static-models', 'models', "models served: one list, or ';'-separated lists per backend"))
    .addOption(
      flag('session-key', 'header', 'header holding the session key for --routing-logic session').default(
        d.sessionKey,
      ),
    )
    .addOption(
      flag('workflow-ttl', 'seconds', 'idle time after which a workflow expires')
        .default(d.workflowTtlSeconds)
        .argParser(integer('workflow-ttl', 1)),
    )
    .addOption(
      flag('max-workflows', 'n', 'live workflows kept; beyond, the least recently active is evicted')
        .default(d.maxWorkflows)
        .argParser(integer('max-workflows', 1)),
    )
    .addOption(
      flag('max-message-queue-size', 'n', 'unexpired messages an agent inbox holds before refusing (429)')
        .default(d.maxMessageQueueSize)
        .argParser(integer('max-message-queue-size', 1)),
    )
    .addOption(
      flag('message-ttl', 'seconds', 'default lifetime of an agent message')
        .default(d.messageTtlSeconds)
        .argParser(integer('message-ttl', 1)),
    )
    .addOption(
      flag('max-message-bytes', 'n', 'largest accepted message payload (JSON bytes)')
        .default(d.maxMessageBytes)
        .argParser(integer('max-message-bytes', 1)),
    )
    .addOption(
      flag('batching-preference', 'p', 'how much load a pin tolerates before spilling (0..1)')
        .default(d.batchingPreference)
        .argParser(decimal('batching-preference', 0, 1)),
    )
    .addOption(
      flag('context-budget-tokens', 'n', "cap on a workflow's shared context (4 chars ≈ 1 token)")
        .default(d.contextBudgetTokens)
        .argParser(integer('context-budget-tokens', 0)),
    )
    .addOption(
      flag('max-body-bytes', 'n', 'largest accepted request body (413 beyond)')
        .default(d.maxBodyBytes)
        .argParser(integer('max-body-bytes', 1)),
    )
    .addOption(
      flag('health-check-interval', 'seconds', 'pod probe and metrics scrape period')
        .default(d.healthCheckIntervalMs / 1000)
        .argParser(decimal('health-check-interval', 0.01, 3600)),
    )
    .addOption(
      flag('max-inflight-per-pod', 'n', 'calls in flight per pod before calls queue by priority')
        .default(d.maxInflightPerPod)
        .argParser(integer('max-inflight-per-pod', 1)),
    )
    .addOption(
      flag('admission-queue-size', 'n', 'calls waiting per saturated pod before 429')
        .default(d.admissionQueueSize)
        .argParser(integer('admission-queue-size', 0)),
    )
    .addOption(
      flag('upstream-timeout', 'seconds', 'longest a call may take upstream')
        .default(d.upstreamTimeoutMs / 1000)
        .argParser(decimal('upstream-timeout', 0.001, 86400)),
    )
    .addOption(
      flag('inflight-lease', 'seconds', "how long a replica's count of calls in flight holds unless renewed")
        .default(d.inflightLeaseMs / 1000)
        .argParser(decimal('inflight-lease', 0.1, 3600)),
    )
    .addOption(
      flag('log-level', 'level', LOG_LEVELS.join(', '))
        .default(d.logLevel)
        .argParser(oneOf('log-level', LOG_LEVELS)),
    )
    .addOption(flag('api-keys', 'keys', 'comma-separated bearer keys (none: open)').argParser(list));
  addRedisFlags(
    cmd,
    envName,
    {
      url: 'redis:// or rediss:// URL of the shared state (none: in-memory)',
      prefix: 'prefix of every Redis key',
    },
    d.redisPrefix,
  );
  return cmd
    .addOption(
      flag(
        'otel-endpoint',
        'url',
        'OTLP/HTTP collector URL for traces, e.g. http://otel:4318 (none: off)',
      ).argParser(httpUrl('otel-endpoint')),
    )
    .addOption(flag('otel-service-name', 'name', 'service.name of the spans').default(d.otelServiceName))
    .addOption(
      flag(
        'metrics-top-workflows',
        'n',
        'most recently active workflows given per-workflow metrics (0: none)',
      )
        .default(d.metricsTopWorkflows)
        .argParser(integer('metrics-top-workflows', 0, 1000)),
    );
}

interface ParsedFlags extends SafetyFlags, RedisFlags {
  host: string;
  port: number;
  routingLogic: RouterConfig['routingLogic'];
  serviceDiscovery: RouterConfig['serviceDiscovery'];
  staticBackends?: string[];
  staticModels?: string;
  sessionKey: string;
  workflowTtl: number;
  maxWorkflows: number;
  maxMessageQueueSize: number;
  messageTtl: number;
  maxMessageBytes: number;
  batchingPreference: number;
  contextBudgetTokens: number;
  maxBodyBytes: number;
  healthCheckInterval: number;
  maxInflightPerPod: number;
  admissionQueueSize: number;
  upstreamTimeout: number;
  inflightLease: number;
  logLevel: RouterConfig['logLevel'];
  apiKeys?: string[];
  otelEndpoint?: string;
  otelServiceName: string;
  metricsTopWorkflows: number;
}

export type CliResult =
  { kind: 'run'; config: RouterConfig } | { kind: 'exit'; code: number; output: string };

/** Parses argv (and WORKFLOW_ROUTER_* variables) into a config, or says why not. */
export function parseCli(argv: readonly string[]): CliResult {
  let output = '';
  const cmd = program()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (output += s), writeErr: (s) => (output += s) });
  for (const option of safetyOptions(FLAG_KIT)) cmd.addOption(option);
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const code = error.code === 'commander.helpDisplayed' || error.code === 'commander.help' ? 0 : 2;
      return { kind: 'exit', code, output };
    }
    if (error instanceof FlagError)
      return { kind: 'exit', code: 2, output: `${USAGE_NAME}: ${error.message}\n` };
    throw error;
  }
  const f = cmd.opts<ParsedFlags>();
  try {
    const backends = staticBackends(f.staticBackends ?? [], f.staticModels);
    if (f.serviceDiscovery === 'static' && backends.length === 0) {
      throw new FlagError('static-backends', '', 'at least one URL with --service-discovery static');
    }
    const redis = redisSettingsFromFlags(
      f,
      f.serviceDiscovery === 'k8s'
        ? 'a Redis URL (or Sentinels or Cluster nodes): --service-discovery k8s reads the routing table from Redis'
        : undefined,
    );
    for (const key of f.apiKeys ?? []) {
      if (key.length < 8) throw new FlagError('api-keys', '***', 'keys of at least 8 characters');
    }
    const config: RouterConfig = {
      host: f.host,
      port: f.port,
      routingLogic: f.routingLogic,
      serviceDiscovery: f.serviceDiscovery,
      staticBackends: backends,
      sessionKey: f.sessionKey.toLowerCase(),
      workflowTtlSeconds: f.workflowTtl,
      maxWorkflows: f.maxWorkflows,
      maxMessageQueueSize: f.maxMessageQueueSize,
      messageTtlSeconds: f.messageTtl,
      maxMessageBytes: f.maxMessageBytes,
      batchingPreference: f.batchingPreference,
      contextBudgetTokens: f.contextBudgetTokens,
      maxBodyBytes: f.maxBodyBytes,
      healthCheckIntervalMs: Math.round(f.healthCheckInterval * 1000),
      maxInflightPerPod: f.maxInflightPerPod,
      admissionQueueSize: f.admissionQueueSize,
      upstreamTimeoutMs: Math.round(f.upstreamTimeout * 1000),
      ...safetyConfig(f, FLAG_KIT),
      statsFlushMs: DEFAULT_CONFIG.statsFlushMs,
      inflightLeaseMs: Math.round(f.inflightLease * 1000),
      logLevel: f.logLevel,
      apiKeys: f.apiKeys ?? [],
      ...redis,
      otelEndpoint: f.otelEndpoint,
      otelServiceName: f.otelServiceName,
      metricsTopWorkflows: f.metricsTopWorkflows,
    };
    return { kind: 'run', config };
  } catch (error) {
    if (error instanceof FlagError)
      return { kind: 'exit', code: 2, output: `${USAGE_NAME}: ${error.message}\n` };
    throw error;
  }
}
