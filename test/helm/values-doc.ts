// The chart's values as documented: every leaf of values.schema.json (a field whose schema
// has no nested properties) with its default from values.yaml and its `# -- description`
// comment (the helm-docs convention), for the documentation tests and the README table.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isPair, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import { CHART } from './chart.ts';

export interface ValueDoc {
  path: string;
  description: string | undefined;
  default: unknown;
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  description?: string;
}

/** Paths of the schema's leaves, in the schema's order. */
export function schemaLeaves(node: SchemaNode, prefix = ''): string[] {
  if (!node.properties) return [prefix];
  return Object.entries(node.properties).flatMap(([k, child]) =>
    // Helm's own `global` is accepted, not documented.
    prefix === '' && k === 'global' ? [] : schemaLeaves(child, prefix ? `${prefix}.${k}` : k),
  );
}

export function loadSchema(): SchemaNode {
  return JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as SchemaNode;
}

/** The `-- ...` paragraph of a comment block (continuation lines included), or undefined. */
function description(comment: string | undefined): string | undefined {
  if (!comment) return undefined;
  const lines = comment.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith('-- '));
  if (start < 0) return undefined;
  const out = [lines[start]?.slice(3) ?? ''];
  for (const l of lines.slice(start + 1)) {
    if (l === '' || l.startsWith('-- ')) break;
    out.push(l);
  }
  return out.join(' ');
}

/** Every schema leaf with its values.yaml default and description. */
export function valuesDocs(): ValueDoc[] {
  const doc = parseDocument(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  const found = new Map<string, { comment: string | undefined; node: Node | null }>();
  const walk = (map: YAMLMap, prefix: string, inherited: string | undefined): void => {
    map.items.forEach((item, index) => {
      if (!isPair(item) || !isScalar(item.key)) return;
      const path = `${prefix}${String(item.key.value)}`;
      // The first key's comment is the map's own comment (yaml attaches it there).
      const comment = item.key.commentBefore ?? (index === 0 ? inherited : undefined);
      const value = item.value as Node | null;
      found.set(path, { comment, node: value });
      if (isMap(value)) walk(value, `${path}.`, value.commentBefore ?? undefined);
    });
  };
  walk(doc.contents as YAMLMap, '', undefined);
  const defaults = doc.toJS() as Record<string, unknown>;
  return schemaLeaves(loadSchema()).map((path) => ({
    path,
    description: description(found.get(path)?.comment),
    default: path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], defaults),
  }));
}

/** A default as the README table shows it. */
export function formatDefault(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value === '' ? '`""`' : `\`${value}\``;
  return `\`${JSON.stringify(value)}\``;
}

/** The README's values table (`| key | default | description |`), generated from the chart. */
export function valuesTable(): string {
  const rows = valuesDocs().map(
    (d) => `| \`${d.path}\` | ${formatDefault(d.default).replaceAll('|', '\\|')} | ${(d.description ?? '').replaceAll('|', '\\|')} |`,
  );
  return ['| Key | Default | Description |', '| --- | --- | --- |', ...rows].join('\n');
}
