import fs from 'node:fs';
import path from 'node:path';
import type { TrackingClient } from './tracking-client.ts';
import { TrackingApiError } from './tracking-client.ts';

const PROXY_PATH = '/api/2.0/mlflow-artifacts/artifacts';

/** Where a model's files are, in the server's artifact proxy. */
export interface ProxyLocation {
  /** `<server>/api/2.0/mlflow-artifacts/artifacts` */
  baseUrl: string;
  /** The folder under the proxy root, without leading or trailing slashes. */
  root: string;
}

/** One file of a listing: a relative path inside the model, and the size the server reported. */
export interface RemoteFile {
  path: string;
  size: number;
}

export class SizeMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`Size mismatch for ${file}: the server listed ${expected} bytes, ${actual} were downloaded.`);
    this.name = 'SizeMismatchError';
  }
}

/**
 * The proxy location of an artifact URI, as the MLflow client maps it (mlflow-rest-api.md §6):
 * `mlflow-artifacts:/<p>` → the tracking server's proxy; `mlflow-artifacts://host:port/<p>` → that
 * host's proxy with the tracking URI's scheme; an `http(s)://…/api/2.0/mlflow-artifacts/artifacts/<p>`
 * URL as it is. Other schemes (s3://, file:, …) are read by the client directly from storage,
 * which `trove models pull` does not do.
 */
export function proxyLocation(artifactUri: string, trackingBaseUrl: string): ProxyLocation {
  const tracking = new URL(trackingBaseUrl);
  const trackingBase = trackingBaseUrl.replace(/\/+$/, '');
  const proxy = /^mlflow-artifacts:(\/\/[^/]*)?(\/.*)?$/i.exec(artifactUri);
  if (proxy) {
    const authority = proxy[1]?.slice(2);
    const root = decodeURIComponent(proxy[2] ?? '').replace(/^\/+|\/+$/g, '');
    const base = authority ? `${tracking.protocol}//${authority}${PROXY_PATH}` : `${trackingBase}${PROXY_PATH}`;
    return { baseUrl: base, root };
  }
  if (/^https?:\/\//i.test(artifactUri)) {
    const url = new URL(artifactUri);
    const index = url.pathname.indexOf(PROXY_PATH);
    if (index !== -1) {
      const root = decodeURIComponent(url.pathname.slice(index + PROXY_PATH.length)).replace(/^\/+|\/+$/g, '');
      return { baseUrl: `${url.origin}${url.pathname.slice(0, index + PROXY_PATH.length)}`, root };
    }
  }
  throw new Error(
    `The model's files are at '${artifactUri}', which is not served by the tracking server's artifact proxy ` +
      '(mlflow-artifacts:/...). trove models pull downloads through the proxy only.',
  );
}

function fileUrl(location: ProxyLocation, relative: string): string {
  const full = [location.root, relative].filter((part) => part !== '').join('/');
  return `${location.baseUrl}/${full.split('/').map(encodeURIComponent).join('/')}`;
}

/** A listed name the server could use to escape the destination is refused. */
function checkName(name: string, listedIn: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\u0000]/.test(name)) {
    throw new Error(`The server listed an unsafe file name ${JSON.stringify(name)} in '${listedIn || '/'}'.`);
  }
}

/**
 * Every file under the location, recursively, through `GET …/artifacts?path=<dir>` (entries are
 * basenames; directories are listed in turn).
 */
export async function listFiles(client: TrackingClient, location: ProxyLocation, signal?: AbortSignal): Promise<RemoteFile[]> {
  const files: RemoteFile[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const listPath = [location.root, dir].filter((part) => part !== '').join('/');
    const response = await client.request(`${location.baseUrl}?${new URLSearchParams({ path: listPath }).toString()}`, { signal });
    const text = await response.text();
    if (!response.ok) {
      let detail = text.slice(0, 200);
      try {
        detail = (JSON.parse(text) as { message?: string }).message ?? detail;
      } catch {
        // not JSON
      }
      throw new TrackingApiError(`Listing '${listPath || '/'}' failed with HTTP ${response.status}: ${detail}`, response.status, undefined);
    }
    const listing = JSON.parse(text === '' ? '{}' : text) as { files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }> };
    for (const entry of listing.files ?? []) {
      const name = entry.path.split('/').pop() ?? '';
      checkName(name, dir);
      const relative = dir === '' ? name : `${dir}/${name}`;
      if (entry.is_dir) pending.push(relative);
      else files.push({ path: relative, size: Number(entry.file_size ?? 0) });
    }
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  return files;
}

/**
 * Downloads one file to `target` (a fresh path in the staging folder), counting bytes through
 * `onBytes`, and checks its length against the listing and the Content-Length header. The file
 * is flushed to disk before this resolves.
 */
export async function downloadFile(
  client: TrackingClient,
  location: ProxyLocation,
  file: RemoteFile,
  target: string,
  onBytes: (count: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await client.request(fileUrl(location, file.path), { signal });
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    throw new TrackingApiError(`Downloading ${file.path} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
  }
  const announced = response.headers.get('content-length');
  if (announced !== null && Number(announced) !== file.size) {
    await response.body.cancel().catch(() => undefined);
    throw new SizeMismatchError(file.path, file.size, Number(announced));
  }
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  let written = 0;
  const handle = await fs.promises.open(target, 'wx', 0o644);
  const reader = response.body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      await handle.write(value);
      written += value.byteLength;
      onBytes(value.byteLength);
    }
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    await handle.sync();
  } finally {
    signal?.removeEventListener('abort', cancel);
    await reader.cancel().catch(() => undefined);
    await handle.close();
  }
  if (written !== file.size) throw new SizeMismatchError(file.path, file.size, written);
}
