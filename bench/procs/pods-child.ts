// The simulated vLLM pods of a benchmark, in a child process of their own so that they do not
// share an event loop with the load generator or the router. Driven over IPC (protocol.ts):
// reset (cold caches), start sampling, collect the run's records and samples, close.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { blockHashes, rootHash } from '../../sim/block-hash.ts';
import { startSimPods } from '../../sim/server.ts';
import type { RequestRecord, SimPod } from '../../sim/server.ts';
import { tokenize } from '../../sim/tokenizer.ts';
import { kvDuplication } from '../stats.ts';
import type {
  ChildMessage,
  KvSample,
  ParentMessage,
  PodRecord,
  PodsChildConfig,
  PodsRunReport,
} from './protocol.ts';

const RECORD_POLL_MS = 250;
const RING = 2000;

const config = JSON.parse(process.env.BENCH_PODS_CONFIG ?? '{}') as PodsChildConfig;

function send(message: ChildMessage): void {
  process.send?.(message);
}

class Run {
  readonly pods: SimPod[];
  readonly records: { pod: number; record: RequestRecord }[] = [];
  readonly seen: number[];
  lost = 0;
  loadSum: number[];
  peakLoad: number[];
  loadSamples = 0;
  kvSamples: KvSample[] = [];
  readonly startedAt = performance.now();
  readonly timers: NodeJS.Timeout[] = [];
  readonly lag = monitorEventLoopDelay({ resolution: 10 });

  constructor(pods: SimPod[], sampleMs: number, kvSampleMs: number) {
    this.pods = pods;
    this.lag.enable();
    this.seen = pods.map(() => 0);
    this.loadSum = pods.map(() => 0);
    this.peakLoad = pods.map(() => 0);
    this.timers.push(setInterval(() => this.sampleLoad(), sampleMs));
    this.timers.push(setInterval(() => this.pollRecords(), RECORD_POLL_MS));
    this.timers.push(setInterval(() => this.sampleKv(), kvSampleMs));
  }

  sampleLoad(): void {
    this.loadSamples++;
    this.pods.forEach((pod, i) => {
      const s = pod.stats({ limit: 0 });
      const load = s.running + s.waiting;
      this.loadSum[i] = (this.loadSum[i] ?? 0) + load;
      if (load > (this.peakLoad[i] ?? 0)) this.peakLoad[i] = load;
    });
  }

  pollRecords(): void {
    this.pods.forEach((pod, i) => {
      const total = pod.stats({ limit: 0 }).totals.requests;
      const fresh = total - (this.seen[i] ?? 0);
      if (fresh <= 0) return;
      if (fresh > RING) this.lost += fresh - RING;
      for (const record of pod.stats({ limit: Math.min(fresh, RING) }).requests) {
        this.records.push({ pod: i, record });
      }
      this.seen[i] = total;
    });
  }

  sampleKv(): void {
    const perPod = this.pods.map((pod) => pod.stats({ limit: 0, blocks: true }).blockHashes ?? []);
    const distinct = new Set<string>();
    for (const hashes of perPod) for (const h of hashes) distinct.add(h);
    this.kvSamples.push({
      at: performance.now() - this.startedAt,
      residentPerPod: perPod.map((h) => h.length),
      distinct: distinct.size,
      duplication: kvDuplication(perPod),
    });
  }

  finish(): PodsRunReport {
    for (const t of this.timers) clearInterval(t);
    this.lag.disable();
    this.pollRecords();
    this.sampleKv();
    const blockSize = this.pods[0]?.options.blockSize ?? 16;
    const records: PodRecord[] = this.records.map(({ pod, record }) => {
      const root = rootHash(record.model);
      return {
        pod,
        requestId: record.headers['x-request-id'],
        status: record.status,
        cancelled: record.cancelled,
        promptTokens: record.promptTokens,
        cachedTokens: record.cachedTokens,
        completionTokens: record.completionTokens,
        queuedMs: record.queuedMs,
        ttftMs: record.ttftMs,
        totalMs: record.totalMs,
        startedAt: record.startedAt,
        blockHashes:
          record.promptText === '' ? [] : blockHashes(tokenize(record.promptText), blockSize, root),
      };
    });
    const finalStats = this.pods.map((p) => p.stats({ limit: 0 }));
    return {
      records,
      lostRecords: this.lost,
      meanLoad: this.loadSum.map((s) => (this.loadSamples === 0 ? 0 : s / this.loadSamples)),
      peakLoad: this.peakLoad,
      kvSamples: this.kvSamples,
      eventLoopDelayP50: this.lag.percentile(50) / 1e6,
      eventLoopDelayP99: this.lag.percentile(99) / 1e6,
      preemptions: finalStats.map((s) => s.preemptions),
      evictions: finalStats.map((s) => s.evictions),
      blockSize,
    };
  }
}

const pods = await startSimPods(config.pods, { ...config.sim, host: config.host, port: 0 });
let run: Run | undefined;

process.on('message', (raw: ParentMessage) => {
  void (async () => {
    try {
      let result: unknown = null;
      if (raw.cmd === 'reset') {
        for (const pod of pods) pod.reset();
      } else if (raw.cmd === 'start') {
        run = new Run(pods, raw.sampleMs, raw.kvSampleMs);
      } else if (raw.cmd === 'collect') {
        if (run === undefined) throw new Error('collect without start');
        result = run.finish();
        run = undefined;
      } else {
        await Promise.all(pods.map((p) => p.close()));
        send({ type: 'reply', id: raw.id, ok: true, result: null });
        process.disconnect();
        return;
      }
      send({ type: 'reply', id: raw.id, ok: true, result });
    } catch (error) {
      send({
        type: 'reply',
        id: raw.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  })();
});
process.on('disconnect', () => {
  void Promise.all(pods.map((p) => p.close())).then(() => process.exit(0));
});

send({ type: 'ready', urls: pods.map((p) => p.url), models: [...(pods[0]?.options.models ?? [])] });
