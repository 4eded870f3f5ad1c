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

export function renderContext(entries: readonly ContextEntry[]): string {
  let text = 'Shared workflow context (outputs of earlier agents):\n';
  for (const e of entries) text += `\n[${e.agent}]\n${e.text}\n`;
  return text;
}

/** Puts the shared context in front of the call: one leading system message, or a prompt prefix. */
export function prependContext(
  endpoint: Endpoint,
  body: Record<string, unknown>,
  entries: readonly ContextEntry[],
): void {
  if (entries.length === 0) return;
  const text = renderContext(entries);
  if (endpoint === 'chat') {
    const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
    body.messages = [{ role: 'system', content: text }, ...messages];
    return;
  }
  if (typeof body.prompt === 'string') body.prompt = `${text}${body.prompt}`;
  else if (Array.isArray(body.prompt) && typeof body.prompt[0] === 'string') {
    body.prompt = (body.prompt as string[]).map((p) => `${text}${p}`);
  }
}
