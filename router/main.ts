import { quietDependencyDeprecations } from './quiet-deprecations.ts';
import { parseCli } from './cli.ts';
import { startRouter } from './server.ts';

quietDependencyDeprecations();
const parsed = parseCli(process.argv.slice(2));
if (parsed.kind === 'exit') {
  (parsed.code === 0 ? process.stdout : process.stderr).write(parsed.output);
  process.exit(parsed.code);
}
const router = await startRouter(parsed.config);
process.stdout.write(`workflow-router: listening on ${router.url} (${parsed.config.routingLogic})\n`);
// SIGTERM (and Ctrl-C) drains: in-flight calls and streams finish up to --drain-seconds, then
// exit 0. A second signal stops at once.
let stopping = false;
const stop = (): void => {
  if (stopping) process.exit(1);
  stopping = true;
  router.drain().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`workflow-router: drain failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
