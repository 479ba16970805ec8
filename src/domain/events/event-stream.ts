import type { EventsStore, RegistryEventRecord } from '../../store/events-store.ts';
import type { EventBus } from './event-bus.ts';
import { currentProjectId } from '../request-context.ts';

export interface EventStreamOptions {
  /** A fixed project for every subscription; by default each subscriber's request project. */
  projectId?: number;
  /** How often the outbox is checked for events other processes appended (ms). */
  pollIntervalMs?: number;
  /** Events read per query. */
  batchSize?: number;
  /** Called when reading the outbox fails (the stream keeps trying). */
  onError?: (error: unknown) => void;
}

export interface StreamSubscription {
  close(): void;
}

export interface SubscribeOptions {
  /** Deliver events with ids greater than this. */
  afterId: number;
  /** Only events of this registered model. */
  modelName?: string;
  /** Only events of this project; default: the project of the request that subscribes. */
  projectId?: number;
  /**
   * Receives events in id order. The stream waits for the returned promise before sending more
   * (backpressure of a slow client).
   */
  deliver(events: RegistryEventRecord[]): Promise<void> | void;
}

/**
 * Registry events from the outbox for long-lived readers (the SSE endpoint). Readers follow the
 * table, not this process's memory, so they see events written by every server process over the
 * database and can resume from any id. One timer per stream hub asks for the newest id at the
 * poll interval (and the in-process bus wakes it at once); a reader queries the table only when
 * there is something past its cursor.
 */
export class RegistryEventStream {
  private readonly projectId: number | undefined;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly readers = new Set<Reader>();
  private lastKnownId = 0;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribeBus: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: EventsStore,
    private readonly bus: EventBus,
    private readonly options: EventStreamOptions = {},
  ) {
    this.projectId = options.projectId;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
  }

  /** The newest event id, where a reader that wants only new events starts. */
  async latestId(): Promise<number> {
    const id = await this.store.lastEventId();
    this.lastKnownId = Math.max(this.lastKnownId, id);
    return id;
  }

  subscribe(options: SubscribeOptions): StreamSubscription {
    if (this.closed) return { close() {} };
    // The project is fixed now: later reads run from the shared timer, outside the request.
    const reader = new Reader(this, { ...options, projectId: options.projectId ?? this.projectId ?? currentProjectId() });
    this.readers.add(reader);
    this.ensureRunning();
    reader.wake();
    return {
      close: () => {
        reader.stop();
        this.readers.delete(reader);
        if (this.readers.size === 0) this.stopTimer();
      },
    };
  }

  /** Number of open subscriptions. */
  get size(): number {
    return this.readers.size;
  }

  close(): void {
    this.closed = true;
    for (const reader of this.readers) reader.stop();
    this.readers.clear();
    this.stopTimer();
  }

  /** @internal */
  knownLastId(): number {
    return this.lastKnownId;
  }

  /** @internal */
  async read(afterId: number, modelName: string | undefined, projectId: number): Promise<{ events: RegistryEventRecord[]; scannedTo: number }> {
    // Read the newest id first: every event up to it is visible to the query that follows, so
    // when the page is not full the reader has seen everything up to `scannedTo`.
    const newest = await this.store.lastEventId();
    this.lastKnownId = Math.max(this.lastKnownId, newest);
    const events = await this.store.readEvents({
      projectId,
      afterId,
      ...(modelName !== undefined ? { modelName } : {}),
      limit: this.batchSize,
    });
    const full = events.length === this.batchSize;
    const lastRead = events.length > 0 ? events[events.length - 1]!.id : afterId;
    return { events, scannedTo: full ? lastRead : Math.max(lastRead, newest) };
  }

  /** @internal */
  reportError(error: unknown): void {
    this.options.onError?.(error);
  }

  private ensureRunning(): void {
    if (this.timer) return;
    this.unsubscribeBus = this.bus.subscribe(() => void this.refresh());
    this.timer = setInterval(() => void this.refresh(), this.pollIntervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribeBus?.();
    this.unsubscribeBus = undefined;
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        const newest = await this.store.lastEventId();
        this.lastKnownId = Math.max(this.lastKnownId, newest);
        for (const reader of this.readers) reader.wake();
      } catch (error) {
        this.reportError(error);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

/** One subscriber's cursor and pump. */
class Reader {
  private cursor: number;
  /** Whether the first read (the catch-up from `afterId`) has happened. */
  private primed = false;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly stream: RegistryEventStream,
    private readonly options: SubscribeOptions,
  ) {
    this.cursor = options.afterId;
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.primed && this.stream.knownLastId() <= this.cursor) return;
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        const { events, scannedTo } = await this.stream.read(this.cursor, this.options.modelName, this.options.projectId ?? 1);
        this.primed = true;
        if (this.stopped) return;
        if (events.length > 0) await this.options.deliver(events);
        this.cursor = Math.max(this.cursor, scannedTo);
        if (this.stream.knownLastId() > this.cursor) this.again = true;
      } while (this.again && !this.stopped);
    } catch (error) {
      this.stream.reportError(error);
    } finally {
      this.running = false;
    }
  }
}
