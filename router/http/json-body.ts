import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';

/** Content types read here; every other JSON type (and every other case) goes to body-parser. */
const PLAIN_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
]);
const DECIMAL = /^\d{1,15}$/;
const BOM = 0xfeff;

/** An error shaped as body-parser's (a `type`), so errors.ts answers it exactly as theirs. */
function bodyError(type: string, message: string): Error & { type: string; status: number } {
  return Object.assign(new Error(message), { type, status: 400 });
}

/** The declared length of a body this reader takes on, or undefined to leave it to body-parser. */
function plainLength(req: IncomingMessage, limit: number): number | undefined {
  const { headers } = req;
  if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined)
    return undefined;
  const type = headers['content-type'];
  if (type === undefined || !PLAIN_TYPES.has(type.toLowerCase())) return undefined;
  const declared = headers['content-length'];
  if (declared === undefined || !DECIMAL.test(declared)) return undefined;
  const length = Number(declared);
  return length <= limit ? length : undefined;
}

/** The first character that is not JSON whitespace (space, tab, line feed, carriage return). */
function firstNonWhitespace(text: string): string {
  for (const char of text) if (char !== ' ' && char !== '\t' && char !== '\n' && char !== '\r') return char;
  return '';
}

/** body-parser's strict JSON: an empty body is {}, else it must be an object or an array. */
function parseStrict(buffer: Buffer): unknown {
  let text = buffer.toString('utf8');
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  if (text.length === 0) return {};
  const first = firstNonWhitespace(text);
  if (first !== '{' && first !== '[')
    throw bodyError('entity.parse.failed', 'the body is not a JSON object or array');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw bodyError('entity.parse.failed', error instanceof Error ? error.message : String(error));
  }
}

/**
 * `express.json()` for the router's request path. The common case (plain `application/json`,
 * UTF-8, a Content-Length within the limit, no Content-Encoding) is read here, straight into
 * one Buffer and one JSON.parse, with body-parser's rules: BOM dropped, empty body `{}`, strict
 * (an object or an array), its error types. Everything else (compressed bodies, other
 * charsets, `+json` types, chunked uploads, bodies over the limit) goes to body-parser itself,
 * so the answers stay body-parser's. Reading it here spares its stream decoder and per-call
 * bookkeeping (raw-body, iconv, type-is), a few percent of the router's CPU per call.
 */
export function jsonBody(limit: number) {
  const fallback = express.json({ limit, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = req.complete ? undefined : plainLength(req, limit);
    if (length === undefined) {
      fallback(req, res, next);
      return;
    }
    readBody(req, length, next);
  };
}

function readBody(req: Request, length: number, next: NextFunction): void {
  const chunks: Buffer[] = [];
  let received = 0;
  const done = (error?: unknown): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('aborted', onAborted);
    req.off('error', done);
    next(error);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    received += chunk.length;
  };
  const onEnd = (): void => {
    if (received !== length) {
      done(bodyError('request.size.invalid', 'request size did not match content length'));
      return;
    }
    try {
      req.body = parseStrict(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    } catch (error) {
      done(error);
      return;
    }
    done();
  };
  const onAborted = (): void => done(bodyError('request.aborted', 'request aborted'));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('aborted', onAborted);
  req.on('error', done);
}
