import {
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { Stream } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Pod } from '../pods/pod.ts';
import { ENDPOINT_PATHS } from '../prompt.ts';
import type { ResponseTap } from './response-tap.ts';
import { normalizeErrorBody } from './upstream-errors.ts';

/** How one attempt to relay a call to a pod ended. */
export type ForwardOutcome =
  /** The pod answered and its whole response reached the client (any HTTP status). */
  | { kind: 'done'; status: number }
  /** The call never reached the pod (refused, connect timeout, reset while sending): safe to retry. */
  | { kind: 'unreachable'; code: string }
  /**
   * The pod received the whole call and closed the connection before any response byte.
   * Retrying is what a client expects, but the pod may have run the call (at-least-once).
   */
  | { kind: 'no-response'; code: string }
  /** The pod failed after the response started; the client got an error event or a 502. */
  | { kind: 'broken'; status: number; code: string }
  /** The client went away; the upstream request was cancelled. */
  | { kind: 'client-closed' }
  /** The pod took the call but sent nothing within the first-byte timeout: not retried. */
  | { kind: 'timeout' };

export interface ForwardCall {
  req: IncomingMessage;
  res: ServerResponse;
  pod: Pod;
  body: Buffer;
  headers: OutgoingHttpHeaders;
  streaming: boolean;
  tap: ResponseTap;
  /** Longest silence between two response chunks (and before the first, unless set apart). */
  timeoutMs: number;
  onFirstByte: () => void;
  /**
   * Runs after the pod's last byte and before the client's response ends (read-your-writes).
   * Undefined when there is nothing to do: the response then ends in the same tick as the
   * pod's, so its last bytes leave in one write instead of two.
   */
  beforeEnd: (() => Promise<void>) | undefined;
}

export interface ForwarderOptions {
  /** Longest a TCP connect to a pod may take (`--upstream-connect-timeout`). */
  connectTimeoutMs: number;
  /** Longest from the call sent to the response headers; 0: the call's `timeoutMs`. */
  firstByteTimeoutMs: number;
}

type Phase = 'connecting' | 'sending' | 'waiting' | 'responding';

interface CallState {
  call: ForwardCall;
  upstream: ClientRequest | undefined;
  response: IncomingMessage | undefined;
  phase: Phase;
  timer: NodeJS.Timeout | undefined;
  /** The timer is the idle one: a chunk re-arms it with refresh() rather than a new timer. */
  idle: boolean;
  /** A stream's status and headers are set on the response: they are the client's, sent or not. */
  streamStarted: boolean;
  settled: boolean;
  resolve: (outcome: ForwardOutcome) => void;
}

/** Headers never passed on in either direction: hop-by-hop ones, and framing the router recomputes. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'content-length',
  'content-encoding',
  'accept-encoding',
]);

/** The stream error event, in OpenAI's error shape, that ends a stream the router cannot finish. */
export function streamErrorEvent(code: string, message: string, type = 'upstream_error'): string {
  const body = { error: { message, type, param: null, code } };
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}

/** A stream's headers still unsent a loop turn after they were set: they go out now, alone. */
function flushHeadersIfPending(res: ServerResponse): void {
  if (!res.headersSent && !res.destroyed) res.flushHeaders();
}

const BROKEN_MESSAGE = 'the model server failed while streaming the response; the output is incomplete';
const SHUTDOWN_MESSAGE = 'the router is shutting down and could not finish this stream; retry the call';

/** The upstream path is one of two constants: nothing in the request chooses where a call goes. */
function upstreamPath(req: IncomingMessage): string {
  const path = (req.url ?? '').split('?')[0] ?? '';
  return /\/chat\/completions\/?$/i.test(path) ? ENDPOINT_PATHS.chat : ENDPOINT_PATHS.completions;
}

/** Where one endpoint of a pod is, in the fields http-proxy reads from a parsed URL target. */
interface ProxyTarget {
  protocol: string;
  host: string;
  /** Without an IPv6 address's brackets, as url.parse gives it (and http.request wants it). */
  hostname: string;
  port: string;
  /** The upstream path; http-proxy appends nothing to it (ignorePath). */
  path: string;
}

/** A pod's targets by upstream path (two at most: the chat and the completions endpoints). */
type PodTargets = Map<string, ProxyTarget>;

/**
 * The rewritten body as http-proxy's `buffer` source. http-proxy only calls pipe() on it; this
 * one ends the upstream request with the body at once, where Readable.from would run an async
 * iterator (promises and ticks) for a single chunk on every call.
 */
class BodySource extends Stream {
  private readonly body: Buffer;

  constructor(body: Buffer) {
    super();
    this.body = body;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    destination.end(this.body);
    return destination;
  }
}

/**
 * Relays calls to pods through http-proxy: the body the router rewrote goes up, the pod's
 * response comes back through a tap that reads usage on the way. Streams are relayed chunk by
 * chunk with backpressure; a non-streamed answer is held until complete (the tap reads it
 * anyway), so a pod failing halfway becomes a clean 502 instead of a truncated body.
 * Three timeouts: connect, first byte (the call sent, no response yet) and silence between
 * chunks. Each failure is classified by how far the call got, which decides whether a retry
 * is safe (`unreachable`), possibly a repeat (`no-response`), or impossible (`broken`).
 */
export class Forwarder {
  private readonly proxy = httpProxy.createProxyServer({});
  /** Calls by their client request, for http-proxy's events. */
  private readonly calls = new WeakMap<IncomingMessage, CallState>();
  private readonly options: ForwarderOptions;
  private readonly active = new Set<CallState>();
  /**
   * Each pod's target, parsed once: given a URL string, http-proxy would url.parse it on every
   * call (with the client's path, 4% of the router's CPU in a profile). Weak, so pods that
   * leave the pool take their entry with them.
   */
  private readonly targets = new WeakMap<Pod, PodTargets>();

  constructor(options: ForwarderOptions = { connectTimeoutMs: 5000, firstByteTimeoutMs: 0 }) {
    this.options = options;
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const state = this.calls.get(req);
      if (state) this.attach(state, proxyReq);
    });
    // A client gone while http-proxy holds its request: the call already settled as client-closed.
    this.proxy.on('econnreset', () => undefined);
    this.proxy.on('error', () => undefined);
  }

  /** Calls being relayed now. */
  get inflight(): number {
    return this.active.size;
  }

  forward(call: ForwardCall): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      const state: CallState = {
        call,
        upstream: undefined,
        response: undefined,
        phase: 'connecting',
        timer: undefined,
        idle: false,
        streamStarted: false,
        settled: false,
        resolve,
      };
      if (call.res.destroyed) {
        resolve({ kind: 'client-closed' });
        return;
      }
      this.active.add(state);
      call.res.once('close', () => {
        if (state.settled || call.res.writableFinished) return;
        state.upstream?.destroy();
        this.settle(state, { kind: 'client-closed' });
      });
      this.send(state);
    });
  }

  private send(state: CallState): void {
    const { call } = state;
    const target = this.targetOf(call.pod, upstreamPath(call.req));
    const headers: OutgoingHttpHeaders = {};
    for (const name in call.headers) {
      const value = call.headers[name];
      if (value !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) headers[name] = value;
    }
    const client = call.req.socket.remoteAddress;
    const forwardedFor = call.req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = [forwardedFor, client].filter((v) => v !== undefined && v !== '').join(', ');
    headers['x-forwarded-proto'] = 'http';
    headers['content-length'] = String(call.body.length);
    headers['accept-encoding'] = 'identity';
    headers.host = target.host;
    // http-proxy creates and pipes the upstream request; the forwarder keeps the call's state
    // machine (timeouts, failure classes, the response relay) on the request it hands us.
    // The outgoing headers are exactly the ones computed above, nothing of the client's beyond.
    delete headers.expect;
    call.req.headers = headers as IncomingMessage['headers'];
    this.calls.set(call.req, state);
    this.proxy.web(
      call.req,
      call.res,
      {
        target,
        ignorePath: true,
        // With ignorePath the client's path is dropped anyway; toProxy spares url.parse()ing it.
        toProxy: true,
        ...(target.protocol === 'http:' ? { agent: call.pod.agent } : {}),
        buffer: new BodySource(call.body),
        selfHandleResponse: true,
        xfwd: false,
      },
      (error: NodeJS.ErrnoException) => this.onUpstreamError(state, error),
    );
  }

  /** The target of `path` on the pod: its origin (the pod URL's own path is not used) and the path. */
  private targetOf(pod: Pod, path: string): ProxyTarget {
    let targets = this.targets.get(pod);
    if (!targets) {
      targets = new Map();
      this.targets.set(pod, targets);
    }
    let target = targets.get(path);
    if (!target) {
      const url = new URL(pod.url);
      const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      target = { protocol: url.protocol, host: url.host, hostname, port: url.port, path };
      targets.set(path, target);
    }
    return target;
  }

  /** http-proxy announces the upstream request once it has a socket: the call's state machine attaches there. */
  private attach(state: CallState, upstream: ClientRequest): void {
    const { call } = state;
    state.upstream = upstream;
    const socket = upstream.socket;
    if (socket && socket.connecting) {
      this.arm(state, this.options.connectTimeoutMs, () => this.onTimeout(state, 'connect'));
      socket.once('connect', () => {
        if (state.phase === 'connecting') state.phase = 'sending';
        this.disarm(state);
      });
    } else {
      state.phase = 'sending';
    }
    upstream.on('finish', () => {
      if (state.settled || state.phase === 'responding') return;
      state.phase = 'waiting';
      const firstByte =
        this.options.firstByteTimeoutMs > 0 ? this.options.firstByteTimeoutMs : call.timeoutMs;
      this.arm(state, firstByte, () => this.onTimeout(state, 'first-byte'));
    });
    upstream.on('response', (response) => this.relay(state, response));
    if (state.settled) upstream.destroy();
  }

  private arm(state: CallState, ms: number, fire: () => void): void {
    this.disarm(state);
    state.timer = setTimeout(fire, ms);
  }

  /** The silence timer between response chunks, restarted by each chunk. */
  private armIdle(state: CallState): void {
    // Every chunk restarts it: refresh() reschedules the same timer instead of making a new one.
    if (state.idle && state.timer !== undefined) {
      state.timer.refresh();
      return;
    }
    this.arm(state, state.call.timeoutMs, () => this.onTimeout(state, 'idle'));
    state.idle = true;
  }

  private disarm(state: CallState): void {
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    state.idle = false;
  }

  private onTimeout(state: CallState, which: 'connect' | 'first-byte' | 'idle'): void {
    if (state.settled) return;
    if (which === 'idle') return this.failMidStream(state, 'ETIMEDOUT');
    state.upstream?.destroy();
    this.settle(
      state,
      which === 'connect' ? { kind: 'unreachable', code: 'ECONNTIMEOUT' } : { kind: 'timeout' },
    );
  }

  private onUpstreamError(state: CallState, error: NodeJS.ErrnoException): void {
    if (state.settled) return;
    const code = error.code ?? 'EPROXY';
    if (state.call.res.destroyed) return this.settle(state, { kind: 'client-closed' });
    switch (state.phase) {
      case 'connecting':
      case 'sending':
        // The call was not (wholly) delivered: the pod cannot have run it.
        return this.settle(state, { kind: 'unreachable', code });
      case 'waiting':
        return this.settle(state, { kind: 'no-response', code });
      case 'responding':
        return this.failMidStream(state, code);
    }
  }

  private relay(state: CallState, response: IncomingMessage): void {
    const { call } = state;
    if (state.settled) {
      response.destroy();
      return;
    }
    state.phase = 'responding';
    state.response = response;
    const status = response.statusCode ?? 502;
    // Held until complete: a non-streamed answer, and any error answer (rewritten into OpenAI's shape).
    const held = !call.streaming || status >= 400;
    this.armIdle(state);
    // A stream's status and headers go out at once, as the pod sent them.
    if (!held) {
      state.streamStarted = true;
      this.writeHead(call, response, status);
    }
    const chunks: Buffer[] = [];
    let first = true;
    response.on('data', (chunk: Buffer) => {
      if (state.settled) return;
      this.armIdle(state);
      if (first) {
        first = false;
        call.onFirstByte();
      }
      if (held) {
        if (!call.streaming) call.tap.push(chunk);
        chunks.push(chunk);
        return;
      }
      const out = call.tap.push(chunk);
      if (out.length > 0 && !call.res.write(out)) {
        // The client reads slower than the pod writes: hold the pod, not the bytes.
        this.disarm(state);
        response.pause();
        call.res.once('drain', () => {
          if (state.settled) return;
          this.armIdle(state);
          response.resume();
        });
      }
    });
    response.on('end', () => {
      if (state.settled) return;
      this.disarm(state);
      let body: Buffer | undefined;
      if (held) {
        const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        body = status >= 400 ? Buffer.from(normalizeErrorBody(status, raw)) : raw;
        this.writeHead(call, response, status, body.length, status >= 400);
      } else {
        if (!state.streamStarted) this.writeHead(call, response, status);
        const rest = call.tap.flush();
        if (rest !== '') call.res.write(rest);
        if (status < 400 && !call.tap.doneSeen) {
          // The pod closed the stream cleanly but never said [DONE]: that is a truncated answer.
          this.failMidStream(state, 'EINCOMPLETE');
          return;
        }
      }
      const finish = (): void => {
        if (state.settled) return;
        if (body === undefined) call.res.end();
        else call.res.end(body);
        this.settle(state, { kind: 'done', status });
      };
      // Nothing to wait for: end now, in the tick of the pod's end, so the last bytes (a held
      // body with its headers, or a stream's last chunk and terminator) leave in one write.
      if (call.beforeEnd === undefined) finish();
      else call.beforeEnd().then(finish, finish);
    });
    response.on('close', () => {
      if (!response.complete) this.failMidStream(state, 'ECONNRESET');
    });
    response.on('error', () => this.failMidStream(state, 'ECONNRESET'));
  }

  private writeHead(
    call: ForwardCall,
    response: IncomingMessage,
    status: number,
    length?: number,
    json = false,
  ): void {
    const { res } = call;
    res.statusCode = status;
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
    }
    if (length !== undefined) res.setHeader('content-length', String(length));
    if (json) res.setHeader('content-type', 'application/json; charset=utf-8');
    if (call.streaming && !json) {
      res.setHeader('x-accel-buffering', 'no');
      // With the first chunk when it is already here (one write instead of two: the pod's
      // headers and first event usually arrive together); else at the next turn of the loop,
      // so a client still sees them while the model prefills.
      setImmediate(flushHeadersIfPending, res);
    }
  }

  /**
   * After the pod failed mid-response the status may be sent already: a stream ends with an
   * error event (never a normal end); a held non-streamed answer becomes a 502.
   */
  private failMidStream(state: CallState, code: string, shutdown = false): void {
    if (state.settled) return;
    const { res, streaming } = state.call;
    this.disarm(state);
    state.upstream?.destroy();
    state.response?.destroy();
    if (res.destroyed) return this.settle(state, { kind: 'client-closed' });
    // A started stream is the client's even while its headers wait for the next tick: it ends
    // with an error event under the pod's status, never with a 502 in their place.
    if (!res.headersSent && !state.streamStarted) {
      const error = shutdown
        ? { message: SHUTDOWN_MESSAGE, type: 'service_unavailable', code: 'router_shutting_down' }
        : {
            message: 'the model server failed while sending the response; nothing usable was received',
            type: 'upstream_error',
            code: 'upstream_broken',
          };
      const body = JSON.stringify({ error: { ...error, param: null } });
      res.statusCode = shutdown ? 503 : 502;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('content-length', String(Buffer.byteLength(body)));
      res.end(body);
    } else if (streaming && !res.writableEnded) {
      res.end(
        shutdown
          ? streamErrorEvent('router_shutting_down', SHUTDOWN_MESSAGE, 'service_unavailable')
          : streamErrorEvent('upstream_stream_broken', BROKEN_MESSAGE),
      );
    } else {
      res.destroy();
    }
    this.settle(state, { kind: 'broken', status: 502, code });
  }

  private settle(state: CallState, outcome: ForwardOutcome): void {
    if (state.settled) return;
    state.settled = true;
    this.disarm(state);
    this.active.delete(state);
    this.calls.delete(state.call.req);
    state.resolve(outcome);
  }

  /** Shutdown past the drain deadline: every call still relayed ends now, streams with an error event. */
  abortAll(): void {
    for (const state of [...this.active]) this.failMidStream(state, 'ESHUTDOWN', true);
  }

  close(): void {
    this.abortAll();
    this.proxy.close();
  }
}
