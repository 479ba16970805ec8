/**
 * `experiments/search` filter and order_by grammar (reference §9.2, upstream
 * `SearchExperimentsUtils`): attributes and tags only.
 */
import {
  resolveAttributeOrTag,
  STRING_COMPARATORS,
  validateComparisons,
  numericAttribute,
  stringAttribute,
  type AttributeTable,
  type FilterSpec,
} from './clause-validator.ts';
import { parseComparisons } from './filter-parser.ts';
import { attributeOnlyOrderBy, parseOrderByList } from './order-by.ts';
import type { FilterClause, OrderByClause } from './types.ts';

const EXPERIMENT_FILTER_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name')],
  ['creation_time', numericAttribute('creation_time')],
  ['last_update_time', numericAttribute('last_update_time')],
];

const EXPERIMENT_ORDER_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name')],
  // experiment_id is orderable (numerically, in the store) but not filterable upstream.
  ['experiment_id', stringAttribute('experiment_id')],
  ['creation_time', numericAttribute('creation_time')],
  ['last_update_time', numericAttribute('last_update_time')],
];

const EXPERIMENT_FILTER_SPEC: FilterSpec = {
  quoteInvalidClauses: false,
  resolveEntity: resolveAttributeOrTag,
  attributes: EXPERIMENT_FILTER_ATTRIBUTES,
  stringAttributeComparators: STRING_COMPARATORS,
  numberForStringAttribute: (raw) => `Expected a quoted string value for attributes. Got value ${raw}`,
};

/** Parses an `experiments/search` filter; an absent or blank filter matches everything (`[]`). */
export function parseExperimentFilter(filter: string | undefined): FilterClause[] {
  return validateComparisons(
    parseComparisons(filter, EXPERIMENT_FILTER_SPEC.quoteInvalidClauses),
    EXPERIMENT_FILTER_SPEC,
  );
}

/**
 * Parses `experiments/search` order_by entries. The store adds the tie-breakers
 * (`experiment_id DESC` when absent; `creation_time DESC, experiment_id ASC` with no order_by).
 */
export function parseExperimentOrderBy(orderBy: string[] | undefined): OrderByClause[] {
  return parseOrderByList(orderBy, attributeOnlyOrderBy(EXPERIMENT_ORDER_ATTRIBUTES));
}
