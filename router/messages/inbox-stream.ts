import type { Response } from 'express';
import { ApiError } from '../../core/errors.ts';
import type { WorkflowKey } from '../../core/ids.ts';
import type { AgentMessage } from '../../core/store/records.ts';
import type { InboxFollower } from '../../core/store/state-store.ts';
import type { RouterCore } from '../router-core.ts';
import { closeOrDrain } from './close-or-drain.ts';
import { messageView } from './message-view.ts';

/** Messages one wake-up of a stream writes at most. */
const PAGE = 100;
/** How long a stream blocks for a message before a keep-alive (and a check that the workflow is there). */
const IDLE_MS = 15_000;

/**
 * SSE push: each message an event with its id, so EventSource resumes with Last-Event-ID.
 * The stream follows the inbox from its cursor (the Redis store continues XREAD without a
 * script per wake-up), writes each wake-up's events in one write, and leaves the delivered
 * count to the batched acknowledgements (deliveries.ts) instead of waiting for it.
 */
export async function streamInbox(
  core: RouterCore,
  res: Response,
  key: WorkflowKey,
  agent: string,
  after: string | undefined,
): Promise<void> {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  res.write(': connected\n\n');
  const { signal, closed } = closeOrDrain(core, res);
  const follower = core.store.messages.follow(key, agent, after, signal);
  try {
    await pump(core, res, key, agent, follower, signal, closed);
  } finally {
    follower.close();
  }
}

async function pump(
  core: RouterCore,
  res: Response,
  key: WorkflowKey,
  agent: string,
  follower: InboxFollower,
  signal: AbortSignal,
  closed: AbortSignal,
): Promise<void> {
  let lastBeat = Date.now();
  while (!signal.aborted) {
    let messages: AgentMessage[];
    try {
      messages = await follower.next(PAGE, IDLE_MS);
    } catch (error) {
      core.metrics.storeErrors.inc({ operation: 'message-stream' });
      res.end(`event: error\ndata: ${JSON.stringify(storeUnavailable().toBody())}\n\n`);
      core.logger.warn('message stream ended: store unavailable', { error: String(error) });
      return;
    }
    if (messages.length > 0) {
      res.write(events(messages));
      core.deliveries.note(
        key,
        agent,
        messages.map((m) => m.id),
      );
    }
    if (core.draining.signal.aborted && !closed.aborted) {
      // Reconnecting with Last-Event-ID resumes on another replica, losing nothing.
      res.end('event: end\ndata: {"reason":"router shutting down; reconnect"}\n\n');
      return;
    }
    if (messages.length > 0) continue;
    if (Date.now() - lastBeat >= IDLE_MS && !signal.aborted) {
      res.write(': keep-alive\n\n');
      lastBeat = Date.now();
    }
    // Messages just read prove the workflow was there, and a removal wakes the follower; so
    // only an empty wake-up costs this extra round trip.
    if (!(await core.workflows.exists(key))) {
      res.end('event: end\ndata: {"reason":"workflow deleted"}\n\n');
      return;
    }
  }
}

/** One wake-up's messages as SSE events, in one string: one write, one chunk on the wire. */
function events(messages: readonly AgentMessage[]): string {
  let text = '';
  for (const m of messages)
    text += `id: ${m.id}\nevent: message\ndata: ${JSON.stringify(messageView(m))}\n\n`;
  return text;
}

function storeUnavailable(): ApiError {
  return new ApiError(
    503,
    'service_unavailable',
    'the shared state store is unreachable; reconnect to resume',
    {
      code: 'store_unavailable',
    },
  );
}
