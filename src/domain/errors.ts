/**
 * The one error type of Trove. Every failure a client can see is an MlflowError carrying one of
 * MLflow's error codes; the HTTP layer renders it as `{"error_code", "message"}` with the status
 * MLflow maps that code to, so the MLflow client branches on it exactly as it does upstream.
 */
export type ErrorCode =
  | 'INVALID_PARAMETER_VALUE'
  | 'BAD_REQUEST'
  | 'MALFORMED_REQUEST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'ENDPOINT_NOT_FOUND'
  | 'NOT_FOUND'
  | 'RESOURCE_CONFLICT'
  | 'REQUEST_LIMIT_EXCEEDED'
  | 'INTERNAL_ERROR'
  | 'INVALID_STATE'
  | 'NOT_IMPLEMENTED'
  | 'TEMPORARILY_UNAVAILABLE';

/** MLflow's code → HTTP status table (mlflow/exceptions.py). */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  RESOURCE_CONFLICT: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
};

export class MlflowError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Response headers that belong to the error (`WWW-Authenticate` on a 401, `Retry-After` on a 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MlflowError';
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.headers = options?.headers ?? {};
  }

  static invalidParameter(message: string): MlflowError {
    return new MlflowError('INVALID_PARAMETER_VALUE', message);
  }

  static notFound(message: string): MlflowError {
    return new MlflowError('RESOURCE_DOES_NOT_EXIST', message);
  }

  static alreadyExists(message: string): MlflowError {
    return new MlflowError('RESOURCE_ALREADY_EXISTS', message);
  }

  static badRequest(message: string): MlflowError {
    return new MlflowError('BAD_REQUEST', message);
  }

  static invalidState(message: string): MlflowError {
    return new MlflowError('INVALID_STATE', message);
  }

  static notImplemented(message: string): MlflowError {
    return new MlflowError('NOT_IMPLEMENTED', message);
  }

  static temporarilyUnavailable(message: string): MlflowError {
    return new MlflowError('TEMPORARILY_UNAVAILABLE', message);
  }

  /** Wire form, as the MLflow client parses it. */
  toJSON(): { error_code: ErrorCode; message: string } {
    return { error_code: this.code, message: this.message };
  }
}

/** The message MLflow uses for a missing required field. */
export function missingParameter(name: string): MlflowError {
  return MlflowError.invalidParameter(
    `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
  );
}
