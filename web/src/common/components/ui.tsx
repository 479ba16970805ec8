import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { ApiError, errorMessage } from '../api/client.ts';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

/** The server said the thing asked for does not exist (HTTP 404, RESOURCE_DOES_NOT_EXIST). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.code === 'RESOURCE_DOES_NOT_EXIST');
}

/**
 * An error from the server. A 404 is not a failure to retry: it says what is missing, with no
 * Retry button (pages show NotFoundState instead of their content).
 */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (isNotFound(error)) return <NotFoundState title="Not found" detail={errorMessage(error)} />;
  return (
    <div className="state state-error" role="alert">
      <strong>Something went wrong.</strong> <span className="error-text">{errorMessage(error)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/**
 * One clear not-found page for a missing entity (experiment, run, model, version, trace…): what is
 * missing, the server's words, and where to go instead.
 */
export function NotFoundState({ title, detail, children }: { title: string; detail?: string | undefined; children?: ReactNode }) {
  return (
    <div className="state state-notfound" role="alert" data-testid="not-found">
      <h2>{title}</h2>
      {detail && <p className="muted">{detail}</p>}
      <p>{children ?? <>It may have been deleted, or the link is mistyped. Go to <Link to="/experiments">the experiments</Link> or <Link to="/models">the model registry</Link>.</>}</p>
    </div>
  );
}

/** A page's load failed: a not-found state for a 404, the error with Retry otherwise. */
export function PageError({ error, what, onRetry, children }: { error: unknown; what: string; onRetry?: () => void; children?: ReactNode }) {
  if (isNotFound(error)) return <NotFoundState title={`${what} not found`} detail={errorMessage(error)}>{children}</NotFoundState>;
  return <ErrorBox error={error} {...(onRetry ? { onRetry } : {})} />;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

export interface Crumb {
  label: string;
  to?: string;
}

export function Breadcrumbs({ items }: { items: Crumb[] }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumbs">
      <ol>
        {items.map((item, i) => (
          <li key={`${item.label}-${i}`}>
            {item.to && i < items.length - 1 ? <Link to={item.to}>{item.label}</Link> : <span aria-current={i === items.length - 1 ? 'page' : undefined}>{item.label}</span>}
          </li>
        ))}
      </ol>
    </nav>
  );
}

const STATUS_CLASS: Record<string, string> = {
  RUNNING: 'badge-running',
  FINISHED: 'badge-ok',
  FAILED: 'badge-failed',
  KILLED: 'badge-killed',
  SCHEDULED: 'badge-muted',
  READY: 'badge-ok',
};

export function StatusBadge({ status }: { status: string | undefined }) {
  const text = status ?? 'UNKNOWN';
  return <span className={`badge ${STATUS_CLASS[text] ?? 'badge-muted'}`}>{text.toLowerCase()}</span>;
}

export interface TabDef {
  id: string;
  label: string;
}

/** Tabs following the WAI-ARIA pattern: arrow keys move between tabs. */
export function Tabs({ tabs, active, onChange }: { tabs: TabDef[]; active: string; onChange: (id: string) => void }) {
  const refs = useRef<Array<HTMLButtonElement | null>>([]);
  return (
    <div role="tablist" className="tabs">
      {tabs.map((tab, i) => (
        <button
          key={tab.id}
          ref={(el) => {
            refs.current[i] = el;
          }}
          role="tab"
          type="button"
          id={`tab-${tab.id}`}
          aria-selected={tab.id === active}
          tabIndex={tab.id === active ? 0 : -1}
          className={tab.id === active ? 'tab active' : 'tab'}
          onClick={() => onChange(tab.id)}
          onKeyDown={(event) => {
            const delta = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
            if (!delta) return;
            const next = (i + delta + tabs.length) % tabs.length;
            const nextTab = tabs[next];
            if (nextTab) {
              onChange(nextTab.id);
              refs.current[next]?.focus();
            }
          }}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

/** A modal dialog on the native <dialog> element: focus trap, Escape to close. */
export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={wide ? 'modal modal-wide' : 'modal'}
      aria-labelledby="modal-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div className="modal-head">
        <h2 id="modal-title">{title}</h2>
        <button type="button" className="btn-icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="modal-body">{children}</div>
    </dialog>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/** A labelled definition list of facts (run overview, version overview); a `wide` fact spans two columns (long ids). */
export function Facts({ items }: { items: Array<[string, ReactNode] | [string, ReactNode, 'wide']> }) {
  return (
    <dl className="facts">
      {items.map(([label, value, wide]) => (
        <div key={label} className={wide ? 'fact fact-wide' : 'fact'}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
