import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUICK } from '../../bench/config.ts';
import { Rng } from '../../bench/rng.ts';
import { poissonArrivals } from '../../bench/runner.ts';
import { fillerText } from '../../bench/text.ts';
import {
  generateWorkload,
  PREAMBLE,
  renderMessages,
  validateWorkflow,
} from '../../bench/workloads/generate.ts';
import {
  totalCalls,
  WORKLOAD_NAMES,
  type Part,
  type WorkloadParams,
  type WorkflowSpec,
} from '../../bench/workloads/types.ts';
import { renderChat } from '../../sim/chat-template.ts';
import { countTokens } from '../../sim/tokenizer.ts';

const SMALL: WorkloadParams = {
  seed: 7,
  workflows: 5,
  agents: 3,
  rounds: 2,
  docTokens: 300,
  taskTokens: 20,
  outputTokens: 8,
  hot: 2,
  hotAgents: 4,
};

function literal(part: Part | undefined): string {
  if (typeof part !== 'string') throw new Error('expected literal text');
  return part;
}

const textOf = (w: WorkflowSpec, call: number, outputs: string[] = []): string =>
  renderChat(renderMessages(w.calls[call]?.messages ?? [], outputs));

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const c = new Rng(2);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b.nextUint32()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => c.nextUint32()),
    );
  });

  it('draws exponential gaps with the requested mean', () => {
    const r = new Rng(3);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += r.exponential(4);
    assert.ok(Math.abs(sum / 20_000 - 0.25) < 0.01);
  });
});

describe('fillerText', () => {
  it('has exactly the requested number of tokens under the simulator tokenizer', () => {
    const r = new Rng(11);
    for (const n of [1, 2, 3, 17, 250, 1500]) assert.equal(countTokens(fillerText(r, n)), n);
  });
});

describe('poissonArrivals', () => {
  it('starts at 0, increases, and averages the requested rate', () => {
    const t = poissonArrivals(5000, 10, 1);
    assert.equal(t[0], 0);
    for (let i = 1; i < t.length; i++) assert.ok((t[i] as number) >= (t[i - 1] as number));
    assert.ok(Math.abs((t[t.length - 1] as number) / 4999 - 0.1) < 0.005);
    assert.deepEqual(poissonArrivals(10, 3, 9), poissonArrivals(10, 3, 9));
  });
});

describe('generateWorkload', () => {
  for (const name of WORKLOAD_NAMES) {
    it(`${name}: deterministic per seed, structurally valid, distinct ids`, () => {
      const a = generateWorkload(name, SMALL);
      const b = generateWorkload(name, SMALL);
      assert.deepEqual(a, b);
      assert.notDeepEqual(a.workflows, generateWorkload(name, { ...SMALL, seed: 8 }).workflows);
      assert.equal(a.workflows.length, SMALL.workflows);
      assert.equal(new Set(a.workflows.map((w) => w.id)).size, SMALL.workflows);
      for (const w of a.workflows) {
        validateWorkflow(w);
        assert.match(w.id, /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/);
        for (const c of w.calls) assert.equal(c.maxTokens, SMALL.outputTokens);
      }
    });
  }

  it('pipeline: A agents in turn, broadcast, one document of docTokens shared by every call', () => {
    const { workflows } = generateWorkload('pipeline', SMALL);
    const w = workflows[0] as WorkflowSpec;
    assert.equal(w.sharing, 'broadcast');
    assert.deepEqual(w.stages, [[0], [1], [2]]);
    const doc = w.calls[0]?.messages[0];
    assert.equal(doc?.role, 'system');
    for (const c of w.calls) assert.deepEqual(c.messages[0], doc);
    // The document is the preamble, a title and exactly docTokens of filler.
    const docText = literal(doc?.content[0]);
    assert.ok(docText.startsWith(PREAMBLE));
    assert.equal(
      countTokens(docText.slice(docText.indexOf('\n\n', PREAMBLE.length + 2) + 2)),
      SMALL.docTokens,
    );
    // The task is the last message, so the router's broadcast context goes between them.
    assert.equal(w.calls[2]?.messages.at(-1)?.role, 'user');
    // Two workflows share only the preamble.
    const other = literal(workflows[1]?.calls[0]?.messages[0]?.content[0]);
    assert.notEqual(docText, other);
    assert.equal(totalCalls(workflows), SMALL.workflows * SMALL.agents);
  });

  it('fanout: a coordinator, then A agents in parallel, then an aggregator', () => {
    const w = generateWorkload('fanout', SMALL).workflows[0] as WorkflowSpec;
    assert.deepEqual(w.stages, [[0], [1, 2, 3], [4]]);
    assert.equal(w.calls[0]?.agent, 'coordinator');
    assert.equal(w.calls[4]?.agent, 'aggregator');
    assert.equal(w.sharing, 'broadcast');
  });

  it('multiround: each call extends the previous one’s prompt with its output (client history)', () => {
    const w = generateWorkload('multiround', SMALL).workflows[0] as WorkflowSpec;
    assert.equal(w.sharing, 'auto');
    assert.equal(w.calls.length, SMALL.agents * SMALL.rounds);
    assert.deepEqual(
      w.calls.map((c) => c.agent),
      ['agent-0', 'agent-1', 'agent-2', 'agent-0', 'agent-1', 'agent-2'],
    );
    const outputs = ['first answer', 'second answer', 'third answer'];
    const before = textOf(w, 2, outputs);
    const after = textOf(w, 3, outputs);
    // Call 3's prompt starts with call 2's, up to call 2's own instruction.
    const withoutLast = renderChat(renderMessages(w.calls[2]?.messages.slice(0, -1) ?? [], outputs), false);
    assert.ok(before.startsWith(withoutLast));
    assert.ok(after.startsWith(withoutLast));
    assert.ok(after.includes('agent-2: third answer'));
    // A missing output renders as empty text rather than failing.
    assert.ok(textOf(w, 3, []).includes('agent-2: <|end|>'));
  });

  it('control: calls share no block-sized prefix, within or across workflows', () => {
    const { workflows } = generateWorkload('control', SMALL);
    const prompts = workflows.flatMap((w) => w.calls.map((_, i) => textOf(w, i)));
    assert.equal(new Set(prompts.map((p) => p.slice(0, 80))).size, prompts.length);
    for (const w of workflows) assert.equal(w.sharing, 'auto');
  });

  it('skew: the first `hot` workflows fan out hotAgents agents per round; the rest are small pipelines', () => {
    const { workflows } = generateWorkload('skew', SMALL);
    const hot = workflows.filter((w) => w.hot);
    assert.equal(hot.length, SMALL.hot);
    assert.deepEqual(
      workflows.map((w) => w.hot),
      [true, true, false, false, false],
    );
    const h = hot[0] as WorkflowSpec;
    assert.equal(h.calls.length, SMALL.rounds * (SMALL.hotAgents + 1));
    assert.deepEqual(h.stages[0], [0, 1, 2, 3]);
    assert.deepEqual(h.stages[1], [4]);
    for (const bg of workflows.filter((w) => !w.hot)) assert.equal(bg.calls.length, 2);
  });

  it('the quick configuration stays small enough for make bench', () => {
    const calls = WORKLOAD_NAMES.reduce(
      (n, name) => n + totalCalls(generateWorkload(name, QUICK[name].params).workflows),
      0,
    );
    assert.ok(calls < 3000, `${calls} calls per logic`);
  });
});

describe('validateWorkflow', () => {
  it('rejects a call that reads an output not produced by an earlier stage', () => {
    const bad: WorkflowSpec = {
      id: 'x',
      sharing: 'auto',
      hot: false,
      calls: [
        { agent: 'a', maxTokens: 1, messages: [{ role: 'user', content: [{ outputOf: 1 }] }] },
        { agent: 'b', maxTokens: 1, messages: [{ role: 'user', content: ['hi'] }] },
      ],
      stages: [[0, 1]],
    };
    assert.throws(() => validateWorkflow(bad), /before it ran/);
    assert.throws(() => validateWorkflow({ ...bad, stages: [[1]] }), /in no stage/);
  });
});
