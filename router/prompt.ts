/** The two OpenAI endpoints the router proxies, and reading their prompts as text. */
export type Endpoint = 'chat' | 'completions';

export const ENDPOINT_PATHS: Record<Endpoint, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
};

/** Estimated tokens: 4 characters a token, as the simulator and most BPE vocabularies average. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        part !== null && typeof part === 'object' && 'text' in part && typeof part.text === 'string'
          ? part.text
          : '',
      )
      .join('');
  }
  return '';
}

/**
 * The prompt as one string, in message order, for prefix hashing. It need not match the pod's
 * chat template byte for byte: calls sharing leading messages share a leading string here too.
 */
export function promptText(endpoint: Endpoint, body: Record<string, unknown>): string {
  if (endpoint === 'completions') {
    const prompt = body.prompt;
    if (typeof prompt === 'string') return prompt;
    if (Array.isArray(prompt) && typeof prompt[0] === 'string') return prompt[0];
    return '';
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return '';
  let text = '';
  for (const m of messages as unknown[]) {
    if (m === null || typeof m !== 'object') continue;
    const role = 'role' in m && typeof m.role === 'string' ? m.role : '';
    text += `<${role}>${contentText('content' in m ? m.content : undefined)}\n`;
  }
  return text;
}
