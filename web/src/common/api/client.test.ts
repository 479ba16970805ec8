import { describe, expect, test } from 'vitest';
import { ApiError, parseApiError, toQueryString } from './client.ts';

describe('api client helpers', () => {
  test('parses MLflow error JSON into code and message', () => {
    const error = parseApiError(400, '{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid clause(s) in filter string: x"}');
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.status).toBe(400);
    expect(error.toString()).toBe('INVALID_PARAMETER_VALUE: Invalid clause(s) in filter string: x');
  });

  test('non-JSON errors keep their text with an HTTP code', () => {
    const error = parseApiError(502, 'Bad gateway');
    expect(error.code).toBe('HTTP_502');
    expect(error.message).toBe('Bad gateway');
    expect(parseApiError(500, '').message).toBe('Request failed with status 500');
  });

  test('query strings repeat list keys and skip missing values', () => {
    expect(toQueryString({ run_ids: ['a', 'b'], key: 'x y', skip: undefined, n: 3 })).toBe('?run_ids=a&run_ids=b&key=x+y&n=3');
    expect(toQueryString({})).toBe('');
  });
});
