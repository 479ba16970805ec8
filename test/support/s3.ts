import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ArtifactStore, s3ClientConfig } from '../../src/store/artifacts/s3-artifact-store.ts';

/**
 * The S3-compatible server for tests (Swift + s3api from scripts/start-swift.sh, which prints
 * these variables; scripts/test.sh exports them). Without them, S3 suites skip with a message.
 */
export interface TestS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

export function testS3(): TestS3 | undefined {
  const endpoint = process.env.TROVE_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    accessKey: process.env.TROVE_TEST_S3_ACCESS_KEY ?? 'test:tester',
    secretKey: process.env.TROVE_TEST_S3_SECRET_KEY ?? 'testing',
    bucket: process.env.TROVE_TEST_S3_BUCKET ?? 'trove',
  };
}

export const S3_SKIP_MESSAGE =
  'TROVE_TEST_S3_ENDPOINT is not set: start the throwaway Swift with ' +
  '`eval "$(bash scripts/start-swift.sh)"` (scripts/test.sh does this)';

/** The environment a Trove server would read its S3 settings from, as MLflow users set it. */
export function s3Env(s3: TestS3, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    MLFLOW_S3_ENDPOINT_URL: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    ...overrides,
  };
}

/** A unique key prefix, so test runs and suites never see each other's objects. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${randomBytes(5).toString('hex')}`;
}

export function makeS3Store(s3: TestS3, prefix: string, overrides: Record<string, string> = {}): S3ArtifactStore {
  return new S3ArtifactStore({ bucket: s3.bucket, prefix, client: s3ClientConfig(s3Env(s3, overrides)) });
}

/** A plain client on the test server, for looking behind the store's back. */
export function rawS3Client(s3: TestS3): S3Client {
  return new S3Client(s3ClientConfig(s3Env(s3)));
}

export { closedPort } from './ports.ts';
