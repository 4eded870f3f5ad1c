import { z } from 'zod';
import { ApiError } from '../../core/errors.ts';
import { idSchema } from '../../core/ids.ts';

/** Longest ttl a message may ask for: a week. */
const MAX_TTL_SECONDS = 7 * 24 * 3600;

const sendFields = {
  from_agent: idSchema,
  payload: z.unknown().refine((v) => v !== undefined, 'payload is required'),
  ttl_seconds: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
};

/** The body of a message to one agent (or a broadcast): `{from_agent, payload, ttl_seconds?}`. */
export const sendSchema = z.object(sendFields).strict();

export type SendBody = z.infer<typeof sendSchema>;

/** Most messages one batch may carry (as many as one read returns). */
export const MAX_BATCH_MESSAGES = 1000;

/** The body of a batch: `{messages: [{to_agent, from_agent, payload, ttl_seconds?}, ...]}`. */
export const batchSchema = z
  .object({
    messages: z
      .array(z.object({ to_agent: idSchema, ...sendFields }).strict())
      .min(1)
      .max(MAX_BATCH_MESSAGES),
  })
  .strict();

/** 413 when a payload, serialised as stored, is longer than `maxBytes`. */
export function checkPayloadSize(payload: unknown, maxBytes: number, param: string): void {
  if (Buffer.byteLength(JSON.stringify(payload)) <= maxBytes) return;
  throw new ApiError(413, 'invalid_request_error', `message payload exceeds ${maxBytes} bytes`, {
    code: 'message_too_large',
    param,
  });
}
