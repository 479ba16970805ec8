/**
 * Typed output of the search-filter and order_by parsers. The store layer turns these into SQL;
 * nothing here knows about tables, so the same shapes serve runs, experiments, registered models,
 * model versions and logged models.
 */

/** Comparators are always normalised to upper case with single spaces (`not  in` → `NOT IN`). */
export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

export type ClauseEntity = 'attribute' | 'metric' | 'param' | 'tag' | 'dataset';

export interface FilterClause {
  entity: ClauseEntity;
  /**
   * Canonical key: the attribute name after alias resolution (`created` → `start_time`,
   * `run name` → `run_name`, `creation_time` → `creation_timestamp` for logged models…), the
   * metric / param / tag key as written (quotes removed), or the dataset field
   * `name` | `digest` | `context`.
   */
  key: string;
  comparator: Comparator;
  /**
   * A number for numeric comparisons (metrics, numeric attributes), a string for string
   * comparisons, a string[] for `IN` / `NOT IN`. A list can come out empty even though the filter's
   * list was not: like upstream, `run_id IN (...)` silently drops ids containing upper-case
   * letters, so the store must treat `IN ()` as "matches nothing" and `NOT IN ()` as "matches all".
   */
  value: string | number | string[];
}

export interface OrderByClause {
  entity: ClauseEntity;
  key: string;
  ascending: boolean;
  /** Logged models only: restrict the ordering metric to one dataset. */
  datasetName?: string;
  datasetDigest?: string;
}

/** One element of the logged-models `order_by` request field (it is a list of objects there). */
export interface LoggedModelOrderByInput {
  field_name: string;
  ascending?: boolean;
  dataset_name?: string;
  dataset_digest?: string;
}
