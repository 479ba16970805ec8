import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { isPostgresUri, parseSqliteUri } from '../store/sql/database.ts';
import { INTERNAL_DIR_NAME } from '../store/artifacts/local-artifact-store.ts';
import { SECRET_KEY_FILE_NAME } from '../domain/webhooks/secret-box.ts';
import { createProgress } from './models/progress.ts';

/**
 * `trove backup <dir>` / `trove restore <dir>`: a consistent snapshot of a SQLite Trove while the
 * server runs, and bringing it back.
 *
 * The database is copied with SQLite's online backup API (a transactionally consistent copy,
 * page by page, while writers go on), then the artifact files, each with its SHA-256 in
 * `manifest.json`. Artifacts are written before the row that names them is committed and never
 * changed in place, so every artifact the snapshot's rows refer to is copied. PostgreSQL and S3
 * are backed up with their own tools (see docs/operations.md).
 */

export interface BackupManifest {
  format: 'trove-backup/1';
  createdAt: string;
  database: { file: string; sha256: string; bytes: number };
  artifacts: { path: string; sha256: string; bytes: number }[];
  secretKeyFile: boolean;
}

const POSTGRES_HINT =
  'For PostgreSQL use pg_dump (e.g. `pg_dump --format=custom --file trove.dump <uri>`, restore with pg_restore) and, for S3 artifacts, bucket versioning or a replicated bucket; see docs/operations.md.';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

async function* walk(root: string, relative = ''): AsyncGenerator<string> {
  const dir = path.join(root, relative);
  for (const entry of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (relative === '' && entry.name === INTERNAL_DIR_NAME) continue; // in-flight uploads, not artifacts
    if (entry.isDirectory()) yield* walk(root, child);
    else if (entry.isFile()) yield child;
  }
}

function localArtifactRoot(destination: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination) && !destination.startsWith('file://')) {
    throw new Error(`Artifacts at ${destination} are not on local disk. ${POSTGRES_HINT}`);
  }
  return path.resolve(destination.replace(/^file:\/\//, ''));
}

/** Takes the snapshot; returns its manifest. */
export async function backup(options: { backendStoreUri: string; artifactsDestination: string; dir: string; quiet?: boolean }): Promise<BackupManifest> {
  if (isPostgresUri(options.backendStoreUri)) throw new Error(`trove backup copies SQLite databases. ${POSTGRES_HINT}`);
  const dbFile = parseSqliteUri(options.backendStoreUri);
  if (dbFile === ':memory:' || !fs.existsSync(dbFile)) throw new Error(`No SQLite database at ${dbFile}.`);
  const artifactRoot = localArtifactRoot(options.artifactsDestination);
  fs.mkdirSync(options.dir, { recursive: true });
  if (fs.readdirSync(options.dir).length > 0) throw new Error(`${options.dir} is not empty; back up into a new folder.`);

  const dbCopy = path.join(options.dir, 'trove.db');
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const source = new SqliteDatabase(dbFile, { readonly: true, fileMustExist: true });
  try {
    await source.backup(dbCopy);
  } finally {
    source.close();
  }
  const manifest: BackupManifest = {
    format: 'trove-backup/1',
    createdAt: new Date().toISOString(),
    database: { file: 'trove.db', sha256: await sha256(dbCopy), bytes: fs.statSync(dbCopy).size },
    artifacts: [],
    secretKeyFile: false,
  };
  const files: string[] = [];
  for await (const file of walk(artifactRoot)) files.push(file);
  const progress = createProgress({ quiet: options.quiet === true });
  progress.start('backup', files.length, 0);
  for (const file of files) {
    const from = path.join(artifactRoot, ...file.split('/'));
    const to = path.join(options.dir, 'artifacts', ...file.split('/'));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    try {
      await fsp.copyFile(from, to);
    } catch (error) {
      // Deleted between the listing and the copy: it is no longer part of the data.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const bytes = fs.statSync(to).size;
    manifest.artifacts.push({ path: file, sha256: await sha256(to), bytes });
    progress.fileDone(file, bytes);
  }
  progress.finish();
  // The webhook secret key: without it the restored secrets cannot be decrypted.
  const keyFile = path.join(path.dirname(path.resolve(dbFile)), SECRET_KEY_FILE_NAME);
  if (fs.existsSync(keyFile)) {
    fs.copyFileSync(keyFile, path.join(options.dir, SECRET_KEY_FILE_NAME));
    fs.chmodSync(path.join(options.dir, SECRET_KEY_FILE_NAME), 0o600);
    manifest.secretKeyFile = true;
  }
  fs.writeFileSync(path.join(options.dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Verifies every checksum, then puts the database and the artifacts in place (the server must be stopped). */
export async function restore(options: { backendStoreUri: string; artifactsDestination: string; dir: string; force?: boolean; quiet?: boolean }): Promise<BackupManifest> {
  const manifest = JSON.parse(fs.readFileSync(path.join(options.dir, 'manifest.json'), 'utf8')) as BackupManifest;
  if (manifest.format !== 'trove-backup/1') throw new Error(`${options.dir} is not a Trove backup.`);
  if (isPostgresUri(options.backendStoreUri)) throw new Error(`trove restore writes SQLite databases. ${POSTGRES_HINT}`);
  const dbFile = path.resolve(parseSqliteUri(options.backendStoreUri));
  const artifactRoot = localArtifactRoot(options.artifactsDestination);
  if (!options.force && (fs.existsSync(dbFile) || (fs.existsSync(artifactRoot) && fs.readdirSync(artifactRoot).length > 0))) {
    throw new Error(`${dbFile} or ${artifactRoot} already holds data; stop the server and pass --force to replace it.`);
  }
  const dbCopy = path.join(options.dir, manifest.database.file);
  if ((await sha256(dbCopy)) !== manifest.database.sha256) throw new Error('The backup database does not match its checksum; the backup is damaged.');
  for (const entry of manifest.artifacts) {
    if (entry.path.split('/').some((s) => s === '..' || s === '') || path.isAbsolute(entry.path)) throw new Error(`Refusing a manifest path outside the artifact root: ${entry.path}`);
    if ((await sha256(path.join(options.dir, 'artifacts', ...entry.path.split('/')))) !== entry.sha256) {
      throw new Error(`Artifact ${entry.path} does not match its checksum; the backup is damaged.`);
    }
  }
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  for (const suffix of ['-wal', '-shm']) fs.rmSync(`${dbFile}${suffix}`, { force: true });
  fs.copyFileSync(dbCopy, `${dbFile}.restoring`);
  fs.renameSync(`${dbFile}.restoring`, dbFile);
  const progress = createProgress({ quiet: options.quiet === true });
  progress.start('restore', manifest.artifacts.length, manifest.artifacts.reduce((s, a) => s + a.bytes, 0));
  for (const entry of manifest.artifacts) {
    const to = path.join(artifactRoot, ...entry.path.split('/'));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(options.dir, 'artifacts', ...entry.path.split('/')), to);
    progress.fileDone(entry.path, entry.bytes);
  }
  progress.finish();
  if (manifest.secretKeyFile) {
    const key = path.join(path.dirname(dbFile), SECRET_KEY_FILE_NAME);
    fs.copyFileSync(path.join(options.dir, SECRET_KEY_FILE_NAME), key);
    fs.chmodSync(key, 0o600);
  }
  return manifest;
}

export function backupCommands(program: Command): void {
  program
    .command('backup <dir>')
    .description('Snapshot a SQLite Trove (database + artifacts with checksums) into a new folder; the server may keep running.')
    .option('--backend-store-uri <uri>', 'database of the Trove server', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', 'artifact folder of the Trove server', './trove-data/artifacts')
    .option('-q, --quiet', 'no progress bar')
    .addHelpText('after', `\n${POSTGRES_HINT}\n`)
    .action(async (dir: string, options: { backendStoreUri: string; artifactsDestination: string; quiet?: boolean }) => {
      try {
        const manifest = await backup({ ...options, dir });
        const bytes = manifest.artifacts.reduce((s, a) => s + a.bytes, 0);
        process.stdout.write(`Backed up the database (${manifest.database.bytes} bytes) and ${manifest.artifacts.length} artifact files (${bytes} bytes) to ${dir}.\n`);
      } catch (error) {
        process.stderr.write(`error: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
  program
    .command('restore <dir>')
    .description('Bring back a `trove backup` folder after checking every checksum (stop the server first).')
    .option('--backend-store-uri <uri>', 'database to write', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', 'artifact folder to write', './trove-data/artifacts')
    .option('--force', 'replace an existing database and artifacts')
    .option('-q, --quiet', 'no progress bar')
    .action(async (dir: string, options: { backendStoreUri: string; artifactsDestination: string; force?: boolean; quiet?: boolean }) => {
      try {
        const manifest = await restore({ ...options, dir });
        process.stdout.write(`Restored the database and ${manifest.artifacts.length} artifact files from ${dir} (taken ${manifest.createdAt}).\n`);
      } catch (error) {
        process.stderr.write(`error: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
