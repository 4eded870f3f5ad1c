import type http from 'node:http';
import type { Logger } from './logger.ts';

/** The calls a drain waits for. */
export interface CallsInFlight {
  /** Calls being relayed or waiting for a pod. */
  count(): number;
  /** Ends every call now: streams with an SSE error event, the others with a 503. */
  abortAll(): void;
}

export interface DrainResult {
  /** Calls still running at the deadline, ended with an error (streams: an SSE error event). */
  cut: number;
  /** How long the drain took, in ms. */
  tookMs: number;
}

/** Once no call is relayed, what else may still be answering (a message send, a status read) gets this long. */
const GRACE_MS = 500;

/**
 * A SIGTERM drain (issue 10), what Kubernetes expects of a pod being stopped:
 * 1. `draining` is aborted at once: /readyz answers 503, long polls return, inbox streams end
 *    with an `end` event (their clients reconnect elsewhere with Last-Event-ID);
 * 2. the listening socket closes (no new connections), idle keep-alive connections close, and
 *    busy ones close after their response (`Connection: close`, set by the request guard);
 * 3. in-flight calls and streams run to their end, up to `deadlineMs`; once none is left,
 *    other requests get a short grace and the remaining connections (a dashboard feed) close;
 * 4. past the deadline, what still runs is ended with an error (streams: an SSE error event,
 *    never a normal end) and every connection is closed.
 */
export async function drain(
  server: http.Server,
  draining: AbortController,
  calls: CallsInFlight,
  deadlineMs: number,
  logger: Logger,
): Promise<DrainResult> {
  const started = Date.now();
  draining.abort();
  logger.info('draining: not ready, no new connections; waiting for in-flight calls', {
    inflight: calls.count(),
    deadlineMs,
  });
  let closed = false;
  const allClosed = new Promise<void>((resolve) =>
    server.close(() => {
      closed = true;
      resolve();
    }),
  );
  server.closeIdleConnections();
  let idleSince: number | undefined;
  let cut = 0;
  while (!closed) {
    // A connection whose last response ended while draining is idle now: close it too.
    server.closeIdleConnections();
    const now = Date.now();
    if (now - started >= deadlineMs) {
      cut = calls.count();
      calls.abortAll();
      // Let the error events leave before the sockets go.
      await new Promise((resolve) => setTimeout(resolve, 100));
      break;
    }
    if (calls.count() > 0) idleSince = undefined;
    else if (idleSince === undefined) idleSince = now;
    else if (now - idleSince >= GRACE_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  server.closeAllConnections();
  await allClosed;
  const tookMs = Date.now() - started;
  logger.info('drained', { cut, tookMs });
  return { cut, tookMs };
}
