import { Fragment, useId, useMemo, useRef, useState } from 'react';
import { useLocalStorage } from '../../common/hooks/useLocalStorage.ts';
import { applySuggestion, rememberSearch, suggest, type FilterVocabulary, type Suggestion } from '../utils/filter-suggest.ts';
import '../experiments.css';

const EXAMPLES: Array<[string, string]> = [
  ['metrics.accuracy > 0.9', 'a metric compared with a number'],
  ["params.penalty = 'l2'", 'a param equal to a string (quoted)'],
  ["tags.team IN ('vision', 'nlp')", 'one of several values'],
  ["attributes.run_name LIKE 'trial-%'", 'a pattern (% any text, _ one character); ILIKE ignores case'],
  ["attributes.status = 'FAILED'", 'RUNNING, SCHEDULED, FINISHED, FAILED or KILLED'],
  ['metrics.`val loss` < 0.2 and params.C = \'1.0\'', 'backticks around keys with spaces; conditions joined by and'],
];

function parseRecent(raw: unknown): string[] | undefined {
  return Array.isArray(raw) && raw.every((r) => typeof r === 'string') ? (raw as string[]) : undefined;
}

/**
 * The runs filter: MLflow search syntax with autocomplete (keys of the experiment, operators,
 * values seen), a syntax help popover with examples, and recent searches.
 */
export function FilterBox({ experimentId, value, onChange, onSubmit, vocabulary }: { experimentId: string; value: string; onChange: (text: string) => void; onSubmit: (text: string) => void; vocabulary: FilterVocabulary }) {
  const listId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState(false);
  const closing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [caret, setCaret] = useState(value.length);
  const [highlight, setHighlight] = useState(-1);
  const [helpOpen, setHelpOpen] = useState(false);
  const [recent, setRecent] = useLocalStorage<string[]>(`trove.recentFilters.${experimentId}`, [], parseRecent);

  const result = useMemo(() => suggest(value, Math.min(caret, value.length), vocabulary), [value, caret, vocabulary]);
  // An empty box shows recent searches first, then where to start.
  const recentShown = value.trim() === '' ? recent : [];
  const items: Array<{ type: 'recent'; text: string } | { type: 'suggestion'; suggestion: Suggestion }> = [
    ...recentShown.map((text) => ({ type: 'recent' as const, text })),
    ...result.suggestions.map((suggestion) => ({ type: 'suggestion' as const, suggestion })),
  ];
  const showList = open && items.length > 0;

  const submit = (text: string) => {
    setRecent(rememberSearch(recent, text));
    setOpen(false);
    setHighlight(-1);
    onSubmit(text.trim());
  };

  const choose = (index: number) => {
    const item = items[index];
    if (!item) return;
    if (item.type === 'recent') {
      onChange(item.text);
      submit(item.text);
      return;
    }
    const next = applySuggestion(value, Math.min(caret, value.length), result, item.suggestion);
    onChange(next.text);
    setCaret(next.caret);
    setHighlight(-1);
    requestAnimationFrame(() => {
      const el = input.current;
      if (el) {
        el.focus();
        el.setSelectionRange(next.caret, next.caret);
      }
    });
  };

  return (
    <form
      className="filter-form filter-box"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        submit(value);
      }}
    >
      <label className="sr-only" htmlFor="run-filter">
        Filter runs (MLflow search syntax)
      </label>
      <div className="filter-input">
        <input
          ref={input}
          id="run-filter"
          className="mono"
          type="search"
          role="combobox"
          autoComplete="off"
          aria-autocomplete="list"
          aria-expanded={showList}
          aria-controls={listId}
          aria-activedescendant={showList && highlight >= 0 ? `${listId}-${highlight}` : undefined}
          placeholder="metrics.accuracy > 0.8 and params.penalty = 'l2'"
          value={value}
          onChange={(e) => {
            onChange(e.target.value);
            setCaret(e.target.selectionStart ?? e.target.value.length);
            setOpen(true);
            setHighlight(-1);
          }}
          onFocus={() => {
            clearTimeout(closing.current);
            setOpen(true);
          }}
          onClick={(e) => setCaret(e.currentTarget.selectionStart ?? value.length)}
          onKeyUp={(e) => {
            if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') setCaret(e.currentTarget.selectionStart ?? value.length);
          }}
          onBlur={() => {
            // Later, so a click on a suggestion lands first.
            closing.current = setTimeout(() => setOpen(false), 150);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              setOpen(false);
              return;
            }
            if (!showList) {
              if (e.key === 'ArrowDown') {
                setOpen(true);
                e.preventDefault();
              }
              return;
            }
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              const delta = e.key === 'ArrowDown' ? 1 : -1;
              setHighlight((h) => (h + delta + items.length) % items.length);
            } else if ((e.key === 'Enter' || e.key === 'Tab') && highlight >= 0) {
              e.preventDefault();
              choose(highlight);
            }
          }}
        />
        {showList && (
          <ul className="filter-suggestions" id={listId} role="listbox" aria-label="Filter suggestions">
            {items.map((item, index) => {
              const heading = item.type === 'recent' && index === 0 ? 'Recent searches' : item.type === 'suggestion' && index === recentShown.length && recentShown.length > 0 ? 'Suggestions' : undefined;
              const key = item.type === 'recent' ? `r:${item.text}` : `s:${item.suggestion.kind}:${item.suggestion.label}`;
              return (
                <Fragment key={key}>
                  {heading && (
                    <li role="presentation" className="suggestion-group">
                      {heading}
                    </li>
                  )}
                  <li
                    id={`${listId}-${index}`}
                    role="option"
                    aria-selected={index === highlight}
                    className={index === highlight ? 'highlight' : undefined}
                    onMouseDown={(e) => {
                      e.preventDefault();
                      choose(index);
                    }}
                  >
                    {item.type === 'recent' ? (
                      <span className="mono">{item.text}</span>
                    ) : (
                      <>
                        <span className="mono">{item.suggestion.label}</span>
                        <span className="muted small suggestion-kind" aria-hidden="true">
                          {item.suggestion.detail ?? item.suggestion.kind}
                        </span>
                      </>
                    )}
                  </li>
                </Fragment>
              );
            })}
          </ul>
        )}
      </div>
      <button type="submit" className="btn">
        Filter
      </button>
      <div className="picker-anchor">
        <button type="button" className="btn filter-help-button" aria-label="Search syntax help" aria-expanded={helpOpen} title="Search syntax help" onClick={() => setHelpOpen(!helpOpen)}>
          ?
        </button>
        {helpOpen && (
          <div className="popover filter-help" role="dialog" aria-label="Filter syntax" onKeyDown={(e) => e.key === 'Escape' && setHelpOpen(false)}>
            <div className="popover-body">
              <p className="small">
                Conditions on <code>metrics.</code>, <code>params.</code>, <code>tags.</code> and <code>attributes.</code> keys, joined by <code>and</code>. Strings in single quotes.
                Numbers compare with <code>&gt; &gt;= &lt; &lt;= = !=</code>; strings with <code>= != LIKE ILIKE IN</code>. Click an example to use it:
              </p>
              <ul className="filter-examples">
                {EXAMPLES.map(([example, note]) => (
                  <li key={example}>
                    <button
                      type="button"
                      className="link-button mono"
                      onClick={() => {
                        onChange(example);
                        setHelpOpen(false);
                        input.current?.focus();
                      }}
                    >
                      {example}
                    </button>
                    <span className="muted small"> {note}</span>
                  </li>
                ))}
              </ul>
            </div>
          </div>
        )}
      </div>
    </form>
  );
}
