// The controllers a real cluster runs that tests can observe through the API, reduced to
// synchronous passes at the end of every write: the CRD controllers (names accepted,
// Established, serving the kind, cleaning up instances on delete), the namespace controller
// (deleting a namespace's content, then the namespace) and the garbage collector
// (garbage-collector.ts).
import type { Cluster } from './cluster.ts';
import { GarbageCollector } from './garbage-collector.ts';
import {
  CRD_CLEANUP_FINALIZER,
  crdGroup,
  crdNames,
  crdStatusChanged,
  customResourceTypes,
  desiredCrdStatus,
} from './crd.ts';
import { isObject } from './json.ts';
import type { KubeObject } from './meta.ts';
import type { ResourceType } from './resources.ts';

const CRD_STORAGE = 'apiextensions.k8s.io/customresourcedefinitions';
const NAMESPACE_STORAGE = 'core/namespaces';
const MAX_PASSES = 200;

interface Built {
  generation: number;
  conflict: string | undefined;
  types: ResourceType[];
}

export class Controllers {
  private readonly cluster: Cluster;
  private running = false;
  private readonly built = new Map<string, Built>();

  /** Set by writes that may concern the CRD controllers, so a quiet write costs no scan. */
  private crdsDirty = true;
  private readonly gc: GarbageCollector;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    this.gc = new GarbageCollector(cluster);
    cluster.store.subscribe((e) => {
      // A deleted custom resource may be the last one a terminating CRD waits for.
      if (e.storage === CRD_STORAGE || (e.type === 'DELETED' && e.storage.startsWith('cr:')))
        this.crdsDirty = true;
      this.gc.observe(e);
    });
  }

  /** Runs every controller until nothing changes. Re-entrant calls are absorbed by the running loop. */
  settle(): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let i = 0; i < MAX_PASSES; i++) {
        const before = this.cluster.store.currentRevision;
        let typesChanged = false;
        if (this.crdsDirty) {
          this.crdsDirty = false;
          typesChanged = this.syncCrds();
          this.crdCleanup();
        }
        this.namespaces();
        if (this.gc.busy) this.gc.run();
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
    const terminating = [...this.cluster.store.peek(NAMESPACE_STORAGE)].filter(
      (ns) => ns.metadata.deletionTimestamp,
    );
    for (const ns of terminating) {
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
}
