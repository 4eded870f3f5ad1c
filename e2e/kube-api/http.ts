// HTTP plumbing shared by the handlers: body reading (JSON or YAML, size-limited), content
// negotiation of the Accept header (JSON, YAML, Table, PartialObjectMetadata, aggregated
// discovery), and writing objects, Status errors and Warning headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { StatusError, badRequest, internal, notAcceptable } from './errors.ts';
import { PROTOBUF, decodeProtobuf } from './protobuf.ts';

/** The apiserver refuses request bodies above 3 MiB. */
const MAX_BODY = 3 * 1024 * 1024;

export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseMediaRanges(header: string | undefined): MediaRange[] {
  if (!header) return [{ type: '*/*', params: {} }];
  return header.split(',').map((part) => {
    const [type = '', ...rest] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
    }
    return { type: type.toLowerCase(), params };
  });
}

export type ResponseForm = 'object' | 'table' | 'metadata';

export interface Negotiated {
  form: ResponseForm;
  yaml: boolean;
  /** The `v=` of a Table or PartialObjectMetadata request (v1 or v1beta1). */
  metaVersion: string;
}

/**
 * Picks the first acceptable representation, like the apiserver: Table and
 * PartialObjectMetadata when asked for with meta.k8s.io, else JSON or YAML; protobuf only
 * requests are refused with 406.
 */
export function negotiate(accept: string | undefined): Negotiated {
  for (const r of parseMediaRanges(accept)) {
    const isJson = r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*';
    const isYaml = r.type === 'application/yaml';
    if (!isJson && !isYaml) continue;
    const as = r.params.as;
    if (as) {
      if (r.params.g !== 'meta.k8s.io' || !['v1', 'v1beta1'].includes(r.params.v ?? '')) continue;
      if (as === 'Table') return { form: 'table', yaml: isYaml, metaVersion: r.params.v ?? 'v1' };
      if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
        return { form: 'metadata', yaml: isYaml, metaVersion: r.params.v ?? 'v1' };
      }
      continue;
    }
    return { form: 'object', yaml: isYaml, metaVersion: 'v1' };
  }
  throw notAcceptable(['application/json', 'application/yaml']);
}

/** True when the client asks for aggregated discovery (apidiscovery.k8s.io v2 or v2beta1). */
export function wantsAggregatedDiscovery(accept: string | undefined): string | undefined {
  for (const r of parseMediaRanges(accept)) {
    if (
      r.type === 'application/json' &&
      r.params.g === 'apidiscovery.k8s.io' &&
      r.params.as === 'APIGroupDiscoveryList'
    ) {
      if (r.params.v === 'v2' || r.params.v === 'v2beta1') return r.params.v;
    }
    if (r.type === 'application/json' && !r.params.as) return undefined;
  }
  return undefined;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY)
      throw new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Decodes a JSON or YAML body into unknown; 400 with the decoder's message when malformed. */
export function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === PROTOBUF) return decodeProtobuf(raw);
  const text = raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  if (type.includes('yaml')) {
    try {
      return parseYaml(text) as unknown;
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`json: ${(e as Error).message}`);
  }
}

function headerSafe(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
}

/** Sends a JSON (or YAML) body with the apiserver's headers and any Warning headers. */
export function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  opts: { yaml?: boolean; contentType?: string; warnings?: string[] } = {},
): void {
  const headers: Record<string, string | string[]> = {
    'Cache-Control': 'no-cache, private',
    'Content-Type': opts.contentType ?? (opts.yaml ? 'application/yaml' : 'application/json'),
  };
  if (opts.warnings && opts.warnings.length > 0) {
    headers.Warning = [...new Set(opts.warnings)].map((w) => `299 - ${JSON.stringify(headerSafe(w))}`);
  }
  const text = opts.yaml ? stringifyYaml(body) : JSON.stringify(body);
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(code, headers);
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = err instanceof StatusError ? err : internal(err instanceof Error ? err.message : String(err));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, e.code, e.toStatus());
}
