import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Pod } from '../pods/pod.ts';
import type { ResponseTap } from './response-tap.ts';

/** How one attempt to relay a call to a pod ended. */
export type ForwardOutcome =
  /** The pod answered and its whole response reached the client (any HTTP status). */
  | { kind: 'done'; status: number }
  /** The pod could not be reached and nothing was sent: safe to retry elsewhere. */
  | { kind: 'unreachable'; code: string }
  /** The pod failed after the response started; the client got an error event or a cut. */
  | { kind: 'broken'; status: number; code: string }
  /** The client went away; the upstream request was cancelled. */
  | { kind: 'client-closed' }
  /** The pod took the call but sent nothing within the timeout: not retried, it may still be generating. */
  | { kind: 'timeout' };

export interface ForwardCall {
  req: IncomingMessage;
  res: ServerResponse;
  pod: Pod;
  body: Buffer;
  headers: OutgoingHttpHeaders;
  streaming: boolean;
  tap: ResponseTap;
  timeoutMs: number;
  onFirstByte: () => void;
  /** Runs after the pod's last byte and before the client's response ends (read-your-writes). */
  beforeEnd: () => Promise<void>;
}

interface CallState {
  call: ForwardCall;
  proxyReq: ClientRequest | undefined;
  started: boolean;
  /** The pod was silent for the upstream timeout and http-proxy aborted the request. */
  timedOut: boolean;
  settled: boolean;
  resolve: (outcome: ForwardOutcome) => void;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Headers never passed on: hop-by-hop ones, and framing the router recomputes. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
]);

/**
 * Relays calls to pods through http-proxy: the body the router rewrote goes up, the pod's
 * response streams back chunk by chunk through a tap that reads usage on the way.
 */
export class Forwarder {
  private readonly proxy = httpProxy.createProxyServer({ selfHandleResponse: true, xfwd: true, ws: false });
  private readonly calls = new WeakMap<IncomingMessage, CallState>();

  constructor() {
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const state = this.calls.get(req);
      if (!state) return;
      state.proxyReq = proxyReq;
      // http-proxy aborts on proxyTimeout and reports a plain ECONNRESET: remember why.
      proxyReq.once('timeout', () => (state.timedOut = true));
    });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const state = this.calls.get(req);
      if (state) this.relay(state, proxyRes);
    });
    this.proxy.on('econnreset', (_err, req) => {
      const state = this.calls.get(req);
      if (state) this.settle(state, { kind: 'client-closed' });
    });
  }

  forward(call: ForwardCall): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      const state: CallState = {
        call,
        proxyReq: undefined,
        started: false,
        timedOut: false,
        settled: false,
        resolve,
      };
      this.calls.set(call.req, state);
      const onClientClose = (): void => {
        if (call.res.writableFinished) return;
        state.proxyReq?.destroy();
        this.settle(state, { kind: 'client-closed' });
      };
      call.res.once('close', onClientClose);
      call.req.headers = { ...(call.headers as IncomingMessage['headers']) };
      this.proxy.web(
        call.req,
        call.res,
        {
          target: call.pod.url,
          agent: call.pod.agent,
          buffer: Readable.from([call.body]),
          proxyTimeout: call.timeoutMs,
          headers: { 'content-length': String(call.body.length) },
        },
        (err: NodeJS.ErrnoException) => this.onProxyError(state, err),
      );
    });
  }

  private onProxyError(state: CallState, err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'EPROXY';
    if (state.call.res.destroyed) return this.settle(state, { kind: 'client-closed' });
    if (!state.started) {
      if (state.timedOut) return this.settle(state, { kind: 'timeout' });
      // Nothing reached the pod's client side yet: a refused or reset connection is retryable.
      const retryable = UNREACHABLE.has(code) || code === 'ECONNRESET' || code === 'EPIPE';
      return this.settle(
        state,
        retryable ? { kind: 'unreachable', code } : { kind: 'broken', status: 502, code },
      );
    }
    this.failMidStream(state, state.timedOut ? 'ETIMEDOUT' : code);
  }

  private relay(state: CallState, proxyRes: IncomingMessage): void {
    const { call } = state;
    state.started = true;
    const status = proxyRes.statusCode ?? 502;
    call.res.statusCode = status;
    for (const [name, value] of Object.entries(proxyRes.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) call.res.setHeader(name, value);
    }
    if (call.streaming) call.res.setHeader('x-accel-buffering', 'no');
    call.res.flushHeaders();
    let first = true;
    proxyRes.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        call.onFirstByte();
      }
      const out = call.tap.push(chunk);
      if (out.length > 0) call.res.write(out);
    });
    proxyRes.on('end', () => {
      const rest = call.tap.flush();
      if (rest !== '') call.res.write(rest);
      if (call.streaming && status < 400 && !call.tap.doneSeen) {
        // The pod closed the stream cleanly but never said [DONE]: that is a truncated answer.
        this.failMidStream(state, 'EINCOMPLETE');
        return;
      }
      const finish = (): void => {
        call.res.end();
        this.settle(state, { kind: 'done', status });
      };
      call.beforeEnd().then(finish, finish);
    });
    proxyRes.on('close', () => {
      if (!proxyRes.complete) this.failMidStream(state, state.timedOut ? 'ETIMEDOUT' : 'ECONNRESET');
    });
    proxyRes.on('error', () => this.failMidStream(state, 'ECONNRESET'));
  }

  /** After bytes flowed the status cannot change: streams get an error event, bodies are cut. */
  private failMidStream(state: CallState, code: string): void {
    if (state.settled) return;
    const { res, streaming } = state.call;
    state.proxyReq?.destroy();
    if (res.destroyed) return this.settle(state, { kind: 'client-closed' });
    if (streaming && !res.writableEnded) {
      const error = {
        error: {
          message: 'the model server failed while streaming the response; the output is incomplete',
          type: 'upstream_error',
          param: null,
          code: 'upstream_stream_broken',
        },
      };
      res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
    } else {
      res.destroy();
    }
    this.settle(state, { kind: 'broken', status: 502, code });
  }

  private settle(state: CallState, outcome: ForwardOutcome): void {
    if (state.settled) return;
    state.settled = true;
    this.calls.delete(state.call.req);
    state.resolve(outcome);
  }

  close(): void {
    this.proxy.close();
  }
}
