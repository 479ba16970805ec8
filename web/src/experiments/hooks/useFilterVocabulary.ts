import { useMemo, useRef } from 'react';
import type { FilterVocabulary } from '../utils/filter-suggest.ts';
import { addToVocabulary, emptyVocabulary } from '../utils/filter-vocabulary.ts';
import type { RunRow } from '../utils/run-rows.ts';

/**
 * The keys and values the filter box suggests: everything seen in the experiment's runs since the
 * page opened (a narrow filter does not make the other keys disappear). Pages of runs arrive
 * appended to the list, so only the rows not seen yet are read.
 */
export function useFilterVocabulary(rows: RunRow[]): FilterVocabulary {
  const seen = useRef({ vocabulary: emptyVocabulary(), first: undefined as RunRow | undefined, count: 0 });
  return useMemo(() => {
    const state = seen.current;
    const appended = state.first !== undefined && rows[0] === state.first && rows.length >= state.count;
    const fresh = appended ? rows.slice(state.count) : rows;
    if (fresh.length > 0) state.vocabulary = addToVocabulary(state.vocabulary, fresh);
    state.first = rows[0];
    state.count = rows.length;
    return state.vocabulary;
  }, [rows]);
}
