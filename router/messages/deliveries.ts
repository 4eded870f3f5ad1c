import { keyString, type WorkflowKey } from '../../core/ids.ts';
import type { MessageStore } from '../../core/store/state-store.ts';

interface PendingInbox {
  key: WorkflowKey;
  agent: string;
  /** A set: an id read twice within one interval (a reconnect from an older cursor) counts once. */
  ids: Set<string>;
}

export interface DeliveryHooks {
  /** Messages of the workflow were read in the interval: reading is activity (its idle clock restarts). */
  onRead(key: WorkflowKey): void;
  /** `fresh` messages of the workflow were delivered for the first time (the metric). */
  onDelivered(key: WorkflowKey, fresh: number): void;
  /** An acknowledgement failed: the messages were read all the same, only the counter misses them. */
  onError(error: unknown): void;
}

/**
 * Counts messages that inbox streams deliver, in batches: a stream notes the ids it wrote and
 * goes straight back to reading; every `flushMs` one acknowledge per inbox (the store's
 * delivered-count script, which keeps each inbox's high-water mark) writes what all the
 * wake-ups of the interval read. A busy stream used to wait for that script after every
 * wake-up. Cursor reads and long polls still acknowledge before they answer (their caller may
 * read the workflow's status next); `flush()` and `close()` write what is pending.
 */
export class DeliveryBatcher {
  private readonly store: MessageStore;
  private readonly flushMs: number;
  private readonly hooks: DeliveryHooks;
  private pending = new Map<string, PendingInbox>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(store: MessageStore, flushMs: number, hooks: DeliveryHooks) {
    this.store = store;
    this.flushMs = flushMs;
    this.hooks = hooks;
  }

  note(key: WorkflowKey, agent: string, ids: readonly string[]): void {
    if (ids.length === 0) return;
    const id = `${keyString(key)}\u0000${agent}`;
    let inbox = this.pending.get(id);
    if (!inbox) {
      inbox = { key, agent, ids: new Set() };
      this.pending.set(id, inbox);
    }
    for (const messageId of ids) inbox.ids.add(messageId);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is pending now (after any write still under way). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  private async write(batch: readonly PendingInbox[]): Promise<void> {
    const workflows = new Map(batch.map((inbox) => [keyString(inbox.key), inbox.key]));
    for (const key of workflows.values()) this.hooks.onRead(key);
    await Promise.all(
      batch.map(async ({ key, agent, ids }) => {
        try {
          const fresh = await this.store.acknowledge(key, agent, [...ids]);
          if (fresh > 0) this.hooks.onDelivered(key, fresh);
        } catch (error) {
          this.hooks.onError(error);
        }
      }),
    );
  }

  close(): Promise<void> {
    return this.flush();
  }
}
