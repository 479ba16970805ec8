/**
 * Writes docs/query-plans.md: the plans SQLite and PostgreSQL choose for the store's hot queries
 * on a seeded database (see test/support/query-plans.ts).
 *
 *   export TROVE_TEST_POSTGRES_URI="$(bash scripts/start-postgres.sh)"
 *   node --import tsx scripts/query-plans.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectQueryPlans, DEFAULT_SEED, fullScans, type ScenarioPlans } from '../test/support/query-plans.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const postgresUri = process.env.TROVE_TEST_POSTGRES_URI;
if (!postgresUri) {
  process.stderr.write('TROVE_TEST_POSTGRES_URI is not set; run: export TROVE_TEST_POSTGRES_URI="$(bash scripts/start-postgres.sh)"\n');
  process.exit(2);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-plans-'));
const sqlite = await collectQueryPlans(`sqlite:///${path.join(dir, 'plans.db')}`);
fs.rmSync(dir, { recursive: true, force: true });
const database = await createTestDatabase(postgresUri, 'trove_plans');
let postgres: Awaited<ReturnType<typeof collectQueryPlans>>;
try {
  postgres = await collectQueryPlans(database.uri);
} finally {
  await database.drop();
}

const lines: string[] = [
  '# Query plans',
  '',
  'The plans SQLite and PostgreSQL choose for the tracking store\'s hot queries, captured by',
  '`scripts/query-plans.ts` (every statement the store issues for a scenario, EXPLAINed with its real',
  'parameters). `test/store/query-plans.test.ts` asserts the same property on every run of the tests:',
  `no statement scans a whole large table (${'`'}runs${'`'}, ${'`'}metrics${'`'}, ${'`'}latest_metrics${'`'}, ${'`'}params${'`'}, ${'`'}run_tags${'`'}, ${'`'}experiments${'`'}).`,
  '',
  `Seed: ${DEFAULT_SEED.experiments} experiments × ${DEFAULT_SEED.runsPerExperiment.toLocaleString('en')} runs, each run with 2 latest metrics, a param and a tag;`,
  `${DEFAULT_SEED.runsWithHistory} runs with a ${DEFAULT_SEED.pointsPerHistory}-point metric history; statistics refreshed with ANALYZE. Searches target one experiment.`,
  '',
  'How to read them: SQLite\'s `SEARCH t USING INDEX i (a=?)` is an index lookup and `SCAN t` a full',
  'scan; PostgreSQL\'s `Index Scan`, `Index Only Scan` and `Bitmap Index Scan` use an index, `Seq Scan`',
  'reads the whole table. Ordering by a metric evaluates one primary-key lookup in `latest_metrics` per',
  'run of the experiment and sorts them (`USE TEMP B-TREE` / `Sort`): its cost grows with the',
  'experiment, not the database. Deep pages cost the same scan as page one plus the skipped rows.',
  '',
];

function section(title: string, scenarios: ScenarioPlans[], dialect: 'sqlite' | 'postgres'): void {
  lines.push(`## ${title}`, '');
  for (const { scenario, statements } of scenarios) {
    lines.push(`### ${scenario}`, '');
    for (const statement of statements) {
      const scans = fullScans(dialect, statement.plan);
      lines.push('```sql', statement.sql, '```', '```', ...statement.plan, '```');
      if (scans.length > 0) lines.push(`**Full scan:** ${scans.join('; ')}`);
      lines.push('');
    }
  }
}

section('SQLite', sqlite.scenarios, 'sqlite');
section('PostgreSQL', postgres.scenarios, 'postgres');
fs.writeFileSync(path.join(ROOT, 'docs', 'query-plans.md'), `${lines.join('\n').trimEnd()}\n`);
process.stdout.write(`wrote docs/query-plans.md\n`);
