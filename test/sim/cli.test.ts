import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { startSimPod, startSimPods } from '../../sim/server.ts';
import type { SimPod } from '../../sim/server.ts';
import { parseCli } from '../../sim/cli.ts';
import { DEFAULT_SIM_OPTIONS } from '../../sim/options.ts';
import { clientFor, promptOf } from './helpers.ts';

const BIN = 'bin/vllm-sim.js';

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

test('--help prints usage and exits 0', () => {
  const r = run('--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Usage: vllm-sim \[options\]/);
  for (const flag of [
    '--kv-blocks',
    '--block-size',
    '--time-scale',
    '--pods',
    '--host',
    '--max-num-seqs',
    '--seed',
  ]) {
    assert.ok(r.stdout.includes(flag), flag);
  }
});

test('a bad flag exits 2 and names the flag (or the stray argument count)', () => {
  const cases: [string[], string][] = [
    [['--kv-blocks', 'lots'], '--kv-blocks'],
    [['--kv-blocks', '0'], '--kv-blocks'],
    [['--time-scale', '-1'], '--time-scale'],
    [['--port', '70000'], '--port'],
    [['--log-level', 'chatty'], '--log-level'],
    [['--no-such-flag'], '--no-such-flag'],
    [['--pods', '3', '--port', '65534'], '--pods'],
    [['stray-argument'], 'too many arguments'],
  ];
  for (const [args, flag] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(flag), `${args.join(' ')}: ${r.stderr}`);
  }
});

test('flags map onto SimOptions with documented defaults', () => {
  const defaults = parseCli([]);
  assert.ok(typeof defaults !== 'number');
  assert.deepEqual(defaults.options, { ...DEFAULT_SIM_OPTIONS, model: [DEFAULT_SIM_OPTIONS.model] });
  assert.equal(defaults.port, 8000);
  assert.equal(defaults.host, '127.0.0.1');
  const custom = parseCli([
    '--served-model-name',
    'a,b',
    '--kv-blocks',
    '64',
    '--time-scale',
    '0.01',
    '--seed',
    '-3',
  ]);
  assert.ok(typeof custom !== 'number');
  assert.deepEqual(custom.options.model, ['a', 'b']);
  assert.equal(custom.options.kvBlocks, 64);
  assert.equal(custom.options.timeScale, 0.01);
  assert.equal(custom.options.seed, -3);
});

test('vllm-sim --pods 2 on 127.0.0.2 runs two independent pods and exits 0 on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    [BIN, '--pods', '2', '--port', '0', '--host', '127.0.0.2', '--time-scale', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    const urls = await new Promise<string[]>((resolve, reject) => {
      child.stdout.on('data', (d: string) => {
        out += d;
        const found = [
          ...out.matchAll(/^vllm-sim: pod (\d) listening on (http:\/\/127\.0\.0\.2:\d+) \(model .+\)$/gm),
        ];
        if (found.length === 2) resolve(found.map((m) => m[2] as string));
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    assert.notEqual(urls[0], urls[1]);
    const [a, b] = urls as [string, string];
    const res = await fetch(`${b}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'hello', max_tokens: 2 }),
    });
    assert.equal(res.status, 200);
    const statsA = (await (await fetch(`${a}/sim/stats`)).json()) as {
      pod: number;
      totals: { requests: number };
    };
    const statsB = (await (await fetch(`${b}/sim/stats`)).json()) as {
      pod: number;
      totals: { requests: number };
    };
    assert.deepEqual([statsA.pod, statsA.totals.requests], [0, 0]);
    assert.deepEqual([statsB.pod, statsB.totals.requests], [1, 1]);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test('startSimPods(n, {port}) listens on port..port+n-1 with independent caches', async (t) => {
  let pods: SimPod[] | undefined;
  // Consecutive free ports can be taken between the probe and the bind; try a few bases.
  for (let attempt = 0; attempt < 10 && pods === undefined; attempt++) {
    const base = await freePort();
    if (base + 2 > 65535) continue;
    pods = await startSimPods(3, { port: base, timeScale: 0 }).catch(() => undefined);
  }
  assert.ok(pods, 'no three consecutive free ports found');
  t.after(() => Promise.all(pods.map((p) => p.close())));
  const base = pods[0]?.port ?? 0;
  assert.deepEqual(
    pods.map((p) => [p.index, p.port, p.url]),
    [0, 1, 2].map((i) => [i, base + i, `http://127.0.0.1:${base + i}`]),
  );
  const prompt = promptOf(64, 1);
  const [first, second] = pods as [SimPod, SimPod];
  await clientFor(first).completions.create({ model: first.options.models[0] ?? '', prompt, max_tokens: 1 });
  const elsewhere = await clientFor(second).completions.create({
    model: second.options.models[0] ?? '',
    prompt,
    max_tokens: 1,
  });
  assert.equal(elsewhere.usage?.prompt_tokens_details?.cached_tokens, 0, 'pods do not share a cache');
  assert.equal(first.stats().residentBlocks, 4);
});

test('a port in use makes startSimPod reject and close what it opened', async () => {
  const pod = await startSimPod({ timeScale: 0 });
  try {
    await assert.rejects(startSimPod({ port: pod.port }), /EADDRINUSE/);
    await assert.rejects(startSimPod({ kvBlocks: 0 }), /kvBlocks/);
    await assert.rejects(startSimPods(0), /pod count/);
  } finally {
    await pod.close();
  }
});
