import { ApiError, tooManyRequests } from '../../core/errors.ts';

interface Waiter {
  priority: number;
  seq: number;
  grant: () => void;
}

/**
 * A per-pod admission gate: at most `limit` calls in flight; beyond, calls wait in a bounded
 * queue ordered by workflow priority (higher first), first come first served within a priority.
 */
export class AdmissionGate {
  private currentLimit: number;
  private readonly queueSize: number;
  private inflight = 0;
  private readonly waiting: Waiter[] = [];
  private seq = 0;

  constructor(limit: number, queueSize: number) {
    this.currentLimit = limit;
    this.queueSize = queueSize;
  }

  get limit(): number {
    return this.currentLimit;
  }

  /** A new cap (a VllmPool's maxInflightPerPod changed): a higher one admits waiting calls at once. */
  resize(limit: number): void {
    this.currentLimit = limit;
    while (this.inflight < this.currentLimit && this.waiting.length > 0) this.waiting.shift()?.grant();
  }

  get depth(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once admitted; 429 when the queue is full, rejects on abort. */
  acquire(priority: number, signal: AbortSignal): Promise<() => void> {
    if (this.inflight < this.currentLimit && this.waiting.length === 0) {
      this.inflight += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.queueSize) {
      return Promise.reject(
        tooManyRequests(
          'the pod is saturated and its admission queue is full; retry shortly',
          1,
          'pod_saturated',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        seq: this.seq++,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          this.inflight += 1;
          resolve(this.releaser());
        },
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(
          new ApiError(499, 'invalid_request_error', 'client closed the request', { code: 'client_closed' }),
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.insert(waiter);
    });
  }

  private insert(waiter: Waiter): void {
    let i = this.waiting.length;
    while (i > 0) {
      const before = this.waiting[i - 1] as Waiter;
      if (before.priority >= waiter.priority) break;
      i--;
    }
    this.waiting.splice(i, 0, waiter);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflight -= 1;
      // Below the cap only: after a shrink (resize) the calls above the new cap drain first.
      if (this.inflight < this.currentLimit) this.waiting.shift()?.grant();
    };
  }
}
