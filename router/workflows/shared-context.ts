import type { ContextSharing } from '../../core/strategy.ts';
import type { ContextEntry } from '../../core/store/records.ts';
import type { Endpoint } from '../prompt.ts';

/**
 * The entries an agent receives: all of them under broadcast, those of the agents it lists
 * in context_from under selective. Order is append order, so the rendered prefix only grows
 * and stays byte-identical across agents: that is what lets the pod's prefix cache hit.
 */
export function selectEntries(
  strategy: ContextSharing,
  entries: readonly ContextEntry[],
  contextFrom: readonly string[] | undefined,
): ContextEntry[] {
  if (strategy === 'broadcast') return [...entries];
  if (strategy === 'selective') {
    const from = new Set(contextFrom ?? []);
    return entries.filter((e) => from.has(e.agent));
  }
  return [];
}

/** Entries in append order, each attributed to its agent; a longer context extends a shorter one. */
export function renderContext(entries: readonly ContextEntry[]): string {
  let text = '';
  for (const e of entries) text += `[shared by agent ${e.agent}]\n${e.text}\n\n`;
  return text;
}

/**
 * Puts the shared context in the call. Chat: one system message right before the call's last
 * message, so everything the agents send in front of their task (instructions, the workflow's
 * document) stays a byte-identical, cached prefix that the context extends; for a one-message
 * call that is a leading system message. Completions: a prompt prefix.
 */
export function prependContext(
  endpoint: Endpoint,
  body: Record<string, unknown>,
  entries: readonly ContextEntry[],
): void {
  if (entries.length === 0) return;
  const text = renderContext(entries);
  if (endpoint === 'chat') {
    const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
    const context = { role: 'system', content: text };
    body.messages = [...messages.slice(0, -1), context, ...messages.slice(-1)];
    return;
  }
  if (typeof body.prompt === 'string') body.prompt = `${text}${body.prompt}`;
  else if (Array.isArray(body.prompt) && typeof body.prompt[0] === 'string') {
    body.prompt = (body.prompt as string[]).map((p) => `${text}${p}`);
  }
}
