// What /sim/stats reports about requests: a ring buffer of the last records and running
// totals. Benchmarks and router tests read it to see what the pod really received (body
// keys, trace headers, the rendered prompt) and what it did (cache hits, timing).

export const MAX_RECORDS = 2000;

export interface RequestRecord {
  id: string;
  model: string;
  endpoint: string;
  /** The rendered prompt string that was tokenized ('' for token-id prompts). */
  promptText: string;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  stream: boolean;
  /** Real milliseconds in the FIFO queue. */
  queuedMs: number;
  /** Real milliseconds from leaving the queue to the first token. */
  prefillMs: number;
  /** Real milliseconds from arrival to the first token (null if none came). */
  ttftMs: number | null;
  /** Real milliseconds from arrival to the end (what x-sim-time-ms reports). */
  totalMs: number;
  /** The client disconnected before the end. */
  cancelled: boolean;
  /** HTTP status sent; 499 when the client left before any status was sent. */
  status: number;
  finishReason: 'length' | 'stop' | null;
  /** Why the request failed or was cut, if it was. */
  error?: string;
  headers: { traceparent?: string; 'x-request-id'?: string };
  /** Top-level keys of the JSON body as received. */
  bodyKeys: string[];
  /** Epoch milliseconds at arrival. */
  startedAt: number;
}

export interface StatsTotals {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  cancelled: number;
  failed: number;
}

const emptyTotals = (): StatsTotals => ({
  requests: 0,
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  cancelled: 0,
  failed: 0,
});

export class RequestStats {
  #records: RequestRecord[] = [];
  #next = 0;
  #totals = emptyTotals();

  /** Adds a finished request (any outcome) to the totals and the ring buffer. */
  add(record: RequestRecord): void {
    const t = this.#totals;
    t.requests++;
    t.promptTokens += record.promptTokens;
    t.cachedTokens += record.cachedTokens;
    t.completionTokens += record.completionTokens;
    if (record.cancelled) t.cancelled++;
    else if (record.status >= 400 || record.error !== undefined) t.failed++;
    if (this.#records.length < MAX_RECORDS) this.#records.push(record);
    else this.#records[this.#next] = record;
    this.#next = (this.#next + 1) % MAX_RECORDS;
  }

  get totals(): StatsTotals {
    return { ...this.#totals };
  }

  /** The last `limit` records, oldest first. */
  recent(limit = MAX_RECORDS): RequestRecord[] {
    const ordered =
      this.#records.length < MAX_RECORDS
        ? this.#records
        : [...this.#records.slice(this.#next), ...this.#records.slice(0, this.#next)];
    const n = Math.max(0, Math.min(limit, ordered.length));
    return ordered.slice(ordered.length - n);
  }

  reset(): void {
    this.#records = [];
    this.#next = 0;
    this.#totals = emptyTotals();
  }
}
