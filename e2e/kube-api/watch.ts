// The watch protocol: newline-delimited JSON events over one chunked HTTP response.
// Starting from a resourceVersion replays the kept history after it (or sends one ERROR
// event with a 410 Status when it is older than the history); no resourceVersion sends the
// current objects as ADDED first. Selector watches see an object leave (DELETED) and enter
// (ADDED) their selection. Bookmarks are sent when asked for.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from './cluster.ts';
import type { Negotiated } from './http.ts';
import type { JsonObject } from './json.ts';
import type { KubeObject } from './meta.ts';
import { apiVersionOf } from './resources.ts';
import type { ResourceType } from './resources.ts';
import {
  checkFieldLabels,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import type { StoredEvent } from './store.ts';
import { toTable } from './table.ts';
import type { IncludeObject } from './table.ts';

export interface WatchRequest {
  rt: ResourceType;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  labelSelector: string;
  fieldSelector: string;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds: number | undefined;
  format: Negotiated;
  includeObject: IncludeObject;
}

interface ActiveWatch {
  rt: ResourceType;
  res: ServerResponse;
  stop(): void;
}

/** Open watches, so tests can end them all (reconnect tests) and close() can destroy them. */
export class WatchHub {
  private readonly active = new Set<ActiveWatch>();
  readonly bookmarkIntervalMs: number;

  constructor(bookmarkIntervalMs: number) {
    this.bookmarkIntervalMs = bookmarkIntervalMs;
  }

  get size(): number {
    return this.active.size;
  }

  /** Ends every open watch cleanly; clients see the stream end and reconnect. */
  closeAll(): void {
    for (const w of [...this.active]) {
      w.stop();
      w.res.end();
    }
  }

  /** Destroys every watch socket (server shutdown). */
  destroyAll(): void {
    for (const w of [...this.active]) {
      w.stop();
      w.res.destroy();
    }
  }

  /** Ends the watches of resource types that are no longer served (a deleted CRD). */
  closeTypes(types: ResourceType[]): void {
    const keys = new Set(types.map((t) => `${t.group}/${t.version}/${t.plural}`));
    for (const w of [...this.active]) {
      if (keys.has(`${w.rt.group}/${w.rt.version}/${w.rt.plural}`)) {
        w.stop();
        w.res.end();
      }
    }
  }

  /** Serves one watch until the client leaves, the timeout fires or the hub closes it. */
  serve(cluster: Cluster, req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
    const labels = parseLabelSelector(w.labelSelector);
    const fields = parseFieldSelector(w.fieldSelector);
    checkFieldLabels(w.rt, fields);
    const rt = w.rt;
    const matches = (obj: KubeObject | undefined): boolean =>
      obj !== undefined &&
      (!rt.namespaced || w.namespace === undefined || obj.metadata.namespace === w.namespace) &&
      matchesLabels(labels, obj.metadata.labels) &&
      matchesFields(rt, fields, obj);

    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();

    let sentHeaders = false;
    const render = (obj: KubeObject): JsonObject => {
      if (w.format.form === 'table') {
        const table = toTable(rt, [obj], w.includeObject, {}, sentHeaders);
        sentHeaders = true;
        return table;
      }
      if (w.format.form === 'metadata') {
        return {
          kind: 'PartialObjectMetadata',
          apiVersion: `meta.k8s.io/${w.format.metaVersion}`,
          metadata: obj.metadata,
        };
      }
      return obj;
    };
    const write = (type: string, object: JsonObject): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const bookmark = (annotations?: Record<string, string>): void => {
      const metadata: JsonObject = { resourceVersion: String(cluster.store.currentRevision) };
      if (annotations) metadata.annotations = annotations;
      write('BOOKMARK', { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata });
    };
    const deliver = (event: StoredEvent): void => {
      if (event.storage !== rt.storage) return;
      const current = cluster.toVersion(rt, event.object);
      const previous = event.previous ? cluster.toVersion(rt, event.previous) : undefined;
      if (event.type === 'DELETED') {
        if (matches(current)) write('DELETED', render(current));
        return;
      }
      const now = matches(current);
      const before = event.type === 'MODIFIED' && matches(previous);
      if (now && before) write('MODIFIED', render(current));
      else if (now) write('ADDED', render(current));
      else if (before) write('DELETED', render(current));
    };

    const timers: (NodeJS.Timeout | undefined)[] = [];
    let unsubscribe = (): void => undefined;
    const active: ActiveWatch = {
      rt,
      res,
      stop: () => {
        unsubscribe();
        for (const t of timers) clearTimeout(t);
        timers.length = 0;
        this.active.delete(active);
      },
    };
    this.active.add(active);
    req.on('close', () => active.stop());
    res.on('close', () => active.stop());

    const rv = w.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0' || w.sendInitialEvents) {
      for (const stored of cluster.store.list(rt.storage, rt.namespaced ? w.namespace : undefined)) {
        const obj = cluster.toVersion(rt, stored);
        if (matches(obj)) write('ADDED', render(obj));
      }
      if (w.sendInitialEvents && w.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const since = Number(rv);
      const events = Number.isInteger(since) ? cluster.store.eventsSince(since) : 'expired';
      if (events === 'expired') {
        const message = Number.isInteger(since)
          ? `too old resource version: ${rv} (${cluster.store.oldestWatchableRevision + 1})`
          : `invalid resource version: ${rv}`;
        write('ERROR', {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason: Number.isInteger(since) ? 'Expired' : 'BadRequest',
          code: Number.isInteger(since) ? 410 : 400,
        });
        active.stop();
        res.end();
        return;
      }
      for (const e of events) deliver(e);
    }
    unsubscribe = cluster.store.subscribe(deliver);
    if (w.allowBookmarks && this.bookmarkIntervalMs > 0) {
      timers.push(setInterval(() => bookmark(), this.bookmarkIntervalMs).unref());
    }
    if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
      timers.push(
        setTimeout(() => {
          active.stop();
          res.end();
        }, w.timeoutSeconds * 1000).unref(),
      );
    }
  }
}

/** True when a query parameter spells true the way the apiserver accepts it. */
export function queryBool(value: string | null): boolean {
  return value === 'true' || value === '1';
}
