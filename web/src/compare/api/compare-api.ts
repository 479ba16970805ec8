import { api, MLFLOW } from '../../common/api/client.ts';
import type { Run } from '../../common/api/types.ts';
import { getRun } from '../../runs/api/runs-api.ts';

/** The runs to compare, in the order given: one runs/search when the experiments are known. */
export async function loadRuns(runIds: string[], experimentIds: string[], signal?: AbortSignal): Promise<Run[]> {
  let runs: Run[];
  if (experimentIds.length > 0) {
    const list = runIds.map((id) => `'${id.replaceAll("'", '')}'`).join(', ');
    const res = await api.post<{ runs?: Run[] }>(
      `${MLFLOW}/runs/search`,
      { experiment_ids: experimentIds, filter: `attributes.run_id IN (${list})`, run_view_type: 'ALL', max_results: runIds.length },
      signal,
    );
    runs = res.runs ?? [];
  } else {
    runs = await Promise.all(runIds.map((id) => getRun(id, signal)));
  }
  const byId = new Map(runs.map((r) => [r.info.run_id, r]));
  return runIds.map((id) => byId.get(id)).filter((r): r is Run => r !== undefined);
}
