import { z } from 'zod';

/** Message ids and cursors share Redis stream id syntax (`<ms>-<seq>`) in both stores. */
export const messageIdSchema = z
  .string()
  .regex(/^[0-9]{1,15}-[0-9]{1,9}$/, 'must be a message id like 1700000000000-0');

export function compareMessageIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

/** Generates strictly increasing ids even when several arrive in the same millisecond. */
export class MessageIdClock {
  private lastMs = 0;
  private seq = 0;

  next(now: number): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return `${this.lastMs}-${this.seq}`;
  }
}
