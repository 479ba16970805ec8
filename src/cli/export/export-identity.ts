import { randomUUID } from 'node:crypto';
import type { ImportStore } from '../../store/import-store.ts';

/** Where the store keeps its identity as an export source (a row of the import state). */
const IDENTITY_SOURCE = 'trove-export';

/**
 * What `trove export --to` marks its target runs and experiments with (`trove.source_store`) so that it
 * finds, updates and, with `--delete-missing`, deletes only what this Trove's project exported and
 * never what another Trove (or another project of this one) exported into the same target: a
 * random id the store makes on its first export and keeps, with the project's id.
 */
export async function exportSourceIdentity(imports: ImportStore, projectId: number, now = Date.now()): Promise<string> {
  const kept = await imports.claimState(IDENTITY_SOURCE, { kind: 'store-identity', sourceId: 'store', targetId: randomUUID(), fingerprint: '' }, now);
  return `${kept.targetId}/project-${projectId}`;
}
