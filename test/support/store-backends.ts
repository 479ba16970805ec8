import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type OpenDatabaseOptions, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri } from './postgres.ts';

/**
 * The databases the store contract suites run on: a fresh SQLite file, and a fresh database in the
 * throwaway PostgreSQL cluster (skipped, with a message, when TROVE_TEST_POSTGRES_URI is unset).
 */
export interface StoreBackend {
  name: string;
  /** A reason to skip this backend, or false. */
  skip: string | false;
  /** Opens a fresh database; `options` go to openDatabase (a statement recorder, for instance). */
  open(options?: OpenDatabaseOptions): Promise<{ database: OpenedDatabase; dispose(): Promise<void> }>;
}

export const storeBackends: StoreBackend[] = [
  {
    name: 'SQLite',
    skip: false,
    async open(options) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-store-'));
      const database = await openDatabase(`sqlite:///${path.join(dir, 'trove.db')}`, options);
      return {
        database,
        dispose: async () => {
          await database.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false,
    async open(options) {
      const testDatabase = await createTestDatabase(testPostgresUri() as string, 'trove_store');
      const database = await openDatabase(testDatabase.uri, options);
      return {
        database,
        dispose: async () => {
          await database.close();
          await testDatabase.drop();
        },
      };
    },
  },
];
