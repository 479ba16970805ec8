/**
 * `datasets/search` filter and order_by grammar (upstream `SearchEvaluationDatasetsUtils`):
 * attributes `name`, `created_time`, `last_update_time`, `created_by`, `last_updated_by` and
 * `tags.<key>`, comparisons joined by AND. Only `name` takes an `IN (...)` list. Orderings are
 * `name`, `created_time` and `last_update_time`; the default is `created_time DESC`, and the
 * store breaks ties with `dataset_id DESC`.
 */
import {
  numericAttribute,
  STRING_COMPARATORS,
  stringAttribute,
  validateComparisons,
  resolveIdentifier,
  type AttributeTable,
  type FilterSpec,
} from '../search/clause-validator.ts';
import { parseComparisons } from '../search/filter-parser.ts';
import { invalid, ONLY_RUN_ID_LIST } from '../search/messages.ts';
import { MlflowError } from '../errors.ts';
import { parseOrderByList, parseOrderByString } from '../search/order-by.ts';
import type { ClauseEntity, FilterClause, OrderByClause } from '../search/types.ts';

const FILTER_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name', true)],
  ['created_time', numericAttribute('created_time')],
  ['last_update_time', numericAttribute('last_update_time')],
  ['created_by', stringAttribute('created_by')],
  ['last_updated_by', stringAttribute('last_updated_by')],
];

const ORDER_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name')],
  ['created_time', numericAttribute('created_time')],
  ['last_update_time', numericAttribute('last_update_time')],
];

/** Upstream knows one prefix here: `tags.` */
function resolveDatasetEntity(prefix: string): ClauseEntity {
  if (prefix === 'tags') return 'tag';
  throw invalid(`Invalid identifier token '${prefix}' specified`);
}

const FILTER_SPEC: FilterSpec = {
  quoteInvalidClauses: false,
  resolveEntity: resolveDatasetEntity,
  attributes: FILTER_ATTRIBUTES,
  stringAttributeComparators: [...STRING_COMPARATORS, 'IN'],
  numberForStringAttribute: (raw) => `Expected a quoted string value for attributes. Got value ${raw}`,
  // Upstream int()s the value of a numeric attribute, so '1700000000000' is accepted too.
  quotedIntegersForNumericAttributes: true,
};

/** Parses a `datasets/search` filter; an absent or blank filter matches every dataset (`[]`). */
export function parseDatasetFilter(filter: string | undefined): FilterClause[] {
  let clauses: FilterClause[];
  try {
    clauses = validateComparisons(parseComparisons(filter, FILTER_SPEC.quoteInvalidClauses), FILTER_SPEC);
  } catch (error) {
    // The shared validator words the list rule for runs; here only `name` takes a list.
    if (error instanceof MlflowError && error.message === ONLY_RUN_ID_LIST) {
      throw invalid("Only the 'name' attribute supports comparison with a list of quoted string values.");
    }
    throw error;
  }
  for (const clause of clauses) {
    if (Array.isArray(clause.value) && clause.comparator !== 'IN') {
      throw invalid(`List values for '${clause.key}' are only supported with the IN comparator.`);
    }
    if (clause.comparator === 'IN' && !Array.isArray(clause.value)) {
      throw invalid(`The IN comparator needs a list of quoted strings, e.g. ${clause.key} IN ('a', 'b').`);
    }
    if (typeof clause.value === 'number' && !Number.isInteger(clause.value)) {
      throw invalid(`Invalid value for numeric attribute '${clause.key}': '${clause.value}'`);
    }
  }
  return clauses;
}

/** Parses `datasets/search` order_by entries (`"name ASC"`, `"created_time DESC"`…). */
export function parseDatasetOrderBy(orderBy: string[] | undefined): OrderByClause[] {
  const parsed = parseOrderByList(orderBy, (entry) => {
    const { identifier, ascending } = parseOrderByString(entry);
    const { entity, key } = resolveIdentifier(identifier, resolveDatasetEntity, ORDER_ATTRIBUTES);
    if (entity !== 'attribute') throw invalid(`Invalid order_by entity: ${entity}`);
    return { entity, key, ascending };
  });
  return parsed.length > 0 ? parsed : [{ entity: 'attribute', key: 'created_time', ascending: false }];
}
