// The `workflow-router` command line: --help exits 0, a bad flag value exits 2 with a message
// naming the flag, and every flag can be set as WORKFLOW_ROUTER_<FLAG> (a real router process
// configured only from the environment serves a real simulated pod).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import OpenAI from 'openai';
import { parseCli } from '../../router/cli.ts';
import { startSimPod, type SimPod } from '../../sim/server.ts';
import { FAST_SIM, freePort, http, MODEL, NODE, REPO_ROOT } from '../helpers/router.ts';

/** Runs the router's CLI to completion (for --help and bad flags, which exit at once). */
function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(NODE, ['bin/workflow-router.js', ...args], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The test's environment without any WORKFLOW_ROUTER_* variable of the caller's shell. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('WORKFLOW_ROUTER_'),
    ),
  );
}

const BACKEND = ['--static-backends', 'http://127.0.0.1:9', '--static-models', MODEL];

test('--help exits 0 and lists the flags and the environment form', () => {
  const { code, stdout } = run(['--help']);
  assert.equal(code, 0);
  for (const flag of [
    '--routing-logic',
    '--static-backends',
    '--max-workflows',
    '--workflow-ttl',
    '--api-keys',
  ]) {
    assert.ok(stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.match(stdout, /WORKFLOW_ROUTER_/);
});

test('bad flag values exit 2 with a message naming the flag (process)', () => {
  const cases: [string[], string][] = [
    [['--port', 'abc', ...BACKEND], '--port'],
    [['--routing-logic', 'magic', ...BACKEND], '--routing-logic'],
    [['--batching-preference', '1.5', ...BACKEND], '--batching-preference'],
    [['--frobnicate', ...BACKEND], '--frobnicate'],
    [[], '--static-backends'],
  ];
  for (const [args, flag] of cases) {
    const { code, stderr } = run(args);
    assert.equal(code, 2, `${args.join(' ')}: exit ${code}, ${stderr}`);
    assert.ok(stderr.includes(flag), `${args.join(' ')}: "${stderr.trim()}" does not name ${flag}`);
  }
  const fromEnv = run(BACKEND, { WORKFLOW_ROUTER_MAX_WORKFLOWS: 'lots' });
  assert.equal(fromEnv.code, 2);
  assert.ok(fromEnv.stderr.includes('--max-workflows'), fromEnv.stderr);
});

test('bad flag values exit 2 naming the flag (every numeric and enum flag)', () => {
  const cases: [string, string][] = [
    ['port', '-1'],
    ['port', '65536'],
    ['port', '80.5'],
    ['routing-logic', 'random'],
    ['service-discovery', 'dns'],
    ['workflow-ttl', '0'],
    ['max-workflows', 'many'],
    ['max-message-queue-size', '0'],
    ['message-ttl', '-5'],
    ['max-message-bytes', '1e3x'],
    ['batching-preference', '-0.1'],
    ['batching-preference', 'high'],
    ['context-budget-tokens', '-1'],
    ['max-body-bytes', '0'],
    ['health-check-interval', '0'],
    ['health-check-interval', 'soon'],
    ['max-inflight-per-pod', '0'],
    ['admission-queue-size', '-1'],
    ['upstream-timeout', '0'],
    ['log-level', 'verbose'],
    ['static-backends', 'ftp://pod:80'],
    ['static-backends', 'not a url'],
    ['api-keys', 'short'],
  ];
  for (const [flag, value] of cases) {
    const args =
      flag === 'static-backends'
        ? [`--${flag}`, value, '--static-models', MODEL]
        : [...BACKEND, `--${flag}`, value];
    const result = parseCli(args);
    assert.equal(result.kind, 'exit', `--${flag} ${value} was accepted`);
    if (result.kind !== 'exit') continue;
    assert.equal(result.code, 2, `--${flag} ${value}`);
    assert.ok(result.output.includes(`--${flag}`), `--${flag} ${value}: "${result.output.trim()}"`);
  }
  const mismatch = parseCli([
    '--static-backends',
    'http://a:1,http://b:2,http://c:3',
    '--static-models',
    'm1;m2',
  ]);
  assert.ok(mismatch.kind === 'exit' && mismatch.code === 2 && mismatch.output.includes('--static-models'));
  const k8s = parseCli(['--service-discovery', 'k8s']);
  assert.ok(k8s.kind === 'exit' && k8s.code === 2 && k8s.output.includes('--redis-url'));
});

test('good flags become the config', () => {
  const result = parseCli([
    '--static-backends',
    'http://10.0.0.1:8000,http://10.0.0.2:8000/',
    '--static-models',
    `${MODEL};${MODEL},other`,
    '--routing-logic',
    'least_loaded',
    '--health-check-interval',
    '0.5',
    '--upstream-timeout',
    '30',
    '--max-workflows',
    '42',
  ]);
  assert.equal(result.kind, 'run');
  if (result.kind !== 'run') return;
  assert.equal(result.config.routingLogic, 'least_loaded');
  assert.equal(result.config.healthCheckIntervalMs, 500);
  assert.equal(result.config.upstreamTimeoutMs, 30_000);
  assert.equal(result.config.maxWorkflows, 42);
  assert.deepEqual(result.config.staticBackends, [
    { id: 'pod-0', url: 'http://10.0.0.1:8000', models: [MODEL] },
    { id: 'pod-1', url: 'http://10.0.0.2:8000', models: [MODEL, 'other'] },
  ]);
});

describe('WORKFLOW_ROUTER_<FLAG> environment variables', () => {
  let pod: SimPod;
  before(async () => {
    pod = await startSimPod(FAST_SIM);
  });
  after(() => pod.close());

  test('a router process configured only by the environment serves calls; a flag beats its variable', async () => {
    const port = await freePort();
    const key = 'sk-env-configured-key';
    const child = spawn(NODE, ['bin/workflow-router.js', '--max-workflows', '7'], {
      cwd: REPO_ROOT,
      env: {
        ...cleanEnv(),
        WORKFLOW_ROUTER_HOST: '127.0.0.1',
        WORKFLOW_ROUTER_PORT: String(port),
        WORKFLOW_ROUTER_STATIC_BACKENDS: pod.url,
        WORKFLOW_ROUTER_STATIC_MODELS: MODEL,
        WORKFLOW_ROUTER_ROUTING_LOGIC: 'roundrobin',
        WORKFLOW_ROUTER_API_KEYS: key,
        WORKFLOW_ROUTER_MAX_WORKFLOWS: '3',
        WORKFLOW_ROUTER_LOG_LEVEL: 'error',
        WORKFLOW_ROUTER_HEALTH_CHECK_INTERVAL: '0.2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`router did not start: ${out}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('listening on')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', () => reject(new Error(`router exited: ${out}`)));
      });
      assert.ok(out.includes(`http://127.0.0.1:${port}`), out);
      assert.ok(out.includes('(roundrobin)'), out);
      const base = `http://127.0.0.1:${port}`;
      assert.equal(
        (await http('GET', `${base}/v1/models`)).status,
        401,
        'WORKFLOW_ROUTER_API_KEYS took effect',
      );
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'configured by the environment' }],
        max_tokens: 4,
      });
      assert.ok(completion.choices[0]?.message.content);
      assert.ok(pod.stats().requests.some((r) => r.promptText.includes('configured by the environment')));
      const stats = await http<{ routing_logic: string }>('GET', `${base}/v1/workflows/stats`, undefined, {
        authorization: `Bearer ${key}`,
      });
      assert.equal(stats.body.routing_logic, 'roundrobin');
      // --max-workflows 7 on the command line beats WORKFLOW_ROUTER_MAX_WORKFLOWS=3.
      for (let i = 0; i < 5; i++) {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: `wf ${i}` }],
          max_tokens: 2,
          workflow_metadata: { workflow_id: `env-wf-${i}` },
        } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
      }
      const list = await http<{ data: unknown[] }>('GET', `${base}/v1/workflows`, undefined, {
        authorization: `Bearer ${key}`,
      });
      assert.equal(list.body.data.length, 5);
    } finally {
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, 'SIGTERM is a clean exit');
    }
  });
});
