// The controllers a real cluster runs that tests can observe through the API, reduced to
// synchronous passes at the end of every write: the CRD controllers (names accepted,
// Established, serving the kind, cleaning up instances on delete), the namespace controller
// (deleting a namespace's content, then the namespace) and the garbage collector
// (ownerReferences: background, foreground and orphan propagation).
import type { Cluster } from './cluster.ts';
import {
  CRD_CLEANUP_FINALIZER,
  crdGroup,
  crdNames,
  crdStatusChanged,
  customResourceTypes,
  desiredCrdStatus,
} from './crd.ts';
import { isObject } from './json.ts';
import type { KubeObject, OwnerReference } from './meta.ts';
import { parseApiVersion } from './resources.ts';
import type { ResourceType } from './resources.ts';

const CRD_STORAGE = 'apiextensions.k8s.io/customresourcedefinitions';
const NAMESPACE_STORAGE = 'core/namespaces';
const MAX_PASSES = 200;

interface Built {
  generation: number;
  conflict: string | undefined;
  types: ResourceType[];
}

export class GarbageCollector {
  private readonly cluster: Cluster;
  private running = false;
  private readonly built = new Map<string, Built>();

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  /** Runs every controller until nothing changes. Re-entrant calls are absorbed by the running loop. */
  settle(): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let i = 0; i < MAX_PASSES; i++) {
        const before = this.cluster.store.currentRevision;
        const typesChanged = this.syncCrds();
        this.namespaces();
        this.crdCleanup();
        this.ownerReferences();
        if (!typesChanged && this.cluster.store.currentRevision === before) break;
      }
    } finally {
      this.running = false;
    }
  }

  private crdType(): ResourceType {
    return this.cluster.mustType('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
  }

  /** Registers the kinds CRDs serve, and writes each CRD's status; returns true when types changed. */
  private syncCrds(): boolean {
    const registry = this.cluster.registry;
    const crds = this.cluster.store
      .list(CRD_STORAGE)
      .sort(
        (a, b) =>
          (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
          (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
      );
    const taken = new Map<string, string>();
    for (const rt of registry.all()) {
      if (rt.crd) continue;
      taken.set(`${rt.group}/plural/${rt.plural}`, '');
      taken.set(`${rt.group}/kind/${rt.kind}`, '');
    }
    let changed = false;
    const alive = new Set<string>();
    for (const crd of crds) {
      const name = crd.metadata.name ?? '';
      alive.add(name);
      const group = crdGroup(crd);
      const names = crdNames(crd);
      let conflict: string | undefined;
      const pluralOwner = taken.get(`${group}/plural/${names.plural}`);
      const kindOwner = taken.get(`${group}/kind/${names.kind}`);
      if (pluralOwner !== undefined && pluralOwner !== name) conflict = `"${names.plural}" is already in use`;
      else if (kindOwner !== undefined && kindOwner !== name) conflict = `"${names.kind}" is already in use`;
      if (!conflict) {
        taken.set(`${group}/plural/${names.plural}`, name);
        taken.set(`${group}/kind/${names.kind}`, name);
      }
      const desired = desiredCrdStatus(crd, conflict);
      if (crdStatusChanged(crd.status, desired)) {
        this.cluster.systemUpdate(this.crdType(), { ...crd, status: desired });
      }
      const generation = crd.metadata.generation ?? 0;
      const prior = this.built.get(name);
      if (prior && prior.generation === generation && prior.conflict === conflict) continue;
      const removed = prior?.types ?? [];
      for (const rt of removed) registry.remove(rt);
      const types = conflict ? [] : customResourceTypes(crd);
      for (const rt of types) registry.add(rt);
      this.built.set(name, { generation, conflict, types });
      const stillServed = new Set(types.map((t) => `${t.group}/${t.version}/${t.plural}`));
      this.cluster.onTypesChanged(
        removed.filter((t) => !stillServed.has(`${t.group}/${t.version}/${t.plural}`)),
      );
      changed = true;
    }
    for (const [name, built] of [...this.built]) {
      if (alive.has(name)) continue;
      for (const rt of built.types) registry.remove(rt);
      this.built.delete(name);
      this.cluster.onTypesChanged(built.types);
      changed = true;
    }
    return changed;
  }

  private namespacedTypes(): ResourceType[] {
    const seen = new Set<string>();
    const out: ResourceType[] = [];
    for (const rt of this.cluster.registry.all()) {
      if (!rt.namespaced || seen.has(rt.storage)) continue;
      seen.add(rt.storage);
      out.push(rt);
    }
    return out;
  }

  /** Deletes the content of terminating namespaces, then the namespaces. */
  private namespaces(): void {
    const nsType = this.cluster.mustType('v1', 'Namespace');
    for (const ns of this.cluster.store.list(NAMESPACE_STORAGE)) {
      if (!ns.metadata.deletionTimestamp) continue;
      const name = ns.metadata.name ?? '';
      let remaining = 0;
      for (const rt of this.namespacedTypes()) {
        for (const obj of this.cluster.store.list(rt.storage, name)) {
          remaining++;
          if (!obj.metadata.deletionTimestamp)
            this.cluster.deleteAsController(rt, this.cluster.toVersion(rt, obj));
        }
      }
      if (remaining > 0) continue;
      const current = this.cluster.store.get(NAMESPACE_STORAGE, undefined, name);
      if (!current) continue;
      const spec = isObject(current.spec) ? current.spec : {};
      if (Array.isArray(spec.finalizers) && spec.finalizers.length > 0) {
        this.cluster.systemUpdate(nsType, { ...current, spec: { ...spec, finalizers: [] } });
      }
      if ((current.metadata.finalizers ?? []).length === 0) this.cluster.finishDelete(nsType, current);
    }
  }

  /** Deletes the instances of terminating CRDs, then lifts the cleanup finalizer. */
  private crdCleanup(): void {
    const crdType = this.crdType();
    for (const crd of this.cluster.store.list(CRD_STORAGE)) {
      if (!crd.metadata.deletionTimestamp || !(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER))
        continue;
      const storage = `cr:${crdGroup(crd)}/${crdNames(crd).plural}`;
      const rt = this.cluster.typeForStorage(storage);
      const instances = this.cluster.store.list(storage);
      for (const obj of instances) {
        if (obj.metadata.deletionTimestamp) continue;
        if (rt) this.cluster.deleteAsController(rt, this.cluster.toVersion(rt, obj));
        else this.cluster.store.delete(storage, obj.metadata.namespace, obj.metadata.name ?? '');
      }
      if (this.cluster.store.list(storage).length > 0) continue;
      this.removeFinalizer(crdType, crd, CRD_CLEANUP_FINALIZER);
    }
  }

  private removeFinalizer(rt: ResourceType, obj: KubeObject, finalizer: string): void {
    const current = this.cluster.store.get(rt.storage, obj.metadata.namespace, obj.metadata.name ?? '');
    if (!current) return;
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    const next: KubeObject = { ...current, metadata: { ...current.metadata, finalizers } };
    if (finalizers.length === 0) delete next.metadata.finalizers;
    if (finalizers.length === 0 && next.metadata.deletionTimestamp) this.cluster.finishDelete(rt, next);
    else this.cluster.systemUpdate(rt, this.cluster.toVersion(rt, next));
  }

  private ownerType(ref: OwnerReference): ResourceType | undefined {
    return this.cluster.registry.byGroupKind(parseApiVersion(ref.apiVersion).group, ref.kind);
  }

  private owner(
    ref: OwnerReference,
    dependentNamespace: string | undefined,
  ): KubeObject | 'absent' | 'unknown' {
    const rt = this.ownerType(ref);
    if (!rt) return 'unknown';
    const found = this.cluster.store.get(
      rt.storage,
      rt.namespaced ? dependentNamespace : undefined,
      ref.name,
    );
    return found && found.metadata.uid === ref.uid ? found : 'absent';
  }

  /** The garbage collector: dependents follow their owners' deletion. */
  private ownerReferences(): void {
    const referenced = new Set<string>();
    for (const storage of this.cluster.store.storages()) {
      const rt = this.cluster.typeForStorage(storage);
      if (!rt) continue;
      for (const stored of this.cluster.store.list(storage)) {
        const refs = stored.metadata.ownerReferences ?? [];
        if (refs.length === 0) continue;
        const dependent = this.cluster.toVersion(rt, stored);
        const keep: OwnerReference[] = [];
        let absent = 0;
        let foreground = 0;
        let solid = 0;
        for (const ref of refs) {
          const owner = this.owner(ref, stored.metadata.namespace);
          if (owner === 'absent') {
            absent++;
            continue;
          }
          if (owner !== 'unknown' && owner.metadata.deletionTimestamp) {
            const fins = owner.metadata.finalizers ?? [];
            if (fins.includes('orphan')) continue;
            if (fins.includes('foregroundDeletion')) foreground++;
            else solid++;
          } else {
            solid++;
          }
          keep.push(ref);
          referenced.add(ref.uid);
        }
        if (solid === 0 && (absent > 0 || foreground > 0)) {
          if (!dependent.metadata.deletionTimestamp) {
            this.cluster.deleteAsController(rt, dependent, foreground > 0 ? 'Foreground' : 'Background');
          }
        } else if (keep.length !== refs.length) {
          const next: KubeObject = {
            ...dependent,
            metadata: { ...dependent.metadata, ownerReferences: keep },
          };
          if (keep.length === 0) delete next.metadata.ownerReferences;
          this.cluster.systemUpdate(rt, next);
        }
      }
    }
    for (const storage of this.cluster.store.storages()) {
      const rt = this.cluster.typeForStorage(storage);
      if (!rt) continue;
      for (const obj of this.cluster.store.list(storage)) {
        if (!obj.metadata.deletionTimestamp || referenced.has(obj.metadata.uid ?? '')) continue;
        for (const f of ['orphan', 'foregroundDeletion']) {
          if ((obj.metadata.finalizers ?? []).includes(f)) this.removeFinalizer(rt, obj, f);
        }
      }
    }
  }
}
