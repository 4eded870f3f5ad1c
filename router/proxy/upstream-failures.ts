import { ApiError } from '../../core/errors.ts';
import type { Pod } from '../pods/pod.ts';
import type { RouterCore } from '../router-core.ts';
import type { ForwardOutcome } from './forwarder.ts';

/** What the request path does after one attempt to relay a call. */
export interface Verdict {
  /** The outcome label of the requests metric. */
  label: string;
  /** Try the next-best pod (this one is excluded for the call). */
  retry: boolean;
  /** Answer the client with this error (nothing was sent yet). */
  error: ApiError | undefined;
}

/**
 * Judges one attempt as a careful operator would (README, "Reliability and security"):
 * - refused or not delivered: the pod is marked down until a probe passes, and the call
 *   is retried once on another pod (it cannot have run);
 * - delivered but closed without a byte: a passive failure of the pod; retried once under
 *   `--upstream-retry before-response` (the default: the pod may have run it, at-least-once),
 *   answered 502 under `--upstream-retry connect`;
 * - silent past the first-byte timeout: the pod is ejected at once (a hung pod must stop
 *   taking calls even while it answers probes), 504, never retried;
 * - failed mid-response: a passive failure (ejection after `--passive-failures` in a row);
 *   the client already got an error event or a 502;
 * - answered (any status): the failure streak ends.
 */
export function judgeAttempt(
  core: RouterCore,
  pod: Pod,
  outcome: ForwardOutcome,
  context: { attempt: number; headersSent: boolean; requestId: string },
): Verdict {
  const { config, metrics, logger } = core;
  const canRetry = context.attempt === 0 && !context.headersSent;
  const down = (): void => {
    metrics.podHealthy.set({ pod: pod.id }, pod.healthy ? 1 : 0);
  };
  switch (outcome.kind) {
    case 'done':
      pod.recordSuccess();
      return {
        label: outcome.status < 400 ? 'ok' : `http_${outcome.status}`,
        retry: false,
        error: undefined,
      };
    case 'client-closed':
      return { label: 'client_closed', retry: false, error: undefined };
    case 'unreachable': {
      pod.markDown(outcome.code === 'ECONNTIMEOUT' ? 'timeout' : 'connection-refused');
      down();
      if (canRetry) {
        metrics.upstreamRetries.inc();
        logger.warn('pod unreachable; retrying on another pod', {
          requestId: context.requestId,
          pod: pod.id,
          code: outcome.code,
        });
        return { label: 'retried', retry: true, error: undefined };
      }
      return {
        label: 'unreachable',
        retry: false,
        error: new ApiError(
          502,
          'upstream_error',
          `the model server could not be reached (${outcome.code})`,
          {
            code: 'upstream_unreachable',
          },
        ),
      };
    }
    case 'no-response': {
      if (pod.recordFailure(config.passiveFailures, config.ejectionMs)) down();
      if (canRetry && config.upstreamRetry === 'before-response') {
        metrics.upstreamRetries.inc();
        logger.warn('pod closed the connection before answering; retrying on another pod', {
          requestId: context.requestId,
          pod: pod.id,
          code: outcome.code,
        });
        return { label: 'retried', retry: true, error: undefined };
      }
      return {
        label: 'no_response',
        retry: false,
        error: new ApiError(
          502,
          'upstream_error',
          'the model server closed the connection without answering; the call may or may not have run',
          { code: 'upstream_no_response' },
        ),
      };
    }
    case 'timeout': {
      pod.eject(config.ejectionMs, 'timeout');
      down();
      const ms =
        config.upstreamFirstByteTimeoutMs > 0 ? config.upstreamFirstByteTimeoutMs : config.upstreamTimeoutMs;
      logger.warn('pod sent nothing within the first-byte timeout; ejected', {
        requestId: context.requestId,
        pod: pod.id,
        timeoutMs: ms,
      });
      return {
        label: 'timeout',
        retry: false,
        error: new ApiError(
          504,
          'upstream_error',
          `the model server sent nothing for ${ms} ms (--upstream-first-byte-timeout)`,
          { code: 'upstream_timeout' },
        ),
      };
    }
    case 'broken':
      if (outcome.code !== 'ESHUTDOWN' && pod.recordFailure(config.passiveFailures, config.ejectionMs))
        down();
      return {
        label: outcome.code === 'ESHUTDOWN' ? 'shutdown' : 'upstream_broken',
        retry: false,
        error: undefined,
      };
  }
}
