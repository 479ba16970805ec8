/**
 * A minimal server-sent-events reader (the WHATWG event-stream format): `id:`, `event:`, `data:`
 * and `retry:` fields, comment lines, CRLF/LF/CR line ends. Used by `trove models pull --watch`
 * to follow `/api/2.0/trove/registry/events`.
 */

export interface SseMessage {
  /** The `id:` of the message, or the last id seen before it (as EventSource keeps it). */
  id: string | undefined;
  event: string;
  data: string;
}

export type SseItem = { kind: 'message'; message: SseMessage } | { kind: 'comment'; text: string } | { kind: 'retry'; ms: number };

export class SseParser {
  private buffer = '';
  private lastId: string | undefined;
  private event = '';
  private data: string[] = [];
  private hasData = false;

  /** Feeds decoded text; returns the complete items it finished. */
  push(text: string): SseItem[] {
    this.buffer += text;
    const items: SseItem[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const item = this.line(line);
      if (item) items.push(item);
    }
    return items;
  }

  private line(line: string): SseItem | undefined {
    if (line === '') {
      if (!this.hasData) {
        this.event = '';
        return undefined;
      }
      const message: SseMessage = { id: this.lastId, event: this.event || 'message', data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      this.hasData = false;
      return { kind: 'message', message };
    }
    if (line.startsWith(':')) return { kind: 'comment', text: line.slice(1).trimStart() };
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        return undefined;
      case 'event':
        this.event = value;
        return undefined;
      case 'id':
        if (!value.includes('\u0000')) this.lastId = value;
        return undefined;
      case 'retry':
        return /^\d+$/.test(value) ? { kind: 'retry', ms: Number(value) } : undefined;
      default:
        return undefined;
    }
  }
}

/** Reads a response body as SSE items until it ends or `signal` aborts. */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseItem> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await reader.cancel().catch(() => undefined);
  }
}
