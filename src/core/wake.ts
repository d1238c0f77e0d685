/**
 * A wait that a signal ends early: `wait` resolves at the next `signal` (at once when one came
 * since the last wait), after `ms`, or when the abort signal fires, whichever is first. One
 * waiter at a time. Used where a loop sleeps until there is something new to read.
 */
export class Wake {
  private pending = false;
  private resolve: (() => void) | undefined;

  signal(): void {
    const resolve = this.resolve;
    if (!resolve) {
      this.pending = true;
      return;
    }
    this.resolve = undefined;
    resolve();
  }

  wait(ms: number, abort?: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        abort?.removeEventListener("abort", done);
        this.resolve = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort?.addEventListener("abort", done, { once: true });
      this.resolve = done;
    });
  }
}
