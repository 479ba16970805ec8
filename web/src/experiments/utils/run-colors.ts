/** Run colours, the same in the runs table and every chart of the experiment. Pure functions. */

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#3366cc', '#dc3912', '#109618', '#990099', '#0099c6', '#dd4477'];

/** A run's default colour: stable for the run id, whatever else is shown. */
export function defaultRunColor(runId: string): string {
  let hash = 0;
  for (let i = 0; i < runId.length; i++) hash = (hash * 31 + runId.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length] as string;
}

/** The colour of a run: the one chosen for it, else its default. */
export function runColor(runId: string, chosen: Record<string, string>): string {
  return chosen[runId] ?? defaultRunColor(runId);
}

/**
 * Default colours of the runs shown: each run takes its hashed palette slot, or the next free one
 * while the palette has free slots, so the first 16 runs never share a colour. Runs are placed
 * oldest first, so a new run does not change the colours of the runs already shown.
 */
export function assignColors(runs: Array<{ runId: string; startTime?: number | undefined }>): Record<string, string> {
  const ordered = runs.slice().sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0) || a.runId.localeCompare(b.runId));
  const used = new Set<number>();
  const out: Record<string, string> = {};
  for (const run of ordered) {
    let slot = PALETTE.indexOf(defaultRunColor(run.runId));
    if (used.size < PALETTE.length) while (used.has(slot)) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    out[run.runId] = PALETTE[slot] as string;
  }
  return out;
}
