import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { RawList } from './kube.ts';
import { errorMessage, type Logger } from './logger.ts';

export type InformerEventType = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: InformerEventType, obj: T, old: T | undefined) => void;

/** Read access to an informer's cache (what controllers need; tests pass plain maps). */
export interface ObjectCache<T> {
  get(key: string): T | undefined;
  list(): T[];
}

export interface InformerOptions<T> {
  /** For logs: `pods`, `workflows`, ... */
  name: string;
  kc: KubeConfig;
  /** The API path to watch, e.g. /api/v1/namespaces/default/pods. */
  path: string;
  list(): Promise<RawList>;
  /** Validates a raw object (watch events are plain JSON); undefined drops it. */
  parse(raw: unknown): T | undefined;
  keyOf(obj: T): string;
  logger: Logger;
  /** Cap of the restart backoff after errors (default 30 s). */
  maxBackoffMs?: number;
}

/**
 * A validated, keyed cache of one kind, kept current by client-node's ListWatch: it lists,
 * then watches from the list's resourceVersion, resumes a closed watch from the last
 * resourceVersion it saw, and relists when that is 410 Gone. ListWatch stops for good on any
 * other error (a 404 before the CRDs exist, the API server away); this wrapper restarts it
 * with capped exponential backoff, resuming where it was.
 */
export class Informer<T> implements ObjectCache<T> {
  private readonly options: InformerOptions<T>;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly lw: ListWatch<KubernetesObject>;
  private stopped = true;
  private listed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private syncWaiters: (() => void)[] = [];

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.lw = new ListWatch<KubernetesObject>(
      options.path,
      new Watch(options.kc),
      async () => {
        const list = await options.list();
        this.failures = 0;
        return list;
      },
      false,
    );
    this.lw.on('add', (raw) => this.upsert('add', raw));
    this.lw.on('update', (raw) => this.upsert('update', raw));
    this.lw.on('delete', (raw) => this.remove(raw));
    this.lw.on('error', (error: unknown) => this.failed(error));
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Whether the first list has been loaded. */
  get synced(): boolean {
    return this.listed;
  }

  /** Starts listing and watching; resolves once the first list is in the cache (retrying until then). */
  async start(): Promise<void> {
    this.stopped = false;
    const synced = new Promise<void>((resolve) => {
      if (this.listed) resolve();
      else this.syncWaiters.push(resolve);
    });
    await this.run();
    await synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.lw.stop();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    await this.lw.start();
    // ListWatch has a resourceVersion once a list succeeded (its items are in the cache by then).
    if (this.lw.latestResourceVersion() !== '') this.markListed();
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    const delay = Math.min(500 * 2 ** Math.min(this.failures, 10), this.options.maxBackoffMs ?? 30_000);
    this.failures += 1;
    this.options.logger.warn('watch failed; restarting', {
      informer: this.options.name,
      error: errorMessage(error),
      retryInMs: delay,
    });
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.run(), delay);
  }

  private markListed(): void {
    if (this.listed) return;
    this.listed = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private upsert(type: 'add' | 'update', raw: unknown): void {
    this.failures = 0;
    const obj = this.options.parse(raw);
    if (obj === undefined) {
      this.options.logger.warn('ignoring an object that does not validate', { informer: this.options.name });
      return;
    }
    const key = this.options.keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    // A relist reports every object as added; one already known is an update.
    this.emit(old === undefined ? 'add' : type === 'add' ? 'update' : type, obj, old);
  }

  private remove(raw: unknown): void {
    const obj = this.options.parse(raw);
    if (obj === undefined) return;
    const key = this.options.keyOf(obj);
    const old = this.cache.get(key);
    this.cache.delete(key);
    this.emit('delete', old ?? obj, old);
  }

  private emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const handler of this.handlers) {
      try {
        handler(type, obj, old);
      } catch (error) {
        this.options.logger.error('informer handler failed', {
          informer: this.options.name,
          error: errorMessage(error),
        });
      }
    }
  }
}
