import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Throwaway PostgreSQL databases for tests, in the cluster that scripts/start-postgres.sh runs.
 * `TROVE_TEST_POSTGRES_URI` names the cluster (scripts/test.sh exports it); without it, suites that
 * need PostgreSQL skip with a message saying how to run them.
 */
export const POSTGRES_URI_ENV = 'TROVE_TEST_POSTGRES_URI';

/** The cluster's admin connection URI, or undefined when the tests should not use PostgreSQL. */
export function testPostgresUri(): string | undefined {
  const uri = process.env[POSTGRES_URI_ENV];
  return uri === undefined || uri === '' ? undefined : uri;
}

/** The message a skipped PostgreSQL suite shows. */
export const POSTGRES_SKIP_MESSAGE =
  `${POSTGRES_URI_ENV} is not set: start a throwaway cluster with ` +
  `\`export ${POSTGRES_URI_ENV}="$(bash scripts/start-postgres.sh)"\` (scripts/test.sh does this)`;

export interface TestDatabase {
  /** Connection URI of the new, empty database. */
  uri: string;
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database with a unique name in the cluster at `adminUri`. */
export async function createTestDatabase(adminUri: string, prefix = 'trove_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUri, `create database ${name}`);
  const url = new URL(adminUri);
  url.pathname = `/${name}`;
  return {
    uri: url.toString(),
    name,
    drop: async () => {
      // FORCE cannot end an autovacuum worker that happens to be in the database (it belongs to the
      // superuser, not to the test role: SQLSTATE 42501), which bulk-writing suites trigger; such a
      // worker stops by itself, so wait for it and try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await adminQuery(adminUri, `drop database if exists ${name} with (force)`);
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== '42501' || attempt >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
  };
}

/** Runs one statement on a short-lived connection (CREATE/DROP DATABASE cannot run in a pool transaction). */
export async function adminQuery(adminUri: string, statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: adminUri });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}
