import { parseCli } from './cli.ts';
import { startRouter } from './server.ts';

const parsed = parseCli(process.argv.slice(2));
if (parsed.kind === 'exit') {
  (parsed.code === 0 ? process.stdout : process.stderr).write(parsed.output);
  process.exit(parsed.code);
}
const router = await startRouter(parsed.config);
process.stdout.write(`workflow-router: listening on ${router.url} (${parsed.config.routingLogic})\n`);
const stop = (): void => {
  void router.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
