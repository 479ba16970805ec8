/**
 * Starting, stopping and watching the servers of the benchmark (Trove, MLflow, FastTrackML), and
 * the machine facts for the report. Memory is read from /proc: VmRSS of the server's whole process
 * tree (MLflow is a launcher, a uvicorn master with its workers and a job runner with huey
 * consumers; Trove and FastTrackML are one process each), sampled while a workload runs.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export type ServerKind = 'trove' | 'mlflow' | 'fasttrackml';

export interface ServerSpec {
  kind: ServerKind;
  /** The Trove checkout to run (bin/trove.js). */
  root: string;
  port: number;
  backendUri: string;
  artifactsDir: string;
  logFile: string;
  /** The venv the server's command comes from: .venvs/bench (mlflow), .venvs/fasttrackml (fml). */
  venv: string;
  /** Extra node flags for Trove (e.g. --cpu-prof). */
  nodeFlags: string[];
  /** Extra `trove server` arguments (e.g. --workers 2). */
  serverArgs?: string[];
  cwd: string;
}

export interface RunningServer {
  spec: ServerSpec;
  child: ChildProcess;
  base: string;
  /** spawn → first `GET /health` 200, ms */
  startMs: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

function command(spec: ServerSpec): { cmd: string; args: string[] } {
  if (spec.kind === 'trove') {
    return {
      cmd: process.execPath,
      // The flags of bin/trove.js's own shebang, which `node bin/trove.js` does not read.
      args: [
        '--max-semi-space-size=2',
        ...spec.nodeFlags,
        path.join(spec.root, 'bin/trove.js'),
        'server',
        '--host', '127.0.0.1',
        '--port', String(spec.port),
        '--backend-store-uri', spec.backendUri,
        '--artifacts-destination', spec.artifactsDir,
        ...(spec.serverArgs ?? []),
      ],
    };
  }
  if (spec.kind === 'fasttrackml') {
    return {
      cmd: path.join(spec.venv, 'bin/fml'),
      args: ['server', '--listen-address', `127.0.0.1:${spec.port}`, '--database-uri', fasttrackmlDatabaseUri(spec.backendUri), '--default-artifact-root', spec.artifactsDir],
    };
  }
  return {
    cmd: path.join(spec.venv, 'bin/mlflow'),
    args: [
      'server',
      '--host', '127.0.0.1',
      '--port', String(spec.port),
      '--backend-store-uri', spec.backendUri,
      '--artifacts-destination', spec.artifactsDir,
    ],
  };
}

/**
 * The same database as FastTrackML spells it: `sqlite:///abs/path` (three slashes before an
 * absolute path, where SQLAlchemy's form has four) and `postgres://`.
 */
export function fasttrackmlDatabaseUri(backendUri: string): string {
  const sqlite = /^sqlite:\/\/\/(\/.*)$/.exec(backendUri);
  if (sqlite) return `sqlite://${sqlite[1]}`;
  return backendUri.replace(/^postgresql(\+\w+)?:\/\//, 'postgres://');
}

async function healthy(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Spawns the server in its own process group and waits for /health; returns the time it took. */
export async function startServer(spec: ServerSpec, timeoutMs = 300_000): Promise<RunningServer> {
  const { cmd, args } = command(spec);
  const log = fs.openSync(spec.logFile, 'a');
  fs.writeSync(log, `\n==== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    cwd: spec.cwd,
    detached: true,
    stdio: ['ignore', log, log],
    // TROVE_RUNTIME=dist: Trove refuses to fall back to compiling its sources with tsx, so a
    // stale build fails loudly instead of being measured as the slower development runtime.
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...(spec.kind === 'trove' && fs.existsSync(path.join(spec.root, 'scripts/build.mjs')) ? { TROVE_RUNTIME: 'dist' } : {}) },
  });
  fs.closeSync(log);
  const base = `http://127.0.0.1:${spec.port}`;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  for (;;) {
    if (exited !== null) throw new Error(`${spec.kind} server exited with ${exited} before answering /health; see ${spec.logFile}`);
    if (await healthy(base)) break;
    if (performance.now() - t0 > timeoutMs) {
      await stopServer({ spec, child, base, startMs: 0 });
      throw new Error(`${spec.kind} server did not answer /health within ${timeoutMs} ms; see ${spec.logFile}`);
    }
    // Polled every 2 ms, the same for every server: a 20 ms interval added up to 20 ms (10 on
    // average) to each cold start, a quarter of FastTrackML's.
    await new Promise((r) => setTimeout(r, 2));
  }
  const running = { spec, child, base, startMs: performance.now() - t0 };
  runningServers.add(running);
  return running;
}

/** SIGTERM to the server's process group (only the group this harness started), SIGKILL after 20 s. */
export async function stopServer(server: RunningServer): Promise<void> {
  runningServers.delete(server);
  const pid = server.child.pid;
  if (pid === undefined || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 20_000);
  await done;
  clearTimeout(timer);
  // Children of the group that outlive the leader (uvicorn workers, huey consumers).
  for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** pid and its descendants, from /proc/<pid>/stat. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of Pss (proportional set size: shared pages split between their users) over the tree, MiB. */
export function treePssMiB(rootPid: number): number {
  let kib = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kib += m ? Number(m[1]) : 0;
    } catch {
      /* gone */
    }
  }
  return kib / 1024;
}

/** Sum of VmRSS over the tree, MiB. */
export function treeRssMiB(rootPid: number): number {
  return processTree(rootPid).reduce((sum, pid) => sum + statusKiB(pid, 'VmRSS'), 0) / 1024;
}

/** Resets the kernel's peak-RSS counters (VmHWM) of the tree (`echo 5 > clear_refs`). */
export function resetPeaks(rootPid: number): void {
  for (const pid of processTree(rootPid)) {
    try {
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      /* not ours to reset, or gone */
    }
  }
}

/** Largest VmHWM of any one process of the tree, MiB (the kernel's peak, which sampling can miss). */
export function maxHwmMiB(rootPid: number): number {
  return Math.max(0, ...processTree(rootPid).map((pid) => statusKiB(pid, 'VmHWM'))) / 1024;
}

/** Samples the tree's summed RSS every `everyMs` until stopped; the tree is re-read every second. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private pids: number[] = [];
  private lastTree = 0;
  peak = 0;
  /** The highest sample since the last {@link takeWindow} (per-workload peaks within a round). */
  private windowPeak = 0;
  samples = 0;

  constructor(private readonly rootPid: number) {}

  start(everyMs = 50): void {
    this.peak = 0;
    this.samples = 0;
    const tick = (): void => {
      const now = Date.now();
      if (now - this.lastTree > 1000) {
        this.pids = processTree(this.rootPid);
        this.lastTree = now;
      }
      const rss = this.pids.reduce((sum, pid) => sum + statusKiB(pid, 'VmRSS'), 0) / 1024;
      this.peak = Math.max(this.peak, rss);
      this.windowPeak = Math.max(this.windowPeak, rss);
      this.samples++;
    };
    tick();
    this.timer = setInterval(tick, everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }

  /** The peak since the previous call (or the start), sampled once more now; starts a new window. */
  takeWindow(): number {
    const rss = this.pids.reduce((sum, pid) => sum + statusKiB(pid, 'VmRSS'), 0) / 1024;
    const peak = Math.max(this.windowPeak, rss);
    this.windowPeak = rss;
    return peak;
  }
}

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  os: string;
  node: string;
  python: string;
  mlflow: string;
  fasttrackml: string;
  trove: string;
  postgres: string;
  sqliteNode: string;
  sqlitePython: string;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Every server this harness started and has not stopped yet (stopped on SIGINT/SIGTERM). */
export const runningServers = new Set<RunningServer>();

/**
 * Exports a git revision of the checkout at `root` to bench/output/trove-<sha>/ (node_modules
 * linked from `root`) so the benchmark runs committed code, not a working tree being edited.
 */
export function exportRevision(root: string, ref: string): { dir: string; sha: string } {
  const sha = execFileSync('git', ['-C', root, 'rev-parse', '--short=12', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
  const dir = path.join(root, 'bench/output', `trove-${sha}`);
  if (!fs.existsSync(path.join(dir, 'bin/trove.js'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('bash', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'export', root, sha, dir]);
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  }
  // Trove as users run it: the compiled server (dist/), built here when missing or stale.
  if (fs.existsSync(path.join(dir, 'scripts/build.mjs'))) {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--server'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return { dir, sha };
}

export async function describeMachine(root: string, venv: string, troveRoot = root, fasttrackmlVenv = ''): Promise<Machine> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const py = path.join(venv, 'bin/python');
  const pgBin = sh('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1']);
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(':memory:');
  const sqliteNode = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  db.close();
  const pkg = JSON.parse(fs.readFileSync(path.join(troveRoot, 'package.json'), 'utf8')) as { version: string };
  const revision =
    troveRoot === root
      ? `working tree at ${sh('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'])}${sh('git', ['-C', root, 'status', '--porcelain', '--', 'src']) ? ' with uncommitted changes in src/' : ''}`
      : `commit ${path.basename(troveRoot).replace(/^trove-/, '')}`;
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    os: /^PRETTY_NAME="?([^"\n]+)"?/m.exec(osRelease)?.[1] ?? 'unknown',
    node: process.version,
    python: sh(py, ['-c', 'import platform; print(platform.python_version())']),
    mlflow: sh(py, ['-c', 'import mlflow; print(mlflow.__version__)']),
    fasttrackml: fasttrackmlVenv ? sh(path.join(fasttrackmlVenv, 'bin/fml'), ['--version']).replace(/^FastTrackML version /, '') : 'not run',
    trove: `${pkg.version} (${revision})`,
    postgres: pgBin === 'unknown' || !pgBin ? 'not installed' : sh(path.join(pgBin, 'postgres'), ['--version']).replace(/^postgres \(PostgreSQL\) /, ''),
    sqliteNode,
    sqlitePython: sh(py, ['-c', 'import sqlite3; print(sqlite3.sqlite_version)']),
  };
}
