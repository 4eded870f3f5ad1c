// The one chat template every request is rendered through before tokenizing. Each message
// becomes `<|role|>\ncontent<|end|>\n` in order, so chats that share their first messages
// share a rendered prefix, hence a token prefix, hence KV blocks. The generation prompt
// `<|assistant|>\n` is appended last, as vLLM does with add_generation_prompt.

export interface ChatMessage {
  role: string;
  content: string;
}

/** Renders messages into the prompt string the model sees. */
export function renderChat(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  let out = '';
  for (const m of messages) out += `<|${m.role}|>\n${m.content}<|end|>\n`;
  return addGenerationPrompt ? out + '<|assistant|>\n' : out;
}
