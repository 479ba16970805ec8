/**
 * `logged-models/search` grammar (reference §9.5, upstream `SearchLoggedModelsUtils`): run-style
 * entity prefixes minus datasets (dataset scoping is the request's separate `datasets` field),
 * and `order_by` given as a list of objects rather than strings.
 */
import {
  numericAttribute,
  RUN_ENTITY_PREFIXES,
  STRING_LIST_COMPARATORS,
  stringAttribute,
  validateComparisons,
  type AttributeTable,
  type FilterSpec,
} from './clause-validator.ts';
import { parseComparisons } from './filter-parser.ts';
import { invalid, pyList } from './messages.ts';
import type { ClauseEntity, FilterClause, LoggedModelOrderByInput, OrderByClause } from './types.ts';

/** Every string attribute accepts IN / NOT IN lists here, unlike runs (run_id only). */
const LOGGED_MODEL_ATTRIBUTES: AttributeTable = [
  ['name', stringAttribute('name', true)],
  ['model_id', stringAttribute('model_id', true)],
  ['model_type', stringAttribute('model_type', true)],
  ['status', stringAttribute('status', true)],
  ['source_run_id', stringAttribute('source_run_id', true)],
  ['creation_timestamp', numericAttribute('creation_timestamp')],
  ['creation_time', numericAttribute('creation_timestamp')],
  ['last_updated_timestamp', numericAttribute('last_updated_timestamp')],
  ['last_updated_time', numericAttribute('last_updated_timestamp')],
];

const LOGGED_MODEL_ENTITY_NAMES = ['metric', 'parameter', 'tag', 'attribute'];

function resolveLoggedModelEntity(prefix: string): ClauseEntity {
  const entity = RUN_ENTITY_PREFIXES[prefix];
  if (entity === undefined || entity === 'dataset') {
    throw invalid(`Invalid entity type '${prefix}'. Valid values are ${pyList(LOGGED_MODEL_ENTITY_NAMES)}`);
  }
  return entity;
}

const LOGGED_MODEL_FILTER_SPEC: FilterSpec = {
  quoteInvalidClauses: true,
  resolveEntity: resolveLoggedModelEntity,
  attributes: LOGGED_MODEL_ATTRIBUTES,
  stringAttributeComparators: STRING_LIST_COMPARATORS,
  numberForStringAttribute: (raw) => `Expected a quoted string value for attributes. Got value ${raw}`,
};

/**
 * Parses a `logged-models/search` filter. The MLflow 3 client itself sends
 * `name = '<artifact_path>' AND source_run_id = '<run_id>'` to resolve `runs:/` URIs.
 */
export function parseLoggedModelFilter(filter: string | undefined): FilterClause[] {
  return validateComparisons(
    parseComparisons(filter, LOGGED_MODEL_FILTER_SPEC.quoteInvalidClauses),
    LOGGED_MODEL_FILTER_SPEC,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Optional string field of an order_by object: absent, null and '' all mean "not given". */
function optionalString(entry: Record<string, unknown>, field: string): string | undefined {
  const value = entry[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw invalid(`Value of \`${field}\` in the \`order_by\` clause must be a string, got ${typeof value}.`);
  }
  return value;
}

function parseLoggedModelOrderByEntry(entry: unknown): OrderByClause {
  // The input comes from request JSON, so its declared type is a hope, not a guarantee.
  if (!isRecord(entry)) throw invalid('`order_by` must be a list of dictionaries.');
  const fieldName = entry['field_name'];
  if (typeof fieldName !== 'string' || fieldName.trim() === '') {
    throw invalid('`field_name` in the `order_by` clause must be specified.');
  }

  let entity: ClauseEntity;
  let key: string;
  const dot = fieldName.indexOf('.');
  if (dot >= 0) {
    // Only metrics can be ordered by besides attributes; the rest of the name (dots included)
    // is the metric key, optionally backtick-quoted as in filters.
    const prefix = fieldName.slice(0, dot);
    if (prefix !== 'metrics') {
      throw invalid(`Invalid order by field name: ${prefix}, only \`metrics.<name>\` is allowed.`);
    }
    entity = 'metric';
    const rest = fieldName.slice(dot + 1);
    key = rest.length >= 2 && rest.startsWith('`') && rest.endsWith('`') ? rest.slice(1, -1) : rest;
  } else {
    const name = fieldName.trim();
    const found = LOGGED_MODEL_ATTRIBUTES.find(([spelling]) => spelling === name);
    if (found === undefined) throw invalid(`Invalid order by field name: ${name}.`);
    entity = 'attribute';
    key = found[1].canonical;
  }

  const ascending = entry['ascending'] ?? true;
  if (typeof ascending !== 'boolean') {
    throw invalid(
      `Value of \`ascending\` in the \`order_by\` clause must be a boolean, got ${typeof ascending} for field ${fieldName}.`,
    );
  }
  const datasetName = optionalString(entry, 'dataset_name');
  const datasetDigest = optionalString(entry, 'dataset_digest');
  if (datasetDigest !== undefined && datasetName === undefined) {
    throw invalid('`dataset_digest` can only be specified if `dataset_name` is also specified.');
  }

  const clause: OrderByClause = { entity, key, ascending };
  // Dataset scoping only changes which metric value is used; attributes ignore it upstream.
  if (entity === 'metric' && datasetName !== undefined) {
    clause.datasetName = datasetName;
    if (datasetDigest !== undefined) clause.datasetDigest = datasetDigest;
  }
  return clause;
}

/**
 * Parses `logged-models/search` order_by objects: an attribute (aliases resolved) or
 * `metrics.<key>` (the store uses the latest value, optionally restricted to one dataset). The
 * store appends the tie-breakers `creation_timestamp DESC, model_id ASC`.
 */
export function parseLoggedModelOrderBy(orderBy: LoggedModelOrderByInput[] | undefined): OrderByClause[] {
  if (orderBy === undefined || orderBy === null) return [];
  return orderBy.map(parseLoggedModelOrderByEntry);
}
