// `meta.k8s.io/v1` Table rendering, what `kubectl get` asks for: the apiserver prints rows
// server-side so kubectl needs no knowledge of the kind. Custom resources print their
// `additionalPrinterColumns`; kinds without a printer get Name and Created At.
import { isObject } from './json.ts';
import type { JsonObject } from './json.ts';
import { evalJsonPath, jsonPathText, parseJsonPath } from './jsonpath.ts';
import type { KubeObject } from './meta.ts';
import type { Printer, ResourceType, TableColumn } from './resources.ts';

/** k8s.io/apimachinery duration.HumanDuration: `45s`, `3m20s`, `5h`, `12d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const d = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return d === 0 ? `${y}y` : `${y}y${d}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** The age of a timestamp as kubectl shows it, `<unknown>` when absent. */
export function age(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<invalid>';
  return humanDuration(now.getTime() - t);
}

export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

export const CREATED_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

export function column(
  name: string,
  type = 'string',
  description = '',
  priority = 0,
  format = '',
): TableColumn {
  return { name, type, format, description, priority };
}

export const nameColumn = column('Name', 'string', NAME_DESCRIPTION, 0, 'name');

/** The apiserver's default table: Name and the creation time in RFC 3339. */
export const defaultPrinter: Printer = {
  columns: [nameColumn, column('Created At', 'date', CREATED_DESCRIPTION)],
  cells: (obj) => [obj.metadata.name ?? '', obj.metadata.creationTimestamp ?? ''],
};

export interface PrinterColumnSpec {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

function cellFor(type: string, values: unknown[]): unknown {
  const value = values[0];
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'string':
      return jsonPathText([value]);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? value : null;
  }
  return null;
}

/** A custom resource printer from `additionalPrinterColumns` (default: an Age column). */
export function crdPrinter(specs: PrinterColumnSpec[]): Printer {
  const effective: PrinterColumnSpec[] =
    specs.length > 0
      ? specs
      : [
          {
            name: 'Age',
            type: 'date',
            description: CREATED_DESCRIPTION,
            jsonPath: '.metadata.creationTimestamp',
          },
        ];
  const paths = effective.map((c) => {
    try {
      return parseJsonPath(c.jsonPath);
    } catch {
      return undefined;
    }
  });
  return {
    columns: [
      nameColumn,
      ...effective.map((c) =>
        column(
          c.name,
          c.type,
          c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          c.priority ?? 0,
          c.format ?? '',
        ),
      ),
    ],
    cells: (obj, now) => [
      obj.metadata.name ?? '',
      ...effective.map((c, i) => {
        const path = paths[i];
        const cell = path ? cellFor(c.type, evalJsonPath(path, obj)) : null;
        return c.type === 'date' && typeof cell === 'string' ? age(cell, now) : cell;
      }),
    ],
  };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(obj: KubeObject, include: IncludeObject): JsonObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** Renders objects as a Table; `listMeta` carries resourceVersion and continue of a list. */
export function toTable(
  rt: ResourceType,
  objects: KubeObject[],
  include: IncludeObject,
  listMeta: JsonObject,
  noHeaders = false,
): JsonObject {
  const now = new Date();
  const rows = objects.map((obj) => {
    const row: JsonObject = { cells: rt.printer.cells(obj, now) };
    const o = rowObject(obj, include);
    if (o) row.object = o;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: noHeaders ? [] : rt.printer.columns,
    rows,
  };
}

/** A one-line summary of a map for printer cells, `<none>` when empty. */
export function mapSummary(value: unknown): string {
  if (!isObject(value) || Object.keys(value).length === 0) return '<none>';
  return Object.entries(value)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}
