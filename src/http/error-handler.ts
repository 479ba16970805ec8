import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { MlflowError } from '../domain/errors.ts';
import { clientUrl } from './ajax-alias.ts';
import { InvalidPageTokenError, isInvalidDataStoreError, isTransientStoreError } from '../store/store-errors.ts';

/**
 * The one place that turns a thrown error into a response. MlflowErrors keep their code and
 * status; Fastify's own 4xx errors (bad JSON, wrong content type, body too large) become MLflow
 * error JSON with a 4xx status; anything else is a server fault: logged, and answered with a
 * generic INTERNAL_ERROR that leaks nothing.
 */
export function toMlflowError(error: unknown): MlflowError {
  if (error instanceof MlflowError) return error;
  if (error instanceof InvalidPageTokenError) return MlflowError.invalidParameter(error.message);
  // A database outage (restart, dropped connection, deadlock victim) fails only the requests it
  // hits, with the status the MLflow client retries on; the pool reconnects by itself.
  if (isTransientStoreError(error)) {
    return new MlflowError('TEMPORARILY_UNAVAILABLE', 'The database is temporarily unavailable; retry the request.', { cause: error });
  }
  if (isInvalidDataStoreError(error)) {
    const detail = (error as { message?: unknown }).message;
    return MlflowError.invalidParameter(`A value in the request cannot be stored${typeof detail === 'string' ? `: ${detail}` : ''}.`);
  }
  const fastifyError = error as Partial<FastifyError>;
  const code = fastifyError.code ?? '';
  const statusCode = fastifyError.statusCode ?? 500;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return MlflowError.invalidParameter("Bad Request. Content-Type must be one of ['application/json'].");
  }
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new MlflowError('BAD_REQUEST', fastifyError.message ?? 'Bad request.');
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new MlflowError('INVALID_PARAMETER_VALUE', 'Request body is too large.');
  }
  if (statusCode >= 400 && statusCode < 500) {
    return new MlflowError('BAD_REQUEST', fastifyError.message ?? 'Bad request.');
  }
  return new MlflowError('INTERNAL_ERROR', 'Internal server error.', { cause: error });
}

export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const mlflowError = toMlflowError(error);
  if (mlflowError.status >= 500) {
    request.log.error({ err: error, url: clientUrl(request), method: request.method }, 'request failed');
  } else {
    request.log.debug({ code: mlflowError.code, msg: mlflowError.message }, 'client error');
  }
  for (const [name, value] of Object.entries(mlflowError.headers)) void reply.header(name, value);
  void reply.status(mlflowError.status).type('application/json').send(mlflowError.toJSON());
}
