import type { z } from 'zod';
import { badRequest } from '../../core/errors.ts';

/** Validates input at the edge; the first issue becomes a 400 naming the parameter. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const param = path === '' ? where : path;
  throw badRequest(`${param}: ${issue?.message ?? 'invalid'}`, param);
}
