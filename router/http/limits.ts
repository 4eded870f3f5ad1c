import http, { STATUS_CODES, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from '../../core/errors.ts';
import type { SafetyConfig } from '../safety-config.ts';

/** A socket answered and closed by the connection limits: no request on it is handled. */
const REJECTED = Symbol('rejected');
type TrackedSocket = Socket & { [REJECTED]?: true };

/**
 * A response written straight on the socket, in OpenAI's error shape, when no request exists
 * yet; without the body when the request was a HEAD (its client would choke on one).
 */
function rawError(status: number, error: ApiError, extraHeaders: string[] = [], head = false): string {
  const body = JSON.stringify(error.toBody());
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extraHeaders,
    '',
    head ? '' : body,
  ].join('\r\n');
}

/**
 * After an answer written on a socket: destroyed a second later whatever the client does (an
 * idle timeout would be reset by a slow-loris client that keeps dripping bytes).
 */
function closeSoon(socket: Socket): void {
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** What the HTTP parser refused, as a status and an OpenAI error. */
function parserError(code: string | undefined): { status: number; error: ApiError } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        error: new ApiError(
          431,
          'invalid_request_error',
          'request headers are too large or too many (--max-header-bytes, --max-headers)',
          {
            code: 'headers_too_large',
          },
        ),
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        error: new ApiError(
          408,
          'invalid_request_error',
          'the request was not received in time (--headers-timeout, --body-timeout)',
          { code: 'request_timeout' },
        ),
      };
    default:
      return {
        status: 400,
        error: new ApiError(400, 'invalid_request_error', 'malformed HTTP request', { code: 'bad_http' }),
      };
  }
}

export interface HttpServerHandle {
  server: http.Server;
  /** Open client connections now. */
  connections(): number;
}

/**
 * The router's HTTP server with the limits of issue 10: header size and count, headers and
 * whole-request read timeouts (slow clients), keep-alive, connections per replica and per
 * client address. Everything refused is answered in OpenAI's error shape, also what the HTTP
 * parser rejects before any request exists (malformed, oversized, too slow).
 */
export function createHttpServer(
  config: SafetyConfig,
  app: RequestListener,
  registry: Registry,
): HttpServerHandle {
  const server = http.createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.headersTimeoutMs,
      // Node requires requestTimeout >= headersTimeout; it covers receiving the whole request only.
      requestTimeout: Math.max(config.bodyTimeoutMs, config.headersTimeoutMs),
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // How often the two timeouts above are checked (Node's default, 30 s, would let them slip).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.headersTimeoutMs / 4)),
      // A request without Host reaches the app (which answers it in OpenAI's shape) instead of a bare 400.
      requireHostHeader: false,
    },
    app,
  );
  // One more than allowed, so headerCountGuard can see the excess and answer 431.
  server.maxHeadersCount = config.maxHeaders + 1;

  const open = new Gauge({
    name: 'workflow_router_client_connections',
    help: 'Open client connections to this replica',
    registers: [registry],
  });
  const refused = new Counter({
    name: 'workflow_router_connections_refused_total',
    help: 'Client connections closed at once: max_connections, max_connections_per_client',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const perClient = new Map<string, number>();
  let total = 0;

  server.on('connection', (socket: TrackedSocket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const mine = perClient.get(address) ?? 0;
    const overTotal = config.maxConnections > 0 && total >= config.maxConnections;
    const overClient = config.maxConnectionsPerClient > 0 && mine >= config.maxConnectionsPerClient;
    if (overTotal || overClient) {
      socket[REJECTED] = true;
      refused.inc({ reason: overTotal ? 'max_connections' : 'max_connections_per_client' });
      const status = overTotal ? 503 : 429;
      const error = overTotal
        ? new ApiError(503, 'service_unavailable', 'this router replica holds its maximum of connections', {
            code: 'too_many_connections',
          })
        : new ApiError(429, 'rate_limit_error', 'too many open connections from this address', {
            code: 'too_many_connections',
          });
      socket.end(rawError(status, error, ['Retry-After: 1']));
      closeSoon(socket);
      return;
    }
    total += 1;
    perClient.set(address, mine + 1);
    open.set(total);
    socket.once('close', () => {
      total -= 1;
      const left = (perClient.get(address) ?? 1) - 1;
      if (left <= 0) perClient.delete(address);
      else perClient.set(address, left);
      open.set(total);
    });
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent === true) {
      socket.destroy();
      return;
    }
    const { status, error: apiError } = parserError(error.code);
    const raw = (error as { rawPacket?: unknown }).rawPacket;
    const head = Buffer.isBuffer(raw) && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(rawError(status, apiError, [], head));
    closeSoon(socket);
  });

  // An Expect other than 100-continue: Node would answer a bare 417.
  server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = JSON.stringify(
      new ApiError(417, 'invalid_request_error', 'unsupported Expect header', {
        code: 'expectation_failed',
      }).toBody(),
    );
    res.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });

  return { server, connections: () => total };
}

/**
 * First middleware: drops requests on sockets the connection limits refused, answers 431
 * beyond `--max-headers` (Node only truncates the list), and while draining closes each
 * connection after its response, so clients reconnect to a replica that stays.
 */
export function requestGuard(maxHeaders: number, draining: AbortSignal) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if ((req.socket as TrackedSocket)[REJECTED]) {
      req.socket.destroy();
      return;
    }
    if (draining.aborted) res.setHeader('connection', 'close');
    if (req.rawHeaders.length / 2 > maxHeaders) {
      next(
        new ApiError(
          431,
          'invalid_request_error',
          `more than ${maxHeaders} request headers (--max-headers)`,
          {
            code: 'too_many_headers',
          },
        ),
      );
      return;
    }
    next();
  };
}
