import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxyOptions {
  /** Answer the registry event stream with 404, as a server without it (upstream MLflow). */
  noEventStream?: boolean;
  /** Add this to every file_size of artifact listings (a server that lies about sizes). */
  listedSizeDelta?: number;
}

/**
 * A forwarding HTTP proxy in front of a test server: records the Authorization header of every
 * request, can hide the event stream, cut open streams, or misreport artifact sizes.
 */
export class TestProxy {
  readonly authorizations: Array<{ url: string; authorization: string | undefined }> = [];
  readonly options: ProxyOptions;
  private readonly streams = new Set<http.ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    options: ProxyOptions,
  ) {
    this.options = options;
  }

  static async start(target: string, options: ProxyOptions = {}): Promise<TestProxy> {
    const targetUrl = new URL(target);
    let proxy: TestProxy | undefined;
    const server = http.createServer((req, res) => {
      const self = proxy!;
      self.authorizations.push({ url: req.url ?? '', authorization: req.headers.authorization });
      if (self.options.noEventStream && (req.url ?? '').includes('/trove/registry/events')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error_code: 'ENDPOINT_NOT_FOUND', message: 'no such endpoint' }));
        return;
      }
      const upstream = http.request(
        { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host } },
        (answer) => {
          const isListing = /\/mlflow-artifacts\/artifacts\?/.test(req.url ?? '') && self.options.listedSizeDelta;
          if (isListing) {
            const chunks: Buffer[] = [];
            answer.on('data', (c: Buffer) => chunks.push(c));
            answer.on('end', () => {
              const listing = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { files?: Array<{ is_dir: boolean; file_size?: number }> };
              for (const file of listing.files ?? []) if (!file.is_dir) file.file_size = (file.file_size ?? 0) + self.options.listedSizeDelta!;
              const body = JSON.stringify(listing);
              res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
              res.end(body);
            });
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if ((answer.headers['content-type'] ?? '').startsWith('text/event-stream')) {
            self.streams.add(res);
            res.on('close', () => self.streams.delete(res));
          }
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.on('connection', (socket) => {
      proxy?.sockets.add(socket);
      socket.on('close', () => proxy?.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TestProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return proxy;
  }

  /** Open event streams going through the proxy. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Cuts every open event stream (the client sees the connection drop). */
  cutStreams(): void {
    for (const res of this.streams) res.destroy();
    this.streams.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
