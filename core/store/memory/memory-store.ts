import type { StateStore, StoreHealth } from '../state-store.ts';
import { MemoryContexts } from './contexts.ts';
import { MemoryMessages } from './messages.ts';
import { MemoryPins } from './pins.ts';
import { MemoryQuotas } from './quotas.ts';
import { MemoryState } from './state.ts';
import { MemoryWorkflows } from './workflows.ts';

/**
 * The embedded store for a single router process: the Redis store's semantics held in maps.
 * Single-threaded JavaScript makes every operation atomic.
 */
export class MemoryStore implements StateStore {
  readonly kind = 'memory';
  private readonly state = new MemoryState();
  readonly pins = new MemoryPins(this.state);
  readonly workflows = new MemoryWorkflows(this.state);
  readonly contexts = new MemoryContexts(this.state);
  readonly messages = new MemoryMessages(this.state);
  readonly quotas = new MemoryQuotas();

  health(): StoreHealth {
    return 'ok';
  }

  close(): Promise<void> {
    this.state.closed = true;
    this.state.waiters.wakeAll();
    return Promise.resolve();
  }
}
