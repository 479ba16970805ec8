import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a stand-in received, body read whole. */
export interface SeenRequest {
  method: string;
  /** The URL path without its query. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface StandIn {
  url: string;
  close(): Promise<void>;
}

/**
 * A recording HTTP stand-in for an MLflow server (tests of `trove export --to` use it where the
 * real server is the judge in compat/): every request is pushed to `seen`, and `answer` gives
 * its status and JSON body — or `'reset'`, which destroys the connection once the request is read
 * (as a server whose connection breaks after taking the request: the client gets a reset).
 */
export function startMlflowStandIn(seen: SeenRequest[], answer: (req: SeenRequest) => [status: number, body: unknown] | 'reset'): Promise<StandIn> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request: SeenRequest = { method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, headers: req.headers, body };
      seen.push(request);
      const answered = answer(request);
      if (answered === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      const [status, value] = answered;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((done) => server.close(() => done())) }),
    ),
  );
}
