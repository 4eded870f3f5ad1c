import type { Response } from 'express';
import type { RouterCore } from '../router-core.ts';

/**
 * A signal aborted when the client goes away or the replica starts draining, and one for the
 * client alone. The listener on the replica's long-lived drain signal goes with the response
 * (AbortSignal.any would leave one behind per request until collected).
 */
export function closeOrDrain(core: RouterCore, res: Response): { signal: AbortSignal; closed: AbortSignal } {
  const closed = new AbortController();
  const either = new AbortController();
  const onDrain = (): void => either.abort();
  if (core.draining.signal.aborted) either.abort();
  else core.draining.signal.addEventListener('abort', onDrain, { once: true });
  res.once('close', () => {
    core.draining.signal.removeEventListener('abort', onDrain);
    closed.abort();
    either.abort();
  });
  return { signal: either.signal, closed: closed.signal };
}
