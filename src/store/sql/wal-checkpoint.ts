import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Worker } from 'node:worker_threads';

/**
 * SQLite checkpoints off the event loop (overlapped sync only; see wal-sync.ts).
 *
 * Problem: in WAL mode SQLite copies the WAL back into the database file (a checkpoint) inside
 * the COMMIT that takes the WAL past `wal_autocheckpoint` pages (1,000 by default). better-sqlite3
 * runs that COMMIT on the only JavaScript thread, so every few hundred create-runs the whole server
 * stopped while ~1,000 pages were read from the WAL, written to the database file and both files
 * fsynced: under the bench's create-run load these COMMITs were ~5 % of the groups but ~70 % of the
 * time spent in COMMIT (2–9 ms each), the largest single block of the event loop in that workload.
 *
 * What we do instead:
 * - The server's connection runs with `wal_autocheckpoint = 0`: its COMMITs never checkpoint.
 * - After every COMMIT the number of frames in the WAL is read from the wal-index header (the
 *   `-shm` file's `mxFrame`, 4 bytes at offset 16, in the host's byte order: SQLite's documented
 *   file format, walformat.html), with one `pread` on a descriptor of our own; past the threshold
 *   (SQLite's 1,000 pages) a checkpoint starts on a second connection to the same
 *   file, in a worker thread, `PRAGMA wal_checkpoint(PASSIVE)`: it copies every frame committed so
 *   far while the server keeps writing, and syncs the WAL before and the database file after, as
 *   SQLite's own checkpoints do (durability does not depend on it: every acknowledged COMMIT is
 *   already in the fdatasynced WAL).
 * - The WAL can only start over from its beginning when it is fully checkpointed at the moment a
 *   write begins, and under a steady load new frames arrive while the worker copies. So after the
 *   worker's checkpoint, the next COMMIT (on the server's connection, outside any transaction)
 *   copies the few frames appended meanwhile itself, `wal_checkpoint(PASSIVE)` there: a short
 *   block of the event loop instead of the whole checkpoint, and the next write restarts the WAL,
 *   also when the writes are not group commits (an import's own transactions).
 * - The worker starts on the first checkpoint and stops after a minute without one (it costs
 *   ~11 MiB of RSS while it lives). If it cannot start or fails, the server's connection goes back
 *   to SQLite's own checkpoints in its COMMITs (`wal_autocheckpoint = 1000`), as before.
 */

/** What the checkpointer drives; a worker thread in production, a fake in tests. */
export interface CheckpointTarget {
  /** `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own. */
  checkpoint(): Promise<CheckpointResult>;
  close(): Promise<void>;
}

export interface CheckpointResult {
  /** 1 when another checkpoint held the lock (another server process on the same file). */
  busy: number;
  /** Frames in the WAL when it ran. */
  log: number;
  /** Frames of those copied into the database file. */
  checkpointed: number;
}

export interface WalCheckpointStats {
  /** Checkpoints run by the worker. */
  checkpoints: number;
  /** Catch-ups run on the server's connection after one (only when frames arrived meanwhile). */
  catchUps: number;
}

export interface WalCheckpointerOptions {
  /** Frames in the WAL now (undefined while that cannot be read). */
  walFrames(): number | undefined;
  /** WAL frames at which a checkpoint starts. */
  thresholdFrames: number;
  /** `wal_checkpoint(PASSIVE)` on the server's own connection, synchronously (the catch-up). */
  checkpointHere(): void;
  /** Called once if the worker fails: the server's connection takes checkpoints back. */
  onFailure(error: unknown): void;
}

export class WalCheckpointer {
  private running: Promise<void> | undefined;
  /** Frames the worker's last checkpoint found, until the catch-up after it ran. */
  private catchUpAfter: number | undefined;
  private failure: unknown;
  readonly stats: WalCheckpointStats = { checkpoints: 0, catchUps: 0 };

  constructor(
    private readonly target: CheckpointTarget,
    private readonly options: WalCheckpointerOptions,
  ) {}

  /**
   * Called synchronously right after every COMMIT on the server's connection (so outside any
   * transaction): runs the catch-up that is due, or starts the worker's checkpoint when the WAL has
   * grown past the threshold.
   */
  noteCommit(): void {
    if (this.failure !== undefined || this.running) return;
    const frames = this.options.walFrames();
    if (frames === undefined) return;
    const after = this.catchUpAfter;
    if (after !== undefined) {
      this.catchUpAfter = undefined;
      // Fewer frames than the worker found: the WAL has started over since, nothing to copy.
      if (frames > after) {
        try {
          this.options.checkpointHere();
          this.stats.catchUps++;
        } catch {
          // Busy (another process checkpointing): the next cycle copies these frames.
        }
      }
      return;
    }
    if (frames < this.options.thresholdFrames) return;
    this.running = this.target.checkpoint().then(
      (result) => {
        this.stats.checkpoints++;
        this.catchUpAfter = result.log;
      },
      (error: unknown) => {
        this.failure = error;
        this.options.onFailure(error);
      },
    ).finally(() => {
      this.running = undefined;
    });
  }

  /** The worker's checkpoint running now, if any (tests, close). */
  get idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.idle;
    await this.target.close();
  }
}

/**
 * Reads `mxFrame`, the number of valid frames in the WAL, from the first copy of the wal-index
 * header in the `-shm` file. The descriptor is opened on first use and closed only after SQLite
 * closed the database: closing any descriptor of a file drops the process's POSIX locks on it, and
 * SQLite keeps its WAL locks on the `-shm` file.
 */
export class WalIndexHeader {
  private fd: number | undefined;
  private readonly buffer = Buffer.alloc(20);

  constructor(readonly shmPath: string) {}

  frames(): number | undefined {
    try {
      this.fd ??= fs.openSync(this.shmPath, 'r');
      if (fs.readSync(this.fd, this.buffer, 0, 20, 0) < 20) return undefined;
    } catch {
      return undefined;
    }
    return os.endianness() === 'LE' ? this.buffer.readUInt32LE(16) : this.buffer.readUInt32BE(16);
  }

  /** Call only after SQLite closed the database. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * The worker's code: one better-sqlite3 connection to the database file, a PASSIVE checkpoint per
 * message. CommonJS evaluated from a string, so the bundle needs no second entry file.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 30000');
db.pragma('synchronous = NORMAL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, row });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message || error) });
  }
});
`;

/** Checkpoints in a worker thread, started on first use and stopped after `idleMs` without one. */
export class WorkerCheckpointTarget implements CheckpointTarget {
  private worker: Worker | undefined;
  private pending: { resolve: (row: CheckpointResult) => void; reject: (error: Error) => void } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> | undefined;
  /** Worker threads started (tests). */
  starts = 0;

  /** Whether a worker thread is running now (tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  constructor(
    private readonly file: string,
    private readonly idleMs = 60_000,
  ) {}

  checkpoint(): Promise<CheckpointResult> {
    if (this.pending) return Promise.reject(new Error('A checkpoint is already running.'));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const worker = this.worker ?? this.start();
    // Referenced while a checkpoint runs (its answer is awaited), not while the worker idles.
    worker.ref();
    return new Promise<CheckpointResult>((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.postMessage('check');
    }).finally(() => {
      worker.unref();
      this.idleTimer = setTimeout(() => void this.stop(), this.idleMs);
      this.idleTimer.unref();
    });
  }

  private start(): Worker {
    const require = createRequire(import.meta.url);
    const driver = require.resolve('better-sqlite3');
    // Loaded on first use, like the other builtins a server may never need (docs/memory.md).
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new WorkerThread(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: this.file },
      // The worker only runs one pragma at a time: a small heap is plenty.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    worker.unref();
    this.starts++;
    worker.on('message', (message: { ok: boolean; row?: CheckpointResult; message?: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      if (!pending) return;
      if (message.ok && message.row) pending.resolve(message.row);
      else pending.reject(new Error(`SQLite checkpoint failed: ${message.message ?? 'no answer'}`));
    });
    this.exited = new Promise<void>((resolve) => {
      const gone = (error?: unknown): void => {
        if (this.worker === worker) this.worker = undefined;
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(error instanceof Error ? error : new Error('The SQLite checkpoint worker stopped.'));
        resolve();
      };
      worker.once('error', gone);
      worker.once('exit', () => gone());
    });
    this.worker = worker;
    return worker;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker || this.pending) return;
    this.worker = undefined;
    const exited = this.exited;
    worker.ref();
    worker.postMessage('close');
    await exited;
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    await this.stop();
  }
}

const checkpointers = new WeakMap<object, WalCheckpointer>();

/** Remembers the checkpointer of a root database handle (database.ts), for stats and tests. */
export function registerWalCheckpointer(db: object, checkpointer: WalCheckpointer): void {
  checkpointers.set(db, checkpointer);
}

/** The checkpointer of a root database handle, or undefined (`full` sync, in-memory, PostgreSQL). */
export function walCheckpointerOf(db: object): WalCheckpointer | undefined {
  return checkpointers.get(db);
}
