import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';

/**
 * `trove server --workers N`: the primary process supervises N worker processes that each run
 * the whole server and share one listening port (node:cluster hands connections out round-robin).
 *
 * Nothing a worker keeps in memory has to be seen by another: runs, metrics and registry state
 * live in the database, artifacts in the artifact store, page tokens are self-contained, metric
 * key ids are cached only once committed (and never change), and registry events travel through
 * the database's outbox. The primary runs the schema migrations once before forking, so workers
 * never race each other over them.
 */
export interface ClusterOptions {
  workers: number;
  logLevel: string;
  /** Runs in the primary before any worker starts: migrations, and whatever the banner needs. */
  prepare(): Promise<void>;
  /** Called once every worker listens, with the shared address. */
  onListening(address: AddressInfo): void;
}

/** Workers that die this often within {@link CRASH_WINDOW_MS} stop the restarts: something is broken. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 30_000;
const RESTART_DELAY_MS = 1_000;
const SHUTDOWN_GRACE_MS = 15_000;

export async function runClusterPrimary(options: ClusterOptions): Promise<void> {
  const log: Logger = pino({ level: options.logLevel, base: { role: 'primary', pid: process.pid } });
  try {
    await options.prepare();
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }

  let shuttingDown = false;
  let announced = false;
  const listening = new Set<number>();
  const crashes: number[] = [];

  const fork = (): Worker => cluster.fork({ TROVE_WORKER: '1' });

  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    if (!announced && listening.size >= options.workers) {
      announced = true;
      options.onListening({ address: address.address ?? '', family: String(address.addressType), port: address.port });
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (shuttingDown) {
      // process.exitCode: 1 when stopping after repeated crashes, unset (0) after a signal.
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && (crashes[0] ?? now) < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= MAX_CRASHES) {
      log.fatal(`${crashes.length} worker processes died within ${CRASH_WINDOW_MS / 1000}s; stopping.`);
      shuttingDown = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    log.error({ workerPid: worker.process.pid, code, signal }, 'worker process exited; starting a new one');
    // Not unref'd: with every worker dead, this timer is what keeps the primary alive until the
    // restart (unref'd, the primary would exit with code 0 in between, leaving no server).
    setTimeout(() => {
      if (!shuttingDown) fork();
    }, RESTART_DELAY_MS);
  });

  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info(`${signal} received, stopping ${Object.keys(cluster.workers ?? {}).length} workers`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      log.warn('workers did not stop in time; killing them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));

  for (let i = 0; i < options.workers; i += 1) fork();
}

/** Whether this process is a worker forked by {@link runClusterPrimary}. */
export function isClusterWorker(): boolean {
  // The variable first: a server started without --workers never loads node:cluster (the bundle
  // requires it on first use, scripts/build.mjs LAZY_BUILTINS).
  return process.env.TROVE_WORKER === '1' && cluster.isWorker;
}
