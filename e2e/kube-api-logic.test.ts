// The emulator's pure pieces, tested without a server: selectors, patches, strategic merge,
// the CEL subset, JSONPath, schema pruning/defaulting/validation messages, version order
// and durations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateRules } from './kube-api/cel-rules.ts';
import { CelUnsupported, compileCel, evalCel } from './kube-api/cel.ts';
import { compareVersions } from './kube-api/discovery.ts';
import { StatusError, fieldErrorString } from './kube-api/errors.ts';
import { evalJsonPath, parseJsonPath } from './kube-api/jsonpath.ts';
import { jsonPatch, mergePatch } from './kube-api/patch.ts';
import type { Schema } from './kube-api/schema.ts';
import { applyDefaults, prune } from './kube-api/schema.ts';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from './kube-api/selectors.ts';
import { podSchema } from './kube-api/builtin-schemas.ts';
import { strategicMergePatch } from './kube-api/strategic.ts';
import { humanDuration } from './kube-api/table.ts';
import { normalizeTimes } from './kube-api/times.ts';
import { validateAgainstSchema } from './kube-api/validation.ts';

describe('label selectors', () => {
  const labels = { app: 'vllm', tier: 'gpu', replicas: '3' };
  const cases: [string, boolean][] = [
    ['app=vllm', true],
    ['app==vllm,tier=gpu', true],
    ['app!=vllm', false],
    ['missing!=x', true],
    ['app in (vllm, router)', true],
    ['app notin (vllm)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['replicas>2', true],
    ['replicas<3', false],
    ['', true],
  ];
  for (const [selector, expected] of cases) {
    test(`"${selector}" ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(matchesLabels(parseLabelSelector(selector), labels), expected);
    });
  }
  test('bad syntax is a 400', () => {
    for (const bad of ['app in vllm', 'app=(x)', 'app in ()', 'a b']) {
      assert.throws(
        () => parseLabelSelector(bad),
        (e: unknown) => e instanceof StatusError && e.code === 400,
        bad,
      );
    }
  });
});

describe('field selectors', () => {
  test('terms, operators and escapes', () => {
    assert.deepEqual(parseFieldSelector('involvedObject.name=a\\,b,type!=Warning'), [
      { field: 'involvedObject.name', op: '=', value: 'a,b' },
      { field: 'type', op: '!=', value: 'Warning' },
    ]);
    assert.deepEqual(parseFieldSelector('metadata.name==x'), [
      { field: 'metadata.name', op: '=', value: 'x' },
    ]);
  });
});

describe('patches', () => {
  test('merge patch: objects merge, null deletes, arrays replace', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), {
      a: { c: 2, d: 3 },
      l: [3],
    });
  });
  test('JSON patch: add, remove, replace, move, copy, test', () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/a/1', value: 9 },
      { op: 'remove', path: '/a/0' },
      { op: 'replace', path: '/b/c', value: 2 },
      { op: 'copy', from: '/b', path: '/d' },
      { op: 'move', from: '/d/c', path: '/e' },
      { op: 'test', path: '/e', value: 2 },
    ]);
    assert.deepEqual(out, { a: [9, 2], b: { c: 2 }, d: {}, e: 2 });
    assert.deepEqual(doc, { a: [1, 2], b: { c: 1 } }, 'the input is not mutated');
    assert.throws(
      () => jsonPatch(doc, [{ op: 'remove', path: '/nope' }]),
      (e: unknown) => e instanceof StatusError && e.code === 422,
    );
  });
  test('strategic merge patch: merge keys, directives and primitive merge lists', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      spec: {
        containers: [
          { name: 'app', image: 'v1', env: [{ name: 'A', value: '1' }] },
          { name: 'sidecar', image: 's1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    };
    const out = strategicMergePatch(
      pod,
      {
        metadata: { finalizers: ['b'] },
        spec: {
          containers: [
            { name: 'app', env: [{ name: 'B', value: '2' }] },
            { name: 'sidecar', $patch: 'delete' },
            { name: 'new', image: 'n1' },
          ],
          '$setElementOrder/containers': [{ name: 'new' }, { name: 'app' }],
          volumes: [{ name: 'data', configMap: { name: 'cm' }, $retainKeys: ['name', 'configMap'] }],
        },
      },
      podSchema,
    );
    assert.deepEqual(out, {
      metadata: { finalizers: ['a', 'b'] },
      spec: {
        containers: [
          { name: 'new', image: 'n1' },
          {
            name: 'app',
            image: 'v1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
        ],
        volumes: [{ name: 'data', configMap: { name: 'cm' } }],
      },
    });
    const removed = strategicMergePatch(
      out,
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      podSchema,
    );
    assert.deepEqual((removed.metadata as { finalizers: string[] }).finalizers, ['b']);
    const replaced = strategicMergePatch(out, { spec: { $patch: 'replace', containers: [] } }, podSchema);
    assert.deepEqual(replaced.spec, { containers: [] });
  });
});

describe('CEL subset', () => {
  const cases: [string, unknown, unknown][] = [
    ['self.x >= 60', { x: 60 }, true],
    ["self.mode in ['a', 'b']", { mode: 'c' }, false],
    [
      'size(self.agents) <= 2 && self.agents.all(a, a.name.startsWith("ag"))',
      { agents: [{ name: 'ag1' }] },
      true,
    ],
    ['has(self.spec) ? self.spec.replicas > 0 : true', {}, true],
    ['self.items.exists_one(i, i == 2)', { items: [1, 2, 3] }, true],
    ['self.name.matches("^[a-z]+$") || self.name.size() == 0', { name: 'Abc' }, false],
    ['self.a + self.b == "xy"', { a: 'x', b: 'y' }, true],
    ['7 / 2 == 3 && 7 % 2 == 1', {}, true],
    ['self.items.map(i, i * 2).filter(i, i > 2) == [4, 6]', { items: [1, 2, 3] }, true],
  ];
  for (const [rule, self, expected] of cases) {
    test(rule, () => assert.equal(evalCel(compileCel(rule), self), expected));
  }
  test('transition rules see oldSelf', () => {
    assert.equal(evalCel(compileCel('self == oldSelf'), 'a', 'b'), false);
  });
  test('syntax outside the subset is reported, not guessed', () => {
    assert.throws(() => compileCel('self.?x.orValue(1) > 0'), CelUnsupported);
    assert.throws(
      () => evalCel(compileCel('duration(self.d) > duration("1s")'), { d: '2s' }),
      CelUnsupported,
    );
  });
  test('rules run at their node; immutability rules only on update', () => {
    const schema: Schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          'x-kubernetes-validations': [{ rule: 'self.min <= self.max', message: 'min must not exceed max' }],
          properties: {
            min: { type: 'integer' },
            max: { type: 'integer' },
            pool: {
              type: 'string',
              'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'pool is immutable' }],
            },
          },
        },
      },
    };
    const created = evaluateRules(schema, { spec: { min: 2, max: 1, pool: 'a' } }, undefined);
    assert.deepEqual(created.errors.map(fieldErrorString), [
      'spec: Invalid value: "object": min must not exceed max',
    ]);
    const updated = evaluateRules(
      schema,
      { spec: { min: 1, max: 1, pool: 'b' } },
      { spec: { min: 1, max: 1, pool: 'a' } },
    );
    assert.deepEqual(updated.errors.map(fieldErrorString), [
      'spec.pool: Invalid value: "string": pool is immutable',
    ]);
  });
});

describe('JSONPath', () => {
  const obj = {
    status: {
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Synced', status: 'False' },
      ],
    },
    spec: { l: [1, 2, 3] },
  };
  test('fields, indexes, wildcards and filters', () => {
    assert.deepEqual(evalJsonPath(parseJsonPath('.status.conditions[?(@.type=="Ready")].status'), obj), [
      'True',
    ]);
    assert.deepEqual(evalJsonPath(parseJsonPath('.spec.l[-1]'), obj), [3]);
    assert.deepEqual(evalJsonPath(parseJsonPath('{.status.conditions[*].type}'), obj), ['Ready', 'Synced']);
    assert.deepEqual(evalJsonPath(parseJsonPath('.missing.field'), obj), []);
  });
});

describe('schemas', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 3 },
          mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
          list: {
            type: 'array',
            maxItems: 1,
            items: { type: 'object', properties: { x: { type: 'integer' } } },
          },
          at: { type: 'string', format: 'date-time' },
          open: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          port: { 'x-kubernetes-int-or-string': true },
        },
      },
    },
  };
  test('pruning reports unknown fields by path and keeps preserved ones', () => {
    const obj = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'n', bogus: 1 },
      spec: { list: [{ x: 1, y: 2 }], open: { any: 1 }, extra: true },
      top: 1,
    };
    assert.deepEqual(prune(obj, schema).sort(), ['metadata.bogus', 'spec.extra', 'spec.list[0].y', 'top']);
    assert.deepEqual(obj, {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'n' },
      spec: { list: [{ x: 1 }], open: { any: 1 } },
    });
  });
  test('defaults apply where the parent exists', () => {
    const obj = { spec: {} };
    applyDefaults(obj, schema);
    assert.deepEqual(obj, { spec: { mode: 'a' } });
  });
  test('validation messages read like the apiserver', () => {
    const errors = validateAgainstSchema(
      { spec: { name: 'long', mode: 'c', list: [{ x: 'one' }, {}], at: 'yesterday', port: true } },
      schema,
    );
    assert.deepEqual(errors.map(fieldErrorString).sort(), [
      'spec.at: Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
      'spec.list: Too many: 2: must have at most 1 item',
      'spec.list[0].x: Invalid value: "string": spec.list[0].x in body must be of type integer: "string"',
      'spec.mode: Unsupported value: "c": supported values: "a", "b"',
      'spec.name: Too long: may not be more than 3 bytes',
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    ]);
  });
  test('metav1.Time is stored at whole seconds in UTC; MicroTime needs six digits', () => {
    const lease = {
      spec: { renewTime: '2025-01-01T01:00:00.123456+01:00' },
      metadata: { creationTimestamp: '2025-01-01T00:00:00.9Z' },
    };
    const leaseSchema: Schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: { renewTime: { type: 'string', 'x-emulator-time': 'MicroTime' } },
        },
        metadata: {
          type: 'object',
          properties: { creationTimestamp: { type: 'string', 'x-emulator-time': 'Time' } },
        },
      },
    };
    normalizeTimes(lease, leaseSchema);
    assert.deepEqual(lease, {
      spec: { renewTime: '2025-01-01T00:00:00.123456Z' },
      metadata: { creationTimestamp: '2025-01-01T00:00:00Z' },
    });
    assert.throws(
      () => normalizeTimes({ spec: { renewTime: '2025-01-01T00:00:00.123Z' } }, leaseSchema),
      StatusError,
    );
  });
});

describe('ordering and durations', () => {
  test('Kubernetes version priority', () => {
    const versions = ['v1alpha1', 'v2', 'v1beta2', 'v1', 'v1beta1', 'v11alpha2', 'foo'];
    assert.deepEqual(versions.sort(compareVersions), [
      'v2',
      'v1',
      'v1beta2',
      'v1beta1',
      'v11alpha2',
      'v1alpha1',
      'foo',
    ]);
  });
  test('human durations as kubectl prints them', () => {
    const s = 1000;
    assert.deepEqual(
      [
        5 * s,
        119 * s,
        150 * s,
        11 * 60 * s,
        4 * 3600 * s + 5 * 60 * s,
        30 * 3600 * s,
        3 * 86400 * s + 3600 * s,
        400 * 86400 * s,
        3 * 365 * 86400 * s,
      ].map(humanDuration),
      ['5s', '119s', '2m30s', '11m', '4h5m', '30h', '3d1h', '400d', '3y'],
    );
  });
});
