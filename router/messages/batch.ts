import type { Request, Response } from 'express';
import { ApiError, notFound } from '../../core/errors.ts';
import type { WorkflowKey } from '../../core/ids.ts';
import type { WorkflowRecord } from '../../core/store/records.ts';
import type { AddressedMessage, BatchSendResult } from '../../core/store/state-store.ts';
import { parseOrThrow } from '../http/validation.ts';
import type { RouterCore } from '../router-core.ts';
import { WorkflowService } from '../workflows/workflow-service.ts';
import { batchSchema, checkPayloadSize } from './send-schema.ts';

/**
 * `POST /v1/workflows/{wid}/messages/batch`: many messages in one request, stored all or none.
 * One request, one tenant-quota check and one store script carry the whole batch, so a sender
 * with many messages pays the per-request cost once instead of once per message (issue:
 * messages at 10,000/s through one router).
 *
 * The contract: `{messages: [{to_agent, from_agent, payload, ttl_seconds?}, ...]}`, 1 to 1000
 * messages, each checked as a single send is. 201 with `{object: 'list', data: [receipt, ...]}`,
 * a single send's receipt per message in the batch's order; or an error in OpenAI's shape with
 * nothing stored: 400/413 naming the message (`param`), 404 when the workflow does not exist
 * (a batch does not create one, so a typo in its id cannot make a workflow of a thousand
 * messages), 403 for an undeclared recipient, 429 `inbox_full` naming the first message that
 * would overflow its inbox, 429 `tenant_message_limit` when the tenant's quota has no room for
 * the whole batch, 503 while the store is unreachable.
 */
export async function sendBatch(
  core: RouterCore,
  key: WorkflowKey,
  req: Request,
  res: Response,
): Promise<void> {
  const body = parseOrThrow(batchSchema, req.body, 'body');
  body.messages.forEach((m, i) =>
    checkPayloadSize(m.payload, core.config.maxMessageBytes, `messages.${i}.payload`),
  );
  const record = await core.store.workflows.get(key);
  if (!record) throw notFound(`workflow "${key.id}" not found`, 'workflow_not_found');
  body.messages.forEach((m, i) => checkRecipient(record, m.to_agent, i));
  const messages: AddressedMessage[] = body.messages.map((m) => ({
    to: m.to_agent,
    from: m.from_agent,
    payload: m.payload,
    ttlSeconds: m.ttl_seconds ?? core.config.messageTtlSeconds,
  }));
  const result = await storeBatch(core, key, messages, queueLimit(core, record));
  if (!result.ok) {
    core.metrics.messages.inc({ outcome: 'refused' }, messages.length);
    core.workflows.stats.add({
      type: 'messages',
      key,
      at: Date.now(),
      sent: 0,
      delivered: 0,
      refused: messages.length,
    });
    throw refusal(key, result, queueLimit(core, record));
  }
  core.metrics.messages.inc({ outcome: 'sent' }, messages.length);
  core.workflows.stats.add({
    type: 'messages',
    key,
    at: Date.now(),
    sent: messages.length,
    delivered: 0,
    refused: 0,
  });
  // Each receipt is a single send's, in the batch's order.
  res.status(201).json({
    object: 'list',
    data: messages.map((m, i) => ({
      object: 'workflow.message',
      id: result.ids[i],
      workflow_id: key.id,
      to_agent: m.to,
      from_agent: m.from,
    })),
  });
}

/** A single send's 403 for an undeclared recipient, naming the message. */
function checkRecipient(record: WorkflowRecord, to: string, index: number): void {
  try {
    WorkflowService.checkAgentDeclared(record, to, 'recipient agent');
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    throw new ApiError(error.status, error.type, `messages[${index}]: ${error.message}`, {
      code: error.code ?? undefined,
      param: `messages.${index}.to_agent`,
    });
  }
}

const queueLimit = (core: RouterCore, record: WorkflowRecord): number =>
  record.spec?.maxMessageQueueSize ?? core.config.maxMessageQueueSize;

/**
 * Stores the batch, counted against the tenant's queued-messages limit first (429 when it has
 * no room for all); the reservations are released when the store refuses or fails.
 */
async function storeBatch(
  core: RouterCore,
  key: WorkflowKey,
  messages: readonly AddressedMessage[],
  maxQueue: number,
): Promise<BatchSendResult> {
  const reservations = await core.limiter.reserveMessages(key, messages);
  let result: BatchSendResult;
  try {
    result = await core.store.messages.sendBatch(key, messages, Date.now(), maxQueue);
  } catch (error) {
    await core.limiter.releaseMessages(key, reservations);
    throw error;
  }
  if (!result.ok) await core.limiter.releaseMessages(key, reservations);
  return result;
}

/** Why nothing of a batch was stored, as the error the sender gets. */
function refusal(
  key: WorkflowKey,
  result: Exclude<BatchSendResult, { ok: true }>,
  maxQueue: number,
): ApiError {
  // Deleted (or expired) between the lookup and the store's script.
  if (result.reason === 'workflow-not-found') {
    return notFound(`workflow "${key.id}" not found`, 'workflow_not_found');
  }
  return new ApiError(
    429,
    'rate_limit_error',
    `messages[${result.index}] would overflow the inbox of agent "${result.to}" (it holds ${result.depth} unexpired messages, at most ${maxQueue}, and the batch's earlier messages to it count too); nothing of the batch was stored`,
    { code: 'inbox_full', param: `messages.${result.index}`, retryAfterSeconds: 1 },
  );
}
