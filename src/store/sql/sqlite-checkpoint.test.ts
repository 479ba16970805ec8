import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from './database.ts';
import { DEFAULT_WAL_AUTOCHECKPOINT_PAGES, walAutocheckpointFromEnv } from './sqlite-checkpoint.ts';

const PAGE = 4096;

/** Opens a SQLite file, makes `commits` separate commits of ~2 KiB each, and returns the `-wal` file's size before closing. */
async function walBytesAfterCommits(file: string, commits: number, walAutocheckpoint?: number): Promise<{ walBytes: number; setting: number }> {
  const database = await openDatabase(`sqlite:///${file}`, walAutocheckpoint === undefined ? {} : { sqliteWalAutocheckpoint: walAutocheckpoint });
  try {
    const setting = (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db)).rows[0]!.wal_autocheckpoint;
    for (let i = 0; i < commits; i++) {
      await sql`insert into experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) values (${`e${i}-${'x'.repeat(2000)}`}, ${'x'}, ${'active'}, ${i}, ${i})`.execute(database.db);
    }
    return { walBytes: fs.statSync(`${file}-wal`).size, setting };
  } finally {
    await database.close();
  }
}

describe('SQLite checkpoints', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-checkpoint-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('TROVE_SQLITE_WAL_AUTOCHECKPOINT defaults to 10,000 pages and refuses anything but a whole number from 1', () => {
    assert.equal(walAutocheckpointFromEnv({}), DEFAULT_WAL_AUTOCHECKPOINT_PAGES);
    assert.equal(DEFAULT_WAL_AUTOCHECKPOINT_PAGES, 10_000);
    assert.equal(walAutocheckpointFromEnv({ TROVE_SQLITE_WAL_AUTOCHECKPOINT: ' 1000 ' }), 1000);
    for (const bad of ['0', '-5', '1e4', '2.5', 'lots', '1000001']) {
      assert.throws(() => walAutocheckpointFromEnv({ TROVE_SQLITE_WAL_AUTOCHECKPOINT: bad }), /TROVE_SQLITE_WAL_AUTOCHECKPOINT must be a whole number of pages from 1 to 1,000,000/, bad);
    }
  });

  test('a SQLite database is opened with checkpoints at 10,000 WAL pages unless told otherwise', async () => {
    const { setting } = await walBytesAfterCommits(path.join(dir, 'default.db'), 0);
    assert.equal(setting, 10_000);
    const { setting: told } = await walBytesAfterCommits(path.join(dir, 'told.db'), 0, 64);
    assert.equal(told, 64);
  });

  test('the WAL is checkpointed and restarted once it passes the configured size, and grows past it when the size is larger', async () => {
    // 400 commits of one ~2 KiB row (and its index entries) write ~3,700 pages of log: past 64, and
    // past SQLite's own default of 1,000, below 10,000.
    const small = await walBytesAfterCommits(path.join(dir, 'small.db'), 400, 64);
    assert.ok(small.walBytes <= 100 * PAGE, `the WAL restarted near 64 pages (${small.walBytes} bytes)`);
    const large = await walBytesAfterCommits(path.join(dir, 'large.db'), 400);
    assert.ok(large.walBytes >= 1_500 * PAGE, `no checkpoint below 10,000 pages (${large.walBytes} bytes)`);
  });

  test('a setting that is not a positive whole number is refused when the database is opened', async () => {
    await assert.rejects(openDatabase(`sqlite:///${path.join(dir, 'refused.db')}`, { sqliteWalAutocheckpoint: 0 }), /wal_autocheckpoint must be a positive whole number of pages, got 0/);
  });
});
