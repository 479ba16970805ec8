/**
 * `registered-models/search` and `model-versions/search` grammars (reference §9.3 / §9.4,
 * upstream `SearchModelUtils` / `SearchModelVersionUtils`): attributes and tags only.
 */
import {
  dropUpperCaseIds,
  resolveAttributeOrTag,
  STRING_COMPARATORS,
  validateComparisons,
  numericAttribute,
  stringAttribute,
  type AttributeTable,
  type FilterSpec,
} from './clause-validator.ts';
import { parseComparisons } from './filter-parser.ts';
import { pyList } from './messages.ts';
import { attributeOnlyOrderBy, parseOrderByList } from './order-by.ts';
import type { FilterClause, OrderByClause } from './types.ts';

const LIST_MESSAGE_FOR_ATTRIBUTES = 'Expected a quoted string value or a list of quoted string values for attributes.';

// ---- Registered models ------------------------------------------------------------------------

const REGISTERED_MODEL_FILTER_SPEC: FilterSpec = {
  quoteInvalidClauses: false,
  resolveEntity: resolveAttributeOrTag,
  attributes: [['name', stringAttribute('name')]],
  stringAttributeComparators: STRING_COMPARATORS,
  numberForStringAttribute: (raw) => `${LIST_MESSAGE_FOR_ATTRIBUTES} Got value ${raw}`,
};

const REGISTERED_MODEL_ORDER_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name')],
  ['creation_timestamp', numericAttribute('creation_timestamp')],
  // Older clients (and the MLflow UI) still send `timestamp`.
  ['timestamp', numericAttribute('creation_timestamp')],
  ['last_updated_timestamp', numericAttribute('last_updated_timestamp')],
];

/**
 * Parses a `registered-models/search` filter. Note the 3.x client appends
 * ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every filter; that parses as an ordinary tag
 * clause here, and the store applies the prompt-tag exception (§4.4) when evaluating it.
 */
export function parseRegisteredModelFilter(filter: string | undefined): FilterClause[] {
  return validateComparisons(
    parseComparisons(filter, REGISTERED_MODEL_FILTER_SPEC.quoteInvalidClauses),
    REGISTERED_MODEL_FILTER_SPEC,
  );
}

/** Parses `registered-models/search` order_by entries; the store adds the `name ASC` tie-breaker. */
export function parseRegisteredModelOrderBy(orderBy: string[] | undefined): OrderByClause[] {
  return parseOrderByList(orderBy, attributeOnlyOrderBy(REGISTERED_MODEL_ORDER_ATTRIBUTES));
}

// ---- Model versions ---------------------------------------------------------------------------

const MODEL_VERSION_NUMERIC_ATTRIBUTES = ['version_number'];

const MODEL_VERSION_FILTER_SPEC: FilterSpec = {
  quoteInvalidClauses: false,
  resolveEntity: resolveAttributeOrTag,
  attributes: [
    ['name', stringAttribute('name')],
    ['version_number', numericAttribute('version_number')],
    ['run_id', stringAttribute('run_id', true)],
    // `source_path` is the filter's name for the version's `source` field.
    ['source_path', stringAttribute('source_path')],
  ],
  // No NOT IN here: upstream's model-version store only knows IN.
  stringAttributeComparators: [...STRING_COMPARATORS, 'IN'],
  numberForStringAttribute: () =>
    `Only the '${pyList(MODEL_VERSION_NUMERIC_ATTRIBUTES)}' attributes support comparison with numeric values.`,
  // Upstream int()s whatever value version_number gets, so `version_number = '3'` works there.
  quotedIntegersForNumericAttributes: true,
  normalizeList: (key, values) => (key === 'run_id' ? dropUpperCaseIds(values) : values),
};

const MODEL_VERSION_ORDER_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name')],
  ['version_number', numericAttribute('version_number')],
  ['creation_timestamp', numericAttribute('creation_timestamp')],
  ['last_updated_timestamp', numericAttribute('last_updated_timestamp')],
];

/** Parses a `model-versions/search` filter; an absent or blank filter matches everything (`[]`). */
export function parseModelVersionFilter(filter: string | undefined): FilterClause[] {
  return validateComparisons(
    parseComparisons(filter, MODEL_VERSION_FILTER_SPEC.quoteInvalidClauses),
    MODEL_VERSION_FILTER_SPEC,
  );
}

/**
 * Parses `model-versions/search` order_by entries; the store adds the tie-breakers
 * (`name ASC`, then version DESC compared numerically).
 */
export function parseModelVersionOrderBy(orderBy: string[] | undefined): OrderByClause[] {
  return parseOrderByList(orderBy, attributeOnlyOrderBy(MODEL_VERSION_ORDER_ATTRIBUTES));
}
