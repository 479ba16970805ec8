import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The file `trove models pull` writes into every version it installs. */
export const MODEL_INFO_FILE = 'trove-model.json';

export interface ModelInfo {
  model_uri: string;
  name: string;
  version: string;
  run_id: string | null;
  source: string | null;
  artifact_uri: string;
  tracking_uri: string;
  downloaded_at: string;
  files: number;
  bytes: number;
}

export class DestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationError';
  }
}

interface State {
  /** Version folders that were swapped out, with when (ms): deleted once the grace period is over. */
  retired: Record<string, number>;
}

/**
 * The on-disk layout that lets a model be replaced while a serving process reads it:
 *
 *     serving/churn                      → symlink to .churn.versions/3-20250601T120000Z-1a2b
 *     serving/.churn.versions/3-…/       the complete files of version 3 (+ trove-model.json)
 *     serving/.churn.versions/2-…/       the previous version, kept for the grace period
 *     serving/.churn.versions/.staging-… a download in progress (never pointed at)
 *
 * A version is downloaded into a staging folder next to the others, flushed to disk, renamed to
 * its final name, and then the symlink is replaced by rename(2), which is atomic: a reader that
 * opens `serving/churn/...` sees either the old complete version or the new one, never a mix
 * inside one folder and never a missing file. Readers that walk the folder should resolve the
 * link once (realpath) and read everything from there; the old folder stays for the grace
 * period so such a reader can finish.
 */
export class ModelDirectory {
  readonly dest: string;
  readonly parent: string;
  readonly versionsDir: string;
  private readonly stateFile: string;
  private readonly lockFile: string;
  private lockHeld = false;

  constructor(
    dest: string,
    private readonly options: { force?: boolean; graceMs?: number; now?: () => number } = {},
  ) {
    this.dest = path.resolve(dest);
    this.parent = path.dirname(this.dest);
    const base = path.basename(this.dest);
    if (base === '' || base === '.' || base === '..' || this.dest === this.parent) {
      throw new DestinationError(`--dest must name a directory to create or replace, not '${dest}'.`);
    }
    this.versionsDir = path.join(this.parent, `.${base}.versions`);
    this.stateFile = path.join(this.versionsDir, 'state.json');
    this.lockFile = path.join(this.versionsDir, 'lock');
  }

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * Checks that DEST can be managed: absent, or a symlink into our versions folder. A plain
   * folder (or a foreign symlink) from before is refused unless `force` is set; then it is moved
   * aside into the versions folder at the first swap.
   */
  async prepare(): Promise<void> {
    await fs.promises.mkdir(this.parent, { recursive: true });
    const kind = await this.destKind();
    if (kind === 'plain' && !this.options.force) {
      throw new DestinationError(
        `${this.dest} already exists and is not managed by trove models pull (it is not a symlink into ${this.versionsDir}). ` +
          'Move it away, or pass --force to move it into the versions folder and replace it with the model.',
      );
    }
    if (kind === 'foreign-link' && !this.options.force) {
      throw new DestinationError(`${this.dest} is a symlink to somewhere else. Remove it, or pass --force to replace it.`);
    }
    await fs.promises.mkdir(this.versionsDir, { recursive: true });
  }

  /** Takes the folder's lock: one `trove models pull` per destination at a time. */
  async lock(): Promise<void> {
    await fs.promises.mkdir(this.versionsDir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.promises.writeFile(this.lockFile, `${process.pid}\n`, { flag: 'wx' });
        this.lockHeld = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number((await fs.promises.readFile(this.lockFile, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(holder) && holder > 0 && isAlive(holder) && holder !== process.pid) {
          throw new DestinationError(`Another trove models pull (pid ${holder}) is managing ${this.dest}.`);
        }
        // A lock left by a process that is gone.
        await fs.promises.rm(this.lockFile, { force: true });
      }
    }
    throw new DestinationError(`Could not lock ${this.dest}.`);
  }

  async unlock(): Promise<void> {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    await fs.promises.rm(this.lockFile, { force: true });
  }

  /** What DEST holds now: the installed version's trove-model.json, if any. */
  async current(): Promise<ModelInfo | undefined> {
    if ((await this.destKind()) !== 'managed') return undefined;
    try {
      return JSON.parse(await fs.promises.readFile(path.join(this.dest, MODEL_INFO_FILE), 'utf8')) as ModelInfo;
    } catch {
      return undefined;
    }
  }

  /** A fresh staging folder for a download. */
  async createStaging(label: string): Promise<string> {
    await fs.promises.mkdir(this.versionsDir, { recursive: true });
    return fs.promises.mkdtemp(path.join(this.versionsDir, `.staging-${safeLabel(label)}-`));
  }

  async discardStaging(staging: string): Promise<void> {
    await fs.promises.rm(staging, { recursive: true, force: true });
  }

  /**
   * Writes trove-model.json into the staging folder, gives the folder its final name and points
   * DEST at it atomically. @returns the installed version folder
   */
  async install(staging: string, info: ModelInfo): Promise<string> {
    await writeFileDurably(path.join(staging, MODEL_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    await fsyncDir(staging);
    const label = `${safeLabel(info.version)}-${stamp(this.now)}-${randomBytes(2).toString('hex')}`;
    const finalDir = path.join(this.versionsDir, label);
    await fs.promises.rename(staging, finalDir);
    await fsyncDir(this.versionsDir);

    const previous = await this.currentTarget();
    const kind = await this.destKind();
    if (kind === 'plain') {
      // --force on a folder from before: move it aside first (the one moment DEST is missing).
      const aside = path.join(this.versionsDir, `previous-${stamp(this.now)}-${randomBytes(2).toString('hex')}`);
      await fs.promises.rename(this.dest, aside);
      await this.retire(path.basename(aside));
    }
    const tempLink = path.join(this.parent, `.${path.basename(this.dest)}.link-${randomBytes(4).toString('hex')}`);
    await fs.promises.symlink(path.relative(this.parent, finalDir), tempLink, 'dir');
    try {
      // rename(2) replaces the old symlink in one step.
      await fs.promises.rename(tempLink, this.dest);
    } catch (error) {
      await fs.promises.rm(tempLink, { force: true });
      throw error;
    }
    await fsyncDir(this.parent);
    if (previous && previous !== label) await this.retire(previous);
    return finalDir;
  }

  /**
   * Deletes retired versions whose grace period is over, and staging folders of downloads that
   * died (older than a day). @returns the folders removed
   */
  async cleanup(): Promise<string[]> {
    const graceMs = this.options.graceMs ?? 5 * 60 * 1000;
    const now = this.now;
    const state = await this.readState();
    const current = await this.currentTarget();
    const removed: string[] = [];
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(this.versionsDir, { withFileTypes: true });
    } catch {
      return removed;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name === current) continue;
      const full = path.join(this.versionsDir, entry.name);
      if (entry.name.startsWith('.staging-')) {
        const stat = await fs.promises.stat(full).catch(() => undefined);
        if (stat && now - stat.mtimeMs > 24 * 60 * 60 * 1000) {
          await fs.promises.rm(full, { recursive: true, force: true });
          removed.push(entry.name);
        }
        continue;
      }
      // A version folder nobody retired (a run that died between rename and swap) retires now.
      const retiredAt = state.retired[entry.name] ?? (state.retired[entry.name] = now);
      if (now - retiredAt >= graceMs) {
        await fs.promises.rm(full, { recursive: true, force: true });
        delete state.retired[entry.name];
        removed.push(entry.name);
      }
    }
    for (const name of Object.keys(state.retired)) {
      if (!entries.some((e) => e.name === name)) delete state.retired[name];
    }
    await this.writeState(state);
    return removed;
  }

  /** The version folder name DEST points at, if it is ours. */
  async currentTarget(): Promise<string | undefined> {
    try {
      const target = await fs.promises.readlink(this.dest);
      const resolved = path.resolve(this.parent, target);
      return path.dirname(resolved) === this.versionsDir ? path.basename(resolved) : undefined;
    } catch {
      return undefined;
    }
  }

  private async destKind(): Promise<'missing' | 'managed' | 'foreign-link' | 'plain'> {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.lstat(this.dest);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw error;
    }
    if (!stat.isSymbolicLink()) return 'plain';
    return (await this.currentTarget()) !== undefined ? 'managed' : 'foreign-link';
  }

  private async retire(name: string): Promise<void> {
    const state = await this.readState();
    state.retired[name] ??= this.now;
    await this.writeState(state);
  }

  private async readState(): Promise<State> {
    try {
      const parsed = JSON.parse(await fs.promises.readFile(this.stateFile, 'utf8')) as Partial<State>;
      return { retired: parsed.retired && typeof parsed.retired === 'object' ? parsed.retired : {} };
    } catch {
      return { retired: {} };
    }
  }

  private async writeState(state: State): Promise<void> {
    const temp = `${this.stateFile}.${randomBytes(4).toString('hex')}`;
    await fs.promises.writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
    await fs.promises.rename(temp, this.stateFile);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A label usable in a folder name. */
function safeLabel(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'model';
}

/** `20250601T120000Z` */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

async function writeFileDurably(file: string, text: string): Promise<void> {
  const handle = await fs.promises.open(file, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (renames, new files) to disk; not every platform allows it. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort (e.g. Windows cannot open a directory).
  } finally {
    await handle?.close();
  }
}
