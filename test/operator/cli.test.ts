// The operator's CLI: defaults, every flag from WORKFLOW_OPERATOR_<FLAG>, bad values exit 2
// naming the flag, --help exits 0 (also in a real process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { parseCli } from '../../operator/cli.ts';

function run(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return parseCli(argv);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('defaults: all namespaces, no leader election, 15/10/2 s lease timing, 2 s status interval', () => {
  const r = run(['--redis-url', 'redis://127.0.0.1:6379']);
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.config.namespace, undefined);
  assert.equal(r.config.leaderElect, false);
  assert.equal(r.config.leaseName, 'workflow-operator');
  assert.deepEqual(
    [r.config.leaseDurationMs, r.config.renewDeadlineMs, r.config.retryPeriodMs],
    [15_000, 10_000, 2_000],
  );
  assert.equal(r.config.statusIntervalMs, 2000);
  assert.equal(r.config.redisPrefix, 'wr:');
  assert.equal(r.config.metricsPort, 8080);
  assert.match(r.config.identity, /_/);
});

test('flags and their WORKFLOW_OPERATOR_* variables', () => {
  const r = run(
    ['--namespace', 'ml', '--leader-elect', '--status-interval', '0.5', '--lease-duration', '3'],
    {
      WORKFLOW_OPERATOR_REDIS_URL: 'redis://r:6379',
      WORKFLOW_OPERATOR_RENEW_DEADLINE: '2',
      WORKFLOW_OPERATOR_RETRY_PERIOD: '0.25',
      WORKFLOW_OPERATOR_IDENTITY: 'op-1',
      WORKFLOW_OPERATOR_REDIS_PREFIX: 'x:',
    },
  );
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.config.namespace, 'ml');
  assert.equal(r.config.leaderElect, true);
  assert.equal(r.config.statusIntervalMs, 500);
  assert.deepEqual(
    [r.config.leaseDurationMs, r.config.renewDeadlineMs, r.config.retryPeriodMs],
    [3000, 2000, 250],
  );
  assert.equal(r.config.redisUrl, 'redis://r:6379');
  assert.equal(r.config.identity, 'op-1');
  assert.equal(r.config.redisPrefix, 'x:');
  const off = run(['--redis-url', 'redis://r'], { WORKFLOW_OPERATOR_LEADER_ELECT: 'false' });
  assert.equal(off.kind === 'run' && off.config.leaderElect, false);
});

test('bad values exit 2 naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--redis-url', 'redis://r', '--status-interval', 'soon'], /--status-interval: "soon"/],
    [['--redis-url', 'http://r'], /--redis-url: "http:\/\/r"/],
    [[], /--redis-url/],
    [
      ['--redis-url', 'redis://r', '--log-level', 'loud'],
      /--log-level: "loud" \(accepts error, warn, info, debug\)/,
    ],
    [['--redis-url', 'redis://r', '--leader-elect', 'maybe'], /--leader-elect: "maybe"/],
    [
      ['--redis-url', 'redis://r', '--renew-deadline', '20'],
      /--renew-deadline: "20" \(accepts less than --lease-duration\)/,
    ],
    [['--redis-url', 'redis://r', '--metrics-port', '70000'], /--metrics-port/],
    [['--redis-sentinels', '127.0.0.1:26379'], /--redis-sentinel-name/],
  ];
  for (const [argv, message] of cases) {
    const r = run(argv);
    assert.equal(r.kind, 'exit', argv.join(' '));
    if (r.kind !== 'exit') continue;
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.output, message);
  }
});

test('--help prints usage and exits 0; a bad flag in a real process exits 2', () => {
  const help = spawnSync(process.execPath, ['bin/workflow-operator.js', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: workflow-operator/);
  assert.match(help.stdout, /--leader-elect/);
  const bad = spawnSync(process.execPath, ['bin/workflow-operator.js', '--redis-url', 'nope'], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--redis-url/);
});
