/** The shared state store cannot be reached: callers answer 503 or fall back, never hang. */
export class StoreUnavailableError extends Error {
  constructor(message = 'state store unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
