import { MlflowError } from '../errors.ts';
import { currentContext } from '../request-context.ts';
import type { AuditQuery, AuditRow, AuthStore, NewAuditRow } from '../../store/auth-store.ts';

/**
 * The audit log: one entry per change — who (user, or `anonymous`/`system`/`cli:<name>`), in
 * which project, what (`<entity>.<verb>`, e.g. `run.create`, `model_version.delete`,
 * `member.add`), on which entity (type and public id), when, in which request and from which
 * address.
 *
 * Entries are written by the domain services inside the transaction of the change itself:
 * `record(tx, change)` takes the transactional store the service's `transaction()` handed it and
 * writes through that same transaction, so an entry exists exactly when its change committed.
 * Changes that are not database rows (artifact files) are recorded right after the storage
 * confirmed them, with `recordStandalone`.
 *
 * Details never contain secrets: passwords, tokens and webhook secrets are not passed in.
 */
export interface AuditChange {
  action: string;
  entityType: string;
  entityId: string | number;
  details?: Record<string, unknown>;
  /** The project the change belongs to; defaults to the request's, null for instance-level changes. */
  projectId?: number | null;
}

export interface AuditSink {
  /** Appends entries through `transaction`, the transactional store of the change. */
  record(transaction: unknown, ...changes: AuditChange[]): Promise<void>;
  /** Appends entries on their own connection (for changes outside the database). */
  recordStandalone(...changes: AuditChange[]): Promise<void>;
  /**
   * The entries for `changes`, for a store that writes them itself with the change, in the same
   * statement or transaction (creating a run on PostgreSQL: one statement, sql/run-writes-postgres.ts).
   */
  entries(...changes: AuditChange[]): NewAuditRow[];
}

/** For harnesses that keep no audit log. */
export const NO_AUDIT: AuditSink = {
  async record(): Promise<void> {},
  async recordStandalone(): Promise<void> {},
  entries: () => [],
};

export interface AuditFilter {
  projectId?: number | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  entityType?: string | undefined;
  entityId?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

export interface AuditPage {
  entries: AuditRow[];
  nextPageToken?: string;
}

export const AUDIT_MAX_RESULTS = 1000;
const EXPORT_PAGE = 1000;

export class AuditLog implements AuditSink {
  constructor(
    private readonly store: AuthStore,
    private readonly now: () => number = Date.now,
  ) {}

  async record(transaction: unknown, ...changes: AuditChange[]): Promise<void> {
    if (changes.length === 0) return;
    const joined = this.store.joinTransaction(transaction);
    // A programming error, not a client's: every change must pass its own transaction.
    if (!joined) throw new Error('An audit entry must be written in the transaction of its change.');
    await joined.appendAudit(changes.map((change) => this.row(change)));
  }

  async recordStandalone(...changes: AuditChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.store.appendAudit(changes.map((change) => this.row(change)));
  }

  /** One page, newest first. The page token is the last id seen. */
  async query(filter: AuditFilter, options: { maxResults?: number | undefined; pageToken?: string | undefined }): Promise<AuditPage> {
    const maxResults = options.maxResults ?? 100;
    if (!Number.isSafeInteger(maxResults) || maxResults < 1 || maxResults > AUDIT_MAX_RESULTS) {
      throw MlflowError.invalidParameter(`max_results must be between 1 and ${AUDIT_MAX_RESULTS}, got ${maxResults}.`);
    }
    const cursor = parseCursor(options.pageToken);
    const rows = await this.store.queryAudit({ ...definedFilter(filter), ...(cursor !== undefined ? { cursor } : {}), order: 'newest', limit: maxResults + 1 });
    const entries = rows.slice(0, maxResults);
    if (rows.length > maxResults) return { entries, nextPageToken: String(entries[entries.length - 1]!.id) };
    return { entries };
  }

  entries(...changes: AuditChange[]): NewAuditRow[] {
    return changes.map((change) => this.row(change));
  }

  /** Every matching entry, oldest first, read a page at a time (for NDJSON export). */
  async *export(filter: AuditFilter): AsyncGenerator<AuditRow> {
    let cursor: number | undefined;
    for (;;) {
      const rows = await this.store.queryAudit({ ...definedFilter(filter), ...(cursor !== undefined ? { cursor } : {}), order: 'oldest', limit: EXPORT_PAGE });
      for (const row of rows) yield row;
      if (rows.length < EXPORT_PAGE) return;
      cursor = rows[rows.length - 1]!.id;
    }
  }

  private row(change: AuditChange): NewAuditRow {
    const context = currentContext();
    const { principal } = context;
    return {
      time: this.now(),
      projectId: change.projectId === undefined ? context.project.id : change.projectId,
      actorUserId: principal.userId,
      actor: principal.username,
      actorKind: principal.kind === 'user' ? `user:${principal.via}` : principal.kind,
      action: change.action,
      entityType: change.entityType,
      entityId: String(change.entityId),
      requestId: context.requestId,
      sourceAddress: context.sourceAddress,
      details: change.details && Object.keys(change.details).length > 0 ? JSON.stringify(change.details) : null,
    };
  }
}

function definedFilter(filter: AuditFilter): Omit<AuditQuery, 'order' | 'limit'> {
  const out: Omit<AuditQuery, 'order' | 'limit'> = {};
  if (filter.projectId !== undefined) out.projectId = filter.projectId;
  if (filter.actor !== undefined && filter.actor !== '') out.actor = filter.actor;
  if (filter.action !== undefined && filter.action !== '') out.action = filter.action;
  if (filter.entityType !== undefined && filter.entityType !== '') out.entityType = filter.entityType;
  if (filter.entityId !== undefined && filter.entityId !== '') out.entityId = filter.entityId;
  if (filter.since !== undefined) out.since = filter.since;
  if (filter.until !== undefined) out.until = filter.until;
  return out;
}

function parseCursor(token: string | undefined): number | undefined {
  if (token === undefined || token === '') return undefined;
  if (!/^\d{1,15}$/.test(token)) throw MlflowError.invalidParameter(`Invalid page_token '${token}'.`);
  return Number(token);
}

/**
 * A time bound from the API or the CLI: milliseconds since the epoch, an ISO date/time, or a
 * relative age such as `7d`, `12h`, `30m`.
 */
export function parseTimeBound(value: string, field: string, now: number = Date.now()): number {
  const text = value.trim();
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const relative = /^(\d+)\s*([mhdw])$/i.exec(text);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[relative[2]!.toLowerCase() as 'm' | 'h' | 'd' | 'w'];
    return now - Number(relative[1]) * unit;
  }
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) {
    throw MlflowError.invalidParameter(`Invalid value '${value}' for '${field}': use milliseconds since the epoch, an ISO date (2025-01-31T12:00:00Z) or an age such as 7d.`);
  }
  return parsed;
}
