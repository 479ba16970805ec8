import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { asClientSent, clientUrl } from './ajax-alias.ts';

/**
 * One access-log line per request at info: method, route pattern, path (no query string: it may
 * carry values), status, duration, response bytes, request id and who made it (user name, user id,
 * token id; never a credential). JSON through the server's pino logger; `humanLogStream` turns the
 * same lines into a readable form on a terminal.
 */
export function installAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const principal = request.troveContext?.principal;
    const length = reply.getHeader('content-length');
    request.log.info(
      {
        access: true,
        method: request.method,
        route: request.routeOptions.url === undefined ? null : asClientSent(request, request.routeOptions.url),
        path: clientUrl(request).split('?')[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        bytes: length === undefined ? null : Number(length),
        ...(principal && principal.kind !== 'system' ? { user: principal.username } : {}),
        ...(principal?.userId != null ? { userId: principal.userId } : {}),
        ...(principal?.token ? { tokenId: principal.token.id } : {}),
        ip: request.ip,
      },
      'request',
    );
  });
}

/**
 * The JSON log's destination: standard output written asynchronously. pino's default writes each
 * line with a synchronous `write(2)`, one system call per request on the only JavaScript thread;
 * here a line is handed to libuv and the lines logged while a write is in flight go out together
 * in the next one, so a quiet server still logs each line at once. pino flushes what is pending
 * synchronously when the process exits (`process.exit` after SIGINT/SIGTERM, an uncaught error).
 * A process killed outright (SIGKILL, an abort) loses the lines not yet written, at most those of
 * the last few milliseconds: log lines are not durable data.
 */
export function bufferedStdout(): ReturnType<typeof pino.destination> {
  return pino.destination({ dest: 1, sync: false });
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Formats one pino JSON line for a person reading a terminal. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(Number(entry.time) || Date.now()).toISOString().slice(11, 23);
  const level = LEVELS[Number(entry.level)] ?? String(entry.level);
  if (entry.access === true) {
    const who = entry.user ? ` ${String(entry.user)}${entry.tokenId !== undefined ? ` (token ${String(entry.tokenId)})` : ''}` : '';
    return `${time} ${level} ${String(entry.method)} ${String(entry.path)} ${String(entry.status)} ${String(entry.durationMs)}ms ${entry.bytes ?? '-'}B${who} [${String(entry.reqId ?? '')}]`;
  }
  const skip = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'v']);
  const extra = Object.entries(entry)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${level} ${String(entry.msg ?? '')}${extra ? ` ${extra}` : ''}`;
}

/** A pino destination that writes `formatLogLine` output to `out` (the terminal). */
export function humanLogStream(out: NodeJS.WritableStream = process.stdout): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString('utf8');
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        out.write(`${formatLogLine(pending.slice(0, newline))}\n`);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
      done();
    },
  });
}
