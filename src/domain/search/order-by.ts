/**
 * Shared parsing of `order_by` strings (`"<identifier> [ASC|DESC]"`) for runs, experiments,
 * registered models and model versions. What an identifier may name is decided by the caller.
 */
import { resolveAttributeOrTag, resolveIdentifier, type AttributeTable } from './clause-validator.ts';
import { couldNotParseOrderBy, invalid } from './messages.ts';
import { isKeyword, tokenize, type NamePart } from './tokenizer.ts';
import type { OrderByClause } from './types.ts';

export interface ParsedOrderBy {
  identifier: NamePart[];
  ascending: boolean;
}

/**
 * Splits one order_by entry into its identifier and direction. Direction words are
 * case-insensitive and default to ascending; a second word that is not ASC/DESC is MLflow's
 * "Invalid ordering key" error, anything else malformed is "Could not be parsed".
 */
export function parseOrderByString(orderBy: unknown): ParsedOrderBy {
  // The HTTP layer may hand us whatever JSON the client sent; reject non-strings the same way.
  if (typeof orderBy !== 'string') throw couldNotParseOrderBy(String(orderBy));
  const tokens = tokenize(orderBy);
  if (tokens === null || tokens.length === 0 || tokens.length > 2) throw couldNotParseOrderBy(orderBy);
  const [ident, direction] = tokens;
  if (ident === undefined || ident.kind !== 'name') throw couldNotParseOrderBy(orderBy);
  if (direction === undefined) return { identifier: ident.parts, ascending: true };
  if (direction.kind !== 'name' || direction.parts.length !== 1 || direction.parts[0]?.quote !== null) {
    throw couldNotParseOrderBy(orderBy);
  }
  if (isKeyword(direction, 'ASC')) return { identifier: ident.parts, ascending: true };
  if (isKeyword(direction, 'DESC')) return { identifier: ident.parts, ascending: false };
  throw invalid(`Invalid ordering key in order_by clause '${orderBy}'.`);
}

/** Applies `parse` to every entry; absent or empty input means "use the natural order". */
export function parseOrderByList<T>(orderBy: readonly unknown[] | undefined, parse: (entry: unknown) => T): T[] {
  if (orderBy === undefined || orderBy === null) return [];
  return orderBy.map(parse);
}

/**
 * Entry parser for the kinds whose orderings are attribute-only (experiments, registered models,
 * model versions). A `tag.` prefix passes identifier resolution upstream and is then rejected
 * with "Invalid order_by entity", so the same happens here.
 */
export function attributeOnlyOrderBy(attributes: AttributeTable): (entry: unknown) => OrderByClause {
  return (entry) => {
    const { identifier, ascending } = parseOrderByString(entry);
    const { entity, key } = resolveIdentifier(identifier, resolveAttributeOrTag, attributes);
    if (entity !== 'attribute') throw invalid(`Invalid order_by entity: ${entity}`);
    return { entity, key, ascending };
  };
}
