// Shared helpers of the router's integration tests: simulated pods (in this process, or as a
// separate `vllm-sim` process a test can kill), a router in front of them, the official OpenAI
// client pointed at the router, raw HTTP helpers and a Prometheus text parser.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSimPod, type SimPod, type SimPodOptions, type SimStats } from '../../sim/server.ts';
import type { RequestRecord } from '../../sim/stats.ts';
import { makeConfig, type RouterConfig } from '../../router/config.ts';
import { startRouter, type RunningRouter } from '../../router/server.ts';

export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The pinned Node that runs .ts directly (the test runner's own binary). */
export const NODE = process.execPath;

/** Simulated pods run fast: 2% of real time. */
export const FAST_SIM: SimPodOptions = { timeScale: 0.02, logLevel: 'error' };

export interface Stack {
  pods: SimPod[];
  router: RunningRouter;
  config: RouterConfig;
  /** The router's OpenAI base URL (`.../v1`). */
  baseURL: string;
  /** The official client pointed at the router, without retries. */
  client(options?: { headers?: Record<string, string>; apiKey?: string }): OpenAI;
  /** Index of a pod by the router's pod id (`pod-<i>`). */
  podIndex(podId: string | null | undefined): number;
  close(): Promise<void>;
}

export interface StackOptions {
  pods?: number;
  sim?: SimPodOptions;
  /** Per-pod overrides of `sim`, by index. */
  simPerPod?: SimPodOptions[];
  router?: Partial<RouterConfig>;
  /** Extra backends (e.g. a closed port, a separate sim process) placed before the in-process pods. */
  extraBackends?: string[];
}

/** Starts `pods` simulated pods in this process and a router in front of them. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const n = options.pods ?? 2;
  const pods: SimPod[] = [];
  try {
    for (let i = 0; i < n; i++) {
      pods.push(await startSimPod({ ...FAST_SIM, ...options.sim, ...options.simPerPod?.[i], index: i }));
    }
    const urls = [...(options.extraBackends ?? []), ...pods.map((p) => p.url)];
    const config = makeConfig({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      healthCheckIntervalMs: 500,
      statsFlushMs: 10,
      staticBackends: urls.map((url, i) => ({ id: `pod-${i}`, url, models: [MODEL] })),
      ...options.router,
    });
    const router = await startRouter(config);
    const offset = options.extraBackends?.length ?? 0;
    const baseURL = `${router.url}/v1`;
    return {
      pods,
      router,
      config,
      baseURL,
      client: (o = {}) =>
        new OpenAI({
          baseURL,
          apiKey: o.apiKey ?? config.apiKeys[0] ?? 'unused',
          maxRetries: 0,
          timeout: 60_000,
          ...(o.headers ? { defaultHeaders: o.headers } : {}),
        }),
      podIndex: (podId) => {
        const m = /^pod-(\d+)$/.exec(podId ?? '');
        assert.ok(m, `not a router pod id: ${String(podId)}`);
        return Number(m[1]) - offset;
      },
      close: async () => {
        await router.close();
        await Promise.all(pods.map((p) => p.close()));
      },
    };
  } catch (error) {
    await Promise.all(pods.map((p) => p.close()));
    throw error;
  }
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SimProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/** Runs `node bin/vllm-sim.js --port P` as its own process; resolves once it listens. */
export async function spawnSimProcess(args: string[] = [], port?: number): Promise<SimProcess> {
  const p = port ?? (await freePort());
  const child = spawn(
    NODE,
    ['bin/vllm-sim.js', '--port', String(p), '--time-scale', '0.02', '--log-level', 'error', ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vllm-sim did not start: ${output}`));
    }, 30_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vllm-sim exited with ${String(code)}: ${output}`));
    });
  });
  return {
    url,
    port: p,
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One HTTP request with a JSON (or raw string) body; parses a JSON answer. */
export async function http<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the raw text is the answer.
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** A chat completion request body through the router, as raw JSON (no client). */
export function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content }], max_tokens: 4, ...extra };
}

/** Asserts OpenAI's error shape and status; returns the error object. */
export function assertOpenAIError(
  answer: HttpAnswer,
  status: number,
  code?: string,
): { message: string; type: string; param: string | null; code: string | null } {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`);
  const body = answer.body as { error?: Record<string, unknown> };
  assert.ok(body && typeof body === 'object' && body.error, `not an OpenAI error: ${answer.text}`);
  const error = body.error;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof error.message, 'string');
  assert.ok((error.message as string).length > 0);
  assert.equal(typeof error.type, 'string');
  assert.ok(error.param === null || typeof error.param === 'string');
  assert.ok(error.code === null || typeof error.code === 'string');
  if (code !== undefined) assert.equal(error.code, code, answer.text);
  return error as { message: string; type: string; param: string | null; code: string | null };
}

/** Polls `check` until it returns true, every 20 ms, up to `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The requests a pod recorded (finished ones only), from an in-process pod or over HTTP. */
export async function records(pod: SimPod | string): Promise<RequestRecord[]> {
  if (typeof pod !== 'string') return pod.stats().requests;
  const res = await http<SimStats>('GET', `${pod}/sim/stats`);
  return res.body.requests;
}

/** Successful inference records of a set of in-process pods, with the index of their pod. */
export function inferenceRecords(pods: readonly SimPod[]): { pod: number; record: RequestRecord }[] {
  return pods.flatMap((p, i) =>
    p
      .stats()
      .requests.filter((r) => r.status === 200 && !r.cancelled)
      .map((record) => ({ pod: i, record })),
  );
}

export function clearAll(pods: readonly SimPod[]): void {
  for (const p of pods) p.clearStats();
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text exposition; throws on a sample line it cannot read. */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m?.[1] && m[2]) types.set(m[1], m[2]);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m?.[1] && m[3], `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = l[2] as string;
    const raw = m[3];
    samples.push({ name: m[1], labels, value: raw === '+Inf' ? Infinity : Number(raw) });
  }
  return { samples, types };
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function metric(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GET the router's /metrics, parsed. */
export async function scrapeRouter(
  router: RunningRouter,
): Promise<{ samples: Sample[]; types: Map<string, string> }> {
  const res = await http('GET', `${router.url}/metrics`);
  assert.equal(res.status, 200);
  return parsePrometheus(res.text);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The body form of workflow identity, as the seed's clients send it. */
export interface WorkflowMetadataBody {
  workflow_id: string;
  agent_id?: string;
  workflow_priority?: number;
  context_sharing?: string;
  context_sharing_strategy?: string;
  context_from?: string[];
}

export type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming & {
  workflow_metadata?: WorkflowMetadataBody;
};

export interface ChatResult {
  completion: OpenAI.Chat.ChatCompletion;
  /** `x-workflow-router-pod`: the router's id of the pod that served the call. */
  pod: string;
  headers: Headers;
}

/** One non-streaming chat call through the official client, with the response headers. */
export async function chat(client: OpenAI, params: ChatParams): Promise<ChatResult> {
  const { data, response } = await client.chat.completions.create(params).withResponse();
  return {
    completion: data,
    pod: response.headers.get('x-workflow-router-pod') ?? '',
    headers: response.headers,
  };
}

/** A chat call of one agent of one workflow, with `workflow_metadata` in the body. */
export function agentCall(
  workflowId: string,
  agentId: string,
  content: string | OpenAI.Chat.ChatCompletionMessageParam[],
  meta: Partial<WorkflowMetadataBody> = {},
  extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {},
): ChatParams {
  return {
    model: MODEL,
    messages: typeof content === 'string' ? [{ role: 'user', content }] : content,
    max_tokens: 8,
    ...extra,
    workflow_metadata: { workflow_id: workflowId, agent_id: agentId, ...meta },
  };
}

/** The workflow status the router reports (GET /v1/workflows/{id}/status). */
export interface StatusView {
  workflow_id: string;
  phase: string;
  declared: boolean;
  pinned_pod: string | null;
  strategy: string;
  priority: number;
  calls: number;
  errors: number;
  inflight: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cache_hit_rate: number;
  agents: Record<
    string,
    {
      calls: number;
      errors: number;
      prompt_tokens: number;
      cached_tokens: number;
      completion_tokens: number;
      cache_hit_rate: number;
      last_seen_at: string | null;
    }
  >;
  messages: { sent: number; delivered: number; refused: number };
  migrations: number;
  spills: number;
  shared_context: { entries: number; tokens: number; budget_tokens: number; budget_reached: boolean };
  ttl_seconds: number;
  expires_at: string;
}

export async function status(stack: Stack, workflowId: string): Promise<HttpAnswer<StatusView>> {
  return http<StatusView>(
    'GET',
    `${stack.router.url}/v1/workflows/${encodeURIComponent(workflowId)}/status`,
    undefined,
    authHeader(stack),
  );
}

/** Authorization header for the stack's first API key, if keys are on. */
export function authHeader(stack: Stack): Record<string, string> {
  const key = stack.config.apiKeys[0];
  return key ? { authorization: `Bearer ${key}` } : {};
}
