import type { CompiledQuery, LogEvent, QueryResult, SqliteDatabase, Transaction } from 'kysely';

/**
 * Runs a compiled statement at once on the SQLite connection, without Kysely's layers: for the
 * members of a group commit, which own the connection for as long as they run (group-commit.ts).
 *
 * Why: a statement through `trx.executeQuery` passes Kysely's query executor, the transaction's
 * connection provider (a promise chain that serialises users of the connection), the driver's
 * connection and its logger: ~10 promises and ~15 µs of the one JavaScript thread per statement,
 * as much again as SQLite's own work for a one-row insert (measured: create-run's three inserts
 * ~37 µs in SQLite, ~85 µs through Kysely; each promise also runs the request context's async
 * hook). better-sqlite3 is synchronous and the group holds the only connection, so nothing is
 * gained by the layers there; the result is the one Kysely's SQLite driver returns, the statement
 * comes from the same statement cache, and the query observer (query-plan report, Prometheus
 * timings) sees it as it sees every other statement.
 */
export interface DirectSqlite {
  execute<R>(query: CompiledQuery): QueryResult<R>;
}

export function directSqlite(database: Pick<SqliteDatabase, 'prepare'>, observe?: (event: LogEvent) => void): DirectSqlite {
  const run = <R>(query: CompiledQuery): QueryResult<R> => {
    const statement = database.prepare(query.sql);
    if (statement.reader) return { rows: statement.all(query.parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(query.parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  };
  if (!observe) return { execute: run };
  return {
    execute<R>(query: CompiledQuery): QueryResult<R> {
      const started = performance.now();
      try {
        const result = run<R>(query);
        observe({ level: 'query', query, queryDurationMillis: performance.now() - started });
        return result;
      } catch (error) {
        observe({ level: 'error', error, query, queryDurationMillis: performance.now() - started });
        throw error;
      }
    },
  };
}

/**
 * The transaction as a group member sees it: `executeQuery` of a compiled statement (what the hot
 * SQLite writes use, run-writes-sqlite.ts) runs directly; everything else (query builders,
 * savepoints of nested work) is the transaction's own, bound to it (Kysely keeps its state in
 * private fields, which a plain prototype copy could not reach).
 */
export function withDirectExecuteQuery<T extends Pick<Transaction<unknown>, 'executeQuery'>>(trx: T, direct: DirectSqlite): T {
  const executeQuery = <R>(query: CompiledQuery<R> | { compile(): CompiledQuery<R> }): Promise<QueryResult<R>> => {
    try {
      return Promise.resolve(direct.execute<R>('compile' in query ? query.compile() : query));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(trx, {
    get(target, property) {
      if (property === 'executeQuery') return executeQuery;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(property);
      if (method === undefined) {
        method = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(property, method);
      }
      return method;
    },
  });
}
