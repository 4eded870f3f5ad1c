// `vllm-sim` command line: flags (named as vLLM names them where vLLM has them), help, and
// the process lifecycle (start pods, print where they listen, close on SIGINT/SIGTERM).
// A bad flag exits 2 with a message naming it, as argparse-based tools (vLLM) do.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_SIM_OPTIONS, LOG_LEVELS, parseModelList } from './options.ts';
import type { LogLevel, SimOptions } from './options.ts';
import type { SimPod } from './server.ts';

export const USAGE_EXIT = 2;

export interface CliConfig {
  options: SimOptions;
  pods: number;
  port: number;
  host: string;
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected an integer ${range}`);
    }
    return n;
  };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError('expected a number >= 0');
  }
  return n;
}

function models(value: string): string[] {
  const names = parseModelList(value);
  if (names.length === 0) throw new InvalidArgumentError('expected one or more comma-separated model names');
  return names;
}

function buildProgram(): Command {
  const d = DEFAULT_SIM_OPTIONS;
  return new Command()
    .name('vllm-sim')
    .description(
      'A simulated vLLM pod: OpenAI-compatible API, prefix-caching KV cache, batch timing, vLLM metrics and fault hooks.',
    )
    .usage('[options]')
    .allowExcessArguments(false)
    .helpOption('-h, --help', 'show this help and exit')
    .addOption(
      new Option('--model <names>', 'served model name(s), comma-separated')
        .argParser(models)
        .default(parseModelList(d.model), String(d.model)),
    )
    .option('--served-model-name <names>', 'alias of --model (vLLM spelling); wins over --model', models)
    .option('--host <address>', 'address to bind (any loopback address works, e.g. 127.0.0.2)', '127.0.0.1')
    .option('--port <n>', 'port of the first pod (0 picks free ports)', integer(0, 65535), 8000)
    .option('--pods <n>', 'independent pods to run, on ports port..port+n-1', integer(1, 1024), 1)
    .option('--block-size <n>', 'tokens per KV block', integer(1, 1024), d.blockSize)
    .option('--kv-blocks <n>', 'KV cache capacity in blocks', integer(1), d.kvBlocks)
    .option('--max-num-seqs <n>', 'requests running at once; the rest queue (FIFO)', integer(1), d.maxNumSeqs)
    .option(
      '--max-num-batched-tokens <n>',
      'token budget of one engine step (longer prefills are chunked)',
      integer(1),
      d.maxNumBatchedTokens,
    )
    .option('--max-model-len <n>', 'longest prompt + completion accepted', integer(1), d.maxModelLen)
    .option(
      '--prefill-ms-per-token <ms>',
      'simulated ms to prefill one uncached prompt token',
      nonNegative,
      d.prefillMsPerToken,
    )
    .option(
      '--decode-ms-per-token <ms>',
      'simulated ms of one decode step at batch size 1',
      nonNegative,
      d.decodeMsPerToken,
    )
    .option(
      '--batch-slowdown <f>',
      'extra fraction of a decode step per additional running request',
      nonNegative,
      d.batchSlowdown,
    )
    .option(
      '--time-scale <f>',
      'multiplies every simulated delay (0.01 = 100x faster, 0 = no delay)',
      nonNegative,
      d.timeScale,
    )
    .option('--seed <n>', 'seed of generated text and fault draws', integer(-(2 ** 31), 2 ** 31 - 1), d.seed)
    .addOption(
      new Option('--log-level <level>', 'log verbosity (stderr)').choices(LOG_LEVELS).default(d.logLevel),
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
}

interface RawFlags {
  model: string[];
  servedModelName?: string[];
  host: string;
  port: number;
  pods: number;
  blockSize: number;
  kvBlocks: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number;
  prefillMsPerToken: number;
  decodeMsPerToken: number;
  batchSlowdown: number;
  timeScale: number;
  seed: number;
  logLevel: LogLevel;
}

/**
 * Parses arguments (without node and script). Returns the configuration, or an exit code
 * when the process should stop right away (0 after --help, 2 for a bad flag).
 */
export function parseCli(argv: readonly string[]): CliConfig | number {
  const program = buildProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    throw error;
  }
  const f = program.opts<RawFlags>();
  if (f.pods > 1 && f.port > 0 && f.port + f.pods - 1 > 65535) {
    process.stderr.write(
      `error: option '--pods' needs ports ${f.port}..${f.port + f.pods - 1}, beyond 65535\n`,
    );
    return USAGE_EXIT;
  }
  return {
    pods: f.pods,
    port: f.port,
    host: f.host,
    options: {
      model: f.servedModelName ?? f.model,
      blockSize: f.blockSize,
      kvBlocks: f.kvBlocks,
      maxNumSeqs: f.maxNumSeqs,
      maxNumBatchedTokens: f.maxNumBatchedTokens,
      maxModelLen: f.maxModelLen,
      prefillMsPerToken: f.prefillMsPerToken,
      decodeMsPerToken: f.decodeMsPerToken,
      batchSlowdown: f.batchSlowdown,
      timeScale: f.timeScale,
      seed: f.seed,
      logLevel: f.logLevel,
    },
  };
}

/**
 * Runs the simulator until SIGINT or SIGTERM. Resolves with the exit code once it should
 * exit: right away for --help or a bad flag, after a clean shutdown otherwise.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const config = parseCli(argv);
  if (typeof config === 'number') return config;
  // Loaded only now, so --help and flag errors answer without loading the HTTP stack.
  const { startSimPods } = await import('./server.ts');
  let pods: SimPod[];
  try {
    pods = await startSimPods(config.pods, { ...config.options, port: config.port, host: config.host });
  } catch (error) {
    process.stderr.write(
      `vllm-sim: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const names = [...parseModelList(config.options.model)].join(', ');
  for (const pod of pods) {
    process.stdout.write(`vllm-sim: pod ${pod.index} listening on ${pod.url} (model ${names})\n`);
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write(`vllm-sim: ${signal}, closing\n`);
  await Promise.all(pods.map((p) => p.close()));
  return 0;
}
