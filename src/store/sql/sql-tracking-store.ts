import type { Kysely, Transaction } from 'kysely';
import { groupCommitOf } from './group-commit.ts';
import type { Database } from './schema.ts';
import type { TrackingStore } from '../tracking-store.ts';
import { SqlLoggedModelsStore } from './sql-logged-models-store.ts';

/**
 * The SQL tracking store, one implementation for SQLite and PostgreSQL through Kysely.
 * A store created by `transaction()` runs every call on that transaction.
 *
 * Its parts live one entity per file (sql-experiments-store.ts, sql-metrics-store.ts,
 * sql-runs-store.ts, sql-inputs-outputs-store.ts, sql-logged-models-store.ts, on top of
 * sql-tracking-base.ts); this class is their sum and owns the transaction.
 */
export class SqlTrackingStore extends SqlLoggedModelsStore implements TrackingStore {
  override async transaction<T>(work: (store: TrackingStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    const root = this.db as Kysely<Database>;
    let child: SqlTrackingStore | undefined;
    const inTransaction = async (trx: Transaction<Database>): Promise<T> => {
      child = new SqlTrackingStore(trx, this.keyCache, true);
      return work(child);
    };
    // On SQLite, concurrent writes share one COMMIT (group-commit.ts); it settles after that COMMIT.
    const group = groupCommitOf(root);
    const result = group ? await group.run(inTransaction) : await root.transaction().execute(inTransaction);
    // Key ids created inside the transaction are only trusted once it has committed.
    if (child) for (const [key, id] of child.pendingKeys) this.keyCache.ids.set(key, id);
    return result;
  }
}
