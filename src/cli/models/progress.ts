/**
 * Download progress on stderr: a redrawn bar on a terminal, plain lines otherwise (CI logs,
 * `2> file`), nothing with --quiet.
 */
export interface ProgressSink {
  start(label: string, totalFiles: number, totalBytes: number): void;
  bytes(count: number): void;
  fileDone(path: string, size: number): void;
  finish(): void;
  /** Clears a half-drawn bar before other output. */
  interrupt(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
  /** Terminal or not; defaults to the stream's isTTY. */
  tty?: boolean;
  now?: () => number;
}

export function createProgress(options: ProgressOptions = {}): ProgressSink {
  if (options.quiet) return { start() {}, bytes() {}, fileDone() {}, finish() {}, interrupt() {} };
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  return (options.tty ?? stream.isTTY === true) ? new BarProgress(stream, now) : new LineProgress(stream, now);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

abstract class BaseProgress implements ProgressSink {
  protected label = '';
  protected totalFiles = 0;
  protected totalBytes = 0;
  protected doneFiles = 0;
  protected doneBytes = 0;
  protected startedAt = 0;

  constructor(
    protected readonly stream: NodeJS.WriteStream,
    protected readonly now: () => number,
  ) {}

  start(label: string, totalFiles: number, totalBytes: number): void {
    this.label = label;
    this.totalFiles = totalFiles;
    this.totalBytes = totalBytes;
    this.doneFiles = 0;
    this.doneBytes = 0;
    this.startedAt = this.now();
  }

  bytes(count: number): void {
    this.doneBytes += count;
  }

  fileDone(_path: string, _size: number): void {
    this.doneFiles++;
  }

  abstract finish(): void;
  interrupt(): void {}

  protected rate(): string {
    const seconds = Math.max((this.now() - this.startedAt) / 1000, 0.001);
    return `${formatBytes(Math.round(this.doneBytes / seconds))}/s`;
  }

  protected elapsed(): string {
    return `${((this.now() - this.startedAt) / 1000).toFixed(1)} s`;
  }
}

class BarProgress extends BaseProgress {
  private lastDraw = 0;
  private drawn = false;

  override start(label: string, totalFiles: number, totalBytes: number): void {
    super.start(label, totalFiles, totalBytes);
    this.draw(true);
  }

  override bytes(count: number): void {
    super.bytes(count);
    this.draw(false);
  }

  override fileDone(path: string, size: number): void {
    super.fileDone(path, size);
    this.draw(true);
  }

  finish(): void {
    this.draw(true);
    this.stream.write('\n');
    this.drawn = false;
  }

  override interrupt(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = this.totalBytes > 0 ? Math.min(1, this.doneBytes / this.totalBytes) : this.totalFiles > 0 ? this.doneFiles / this.totalFiles : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const line =
      `${this.label} ${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ` +
      `${formatBytes(this.doneBytes)}/${formatBytes(this.totalBytes)}  ` +
      `${this.doneFiles}/${this.totalFiles} files  ${this.rate()}`;
    const columns = this.stream.columns || 120;
    this.stream.write(`\r\x1b[K${line.slice(0, Math.max(columns - 1, 20))}`);
    this.drawn = true;
  }
}

/** One line per finished file, and a line every 10 s during a long file. */
class LineProgress extends BaseProgress {
  private lastLine = 0;

  override start(label: string, totalFiles: number, totalBytes: number): void {
    super.start(label, totalFiles, totalBytes);
    this.lastLine = this.now();
    this.stream.write(`${label}: ${totalFiles} files, ${formatBytes(totalBytes)}\n`);
  }

  override bytes(count: number): void {
    super.bytes(count);
    if (this.now() - this.lastLine >= 10_000) this.line('…');
  }

  override fileDone(path: string, size: number): void {
    super.fileDone(path, size);
    this.line(`${path} (${formatBytes(size)})`);
  }

  finish(): void {
    this.stream.write(`${this.label}: ${this.doneFiles} files, ${formatBytes(this.doneBytes)} in ${this.elapsed()} (${this.rate()})\n`);
  }

  private line(what: string): void {
    this.lastLine = this.now();
    this.stream.write(`  ${what}  [${this.doneFiles}/${this.totalFiles} files, ${formatBytes(this.doneBytes)}/${formatBytes(this.totalBytes)}, ${this.rate()}]\n`);
  }
}
