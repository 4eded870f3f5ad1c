/**
 * `make demo`: three simulated vLLM pods and a workflow_aware router in one process (no Redis,
 * no Kubernetes), the example workflows through the openai client, then the table and a
 * workflow's live status. Keeps serving until Ctrl-C (or exits at once with --once).
 */
import { makeConfig } from '../router/config.ts';
import { startRouter } from '../router/server.ts';
import { startSimPods } from '../sim/server.ts';
import { formatAgents, runSupervisorWorkflow } from './langgraph/supervisor.ts';
import { formatTable, runExamples } from './workflow_examples.ts';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const once = process.argv.includes('--once');

console.log('Starting 3 simulated vLLM pods (8B model on an H100, time-scale 0.1) ...');
const pods = await startSimPods(3, { host: '127.0.0.1', port: 0, timeScale: 0.1 });
for (const [i, pod] of pods.entries()) console.log(`  pod-${i}: ${pod.url}`);

const router = await startRouter(
  makeConfig({
    host: '127.0.0.1',
    port: once ? 0 : 8001,
    routingLogic: 'workflow_aware',
    staticBackends: pods.map((pod, i) => ({ id: `pod-${i}`, url: pod.url, models: [MODEL] })),
    healthCheckIntervalMs: 1000,
    logLevel: 'warn',
  }),
);
console.log(`Router (workflow_aware) on ${router.url}\n`);

const suffix = Date.now().toString(36);
const results = await runExamples(router.url, MODEL, suffix);
console.log('Every call of a workflow lands on its pod; later agents reuse the cached document:\n');
console.log(formatTable(results));

const status = (await (
  await fetch(`${router.url}/v1/workflows/financial-analysis-${suffix}/status`)
).json()) as Record<string, unknown>;
console.log(`\nGET /v1/workflows/financial-analysis-${suffix}/status`);
console.log(JSON.stringify({ ...status, agents: Object.keys(status.agents as object) }, null, 2));

console.log('\nA LangGraph supervisor team (examples/langgraph), handing work over as agent messages:\n');
const team = await runSupervisorWorkflow({
  routerUrl: router.url,
  model: MODEL,
  workflowId: `langgraph-team-${suffix}`,
});
console.log(team.log.join('\n'));
console.log(formatAgents(team.status));

const shutdown = async (): Promise<void> => {
  await router.close();
  await Promise.all(pods.map((p) => p.close()));
};
if (once) {
  await shutdown();
} else {
  console.log(`\nThe router keeps serving on ${router.url}/v1 (any OpenAI client). Try:`);
  console.log(`  curl -s ${router.url}/v1/workflows | head -c 600`);
  console.log(`  open ${router.url}/dashboard   (the live dashboard)`);
  console.log('Ctrl-C stops everything.');
  process.once('SIGINT', () => void shutdown().then(() => process.exit(0)));
  process.once('SIGTERM', () => void shutdown().then(() => process.exit(0)));
}
