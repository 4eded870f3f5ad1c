import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { FlagError } from '../core/cli/flag-error.ts';
import { addRedisFlags, redisSettingsFromFlags, type RedisFlags } from '../core/cli/redis-flags.ts';
import { DEFAULT_OPERATOR_CONFIG, LOG_LEVELS, operatorConfigSchema, type OperatorConfig } from './config.ts';

export { FlagError };

export const USAGE_NAME = 'workflow-operator';

function envName(flag: string): string {
  return `WORKFLOW_OPERATOR_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function flag(name: string, arg: string, description: string): Option {
  return new Option(`--${name} <${arg}>`, description).env(envName(name));
}

function integer(flagName: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || n < min || n > max) {
      throw new FlagError(flagName, value, `an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Seconds (decimals allowed) to milliseconds. */
function seconds(flagName: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new FlagError(flagName, value, `seconds from ${min} to ${max}`);
    }
    return Math.round(n * 1000);
  };
}

function oneOf<T extends string>(flagName: string, values: readonly T[]) {
  return (value: string): T => {
    const found = values.find((v) => v === value);
    if (found === undefined) throw new FlagError(flagName, value, values.join(', '));
    return found;
  };
}

function bool(flagName: string) {
  return (value: string): boolean => {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    throw new FlagError(flagName, value, 'true or false');
  };
}

function nonEmpty(flagName: string, accepts: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new FlagError(flagName, value, accepts);
    return value.trim();
  };
}

function program(): Command {
  const d = DEFAULT_OPERATOR_CONFIG;
  const cmd = new Command(USAGE_NAME)
    .description(
      "Watches VllmPool and Workflow resources and the vLLM pods; probes and scrapes the pods, writes each pool's routing table and each Workflow's declaration into Redis, and writes live status back onto the resources.\nEvery flag can also be set as WORKFLOW_OPERATOR_<FLAG> (e.g. WORKFLOW_OPERATOR_REDIS_URL).",
    )
    .usage('[options]')
    .helpOption('-h, --help', 'show this help')
    .addOption(
      flag(
        'kubeconfig',
        'path',
        'kubeconfig to use (default: in-cluster config in a pod, else $KUBECONFIG or ~/.kube/config)',
      ).argParser(nonEmpty('kubeconfig', 'a path')),
    )
    .addOption(
      flag('namespace', 'ns', 'watch one namespace (default: all namespaces)').argParser(
        nonEmpty('namespace', 'a namespace name'),
      ),
    );
  addRedisFlags(
    cmd,
    envName,
    {
      url: "redis:// or rediss:// URL of the routers' Redis",
      prefix: 'prefix of every Redis key (as the routers)',
    },
    d.redisPrefix,
  );
  return cmd
    .addOption(
      new Option('--leader-elect [bool]', 'one active replica through a coordination.k8s.io Lease')
        .env(envName('leader-elect'))
        .default(d.leaderElect)
        .preset(true)
        .argParser(bool('leader-elect')),
    )
    .addOption(
      flag('lease-name', 'name', 'name of the Lease')
        .default(d.leaseName)
        .argParser(nonEmpty('lease-name', 'a name')),
    )
    .addOption(
      flag(
        'lease-namespace',
        'ns',
        "namespace of the Lease (default: the operator pod's namespace, else --namespace, else default)",
      ).argParser(nonEmpty('lease-namespace', 'a namespace name')),
    )
    .addOption(
      flag(
        'lease-duration',
        'seconds',
        'how long a candidate waits before taking over a lease it sees unrenewed',
      )
        .default(d.leaseDurationMs, String(d.leaseDurationMs / 1000))
        .argParser(seconds('lease-duration', 0.1, 3600)),
    )
    .addOption(
      flag('renew-deadline', 'seconds', 'how long the leader keeps trying to renew before giving up')
        .default(d.renewDeadlineMs, String(d.renewDeadlineMs / 1000))
        .argParser(seconds('renew-deadline', 0.05, 3600)),
    )
    .addOption(
      flag('retry-period', 'seconds', 'time between attempts to acquire or renew the lease')
        .default(d.retryPeriodMs, String(d.retryPeriodMs / 1000))
        .argParser(seconds('retry-period', 0.01, 600)),
    )
    .addOption(flag('identity', 'id', "this replica's name in the Lease (default: hostname_random)"))
    .addOption(
      flag('status-interval', 'seconds', 'least time between two status patches of one resource')
        .default(d.statusIntervalMs, String(d.statusIntervalMs / 1000))
        .argParser(seconds('status-interval', 0.01, 3600)),
    )
    .addOption(
      flag(
        'workflow-ttl',
        'seconds',
        "idle ttl of Workflows without spec.ttlSeconds (keep equal to the routers' --workflow-ttl)",
      )
        .default(d.workflowTtlSeconds)
        .argParser(integer('workflow-ttl', 1, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(
      flag('log-level', 'level', LOG_LEVELS.join(', '))
        .default(d.logLevel)
        .argParser(oneOf('log-level', LOG_LEVELS)),
    )
    .addOption(flag('metrics-host', 'addr', 'address of /metrics and /healthz').default(d.metricsHost))
    .addOption(
      flag('metrics-port', 'n', 'port of /metrics and /healthz (0 picks a free one)')
        .default(d.metricsPort)
        .argParser(integer('metrics-port', 0, 65535)),
    );
}

interface ParsedFlags extends RedisFlags {
  kubeconfig?: string;
  namespace?: string;
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace?: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  identity?: string;
  statusInterval: number;
  workflowTtl: number;
  logLevel: OperatorConfig['logLevel'];
  metricsHost: string;
  metricsPort: number;
}

export type CliResult =
  { kind: 'run'; config: OperatorConfig } | { kind: 'exit'; code: number; output: string };

/** Parses argv (and WORKFLOW_OPERATOR_* variables) into a config, or says why not. */
export function parseCli(argv: readonly string[]): CliResult {
  let output = '';
  const cmd = program()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (output += s), writeErr: (s) => (output += s) });
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
    const redis = redisSettingsFromFlags(
      f,
      "a Redis URL (or Sentinels or Cluster nodes): the operator writes into the routers' Redis",
    );
    if (f.renewDeadline >= f.leaseDuration) {
      throw new FlagError('renew-deadline', String(f.renewDeadline / 1000), 'less than --lease-duration');
    }
    if (f.retryPeriod >= f.renewDeadline) {
      throw new FlagError('retry-period', String(f.retryPeriod / 1000), 'less than --renew-deadline');
    }
    const config = operatorConfigSchema.parse({
      kubeconfig: f.kubeconfig,
      namespace: f.namespace,
      ...redis,
      leaderElect: f.leaderElect,
      leaseName: f.leaseName,
      leaseNamespace: f.leaseNamespace,
      leaseDurationMs: f.leaseDuration,
      renewDeadlineMs: f.renewDeadline,
      retryPeriodMs: f.retryPeriod,
      identity: f.identity ?? `${hostname()}_${randomUUID()}`,
      statusIntervalMs: f.statusInterval,
      workflowTtlSeconds: f.workflowTtl,
      logLevel: f.logLevel,
      metricsHost: f.metricsHost,
      metricsPort: f.metricsPort,
    });
    return { kind: 'run', config };
  } catch (error) {
    if (error instanceof FlagError)
      return { kind: 'exit', code: 2, output: `${USAGE_NAME}: ${error.message}\n` };
    throw error;
  }
}
