import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';

/**
 * The few places where SQLite and PostgreSQL need different DDL. Everything else in the schema
 * and in the queries goes through Kysely unchanged.
 */
export type DialectName = 'sqlite' | 'postgres';

export function dialectOf(db: Kysely<unknown>): DialectName {
  const adapterName = db.getExecutor().adapter.constructor.name;
  return adapterName.toLowerCase().includes('postgres') ? 'postgres' : 'sqlite';
}

/** An auto-increment integer primary key. */
export function addIdColumn<T extends string, C extends string>(
  dialect: DialectName,
  table: CreateTableBuilder<T, C>,
  name: string,
): CreateTableBuilder<T, C> {
  if (dialect === 'postgres') {
    return table.addColumn(name, 'bigserial', (col) => col.primaryKey()) as CreateTableBuilder<T, C>;
  }
  return table.addColumn(name, 'integer', (col) => col.primaryKey().autoIncrement()) as CreateTableBuilder<T, C>;
}

/** int64 values: ms timestamps, steps, ids. */
export const BIGINT = 'bigint' as const;
/** IEEE double for metric values. */
export const DOUBLE = 'double precision' as const;

export function notNull(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder {
  return col.notNull();
}
