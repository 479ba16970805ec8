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
 * The condition "sorts after `values`". When the first term is NOT NULL and the position has a
 * value for it, the condition is one range on that term plus a filter for its ties:
 * `t0 <= v and (t0 <> v or <the following terms sort after theirs>)` (`>=` ascending). The range
 * is an index condition, so the database seeks the first term's index at the position, walks it
 * in order and stops after the page, as on page one; the filter only drops the rows tied with the
 * position that come before it. Written this way, PostgreSQL estimates the filter to keep almost
 * every row (`t0 <> v`), so it expects as many rows after the position as the range holds and
 * walks the index (spelled `t0 < v or (t0 = v and …)` beside the range, it multiplied the two and
 * expected a few dozen rows where thousands follow, then read and sorted them all).
 */
export function afterCondition(terms: readonly SortTerm[], values: readonly SortValue[]): Expression<SqlBool> {
  if (values.length !== terms.length) throw new InvalidPageTokenError();
  const [first, ...rest] = terms;
  const firstValue = values[0] ?? null;
  if (first && !first.nullable && firstValue !== null) {
    const bound = sql<SqlBool>`${first.expression} ${sql.raw(first.ascending ? '>=' : '<=')} ${firstValue}`;
    if (rest.length === 0) return sql<SqlBool>`${first.expression} ${sql.raw(first.ascending ? '>' : '<')} ${firstValue}`;
    return sql<SqlBool>`${bound} and (${first.expression} <> ${firstValue} or ${laterCondition(rest, values.slice(1))})`;
  }
  return laterCondition(terms, values);
}

/**
 * "Sorts after `values`" spelled out per term: `(a > x) or (a = x and b > y) or …`, with NULLs
 * last in both directions (nothing sorts after NULL within a term; a NULL sorts after any value).
 */
function laterCondition(terms: readonly SortTerm[], values: readonly SortValue[]): RawBuilder<SqlBool> {
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
  return alternatives.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`(${sql.join(alternatives, sql` or `)})`;
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
  const select = sql`select ${input.id} as id, ${sql.join(sortKeySelections(input.terms))} from ${input.from}`;
  const order = sql.join(orderBySql(input.terms));
  const limit = input.limit + 1;
  const after = input.page.after;
  const conditions = [...input.conditions];
  if (after) conditions.push(afterCondition(input.terms, after));
  const where = conditions.length === 0 ? sql`1 = 1` : sql.join(conditions, sql` and `);
  const offset = after ? 0 : input.page.offset;
  const statement = sql<Record<string, unknown>>`${select} where ${where} order by ${order}
    limit ${limit}${offset > 0 ? sql` offset ${offset}` : sql``}`;
  const result = await statement.execute(db);
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
