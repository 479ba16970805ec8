/**
 * Runs `work` over `items` with at most `concurrency` calls in flight. Errors are the callers'
 * business: `work` is expected to catch and record its own, so one bad item never stops the rest.
 */
export async function forEachConcurrent<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const lanes = Array.from({ length: Math.max(1, concurrency) }, async () => {
    for (;;) {
      const next = iterator.next();
      if (next.done) return;
      await work(next.value);
    }
  });
  await Promise.all(lanes);
}
