/**
 * A typed client of the router's own HTTP API: workflow declarations, agent messages (cursor
 * reads, long polls and a reconnecting event stream), status and statistics. LLM calls go
 * through any OpenAI client; see metadata.ts for tagging them.
 */
import { z } from 'zod';
import { WorkflowRouterError } from './errors.ts';
import type { Fetch } from './metadata.ts';
import { readSse, SseParser } from './sse.ts';
import type {
  AgentMessage,
  BroadcastResult,
  MessagePage,
  SentMessage,
  WorkflowDeclaration,
  WorkflowStats,
  WorkflowStatus,
} from './types.ts';

export interface WorkflowRouterClientOptions {
  /** The router, e.g. `http://workflow-router:8001` (a trailing `/v1` is accepted). */
  baseURL: string;
  /** Bearer key, when the router runs with `--api-keys`. */
  apiKey?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  fetch?: Fetch;
}

export interface SendOptions {
  fromAgent: string;
  payload: unknown;
  /** Lifetime of the message; the router's `--message-ttl` when omitted. */
  ttlSeconds?: number;
}

/** One message of a batch: a single send's options and the recipient. */
export interface BatchMessage extends SendOptions {
  toAgent: string;
}

export interface ReadOptions {
  /** Return only messages after this id (the previous page's `next_cursor`). */
  after?: string | null;
  /** 1..1000, default 100. */
  limit?: number;
  /** Long-poll: wait up to this many ms (max 60000) for a first message. */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface StreamOptions {
  /** Start after this message id. */
  after?: string | null;
  /** Stops the iteration (it then ends without an error). */
  signal?: AbortSignal;
  /** Wait before reconnecting, unless the server sent `retry:`; default 500 ms. */
  reconnectDelayMs?: number;
  /** Consecutive failed connections tolerated before the iterator throws; default unlimited. */
  maxReconnects?: number;
}

const messageSchema = z.object({
  id: z.string(),
  from_agent: z.string(),
  to_agent: z.string(),
  payload: z.unknown(),
  created_at: z.string(),
  expires_at: z.string(),
});
const pageSchema = z.object({ data: z.array(messageSchema), next_cursor: z.string().nullable() });
const sentSchema = z.object({
  object: z.literal('workflow.message'),
  id: z.string(),
  workflow_id: z.string(),
  to_agent: z.string(),
  from_agent: z.string(),
});
const batchSchema = z.object({ object: z.literal('list'), data: z.array(sentSchema) });
const broadcastSchema = z.object({
  object: z.literal('workflow.broadcast'),
  workflow_id: z.string(),
  ids: z.record(z.string(), z.string()),
  refused: z.array(z.string()),
});

function endReason(data: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    return parsed !== null &&
      typeof parsed === 'object' &&
      'reason' in parsed &&
      typeof parsed.reason === 'string'
      ? parsed.reason
      : undefined;
  } catch {
    return undefined;
  }
}

/** Statuses worth waiting out when a stream (re)connects. */
const TRANSIENT = new Set([429, 502, 503, 504]);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The answer had an unexpected shape: a router of another version, or not a router at all. */
function parsed<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new WorkflowRouterError(0, `unexpected ${what} from the router: ${result.error.message}`);
  }
  return result.data;
}

function object<T extends { object: string }>(body: unknown, kind: T['object'], what: string): T {
  if (body === null || typeof body !== 'object' || !('object' in body) || body.object !== kind) {
    throw new WorkflowRouterError(0, `unexpected ${what} from the router`);
  }
  return body as T;
}

export class WorkflowRouterClient {
  /** The router's root URL, without `/v1`. */
  readonly baseURL: string;
  private readonly apiKey: string | undefined;
  private readonly extraHeaders: Record<string, string>;
  private readonly fetchImpl: Fetch;

  constructor(options: WorkflowRouterClientOptions) {
    this.baseURL = options.baseURL.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.apiKey = options.apiKey;
    this.extraHeaders = options.headers ?? {};
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The OpenAI-compatible base URL (`.../v1`), for openai, LangChain and other clients. */
  get openAIBaseURL(): string {
    return `${this.baseURL}/v1`;
  }

  /** Declares (or re-declares) a workflow: agents, context sharing, ttl, priority, queue size. */
  async declareWorkflow(workflowId: string, declaration: WorkflowDeclaration): Promise<WorkflowStatus> {
    const body = await this.json('PUT', this.workflowPath(workflowId), declaration);
    return object<WorkflowStatus>(body, 'workflow.status', 'workflow status');
  }

  /** Forgets a workflow (pin, statistics, shared context, inboxes); false when it was unknown. */
  async deleteWorkflow(workflowId: string): Promise<boolean> {
    try {
      await this.json('DELETE', this.workflowPath(workflowId));
      return true;
    } catch (error) {
      if (error instanceof WorkflowRouterError && error.status === 404) return false;
      throw error;
    }
  }

  /** One workflow's live status: pinned pod, calls, tokens, hit rate, agents, messages. */
  async status(workflowId: string): Promise<WorkflowStatus> {
    const body = await this.json('GET', `${this.workflowPath(workflowId)}/status`);
    return object<WorkflowStatus>(body, 'workflow.status', 'workflow status');
  }

  /** Live workflows, most recently active first. */
  async listWorkflows(): Promise<WorkflowStatus[]> {
    const body = object<{ object: 'list'; data: WorkflowStatus[] }>(
      await this.json('GET', '/v1/workflows'),
      'list',
      'workflow list',
    );
    return body.data;
  }

  /** Totals over every workflow and each pod's health and load. */
  async stats(): Promise<WorkflowStats> {
    return object<WorkflowStats>(await this.json('GET', '/v1/workflows/stats'), 'workflow.stats', 'stats');
  }

  /** Puts a message in one agent's inbox. A full inbox is a WorkflowRouterError with status 429. */
  async sendMessage(workflowId: string, toAgent: string, message: SendOptions): Promise<SentMessage> {
    const body = await this.json(
      'POST',
      `${this.agentPath(workflowId, toAgent)}/messages`,
      this.sendBody(message),
    );
    return parsed(sentSchema, body, 'message receipt');
  }

  /**
   * Sends many messages in one request (up to 1000, to any agents of an existing workflow):
   * stored all or none. The receipts come in the batch's order. When nothing is stored the
   * error says why: status 429 with code `inbox_full` and `param` naming the first message that
   * would overflow its inbox (or `tenant_message_limit`), 404 for an unknown workflow, 400/413
   * naming a message that is not valid.
   */
  async sendMessages(workflowId: string, messages: readonly BatchMessage[]): Promise<SentMessage[]> {
    const body = await this.json('POST', `${this.workflowPath(workflowId)}/messages/batch`, {
      messages: messages.map((m) => ({ to_agent: m.toAgent, ...this.sendBody(m) })),
    });
    return parsed(batchSchema, body, 'batch receipt').data;
  }

  /** Sends one message to every known agent of the workflow but the sender. */
  async broadcast(workflowId: string, message: SendOptions): Promise<BroadcastResult> {
    const body = await this.json('POST', `${this.workflowPath(workflowId)}/messages`, this.sendBody(message));
    return parsed(broadcastSchema, body, 'broadcast receipt');
  }

  /** A page of an agent's inbox after a cursor; with `waitMs`, waits for the first message. */
  async readMessages(workflowId: string, agentId: string, options: ReadOptions = {}): Promise<MessagePage> {
    const query = new URLSearchParams();
    if (options.after) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.waitMs !== undefined) query.set('wait_ms', String(options.waitMs));
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    const body = await this.json(
      'GET',
      `${this.agentPath(workflowId, agentId)}/messages${suffix}`,
      undefined,
      options.signal,
    );
    return parsed(pageSchema, body, 'message page');
  }

  /**
   * An agent's messages as they arrive (server-sent events). When the connection drops, the
   * iterator reconnects and resumes after the last message it yielded (`Last-Event-ID`), so
   * nothing is skipped or repeated; a replica that shuts down is followed to the next one. It
   * ends when `signal` aborts, when the workflow is deleted, or (with `maxReconnects`) after
   * that many failed connections in a row.
   */
  async *streamMessages(
    workflowId: string,
    agentId: string,
    options: StreamOptions = {},
  ): AsyncGenerator<AgentMessage, void, undefined> {
    const { signal, reconnectDelayMs = 500, maxReconnects = Number.POSITIVE_INFINITY } = options;
    const url = `${this.baseURL}${this.agentPath(workflowId, agentId)}/messages/stream`;
    let cursor = options.after ?? undefined;
    let failures = 0;
    let delay = reconnectDelayMs;
    while (!signal?.aborted) {
      const connection = new AbortController();
      const stop = (): void => connection.abort();
      signal?.addEventListener('abort', stop, { once: true });
      const parser = new SseParser();
      let lastError: unknown;
      try {
        const headers = this.headers({ accept: 'text/event-stream' });
        if (cursor) headers['last-event-id'] = cursor;
        const res = await this.fetchImpl(url, { headers, signal: connection.signal });
        if (!res.ok || !res.body) {
          const error = await WorkflowRouterError.fromResponse(res);
          if (!TRANSIENT.has(res.status)) throw error;
          lastError = error;
          if (error.retryAfterSeconds !== undefined) delay = error.retryAfterSeconds * 1000;
        } else {
          failures = 0;
          for await (const event of readSse(res.body, parser)) {
            // `end` for a deleted workflow is final; any other (a replica shutting down) is not.
            if (event.event === 'end') {
              if (endReason(event.data) === 'workflow deleted') return;
              break;
            }
            // An `error` event: the router lost its store; reconnecting resumes.
            if (event.event === 'error') break;
            if (event.event !== 'message') continue;
            const message = parsed(messageSchema, JSON.parse(event.data), 'message');
            cursor = event.lastEventId || message.id;
            yield message;
          }
        }
      } catch (error) {
        if (signal?.aborted) return;
        if (error instanceof WorkflowRouterError) throw error;
        lastError = error;
      } finally {
        signal?.removeEventListener('abort', stop);
        connection.abort();
      }
      failures += 1;
      if (failures > maxReconnects) {
        throw lastError instanceof Error
          ? lastError
          : new WorkflowRouterError(0, `the message stream of ${workflowId}/${agentId} kept dropping`);
      }
      await sleep(parser.reconnectMs ?? delay, signal);
      delay = reconnectDelayMs;
    }
  }

  private sendBody(message: SendOptions): Record<string, unknown> {
    return {
      from_agent: message.fromAgent,
      payload: message.payload,
      ...(message.ttlSeconds !== undefined ? { ttl_seconds: message.ttlSeconds } : {}),
    };
  }

  private workflowPath(workflowId: string): string {
    return `/v1/workflows/${encodeURIComponent(workflowId)}`;
  }

  private agentPath(workflowId: string, agentId: string): string {
    return `${this.workflowPath(workflowId)}/agents/${encodeURIComponent(agentId)}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.extraHeaders,
      ...(this.apiKey !== undefined ? { authorization: `Bearer ${this.apiKey}` } : {}),
      ...extra,
    };
  }

  private async json(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await this.fetchImpl(`${this.baseURL}${path}`, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    if (!res.ok) throw await WorkflowRouterError.fromResponse(res);
    const answer: unknown = await res.json();
    return answer;
  }
}
