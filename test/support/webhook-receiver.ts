import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface ReceiverAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (the sender's timeout has to cut it off). */
  hang?: boolean;
  /** Answer after this many ms. */
  delayMs?: number;
}

/**
 * A real HTTP receiver for webhook tests, on 127.0.0.1. It records every request, answers what
 * `answer` says (200 by default), can be stopped (the port then refuses connections, as a
 * receiver that is down) and started again on the same port.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  answer: (request: ReceivedRequest, index: number) => ReceiverAnswer = () => ({ status: 200, body: 'ok' });
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();

  private constructor(readonly port: number) {}

  /** A receiver on a free port; with `listening: false` the port is reserved but refuses connections. */
  static async create(options: { listening?: boolean } = {}): Promise<WebhookReceiver> {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const receiver = new WebhookReceiver(port);
    if (options.listening ?? true) await receiver.start();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const received: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        const index = this.requests.length;
        this.requests.push(received);
        const answer = this.answer(received, index);
        for (const wake of [...this.waiters]) wake();
        if (answer.hang) return;
        const send = (): void => {
          res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
          res.end(answer.body ?? '');
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Goes down: open connections are cut, new ones refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Resolves once `count` requests have arrived (optionally only those matching `filter`).
   * `timeoutMs` is a safety net against a hanging test, not a timing assertion.
   */
  async waitFor(count: number, options: { filter?: (request: ReceivedRequest) => boolean; timeoutMs?: number } = {}): Promise<ReceivedRequest[]> {
    const matching = (): ReceivedRequest[] => this.requests.filter(options.filter ?? (() => true));
    if (matching().length >= count) return matching();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`expected ${count} webhook requests, got ${matching().length}`));
      }, options.timeoutMs ?? 20_000);
      const check = (): void => {
        if (matching().length >= count) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(matching());
        }
      };
      this.waiters.add(check);
    });
  }
}

/** Polls `probe` until it returns a value other than undefined (safety-net timeout only). */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}
