// The pod's HTTP surface: vLLM's OpenAI-compatible endpoints plus the /sim/* test hooks.
// Validation happens here, at the edge; every failure leaves as OpenAI's error shape.

import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { SimError, badRequest, internalError, notFound } from './errors.ts';
import { faultsSchema } from './faults.ts';
import { rejectInference, serveInference } from './inference.ts';
import type { Arrival } from './inference.ts';
import type { PodRuntime } from './pod.ts';
import { paramPath, parseInferenceRequest } from './protocol.ts';
import type { Endpoint } from './protocol.ts';

const MAX_BODY = '64mb';
const INFERENCE_PATHS = new Set(['/v1/completions', '/v1/chat/completions']);

const statsQuerySchema = z.object({
  limit: z.coerce.number().int().min(0).optional(),
  blocks: z.enum(['0', '1', 'true', 'false']).optional(),
});

type Locals = { arrivedAt: number };

function arrivalOf(req: Request, res: Response): Arrival {
  const body: unknown = req.body;
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const traceparent = header('traceparent');
  const requestId = header('x-request-id');
  return {
    endpoint: req.path,
    at: (res.locals as Locals).arrivedAt,
    startedAt: Date.now(),
    headers: {
      ...(traceparent !== undefined ? { traceparent } : {}),
      ...(requestId !== undefined ? { 'x-request-id': requestId } : {}),
    },
    bodyKeys: typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : [],
  };
}

function modelOf(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'model' in body && typeof body.model === 'string') {
    return body.model;
  }
  return '';
}

function sendError(res: Response, error: SimError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(error.status).json(error.toBody());
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue ? paramPath(issue.path) : '';
  throw badRequest(
    param ? `${param}: ${issue?.message}` : (issue?.message ?? 'invalid request'),
    param || null,
  );
}

/** The Express app of one pod. */
export function createSimApp(pod: PodRuntime): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((_req, res, next) => {
    (res.locals as Locals).arrivedAt = performance.now();
    // Benchmarks subtract the pod's own time from what they measured; every answer says it.
    res.setHeader('x-sim-queue-ms', '0');
    next();
  });

  // Any content type is read as JSON, as vLLM's FastAPI handlers do.
  const json = express.json({ limit: MAX_BODY, type: () => true, strict: false });

  const inference = (kind: Endpoint) => async (req: Request, res: Response) => {
    const arrival = arrivalOf(req, res);
    let parsed;
    try {
      parsed = parseInferenceRequest(kind, req.body, {
        models: pod.options.models,
        maxModelLen: pod.maxModelLen,
      });
    } catch (error) {
      if (!(error instanceof SimError)) throw error;
      rejectInference(pod, res, arrival, error, modelOf(req.body));
      return;
    }
    pod.logger.debug('request', {
      endpoint: arrival.endpoint,
      model: parsed.model,
      promptTokens: parsed.promptTokens.length,
    });
    await serveInference(pod, parsed, res, arrival);
  };

  app.post('/v1/completions', json, inference('completion'));
  app.post('/v1/chat/completions', json, inference('chat'));

  app.get('/v1/models', (_req, res) => {
    const created = Math.floor(Date.now() / 1000);
    res.json({
      object: 'list',
      data: pod.options.models.map((id) => ({
        id,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: id,
        parent: null,
        max_model_len: pod.maxModelLen,
        permission: [],
      })),
    });
  });

  app.get('/health', (_req, res) => {
    res.status(pod.faults.unhealthy ? 503 : 200).end();
  });

  app.get('/metrics', async (_req, res) => {
    const text = await pod.metrics.render();
    res.setHeader('content-type', pod.metrics.contentType);
    res.end(text);
  });

  app.get('/sim/stats', (req, res) => {
    const query = parseWith(statsQuerySchema, req.query);
    res.json(
      pod.snapshot({
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        blocks: query.blocks === '1' || query.blocks === 'true',
      }),
    );
  });
  app.delete('/sim/stats', (_req, res) => {
    pod.clearStats();
    res.json(pod.snapshot());
  });
  app.post('/sim/reset', (_req, res) => {
    pod.reset();
    res.json(pod.snapshot());
  });

  app.get('/sim/faults', (_req, res) => {
    res.json(pod.faults.current);
  });
  app.post('/sim/faults', json, (req, res) => {
    const body: unknown = req.body ?? {};
    res.json(pod.faults.set(parseWith(faultsSchema, body)));
  });
  app.delete('/sim/faults', (_req, res) => {
    res.json(pod.faults.clear());
  });

  app.use((req, _res, next) => {
    next(notFound(`no route for ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toSimError(err);
    if (error.status >= 500) pod.logger.error('request failed', { path: req.path, error: String(err) });
    if (INFERENCE_PATHS.has(req.path) && !res.headersSent) {
      rejectInference(pod, res, arrivalOf(req, res), error, modelOf(req.body));
      return;
    }
    sendError(res, error);
  });

  return app;
}

/** Maps what a handler or body-parser threw onto the one error type. */
function toSimError(err: unknown): SimError {
  if (err instanceof SimError) return err;
  if (typeof err === 'object' && err !== null && 'type' in err) {
    if (err.type === 'entity.parse.failed') return badRequest('the request body is not valid JSON');
    if (err.type === 'entity.too.large')
      return new SimError(413, 'BadRequestError', 'request body too large');
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      return badRequest('unsupported request encoding');
    }
  }
  return internalError(err instanceof Error ? err.message : 'internal error');
}
