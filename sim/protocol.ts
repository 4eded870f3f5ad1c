// The OpenAI wire format as vLLM speaks it: request schemas (validated at the edge with
// zod; unknown fields ignored as vLLM ignores them) and the response and SSE chunk shapes.

import { z } from 'zod';
import { badRequest, notFound } from './errors.ts';
import { renderChat } from './chat-template.ts';
import { tokenize } from './tokenizer.ts';

/** vLLM's default `max_tokens` for /v1/completions. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;
/** Default for chat when neither max_tokens nor max_completion_tokens is set. */
export const DEFAULT_CHAT_MAX_TOKENS = 256;

const optionalInt = (min: number) => z.number().int().min(min).nullish();

const samplingFields = {
  model: z.string().nullish(),
  max_tokens: optionalInt(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: optionalInt(-1),
  min_p: z.number().min(0).max(1).nullish(),
  n: optionalInt(1),
  stream: z.boolean().nullish(),
  stream_options: z
    .object({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() })
    .nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  repetition_penalty: z.number().gt(0).max(2).nullish(),
  min_tokens: optionalInt(0),
  ignore_eos: z.boolean().nullish(),
  user: z.string().nullish(),
};

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const completionRequestSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
  echo: z.boolean().nullish(),
  logprobs: z.number().int().min(0).max(20).nullish(),
  suffix: z.string().nullish(),
  best_of: optionalInt(1),
});

const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

export const chatMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().nullish(),
});

export const chatRequestSchema = z.object({
  ...samplingFields,
  messages: z.array(chatMessageSchema).min(1),
  max_completion_tokens: optionalInt(1),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  add_generation_prompt: z.boolean().nullish(),
  tools: z.array(z.unknown()).nullish(),
});

export type Endpoint = 'completion' | 'chat';

/** A validated request, rendered and tokenized, ready for the engine. */
export interface InferenceRequest {
  kind: Endpoint;
  model: string;
  promptText: string;
  promptTokens: Uint32Array;
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  stop: string[];
  seed: number | undefined;
  echo: boolean;
}

export interface RequestLimits {
  models: readonly string[];
  /** Longest prompt + completion the pod accepts. */
  maxModelLen: number;
}

/** `messages.0.content` → `messages[0].content`, OpenAI's `param` form. */
export function paramPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replaceAll('.[', '[');
}

function schemaError(error: z.ZodError): never {
  const issue = error.issues[0];
  const param = issue ? paramPath(issue.path) : null;
  const message = issue?.message ?? 'invalid request';
  throw badRequest(param ? `${param}: ${message}` : message, param || null);
}

/** Validates a /v1/completions or /v1/chat/completions body into an InferenceRequest. */
export function parseInferenceRequest(
  kind: Endpoint,
  body: unknown,
  limits: RequestLimits,
): InferenceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the request body must be a JSON object');
  }
  const parsed =
    kind === 'chat' ? chatRequestSchema.safeParse(body) : completionRequestSchema.safeParse(body);
  if (!parsed.success) schemaError(parsed.error);
  const req = parsed.data;
  const model = req.model ?? limits.models[0] ?? '';
  if (!limits.models.includes(model)) throw notFound(`The model \`${model}\` does not exist.`);
  if ((req.n ?? 1) > 1) throw badRequest('n > 1 is not supported by the simulator', 'n');
  const stream = req.stream ?? false;
  if (req.stream_options != null && !stream) {
    throw badRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
  }

  let promptText: string;
  let promptTokens: Uint32Array;
  let requested: number | null | undefined;
  let echo = false;
  if ('messages' in req) {
    const messages = req.messages.map((m, i) => ({ role: m.role, content: messageText(m.content, i) }));
    promptText = renderChat(messages, req.add_generation_prompt ?? true);
    promptTokens = tokenize(promptText);
    requested = req.max_completion_tokens ?? req.max_tokens;
  } else {
    if (req.suffix != null) throw badRequest('suffix is not currently supported', 'suffix');
    if ((req.best_of ?? 1) > 1) throw badRequest('best_of > 1 is not supported by the simulator', 'best_of');
    const prompt = singlePrompt(req.prompt);
    if (typeof prompt === 'string') {
      promptText = prompt;
      promptTokens = tokenize(prompt);
    } else {
      promptText = '';
      promptTokens = Uint32Array.from(prompt);
    }
    requested = req.max_tokens;
    echo = req.echo ?? false;
  }

  const inputLen = promptTokens.length;
  if (inputLen === 0)
    throw badRequest('The prompt cannot be empty.', kind === 'chat' ? 'messages' : 'prompt');
  const maxLen = limits.maxModelLen;
  if (inputLen >= maxLen) {
    throw badRequest(
      `This model's maximum context length is ${maxLen} tokens. However, your request has ${inputLen} ` +
        'input tokens. Please reduce the length of the input messages.',
      kind === 'chat' ? 'messages' : 'prompt',
    );
  }
  if (requested != null && inputLen + requested > maxLen) {
    throw badRequest(
      `'max_tokens' or 'max_completion_tokens' is too large: ${requested}. This model's maximum context ` +
        `length is ${maxLen} tokens and your request has ${inputLen} input tokens ` +
        `(${requested} > ${maxLen} - ${inputLen}).`,
      'max_tokens',
    );
  }
  const defaultMax = kind === 'chat' ? DEFAULT_CHAT_MAX_TOKENS : DEFAULT_COMPLETION_MAX_TOKENS;
  const maxTokens = requested ?? Math.min(defaultMax, maxLen - inputLen);

  return {
    kind,
    model,
    promptText,
    promptTokens,
    maxTokens,
    stream,
    includeUsage: stream && req.stream_options?.include_usage === true,
    stop:
      req.stop == null ? [] : (typeof req.stop === 'string' ? [req.stop] : req.stop).filter((s) => s !== ''),
    seed: req.seed ?? undefined,
    echo,
  };
}

function messageText(content: z.infer<typeof chatMessageSchema>['content'], index: number): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const [j, part] of content.entries()) {
    if (part.type !== 'text' || typeof part.text !== 'string') {
      throw badRequest(
        `content part type '${part.type}' is not supported: the simulated model reads text only`,
        `messages[${index}].content[${j}]`,
      );
    }
    text += part.text;
  }
  return text;
}

// vLLM batches an array of prompts into several choices; the simulator answers one choice.
function singlePrompt(prompt: string | string[] | number[] | number[][]): string | number[] {
  if (typeof prompt === 'string') return prompt;
  if (prompt.length > 1 && typeof prompt[0] !== 'number') {
    throw badRequest('a batch of several prompts is not supported by the simulator; send one', 'prompt');
  }
  const first = prompt[0];
  if (typeof first === 'number') return prompt as number[];
  return first as string | number[];
}

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usage(promptTokens: number, completionTokens: number, cachedTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

/** Identity fields shared by a response and all its chunks. */
export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

export type FinishReasonField = 'length' | 'stop' | null;

export function completionResponse(
  who: ResponseIdentity,
  text: string,
  finishReason: FinishReasonField,
  stopReason: string | null,
  use: Usage,
): object {
  return {
    id: who.id,
    object: 'text_completion',
    created: who.created,
    model: who.model,
    choices: [
      {
        index: 0,
        text,
        logprobs: null,
        finish_reason: finishReason,
        stop_reason: stopReason,
        prompt_logprobs: null,
      },
    ],
    usage: use,
  };
}

export function chatResponse(
  who: ResponseIdentity,
  text: string,
  finishReason: FinishReasonField,
  stopReason: string | null,
  use: Usage,
): object {
  return {
    id: who.id,
    object: 'chat.completion',
    created: who.created,
    model: who.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, tool_calls: [] },
        logprobs: null,
        finish_reason: finishReason,
        stop_reason: stopReason,
      },
    ],
    usage: use,
  };
}

/** One SSE chunk of a streamed response carrying `text`. */
export function streamChunk(
  kind: Endpoint,
  who: ResponseIdentity,
  text: string,
  finishReason: FinishReasonField,
  stopReason: string | null,
  first: boolean,
): object {
  if (kind === 'completion') {
    return {
      id: who.id,
      object: 'text_completion',
      created: who.created,
      model: who.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: stopReason }],
    };
  }
  return {
    id: who.id,
    object: 'chat.completion.chunk',
    created: who.created,
    model: who.model,
    choices: [
      {
        index: 0,
        delta: first ? { role: 'assistant', content: text } : { content: text },
        logprobs: null,
        finish_reason: finishReason,
        stop_reason: stopReason,
      },
    ],
  };
}

/** The final chunk sent when stream_options.include_usage is set: no choices, only usage. */
export function usageChunk(kind: Endpoint, who: ResponseIdentity, use: Usage): object {
  return {
    id: who.id,
    object: kind === 'completion' ? 'text_completion' : 'chat.completion.chunk',
    created: who.created,
    model: who.model,
    choices: [],
    usage: use,
  };
}

/** An SSE frame. */
export function sse(payload: object | string): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}
