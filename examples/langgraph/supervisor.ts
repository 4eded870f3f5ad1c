/**
 * A LangGraph JS supervisor team behind the workflow router: a supervisor hands tasks to a
 * researcher, an analyst and a writer, who all work on one shared document. Every agent's LLM
 * calls carry its `agent_id` (X-Workflow-Id / X-Agent-Id headers set on its ChatOpenAI), so the
 * router pins the whole team to one vLLM pod, where the document's KV cache is reused. Tasks
 * and results travel through the router's message API: the supervisor posts a task to an
 * agent's inbox, the agent posts its section back to the supervisor's inbox, and each side
 * reads its inbox with a cursor kept in the graph's state.
 *
 *   node examples/langgraph/supervisor.ts --router-url http://127.0.0.1:8001 [--model NAME]
 *
 * With a real model the supervisor would choose the next agent itself (structured output or
 * tool calls). Here the order is a rule (research, analysis, writing) and the supervisor's
 * LLM call only comments on progress, so the example behaves the same on the simulator,
 * whose text is deterministic filler.
 */
import { HumanMessage, SystemMessage, type AIMessage } from '@langchain/core/messages';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { WorkflowRouterClient, workflowHeaders } from 'workflow-router/client';
import type { WorkflowStatus } from 'workflow-router/client';

export const WORKERS = ['researcher', 'analyst', 'writer'] as const;
export type Worker = (typeof WORKERS)[number];
export const AGENTS = ['supervisor', ...WORKERS] as const;

const ROLES: Record<Worker, string> = {
  researcher: 'Collect the facts in the document that matter for an investment decision.',
  analyst: 'Analyse the facts the researcher found: growth, margins, cash and risks.',
  writer: 'Write a short investment memo from the research and the analysis.',
};

export const DOCUMENT = `ACME Corp, quarterly report. Revenue grew 12% year over year to 4.2 billion dollars,
driven by cloud services (+31%) while hardware declined 8%. Gross margin improved 140 basis points
to 46.3%. Operating expenses rose 9%, mostly research and development for the new inference
accelerator. Free cash flow was 610 million dollars; the company repurchased 250 million dollars of
shares. Guidance for next quarter: revenue between 4.3 and 4.4 billion dollars, margin near 46%.
Risks named by management: supply constraints on advanced packaging, currency headwinds in Europe,
and a pending antitrust review of the acquisition of a storage start-up.
`.repeat(4);

/** Messages between the agents; validated on receipt, since a payload is any JSON. */
const taskSchema = z.object({ kind: z.literal('task'), instruction: z.string() });
const resultSchema = z.object({ kind: z.literal('result'), section: z.enum(WORKERS), text: z.string() });

const TeamState = Annotation.Root({
  /** The shared document every agent reads first (the cached prefix on the pinned pod). */
  document: Annotation<string>(),
  /** Each worker's finished section, merged in as results arrive. */
  sections: Annotation<Partial<Record<Worker, string>>>({
    reducer: (a, b) => ({ ...a, ...b }),
    default: () => ({}),
  }),
  /** Message cursor per agent inbox, so every read continues where the last one ended. */
  cursors: Annotation<Record<string, string | null>>({
    reducer: (a, b) => ({ ...a, ...b }),
    default: () => ({}),
  }),
  /** The worker the supervisor handed the last task to, or END. */
  next: Annotation<string>({ reducer: (_a, b) => b, default: () => '' }),
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});
type Team = typeof TeamState.State;

export interface SupervisorOptions {
  /** The router's base URL, e.g. http://127.0.0.1:8001. */
  routerUrl: string;
  model: string;
  workflowId: string;
  apiKey?: string;
  /** Output tokens per agent call. */
  maxTokens?: number;
}

export interface SupervisorResult {
  workflowId: string;
  sections: Partial<Record<Worker, string>>;
  log: string[];
  status: WorkflowStatus;
}

function text(message: AIMessage): string {
  return typeof message.content === 'string'
    ? message.content
    : message.content
        .map((part) => ('text' in part && typeof part.text === 'string' ? part.text : ''))
        .join('');
}

/** Builds and runs the team graph once; returns the sections and the workflow's status. */
export async function runSupervisorWorkflow(options: SupervisorOptions): Promise<SupervisorResult> {
  const { routerUrl, model, workflowId } = options;
  const apiKey = options.apiKey ?? process.env.WORKFLOW_ROUTER_API_KEY;
  const router = new WorkflowRouterClient({ baseURL: routerUrl, ...(apiKey ? { apiKey } : {}) });

  // Declared agents: the router refuses calls and messages from anyone else (403).
  await router.declareWorkflow(workflowId, {
    contextSharing: 'auto',
    agents: AGENTS.map((name) => ({ name })),
  });

  /** One ChatOpenAI per agent, its calls tagged with the workflow and its agent id. */
  const llm = (agentId: string): ChatOpenAI =>
    new ChatOpenAI({
      model,
      apiKey: apiKey ?? 'not-needed',
      maxTokens: options.maxTokens ?? 48,
      temperature: 0,
      maxRetries: 1,
      configuration: {
        baseURL: router.openAIBaseURL,
        defaultHeaders: workflowHeaders({ workflowId, agentId }),
      },
    });
  const models = Object.fromEntries(AGENTS.map((a) => [a, llm(a)])) as Record<
    (typeof AGENTS)[number],
    ChatOpenAI
  >;

  const system = (role: string, document: string): SystemMessage =>
    new SystemMessage(`Shared document of the team:\n${document}\nYour role: ${role}`);

  const supervisor = async (state: Team): Promise<Partial<Team>> => {
    // Collect what the worker sent back (waiting briefly if a task is out).
    const awaiting = (WORKERS as readonly string[]).includes(state.next);
    const page = await router.readMessages(workflowId, 'supervisor', {
      after: state.cursors.supervisor ?? null,
      waitMs: awaiting ? 10_000 : 0,
    });
    const sections: Partial<Record<Worker, string>> = {};
    for (const message of page.data) {
      const result = resultSchema.safeParse(message.payload);
      if (result.success) sections[result.data.section] = result.data.text;
    }
    const done = { ...state.sections, ...sections };
    const next = WORKERS.find((w) => done[w] === undefined);
    const progress = WORKERS.map((w) => `${w}: ${done[w] ? 'done' : 'pending'}`).join(', ');
    const comment = await models.supervisor.invoke([
      system('Supervise the team: read the progress and say who should work next.', state.document),
      new HumanMessage(`Progress: ${progress}. Who works next?`),
    ]);
    if (next) {
      await router.sendMessage(workflowId, next, {
        fromAgent: 'supervisor',
        payload: { kind: 'task', instruction: ROLES[next] },
      });
    }
    return {
      sections,
      cursors: { supervisor: page.next_cursor },
      next: next ?? END,
      log: [`supervisor: ${progress} -> ${next ?? 'finish'} (${text(comment).slice(0, 40)}...)`],
    };
  };

  const worker =
    (me: Worker) =>
    async (state: Team): Promise<Partial<Team>> => {
      const page = await router.readMessages(workflowId, me, {
        after: state.cursors[me] ?? null,
        waitMs: 10_000,
      });
      const task = page.data.map((m) => taskSchema.safeParse(m.payload)).findLast((t) => t.success)?.data;
      if (!task) throw new Error(`${me} found no task in its inbox`);
      const earlier = WORKERS.filter((w) => state.sections[w] !== undefined)
        .map((w) => `${w}:\n${state.sections[w]}`)
        .join('\n\n');
      const answer = await models[me].invoke([
        system(task.instruction, state.document),
        new HumanMessage(earlier ? `Work so far:\n${earlier}\n\nYour part, please.` : 'Your part, please.'),
      ]);
      await router.sendMessage(workflowId, 'supervisor', {
        fromAgent: me,
        payload: { kind: 'result', section: me, text: text(answer) },
      });
      return { cursors: { [me]: page.next_cursor }, log: [`${me}: section sent to the supervisor`] };
    };

  const graph = new StateGraph(TeamState)
    .addNode('supervisor', supervisor)
    .addNode('researcher', worker('researcher'))
    .addNode('analyst', worker('analyst'))
    .addNode('writer', worker('writer'))
    .addEdge(START, 'supervisor')
    .addConditionalEdges('supervisor', (state: Team) => state.next, [...WORKERS, END])
    .addEdge('researcher', 'supervisor')
    .addEdge('analyst', 'supervisor')
    .addEdge('writer', 'supervisor')
    .compile();

  const final = await graph.invoke({ document: DOCUMENT }, { recursionLimit: 20 });
  return { workflowId, sections: final.sections, log: final.log, status: await router.status(workflowId) };
}

/** One line per agent: calls and prefix-cache hit rate, from the router's status. */
export function formatAgents(status: WorkflowStatus): string {
  const rows = Object.entries(status.agents).map(
    ([agent, a]) =>
      `  ${agent.padEnd(11)} ${String(a.calls).padStart(2)} calls  ${(a.cache_hit_rate * 100).toFixed(0).padStart(3)}% cached`,
  );
  return [`workflow ${status.workflow_id} pinned to ${status.pinned_pod ?? '-'}:`, ...rows].join('\n');
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
  };
  const result = await runSupervisorWorkflow({
    routerUrl: flag('router-url', 'http://127.0.0.1:8001'),
    model: flag('model', 'meta-llama/Llama-3.1-8B-Instruct'),
    workflowId: flag('workflow-id', `langgraph-team-${Date.now().toString(36)}`),
  });
  console.log(result.log.join('\n'));
  console.log(formatAgents(result.status));
}
