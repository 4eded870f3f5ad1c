import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import assert from 'node:assert/strict';
import { parseCli as parseOperatorCli } from '../operator/cli.ts';
import { parseCli as parseRouterCli } from '../router/cli.ts';
import { startRouter } from '../router/server.ts';
import { startSimPods } from '../sim/server.ts';
import { startRedis } from './helpers/redis.ts';

// A Redis with a password: the router and the operator take it from --redis-password or, as
// the chart does from a Secret, WORKFLOW_*_REDIS_PASSWORD, and never need it in the URL.
const redis = await startRedis();
const admin = new Redis(redis.url);
await admin.config('SET', 'requirepass', 's3cret-pass');
admin.disconnect();
const pods = await startSimPods(1, { timeScale: 0 });
after(async () => {
  await Promise.all(pods.map((p) => p.close()));
  // The helper stops Redis without the password; SIGKILL needs none.
  await redis.kill();
});

test('the router reaches a password-protected Redis with --redis-password and keeps workflows there', async () => {
  const parsed = parseRouterCli([
    '--host=127.0.0.1',
    '--port=0',
    `--static-backends=${pods[0]?.url ?? ''}`,
    '--static-models=meta-llama/Llama-3.1-8B-Instruct',
    `--redis-url=${redis.url}`,
    '--redis-password=s3cret-pass',
    '--log-level=error',
  ]);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  const router = await startRouter(parsed.config);
  try {
    const response = await fetch(`${router.url}/v1/workflows/auth-check`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contextSharing: 'broadcast' }),
    });
    assert.equal(response.status, 201);
    assert.equal(router.core.store.kind, 'redis');
    const status = (await (await fetch(`${router.url}/v1/workflows/auth-check/status`)).json()) as {
      strategy: string;
    };
    assert.equal(status.strategy, 'broadcast');
  } finally {
    await router.close();
  }
});

test('a wrong Redis password fails the router start instead of running without state', async () => {
  const parsed = parseRouterCli([
    '--port=0',
    `--static-backends=${pods[0]?.url ?? ''}`,
    '--static-models=m',
    `--redis-url=${redis.url}`,
    '--redis-password=wrong',
    '--log-level=error',
  ]);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  await assert.rejects(startRouter(parsed.config));
});

test('the operator reads the Redis password and TLS switch from its environment', () => {
  const env = { WORKFLOW_OPERATOR_REDIS_PASSWORD: 'from-secret', WORKFLOW_OPERATOR_REDIS_TLS: 'true' };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const parsed = parseOperatorCli([`--redis-cluster-nodes=127.0.0.1:7000`]);
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.config.redisPassword, 'from-secret');
    assert.equal(parsed.config.redisTls, true);
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});
