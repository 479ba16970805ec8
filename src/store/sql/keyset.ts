import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { InvalidPageTokenError } from '../store-errors.ts';
import type { PagePosition, SortValue } from '../tracking-store.ts';

/**
 * Keyset paging for the searches. A search's order is a list of sort terms ending with the row's
 * unique id, so every row has exactly one position. A page selects its rows' sort key values too;
 * the next page token carries the last row's values, and the next page asks for the rows that
 * sort after them (`(a, b, id) > (x, y, z)` spelled out per term, since directions differ and
 * missing values sort last in both directions). Unlike OFFSET, the database never reads the rows
 * of earlier pages: with an index on the leading term, a deep page costs what page one costs.
 *
 * Tokens written before keyset paging carry an offset; those pages are still served by OFFSET and
 * hand out keyset tokens from then on.
 */

export interface SortTerm {
  expression: Expression<unknown>;
  ascending: boolean;
  /** Whether the expression can be NULL; NULLs sort after every value in both directions. */
  nullable: boolean;
}

/** ORDER BY expressions for the terms, NULLs last. */
export function orderBySql(terms: readonly SortTerm[]): RawBuilder<unknown>[] {
  const order: RawBuilder<unknown>[] = [];
  for (const term of terms) {
    if (term.nullable) order.push(sql`(case when ${term.expression} is null then 1 else 0 end)`);
    order.push(sql`${term.expression} ${sql.raw(term.ascending ? 'asc' : 'desc')}`);
  }
  return order;
}

/** Select-list items `expression as k0, …` that bring each row's sort key values back. */
export function sortKeySelections(terms: readonly SortTerm[]): RawBuilder<unknown>[] {
  return terms.map((term, i) => sql`${term.expression} as ${sql.ref(`k${i}`)}`);
}

/**
 * The condition "sorts after `values`". A redundant range bound on the first term comes first when
 * it cannot be NULL, so the planner can seek its index instead of filtering from the start.
 */
export function afterCondition(terms: readonly SortTerm[], values: readonly SortValue[]): Expression<SqlBool> {
  if (values.length !== terms.length) throw new InvalidPageTokenError();
  const alternatives: RawBuilder<SqlBool>[] = [];
  const equalSoFar: RawBuilder<SqlBool>[] = [];
  terms.forEach((term, i) => {
    const value = values[i] ?? null;
    if (value !== null) {
      const beyond = sql<SqlBool>`${term.expression} ${sql.raw(term.ascending ? '>' : '<')} ${value}`;
      const after = term.nullable ? sql<SqlBool>`(${beyond} or ${term.expression} is null)` : beyond;
      alternatives.push(equalSoFar.length === 0 ? after : sql<SqlBool>`(${sql.join([...equalSoFar, after], sql` and `)})`);
    }
    // Nothing sorts after NULL within a term: only the following terms can still move forward.
    equalSoFar.push(value === null ? sql<SqlBool>`${term.expression} is null` : sql<SqlBool>`${term.expression} = ${value}`);
  });
  const after = alternatives.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`(${sql.join(alternatives, sql` or `)})`;
  const [first] = terms;
  const firstValue = values[0] ?? null;
  if (first && !first.nullable && firstValue !== null) {
    return sql<SqlBool>`${first.expression} ${sql.raw(first.ascending ? '>=' : '<=')} ${firstValue} and ${after}`;
  }
  return after;
}

export interface KeysetRow {
  /** The row's id as the database returned it (a number, or text for trace ids). */
  id: number | string;
  keys: SortValue[];
}

/** Turns a database value into a token value: bigints as numbers, booleans as 0/1. */
export function toSortValue(value: unknown): SortValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return String(value);
}

/**
 * Runs `select <id>, <sort keys> from <from> where <conditions> order by <terms> limit n+1`, after
 * the page position (keyset, or OFFSET for an old token). Returns the page's rows in order and
 * whether more follow.
 */
export async function keysetQuery(
  db: Kysely<any>, // eslint-disable-line @typescript-eslint/no-explicit-any -- raw SQL, any schema (tracking, registry, traces)
  input: {
    id: Expression<unknown>;
    from: RawBuilder<unknown>;
    conditions: readonly Expression<SqlBool>[];
    terms: readonly SortTerm[];
    page: PagePosition;
    limit: number;
  },
): Promise<{ rows: KeysetRow[]; more: boolean }> {
  const conditions = [...input.conditions];
  if (input.page.after) conditions.push(afterCondition(input.terms, input.page.after));
  const where = conditions.length === 0 ? sql`1 = 1` : sql.join(conditions, sql` and `);
  const offset = input.page.after ? 0 : input.page.offset;
  const result = await sql<Record<string, unknown>>`
    select ${input.id} as id, ${sql.join(sortKeySelections(input.terms))} from ${input.from}
    where ${where}
    order by ${sql.join(orderBySql(input.terms))}
    limit ${input.limit + 1}${offset > 0 ? sql` offset ${offset}` : sql``}`.execute(db);
  const rows = result.rows.slice(0, input.limit).map((row) => ({
    id: typeof row.id === 'string' ? row.id : Number(row.id),
    keys: input.terms.map((_, i) => toSortValue(row[`k${i}`])),
  }));
  return { rows, more: result.rows.length > input.limit };
}

/** The position after the last row of a page, or undefined when no page follows. */
export function nextPosition(rows: readonly KeysetRow[], more: boolean, snapshot: number | null): PagePosition | undefined {
  const last = rows[rows.length - 1];
  if (!more || !last) return undefined;
  return { offset: 0, snapshot, after: last.keys };
}
