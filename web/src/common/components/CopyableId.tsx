import { useState } from 'react';
import { Link } from 'react-router';
import { splitId } from '../utils/ids.ts';

/**
 * An id (run id, artifact URI, `models:/m-…` source, logged-model id) on one line: when it does not
 * fit, its middle is elided (the start and the last characters stay), the full value shows on hover,
 * a button copies it, and it links to its page when it names one (`to`).
 */
export function CopyableId({ value, to, label = 'id' }: { value: string; to?: string | undefined; label?: string }) {
  const { head, tail: end } = splitId(value);
  const text = (
    <>
      <span className="id-head">{head}</span>
      {end && <span className="id-tail">{end}</span>}
    </>
  );
  return (
    <span className="copyable-id mono" title={value} data-value={value}>
      {to ? (
        <Link to={to} className="id-text" aria-label={value}>
          {text}
        </Link>
      ) : (
        <span className="id-text">{text}</span>
      )}
      <CopyIconButton text={value} label={`Copy ${label}`} />
    </span>
  );
}

/** A small copy button: copies `text` to the clipboard and says so for a moment. */
export function CopyIconButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="btn-copy"
      aria-label={label}
      title={copied ? 'Copied' : label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? (
        <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
          <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      ) : (
        <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
          <rect x="5.5" y="5.5" width="8" height="8" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M10.5 3.5v-0.5a1.5 1.5 0 0 0-1.5-1.5h-5a1.5 1.5 0 0 0-1.5 1.5v5a1.5 1.5 0 0 0 1.5 1.5h0.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
        </svg>
      )}
      <span className="sr-only" aria-live="polite">
        {copied ? 'Copied' : ''}
      </span>
    </button>
  );
}
