import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MlflowError } from '../domain/errors.ts';
import type { RegistryEventStream } from '../domain/events/event-stream.ts';
import { presentRegistryEvent } from './webhook-presenters.ts';
import { parseFields, requestFields, text } from './request-schema.ts';

export interface EventRoutesOptions {
  /** A comment line is sent this often so proxies and clients can tell a quiet stream from a dead one. */
  heartbeatMs?: number;
  /** The reconnection delay suggested to EventSource clients (`retry:`). */
  retryMs?: number;
}

const streamSchema = z.object({ name: text.optional(), last_event_id: text.optional() });

/**
 * `GET /registry/events`: registry events as server-sent events (text/event-stream), relative to
 * /api/2.0/trove or /ajax-api/2.0/trove. Documented in docs/api-trove.md.
 *
 * Every event carries `id: <outbox id>`; a client that reconnects with `Last-Event-ID` (what
 * EventSource does by itself) or `?last_event_id=` gets everything after it, so nothing is lost
 * between connections. Without either, the stream starts with the next event.
 */
export async function registryEventRoutes(app: FastifyInstance, stream: RegistryEventStream, options: EventRoutesOptions = {}): Promise<void> {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const retryMs = options.retryMs ?? 3000;
  const open = new Set<() => void>();

  // Open streams never end on their own; end them so the server can close.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/registry/events', { config: { permission: 'read' } }, async (request, reply) => {
    const fields = parseFields(streamSchema, requestFields('GET', request.query, undefined));
    const header = request.headers['last-event-id'];
    const resume = (Array.isArray(header) ? header[0] : header) ?? fields.last_event_id;
    let afterId: number;
    if (resume !== undefined && resume.trim() !== '') {
      if (!/^\d+$/.test(resume.trim())) {
        throw MlflowError.invalidParameter(`Invalid last event id '${resume}': expected the id of an event (a non-negative integer).`);
      }
      afterId = Number(resume.trim());
    } else {
      afterId = await stream.latestId();
    }
    const modelName = fields.name === '' ? undefined : fields.name;

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Tell nginx-style proxies not to buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    raw.write(`retry: ${retryMs}\n: trove registry events after id ${afterId}\n\n`);

    let closed = false;
    const heartbeat = setInterval(() => {
      if (!closed) raw.write(': heartbeat\n\n');
    }, heartbeatMs);
    heartbeat.unref();

    const subscription = stream.subscribe({
      afterId,
      ...(modelName !== undefined ? { modelName } : {}),
      deliver: async (events) => {
        for (const event of events) {
          if (closed) return;
          const frame = `id: ${event.id}\ndata: ${JSON.stringify(presentRegistryEvent(event))}\n\n`;
          if (!raw.write(frame)) await drained(raw);
        }
      },
    });

    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      subscription.close();
      open.delete(end);
    };
    const end = (): void => {
      cleanup();
      raw.end();
    };
    open.add(end);
    // The response closes when the client goes away (or when we end it).
    raw.on('close', cleanup);
  });
}

/** Resolves when the socket can take more, or is gone. */
function drained(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}
