import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { MlflowError } from '../domain/errors.ts';

/**
 * Requests Fastify refuses before any route or error handler runs, answered in MLflow's error
 * shape instead of Fastify's: a URL with a bad percent escape (FST_ERR_BAD_URL), and requests the
 * HTTP parser rejects (a URL or headers over the 16 KiB limit: 431; malformed HTTP: 400).
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mlflowError =
    error.code === 'FST_ERR_BAD_URL'
      ? MlflowError.invalidParameter('The request URL is malformed: it contains an invalid percent-encoded sequence.')
      : new MlflowError('BAD_REQUEST', 'The request could not be understood.');
  void reply.status(mlflowError.status).type('application/json').send(mlflowError.toJSON());
}

/** Fastify's `clientErrorHandler`: errors of the HTTP parser, before a request exists. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, body] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', new MlflowError('BAD_REQUEST', 'The request URL or headers are too large (over 16 KiB); send long values in a POST body.')]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'HPE_HEADER_TIMEOUT'
        ? [408, 'Request Timeout', new MlflowError('BAD_REQUEST', 'The request was not received in time.')]
        : [400, 'Bad Request', new MlflowError('BAD_REQUEST', 'The request is not valid HTTP.')];
  const json = JSON.stringify(body.toJSON());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
