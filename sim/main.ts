// Process entry of `vllm-sim` (bin/vllm-sim.js imports this file).

import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
