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
 * A keyset position split in two conditions when the first term is NOT NULL and the position has a
 * value for it: `ties` (the first term equals the value and the following terms sort after theirs)
 * and `beyond` (the first term alone sorts after the value). Each is a plain index range, so the
 * planner walks the first term's index from the position and stops after the page, as on page one.
 * As one condition (`t0 < v or (t0 = v and …)`), PostgreSQL multiplies the selectivities of the
 * range and of the OR and expects a few dozen rows where thousands follow, then prefers reading
 * every remaining row and sorting them (a deep page of 100 after 12,500 of 25,000 rows: 17 ms
 * against 8.7 ms for page one, docs/query-plans.md).
 */
export function splitAfterCondition(
  terms: readonly SortTerm[],
  values: readonly SortValue[],
): { ties: Expression<SqlBool>; beyond: Expression<SqlBool> } | undefined {
  if (values.length !== terms.length) throw new InvalidPageTokenError();
  const [first, ...rest] = terms;
  const firstValue = values[0] ?? null;
  if (!first || first.nullable || firstValue === null) return undefined;
  const equal = sql<SqlBool>`${first.expression} = ${firstValue}`;
  const ties = rest.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`${equal} and ${afterCondition(rest, values.slice(1))}`;
  const beyond = sql<SqlBool>`${first.expression} ${sql.raw(first.ascending ? '>' : '<')} ${firstValue}`;
  return { ties, beyond };
}

/**
 * Runs `select <id>, <sort keys> from <from> where <conditions> order by <terms> limit n+1`, after
 * the page position (keyset, or OFFSET for an old token). Returns the page's rows in order and
 * whether more follow.
 *
 * A keyset page whose first term is NOT NULL is read as two limited selects in one statement (the
 * rows tied with the position on the first term, then the rows beyond it; splitAfterCondition),
 * merged in order.
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
  const where = (conditions: readonly Expression<SqlBool>[]) => (conditions.length === 0 ? sql`1 = 1` : sql.join(conditions, sql` and `));
  const limit = input.limit + 1;
  const after = input.page.after;
  const split = after ? splitAfterCondition(input.terms, after) : undefined;
  let statement: RawBuilder<Record<string, unknown>>;
  if (split) {
    // Each arm is wrapped in its own select: SQLite allows no ORDER BY/LIMIT on a compound's arms.
    const arm = (condition: Expression<SqlBool>, alias: string) =>
      sql`select * from (${select} where ${where([...input.conditions, condition])} order by ${order} limit ${limit}) as ${sql.ref(alias)}`;
    const outerOrder = orderBySql(input.terms.map((term, i) => ({ ...term, expression: sql.ref(`k${i}`) })));
    statement = sql<Record<string, unknown>>`select * from (${arm(split.ties, 'ties')} union all ${arm(split.beyond, 'beyond')}) as page
      order by ${sql.join(outerOrder)} limit ${limit}`;
  } else {
    const conditions = [...input.conditions];
    if (after) conditions.push(afterCondition(input.terms, after));
    const offset = after ? 0 : input.page.offset;
    statement = sql<Record<string, unknown>>`${select} where ${where(conditions)} order by ${order}
      limit ${limit}${offset > 0 ? sql` offset ${offset}` : sql``}`;
  }
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
