/**
 * The README's workflows, run through the official `openai` client against a workflow router:
 * a two-agent analysis, the three-agent financial analysis with `broadcast`, and a fan-out
 * research workflow. Prints, per agent call: the pod, latency, prompt and cached tokens.
 *
 *   node examples/workflow_examples.ts --router-url http://127.0.0.1:8001 [--model NAME]
 */
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

export interface AgentCallResult {
  workflow: string;
  agent: string;
  pod: string;
  latencyMs: number;
  promptTokens: number;
  cachedTokens: number;
}

/** Workflow metadata rides in the body: the openai client passes unknown fields through. */
type WorkflowCall = ChatCompletionCreateParamsNonStreaming & {
  workflow_metadata: {
    workflow_id: string;
    agent_id: string;
    workflow_priority?: number;
    context_sharing_strategy?: string;
  };
};

const REPORT = `Quarterly report, ACME Corp. Revenue grew 12% year over year to 4.2 billion dollars, driven by
cloud services (+31%) while hardware declined 8%. Gross margin improved 140 basis points to 46.3%.
Operating expenses rose 9%, mostly research and development for the new inference accelerator.
Free cash flow was 610 million dollars; the company repurchased 250 million dollars of shares.
Guidance for next quarter: revenue between 4.3 and 4.4 billion dollars, margin near 46%.
Risks named by management: supply constraints on advanced packaging, currency headwinds in Europe,
and a pending antitrust review of the acquisition of a storage start-up. `.repeat(3);

async function call(
  client: OpenAI,
  model: string,
  workflow: string,
  agent: string,
  task: string,
  strategy: string,
): Promise<AgentCallResult> {
  const started = performance.now();
  const body: WorkflowCall = {
    model,
    max_tokens: 64,
    messages: [
      { role: 'system', content: `You are part of a financial analysis team. The document:\n${REPORT}` },
      { role: 'user', content: task },
    ],
    workflow_metadata: {
      workflow_id: workflow,
      agent_id: agent,
      workflow_priority: 1,
      context_sharing_strategy: strategy,
    },
  };
  const { data, response } = await client.chat.completions.create(body).withResponse();
  return {
    workflow,
    agent,
    pod: response.headers.get('x-workflow-router-pod') ?? '?',
    latencyMs: Math.round(performance.now() - started),
    promptTokens: data.usage?.prompt_tokens ?? 0,
    cachedTokens: data.usage?.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

/** Runs the three example workflows; ids get `suffix` so repeated runs start fresh workflows. */
export async function runExamples(
  routerUrl: string,
  model: string,
  suffix: string,
): Promise<AgentCallResult[]> {
  const client = new OpenAI({
    baseURL: `${routerUrl}/v1`,
    apiKey: process.env.WORKFLOW_ROUTER_API_KEY ?? 'not-needed',
  });
  const results: AgentCallResult[] = [];

  const analysis = `analysis-${suffix}`;
  results.push(
    await call(client, model, analysis, 'reader', 'Summarise the report in three bullet points.', 'auto'),
  );
  results.push(
    await call(client, model, analysis, 'critic', 'What is the weakest part of these results?', 'auto'),
  );

  const finance = `financial-analysis-${suffix}`;
  for (const [agent, task] of [
    ['data_analyst', 'Extract the key financial figures.'],
    ['risk_assessor', 'Assess the risks, using the analyst findings.'],
    ['report_writer', 'Write the investment memo from the findings above.'],
  ] as const) {
    results.push(await call(client, model, finance, agent, task, 'broadcast'));
  }

  const research = `research-${suffix}`;
  const topics = ['cloud growth', 'hardware decline', 'margins', 'capital returns'];
  results.push(
    ...(await Promise.all(
      topics.map((t, i) => call(client, model, research, `researcher_${i}`, `Research: ${t}.`, 'auto')),
    )),
  );
  results.push(
    await call(client, model, research, 'aggregator', 'Combine the research into one view.', 'auto'),
  );
  return results;
}

export function formatTable(results: readonly AgentCallResult[]): string {
  const header = ['workflow', 'agent', 'pod', 'latency ms', 'prompt tok', 'cached tok', 'hit'];
  const rows = results.map((r) => [
    r.workflow,
    r.agent,
    r.pod,
    String(r.latencyMs),
    String(r.promptTokens),
    String(r.cachedTokens),
    r.promptTokens === 0 ? '-' : `${Math.round((100 * r.cachedTokens) / r.promptTokens)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
  };
  const results = await runExamples(
    flag('router-url', 'http://127.0.0.1:8001'),
    flag('model', 'meta-llama/Llama-3.1-8B-Instruct'),
    Date.now().toString(36),
  );
  console.log(formatTable(results));
}
