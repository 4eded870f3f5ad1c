import type { CallUsage } from '../../core/store/records.ts';
import { normalizeError } from './upstream-errors.ts';

/**
 * Reads a pod's response as it streams past: the usage (for statistics) and, when the workflow
 * shares context, the generated text. For SSE it works event by event, so it can also drop the
 * usage-only chunk the router asked for on the client's behalf.
 */
export class ResponseTap {
  private readonly streaming: boolean;
  private readonly collectText: boolean;
  private readonly dropUsageChunk: boolean;
  private pending = '';
  private body = '';
  private text = '';
  private usageSeen: CallUsage | undefined;
  doneSeen = false;
  /** An `error` object a pod sent inside its stream (vLLM does this on engine errors). */
  streamError: unknown;

  constructor(options: { streaming: boolean; collectText: boolean; dropUsageChunk: boolean }) {
    this.streaming = options.streaming;
    this.collectText = options.collectText;
    this.dropUsageChunk = options.dropUsageChunk;
  }

  /** Takes a chunk from the pod; returns what to send to the client now. */
  push(chunk: Buffer): Buffer | string {
    if (!this.streaming) {
      this.body += chunk.toString('utf8');
      return chunk;
    }
    this.pending += chunk.toString('utf8');
    let out = '';
    for (;;) {
      const end = this.pending.indexOf('\n\n');
      if (end < 0) break;
      const event = this.pending.slice(0, end + 2);
      this.pending = this.pending.slice(end + 2);
      out += this.readEvent(event) ?? '';
    }
    return out;
  }

  /** Whatever was held back when the pod ended without a final blank line. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest === '' ? '' : (this.readEvent(rest) ?? '');
  }

  /**
   * Parses one SSE event; returns what the client gets: the event, the event with a pod's error
   * rewritten into OpenAI's shape, or undefined when it must not reach the client.
   */
  private readEvent(event: string): string | undefined {
    const lines = event.split('\n');
    const dataLine = lines.find((l) => l.startsWith('data:'));
    if (dataLine === undefined) return event;
    const data = dataLine.slice(5).trim();
    if (data === '[DONE]') {
      this.doneSeen = true;
      return event;
    }
    if (!this.collectText && !mayCarry(data)) return event;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return event;
    }
    if (parsed === null || typeof parsed !== 'object') return event;
    if ('error' in parsed) {
      this.streamError = parsed.error;
      const error = normalizeError(parsed.error, 500) ?? {
        message: 'the model server reported an error in the stream',
        type: 'upstream_error',
        param: null,
        code: 'upstream_error',
      };
      const rest = lines.filter((l) => l !== '' && !l.startsWith('data:'));
      return `${[...rest, `data: ${JSON.stringify({ error })}`].join('\n')}\n\n`;
    }
    const usage = readUsage(parsed);
    if (usage) this.usageSeen = usage;
    if (this.collectText) this.text += deltaText(parsed);
    const choices = 'choices' in parsed ? parsed.choices : undefined;
    const usageOnly = usage !== undefined && Array.isArray(choices) && choices.length === 0;
    return usageOnly && this.dropUsageChunk ? undefined : event;
  }

  usage(): CallUsage | undefined {
    if (!this.streaming && this.usageSeen === undefined) this.parseBody();
    return this.usageSeen;
  }

  output(): string {
    if (!this.streaming && this.text === '') this.parseBody();
    return this.text;
  }

  private parsedBody = false;

  private parseBody(): void {
    if (this.parsedBody) return;
    this.parsedBody = true;
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.body);
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== 'object') return;
    this.usageSeen = readUsage(parsed);
    if (this.collectText) this.text = messageText(parsed);
  }
}

/**
 * Whether an event's JSON may hold what the tap reads when it collects no text (`usage`, an
 * `error`): most chunks hold neither, and then need no parse. A key spelt with escapes is
 * not ruled out by the text, so any escape sequence counts as a maybe.
 */
function mayCarry(data: string): boolean {
  return data.includes('usage') || data.includes('error') || data.includes('\\u');
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** usage and usage.prompt_tokens_details.cached_tokens, as vLLM reports them. */
export function readUsage(response: object): CallUsage | undefined {
  if (!('usage' in response)) return undefined;
  const usage = response.usage;
  if (usage === null || typeof usage !== 'object') return undefined;
  const u = usage as Record<string, unknown>;
  const details = u.prompt_tokens_details;
  const cached =
    details !== null && typeof details === 'object' && 'cached_tokens' in details
      ? num(details.cached_tokens)
      : 0;
  return {
    promptTokens: num(u.prompt_tokens),
    cachedTokens: cached,
    completionTokens: num(u.completion_tokens),
  };
}

function firstChoice(response: object): Record<string, unknown> | undefined {
  if (!('choices' in response) || !Array.isArray(response.choices)) return undefined;
  const choice: unknown = response.choices[0];
  return choice !== null && typeof choice === 'object' ? (choice as Record<string, unknown>) : undefined;
}

function deltaText(chunk: object): string {
  const choice = firstChoice(chunk);
  if (!choice) return '';
  if (typeof choice.text === 'string') return choice.text;
  const delta = choice.delta;
  if (
    delta !== null &&
    typeof delta === 'object' &&
    'content' in delta &&
    typeof delta.content === 'string'
  ) {
    return delta.content;
  }
  return '';
}

function messageText(response: object): string {
  const choice = firstChoice(response);
  if (!choice) return '';
  if (typeof choice.text === 'string') return choice.text;
  const message = choice.message;
  if (
    message !== null &&
    typeof message === 'object' &&
    'content' in message &&
    typeof message.content === 'string'
  ) {
    return message.content;
  }
  return '';
}
