// What the emulator serves: one ResourceType per group/version/resource, built-in or from a
// CRD, and the registry discovery, OpenAPI and request routing read from.
import type { FieldError } from './errors.ts';
import type { KubeObject, NameRule } from './meta.ts';
import type { Schema } from './schema.ts';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A server-side printer: the columns of `kubectl get` and how to fill one row. */
export interface Printer {
  columns: TableColumn[];
  cells(obj: KubeObject, now: Date): unknown[];
}

/** Per-kind rules the generic verbs call, like the registry strategies of the apiserver. */
export interface Hooks {
  /** Server-side defaults and resets on create (e.g. a new pod's status is Pending). */
  prepareForCreate?(obj: KubeObject): void;
  /** Defaults on update; `old` is the stored object. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Warnings the response carries for an accepted object (e.g. CEL rules not evaluated). */
  warnings?(obj: KubeObject): string[];
  /** Kind-specific validation beyond the schema; `old` is set on update. */
  validate?(obj: KubeObject, old: KubeObject | undefined): FieldError[];
  /**
   * Called on the first DELETE; marks the object terminating and returns true when it must
   * stay until a controller finishes (namespaces, CRDs).
   */
  beginDelete?(obj: KubeObject): boolean;
  /** Converts a request-version object to the shared storage form. */
  toStorage?(obj: KubeObject): KubeObject;
  /** Converts a stored object to this version. */
  fromStorage?(obj: KubeObject): KubeObject;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served; only `status` has behaviour. */
  subresources: string[];
  /** Types with the same key share objects and resourceVersions (e.g. core and events.k8s.io Events). */
  storage: string;
  /** The whole-object schema: pruning, strict field validation, OpenAPI, patch merge keys. */
  schema: Schema;
  /** CRDs validate values against their schema; built-ins only decode (type errors become 400). */
  schemaIsValidation: boolean;
  nameRule: NameRule;
  tracksGeneration: boolean;
  returnsDeletedObject: boolean;
  allowCreateOnUpdate: boolean;
  allowUnconditionalUpdate: boolean;
  /** Built-in Go types accept strategic merge patch; custom resources do not. */
  strategicMerge: boolean;
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fieldLabels: Record<string, (obj: KubeObject) => string | undefined>;
  printer: Printer;
  hooks: Hooks;
  /** Set for custom resources: the name of the defining CRD. */
  crd?: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersionOf(rt: { group: string; version: string }): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** Splits `group/version` (or `v1`) into its parts. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function gvr(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

/** Registered resource types, in registration order (discovery order). */
export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();
  /** Bumped on every change so discovery and OpenAPI documents get a new hash. */
  generation = 0;

  add(rt: ResourceType): void {
    this.types.set(gvr(rt.group, rt.version, rt.plural), rt);
    this.generation++;
  }

  remove(rt: ResourceType): void {
    this.types.delete(gvr(rt.group, rt.version, rt.plural));
    this.generation++;
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(gvr(group, version, plural));
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = parseApiVersion(apiVersion);
    for (const rt of this.types.values()) {
      if (rt.group === group && rt.version === version && rt.kind === kind) return rt;
    }
    return undefined;
  }

  /** Any served version of a group and kind; owner references may name another version. */
  byGroupKind(group: string, kind: string): ResourceType | undefined {
    for (const rt of this.types.values()) if (rt.group === group && rt.kind === kind) return rt;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** Groups with their versions, in registration order; the first version is preferred. */
  groups(): { group: string; versions: string[] }[] {
    const out: { group: string; versions: string[] }[] = [];
    for (const rt of this.types.values()) {
      let entry = out.find((g) => g.group === rt.group);
      if (!entry) {
        entry = { group: rt.group, versions: [] };
        out.push(entry);
      }
      if (!entry.versions.includes(rt.version)) entry.versions.push(rt.version);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((rt) => rt.group === group && rt.version === version);
  }
}
