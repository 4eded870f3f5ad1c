import type http from 'node:http';
import type { Logger } from './logger.ts';
import type { Forwarder } from './proxy/forwarder.ts';

export interface DrainResult {
  /** Calls still running at the deadline, ended with an error (streams: an SSE error event). */
  cut: number;
  /** How long the drain took, in ms. */
  tookMs: number;
}

/**
 * A SIGTERM drain (issue 10), what Kubernetes expects of a pod being stopped:
 * 1. `draining` is aborted at once: /readyz answers 503, long polls return, inbox streams end
 *    with an `end` event (their clients reconnect elsewhere with Last-Event-ID);
 * 2. the listening socket closes (no new connections), idle keep-alive connections close, and
 *    busy ones close after their response (`Connection: close`, set by the request guard);
 * 3. in-flight calls and streams run to their end, up to `deadlineMs`;
 * 4. past it, what still runs is ended with an error (streams: an SSE error event, never a
 *    normal end) and every connection is closed.
 */
export async function drain(
  server: http.Server,
  draining: AbortController,
  forwarder: Forwarder,
  deadlineMs: number,
  logger: Logger,
): Promise<DrainResult> {
  const started = Date.now();
  draining.abort();
  logger.info('draining: not ready, no new connections; waiting for in-flight calls', {
    inflight: forwarder.inflight,
    deadlineMs,
  });
  const closed = new Promise<'closed'>((resolve) => server.close(() => resolve('closed')));
  server.closeIdleConnections();
  // A connection whose last response ended while draining is idle now: close it too.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const first = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  clearInterval(sweep);
  let cut = 0;
  if (first === 'deadline') {
    cut = forwarder.inflight;
    forwarder.abortAll();
    // Let the error events leave before the sockets go.
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.closeAllConnections();
    await closed;
  }
  const tookMs = Date.now() - started;
  logger.info('drained', { cut, tookMs });
  return { cut, tookMs };
}
