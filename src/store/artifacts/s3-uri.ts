/**
 * Parses `s3://bucket/some/prefix` (the prefix is optional). Apart from the S3 store, so that
 * naming an S3 destination does not load the AWS SDK (open-artifact-store.ts loads it on first use).
 */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match || !match[1]) throw new Error(`Invalid S3 URI '${uri}'. Expected s3://<bucket>/<prefix>.`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: match[1], prefix };
}
