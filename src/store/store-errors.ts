/**
 * Errors the stores raise for conditions the domain turns into MLflow errors. Stores never throw
 * MlflowError themselves (they sit below the domain); services catch these at the boundary.
 */
export class UniqueViolationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UniqueViolationError';
  }
}
