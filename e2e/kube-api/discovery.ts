// API discovery: the legacy documents (/api, /apis, /api/v1, /apis/GROUP/VERSION) and the
// aggregated form (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) kubectl 1.33 asks for
// first, both generated from the registry so a new CRD is discoverable at once.
import type { JsonObject } from './json.ts';
import { apiVersionOf } from './resources.ts';
import type { ResourceRegistry, ResourceType } from './resources.ts';

const VERSION_RE = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Kubernetes version priority: GA before beta before alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const ma = VERSION_RE.exec(a);
  const mb = VERSION_RE.exec(b);
  if (!ma || !mb) return ma ? -1 : mb ? 1 : a.localeCompare(b);
  const rank = (m: RegExpExecArray): number => (m[2] === undefined ? 2 : m[2] === 'beta' ? 1 : 0);
  if (rank(ma) !== rank(mb)) return rank(mb) - rank(ma);
  if (ma[1] !== mb[1]) return Number(mb[1]) - Number(ma[1]);
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

const STATUS_VERBS = ['get', 'patch', 'update'];

function legacyResources(types: ResourceType[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const rt of types) {
    const r: JsonObject = {
      name: rt.plural,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: rt.verbs,
    };
    if (rt.shortNames.length > 0) r.shortNames = rt.shortNames;
    if (rt.categories.length > 0) r.categories = rt.categories;
    out.push(r);
    for (const sub of rt.subresources) {
      out.push({
        name: `${rt.plural}/${sub}`,
        singularName: '',
        namespaced: rt.namespaced,
        kind: rt.kind,
        verbs: sub === 'finalize' ? ['update'] : STATUS_VERBS,
      });
    }
  }
  return out;
}

export function apiVersions(host: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
  };
}

function groupEntry(registry: ResourceRegistry, group: string): JsonObject {
  const versions = (registry.groups().find((g) => g.group === group)?.versions ?? [])
    .slice()
    .sort(compareVersions);
  const entries = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: entries, preferredVersion: entries[0] ?? {} };
}

export function apiGroupList(registry: ResourceRegistry): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groups()
      .filter((g) => g.group !== '')
      .map((g) => groupEntry(registry, g.group)),
  };
}

export function apiGroup(registry: ResourceRegistry, group: string): JsonObject | undefined {
  if (group === '' || !registry.groups().some((g) => g.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(registry, group) };
}

export function apiResourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources: legacyResources(types),
  };
}

function aggregatedResource(rt: ResourceType): JsonObject {
  const r: JsonObject = {
    resource: rt.plural,
    responseKind: { group: rt.group, version: rt.version, kind: rt.kind },
    scope: rt.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: rt.singular,
    verbs: rt.verbs,
  };
  if (rt.shortNames.length > 0) r.shortNames = rt.shortNames;
  if (rt.categories.length > 0) r.categories = rt.categories;
  if (rt.subresources.length > 0) {
    r.subresources = rt.subresources.map((sub) => ({
      subresource: sub,
      responseKind: { group: rt.group, version: rt.version, kind: rt.kind },
      verbs: sub === 'finalize' ? ['update'] : STATUS_VERBS,
    }));
  }
  return r;
}

function aggregatedGroup(registry: ResourceRegistry, group: string): JsonObject {
  const versions = (registry.groups().find((g) => g.group === group)?.versions ?? [])
    .slice()
    .sort(compareVersions);
  const metadata: JsonObject = { creationTimestamp: null };
  if (group) metadata.name = group;
  return {
    metadata,
    versions: versions.map((v) => ({
      version: v,
      resources: registry.inGroupVersion(group, v).map(aggregatedResource),
      freshness: 'Current',
    })),
  };
}

/** The aggregated discovery document of /api (core only) or /apis (every other group). */
export function aggregatedDiscovery(
  registry: ResourceRegistry,
  legacy: boolean,
  version: string,
): JsonObject {
  const groups = registry.groups().filter((g) => (legacy ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((g) => aggregatedGroup(registry, g.group)),
  };
}

export function aggregatedContentType(version: string): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}
