import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { StoreFilterClause } from '../tracking-store.ts';

/**
 * Turns one comparison of a search filter into a parameterised SQL condition on an expression.
 * LIKE is case-sensitive (SQLite runs with case_sensitive_like, PostgreSQL's LIKE already is);
 * ILIKE lowers both sides, which both databases understand.
 */
export function compareExpression(
  target: Expression<unknown>,
  comparator: StoreFilterClause['comparator'],
  value: StoreFilterClause['value'],
): Expression<SqlBool> {
  switch (comparator) {
    case '=':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return sql<SqlBool>`${target} ${sql.raw(comparator === '!=' ? '<>' : comparator)} ${value}`;
    case 'LIKE':
      return sql<SqlBool>`${target} like ${value}`;
    case 'ILIKE':
      return sql<SqlBool>`lower(${target}) like lower(${value})`;
    case 'IN':
    case 'NOT IN': {
      const values = Array.isArray(value) ? value : [String(value)];
      if (values.length === 0) return sql<SqlBool>`${sql.lit(comparator === 'NOT IN')}`;
      const list = sql.join(values.map((v) => sql`${v}`));
      return comparator === 'IN' ? sql<SqlBool>`${target} in (${list})` : sql<SqlBool>`${target} not in (${list})`;
    }
  }
}

/** `true` as a condition, for queries with no filter. */
export function alwaysTrue<DB, TB extends keyof DB>(_eb: ExpressionBuilder<DB, TB>): Expression<SqlBool> {
  return sql<SqlBool>`1 = 1`;
}

/** Splits a list for `IN (...)` lists that must stay under the databases' bind-variable limits. */
export function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Whether a driver error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e?.code === '23505';
}
