/** Wakes long-polling readers of an inbox when a message arrives or the workflow goes away. */
export class InboxWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  wait(workflow: string, agent: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const id = `${workflow}\u0000${agent}`;
    return new Promise((resolve) => {
      const set = this.waiting.get(id) ?? new Set<() => void>();
      this.waiting.set(id, set);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  wake(workflow: string, agent: string): void {
    for (const done of [...(this.waiting.get(`${workflow}\u0000${agent}`) ?? [])]) done();
  }

  wakeWorkflow(workflow: string): void {
    for (const [id, set] of [...this.waiting]) {
      if (id.startsWith(`${workflow}\u0000`)) for (const done of [...set]) done();
    }
  }

  wakeAll(): void {
    for (const set of [...this.waiting.values()]) for (const done of [...set]) done();
  }
}
