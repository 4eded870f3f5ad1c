// Load (issue 10): one router process holds 5,000 concurrent streaming connections and 10,000
// idle keep-alive connections with zero errors, and a slow-loris client cannot hold more than
// its limit. Every process raises its own file-descriptor limit to the hard one (ulimit -n is
// per process); the clients run in a child process of their own. The router needs a descriptor
// per client connection plus one per stream to a pod: when the hard limit cannot cover all
// 15,000 client connections and 5,000 pod connections at once, the idle connections are held
// and checked first, then closed before the streams (the log line says which).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { MODEL, sleep, waitFor } from '../helpers/router.ts';
import {
  hardFdLimit,
  spawnRouter,
  spawnScript,
  spawnSims,
  type RouterProc,
  type SimProc,
} from './helpers.ts';
import type { LoadReport } from './load-client.ts';

const IDLE = 10_000;
const STREAMS = 5_000;

describe('load: 5,000 concurrent streams and 10,000 idle keep-alive connections on one router', () => {
  let sims: SimProc;
  let router: RouterProc;
  const limit = hardFdLimit();
  // Router: every client connection, every pod connection, and some slack.
  const together = limit >= IDLE + 2 * STREAMS + 2000;

  before(async () => {
    // Streams of ~60 s (60 tokens, a step a second whatever the batch; every waiting call is
    // admitted at the next step), so all 5,000 overlap even on a busy machine, and the relay is
    // light: 5,000 chunks a second.
    sims = await spawnSims(2, [
      '--time-scale',
      '1',
      '--decode-ms-per-token',
      '1000',
      '--batch-slowdown',
      '0',
      '--prefill-ms-per-token',
      '0',
      '--max-num-seqs',
      '6000',
      '--max-num-batched-tokens',
      '1000000',
    ]);
    router = await spawnRouter([
      '--static-backends',
      sims.urls.join(','),
      '--static-models',
      MODEL,
      '--routing-logic',
      'least_loaded',
      '--max-inflight-per-pod',
      '10000',
      '--max-connections',
      '0',
      '--log-level',
      'error',
    ]);
  });

  after(async () => {
    await router?.kill();
    await sims?.kill();
  });

  // The router needs a descriptor per idle connection at least: below that, nothing to prove here.
  const skip =
    limit < IDLE + 500 ? `the hard file-descriptor limit (${limit}) is below ${IDLE + 500}` : false;

  test('zero errors; every stream flowing at the same time', { skip }, async () => {
    const client = spawnScript('test/reliability/load-client.ts', [
      String(router.port),
      String(IDLE),
      String(STREAMS),
      String(together),
    ]);
    const exit = await client.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, client.output());
    const line = client.output().trim().split('\n').at(-1) ?? '';
    const report = JSON.parse(line) as LoadReport;
    console.log(
      `load (fd limit ${limit}, ${together ? 'idle and streams held together' : 'idle held first, then the streams'}): ` +
        `${report.idle.opened} idle keep-alive connections held ${report.idle.heldMs} ms, ${report.idle.secondOk} reused after; ` +
        `${report.streams.ok}/${STREAMS} streams complete, ${report.streams.concurrent} flowing at once (ramp ${report.streams.rampMs} ms, ` +
        `total ${report.streams.durationMs} ms); router counted ${report.idle.routerConnections} client connections with the idle ones held, ` +
        `${report.streams.routerConnections} at the streams' peak`,
    );
    assert.deepEqual(report.idle.errors, []);
    assert.equal(report.idle.opened, IDLE);
    assert.equal(report.idle.firstOk, IDLE);
    assert.equal(report.idle.secondOk, IDLE, 'every idle connection still served after the hold');
    assert.deepEqual(report.streams.errors, []);
    assert.equal(report.streams.ok, STREAMS);
    assert.equal(report.streams.concurrent, STREAMS, 'all streams were flowing before the first one ended');
    assert.ok(report.idle.routerConnections >= IDLE);
    assert.ok(report.streams.routerConnections >= (together ? IDLE + STREAMS : STREAMS));
    assert.equal(router.child.exitCode, null);
  });
});

describe('a slow-loris client cannot hold more than its limit', () => {
  let sims: SimProc;
  let router: RouterProc;
  const sockets: Socket[] = [];

  before(async () => {
    sims = await spawnSims(1, ['--time-scale', '0']);
    router = await spawnRouter([
      '--static-backends',
      sims.urls.join(','),
      '--static-models',
      MODEL,
      '--max-connections-per-client',
      '50',
      '--headers-timeout',
      '2',
      '--log-level',
      'error',
    ]);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await router?.kill();
    await sims?.kill();
  });

  const openConnections = async (): Promise<number> => {
    const res = await fetch(`${router.url}/metrics`);
    return Number(/^workflow_router_client_connections (\d+)/m.exec(await res.text())?.[1] ?? -1);
  };

  test('at most 50 connections held, each cut at the headers timeout; another client is served throughout', async () => {
    // The test's own fetch pool keeps a connection or two open to the router.
    const baseline = await openConnections();
    let refused = 0;
    let timedOut = 0;
    // 200 connections from 127.0.0.3, each sending a header byte every 300 ms and never finishing.
    for (let i = 0; i < 200; i++) {
      const socket = connect({ host: '127.0.0.1', port: router.port, localAddress: '127.0.0.3' });
      sockets.push(socket);
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
        if (answer.startsWith('HTTP/1.1 429')) refused += 1;
        if (answer.startsWith('HTTP/1.1 408')) timedOut += 1;
      });
      socket.on('error', () => undefined);
      socket.on('connect', () => {
        socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
        const drip = setInterval(() => {
          if (socket.destroyed || socket.writableEnded) clearInterval(drip);
          else socket.write('X');
        }, 300);
        socket.once('close', () => clearInterval(drip));
      });
    }
    await waitFor(() => refused === 150, '150 connections over the limit refused with 429', 10_000);
    const held = await openConnections();
    // The slow ones, plus the metrics request itself.
    assert.ok(held <= baseline + 51, `the router holds ${held} connections (${baseline} before)`);

    // Another client (127.0.0.2) is served while the slow ones hang.
    const started = Date.now();
    let served = 0;
    while (Date.now() - started < 2500) {
      const res = await fetch(`${router.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
      });
      assert.equal(res.status, 200);
      await res.text();
      served += 1;
      await sleep(100);
    }
    assert.ok(served >= 5);

    // The headers timeout (2 s) ends every slow connection with a 408.
    await waitFor(() => timedOut === 50, 'the 50 held connections cut with 408', 10_000);
    await waitFor(async () => (await openConnections()) <= baseline + 1, 'nothing left held', 5000);
    console.log(
      `slow loris: 200 connections, 150 refused at once (429), 50 held and cut at 2 s (408); ${served} calls served meanwhile`,
    );
  });
});
