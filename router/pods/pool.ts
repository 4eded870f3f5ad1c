import type { StaticBackend } from '../config.ts';
import type { PodSnapshot } from '../scheduling/types.ts';
import { Pod } from './pod.ts';
import type { PoolSettings } from './pool-settings.ts';

/** The pods this router can send to, kept current by discovery and health checks. */
export class PodPool {
  private readonly pods = new Map<string, Pod>();
  /** The VllmPools' routing settings by pool id (k8s discovery; empty with static discovery). */
  private settings: ReadonlyMap<string, PoolSettings> = new Map();

  static fromStatic(backends: readonly StaticBackend[]): PodPool {
    const pool = new PodPool();
    for (const b of backends) pool.upsert(b.id, b.url, b.models);
    return pool;
  }

  upsert(id: string, url: string, models: string[]): Pod {
    const existing = this.pods.get(id);
    if (existing && existing.url === url) {
      existing.models = models;
      return existing;
    }
    existing?.close();
    const pod = new Pod(id, url, models);
    this.pods.set(id, pod);
    return pod;
  }

  /** Replaces the pools' routing settings (each routing-table version). */
  setPoolSettings(pools: readonly PoolSettings[]): void {
    this.settings = new Map(pools.map((p) => [p.id, p]));
  }

  /** True once the routing table named pools (k8s discovery): calls are then placed per pool. */
  get hasPools(): boolean {
    return this.settings.size > 0;
  }

  poolSettings(id: string | undefined): PoolSettings | undefined {
    return id === undefined ? undefined : this.settings.get(id);
  }

  remove(id: string): void {
    this.pods.get(id)?.close();
    this.pods.delete(id);
  }

  get(id: string): Pod | undefined {
    return this.pods.get(id);
  }

  all(): Pod[] {
    return [...this.pods.values()];
  }

  /** Models served by at least one healthy (or only ejected) pod, for GET /v1/models and 404 messages. */
  healthyModels(): string[] {
    const models = new Set<string>();
    for (const pod of this.pods.values())
      if ((pod.healthy || pod.ejected) && !pod.draining) for (const m of pod.models) models.add(m);
    return [...models].sort();
  }

  allModels(): string[] {
    return [...new Set(this.all().flatMap((p) => p.models))].sort();
  }

  snapshots(maxInflight: number, pinCounts: Readonly<Record<string, number>>): PodSnapshot[] {
    return this.all().map((p) => p.snapshot(maxInflight, pinCounts[p.id] ?? 0));
  }

  close(): void {
    for (const pod of this.pods.values()) pod.close();
    this.pods.clear();
  }
}
