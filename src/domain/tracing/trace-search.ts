/**
 * The `search_traces` filter and order_by grammar (MLflow's SearchTraceUtils): comparisons joined
 * by AND on trace attributes (`trace.status`, `trace.timestamp_ms`, `trace.execution_time_ms`,
 * `trace.name`, `trace.run_id`, …), `tags.<key>` and `metadata.<key>`, with `IS NULL` /
 * `IS NOT NULL` for tags and metadata. The structural parsing (tokens, AND, lists, quoting) is the
 * shared one of src/domain/search; this module only says what the identifiers mean.
 */
import { MlflowError } from '../errors.ts';
import { parseComparisons, readStringList, splitIdentifier, type RawComparison, type ValueNode } from '../search/filter-parser.ts';
import { invalid, invalidAttributeKey, invalidComparator, notQuoted, pyList } from '../search/messages.ts';
import { parseOrderByList, parseOrderByString } from '../search/order-by.ts';
import type { TraceComparator, TraceFilterClause, TraceOrderBy } from '../../store/trace-store.ts';

type AttributeKey = Extract<TraceFilterClause, { entity: 'attribute' }>['key'];

/** Searchable attribute spellings → stored attribute, in the order MLflow lists them. */
const SEARCH_ATTRIBUTES: ReadonlyArray<readonly [string, AttributeKey]> = [
  ['request_id', 'request_id'],
  ['timestamp', 'timestamp_ms'],
  ['timestamp_ms', 'timestamp_ms'],
  ['execution_time', 'execution_time_ms'],
  ['execution_time_ms', 'execution_time_ms'],
  ['end_time', 'end_time_ms'],
  ['end_time_ms', 'end_time_ms'],
  ['status', 'status'],
  ['client_request_id', 'client_request_id'],
  ['name', 'name'],
  ['run_id', 'run_id'],
];

const ORDER_ATTRIBUTES: ReadonlyArray<readonly [string, TraceOrderBy['key']]> = [
  ['experiment_id', 'experiment_id'],
  ['timestamp', 'timestamp_ms'],
  ['timestamp_ms', 'timestamp_ms'],
  ['execution_time', 'execution_time_ms'],
  ['execution_time_ms', 'execution_time_ms'],
  ['end_time', 'end_time_ms'],
  ['end_time_ms', 'end_time_ms'],
  ['status', 'status'],
  ['request_id', 'request_id'],
  ['name', 'name'],
  ['run_id', 'run_id'],
];

const NUMERIC: ReadonlySet<AttributeKey> = new Set(['timestamp_ms', 'execution_time_ms', 'end_time_ms']);
const LIST_ATTRIBUTES: ReadonlySet<AttributeKey> = new Set(['status', 'request_id', 'run_id', 'client_request_id']);

const NUMERIC_COMPARATORS: readonly TraceComparator[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_ATTRIBUTE_COMPARATORS: readonly TraceComparator[] = ['!=', '=', 'IN', 'NOT IN', 'LIKE', 'ILIKE'];
const KEY_VALUE_COMPARATORS: readonly TraceComparator[] = ['!=', '=', 'LIKE', 'ILIKE', 'IS NULL', 'IS NOT NULL'];

type Entity = 'attribute' | 'tag' | 'metadata';

const ENTITY_PREFIXES: Readonly<Record<string, Entity>> = {
  attribute: 'attribute',
  attributes: 'attribute',
  trace: 'attribute',
  tag: 'tag',
  tags: 'tag',
  metadata: 'metadata',
  request_metadata: 'metadata',
};

/** MLflow's grammar knows these too; this server does not search them yet, and says so. */
const UNSUPPORTED_PREFIXES = ['span', 'feedback', 'expectation', 'issue'];
const VALID_PREFIXES = ['attribute', 'attributes', 'trace', 'tag', 'tags', 'metadata', 'request_metadata', ...UNSUPPORTED_PREFIXES];

function entityOf(prefix: string | null): Entity {
  if (prefix === null) return 'attribute';
  const entity = ENTITY_PREFIXES[prefix];
  if (entity) return entity;
  if (UNSUPPORTED_PREFIXES.includes(prefix)) {
    throw MlflowError.invalidParameter(`Searching traces by '${prefix}' is not supported by this server.`);
  }
  throw invalid(`Invalid entity type '${prefix}'. Valid values are ${pyList(VALID_PREFIXES)}`);
}

function stringOf(value: ValueNode, what: string): string {
  if (value.kind === 'string') return value.value;
  if (value.kind === 'word') throw notQuoted(value.raw);
  throw invalid(`Expected a quoted string value for ${what} (e.g. 'my-value'). Got value ${value.raw}`);
}

function clauseOf(raw: RawComparison): TraceFilterClause {
  const { prefix, key } = splitIdentifier(raw.identifier);
  const entity = entityOf(prefix);
  const comparator = raw.comparator as TraceComparator;
  if (entity === 'tag' || entity === 'metadata') {
    if (!KEY_VALUE_COMPARATORS.includes(comparator)) throw invalidComparator(raw.comparator, KEY_VALUE_COMPARATORS);
    const value = raw.value.kind === 'null' ? null : stringOf(raw.value, entity);
    return { entity, key, comparator, value };
  }
  const attribute = SEARCH_ATTRIBUTES.find(([name]) => name === key)?.[1];
  if (attribute === undefined) throw invalidAttributeKey(key, SEARCH_ATTRIBUTES.map(([name]) => name));
  if (attribute === 'name') {
    // The trace name is the mlflow.traceName tag, compared as tags are (MLflow: no IN lists).
    if (!KEY_VALUE_COMPARATORS.includes(comparator)) throw invalidComparator(raw.comparator, KEY_VALUE_COMPARATORS);
    return { entity: 'tag', key: 'mlflow.traceName', comparator, value: raw.value.kind === 'null' ? null : stringOf(raw.value, 'attributes') };
  }
  if (NUMERIC.has(attribute)) {
    if (raw.value.kind !== 'number') throw invalid(`Expected numeric value type for numeric attribute: ${key}. Found ${raw.value.raw}`);
    if (!NUMERIC_COMPARATORS.includes(comparator)) throw invalidComparator(raw.comparator, NUMERIC_COMPARATORS);
    return { entity, key: attribute, comparator, value: raw.value.value };
  }
  if (!STRING_ATTRIBUTE_COMPARATORS.includes(comparator)) throw invalidComparator(raw.comparator, STRING_ATTRIBUTE_COMPARATORS);
  if (raw.value.kind === 'list') {
    if (!LIST_ATTRIBUTES.has(attribute)) throw invalid(`The '${key}' attribute does not support comparison with a list of values.`);
    return { entity, key: attribute, comparator, value: readStringList(raw.value) };
  }
  if (comparator === 'IN' || comparator === 'NOT IN') throw invalid(`Expected a list of quoted strings after ${comparator} for attribute '${key}'.`);
  return { entity, key: attribute, comparator, value: stringOf(raw.value, 'attributes') };
}

/** Parses a search_traces filter; blank means every trace. */
export function parseTraceFilter(filter: string | undefined): TraceFilterClause[] {
  return parseComparisons(filter, false, { nullChecks: true }).map(clauseOf);
}

/** Parses search_traces order_by entries (`timestamp_ms DESC`, `trace.execution_time_ms`, …). */
export function parseTraceOrderBy(orderBy: string[] | undefined): TraceOrderBy[] {
  return parseOrderByList(orderBy, (entry) => {
    const { identifier, ascending } = parseOrderByString(entry);
    const { prefix, key } = splitIdentifier(identifier);
    if (entityOf(prefix) !== 'attribute') throw invalid(`Invalid order_by entity '${prefix}'. Traces can be ordered by attributes only.`);
    const attribute = ORDER_ATTRIBUTES.find(([name]) => name === key)?.[1];
    if (attribute === undefined) throw invalidAttributeKey(key, ORDER_ATTRIBUTES.map(([name]) => name));
    return { key: attribute, ascending };
  });
}
