/** How many characters stay visible at the end of a shortened id (the part people compare). */
export const ID_TAIL = 8;

/**
 * An id split for a middle ellipsis: the head may be cut (CSS ellipsis), the tail always shows.
 * Short ids (up to twice the tail) are not split.
 */
export function splitId(value: string, tail = ID_TAIL): { head: string; tail: string } {
  if (value.length <= tail * 2) return { head: value, tail: '' };
  return { head: value.slice(0, -tail), tail: value.slice(-tail) };
}
