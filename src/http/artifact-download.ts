import type { FastifyReply } from 'fastify';
import type { ArtifactDownload } from '../domain/artifacts/artifact-service.ts';

/**
 * Sends an artifact file the way MLflow does: always as an attachment, with `nosniff`, since an
 * artifact is user content served from the tracking server's own origin. The body is the
 * store's stream, never buffered.
 */
export function sendArtifactFile(reply: FastifyReply, file: ArtifactDownload): FastifyReply {
  void reply
    .header('Content-Type', file.contentType)
    .header('Content-Length', String(file.size))
    .header('Content-Disposition', contentDisposition(file.fileName))
    .header('X-Content-Type-Options', 'nosniff');
  return reply.send(file.stream);
}

/**
 * Content-Disposition as MLflow 3.18 builds it (`_content_disposition_attachment`): a plain token
 * name bare, other ASCII names quoted, and non-ASCII names as an ASCII fallback plus an RFC 5987
 * `filename*`, since raw non-ASCII text is not a valid header value.
 */
export function contentDisposition(fileName: string): string {
  if (/^[\x20-\x7e]*$/.test(fileName)) return `attachment; filename=${quoteHeaderValue(fileName)}`;
  const fallback = fileName.normalize('NFKD').replace(/[^\x20-\x7e]/g, '') || 'download';
  return `attachment; filename=${quoteHeaderValue(fallback)}; filename*=UTF-8''${encodeRfc5987(fileName)}`;
}

/** werkzeug's `quote_header_value(value, allow_token=True)`. */
function quoteHeaderValue(value: string): string {
  if (/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Percent-encodes UTF-8 bytes outside RFC 5987's attr-char set. */
function encodeRfc5987(value: string): string {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}
