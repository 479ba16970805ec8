import type { CompiledQuery } from 'kysely';

/**
 * Statements the store runs again and again with the same SQL text (runs/get's one statement,
 * loading a page of runs, a metric history page). On PostgreSQL each is sent as a named
 * statement: the server parses and plans it once per connection and then only binds new
 * parameters. For runs/get's statement (six subqueries) planning took longer than executing
 * (about 0.6 of its 0.9 ms, `EXPLAIN ANALYZE` and a loop of 500 calls on one connection).
 * On SQLite nothing changes: its driver keeps prepared statements per SQL text anyway
 * (database.ts).
 *
 * Only statements whose text never varies belong here (values are parameters, id lists one
 * array parameter): every text registered becomes one server-side statement on every pooled
 * connection that runs it, kept until the connection closes, so the registry must stay small.
 */
const names = new Map<string, string>();

/** Marks a compiled statement as prepared once per PostgreSQL connection; returns it unchanged. */
export function prepared<R>(query: CompiledQuery<R>): CompiledQuery<R> {
  if (!names.has(query.sql)) names.set(query.sql, `trove_${names.size + 1}`);
  return query;
}

/** The statement name under which this SQL text is prepared, or undefined for one-off SQL. */
export function preparedStatementName(sqlText: string): string | undefined {
  return names.get(sqlText);
}
