import type { Kysely } from 'kysely';
import { BIGINT } from '../dialect.ts';

/**
 * `trove import`'s memory of what it has already brought over from each source: one row per
 * imported object (experiment, run, logged model, registered model, version), keyed by the
 * source's identity and the object's id there. It is what makes a second import a mirror (only
 * what changed since is fetched) and an interrupted one resumable (a run is recorded only once
 * all its data and files are in).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('import_state')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('imported_at', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('import_state_pk', ['source', 'kind', 'source_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('import_state').execute();
}
