import { isDeepStrictEqual } from 'node:util';
import {
  routingPoolId,
  type RoutingPool,
  type RoutingTable,
  type RoutingTableChange,
  type RoutingTableStore,
  type RoutingTableUpdate,
} from './routing-table.ts';

/** The routing table in one process: for tests and for running the operator's logic without Redis. */
export class MemoryRoutingTable implements RoutingTableStore {
  private readonly pools = new Map<string, RoutingPool>();
  private readonly listeners = new Set<(version: number | undefined) => void>();
  private version = 0;
  private updatedAt = 0;

  read(): Promise<RoutingTable> {
    const pools = [...this.pools.values()]
      .map((pool) => structuredClone(pool))
      .sort((a, b) => routingPoolId(a).localeCompare(routingPoolId(b)));
    return Promise.resolve({ version: this.version, updatedAt: this.updatedAt, pools });
  }

  update(change: RoutingTableChange, now: number): Promise<RoutingTableUpdate> {
    let changed = false;
    for (const pool of change.put ?? []) {
      const id = routingPoolId(pool);
      if (isDeepStrictEqual(this.pools.get(id), pool)) continue;
      this.pools.set(id, structuredClone(pool));
      changed = true;
    }
    for (const id of change.remove ?? []) changed = this.pools.delete(id) || changed;
    if (changed) {
      this.version += 1;
      this.updatedAt = now;
      const version = this.version;
      queueMicrotask(() => {
        for (const listener of [...this.listeners]) listener(version);
      });
    }
    return Promise.resolve({ version: this.version, changed });
  }

  subscribe(listener: (version: number | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
