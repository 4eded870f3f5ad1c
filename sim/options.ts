// The simulator's knobs, shared by the CLI and the programmatic API. Defaults resemble
// Llama 3.1 8B in bf16 on one H100 80GB with vLLM's defaults (see README, "Simulator").

import { z } from 'zod';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SimOptions {
  /** Served model name(s): an array, or one string with comma-separated names. First is primary. */
  model: string | readonly string[];
  /** Tokens per KV block (vLLM `--block-size`). */
  blockSize: number;
  /** KV cache capacity in blocks (vLLM's `num_gpu_blocks`). */
  kvBlocks: number;
  /** Requests running at once; the rest wait in a FIFO queue. */
  maxNumSeqs: number;
  /** Token budget of one engine step; longer prefills are chunked over several steps. */
  maxNumBatchedTokens: number;
  /** Longest prompt + completion accepted (400 beyond). */
  maxModelLen: number;
  /** Simulated milliseconds to prefill one uncached prompt token. */
  prefillMsPerToken: number;
  /** Simulated milliseconds of one decode step with a single running request. */
  decodeMsPerToken: number;
  /** Extra fraction of a decode step per additional running request. */
  batchSlowdown: number;
  /** Multiplies every simulated delay: 0.01 runs a hundred times faster, 0 removes them. */
  timeScale: number;
  /** Makes generated text and fault draws reproducible. */
  seed: number;
  logLevel: LogLevel;
}

export const DEFAULT_MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

export const DEFAULT_SIM_OPTIONS: Readonly<SimOptions> = Object.freeze({
  model: DEFAULT_MODEL,
  blockSize: 16,
  // ~52 GiB of KV at 128 KiB per token (32 layers x 8 KV heads x 128 dims x 2 x bf16).
  kvBlocks: 26_000,
  maxNumSeqs: 256,
  maxNumBatchedTokens: 8192,
  maxModelLen: 131_072,
  // ~25k prompt tokens/s of prefill.
  prefillMsPerToken: 0.04,
  // ~140 tokens/s for one sequence, ~4x slower per step at 256 running.
  decodeMsPerToken: 7,
  batchSlowdown: 0.012,
  timeScale: 1,
  seed: 0,
  logLevel: 'warn',
});

const int = (min: number) => z.number().int().min(min);
const nonNegative = z.number().finite().min(0);

const modelName = z.string().trim().min(1).max(256);

export const simOptionsSchema = z.object({
  model: z.union([z.string(), z.array(modelName).min(1)]),
  blockSize: int(1).max(1024),
  kvBlocks: int(1).max(100_000_000),
  maxNumSeqs: int(1).max(1_000_000),
  maxNumBatchedTokens: int(1),
  maxModelLen: int(1),
  prefillMsPerToken: nonNegative,
  decodeMsPerToken: nonNegative,
  batchSlowdown: nonNegative,
  timeScale: nonNegative,
  seed: z.number().int().safe(),
  logLevel: z.enum(LOG_LEVELS),
});

/** Options with defaults filled in and `model` split into a list of served names. */
export interface ResolvedSimOptions extends SimOptions {
  models: readonly string[];
}

/** Splits a comma-separated model list; empty entries are ignored. */
export function parseModelList(value: string | readonly string[]): string[] {
  const names = (typeof value === 'string' ? value.split(',') : [...value]).map((m) => m.trim());
  return names.filter((m) => m.length > 0);
}

/** Fills defaults and validates; throws a RangeError naming the first bad option. */
export function resolveSimOptions(partial: Partial<SimOptions> = {}): ResolvedSimOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const parsed = simOptionsSchema.safeParse({ ...DEFAULT_SIM_OPTIONS, ...defined });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? 'options';
    throw new RangeError(`invalid simulator option ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const models = parseModelList(parsed.data.model);
  if (models.length === 0) throw new RangeError('invalid simulator option model: no model name given');
  if (new Set(models).size !== models.length)
    throw new RangeError('invalid simulator option model: duplicate names');
  return { ...parsed.data, models };
}
