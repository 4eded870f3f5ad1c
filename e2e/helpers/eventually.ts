// Polling for asynchronous effects (informer callbacks, watch output) without timing
// assertions: wait until a condition holds, failing only after a generous deadline.
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves with the first truthy result of `check`, polling; throws with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${what}${cause}`);
    }
    await sleep(20);
  }
}
