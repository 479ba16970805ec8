import { MlflowError } from '../domain/errors.ts';
import { rememberJsonSource } from './request-schema.ts';

/**
 * A JSON request body as every route reads it: an empty body is `{}` (as MLflow treats it), text
 * that is not JSON is MALFORMED_REQUEST. The parsed object remembers its text (request-schema.ts)
 * so an error can quote a number as the client wrote it.
 */
export function parseJsonBody(text: string): { value: unknown } | { error: MlflowError } {
  if (text.trim() === '') return { value: {} };
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') rememberJsonSource(parsed, text);
    return { value: parsed };
  } catch (error) {
    return { error: new MlflowError('MALFORMED_REQUEST', `Malformed JSON request body: ${jsonErrorWithoutInput(error)}`) };
  }
}

/** V8 quotes the start of the input in JSON errors; a login body holds a password, so drop it. */
function jsonErrorWithoutInput(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/,?\s*"[\s\S]*"\s+is not valid JSON$/, ' (not valid JSON)').replace(/"[\s\S]*$/, '').trim() || 'not valid JSON';
}
