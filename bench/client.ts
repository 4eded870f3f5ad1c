// The load generator's HTTP client: raw node:http over a keep-alive agent, not the openai
// package, so the client's own cost per call (and its noise in the latencies) stays small.
// It reads what the figures need: time to the first SSE event (first token), the end, the
// generated text, `usage` (with cached_tokens) and the router's and simulator's headers.

import http from 'node:http';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export interface CallOutcome {
  ok: boolean;
  status: number;
  error?: string;
  /** performance.now() when the request was written, at the first byte, at the end. */
  sentAt: number;
  firstTokenAt: number | undefined;
  endAt: number;
  text: string;
  usage: Usage | undefined;
  /** x-workflow-router-pod and x-workflow-router-placement (router only). */
  pod: string | undefined;
  placement: string | undefined;
  /** x-sim-time-ms (non-streamed answers of the simulator). */
  simTimeMs: number | undefined;
}

export interface PostOptions {
  agent: http.Agent;
  url: URL;
  body: string;
  headers: Record<string, string>;
  stream: boolean;
}

function readUsage(value: unknown): Usage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const u = value as Record<string, unknown>;
  const details = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
  return {
    promptTokens: typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0,
    completionTokens: typeof u.completion_tokens === 'number' ? u.completion_tokens : 0,
    cachedTokens: typeof details?.cached_tokens === 'number' ? details.cached_tokens : 0,
  };
}

interface ChunkShape {
  choices?: { delta?: { content?: unknown }; message?: { content?: unknown }; text?: unknown }[];
  usage?: unknown;
  error?: { message?: unknown };
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** POSTs one completion and reads the whole answer. Never rejects: failures are outcomes. */
export function postCompletion(o: PostOptions): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const outcome: CallOutcome = {
      ok: false,
      status: 0,
      sentAt: performance.now(),
      firstTokenAt: undefined,
      endAt: 0,
      text: '',
      usage: undefined,
      pod: undefined,
      placement: undefined,
      simTimeMs: undefined,
    };
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      outcome.endAt = performance.now();
      if (error !== undefined) {
        outcome.ok = false;
        outcome.error = error;
      }
      resolve(outcome);
    };
    const req = http.request(
      {
        host: o.url.hostname,
        port: o.url.port,
        path: o.url.pathname,
        method: 'POST',
        agent: o.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(o.body)),
          ...o.headers,
        },
      },
      (res) => {
        outcome.status = res.statusCode ?? 0;
        outcome.pod = header(res, 'x-workflow-router-pod');
        outcome.placement = header(res, 'x-workflow-router-placement');
        const sim = header(res, 'x-sim-time-ms');
        if (sim !== undefined) outcome.simTimeMs = Number(sim);
        res.setEncoding('utf8');
        let buffer = '';
        let sawDone = false;
        const onEvent = (event: string): void => {
          const line = event.startsWith('data:')
            ? event
            : event.split('\n').find((l) => l.startsWith('data:'));
          if (line === undefined) {
            if (event.startsWith('event: error')) outcome.error = 'stream error event';
            return;
          }
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            sawDone = true;
            return;
          }
          outcome.firstTokenAt ??= performance.now();
          const chunk = JSON.parse(data) as ChunkShape;
          const delta = chunk.choices?.[0]?.delta?.content;
          if (typeof delta === 'string') outcome.text += delta;
          if (chunk.usage) outcome.usage = readUsage(chunk.usage);
          if (chunk.error) outcome.error = String(chunk.error.message);
        };
        res.on('data', (piece: string) => {
          if (!o.stream || outcome.status !== 200) {
            buffer += piece;
            return;
          }
          buffer += piece;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            try {
              onEvent(event);
            } catch {
              outcome.error = 'unparsable SSE event';
            }
          }
        });
        res.on('end', () => {
          if (outcome.status !== 200) {
            finish(`HTTP ${outcome.status}: ${buffer.slice(0, 300)}`);
            return;
          }
          if (o.stream) {
            if (!sawDone) return finish(outcome.error ?? 'stream ended without [DONE]');
            outcome.ok = outcome.error === undefined;
            return finish();
          }
          outcome.firstTokenAt = performance.now();
          try {
            const body = JSON.parse(buffer) as ChunkShape;
            const content = body.choices?.[0]?.message?.content;
            outcome.text = typeof content === 'string' ? content : '';
            outcome.usage = readUsage(body.usage);
            outcome.ok = true;
            finish();
          } catch {
            finish('unparsable JSON body');
          }
        });
        res.on('error', (e) => finish(e.message));
        res.on('aborted', () => finish('response aborted'));
      },
    );
    req.on('error', (e) => finish(e.message));
    req.end(o.body);
  });
}

/**
 * A keep-alive agent without a socket cap (the benchmark decides the concurrency). Idle
 * sockets are closed after 20 s, well before any server here drops them (65 s), so a socket
 * the server is closing is never reused (that race shows up as ECONNRESET).
 */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, timeout: 20_000 });
}
