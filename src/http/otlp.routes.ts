import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlflowError } from '../domain/errors.ts';
import { mlflowTraceIdsOfRoots } from '../domain/tracing/spans.ts';
import type { TraceService } from '../domain/tracing/trace-service.ts';

/** The headers MLflow's OTLP exporter sends (mlflow/tracing/utils/otlp.py). */
export const EXPERIMENT_ID_HEADER = 'x-mlflow-experiment-id';
export const RUN_ID_HEADER = 'x-mlflow-run-id';

/** Compressed OTLP bodies up to this size are read (a 1,000-span trace with 5 MB of attributes fits many times). */
const OTLP_BODY_LIMIT = 64 * 1024 * 1024;
/** And decompressed to at most this. */
const OTLP_DECOMPRESSED_LIMIT = 256 * 1024 * 1024;

// Made on first use: reading zlib's functions here would load node:zlib at every start (the
// bundle requires it lazily, scripts/build.mjs LAZY_BUILTINS), for compressed OTLP bodies only.
let decompressors: { gunzip: Decompress; inflate: Decompress; brotli: Decompress } | undefined;
type Decompress = (body: Buffer, options: zlib.ZlibOptions | zlib.BrotliOptions) => Promise<Buffer>;
function zlibDecompressors(): NonNullable<typeof decompressors> {
  return (decompressors ??= {
    gunzip: promisify(zlib.gunzip),
    inflate: promisify(zlib.inflate),
    brotli: promisify(zlib.brotliDecompress),
  });
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

async function decompress(body: Buffer, encoding: string | undefined): Promise<Buffer> {
  const options = { maxOutputLength: OTLP_DECOMPRESSED_LIMIT };
  try {
    switch ((encoding ?? 'identity').toLowerCase()) {
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return await zlibDecompressors().gunzip(body, options);
      case 'deflate':
        return await zlibDecompressors().inflate(body, options);
      case 'br':
        return await zlibDecompressors().brotli(body, { maxOutputLength: OTLP_DECOMPRESSED_LIMIT });
      default:
        throw MlflowError.invalidParameter(`Unsupported Content-Encoding: ${encoding}. Expected gzip, deflate, br or none.`);
    }
  } catch (error) {
    if (error instanceof MlflowError) throw error;
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || (error as Error).message?.includes('maxOutputLength')) {
      throw new MlflowError('REQUEST_LIMIT_EXCEEDED', `The decompressed OTLP request exceeds ${OTLP_DECOMPRESSED_LIMIT} bytes.`);
    }
    throw MlflowError.invalidParameter(`Could not decompress the ${encoding} request body.`);
  }
}

/**
 * OTLP/HTTP trace ingest (`POST /v1/traces`), what MLflow 3's exporter and any OpenTelemetry
 * SDK's OTLP/HTTP exporter send: an ExportTraceServiceRequest as protobuf or JSON, optionally
 * compressed, with `x-mlflow-experiment-id` naming the experiment. The answer is an empty
 * ExportTraceServiceResponse in the request's encoding. Under `/projects/<name>/v1/traces` the
 * project prefix is taken off before routing (auth-hooks.ts), like every other route.
 */
export async function otlpRoutes(app: FastifyInstance, tracing: TraceService): Promise<void> {
  await app.register(async (scope) => {
    // Raw bytes for both encodings: protobuf has to be, and JSON may be compressed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: OTLP_BODY_LIMIT }, (_request, body, done) => done(null, body));

    scope.post('/v1/traces', { config: { permission: 'write' }, bodyLimit: OTLP_BODY_LIMIT }, async (request, reply) => {
      const contentType = (header(request, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (contentType !== 'application/x-protobuf' && contentType !== 'application/json') {
        throw MlflowError.invalidParameter(`Invalid Content-Type: ${contentType || '(none)'}. Expected: application/x-protobuf or application/json`);
      }
      const experimentId = header(request, EXPERIMENT_ID_HEADER);
      if (experimentId === undefined) {
        throw MlflowError.invalidParameter(`Missing the ${EXPERIMENT_ID_HEADER} header: it names the experiment the spans are logged to.`);
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const body = await decompress(raw, header(request, 'content-encoding'));
      // The decoder (and protobufjs, about 8 MiB) is loaded by the first OTLP request, not at startup.
      const { decodeOtlpJson, decodeOtlpProtobuf } = await import('../domain/tracing/otlp.ts');
      let spans;
      if (contentType === 'application/json') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          throw MlflowError.invalidParameter('Invalid OpenTelemetry format');
        }
        spans = decodeOtlpJson(parsed);
      } else {
        spans = decodeOtlpProtobuf(body);
      }
      if (spans.length === 0) throw MlflowError.invalidParameter('Invalid OpenTelemetry format - no spans found');
      await tracing.ingestSpans(experimentId, spans);
      const runId = header(request, RUN_ID_HEADER);
      if (runId !== undefined) {
        // As MLflow's server: the spans are stored either way; a failed link is only logged.
        const roots = mlflowTraceIdsOfRoots(spans);
        for (let i = 0; i < roots.length; i += 100) {
          await tracing.linkTracesToRun(roots.slice(i, i + 100), runId).catch((error: unknown) => {
            request.log.warn({ err: error, runId }, 'linking OTLP traces to the run failed');
          });
        }
      }
      if (contentType === 'application/json') return reply.type('application/json').send({});
      return reply.type('application/x-protobuf').send(Buffer.alloc(0));
    });
  });
}
