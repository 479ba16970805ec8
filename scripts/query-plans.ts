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
import { collectQueryPlans, DEFAULT_SEED, fullScans, LARGE_TABLES, type ScenarioPlans } from '../test/support/query-plans.ts';
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
  `no statement scans a whole large table (${LARGE_TABLES.map((table) => `\`${table}\``).join(', ')}).`,
  '',
  `Seed: ${DEFAULT_SEED.experiments} experiments × ${DEFAULT_SEED.runsPerExperiment.toLocaleString('en')} runs, each run with 2 latest metrics, a param and a tag;`,
  `${DEFAULT_SEED.runsWithHistory} runs with a ${DEFAULT_SEED.pointsPerHistory}-point metric history; statistics refreshed with ANALYZE. Searches target one experiment.`,
  '',
  'How to read them: SQLite\'s `SEARCH t USING INDEX i (a=?)` is an index lookup and `SCAN t` a full',
  'scan; PostgreSQL\'s `Index Scan`, `Index Only Scan` and `Bitmap Index Scan` use an index, `Seq Scan`',
  'reads the whole table.',
  '',
  'Each scenario calls what its route calls. log-batch goes through the domain\'s `logBatch`: on',
  'PostgreSQL one statement, the run\'s check, audit entry, params, tags, points, rollups and latest',
  'values together (`src/store/sql/log-batch-postgres.ts`); on SQLite the checked path in a transaction',
  '(the audit entry, the run\'s read, then the points, rollups and latest values).',
  '',
  'Searches walk an index in the order requested and stop after the page. The default order walks',
  '`runs_experiment_start_idx` (experiment, lifecycle, start time; ties sorted per start time:',
  '`USE TEMP B-TREE FOR LAST 2 TERMS` / `Incremental Sort`). Ordering by a metric walks',
  '`latest_metrics_experiment_key_value_idx` (experiment, key, is_nan, value, run) — a filter on the',
  'same metric narrows the walked range — and joins each entry to `runs` by primary key, other filters',
  'checked per row as semi-joins; runs without the metric follow once those are exhausted (NULLs last).',
  'Page tokens are keysets (the last row\'s sort keys and id): a deep page seeks into the same index',
  'at the token and costs what page one costs. The first sort term becomes one range from the token,',
  'the index condition (`start_time <= …`, `value <= …`; SQLite prints an inclusive bound as',
  '`start_time<?`), plus a filter that drops the rows tied with the token that come before it',
  '(`t0 <> v or <later terms after>`); the planner walks the range like page one and stops after the',
  'page. (Spelled `t0 < v or (t0 = v and …)` beside the range, PostgreSQL multiplied the two estimates',
  'and sorted every remaining row; a union of two arms, ties then the rest, avoided that but took',
  'PostgreSQL twice page one\'s planning time.)',
  'Old offset tokens still work and still pay for the skipped rows.',
  '',
];

// The measured figures (bench/search-scale.ts) are written by hand and kept across regenerations.
const previous = fs.existsSync(path.join(ROOT, 'docs', 'query-plans.md')) ? fs.readFileSync(path.join(ROOT, 'docs', 'query-plans.md'), 'utf8') : '';
const measured = /\n(## Measured at scale\n[\s\S]*?)(?=\n## SQLite\n)/.exec(previous)?.[1];
if (measured) lines.push(measured.trimEnd(), '');

function section(title: string, scenarios: ScenarioPlans[], dialect: 'sqlite' | 'postgres'): void {
  lines.push(`## ${title}`, '');
  for (const { scenario, statements } of scenarios) {
    lines.push(`### ${scenario}`, '');
    for (const statement of statements) {
      const scans = fullScans(dialect, statement.plan);
      // SQLite lists no step for a plain one-row insert.
      const plan = statement.plan.length > 0 ? statement.plan : ['(no steps: one row inserted)'];
      lines.push('```sql', statement.sql, '```', '```', ...plan, '```');
      if (scans.length > 0) lines.push(`**Full scan:** ${scans.join('; ')}`);
      lines.push('');
    }
  }
}

section('SQLite', sqlite.scenarios, 'sqlite');
section('PostgreSQL', postgres.scenarios, 'postgres');
fs.writeFileSync(path.join(ROOT, 'docs', 'query-plans.md'), `${lines.join('\n').trimEnd()}\n`);
process.stdout.write(`wrote docs/query-plans.md\n`);
