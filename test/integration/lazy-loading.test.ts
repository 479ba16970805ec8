import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runTroveCli, startTroveProcess, type TroveProcess } from '../support/trove-process.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri } from '../support/postgres.ts';

const RECORDER = fileURLToPath(new URL('../support/record-imports.mjs', import.meta.url));
/** Packages only some configurations or requests need (docs/memory.md has what each costs). */
const OPTIONAL = ['pg', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'mercurius', 'graphql', 'protobufjs', 'mime-types', 'prom-client'];
const WEB_INDEX = fileURLToPath(new URL('../../web/dist/index.html', import.meta.url));

function loadedPackages(file: string): Set<string> {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const names = new Set<string>();
  for (const match of text.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)) names.add(match[1]!);
  // The compiled server requires pg bundled into a file of its own (scripts/build.mjs, SIDE_BUNDLES).
  if (/\/dist\/pg\.cjs$/m.test(text)) names.add('pg');
  return names;
}

/**
 * A SQLite server with local artifacts loads none of the optional packages at startup; GraphQL,
 * OTLP and an S3 destination load theirs with the first request that needs them.
 */
describe('what the server loads, and when', () => {
  let dir: string;
  let server: TroveProcess;
  let record: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-lazy-'));
    record = path.join(dir, 'imports.txt');
    server = await startTroveProcess(
      ['--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', 's3://bucket/prefix'],
      {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${RECORDER}`,
        TROVE_RECORD_IMPORTS: record,
        // Nothing listens here: the S3 requests fail, which is all this test needs.
        MLFLOW_S3_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_MAX_ATTEMPTS: '1',
      },
    );
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts and answers REST calls without pg, the S3 SDK, GraphQL, protobufjs, mime-types or prom-client', async () => {
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const created = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lazy' }),
    });
    assert.equal(created.status, 200);
    const loaded = loadedPackages(record);
    // fastify, kysely, zod and pino are bundled into dist/ (scripts/build.mjs), so only the
    // native SQLite driver comes from node_modules.
    assert.ok(loaded.has('better-sqlite3'), [...loaded].join(', '));
    assert.deepEqual(OPTIONAL.filter((name) => loaded.has(name)), []);
  });

  it('starts and answers REST calls without the TLS, HTTP/2, DNS, readline, zlib, child process, cluster, crypto and perf_hooks built-ins, which fastify, commander, the webhooks, OTLP and the domain import at their top level', { skip: process.env.TROVE_RUNTIME === 'dist' ? false : 'the bundle defers them (TROVE_RUNTIME=dist); the TypeScript sources import them' }, () => {
    const builtins = new Set(fs.readFileSync(record, 'utf8').split('\n').filter((line) => line.startsWith('node:')));
    // Recorded at all: the bundle requires its other built-ins the same way.
    assert.ok(builtins.has('node:http'), [...builtins].join(', '));
    assert.deepEqual(
      ['node:https', 'node:http2', 'node:tls', 'node:dns', 'node:readline', 'node:zlib', 'node:child_process', 'node:cluster', 'node:crypto', 'node:perf_hooks'].filter((name) => builtins.has(name)),
      [],
    );
  });

  it("starts and answers REST calls without fastify's schema compilers (ajv, fast-json-stringify), which no Trove route needs", { skip: process.env.TROVE_RUNTIME === 'dist' ? false : 'the bundle defers them (TROVE_RUNTIME=dist); fastify from node_modules requires them when an instance is created' }, async () => {
    assert.equal((await fetch(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`)).status, 200);
    const loaded = loadedPackages(record);
    assert.ok(loaded.has('better-sqlite3'), [...loaded].join(', '));
    assert.deepEqual(['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'ajv', 'fast-uri'].filter((name) => loaded.has(name)), []);
  });

  it('loads mercurius and graphql with the first GraphQL request', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: { __typename: 'Query' }, errors: null });
    const loaded = loadedPackages(record);
    assert.ok(loaded.has('mercurius') && loaded.has('graphql'));
    assert.equal(loaded.has('protobufjs'), false);
  });

  it('loads prom-client with the first scrape of /metrics, which counts the requests served before it', async () => {
    assert.equal(loadedPackages(record).has('prom-client'), false);
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.match(body, /^trove_http_requests_total\{method="POST",route="\/api\/2\.0\/mlflow\/experiments\/create",status="200"\} 1$/m);
    assert.match(body, /^trove_process_cpu_user_seconds_total \d/m);
    assert.ok(loadedPackages(record).has('prom-client'));
  });

  it('loads protobufjs with the first OTLP request', async () => {
    const response = await fetch(`${server.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'x-mlflow-experiment-id': '0' },
      body: Buffer.from([0xff, 0xff]),
    });
    assert.equal(response.status, 400);
    assert.ok(loadedPackages(record).has('protobufjs'));
  });

  it('loads mime-types with the first file of the web UI it serves', { skip: fs.existsSync(WEB_INDEX) ? false : 'web/dist is not built (npm run build)' }, async () => {
    assert.equal(loadedPackages(record).has('mime-types'), false);
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 200);
    assert.match(String(response.headers.get('content-type')), /^text\/html/);
    assert.ok(loadedPackages(record).has('mime-types'));
  });

  it('loads the S3 SDK with the first artifact request to the s3:// destination', async () => {
    assert.equal(loadedPackages(record).has('@aws-sdk/client-s3'), false);
    const response = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts?path=0`);
    assert.equal(response.status, 503);
    assert.ok(loadedPackages(record).has('@aws-sdk/client-s3'));
    assert.equal(loadedPackages(record).has('pg'), false);
  });
});

describe('a PostgreSQL server', () => {
  const adminUri = testPostgresUri();

  it('loads pg (in the compiled server its own file, dist/pg.cjs) and answers REST calls', { skip: adminUri === undefined ? POSTGRES_SKIP_MESSAGE : false }, async () => {
    const database = await createTestDatabase(adminUri!, 'trove_lazy');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-lazy-pg-'));
    const record = path.join(dir, 'imports.txt');
    const server = await startTroveProcess(['--backend-store-uri', database.uri, '--artifacts-destination', `${dir}/artifacts`], {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${RECORDER}`,
      TROVE_RECORD_IMPORTS: record,
    });
    try {
      const created = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'lazy-pg' }),
      });
      assert.equal(created.status, 200, await created.text());
      const loaded = loadedPackages(record);
      assert.ok(loaded.has('pg'), [...loaded].join(', '));
      assert.equal(loaded.has('better-sqlite3'), false);
      if (process.env.TROVE_RUNTIME === 'dist') assert.match(fs.readFileSync(record, 'utf8'), /\/dist\/pg\.cjs$/m);
    } finally {
      await server.stop();
      await database.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The modules of the subcommands other than `trove server` (src/cli/main.ts loads them on demand). */
const OTHER_COMMANDS = ['models-pull.command.ts', 'admin.commands.ts', 'gc.command.ts', 'backup.command.ts', 'import/import.command.ts', 'export/export.command.ts'];

function loadedCommands(file: string): string[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return OTHER_COMMANDS.filter((name) => text.includes(`/src/cli/${name}`));
}

/**
 * `trove server` evaluates none of the other subcommands' modules; any other command line loads
 * them all. Seen on the TypeScript sources, where each module is a file the recorder sees (the
 * bundle holds them in one file, evaluated on the same dynamic import).
 */
describe('the other subcommands', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-lazy-cli-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('are not loaded by a server start, and are by `trove --help`, which lists every command in the same order', async () => {
    const serverRecord = path.join(dir, 'server.txt');
    const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${RECORDER}`, TROVE_RUNTIME: 'tsx' };
    const server = await startTroveProcess(['--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`], { ...env, TROVE_RECORD_IMPORTS: serverRecord });
    try {
      assert.equal((await fetch(`${server.url}/api/2.0/mlflow/experiments/search?max_results=1`)).status, 200);
      // Recorded at all: the server command's own module is there.
      assert.match(fs.readFileSync(serverRecord, 'utf8'), /\/src\/cli\/server\.command\.ts$/m);
      assert.deepEqual(loadedCommands(serverRecord), []);
    } finally {
      await server.stop();
    }
    const helpRecord = path.join(dir, 'help.txt');
    const help = await runTroveCli(['--help'], { ...env, TROVE_RECORD_IMPORTS: helpRecord });
    assert.equal(help.code, 0, help.stderr);
    assert.deepEqual(loadedCommands(helpRecord), OTHER_COMMANDS);
    const listed = [...help.stdout.split('Commands:')[1]!.matchAll(/^  ([a-z][\w-]*)/gm)].map((match) => match[1]);
    assert.deepEqual(listed, ['server', 'models', 'user', 'project', 'member', 'token', 'audit', 'gc', 'backup', 'restore', 'import', 'export', 'help'], help.stdout);
  });
});
