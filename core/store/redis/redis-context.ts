import type { WorkflowKey } from '../../ids.ts';
import type { RedisKeys } from '../../redis-keys.ts';
import { StoreUnavailableError } from '../errors.ts';
import { isConnectionError, type RedisClient } from './connection.ts';
import { invalidationMessage, type InvalidationOp } from './invalidations.ts';
import type { NearCache } from './near-cache.ts';
import { runScript, type ScriptName } from './scripts.ts';

/** Wakes this replica's blocked inbox readers of a workflow that went away. */
export class InboxWakers {
  private readonly waiting = new Map<string, Set<() => void>>();

  add(member: string, wake: () => void): () => void {
    const set = this.waiting.get(member) ?? new Set<() => void>();
    this.waiting.set(member, set);
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0 && this.waiting.get(member) === set) this.waiting.delete(member);
    };
  }

  wake(member: string): void {
    for (const wake of [...(this.waiting.get(member) ?? [])]) wake();
  }

  wakeAll(): void {
    for (const set of [...this.waiting.values()]) for (const wake of [...set]) wake();
  }
}

/** What the store's parts share: the client, keyspace, near-cache and error accounting. */
export class RedisContext {
  readonly client: RedisClient;
  readonly keys: RedisKeys;
  readonly cache: NearCache;
  /** Identifies this store instance in invalidations, so it ignores its own. */
  readonly replica: string;
  readonly wakers = new InboxWakers();
  closed = false;
  private failures = 0;

  constructor(client: RedisClient, keys: RedisKeys, cache: NearCache, replica: string) {
    this.client = client;
    this.keys = keys;
    this.cache = cache;
    this.replica = replica;
  }

  /**
   * Runs one store operation: counts failures, and turns "Redis is unreachable" errors
   * into StoreUnavailableError so callers can tell them from bugs.
   */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the Redis store is closed');
    try {
      return await operation();
    } catch (error) {
      this.failures += 1;
      if (error instanceof StoreUnavailableError) throw error;
      if (isConnectionError(error)) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new StoreUnavailableError(`Redis is unavailable: ${reason}`, { cause: error });
      }
      throw error;
    }
  }

  errors(): number {
    return this.failures;
  }

  /**
   * Runs an index step that follows a workflow script that already succeeded: the change
   * happened, so the caller gets its true result even if the index could not follow; the
   * failure is counted and the index heals later (fleet-index.ts, rule 5).
   */
  async followUp(step: Promise<void>): Promise<void> {
    try {
      await step;
    } catch {
      this.failures += 1;
    }
  }

  script(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return runScript(this.client, name, keys, args);
  }

  /** The channel and message arguments a script publishes to invalidate `key` elsewhere. */
  invalidation(op: InvalidationOp, key: WorkflowKey): [string, string] {
    return [this.keys.invalidations, invalidationMessage(this.replica, op, this.keys.member(key))];
  }

  /** Local effects of a workflow going away: drop it from the near-cache, wake its readers. */
  forget(member: string): void {
    this.cache.invalidate(member);
    this.wakers.wake(member);
  }
}
