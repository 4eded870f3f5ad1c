// The garbage collector: dependents follow their owners' deletion through ownerReferences.
// It keeps an index from owner uid to dependents, fed by the store's events, so a write
// costs work only for the objects it concerns:
// - a dependent whose owners are all gone is deleted (background), or deleted with
//   foreground propagation when an owner is being deleted in the foreground;
// - references to absent owners are dropped while another owner remains;
// - an owner deleted with `orphan` loses its dependents' references, then the finalizer;
// - an owner deleted in the foreground keeps `foregroundDeletion` until its dependents are gone.
import type { Cluster } from './cluster.ts';
import type { KubeObject, OwnerReference } from './meta.ts';
import { parseApiVersion } from './resources.ts';
import type { StoredEvent } from './store.ts';

const HOLDING = ['orphan', 'foregroundDeletion'];

interface Key {
  storage: string;
  namespace: string | undefined;
  name: string;
}

function keyString(k: Key): string {
  return `${k.storage}|${k.namespace ?? ''}|${k.name}`;
}

function keyOf(storage: string, obj: KubeObject): Key {
  return { storage, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
}

export class GarbageCollector {
  private readonly cluster: Cluster;
  /** owner uid -> dependents that reference it */
  private readonly dependents = new Map<string, Map<string, Key>>();
  /** dependent -> the owner uids it references */
  private readonly owners = new Map<string, Set<string>>();
  /** dependents to re-examine */
  private readonly pending = new Map<string, Key>();
  /** owners holding an orphan or foregroundDeletion finalizer, by uid */
  private readonly holding = new Map<string, Key>();

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  /** True when a run() has work to do. */
  get busy(): boolean {
    return this.pending.size > 0 || this.holding.size > 0;
  }

  /** Feeds one store event into the index and the work queues. */
  observe(e: StoredEvent): void {
    const key = keyOf(e.storage, e.object);
    const ks = keyString(key);
    const uid = e.object.metadata.uid ?? '';
    for (const old of this.owners.get(ks) ?? []) this.dependents.get(old)?.delete(ks);
    this.owners.delete(ks);
    if (e.type === 'DELETED') {
      this.pending.delete(ks);
      this.holding.delete(uid);
      for (const dep of this.dependents.get(uid)?.values() ?? []) this.pending.set(keyString(dep), dep);
      return;
    }
    const refs = e.object.metadata.ownerReferences ?? [];
    if (refs.length > 0) {
      const uids = new Set(refs.map((r) => r.uid));
      this.owners.set(ks, uids);
      for (const u of uids) {
        let deps = this.dependents.get(u);
        if (!deps) {
          deps = new Map();
          this.dependents.set(u, deps);
        }
        deps.set(ks, key);
      }
      this.pending.set(ks, key);
    }
    const fins = e.object.metadata.finalizers ?? [];
    if (e.object.metadata.deletionTimestamp && fins.some((f) => HOLDING.includes(f))) {
      this.holding.set(uid, key);
      for (const dep of this.dependents.get(uid)?.values() ?? []) this.pending.set(keyString(dep), dep);
    } else {
      this.holding.delete(uid);
    }
  }

  private owner(
    ref: OwnerReference,
    dependentNamespace: string | undefined,
  ): KubeObject | 'absent' | 'unknown' {
    const rt = this.cluster.registry.byGroupKind(parseApiVersion(ref.apiVersion).group, ref.kind);
    if (!rt) return 'unknown';
    const found = this.cluster.store.get(
      rt.storage,
      rt.namespaced ? dependentNamespace : undefined,
      ref.name,
    );
    return found && found.metadata.uid === ref.uid ? found : 'absent';
  }

  private examine(key: Key): void {
    const rt = this.cluster.typeForStorage(key.storage);
    const stored = this.cluster.store.get(key.storage, key.namespace, key.name);
    if (!rt || !stored) return;
    const refs = stored.metadata.ownerReferences ?? [];
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
    }
    const dependent = this.cluster.toVersion(rt, stored);
    if (solid === 0 && (absent > 0 || foreground > 0)) {
      if (!dependent.metadata.deletionTimestamp) {
        this.cluster.deleteAsController(rt, dependent, foreground > 0 ? 'Foreground' : 'Background');
      }
    } else if (keep.length !== refs.length) {
      const next: KubeObject = { ...dependent, metadata: { ...dependent.metadata, ownerReferences: keep } };
      if (keep.length === 0) delete next.metadata.ownerReferences;
      this.cluster.systemUpdate(rt, next);
    }
  }

  /** Processes the queued dependents, then releases owners nothing references any more. */
  run(): void {
    while (this.pending.size > 0) {
      const [ks, key] = this.pending.entries().next().value as [string, Key];
      this.pending.delete(ks);
      this.examine(key);
    }
    for (const [uid, key] of [...this.holding]) {
      if ((this.dependents.get(uid)?.size ?? 0) > 0) continue;
      this.holding.delete(uid);
      const rt = this.cluster.typeForStorage(key.storage);
      const stored = this.cluster.store.get(key.storage, key.namespace, key.name);
      if (!rt || !stored || stored.metadata.uid !== uid) continue;
      const finalizers = (stored.metadata.finalizers ?? []).filter((f) => !HOLDING.includes(f));
      const next: KubeObject = { ...stored, metadata: { ...stored.metadata, finalizers } };
      if (finalizers.length === 0) {
        delete next.metadata.finalizers;
        this.cluster.finishDelete(rt, next);
      } else {
        this.cluster.systemUpdate(rt, this.cluster.toVersion(rt, next));
      }
    }
  }
}
