// Kubernetes authorization as the apiserver computes it, for the chart tests: a request's
// attributes (API group, resource, subresource, namespace, name, verb) from its method and
// URL, as k8s.io/apiserver's RequestInfoFactory does, and RBAC's rule matching.
import type { PolicyRule } from './chart.ts';

export interface RequestAttributes {
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string | undefined;
  name: string | undefined;
  verb: string;
}

/** Resource request attributes, or undefined for non-resource URLs (/version, /apis...). */
export function requestAttributes(method: string, url: string): RequestAttributes | undefined {
  const u = new URL(url, 'http://kube-api.local');
  let parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let apiGroup: string;
  if (parts[0] === 'api') {
    apiGroup = '';
    parts = parts.slice(2);
  } else if (parts[0] === 'apis') {
    apiGroup = parts[1] ?? '';
    parts = parts.slice(3);
  } else return undefined;
  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts = parts.slice(1);
  }
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [resource, name, subresource] = parts;
  if (resource === undefined) return undefined;
  const watchParam = u.searchParams.get('watch');
  const watching = watchPath || watchParam === '1' || watchParam === 'true';
  let verb: string;
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      verb = watching ? 'watch' : name === undefined ? 'list' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }
  return { apiGroup, resource, subresource: subresource ?? '', namespace, name, verb };
}

/** `resource` or `resource/subresource`, as RBAC rules name them. */
export function ruleResource(a: Pick<RequestAttributes, 'resource' | 'subresource'>): string {
  return a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
}

/** True when one of the rules allows the request (RBAC: groups, resources, verbs, names). */
export function allows(rules: PolicyRule[], a: RequestAttributes): boolean {
  const resource = ruleResource(a);
  return rules.some(
    (r) =>
      (r.apiGroups.includes('*') || r.apiGroups.includes(a.apiGroup)) &&
      (r.resources.includes('*') || r.resources.includes(resource)) &&
      (r.verbs.includes('*') || r.verbs.includes(a.verb)) &&
      (r.resourceNames === undefined ||
        r.resourceNames.length === 0 ||
        (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

/** One grant: `group|resource|verb[|name]`, the unit the exactness check compares. */
export function grants(rules: PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups)
      for (const res of r.resources)
        for (const v of r.verbs) {
          if (r.resourceNames?.length) for (const n of r.resourceNames) out.add(`${g}|${res}|${v}|${n}`);
          else out.add(`${g}|${res}|${v}`);
        }
  return out;
}

/** The grant a request uses among `rules`: the named one when a name-restricted rule allows it. */
export function grantUsed(rules: PolicyRule[], a: RequestAttributes): string | undefined {
  const resource = ruleResource(a);
  const base = `${a.apiGroup}|${resource}|${a.verb}`;
  const all = grants(rules);
  if (a.name !== undefined && all.has(`${base}|${a.name}`)) return `${base}|${a.name}`;
  return all.has(base) ? base : undefined;
}
