/** Server-sent events as the WHATWG spec parses them, from text chunks of any size. */

export interface SseEvent {
  /** `message` when the event names none. */
  event: string;
  data: string;
  /** The last event id seen on the stream so far (ids persist across events, as in EventSource). */
  lastEventId: string | undefined;
}

/** Incremental parser: push text as it arrives, take the complete events. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  /** The server's last `retry:` value: how long to wait before reconnecting, in ms. */
  reconnectMs: number | undefined;
  private lastEventId: string | undefined;
  private sawCarriageReturn = false;

  push(chunk: string): SseEvent[] {
    let text = chunk;
    // A CRLF split across chunks: the LF belongs to the CR already handled.
    if (this.sawCarriageReturn && text.startsWith('\n')) text = text.slice(1);
    this.sawCarriageReturn = text.endsWith('\r');
    this.buffer += text;
    const events: SseEvent[] = [];
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.reconnectMs = Number(value);
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    if (this.data.length === 0) {
      this.event = '';
      return undefined;
    }
    const event: SseEvent = {
      event: this.event || 'message',
      data: this.data.join('\n'),
      lastEventId: this.lastEventId,
    };
    this.data = [];
    this.event = '';
    return event;
  }
}

/** The events of one HTTP response body, until it ends. */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  parser = new SseParser(),
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
