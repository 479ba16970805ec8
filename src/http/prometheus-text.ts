/**
 * Counters, gauges and histograms in the Prometheus text format (version 0.0.4), for the request
 * metrics every request updates. They are plain maps, so the server does not load prom-client
 * (≈2 MiB of RSS) until /metrics is first scraped (docs/memory.md); the output is line for line
 * what prom-client writes for the same metrics.
 */
export type Labels = Record<string, string>;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, first?: [string, string]): string {
  const parts = first ? [`${first[0]}="${escapeLabelValue(first[1])}"`] : [];
  for (const [name, value] of Object.entries(labels)) parts.push(`${name}="${escapeLabelValue(value)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** The series key of a label set: values in the metric's label order. */
function keyOf(labels: Labels): string {
  return Object.values(labels).join('\u0000');
}

abstract class Metric<Series> {
  protected readonly series = new Map<string, { labels: Labels; value: Series }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: string,
  ) {}

  protected entry(labels: Labels, initial: () => Series): { labels: Labels; value: Series } {
    const key = keyOf(labels);
    let found = this.series.get(key);
    if (found === undefined) {
      found = { labels: { ...labels }, value: initial() };
      this.series.set(key, found);
    }
    return found;
  }

  protected header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract render(): string;
}

/** A value per label set; without labels it starts at 0 (and is shown as 0). */
class Scalar extends Metric<number> {
  constructor(name: string, help: string, type: 'counter' | 'gauge', unlabelled: boolean) {
    super(name, help, type);
    if (unlabelled) this.entry({}, () => 0);
  }

  protected add(labels: Labels, amount: number): void {
    this.entry(labels, () => 0).value += amount;
  }

  set(labels: Labels, value: number): void {
    this.entry(labels, () => 0).value = value;
  }

  render(): string {
    let text = this.header();
    for (const { labels, value } of this.series.values()) text += `${this.name}${labelText(labels)} ${value}\n`;
    return text;
  }
}

export class Counter extends Scalar {
  constructor(name: string, help: string, options: { labelled: boolean }) {
    super(name, help, 'counter', !options.labelled);
  }

  /** As prom-client: `inc()`, `inc(amount)`, `inc(labels)` or `inc(labels, amount)`. */
  inc(labels: Labels | number = {}, amount = 1): void {
    if (typeof labels === 'number') this.add({}, labels);
    else this.add(labels, amount);
  }
}

export class Gauge extends Scalar {
  constructor(name: string, help: string, options: { labelled: boolean }) {
    super(name, help, 'gauge', !options.labelled);
  }

  inc(labels: Labels = {}): void {
    this.add(labels, 1);
  }

  dec(labels: Labels = {}): void {
    this.add(labels, -1);
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram');
  }

  observe(labels: Labels, value: number): void {
    const series = this.entry(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 })).value;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  render(): string {
    let text = this.header();
    for (const { labels, value } of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        text += `${this.name}_bucket${labelText(labels, ['le', String(bound)])} ${value.counts[i]}\n`;
      });
      text += `${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${value.count}\n`;
      text += `${this.name}_sum${labelText(labels)} ${value.sum}\n`;
      text += `${this.name}_count${labelText(labels)} ${value.count}\n`;
    }
    return text;
  }
}
