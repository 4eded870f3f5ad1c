import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderCrds } from '../scripts/gen-crds.ts';

const rendered = renderCrds();

for (const [file, text] of Object.entries(rendered)) {
  test(`crds/${file} is what core's zod schemas generate (run npm run gen:crds after a schema change)`, () => {
    assert.equal(readFileSync(`crds/${file}`, 'utf8'), text);
  });
  test(
    `the chart's crds/${file} is identical to crds/${file}`,
    { skip: !existsSync('helm/workflow-router/crds') },
    () => {
      assert.equal(readFileSync(`helm/workflow-router/crds/${file}`, 'utf8'), text);
    },
  );
}

test('CRD schemas are structural: every object has a type, no additionalProperties: false, no $schema', () => {
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    assert.ok(!('$schema' in o), `${path} has $schema`);
    assert.notEqual(o.additionalProperties, false, `${path} has additionalProperties: false`);
    if ('properties' in o)
      assert.equal(o.type, 'object', `${path} has properties but type ${String(o.type)}`);
    for (const [k, v] of Object.entries(o)) walk(v, `${path}.${k}`);
  };
  for (const [file, text] of Object.entries(rendered)) walk(parse(text), file);
});

test('printer columns point at fields the schemas define', () => {
  for (const text of Object.values(rendered)) {
    const crd = parse(text) as {
      spec: {
        versions: {
          additionalPrinterColumns: { jsonPath: string }[];
          schema: { openAPIV3Schema: Record<string, unknown> };
        }[];
      };
    };
    const version = crd.spec.versions[0];
    assert.ok(version);
    for (const column of version.additionalPrinterColumns) {
      if (column.jsonPath.startsWith('.metadata.')) continue;
      let node: unknown = version.schema.openAPIV3Schema;
      for (const part of column.jsonPath.slice(1).split('.')) {
        node = (node as { properties?: Record<string, unknown> }).properties?.[part];
        assert.ok(node, `${column.jsonPath} is not in the schema`);
      }
    }
  }
});
