import { Router, type Request } from 'express';
import { z } from 'zod';
import { ApiError, badRequest, notFound, tooManyRequests } from '../../core/errors.ts';
import { idSchema, type WorkflowKey } from '../../core/ids.ts';
import { messageIdSchema } from '../../core/message-id.ts';
import type { AgentMessage, WorkflowRecord } from '../../core/store/records.ts';
import type { SendResult } from '../../core/store/state-store.ts';
import { callerOf } from '../http/auth.ts';
import { parseOrThrow } from '../http/validation.ts';
import type { RouterCore } from '../router-core.ts';
import { WorkflowService } from '../workflows/workflow-service.ts';
import { sendBatch } from './batch.ts';
import { closeOrDrain } from './close-or-drain.ts';
import { streamInbox } from './inbox-stream.ts';
import { messageView } from './message-view.ts';
import { checkPayloadSize, sendSchema, type SendBody } from './send-schema.ts';

const readSchema = z.object({
  after: messageIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  wait_ms: z.coerce.number().int().min(0).max(60_000).default(0),
});

const pathSchema = z.object({ wid: idSchema, aid: idSchema.optional() });

/** Agent messages (DESIGN section 7): inboxes per agent, cursor reads, long-poll and SSE. */
export function messagesRouter(core: RouterCore): Router {
  const router = Router();
  const maxBytes = core.config.maxMessageBytes;

  const target = (req: Request): { key: WorkflowKey; agent: string | undefined } => {
    const params = parseOrThrow(pathSchema, req.params, 'path');
    return { key: { tenant: callerOf(req).tenant, id: params.wid }, agent: params.aid };
  };

  const parseSend = (req: Request): SendBody => {
    const body = parseOrThrow(sendSchema, req.body, 'body');
    checkPayloadSize(body.payload, maxBytes, 'payload');
    return body;
  };

  /** Stores one message, counted against the tenant's queued-messages limit (429 beyond it). */
  const deliver = async (
    key: WorkflowKey,
    to: string,
    body: SendBody,
    maxQueue: number,
  ): Promise<SendResult> => {
    const ttlSeconds = body.ttl_seconds ?? core.config.messageTtlSeconds;
    const reservation = await core.limiter.reserveMessage(key, to, ttlSeconds);
    let result: SendResult;
    try {
      result = await core.store.messages.send(
        key,
        to,
        { from: body.from_agent, payload: body.payload, ttlSeconds },
        Date.now(),
        maxQueue,
      );
    } catch (error) {
      await core.limiter.releaseMessage(key, reservation);
      throw error;
    }
    if (!result.ok) await core.limiter.releaseMessage(key, reservation);
    return result;
  };

  const queueLimit = (record: WorkflowRecord): number =>
    record.spec?.maxMessageQueueSize ?? core.config.maxMessageQueueSize;

  router.post('/v1/workflows/:wid/agents/:aid/messages', async (req, res) => {
    const { key, agent } = target(req);
    const body = parseSend(req);
    const record = await core.workflows.ensure(key);
    WorkflowService.checkAgentDeclared(record, agent, 'recipient agent');
    const to = agent as string;
    const result = await deliver(key, to, body, queueLimit(record));
    if (!result.ok) {
      core.metrics.messages.inc({ outcome: 'refused' });
      core.workflows.stats.add({ type: 'messages', key, at: Date.now(), sent: 0, delivered: 0, refused: 1 });
      throw tooManyRequests(
        `the inbox of agent "${to}" is full (${result.depth} unexpired messages); nothing was stored`,
        1,
        'inbox_full',
      );
    }
    core.metrics.messages.inc({ outcome: 'sent' });
    core.workflows.stats.add({ type: 'messages', key, at: Date.now(), sent: 1, delivered: 0, refused: 0 });
    res.status(201).json({
      object: 'workflow.message',
      id: result.id,
      workflow_id: key.id,
      to_agent: to,
      from_agent: body.from_agent,
    });
  });

  router.post('/v1/workflows/:wid/messages/batch', async (req, res) => {
    await sendBatch(core, target(req).key, req, res);
  });

  router.post('/v1/workflows/:wid/messages', async (req, res) => {
    const { key } = target(req);
    const body = parseSend(req);
    // Agents become known through their calls' statistics: write this replica's pending ones first.
    await core.workflows.stats.flush();
    const record = await core.workflows.ensure(key);
    const known = new Set([
      ...(record.spec?.agents.map((a) => a.name) ?? []),
      ...Object.keys(record.agents),
      ...(await core.store.messages.inboxes(key)),
    ]);
    known.delete(body.from_agent);
    if (known.size === 0)
      throw notFound(`workflow "${key.id}" has no known agents to broadcast to`, 'no_agents');
    const ids: Record<string, string> = {};
    const refused: string[] = [];
    for (const to of [...known].sort()) {
      let result: SendResult;
      try {
        result = await deliver(key, to, body, queueLimit(record));
      } catch (error) {
        // The tenant's queued-messages limit refuses this recipient; the others already got it.
        if (!(error instanceof ApiError) || error.status !== 429) throw error;
        result = { ok: false, depth: 0 };
      }
      if (result.ok) ids[to] = result.id;
      else refused.push(to);
    }
    const sent = Object.keys(ids).length;
    core.metrics.messages.inc({ outcome: 'sent' }, sent);
    core.metrics.messages.inc({ outcome: 'refused' }, refused.length);
    core.workflows.stats.add({
      type: 'messages',
      key,
      at: Date.now(),
      sent,
      delivered: 0,
      refused: refused.length,
    });
    if (sent === 0)
      throw tooManyRequests(
        `every recipient's inbox is full (${refused.join(', ')}); nothing was stored`,
        1,
        'inbox_full',
      );
    res.status(201).json({ object: 'workflow.broadcast', workflow_id: key.id, ids, refused });
  });

  router.get('/v1/workflows/:wid/agents/:aid/messages', async (req, res) => {
    const { key, agent } = target(req);
    const query = parseOrThrow(readSchema, req.query, 'query');
    const record = await core.workflows.ensure(key);
    WorkflowService.checkAgentDeclared(record, agent);
    // A draining replica answers long polls at once (with what is there) so it can stop.
    const { signal } = closeOrDrain(core, res);
    const messages =
      query.wait_ms > 0
        ? await core.store.messages.wait(
            key,
            agent as string,
            query.after,
            query.limit,
            query.wait_ms,
            signal,
          )
        : await core.store.messages.read(key, agent as string, query.after, query.limit, Date.now());
    await noteDelivered(core, key, agent as string, messages);
    const last = messages.at(-1);
    res.json({
      object: 'list',
      data: messages.map(messageView),
      next_cursor: last?.id ?? query.after ?? null,
    });
  });

  router.get('/v1/workflows/:wid/agents/:aid/messages/stream', async (req, res) => {
    const { key, agent } = target(req);
    const lastEventId = req.headers['last-event-id'];
    const query = parseOrThrow(readSchema, req.query, 'query');
    const cursorText = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : query.after;
    const cursorCheck = messageIdSchema.optional().safeParse(cursorText);
    if (!cursorCheck.success) throw badRequest('Last-Event-ID must be a message id', 'last-event-id');
    const record = await core.workflows.ensure(key);
    WorkflowService.checkAgentDeclared(record, agent);
    await streamInbox(core, res, key, agent as string, cursorCheck.data);
  });

  return router;
}

/**
 * Counts messages as delivered the first time they are read: the store keeps each inbox's
 * high-water mark, so re-reading from an older cursor counts nothing.
 */
async function noteDelivered(
  core: RouterCore,
  key: WorkflowKey,
  agent: string,
  messages: readonly AgentMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  // Reading is activity: the workflow's idle clock restarts (the counters are not touched here).
  core.workflows.stats.add({ type: 'messages', key, at: Date.now(), sent: 0, delivered: 0, refused: 0 });
  try {
    const fresh = await core.store.messages.acknowledge(
      key,
      agent,
      messages.map((m) => m.id),
    );
    if (fresh > 0) core.metrics.messages.inc({ outcome: 'delivered' }, fresh);
  } catch {
    // The messages were read all the same; only the delivered counter misses them.
    core.metrics.storeErrors.inc({ operation: 'acknowledge' });
  }
}
