// The emulator's wire protocol over plain HTTP: discovery, OpenAPI v3, the watch stream
// (bookmarks, selector transitions, 410 Gone from a bounded history, timeouts), tables,
// metadata-only lists, pagination, dry run, patch types and the built-in strategies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { eventually } from './helpers/eventually.ts';
import { isObject, text } from './kube-api/json.ts';
import type { JsonObject } from './kube-api/json.ts';
import { startKubeApi } from './kube-api/server.ts';
import type { KubeApi } from './kube-api/server.ts';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
const WF = '/apis/workflow-router.vllm.ai/v1alpha1';

interface Reply {
  status: number;
  body: JsonObject;
  headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { 'Content-Type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(base + path, init);
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  return { status: res.status, body: isObject(parsed) ? parsed : {}, headers: res.headers };
}

function items(r: Reply): JsonObject[] {
  return Array.isArray(r.body.items) ? (r.body.items as JsonObject[]) : [];
}

function meta(o: unknown): JsonObject {
  return isObject(o) && isObject(o.metadata) ? o.metadata : {};
}

/** A watch reading newline-delimited events in the background. */
class WatchStream {
  readonly events: JsonObject[] = [];
  ended = false;
  private readonly controller = new AbortController();

  constructor(url: string, accept = 'application/json') {
    void this.run(url, accept);
  }

  private async run(url: string, accept: string): Promise<void> {
    try {
      const res = await fetch(url, { headers: { Accept: accept }, signal: this.controller.signal });
      if (!res.body) return;
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const parsed: unknown = JSON.parse(buffer.slice(0, nl));
          if (isObject(parsed)) this.events.push(parsed);
          buffer = buffer.slice(nl + 1);
        }
      }
    } catch {
      // aborted by close()
    } finally {
      this.ended = true;
    }
  }

  types(): string[] {
    return this.events.map((e) => `${text(e.type)} ${text(meta(e.object).name)}`);
  }

  close(): void {
    this.controller.abort();
  }
}

describe('kube-api emulator protocol', () => {
  let api: KubeApi;

  before(async () => {
    api = await startKubeApi({ bookmarkIntervalMs: 50 });
    for (const file of ['workflows.yaml', 'vllmpools.yaml']) {
      const crd = parse(
        readFileSync(new URL(`./kube-api/testdata/crds/${file}`, import.meta.url), 'utf8'),
      ) as unknown;
      const r = await call(api.url, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });

  after(async () => {
    await api.close();
  });

  test('version, legacy and aggregated discovery', async () => {
    const version = await call(api.url, 'GET', '/version');
    assert.equal(version.body.gitVersion, 'v1.33.0');
    const legacy = await call(api.url, 'GET', '/api');
    assert.deepEqual(legacy.body.versions, ['v1']);
    const agg = await call(api.url, 'GET', '/apis', undefined, { Accept: AGGREGATED });
    assert.equal(
      agg.headers.get('content-type'),
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    const group = items(agg).find((g) => meta(g).name === 'workflow-router.vllm.ai');
    const versions = (group?.versions ?? []) as { resources: JsonObject[] }[];
    const workflows = versions[0]?.resources.find((r) => r.resource === 'workflows');
    assert.deepEqual(workflows?.shortNames, ['wf']);
    assert.deepEqual(workflows?.categories, ['workflow-router']);
    assert.deepEqual((workflows?.subresources as JsonObject[])[0]?.subresource, 'status');
    const list = await call(api.url, 'GET', WF);
    const names = ((list.body.resources ?? []) as JsonObject[]).map((r) => r.name);
    assert.deepEqual(names, ['workflows', 'workflows/status', 'vllmpools', 'vllmpools/status']);
    const missing = await call(api.url, 'GET', '/apis/nope.example.com/v1');
    assert.equal(missing.status, 404);
  });

  test('OpenAPI v3 declares fieldValidation on PATCH and the kinds by group-version-kind', async () => {
    const index = await call(api.url, 'GET', '/openapi/v3');
    const paths = index.body.paths as Record<string, { serverRelativeURL: string }>;
    const ref = paths['apis/workflow-router.vllm.ai/v1alpha1']?.serverRelativeURL ?? '';
    assert.match(ref, /^\/openapi\/v3\/apis\/workflow-router.vllm.ai\/v1alpha1\?hash=[0-9A-F]+$/);
    const doc = await call(api.url, 'GET', ref);
    const item = (doc.body.paths as Record<string, JsonObject>)[
      `${WF}/namespaces/{namespace}/workflows/{name}`
    ];
    const patch = item?.patch as JsonObject;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], {
      group: 'workflow-router.vllm.ai',
      version: 'v1alpha1',
      kind: 'Workflow',
    });
    assert.ok((patch.parameters as JsonObject[]).some((p) => p.name === 'fieldValidation'));
    const schemas = (doc.body.components as JsonObject).schemas as Record<string, JsonObject>;
    assert.deepEqual(
      schemas['ai.vllm.workflow-router.v1alpha1.Workflow']?.['x-kubernetes-group-version-kind'],
      [{ group: 'workflow-router.vllm.ai', version: 'v1alpha1', kind: 'Workflow' }],
    );
    const core = await call(api.url, 'GET', paths['api/v1']?.serverRelativeURL ?? '');
    assert.ok((core.body.components as JsonObject).schemas);
    assert.equal((await call(api.url, 'GET', '/openapi/v2')).status, 404);
  });

  test('watch from a resourceVersion: ADDED, MODIFIED, DELETED in order, then bookmarks', async () => {
    const list = await call(api.url, 'GET', '/api/v1/namespaces/default/configmaps');
    const rv = String(meta(list.body).resourceVersion);
    const w = new WatchStream(
      `${api.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`,
    );
    try {
      await eventually('watch open', () => api.openWatches === 1);
      await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'w1' },
        data: { a: '1' },
      });
      await call(
        api.url,
        'PATCH',
        '/api/v1/namespaces/default/configmaps/w1',
        { data: { a: '2' } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      await call(api.url, 'DELETE', '/api/v1/namespaces/default/configmaps/w1');
      await eventually('three events', () => w.events.filter((e) => e.type !== 'BOOKMARK').length === 3);
      assert.deepEqual(
        w.types().filter((t) => !t.startsWith('BOOKMARK')),
        ['ADDED w1', 'MODIFIED w1', 'DELETED w1'],
      );
      const rvs = w.events
        .filter((e) => e.type !== 'BOOKMARK')
        .map((e) => Number(meta(e.object).resourceVersion));
      assert.ok(
        rvs.every((v, i) => i === 0 || v > (rvs[i - 1] ?? 0)),
        'resourceVersions increase',
      );
      const bookmark = await eventually('a bookmark after the events', () => {
        const deleted = w.events.findIndex((e) => e.type === 'DELETED');
        return w.events.slice(deleted + 1).find((e) => e.type === 'BOOKMARK');
      });
      assert.equal((bookmark.object as JsonObject).kind, 'ConfigMap');
      assert.ok(Number(meta(bookmark.object).resourceVersion) >= (rvs[2] ?? 0));
    } finally {
      w.close();
    }
  });

  test('a selector watch sees objects enter and leave the selection', async () => {
    const w = new WatchStream(
      `${api.url}/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dvllm`,
    );
    try {
      await eventually('watch open', () => api.openWatches === 1);
      const pod = {
        metadata: { name: 'p', labels: { app: 'other' } },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      };
      await call(api.url, 'POST', '/api/v1/namespaces/default/pods', pod);
      const patch = (app: string) =>
        call(
          api.url,
          'PATCH',
          '/api/v1/namespaces/default/pods/p',
          { metadata: { labels: { app } } },
          { 'Content-Type': 'application/merge-patch+json' },
        );
      await patch('vllm');
      await patch('other');
      await eventually('enter and leave', () => w.events.length === 2);
      assert.deepEqual(w.types(), ['ADDED p', 'DELETED p']);
    } finally {
      w.close();
    }
  });

  test('a resourceVersion older than the history is 410 Gone; timeoutSeconds ends a watch', async () => {
    const small = await startKubeApi({ historyLimit: 5 });
    try {
      const first = await call(small.url, 'POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'c0' },
      });
      const old = String(meta(first.body).resourceVersion);
      for (let i = 1; i <= 10; i++)
        await call(small.url, 'POST', '/api/v1/namespaces/default/configmaps', {
          metadata: { name: `c${i}` },
        });
      const expired = new WatchStream(
        `${small.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${old}`,
      );
      await eventually('the stream to end', () => expired.ended);
      assert.equal(expired.events.length, 1);
      const status = expired.events[0]?.object as JsonObject;
      assert.equal(expired.events[0]?.type, 'ERROR');
      assert.equal(status.code, 410);
      assert.equal(status.reason, 'Expired');
      assert.match(String(status.message), /^too old resource version: /);

      const page = await call(small.url, 'GET', '/api/v1/namespaces/default/configmaps?limit=2');
      await call(small.url, 'POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'after-page' },
      });
      small.compact();
      const stale = await call(
        small.url,
        'GET',
        `/api/v1/namespaces/default/configmaps?limit=2&continue=${String(meta(page.body).continue)}`,
      );
      assert.equal(stale.status, 410);

      const timed = new WatchStream(
        `${small.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1`,
      );
      await eventually('the timeout to end the watch', () => timed.ended);
      assert.equal(
        timed.events.filter((e) => e.type === 'ADDED').length,
        12,
        'no resourceVersion: current objects first',
      );
    } finally {
      await small.close();
    }
  });

  test('closeWatches ends streams; a deleted CRD ends its watches and stops serving the kind', async () => {
    const w = new WatchStream(`${api.url}/api/v1/namespaces/default/secrets?watch=1`);
    await eventually('watch open', () => api.openWatches === 1);
    api.closeWatches();
    await eventually('the stream to end', () => w.ended);

    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Cluster',
        names: { plural: 'gadgets', kind: 'Gadget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
                'x-kubernetes-validations': [{ rule: 'self.?spec.orValue(true)' }],
              },
            },
          },
        ],
      },
    };
    const created = await call(
      api.url,
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      crd,
    );
    assert.equal(created.status, 201);
    assert.match(
      created.headers.get('warning') ?? '',
      /rule \\"self.\?spec.orValue\(true\)\\" is outside the CEL subset/,
    );
    assert.equal(
      (
        await call(api.url, 'POST', '/apis/example.com/v1/gadgets', {
          metadata: { name: 'g1', finalizers: ['example.com/f'] },
          anything: { goes: true },
        })
      ).status,
      201,
    );
    const gw = new WatchStream(`${api.url}/apis/example.com/v1/gadgets?watch=1`);
    await eventually('watch open', () => api.openWatches === 1);
    await call(
      api.url,
      'DELETE',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com',
    );
    const terminating = await call(
      api.url,
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com',
    );
    const conditions = ((terminating.body.status as JsonObject).conditions ?? []) as JsonObject[];
    assert.ok(conditions.some((c) => c.type === 'Terminating' && c.status === 'True'));
    assert.equal(
      (await call(api.url, 'POST', '/apis/example.com/v1/gadgets', { metadata: { name: 'g2' } })).status,
      405,
    );
    await call(
      api.url,
      'PATCH',
      '/apis/example.com/v1/gadgets/g1',
      { metadata: { finalizers: null } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    await eventually('the CR watch to end', () => gw.ended);
    assert.equal((await call(api.url, 'GET', '/apis/example.com/v1/gadgets')).status, 404);
    assert.equal(
      (
        await call(
          api.url,
          'GET',
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com',
        )
      ).status,
      404,
    );
  });

  test('tables, metadata-only lists and pagination', async () => {
    for (const name of ['t1', 't2', 't3']) {
      await call(api.url, 'POST', `${WF}/namespaces/default/workflows`, {
        apiVersion: 'workflow-router.vllm.ai/v1alpha1',
        kind: 'Workflow',
        metadata: { name, labels: { set: 'tables' } },
        spec: { poolRef: 'p' },
      });
    }
    const table = await call(
      api.url,
      'GET',
      `${WF}/namespaces/default/workflows?includeObject=Object&labelSelector=set%3Dtables`,
      undefined,
      { Accept: TABLE },
    );
    assert.equal(table.body.kind, 'Table');
    assert.equal(table.headers.get('content-type'), 'application/json;as=Table;v=v1;g=meta.k8s.io');
    assert.deepEqual(
      (table.body.columnDefinitions as JsonObject[]).map((c) => c.name),
      ['Name', 'Pool', 'Phase', 'Pod', 'Calls', 'Ready', 'Age'],
    );
    const rows = table.body.rows as JsonObject[];
    assert.deepEqual(
      rows.map((r) => (r.cells as unknown[]).slice(0, 3)),
      [
        ['t1', 'p', null],
        ['t2', 'p', null],
        ['t3', 'p', null],
      ],
    );
    assert.equal((rows[0]?.object as JsonObject).kind, 'Workflow');

    const partial = await call(
      api.url,
      'GET',
      `${WF}/namespaces/default/workflows?labelSelector=set%3Dtables`,
      undefined,
      { Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' },
    );
    assert.equal(partial.body.kind, 'PartialObjectMetadataList');
    assert.equal(items(partial)[0]?.spec, undefined);

    const page1 = await call(api.url, 'GET', `${WF}/namespaces/default/workflows?limit=2`);
    assert.equal(items(page1).length, 2);
    assert.equal(meta(page1.body).remainingItemCount, 1);
    const page2 = await call(
      api.url,
      'GET',
      `${WF}/namespaces/default/workflows?limit=2&continue=${String(meta(page1.body).continue)}`,
    );
    assert.deepEqual(
      items(page2).map((o) => meta(o).name),
      ['t3'],
    );
    assert.equal(meta(page2.body).continue, undefined);
    assert.equal(
      (
        await call(api.url, 'GET', '/api/v1/namespaces', undefined, {
          Accept: 'application/vnd.kubernetes.protobuf',
        })
      ).status,
      406,
    );
  });

  test('dry run, generateName, YAML bodies and the rules of create', async () => {
    const dry = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
      metadata: { name: 'dry' },
    });
    assert.equal(dry.status, 201);
    assert.equal(api.get('v1', 'configmaps', 'default', 'dry'), undefined);
    const generated = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'gen-' },
    });
    assert.match(String(meta(generated.body).name), /^gen-[a-z0-9]{5}$/);
    const yaml = await call(
      api.url,
      'POST',
      '/api/v1/namespaces/default/configmaps',
      'metadata:\n  name: from-yaml\ndata:\n  k: v\n',
      { 'Content-Type': 'application/yaml' },
    );
    assert.equal(yaml.status, 201);
    const withRv = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'rv', resourceVersion: '5' },
    });
    assert.equal(withRv.status, 400);
    assert.equal(withRv.body.message, 'resourceVersion should not be set on objects to be created');
    const dup = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'from-yaml' },
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'configmaps "from-yaml" already exists');
    const badName = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'Bad_Name' },
    });
    assert.equal(badName.status, 422);
    assert.match(
      String(badName.body.message),
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    const wrongNs = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'x', namespace: 'kube-system' },
    });
    assert.equal(wrongNs.status, 400);
  });

  test('patch types: merge, JSON patch, strategic (built-ins only) and server-side apply', async () => {
    const base = `${WF}/namespaces/default/workflows`;
    await call(api.url, 'POST', base, {
      apiVersion: 'workflow-router.vllm.ai/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'patchy' },
      spec: { poolRef: 'p', agents: [{ name: 'a' }] },
    });
    const json = await call(
      api.url,
      'PATCH',
      `${base}/patchy`,
      [{ op: 'add', path: '/spec/agents/-', value: { name: 'b' } }],
      { 'Content-Type': 'application/json-patch+json' },
    );
    assert.deepEqual((json.body.spec as JsonObject).agents, [{ name: 'a' }, { name: 'b' }]);
    const failedTest = await call(
      api.url,
      'PATCH',
      `${base}/patchy`,
      [{ op: 'test', path: '/spec/poolRef', value: 'other' }],
      { 'Content-Type': 'application/json-patch+json' },
    );
    assert.equal(failedTest.status, 422);
    const smp = await call(
      api.url,
      'PATCH',
      `${base}/patchy`,
      { spec: { poolRef: 'q' } },
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(smp.status, 415);
    const staleMerge = await call(
      api.url,
      'PATCH',
      `${base}/patchy`,
      { metadata: { resourceVersion: '1' }, spec: { poolRef: 'q' } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(staleMerge.status, 409, 'a resourceVersion in a patch is a precondition');

    const applyBody =
      'apiVersion: workflow-router.vllm.ai/v1alpha1\nkind: Workflow\nmetadata:\n  name: applied\nspec:\n  poolRef: p\n  ttlSeconds: 120\n';
    const applied = await call(api.url, 'PATCH', `${base}/applied?fieldManager=operator`, applyBody, {
      'Content-Type': 'application/apply-patch+yaml',
    });
    assert.equal(applied.status, 201);
    const managed = meta(applied.body).managedFields as JsonObject[];
    assert.equal(managed[0]?.manager, 'operator');
    assert.equal(managed[0]?.operation, 'Apply');
    assert.deepEqual(managed[0]?.fieldsV1, { 'f:spec': { 'f:poolRef': {}, 'f:ttlSeconds': {} } });
    const noManager = await call(api.url, 'PATCH', `${base}/applied`, applyBody, {
      'Content-Type': 'application/apply-patch+yaml',
    });
    assert.equal(noManager.status, 400);
    const rival = await call(
      api.url,
      'PATCH',
      `${base}/applied?fieldManager=rival`,
      applyBody.replace('120', '300'),
      { 'Content-Type': 'application/apply-patch+yaml' },
    );
    assert.equal(rival.status, 409);
    assert.equal(
      rival.body.message,
      'Apply failed with 1 conflict: conflict with "operator" using workflow-router.vllm.ai/v1alpha1: .spec.ttlSeconds',
    );
    const status = await call(
      api.url,
      'PATCH',
      `${base}/applied/status?fieldManager=operator`,
      {
        apiVersion: 'workflow-router.vllm.ai/v1alpha1',
        kind: 'Workflow',
        metadata: { name: 'applied' },
        status: { phase: 'Idle' },
      },
      { 'Content-Type': 'application/apply-patch+yaml' },
    );
    assert.equal((status.body.status as JsonObject).phase, 'Idle');
    assert.equal((status.body.spec as JsonObject).ttlSeconds, 120);
  });

  test('built-in strategies: services get cluster IPs, secrets fold stringData, pods keep their spec', async () => {
    const svc = await call(api.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'router' },
      spec: { type: 'NodePort', selector: { app: 'router' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const spec = svc.body.spec as JsonObject;
    assert.match(String(spec.clusterIP), /^10\.96\.\d+\.\d+$/);
    const port = (spec.ports as JsonObject[])[0];
    assert.equal(port?.protocol, 'TCP');
    assert.ok(Number(port?.nodePort) >= 30000);
    const noPorts = await call(api.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'empty' },
      spec: {},
    });
    assert.equal(noPorts.status, 422);

    const secret = await call(api.url, 'POST', '/api/v1/namespaces/default/secrets', {
      metadata: { name: 's' },
      stringData: { token: 'abc' },
    });
    assert.deepEqual(secret.body.data, { token: Buffer.from('abc').toString('base64') });
    assert.equal(secret.body.type, 'Opaque');
    assert.equal(secret.body.stringData, undefined);
    const badBase64 = await call(api.url, 'POST', '/api/v1/namespaces/default/secrets', {
      metadata: { name: 's2' },
      data: { token: 'not base64!' },
    });
    assert.equal(badBase64.status, 400);

    const wrongType = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'typed' },
      data: { n: 1 },
    });
    assert.equal(wrongType.status, 400, 'a number where Go expects a string fails decoding');
    const warned = await call(api.url, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'warned' },
      extra: 1,
    });
    assert.equal(warned.status, 201);
    assert.equal(warned.headers.get('warning'), '299 - "unknown field \\"extra\\""');
  });

  test('the CLI prints a kubeconfig path for a server on the requested port', async () => {
    const main = fileURLToPath(new URL('./kube-api/main.ts', import.meta.url));
    const child = spawn(process.execPath, [main, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const path = await eventually('the kubeconfig path', () => out.includes('\n') && out.split('\n')[0]);
      assert.ok(existsSync(path));
      const config = parse(readFileSync(path, 'utf8')) as { clusters: { cluster: { server: string } }[] };
      const server = config.clusters[0]?.cluster.server ?? '';
      assert.match(server, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await call(server, 'GET', '/version')).body.major, '1');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
