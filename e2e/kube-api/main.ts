// CLI: `node e2e/kube-api/main.ts --port P` starts the emulator and prints the path of a
// kubeconfig for it, so kubectl or the operator can be pointed at it by hand.
import { Command } from 'commander';
import { startKubeApi } from './server.ts';

const program = new Command()
  .name('kube-api')
  .description('In-memory Kubernetes API server emulator (test infrastructure, see README)')
  .option('-p, --port <port>', 'port to listen on (0 picks a free one)', '0')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--history-limit <n>', 'watch events kept before resourceVersions expire (410)', '1000')
  .option('--log-requests', 'print one line per request to stderr', false)
  .parse();

const opts = program.opts<{ port: string; host: string; historyLimit: string; logRequests: boolean }>();

const api = await startKubeApi({
  port: Number(opts.port),
  host: opts.host,
  historyLimit: Number(opts.historyLimit),
  ...(opts.logRequests
    ? {
        onRequest: (r) =>
          console.error(`${r.status} ${r.method} ${r.url} accept=${r.accept} type=${r.contentType}`),
      }
    : {}),
});

console.log(api.kubeconfigPath);
console.error(`kube-api emulator listening on ${api.url}; export KUBECONFIG=${api.kubeconfigPath}`);

const shutdown = (): void => {
  void api.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
