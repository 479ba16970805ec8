import { EventEmitter } from 'node:events';

/**
 * In-process signal that registry events were appended to the outbox, so the webhook dispatcher
 * and the SSE streams of this process react at once instead of at their next poll. Other
 * processes over the same database find the events by polling; the bus is only a shortcut.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor() {
    // One listener per open SSE stream plus the dispatcher.
    this.emitter.setMaxListeners(0);
  }

  subscribe(listener: () => void): () => void {
    this.emitter.on('appended', listener);
    return () => this.emitter.off('appended', listener);
  }

  notify(): void {
    this.emitter.emit('appended');
  }

  /**
   * Notifies after the caller's transaction has had time to commit: the sink appends right
   * before the commit, and a reader woken before it would find nothing new (on a pooled database;
   * SQLite's single connection makes readers wait for the commit anyway). A second, later signal
   * covers a slow commit; the regular poll covers the rest.
   */
  notifySoon(): void {
    for (const delay of [0, 50]) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.notify();
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.emitter.removeAllListeners();
  }
}
