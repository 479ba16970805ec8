import { randomUUID } from 'node:crypto';

/**
 * A new run id: 32 lowercase hex digits, as MLflow's (`uuid4().hex`), but laid out as a version 7
 * UUID (RFC 9562): the first 48 bits are the creation time in milliseconds, the rest random (74
 * bits). Clients treat run ids as opaque strings; what the time prefix buys is where a new run
 * lands in every index keyed by its id. With random ids each run's entries went to a random leaf
 * of the runs id index and of the audit log's entity index, so a SQLite group commit of a few
 * runs wrote ~12 of its ~58 pages there (one WAL frame each, docs/benchmarks.md); with ids that
 * rise with time they go to the same last leaf. The creation time the prefix reveals is the run's
 * start time in all but imported or back-dated runs, and anyone who can see the id can see that.
 * randomUUID draws from a cached pool of random bytes instead of asking for 16 new ones per run.
 */
export function newRunId(now: number = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V = variant (8-b)
  const time = Math.max(0, Math.min(now, 2 ** 48 - 1)).toString(16).padStart(12, '0');
  return `${time}7${random.slice(15, 18)}${random.slice(19, 23)}${random.slice(24)}`;
}
