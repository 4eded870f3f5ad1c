import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, Response } from 'express';
import type { Endpoint } from '../prompt.ts';
import type { RouterCore } from '../router-core.ts';
import { authenticate } from './auth.ts';
import { bodyLog } from './body-log.ts';
import { completionsHandler } from './completions.ts';
import { jsonBody } from './json-body.ts';
import { requestGuard } from './limits.ts';
import { requestId } from './request-id.ts';

type Step = (req: Request, res: Response, next: NextFunction) => void | Promise<void>;

/** The exact URLs taken here; what else Express also matches (a trailing slash, capitals, a query) goes through it. */
const ENDPOINTS = new Map<string, Endpoint>([
  ['/v1/chat/completions', 'chat'],
  ['/v1/completions', 'completions'],
]);

/**
 * Runs `steps` in turn as Express would; a step's error (passed on, thrown or a rejected
 * promise) goes to `fail`. The last step, the handler, answers: nothing follows it.
 */
function runSteps(steps: readonly Step[], req: Request, res: Response, fail: NextFunction): void {
  let index = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined && error !== null) {
      fail(error);
      return;
    }
    const step = steps[index++];
    if (!step) return;
    try {
      const result = step(req, res, next);
      if (result instanceof Promise) result.catch(fail);
    } catch (thrown) {
      fail(thrown);
    }
  };
  next();
}

/**
 * What Express's init (app.handle) gives a request and response that the steps below read: the
 * circular references and `locals`. Not its prototypes, which only Express's helpers need
 * (`req.path`, `res.json`): swapping them costs a call about 1% of the router's CPU, and leaves
 * Node's own HTTP code seeing two shapes of request and response instead of one. The call's
 * steps use Node's API; `adopt` adds the prototypes before anything that needs them runs.
 */
function prepare(req: IncomingMessage, res: ServerResponse): { request: Request; response: Response } {
  const request = req as unknown as Request;
  const response = res as unknown as Response;
  request.res = response;
  response.req = request;
  request.originalUrl = req.url ?? '';
  request.baseUrl = '';
  response.locals = Object.create(null) as Response['locals'];
  return { request, response };
}

/** Express's prototypes, as app.handle sets them: for the error handler and the body log (`req.path`, `res.json`). */
function adopt(app: Express, request: Request, response: Response): void {
  if (Object.getPrototypeOf(request) === app.request) return;
  Object.setPrototypeOf(request, app.request);
  Object.setPrototypeOf(response, app.response);
}

/**
 * POST /v1/chat/completions and /v1/completions, the router's hot path, in front of the Express
 * app: the very steps the app runs for them (request id, request guard, API key, the tenant's
 * call gate, JSON body, body log, the handler), in the same order, with errors answered by the
 * app's error handler. What it skips is
 * Express's dispatch: the final handler, the router's walk over every route and mount before
 * these (path matching, URL trimming per layer): about 4% of the router's CPU per call.
 * Returns false, touching nothing, for any other method or URL (other spellings Express also
 * matches, a query string): the app, which still serves these routes too, takes those.
 */
export function completionRoute(
  core: RouterCore,
  app: Express,
  onError: ErrorRequestHandler,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const shared: Step[] = [
    requestId,
    requestGuard(core.config.maxHeaders, core.draining.signal),
    authenticate(core.keyring),
    core.limiter.callGate(),
    jsonBody(core.config.maxBodyBytes),
    bodyLog(core),
  ];
  const chains: Record<Endpoint, Step[]> = {
    chat: [...shared, completionsHandler(core, 'chat')],
    completions: [...shared, completionsHandler(core, 'completions')],
  };
  return (req, res) => {
    const endpoint = req.method === 'POST' ? ENDPOINTS.get(req.url ?? '') : undefined;
    if (endpoint === undefined) return false;
    const { request, response } = prepare(req, res);
    if (core.config.logBodies) adopt(app, request, response);
    runSteps(chains[endpoint], request, response, (error: unknown) => {
      try {
        adopt(app, request, response);
        onError(error, request, response, () => undefined);
      } catch {
        // The error handler answers every error; were it to fail, the connection goes.
        res.destroy();
      }
    });
    return true;
  };
}
