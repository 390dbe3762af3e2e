/**
 * An in-process wake-up: a commit (or a kick-off) tells this process's background workers at once, so
 * they need not wait for their next poll; other processes find the same work by polling the database.
 */
export class WakeSignal {
  private readonly listeners = new Set<() => void>();

  /** Listens until the returned function is called. */
  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const l of this.listeners) l();
  }
}
