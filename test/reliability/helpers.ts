// Helpers of the reliability suites: keys files, router and simulator processes with the
// file-descriptor limit raised (ulimit -n is per process: each child raises its own soft limit
// to the hard one before exec), raw HTTP over sockets, and SSE parsing. Every child is
// SIGKILLed when the test process exits.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, NODE, REPO_ROOT } from '../helpers/router.ts';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export const sha256Hex = (key: string): string => createHash('sha256').update(key).digest('hex');

export interface KeySpec {
  key: string;
  tenant: string;
  role: 'user' | 'admin';
}

/** Writes an --api-keys-file (digests only) in a temp dir; `cleanup` removes it. */
export function writeKeysFile(
  keys: readonly KeySpec[],
  tenants: Record<string, Record<string, number>> = {},
): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wr-keys-'));
  const path = join(dir, 'keys.yaml');
  const lines = ['keys:'];
  for (const k of keys) {
    lines.push(`  - sha256: ${sha256Hex(k.key)}`, `    tenant: ${k.tenant}`, `    role: ${k.role}`);
  }
  lines.push('tenants:');
  for (const [tenant, limits] of Object.entries(tenants)) {
    lines.push(`  ${tenant}:`);
    for (const [name, value] of Object.entries(limits)) lines.push(`    ${name}: ${value}`);
  }
  if (Object.keys(tenants).length === 0) lines[lines.length - 1] = 'tenants: {}';
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The hard file-descriptor limit children can raise their soft limit to. */
export function hardFdLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? 1_048_576 : Number(out);
}

/** argv that runs `node args...` with the soft fd limit raised to the hard one. */
function withRaisedFdLimit(args: readonly string[]): [string, string[]] {
  return ['sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', NODE, ...args]];
}

export interface ChildProc {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function track(child: ChildProcess): ChildProc {
  children.add(child);
  let log = '';
  const keep = (d: Buffer): void => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    output: () => log,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

async function waitForOutput(proc: ChildProc, pattern: RegExp, what: string, count = 1): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = [...proc.output().matchAll(new RegExp(pattern, 'g'))].map((m) => m[1] ?? '');
    if (found.length >= count) return found;
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`${what} did not start in 30 s:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The test's environment without any WORKFLOW_ROUTER_* variable of the caller's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('WORKFLOW_ROUTER_')),
  );
}

export interface RouterProc extends ChildProc {
  url: string;
  port: number;
}

/** Starts `workflow-router` as its own process (fd limit raised) on `port` (default: a free one). */
export async function spawnRouter(args: readonly string[], port?: number): Promise<RouterProc> {
  const p = port ?? (await freePort());
  const [cmd, argv] = withRaisedFdLimit([
    'bin/workflow-router.js',
    '--host',
    '127.0.0.1',
    '--port',
    String(p),
    ...args,
  ]);
  const proc = track(
    spawn(cmd, argv, { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  await waitForOutput(proc, /workflow-router: listening on (http:\/\/\S+)/, 'workflow-router');
  return { ...proc, url: `http://127.0.0.1:${p}`, port: p };
}

/** Runs a Node script (a .ts path under the repository) as its own process, fd limit raised. */
export function spawnScript(script: string, args: readonly string[] = []): ChildProc {
  const [cmd, argv] = withRaisedFdLimit([script, ...args]);
  return track(spawn(cmd, argv, { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
}

export interface SimProc extends ChildProc {
  urls: string[];
}

/** Starts `vllm-sim --pods n` as its own process (fd limit raised) with `args`. */
export async function spawnSims(n: number, args: readonly string[] = []): Promise<SimProc> {
  const [cmd, argv] = withRaisedFdLimit([
    'bin/vllm-sim.js',
    '--port',
    '0',
    '--pods',
    String(n),
    '--log-level',
    'error',
    ...args,
  ]);
  const proc = track(
    spawn(cmd, argv, { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const urls = await waitForOutput(proc, /pod \d+ listening on (http:\/\/\S+)/, 'vllm-sim', n);
  return { ...proc, urls };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The connection closed before a whole response arrived. */
  cut: boolean;
}

/**
 * Sends raw bytes on a fresh TCP connection and reads one response (Content-Length or
 * chunked bodies), or whatever arrived when the server closed the connection.
 */
export function rawRequest(
  port: number,
  bytes: string | Buffer,
  timeoutMs = 15_000,
  options: { halfClose?: boolean } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (cut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponse(data), cut });
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms to ${JSON.stringify(String(bytes).slice(0, 200))}`));
    }, timeoutMs);
    socket.on('connect', () => {
      if (options.halfClose) socket.end(bytes);
      else socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (complete(data)) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(!complete(data)));
  });
}

function splitHead(data: Buffer): { head: string; body: Buffer } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  return { head: data.subarray(0, end).toString('latin1'), body: data.subarray(end + 4) };
}

function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function dechunk(body: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) return { body: Buffer.concat(parts), complete: false };
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: false };
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const start = lineEnd + 2;
    if (body.length < start + size + 2) {
      parts.push(body.subarray(start));
      return { body: Buffer.concat(parts), complete: false };
    }
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}

function complete(data: Buffer): boolean {
  const split = splitHead(data);
  if (!split) return false;
  const headers = headersOf(split.head);
  // An event stream may never end: its head is the answer.
  if (headers['content-type']?.startsWith('text/event-stream')) return true;
  if (headers['transfer-encoding']?.includes('chunked')) return dechunk(split.body).complete;
  if (headers['content-length'] !== undefined) return split.body.length >= Number(headers['content-length']);
  return /^HTTP\/1\.1 (1\d\d|204|304)/.test(split.head);
}

function parseResponse(data: Buffer): Omit<RawAnswer, 'cut'> {
  const split = splitHead(data);
  if (!split) return { status: 0, headers: {}, body: data.toString('utf8') };
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(split.head)?.[1] ?? 0);
  const headers = headersOf(split.head);
  const body = headers['transfer-encoding']?.includes('chunked') ? dechunk(split.body).body : split.body;
  return { status, headers, body: body.toString('utf8') };
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** The events of an SSE body. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('\n');
      return { event, data };
    });
}

/** True when `body` is exactly OpenAI's error shape. */
export function isOpenAIError(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || !('error' in body)) return false;
  const error = body.error;
  if (error === null || typeof error !== 'object') return false;
  const e = error as Record<string, unknown>;
  return (
    Object.keys(e).sort().join(',') === 'code,message,param,type' &&
    typeof e.message === 'string' &&
    e.message !== '' &&
    typeof e.type === 'string' &&
    (e.param === null || typeof e.param === 'string') &&
    (e.code === null || typeof e.code === 'string')
  );
}
