import { Option } from 'commander';
import { KeysFileError, loadKeysFile } from './http/api-keys.ts';
import {
  SAFETY_DEFAULTS,
  UPSTREAM_RETRY_POLICIES,
  type SafetyConfig,
  type UpstreamRetryPolicy,
} from './safety-config.ts';

/** The CLI's value parsers, handed over by cli.ts (which owns the flag conventions). */
export interface FlagKit {
  flag: (name: string, arg: string, description: string) => Option;
  integer: (flagName: string, min: number, max?: number) => (value: string) => number;
  decimal: (flagName: string, min: number, max: number) => (value: string) => number;
  oneOf: <T extends string>(flagName: string, values: readonly T[]) => (value: string) => T;
  /** Makes the error the CLI reports (exit 2) for a flag value it cannot use. */
  fail: (flagName: string, value: string, accepts: string) => Error;
}

const seconds = (ms: number): number => ms / 1000;

/** The reliability and security flags (README, "Reliability and security"). */
export function safetyOptions(kit: FlagKit): Option[] {
  const d = SAFETY_DEFAULTS;
  const { flag, integer, decimal } = kit;
  return [
    flag(
      'api-keys-file',
      'path',
      'YAML/JSON file of SHA-256 key digests with tenant and role, and per-tenant limits (re-read when it changes)',
    ),
    new Option('--log-bodies', 'log prompt and message bodies (off: bodies never reach the logs)').env(
      'WORKFLOW_ROUTER_LOG_BODIES',
    ),
    flag('max-header-bytes', 'n', 'largest request header block (431 beyond)')
      .default(d.maxHeaderBytes)
      .argParser(integer('max-header-bytes', 1024, 1024 * 1024)),
    flag('max-headers', 'n', 'most request headers (431 beyond)')
      .default(d.maxHeaders)
      .argParser(integer('max-headers', 8, 10_000)),
    flag('headers-timeout', 'seconds', 'longest a client may take to send its request headers (408)')
      .default(seconds(d.headersTimeoutMs))
      .argParser(decimal('headers-timeout', 0.1, 3600)),
    flag('body-timeout', 'seconds', 'longest a client may take to send a whole request, body included (408)')
      .default(seconds(d.bodyTimeoutMs))
      .argParser(decimal('body-timeout', 0.1, 3600)),
    flag('keep-alive-timeout', 'seconds', 'idle time after which a client connection is closed')
      .default(seconds(d.keepAliveTimeoutMs))
      .argParser(decimal('keep-alive-timeout', 0.1, 3600)),
    flag('max-connections', 'n', 'open client connections per replica; beyond, 503 and close (0: unlimited)')
      .default(d.maxConnections)
      .argParser(integer('max-connections', 0)),
    flag(
      'max-connections-per-client',
      'n',
      'open connections per client address; beyond, 429 and close (0: unlimited)',
    )
      .default(d.maxConnectionsPerClient)
      .argParser(integer('max-connections-per-client', 0)),
    flag('upstream-connect-timeout', 'seconds', 'longest a connection to a pod may take')
      .default(seconds(d.upstreamConnectTimeoutMs))
      .argParser(decimal('upstream-connect-timeout', 0.001, 3600)),
    flag(
      'upstream-first-byte-timeout',
      'seconds',
      'longest a pod may take to start answering a call; then 504 and the pod is ejected (0: --upstream-timeout)',
    )
      .default(seconds(d.upstreamFirstByteTimeoutMs))
      .argParser(decimal('upstream-first-byte-timeout', 0, 86400)),
    flag(
      'upstream-retry',
      'policy',
      `${UPSTREAM_RETRY_POLICIES.join(' or ')}: retry once on another pod when a pod closed the connection before answering (before-response, at-least-once) or only when the call never reached it (connect)`,
    )
      .default(d.upstreamRetry)
      .argParser(kit.oneOf('upstream-retry', UPSTREAM_RETRY_POLICIES)),
    flag('passive-failures', 'n', 'transport failures in a row before a pod is ejected (0: never)')
      .default(d.passiveFailures)
      .argParser(integer('passive-failures', 0, 1000)),
    flag(
      'ejection-seconds',
      'seconds',
      'how long an ejected pod gets no calls (doubling while it keeps failing)',
    )
      .default(seconds(d.ejectionMs))
      .argParser(decimal('ejection-seconds', 0.001, 3600)),
    flag('drain-seconds', 'seconds', 'on SIGTERM, how long in-flight calls and streams may take to finish')
      .default(seconds(d.drainMs))
      .argParser(decimal('drain-seconds', 0, 3600)),
    flag('tenant-calls-per-second', 'n', 'calls per second per tenant, fleet-wide (0: unlimited)')
      .default(d.tenantLimits.callsPerSecond)
      .argParser(decimal('tenant-calls-per-second', 0, 1_000_000)),
    flag('tenant-max-concurrent-calls', 'n', 'calls in flight per tenant, fleet-wide (0: unlimited)')
      .default(d.tenantLimits.maxConcurrentCalls)
      .argParser(integer('tenant-max-concurrent-calls', 0)),
    flag('tenant-max-workflows', 'n', 'live workflows per tenant (0: unlimited)')
      .default(d.tenantLimits.maxWorkflows)
      .argParser(integer('tenant-max-workflows', 0)),
    flag(
      'tenant-max-queued-messages',
      'n',
      'unexpired messages per tenant over all its inboxes (0: unlimited)',
    )
      .default(d.tenantLimits.maxQueuedMessages)
      .argParser(integer('tenant-max-queued-messages', 0)),
  ];
}

/** What commander parsed for the flags above. */
export interface SafetyFlags {
  apiKeysFile?: string;
  logBodies?: boolean;
  maxHeaderBytes: number;
  maxHeaders: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  upstreamConnectTimeout: number;
  upstreamFirstByteTimeout: number;
  upstreamRetry: UpstreamRetryPolicy;
  passiveFailures: number;
  ejectionSeconds: number;
  drainSeconds: number;
  tenantCallsPerSecond: number;
  tenantMaxConcurrentCalls: number;
  tenantMaxWorkflows: number;
  tenantMaxQueuedMessages: number;
}

const ms = (s: number): number => Math.round(s * 1000);

/** The config fields of the flags above; a keys file that cannot be used is a flag error. */
export function safetyConfig(f: SafetyFlags, kit: FlagKit): SafetyConfig {
  if (f.apiKeysFile !== undefined) {
    try {
      loadKeysFile(f.apiKeysFile);
    } catch (error) {
      if (error instanceof KeysFileError) {
        throw kit.fail('api-keys-file', f.apiKeysFile, `a readable keys file (${error.message})`);
      }
      throw error;
    }
  }
  return {
    apiKeysFile: f.apiKeysFile,
    logBodies: f.logBodies === true,
    maxHeaderBytes: f.maxHeaderBytes,
    maxHeaders: f.maxHeaders,
    headersTimeoutMs: ms(f.headersTimeout),
    bodyTimeoutMs: ms(f.bodyTimeout),
    keepAliveTimeoutMs: ms(f.keepAliveTimeout),
    maxConnections: f.maxConnections,
    maxConnectionsPerClient: f.maxConnectionsPerClient,
    upstreamConnectTimeoutMs: Math.max(1, ms(f.upstreamConnectTimeout)),
    upstreamFirstByteTimeoutMs: ms(f.upstreamFirstByteTimeout),
    upstreamRetry: f.upstreamRetry,
    passiveFailures: f.passiveFailures,
    ejectionMs: Math.max(1, ms(f.ejectionSeconds)),
    drainMs: ms(f.drainSeconds),
    tenantLimits: {
      callsPerSecond: f.tenantCallsPerSecond,
      maxConcurrentCalls: f.tenantMaxConcurrentCalls,
      maxWorkflows: f.tenantMaxWorkflows,
      maxQueuedMessages: f.tenantMaxQueuedMessages,
    },
  };
}
