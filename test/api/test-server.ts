import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createServer, type RunningServices, type ServerConfig } from '../../src/server.ts';
import { createTestDatabase, testPostgresUri, POSTGRES_URI_ENV } from '../support/postgres.ts';

/**
 * A Trove composed exactly as `trove server` does, on a temp SQLite file and artifact folder.
 * With `TROVE_TEST_DATABASE=postgres` each test server gets a fresh database in the cluster named
 * by `TROVE_TEST_POSTGRES_URI` instead (scripts/test.sh runs the API tests once more that way).
 */
export interface TestServer {
  server: RunningServices;
  dataDir: string;
  /** The database the server runs on (a second connection can be opened to it). */
  backendStoreUri: string;
  /** POST/PATCH/DELETE a JSON body, or GET with query fields; returns status and parsed JSON. */
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, fields?: Record<string, unknown>): Promise<ApiResponse>;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
}

/** The webhook URL policy of test servers: http and private addresses allowed. */
export const LOCAL_RECEIVERS = { allowedSchemes: ['http', 'https'], allowPrivateIps: true } as const;

/** `config` overrides parts of the composition (e.g. shorter webhook timings). */
export async function startTestServer(config: Partial<ServerConfig> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-api-'));
  let backendStoreUri = `sqlite:///${path.join(dataDir, 'trove.db')}`;
  let dropDatabase = async (): Promise<void> => undefined;
  if (process.env.TROVE_TEST_DATABASE === 'postgres') {
    const adminUri = testPostgresUri();
    if (adminUri === undefined) throw new Error(`TROVE_TEST_DATABASE=postgres needs ${POSTGRES_URI_ENV}`);
    const database = await createTestDatabase(adminUri, 'trove_api');
    backendStoreUri = database.uri;
    dropDatabase = database.drop;
  }
  const server = await createServer({
    backendStoreUri,
    artifactsDestination: path.join(dataDir, 'artifacts'),
    defaultArtifactRoot: 'mlflow-artifacts:/',
    dataDir,
    ...config,
    // Webhook tests deliver to receivers on 127.0.0.1 over plain http, which MLflow's defaults
    // (https only, no private addresses) refuse; tests of those defaults pass their own policy.
    webhooks: { ...config.webhooks, urlPolicy: { ...LOCAL_RECEIVERS, ...config.webhooks?.urlPolicy } },
  });
  const inject = (options: InjectOptions) => server.app.inject(options);
  return {
    server,
    dataDir,
    backendStoreUri: config.backendStoreUri ?? backendStoreUri,
    inject,
    async call(method, url, fields = {}) {
      const fullUrl = url.startsWith('/') ? url : `/api/2.0/mlflow/${url}`;
      const response =
        method === 'GET'
          ? await inject({ method, url: fullUrl, query: toQuery(fields) })
          : await inject({ method, url: fullUrl, payload: fields, headers: { 'content-type': 'application/json' } });
      const text = response.body;
      let body: Record<string, unknown> = {};
      if (text) {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { raw: text };
        }
      }
      return { status: response.statusCode, body };
    },
    async close() {
      await server.close();
      await dropDatabase();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function toQuery(fields: Record<string, unknown>): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    query[key] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return query;
}
