// workflow-operator entry point (bin/workflow-operator.js imports this file).
import { parseCli } from './cli.ts';
import { errorMessage } from './logger.ts';
import type { Operator } from './operator.ts';

const parsed = parseCli(process.argv.slice(2));
if (parsed.kind === 'exit') {
  (parsed.code === 0 ? process.stdout : process.stderr).write(parsed.output);
  process.exit(parsed.code);
}

// Loaded after parsing, so --help and flag errors answer without loading the Kubernetes client.
const operatorModule = await import('./operator.ts');
let operator: Operator;
try {
  operator = await operatorModule.Operator.start(parsed.config);
} catch (error) {
  process.stderr.write(`workflow-operator: ${errorMessage(error)}\n`);
  process.exit(1);
}
process.stdout.write(
  `workflow-operator: ${parsed.config.identity} running; metrics on ${operator.metricsUrl ?? '(none)'}\n`,
);
const stop = (): void => {
  void operator.stop('stopped');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// Losing the lease ends the process (as controller-runtime does): a restarted replica campaigns afresh.
const reason = await operator.done;
process.exit(reason === 'lost-lease' ? 1 : 0);
