import type { ImportProgress } from '../../domain/import/import-service.ts';
import { formatBytes } from '../models/progress.ts';

/**
 * Import progress on stderr: per phase a redrawn bar with totals (items, metric points, bytes,
 * rate, ETA) on a terminal; on anything else (CI logs, a file) a plain line every 10 s and one at
 * the end of each phase. --quiet shows nothing.
 */
export function createImportProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream; tty?: boolean; now?: () => number } = {}): ImportProgress {
  if (options.quiet) return { phase() {}, item() {}, points() {}, bytes() {}, endPhase() {}, note() {} };
  const stream = options.stream ?? process.stderr;
  return new PhaseProgress(stream, options.tty ?? stream.isTTY === true, options.now ?? Date.now);
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

class PhaseProgress implements ImportProgress {
  private name = '';
  private total = 0;
  private done = 0;
  private pointCount = 0;
  private byteCount = 0;
  private startedAt = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly tty: boolean,
    private readonly now: () => number,
  ) {}

  phase(name: string, total: { items: number }): void {
    this.name = name;
    this.total = total.items;
    this.done = 0;
    this.pointCount = 0;
    this.byteCount = 0;
    this.startedAt = this.now();
    this.lastDraw = this.now();
    if (!this.tty) this.stream.write(`${name}: ${total.items} to go\n`);
    else this.draw(true);
  }

  item(): void {
    this.done++;
    this.draw(false);
  }

  points(n: number): void {
    this.pointCount += n;
    this.draw(false);
  }

  bytes(n: number): void {
    this.byteCount += n;
    this.draw(false);
  }

  endPhase(): void {
    if (this.tty) {
      this.draw(true);
      this.stream.write('\n');
      this.drawn = false;
    } else {
      this.stream.write(`${this.name}: done, ${this.line()}\n`);
    }
  }

  note(message: string): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.stream.write(`${message}\n`);
    this.draw(true);
  }

  private line(): string {
    const elapsed = Math.max(this.now() - this.startedAt, 1);
    const parts = [`${this.done}/${this.total}`];
    if (this.pointCount > 0) parts.push(`${formatCount(this.pointCount)} points (${formatCount(Math.round((this.pointCount * 1000) / elapsed))}/s)`);
    if (this.byteCount > 0) parts.push(`${formatBytes(this.byteCount)} (${formatBytes(Math.round((this.byteCount * 1000) / elapsed))}/s)`);
    parts.push(`${formatDuration(elapsed)} elapsed`);
    if (this.done > 0 && this.done < this.total) parts.push(`ETA ${formatDuration((elapsed / this.done) * (this.total - this.done))}`);
    return parts.join('  ');
  }

  private draw(force: boolean): void {
    const now = this.now();
    if (!this.tty) {
      if (now - this.lastDraw >= 10_000) {
        this.lastDraw = now;
        this.stream.write(`${this.name}: ${this.line()}\n`);
      }
      return;
    }
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 20;
    const filled = Math.round(fraction * width);
    const text = `${this.name.padEnd(18)} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${this.line()}`;
    const columns = this.stream.columns || 120;
    this.stream.write(`\r\x1b[K${text.slice(0, Math.max(columns - 1, 20))}`);
    this.drawn = true;
  }
}
