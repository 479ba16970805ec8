import type { TraceState } from '../api/types.ts';
import { stateLabel } from '../utils/trace-info.ts';

const STATE_CLASS: Record<string, string> = { OK: 'badge-ok', ERROR: 'badge-failed', IN_PROGRESS: 'badge-running' };

export function TraceStateBadge({ state }: { state: TraceState | 'UNSET' | undefined }) {
  const label = state === 'UNSET' ? 'UNSET' : stateLabel(state);
  return <span className={`badge ${STATE_CLASS[label] ?? 'badge-muted'}`}>{label === 'IN_PROGRESS' ? 'in progress' : label.toLowerCase()}</span>;
}
