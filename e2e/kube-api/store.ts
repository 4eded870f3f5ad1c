// The storage layer, playing etcd's part: objects by storage key, namespace and name; one
// global revision counter that becomes every object's resourceVersion; and a bounded event
// history that watches replay from, so a resourceVersion older than the history is 410 Gone.
import { clone } from './json.ts';
import type { KubeObject } from './meta.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: EventType;
  storage: string;
  /** The object after the change; for DELETED its last state, stamped with the deletion revision. */
  object: KubeObject;
  /** The object before the change (MODIFIED, DELETED), so selector watches can see it leave. */
  previous: KubeObject | undefined;
}

export type Listener = (event: StoredEvent) => void;

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Store {
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private history: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private revision = 0;
  /** Every event with rv <= compactedRevision has been forgotten. */
  private compactedRevision = 0;
  readonly historyLimit: number;

  constructor(historyLimit = 1000) {
    this.historyLimit = historyLimit;
  }

  get currentRevision(): number {
    return this.revision;
  }

  get oldestWatchableRevision(): number {
    return this.compactedRevision;
  }

  private bucket(storage: string): Map<string, KubeObject> {
    let b = this.buckets.get(storage);
    if (!b) {
      b = new Map();
      this.buckets.set(storage, b);
    }
    return b;
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.buckets.get(storage)?.get(key(namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects of one storage key, optionally in one namespace, sorted by namespace then name. */
  list(storage: string, namespace?: string): KubeObject[] {
    const b = this.buckets.get(storage);
    if (!b) return [];
    const keys = [...b.keys()].sort();
    const out: KubeObject[] = [];
    for (const k of keys) {
      const obj = b.get(k);
      if (!obj) continue;
      if (namespace !== undefined && (obj.metadata.namespace ?? '') !== namespace) continue;
      out.push(clone(obj));
    }
    return out;
  }

  /** The stored objects of one key without copying them, for read-only scans; never mutate them. */
  peek(storage: string): Iterable<Readonly<KubeObject>> {
    return this.buckets.get(storage)?.values() ?? [];
  }

  /** Storage keys that hold at least one object. */
  storages(): string[] {
    return [...this.buckets.entries()].filter(([, b]) => b.size > 0).map(([s]) => s);
  }

  create(storage: string, obj: KubeObject): KubeObject {
    return this.write(storage, obj, 'ADDED', undefined);
  }

  update(storage: string, obj: KubeObject): KubeObject {
    const previous = this.get(storage, obj.metadata.namespace, obj.metadata.name ?? '');
    return this.write(storage, obj, 'MODIFIED', previous);
  }

  delete(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const b = this.bucket(storage);
    const existing = b.get(key(namespace, name));
    if (!existing) return undefined;
    b.delete(key(namespace, name));
    const rv = ++this.revision;
    const last = clone(existing);
    last.metadata.resourceVersion = String(rv);
    this.record({ rv, type: 'DELETED', storage, object: last, previous: clone(existing) });
    return clone(last);
  }

  private write(
    storage: string,
    obj: KubeObject,
    type: EventType,
    previous: KubeObject | undefined,
  ): KubeObject {
    const rv = ++this.revision;
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(rv);
    this.bucket(storage).set(key(stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    this.record({ rv, type, storage, object: clone(stored), previous });
    return clone(stored);
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      const last = dropped.at(-1);
      if (last) this.compactedRevision = last.rv;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Events after `rv`, or 'expired' when some of them have been compacted away. */
  eventsSince(rv: number): StoredEvent[] | 'expired' {
    if (rv < this.compactedRevision) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forgets all history: every resourceVersion before now is too old to watch from. */
  compact(): void {
    this.history = [];
    this.compactedRevision = this.revision;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
