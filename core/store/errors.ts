/**
 * The backing store cannot be reached (connection down, command timed out, cluster not
 * ready). The router answers 503 for operations that need the store and falls back to the
 * near-cache and rendezvous hashing for routing. The in-memory store never throws it.
 */
export class StoreUnavailableError extends Error {
  constructor(message = 'state store unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
