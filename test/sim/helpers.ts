// Shared helpers of the simulator tests: pods that close after the test, the official
// OpenAI client pointed at a pod, prompts of an exact token count, and a strict parser of
// the Prometheus text format.

import type { TestContext } from 'node:test';
import OpenAI from 'openai';
import { startSimPod } from '../../sim/server.ts';
import type { SimPod, SimPodOptions } from '../../sim/server.ts';
import { countTokens } from '../../sim/tokenizer.ts';

/** Starts a pod on a free port; it is closed when the test ends. */
export async function podFor(t: TestContext, options: SimPodOptions = {}): Promise<SimPod> {
  const pod = await startSimPod({ timeScale: 0, ...options });
  t.after(() => pod.close());
  return pod;
}

/** The official client, without retries (a retried 500 would hide what the pod did). */
export function clientFor(pod: SimPod): OpenAI {
  return new OpenAI({ baseURL: `${pod.url}/v1`, apiKey: 'sim-test', maxRetries: 0, timeout: 60_000 });
}

const VOCAB = (
  'alpha bravo delta echo golf hotel india kilo lima mike oscar papa romeo sierra tango victor ' +
  'whisky yankee zulu amber basil cedar dune ember fern grove heath iris jade kelp lotus moss nova'
).split(' ');

/**
 * A text of exactly `tokens` tokens under the simulator's tokenizer, distinct per `salt`:
 * space-separated words of at most six letters are one token each.
 */
export function promptOf(tokens: number, salt = 0): string {
  const words: string[] = [];
  for (let i = 0; i < tokens; i++) words.push(VOCAB[(i * 7 + salt * 13) % VOCAB.length] as string);
  const text = words.join(' ');
  if (countTokens(text) !== tokens) throw new Error(`promptOf(${tokens}) has ${countTokens(text)} tokens`);
  return text;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
const COMMENT = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`);

/** Parses Prometheus text exposition 0.0.4; throws on any malformed line. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = COMMENT.exec(line);
      if (!m) throw new Error(`line ${n + 1}: bad comment: ${line}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) {
          throw new Error(`line ${n + 1}: bad type: ${line}`);
        }
        types.set(m[2] as string, m[3] as string);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${n + 1}: bad sample: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest.length > 0) {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`line ${n + 1}: bad labels: ${line}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const raw = m[3] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`line ${n + 1}: bad value: ${line}`);
    const name = m[1] as string;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(name) && !types.has(family))
      throw new Error(`line ${n + 1}: sample before its TYPE: ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function metricValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) {
      sum += s.value;
      found = true;
    }
  }
  if (!found) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return sum;
}

/** GET a pod's /metrics and parse it. */
export async function scrape(pod: SimPod): Promise<Sample[]> {
  const res = await fetch(`${pod.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** Polls `check` until it returns true (every 5 ms, up to `timeoutMs`). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** POSTs JSON and returns status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // Not JSON (an empty body, an SSE stream): the raw text is the answer.
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
