import type { CoreV1Event } from '@kubernetes/client-node';
import { apiStatus, type Kube } from './kube.ts';
import { errorMessage, type Logger } from './logger.ts';
import type { OperatorMetrics } from './metrics.ts';

/** The object an Event is about (kubectl describe finds Events by its uid). */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

/** Where controllers send Events (the recorder; tests collect them). */
export interface EventSink {
  record(object: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface EventRecorderOptions {
  /** source.component and reportingController. */
  component: string;
  /** reportingInstance: this replica. */
  instance: string;
  logger: Logger;
  metrics: OperatorMetrics;
  now?: () => number;
  /** Distinct events remembered for deduplication (default 4096). */
  cacheSize?: number;
}

interface Seen {
  name: string;
  count: number;
}

/**
 * Records core/v1 Events as client-go's recorder does: an Event repeated for the same object
 * with the same type, reason and message is not created again; its count and lastTimestamp
 * are bumped ("x3 over 2m" in kubectl describe). Recording never fails a reconcile: errors
 * are logged. Writes run in the background; flush() waits for them.
 */
export class EventRecorder implements EventSink {
  private readonly kube: Kube;
  private readonly options: EventRecorderOptions;
  private readonly seen = new Map<string, Seen>();
  private readonly pending = new Set<Promise<void>>();
  private sequence = 0;

  constructor(kube: Kube, options: EventRecorderOptions) {
    this.kube = kube;
    this.options = options;
  }

  record(object: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.options.metrics.events.inc({ reason });
    const write = this.write(object, type, reason, message).catch((error: unknown) => {
      this.options.logger.warn('could not record an event', {
        object: `${object.kind}/${object.namespace}/${object.name}`,
        reason,
        error: errorMessage(error),
      });
    });
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** Waits for the events being written. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async write(
    object: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date((this.options.now ?? Date.now)());
    const key = [object.uid, type, reason, message].join('\u0000');
    const seen = this.seen.get(key);
    if (seen) {
      seen.count += 1;
      try {
        await this.kube.patchEvent(object.namespace, seen.name, { count: seen.count, lastTimestamp: now });
        return;
      } catch (error) {
        // Events are garbage-collected after an hour: record it afresh.
        if (apiStatus(error) !== 404) throw error;
        this.seen.delete(key);
      }
    }
    const name = `${object.name}.${(now.getTime() * 1000 + (this.sequence++ % 1000)).toString(16)}`;
    const body: CoreV1Event = {
      metadata: { name, namespace: object.namespace },
      involvedObject: { ...object },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: this.options.instance,
    };
    await this.kube.createEvent(object.namespace, body);
    this.remember(key, { name, count: 1 });
  }

  private remember(key: string, seen: Seen): void {
    this.seen.set(key, seen);
    const max = this.options.cacheSize ?? 4096;
    while (this.seen.size > max) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }
}
