/**
 * The dashboard's server-sent events: one snapshot per tenant per interval, built once and
 * written to every open page of that tenant, and only when something changed. Nothing runs
 * while no page is open.
 */
import type { Request, Response } from 'express';
import type { DashboardSnapshot } from './snapshot.ts';

const HEARTBEAT_MS = 15_000;

class TenantFeed {
  readonly subscribers = new Set<Response>();
  private readonly build: () => Promise<DashboardSnapshot>;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private building = false;
  private lastEvent: string | undefined;
  private lastContent: string | undefined;
  private lastWriteAt = 0;

  constructor(build: () => Promise<DashboardSnapshot>, intervalMs: number) {
    this.build = build;
    this.intervalMs = intervalMs;
  }

  add(res: Response): void {
    this.subscribers.add(res);
    if (this.lastEvent !== undefined) res.write(this.lastEvent);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs).unref();
      void this.tick();
    }
  }

  remove(res: Response): void {
    this.subscribers.delete(res);
    if (this.subscribers.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.lastEvent = undefined;
    this.lastContent = undefined;
  }

  private async tick(): Promise<void> {
    if (this.building) return;
    this.building = true;
    try {
      const snapshot = await this.build();
      // The timestamp alone is no news: compare everything else.
      const content = JSON.stringify({ ...snapshot, at: undefined });
      const now = Date.now();
      if (content !== this.lastContent) {
        this.lastContent = content;
        this.lastEvent = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
        this.broadcast(this.lastEvent, now);
      } else if (now - this.lastWriteAt >= HEARTBEAT_MS) {
        this.broadcast(': keep-alive\n\n', now);
      }
    } finally {
      this.building = false;
    }
  }

  private broadcast(text: string, now: number): void {
    this.lastWriteAt = now;
    for (const res of this.subscribers) res.write(text);
  }
}

/** Per-tenant feeds of one router replica. */
export class DashboardFeeds {
  private readonly feeds = new Map<string, TenantFeed>();
  private readonly build: (tenant: string) => Promise<DashboardSnapshot>;
  private readonly intervalMs: number;

  constructor(
    build: (tenant: string) => Promise<DashboardSnapshot>,
    draining: AbortSignal,
    intervalMs = 1000,
  ) {
    this.build = build;
    this.intervalMs = intervalMs;
    // A replica that drains or closes ends its streams; pages reconnect (to another replica).
    draining.addEventListener('abort', () => this.endAll(), { once: true });
  }

  private endAll(): void {
    for (const feed of this.feeds.values()) {
      feed.stop();
      for (const res of feed.subscribers) res.end();
    }
    this.feeds.clear();
  }

  /** Holds the response open as an event stream until the page goes away. */
  subscribe(tenant: string, req: Request, res: Response): void {
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n: connected\n\n');
    let feed = this.feeds.get(tenant);
    if (!feed) {
      feed = new TenantFeed(() => this.build(tenant), this.intervalMs);
      this.feeds.set(tenant, feed);
    }
    const own = feed;
    own.add(res);
    req.socket.setTimeout(0);
    res.once('close', () => {
      own.remove(res);
      if (own.subscribers.size === 0 && this.feeds.get(tenant) === own) this.feeds.delete(tenant);
    });
  }

  /** Open event streams, over every tenant. */
  get subscribers(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.subscribers.size;
    return n;
  }
}
