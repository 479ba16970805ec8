/**
 * Semantic half of filter parsing: resolves each raw comparison's identifier to an entity and
 * canonical key, checks the value's type, then checks the comparator — the same order upstream
 * uses (identifier and value while parsing, comparators when the store builds its query), so a
 * clause with several problems reports the same one MLflow would.
 */
import {
  invalid,
  invalidAttributeKey,
  invalidComparator,
  notQuoted,
  ONLY_RUN_ID_LIST,
  pyList,
  pyTuple,
} from './messages.ts';
import { readStringList, splitIdentifier, type RawComparison, type ValueNode } from './filter-parser.ts';
import type { ClauseEntity, Comparator, FilterClause } from './types.ts';

export const NUMERIC_COMPARATORS: readonly Comparator[] = ['=', '!=', '<', '<=', '>', '>='];
export const STRING_COMPARATORS: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE'];
export const STRING_LIST_COMPARATORS: readonly Comparator[] = [...STRING_COMPARATORS, 'IN', 'NOT IN'];

export const DATASET_KEYS: readonly string[] = ['name', 'digest', 'context'];

export interface AttributeRule {
  /** Column-level name the store understands (aliases resolve to it). */
  canonical: string;
  numeric: boolean;
  /** Whether `IN` / `NOT IN` lists are accepted for this attribute. */
  listAllowed: boolean;
}

/** Accepted attribute spellings (aliases included) with their rules, in message order. */
export type AttributeTable = ReadonlyArray<readonly [string, AttributeRule]>;

export function stringAttribute(canonical: string, listAllowed = false): AttributeRule {
  return { canonical, numeric: false, listAllowed };
}

export function numericAttribute(canonical: string): AttributeRule {
  return { canonical, numeric: true, listAllowed: false };
}

export interface FilterSpec {
  /** Upstream quotes each invalid piece for runs / logged models but not for the others. */
  quoteInvalidClauses: boolean;
  /** Maps an identifier prefix (`metrics`, `tag`…) to an entity, or throws MLflow's error. */
  resolveEntity(prefix: string): ClauseEntity;
  /** Accepted attribute spellings (aliases included), in the order error messages list them. */
  attributes: AttributeTable;
  stringAttributeComparators: readonly Comparator[];
  /** The error for a bare number compared with a string attribute (wording differs per kind). */
  numberForStringAttribute(raw: string): string;
  /** Model versions accept `version_number = '3'`, because upstream int()s whatever it gets. */
  quotedIntegersForNumericAttributes?: boolean;
  /** Hook to post-process list values (runs / model versions drop upper-case run ids). */
  normalizeList?(canonicalKey: string, values: string[]): string[];
}

/** Entity-prefix spellings MLflow's run grammar accepts, mapped to our entity names. */
export const RUN_ENTITY_PREFIXES: Readonly<Record<string, ClauseEntity>> = {
  metric: 'metric',
  metrics: 'metric',
  parameter: 'param',
  parameters: 'param',
  param: 'param',
  params: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

const ATTRIBUTE_OR_TAG_PREFIXES = ['attribute', 'tag', 'tags'];

/**
 * Experiments and both registry searches accept only these prefixes — not the run grammar's
 * `attributes`/`attr` aliases — and upstream words the error with a tuple, so we do too.
 */
export function resolveAttributeOrTag(prefix: string): ClauseEntity {
  if (prefix === 'attribute') return 'attribute';
  if (prefix === 'tag' || prefix === 'tags') return 'tag';
  throw invalid(`Invalid entity type '${prefix}'. Valid entity types are ${pyTuple(ATTRIBUTE_OR_TAG_PREFIXES)}`);
}

/** Upstream names entities by their canonical identifiers in messages (`parameter`, not `param`). */
function upstreamEntityName(entity: ClauseEntity): string {
  return entity === 'param' ? 'parameter' : entity;
}

/** Drops ids with upper-case letters: upstream does so because MySQL's IN is case-insensitive
 *  while run ids are lower-case, and we keep its results identical. */
export function dropUpperCaseIds(values: string[]): string[] {
  return values.filter((v) => v === v.toLowerCase());
}

/** An identifier resolved to its entity and canonical key; attributes carry their rule. */
type Resolved =
  | {
      entity: 'attribute';
      key: string;
      /** The key as the user wrote it, for messages that echo it (`created`, not `start_time`). */
      writtenKey: string;
      rule: AttributeRule;
    }
  | { entity: Exclude<ClauseEntity, 'attribute'>; key: string };

/** Resolves `[entity.]key` against a spec; exported for the order_by parsers. */
export function resolveIdentifier(
  parts: RawComparison['identifier'],
  resolveEntity: (prefix: string) => ClauseEntity,
  attributes: FilterSpec['attributes'],
): Resolved {
  const { prefix, key } = splitIdentifier(parts);
  const entity = prefix === null ? 'attribute' : resolveEntity(prefix);
  if (entity === 'attribute') {
    const found = attributes.find(([name]) => name === key);
    if (found === undefined) throw invalidAttributeKey(key, attributes.map(([name]) => name));
    return { entity, key: found[1].canonical, writtenKey: key, rule: found[1] };
  }
  if (entity === 'dataset' && !DATASET_KEYS.includes(key)) {
    throw invalid(`Invalid dataset key '${key}' specified. Valid keys are '${pyList(DATASET_KEYS)}'`);
  }
  return { entity, key };
}

function stringValue(value: ValueNode, otherwise: () => Error): string {
  if (value.kind === 'string') return value.value;
  if (value.kind === 'word') throw notQuoted(value.raw);
  throw otherwise();
}

function checkValue(resolved: Resolved, value: ValueNode, spec: FilterSpec): FilterClause['value'] {
  switch (resolved.entity) {
    case 'metric':
      if (value.kind !== 'number') {
        throw invalid(`Expected numeric value type for metric. Found ${value.raw}`);
      }
      return value.value;
    case 'param':
    case 'tag':
      return stringValue(value, () =>
        invalid(
          `Expected a quoted string value for ${upstreamEntityName(resolved.entity)} (e.g. 'my-value'). Got value ${value.raw}`,
        ),
      );
    case 'dataset':
      if (value.kind === 'list') return readStringList(value);
      return stringValue(value, () =>
        invalid(`Expected a quoted string value for dataset attributes. Got value ${value.raw}`),
      );
    case 'attribute': {
      const { rule } = resolved;
      if (rule.numeric) {
        if (value.kind === 'number') return value.value;
        if (spec.quotedIntegersForNumericAttributes && value.kind === 'string' && /^-?\d+$/.test(value.value.trim())) {
          return Number(value.value);
        }
        throw invalid(
          `Expected numeric value type for numeric attribute: ${resolved.writtenKey}. Found ${value.raw}`,
        );
      }
      if (value.kind === 'list') {
        if (!rule.listAllowed) throw invalid(ONLY_RUN_ID_LIST);
        const values = readStringList(value);
        return spec.normalizeList ? spec.normalizeList(rule.canonical, values) : values;
      }
      return stringValue(value, () => invalid(spec.numberForStringAttribute(value.raw)));
    }
  }
}

function allowedComparators(resolved: Resolved, spec: FilterSpec): readonly Comparator[] {
  switch (resolved.entity) {
    case 'metric':
      return NUMERIC_COMPARATORS;
    case 'param':
    case 'tag':
      return STRING_COMPARATORS;
    case 'dataset':
      return STRING_LIST_COMPARATORS;
    case 'attribute':
      return resolved.rule.numeric ? NUMERIC_COMPARATORS : spec.stringAttributeComparators;
  }
}

/** Validates raw comparisons against `spec` and produces typed clauses. */
export function validateComparisons(raw: readonly RawComparison[], spec: FilterSpec): FilterClause[] {
  // Pass 1: identifiers and values for every clause, as upstream does while parsing.
  const checked = raw.map((comparison) => {
    const resolved = resolveIdentifier(comparison.identifier, spec.resolveEntity, spec.attributes);
    return { comparison, resolved, value: checkValue(resolved, comparison.value, spec) };
  });
  // Pass 2: comparators, as upstream does when the store turns clauses into a query.
  return checked.map(({ comparison, resolved, value }) => {
    const allowed = allowedComparators(resolved, spec);
    const comparator = allowed.find((c) => c === comparison.comparator);
    if (comparator === undefined) throw invalidComparator(comparison.comparator, allowed);
    return { entity: resolved.entity, key: resolved.key, comparator, value };
  });
}
