// One completion request from arrival to its last byte: faults, the engine, the response
// (JSON or SSE), metrics and the /sim/stats record. Timing is measured in real
// milliseconds, so what the pod reports is what a caller could observe.

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { blockHashes } from './block-hash.ts';
import { internalError } from './errors.ts';
import type { SimError } from './errors.ts';
import type { SequenceListener } from './engine.ts';
import { outputKey, outputToken, promptHash } from './generator.ts';
import type { PodRuntime } from './pod.ts';
import { chatResponse, completionResponse, sse, streamChunk, usage, usageChunk } from './protocol.ts';
import type { FinishReasonField, InferenceRequest, ResponseIdentity } from './protocol.ts';
import type { FinishReason, Sequence } from './scheduler.ts';
import type { RequestRecord } from './stats.ts';

/** Status recorded for a request whose client left before any status was sent (nginx's). */
export const CLIENT_CLOSED = 499;

/** What is known about an HTTP request before its body is interpreted. */
export interface Arrival {
  endpoint: string;
  /** performance.now() at arrival. */
  at: number;
  startedAt: number;
  headers: RequestRecord['headers'];
  bodyKeys: string[];
}

const ms = (value: number): number => Math.round(value * 1000) / 1000;

function baseRecord(arrival: Arrival, id: string, model: string): RequestRecord {
  return {
    id,
    model,
    endpoint: arrival.endpoint,
    promptText: '',
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    stream: false,
    queuedMs: 0,
    prefillMs: 0,
    ttftMs: null,
    totalMs: 0,
    cancelled: false,
    status: 200,
    finishReason: null,
    headers: arrival.headers,
    bodyKeys: arrival.bodyKeys,
    startedAt: arrival.startedAt,
  };
}

/** Sends an error in OpenAI's shape and records the rejected request. */
export function rejectInference(
  pod: PodRuntime,
  res: ServerResponse,
  arrival: Arrival,
  error: SimError,
  model: string,
): void {
  const record = baseRecord(arrival, `rejected-${randomUUID()}`, model);
  record.status = error.status;
  record.error = error.message;
  record.totalMs = ms(performance.now() - arrival.at);
  pod.stats.add(record);
  sendJson(res, error.status, error.toBody(), {
    'x-sim-queue-ms': '0',
    'x-sim-time-ms': String(record.totalMs),
  });
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/** Runs a validated request through faults and the engine and answers it. */
export async function serveInference(
  pod: PodRuntime,
  req: InferenceRequest,
  res: ServerResponse,
  arrival: Arrival,
): Promise<void> {
  const id = `${req.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const who: ResponseIdentity = { id, created: Math.floor(arrival.startedAt / 1000), model: req.model };
  const record = baseRecord(arrival, id, req.model);
  record.promptText = req.promptText;
  record.promptTokens = req.promptTokens.length;
  record.stream = req.stream;

  if (pod.faults.shouldFail()) {
    const error = internalError('simulated failure (fault failRate)');
    record.status = error.status;
    record.error = error.message;
    record.totalMs = ms(performance.now() - arrival.at);
    pod.stats.add(record);
    sendJson(res, error.status, error.toBody(), {
      'x-sim-queue-ms': '0',
      'x-sim-time-ms': String(record.totalMs),
    });
    return;
  }

  const gone = new AbortController();
  let dropped = false;
  let seq: Sequence | undefined;
  const onClose = (): void => {
    if (res.writableFinished || dropped) return;
    record.cancelled = true;
    gone.abort();
    if (seq !== undefined) pod.engine.abort(seq);
  };
  res.on('close', onClose);
  // The client may have left while the body was read, before anyone listened for it.
  if (res.destroyed || res.socket === null || res.socket.destroyed) onClose();

  const finishCancelled = (): void => {
    record.status = res.headersSent ? res.statusCode : CLIENT_CLOSED;
    record.totalMs = ms(performance.now() - arrival.at);
    pod.stats.add(record);
  };

  if (!(await pod.faults.holdWhileHanging(gone.signal))) return finishCancelled();
  const extra = pod.faults.extraLatencyMs;
  if (extra > 0) {
    try {
      await sleep(extra, undefined, { signal: gone.signal });
    } catch {
      return finishCancelled();
    }
  }
  if (gone.signal.aborted) return finishCancelled();

  const bs = pod.options.blockSize;
  const tokens = req.promptTokens;
  const key = outputKey(req.seed ?? pod.options.seed, promptHash(tokens));
  const maxStop = req.stop.reduce((m, s) => Math.max(m, s.length), 0);
  const echoText = req.echo ? req.promptText : '';
  let text = '';
  let emitted = 0;
  let stopReason: string | null = null;
  let finishReason: FinishReasonField = null;
  const submittedAt = performance.now();
  let admittedAt = submittedAt;
  let firstAt: number | undefined;

  const writeChunk = (piece: string, finish: FinishReasonField, first: boolean): void => {
    res.write(sse(streamChunk(req.kind, who, piece, finish, finish === 'stop' ? stopReason : null, first)));
  };

  const finished = new Promise<FinishReason>((resolve) => {
    const listener: SequenceListener = {
      onAdmitted(s) {
        admittedAt = performance.now();
        const queued = admittedAt - submittedAt;
        record.queuedMs = ms(queued);
        record.cachedTokens = s.cachedTokens ?? 0;
        pod.metrics.admitted(req.model, tokens.length, record.cachedTokens, queued / 1000);
        if (req.stream && !res.headersSent) {
          // Headers go out when the request leaves the queue, so they can carry its queue time.
          res.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            'x-sim-queue-ms': String(record.queuedMs),
          });
          res.flushHeaders();
        }
      },
      onToken(s, index) {
        if (index === 0) {
          firstAt = performance.now();
          pod.metrics.firstToken(req.model, tokens.length, (firstAt - arrival.at) / 1000);
        }
        const drop = pod.faults.dropAfterTokens;
        if (drop !== undefined && index >= drop) {
          dropped = true;
          record.error = `connection dropped after ${index} tokens (fault dropStreamAfterTokens)`;
          res.destroy();
          pod.engine.abort(s);
          return false;
        }
        text += outputToken(key, index);
        let more = true;
        if (maxStop > 0) {
          const from = Math.max(0, emitted - maxStop);
          let cut = -1;
          for (const stop of req.stop) {
            const at = text.indexOf(stop, from);
            if (at >= 0 && (cut < 0 || at < cut)) {
              cut = at;
              stopReason = stop;
            }
          }
          if (cut >= 0) {
            text = text.slice(0, cut);
            finishReason = 'stop';
            more = false;
          }
        }
        if (more && index + 1 >= s.maxTokens) finishReason = 'length';
        if (req.stream) {
          // Hold back a possible start of a stop string until it is decided.
          const end =
            finishReason !== null ? text.length : Math.max(emitted, text.length - Math.max(0, maxStop - 1));
          const first = index === 0;
          if (end > emitted || finishReason !== null || first) {
            writeChunk((first ? echoText : '') + text.slice(emitted, end), finishReason, first);
            emitted = end;
          }
        }
        return more;
      },
      onFinish(_s, reason) {
        resolve(reason);
      },
    };
    seq = pod.engine.submit(
      {
        promptTokens: tokens.length,
        blockHashes: blockHashes(tokens, bs, pod.rootHash(req.model)),
        maxTokens: req.maxTokens,
      },
      listener,
    );
  });

  const reason = await finished;
  const endAt = performance.now();
  const generated = seq?.generated ?? 0;
  pod.metrics.generated(req.model, generated);
  record.completionTokens = generated;
  record.prefillMs = firstAt === undefined ? 0 : ms(firstAt - admittedAt);
  record.ttftMs = firstAt === undefined ? null : ms(firstAt - arrival.at);
  record.totalMs = ms(endAt - arrival.at);
  record.finishReason = finishReason;
  res.off('close', onClose);

  if (reason === 'abort') {
    // The client left, a fault dropped the connection, or the pod is closing.
    if (!record.cancelled && !dropped) {
      record.error = 'aborted: the pod is shutting down';
      res.destroy();
    }
    if (dropped) record.status = res.headersSent ? 200 : CLIENT_CLOSED;
    else record.status = res.headersSent ? res.statusCode : CLIENT_CLOSED;
    pod.stats.add(record);
    return;
  }

  pod.metrics.finished(req.model, reason, (endAt - arrival.at) / 1000);
  const use = usage(tokens.length, generated, record.cachedTokens);
  pod.stats.add(record);
  if (req.stream) {
    if (req.includeUsage) res.write(sse(usageChunk(req.kind, who, use)));
    res.end(sse('[DONE]'));
    return;
  }
  const body =
    req.kind === 'chat'
      ? chatResponse(who, text, finishReason, stopReason, use)
      : completionResponse(who, echoText + text, finishReason, stopReason, use);
  sendJson(res, 200, body, {
    'x-sim-queue-ms': String(record.queuedMs),
    'x-sim-time-ms': String(record.totalMs),
  });
}
