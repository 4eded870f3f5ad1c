// The five workloads of the benchmark (issue 4). Each is a pure function of its parameters:
// the same seed gives byte-identical prompts, so every routing logic serves the same calls.
//
// Every prompt starts with a short preamble common to all workflows (as real applications
// share a system prompt); everything after it is per workflow, so the only KV reuse between
// workflows is the preamble's few blocks.

import { Rng } from '../rng.ts';
import { fillerText } from '../text.ts';
import type {
  CallSpec,
  MessageSpec,
  Part,
  Workload,
  WorkloadName,
  WorkloadParams,
  WorkflowSpec,
} from './types.ts';

export const PREAMBLE =
  'You are one agent of a multi-agent workflow. Read the workflow document and the shared notes ' +
  'of the other agents, then do your own task. Answer in short plain sentences.';

/** Skew: a hot agent's own passage is this many times taskTokens. */
export const HOT_TASK_FACTOR = 12;

const system = (content: Part[]): MessageSpec => ({ role: 'system', content });
const user = (content: Part[]): MessageSpec => ({ role: 'user', content });
const assistant = (content: Part[]): MessageSpec => ({ role: 'assistant', content });

function documentOf(rng: Rng, tokens: number, title: string): string {
  return `${PREAMBLE}\n\n# Workflow document: ${title}\n\n${fillerText(rng, tokens)}`;
}

function sequentialStages(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => [i]);
}

function idOf(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(4, '0')}`;
}

/** 1. Sequential pipeline: A agents in turn over one document, each output broadcast to the next. */
function pipeline(p: WorkloadParams, rng: Rng): WorkflowSpec[] {
  return Array.from({ length: p.workflows }, (_, w) => {
    const r = rng.fork(w);
    const id = idOf('pipe', w);
    const doc = documentOf(r, p.docTokens, id);
    const calls: CallSpec[] = Array.from({ length: p.agents }, (_, a) => ({
      agent: `agent-${a}`,
      messages: [
        system([doc]),
        user([`Step ${a + 1} of ${p.agents}. Task for agent-${a}: ${fillerText(r, p.taskTokens)}`]),
      ],
      maxTokens: p.outputTokens,
    }));
    return { id, sharing: 'broadcast', calls, stages: sequentialStages(calls.length), hot: false };
  });
}

function fanOutCalls(
  r: Rng,
  p: WorkloadParams,
  doc: string,
  agents: number,
  round: number,
  taskTokens: number,
): CallSpec[] {
  return Array.from({ length: agents }, (_, a) => ({
    agent: `agent-${a}`,
    messages: [
      system([doc]),
      user([`Round ${round + 1}. Task for agent-${a}: ${fillerText(r, taskTokens)}`]),
    ],
    maxTokens: p.outputTokens,
  }));
}

function aggregatorCall(r: Rng, p: WorkloadParams, doc: string, round: number): CallSpec {
  return {
    agent: 'aggregator',
    messages: [
      system([doc]),
      user([`Round ${round + 1}. Merge the notes of every agent: ${fillerText(r, p.taskTokens)}`]),
    ],
    maxTokens: p.outputTokens,
  };
}

/**
 * 2. Fan-out / fan-in, as orchestrator-worker frameworks run it: a coordinator reads the
 * document and writes the plan, A workers then run in parallel on the same document (each with
 * its own task), and an aggregator merges their notes. Broadcast: the coordinator's plan reaches
 * every worker, and every worker's notes reach the aggregator.
 */
function fanout(p: WorkloadParams, rng: Rng): WorkflowSpec[] {
  return Array.from({ length: p.workflows }, (_, w) => {
    const r = rng.fork(w);
    const id = idOf('fan', w);
    const doc = documentOf(r, p.docTokens, id);
    const coordinator: CallSpec = {
      agent: 'coordinator',
      messages: [system([doc]), user([`Split the work on this document: ${fillerText(r, p.taskTokens)}`])],
      maxTokens: p.outputTokens,
    };
    const calls = [
      coordinator,
      ...fanOutCalls(r, p, doc, p.agents, 0, p.taskTokens),
      aggregatorCall(r, p, doc, 0),
    ];
    const workers = Array.from({ length: p.agents }, (_, i) => i + 1);
    return { id, sharing: 'broadcast', calls, stages: [[0], workers, [p.agents + 1]], hot: false };
  });
}

/**
 * 3. Multi-round: A agents take turns for R rounds. The client keeps the transcript: each call
 * sends the document, the topic, every earlier turn (as assistant messages naming their agent)
 * and its own instruction last, so each call's prompt extends the previous one's (`auto`).
 */
function multiround(p: WorkloadParams, rng: Rng): WorkflowSpec[] {
  return Array.from({ length: p.workflows }, (_, w) => {
    const r = rng.fork(w);
    const id = idOf('chat', w);
    const doc = documentOf(r, p.docTokens, id);
    const topic = user([`Discuss the document and agree on a plan: ${fillerText(r, p.taskTokens)}`]);
    const calls: CallSpec[] = [];
    for (let round = 0; round < p.rounds; round++) {
      for (let a = 0; a < p.agents; a++) {
        const turn = calls.length;
        const transcript = calls.map((c, j) => assistant([`${c.agent}: `, { outputOf: j }]));
        calls.push({
          agent: `agent-${a}`,
          messages: [
            system([doc]),
            topic,
            ...transcript,
            user([`Turn ${turn + 1}, agent-${a} speaks: ${fillerText(r, Math.max(1, p.taskTokens >> 2))}`]),
          ],
          maxTokens: p.outputTokens,
        });
      }
    }
    return { id, sharing: 'auto', calls, stages: sequentialStages(calls.length), hot: false };
  });
}

/**
 * 4. Control: workflows whose calls share nothing, not even a preamble; each call is a fresh
 * prompt as long as a pipeline call's. The workflows still carry metadata (`auto`), so
 * workflow_aware pins them: affinity with nothing to gain must not cost anything.
 */
function control(p: WorkloadParams, rng: Rng): WorkflowSpec[] {
  return Array.from({ length: p.workflows }, (_, w) => {
    const r = rng.fork(w);
    const id = idOf('ctl', w);
    const calls: CallSpec[] = Array.from({ length: p.agents }, (_, a) => ({
      agent: `agent-${a}`,
      messages: [user([fillerText(r, p.docTokens + p.taskTokens)])],
      maxTokens: p.outputTokens,
    }));
    return { id, sharing: 'auto', calls, stages: sequentialStages(calls.length), hot: false };
  });
}

/**
 * 5. Skew: the first `hot` workflows are hot: R rounds of `hotAgents` agents in parallel over one
 * document, each with a long passage of its own (HOT_TASK_FACTOR x taskTokens, e.g. retrieved
 * text), then an aggregator; the rest is background traffic, two-agent pipelines over their own
 * document of 60% the length (broadcast). A hot workflow's round is far more prefill than one
 * pod absorbs quickly: keeping it all on its pod makes that pod hot.
 */
function skew(p: WorkloadParams, rng: Rng): WorkflowSpec[] {
  const out: WorkflowSpec[] = [];
  for (let w = 0; w < p.workflows; w++) {
    const r = rng.fork(w);
    if (w < p.hot) {
      const id = idOf('hot', w);
      const doc = documentOf(r, p.docTokens, id);
      const calls: CallSpec[] = [];
      const stages: number[][] = [];
      for (let round = 0; round < p.rounds; round++) {
        const first = calls.length;
        calls.push(...fanOutCalls(r, p, doc, p.hotAgents, round, p.taskTokens * HOT_TASK_FACTOR));
        stages.push(Array.from({ length: p.hotAgents }, (_, i) => first + i));
        stages.push([calls.length]);
        calls.push(aggregatorCall(r, p, doc, round));
      }
      out.push({ id, sharing: 'broadcast', calls, stages, hot: true });
      continue;
    }
    const id = idOf('bg', w);
    const doc = documentOf(r, Math.max(1, Math.round(p.docTokens * 0.6)), id);
    const calls: CallSpec[] = Array.from({ length: 2 }, (_, a) => ({
      agent: `agent-${a}`,
      messages: [system([doc]), user([`Task for agent-${a}: ${fillerText(r, p.taskTokens)}`])],
      maxTokens: p.outputTokens,
    }));
    out.push({ id, sharing: 'broadcast', calls, stages: sequentialStages(2), hot: false });
  }
  return out;
}

const GENERATORS: Record<WorkloadName, (p: WorkloadParams, rng: Rng) => WorkflowSpec[]> = {
  pipeline,
  fanout,
  multiround,
  control,
  skew,
};

export const WORKLOAD_TITLES: Record<WorkloadName, string> = {
  pipeline: '1. Sequential pipeline (broadcast)',
  fanout: '2. Fan-out / fan-in (broadcast)',
  multiround: '3. Multi-round conversation (auto, client history)',
  control: '4. Control: nothing shared (auto)',
  skew: '5. Skew: hot workflows + background (broadcast)',
};

/** The workload's workflows, in the order they start. */
export function generateWorkload(name: WorkloadName, params: WorkloadParams): Workload {
  const rng = new Rng(params.seed ^ Math.imul(WORKLOAD_SALT[name], 0x9e3779b1));
  return { name, params, workflows: GENERATORS[name](params, rng) };
}

const WORKLOAD_SALT: Record<WorkloadName, number> = {
  pipeline: 1,
  fanout: 2,
  multiround: 3,
  control: 4,
  skew: 5,
};

/** Renders a message spec given the outputs of the workflow's earlier calls ('' where missing). */
export function renderMessages(
  messages: readonly MessageSpec[],
  outputs: readonly (string | undefined)[],
): { role: string; content: string }[] {
  return messages.map((m) => ({
    role: m.role,
    content: m.content
      .map((part) => (typeof part === 'string' ? part : (outputs[part.outputOf] ?? '')))
      .join(''),
  }));
}

/** Checks the structural promises every generator keeps; throws on the first broken one. */
export function validateWorkflow(w: WorkflowSpec): void {
  const seen = new Set<number>();
  for (const stage of w.stages) {
    if (stage.length === 0) throw new Error(`${w.id}: empty stage`);
    for (const i of stage) {
      const call = w.calls[i];
      if (call === undefined) throw new Error(`${w.id}: stage names call ${i}, which does not exist`);
      if (seen.has(i)) throw new Error(`${w.id}: call ${i} is in two stages`);
      for (const m of call.messages) {
        for (const part of m.content) {
          if (typeof part !== 'string' && !seen.has(part.outputOf)) {
            throw new Error(`${w.id}: call ${i} reads the output of call ${part.outputOf} before it ran`);
          }
        }
      }
    }
    for (const i of stage) seen.add(i);
  }
  if (seen.size !== w.calls.length)
    throw new Error(`${w.id}: ${w.calls.length - seen.size} calls in no stage`);
}
