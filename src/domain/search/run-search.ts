/**
 * `runs/search` filter and order_by grammar (reference §9.1, upstream `SearchUtils`).
 */
import {
  dropUpperCaseIds,
  resolveIdentifier,
  RUN_ENTITY_PREFIXES,
  STRING_LIST_COMPARATORS,
  validateComparisons,
  numericAttribute,
  stringAttribute,
  type AttributeTable,
  type FilterSpec,
} from './clause-validator.ts';
import { parseComparisons } from './filter-parser.ts';
import { invalid, pyList } from './messages.ts';
import { parseOrderByList, parseOrderByString } from './order-by.ts';
import type { ClauseEntity, FilterClause, OrderByClause } from './types.ts';

/**
 * Filterable and orderable run attributes. `experiment_id` and `lifecycle_stage` are deliberately
 * absent (the request already scopes those). The aliases are the column titles the MLflow UI shows,
 * which is why their capitalisation variants are listed one by one rather than matched loosely.
 */
const RUN_ATTRIBUTES: AttributeTable = [
  ['run_id', stringAttribute('run_id', true)],
  ['run_name', stringAttribute('run_name')],
  ['status', stringAttribute('status')],
  ['user_id', stringAttribute('user_id')],
  ['artifact_uri', stringAttribute('artifact_uri')],
  ['start_time', numericAttribute('start_time')],
  ['end_time', numericAttribute('end_time')],
  ['created', numericAttribute('start_time')],
  ['Created', numericAttribute('start_time')],
  ['run name', stringAttribute('run_name')],
  ['Run name', stringAttribute('run_name')],
  ['Run Name', stringAttribute('run_name')],
];

const RUN_ENTITY_NAMES = ['metric', 'parameter', 'tag', 'attribute', 'dataset'];

function resolveRunEntity(prefix: string): ClauseEntity {
  const entity = RUN_ENTITY_PREFIXES[prefix];
  if (entity === undefined) {
    throw invalid(`Invalid entity type '${prefix}'. Valid values are ${pyList(RUN_ENTITY_NAMES)}`);
  }
  return entity;
}

const RUN_FILTER_SPEC: FilterSpec = {
  quoteInvalidClauses: true,
  resolveEntity: resolveRunEntity,
  attributes: RUN_ATTRIBUTES,
  stringAttributeComparators: STRING_LIST_COMPARATORS,
  numberForStringAttribute: (raw) => `Expected a quoted string value for attributes. Got value ${raw}`,
  normalizeList: (key, values) => (key === 'run_id' ? dropUpperCaseIds(values) : values),
};

/** Parses a `runs/search` filter; an absent or blank filter matches everything (`[]`). */
export function parseRunFilter(filter: string | undefined): FilterClause[] {
  return validateComparisons(parseComparisons(filter, RUN_FILTER_SPEC.quoteInvalidClauses), RUN_FILTER_SPEC);
}

/**
 * Parses `runs/search` order_by entries: attributes (aliases resolved), `metrics.<k>`,
 * `params.<k>` or `tags.<k>`. Datasets cannot be ordered by. The store appends the natural
 * tie-breakers (start_time DESC, run_id ASC) itself.
 */
export function parseRunOrderBy(orderBy: string[] | undefined): OrderByClause[] {
  return parseOrderByList(orderBy, (entry) => {
    const { identifier, ascending } = parseOrderByString(entry);
    const { entity, key } = resolveIdentifier(identifier, resolveRunEntity, RUN_ATTRIBUTES);
    if (entity === 'dataset') throw invalid(`Invalid order_by entity type '${entity}'`);
    return { entity, key, ascending };
  });
}
