/** A FIFO async mutex: one holder at a time, in arrival order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    // the next holder waits for this one to finish, whatever its outcome
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
