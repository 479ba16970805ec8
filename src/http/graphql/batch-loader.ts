/**
 * Collects the keys asked for while one GraphQL execution pass resolves a list (every run of a
 * search asks for its model versions) and loads them with one call. Each key is loaded at most
 * once per request; a loader lives for one request only, so nothing is cached across requests.
 */
export class BatchLoader<K, V> {
  private readonly loadMany: (keys: K[]) => Promise<Map<K, V>>;
  private readonly fallback: V;
  private readonly results = new Map<K, Promise<V>>();
  private pending: Array<{ key: K; resolve: (value: V) => void; reject: (error: unknown) => void }> = [];

  /**
   * @param loadMany loads a batch; keys missing from its map get `fallback`
   */
  constructor(loadMany: (keys: K[]) => Promise<Map<K, V>>, fallback: V) {
    this.loadMany = loadMany;
    this.fallback = fallback;
  }

  load(key: K): Promise<V> {
    const known = this.results.get(key);
    if (known) return known;
    const promise = new Promise<V>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ key, resolve, reject });
    });
    this.results.set(key, promise);
    return promise;
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const loaded = await this.loadMany(batch.map((entry) => entry.key));
      for (const entry of batch) entry.resolve(loaded.has(entry.key) ? loaded.get(entry.key)! : this.fallback);
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
