import type { NewAuditRow } from '../../src/store/auth-store.ts';

/** An anonymous caller's audit entry for a run, as the domain hands it to a store write. */
export function runAuditRow(action: string, runId: string, details: string): NewAuditRow {
  return {
    time: 1_700_000_000_123,
    projectId: 1,
    actorUserId: null,
    actor: 'anonymous',
    actorKind: 'anonymous',
    action,
    entityType: 'run',
    entityId: runId,
    requestId: 'req-1',
    sourceAddress: null,
    details,
  };
}
