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
