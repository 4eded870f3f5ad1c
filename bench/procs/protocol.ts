// Messages between the benchmark (parent) and its simulator child process (pods-child.ts).

import type { SimOptions } from '../../sim/options.ts';

export interface PodsChildConfig {
  pods: number;
  host: string;
  sim: Partial<SimOptions>;
}

/** One request as a pod recorded it, reduced to what the figures need. */
export interface PodRecord {
  pod: number;
  requestId: string | undefined;
  status: number;
  cancelled: boolean;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  /** Real ms: queue, arrival to first token, arrival to end (the pod's own time). */
  queuedMs: number;
  ttftMs: number | null;
  totalMs: number;
  /** Epoch ms at arrival. */
  startedAt: number;
  /** Chained block hashes of the prompt as the pod tokenized it (for the oracle). */
  blockHashes: number[];
}

export interface KvSample {
  /** Real ms since the run started. */
  at: number;
  residentPerPod: number[];
  distinct: number;
  duplication: number;
}

export interface PodsRunReport {
  records: PodRecord[];
  /** Records that fell out of a pod's ring buffer before they were read (should be 0). */
  lostRecords: number;
  /** Per pod: time-averaged running + waiting requests over the run. */
  meanLoad: number[];
  /** Per pod: peak running + waiting seen by the sampler. */
  peakLoad: number[];
  kvSamples: KvSample[];
  /** The simulator process's event-loop delay over the run (ms): how contended its CPU was. */
  eventLoopDelayP50: number;
  eventLoopDelayP99: number;
  /** Per pod at the end of the run. */
  preemptions: number[];
  evictions: number[];
  blockSize: number;
}

export type ParentMessage =
  | { id: number; cmd: 'reset' }
  | { id: number; cmd: 'start'; sampleMs: number; kvSampleMs: number }
  | { id: number; cmd: 'collect' }
  | { id: number; cmd: 'close' };

export type ChildMessage =
  | { type: 'ready'; urls: string[]; models: string[] }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };
