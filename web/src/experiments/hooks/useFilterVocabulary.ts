import { useMemo, useRef } from 'react';
import type { FilterVocabulary } from '../utils/filter-suggest.ts';
import { addToVocabulary, emptyVocabulary } from '../utils/filter-vocabulary.ts';
import type { RunRow } from '../utils/run-rows.ts';

/**
 * The keys and values the filter box suggests: everything seen in the experiment's runs since the
 * page opened (a narrow filter does not make the other keys disappear).
 */
export function useFilterVocabulary(rows: RunRow[]): FilterVocabulary {
  const seen = useRef(emptyVocabulary());
  return useMemo(() => {
    seen.current = addToVocabulary(seen.current, rows);
    return seen.current;
  }, [rows]);
}
