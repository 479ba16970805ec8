#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `trove` command. It runs the compiled server in dist/ (`npm run build`),
// with a V8 code cache and source-mapped stack traces (bin/bundle-loader.js). In a checkout it does so only while dist/
// was built from exactly the sources present (bin/source-stamp.js); otherwise it runs the
// TypeScript sources through tsx, never stale JavaScript (and says so on a terminal).
// TROVE_RUNTIME=dist refuses to fall back (CI tests the built server), TROVE_RUNTIME=tsx forces
// the sources.
//
// CommonJS (bin/package.json): an ES module entry point would make Node set up its ES module
// loader at every start (~1.8 MiB RSS, ~5 ms); the bundle is CommonJS too. Only the tsx fallback
// loads the ES module loader, with its dynamic import().
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

/** Whether a V8 flag was given to node, on its command line or in NODE_OPTIONS: such a flag wins. */
function givenToNode(flag) {
  return process.execArgv.some((arg) => arg.includes(flag)) || (process.env.NODE_OPTIONS ?? '').includes(flag);
}

// The optimizing compiler (TurboFan) held back until the server is in use. V8 optimizes a function
// once its interrupt budget is spent 3 times, or at the first time if it is small; with its default
// budget, a start and ten requests optimize ~14 functions (Node's module loader and path functions,
// the promise hooks of the request context), which brings ~3 MiB of the compiler's machine code
// and its threads' malloc arenas into RSS: idle 69 MiB against 64 without (docs/memory.md, "Idle:
// the optimizing compiler held back"). After 100 requests (src/cli/server.command.ts emits
// 'trove:in-use') V8's defaults return, so a server under load warms up as fast as before. Set
// first, before the modules below run; flags given on the command line win and are left alone.
if (!givenToNode('interrupt-budget') && !givenToNode('early-opt')) {
  v8.setFlagsFromString('--interrupt-budget=300000');
  v8.setFlagsFromString('--max-bytecode-size-for-early-opt=0');
  process.once('trove:in-use', () => {
    // V8 11.3's (Node 20's) defaults.
    v8.setFlagsFromString('--interrupt-budget=67584');
    v8.setFlagsFromString('--max-bytecode-size-for-early-opt=81');
  });
}
const { distIsCurrent } = require('./source-stamp.js');

// A young generation that stays at its initial 1 MiB semi-spaces while the server is idle or
// barely used, however `trove` is started (this flag, unlike --max-semi-space-size, is read
// whenever V8 would grow the space): idle RSS ~4 MiB lower, and the socket buffers of a large
// upload are collected by the frequent scavenges instead of piling up outside the heap.
// Once the server is in use ('trove:in-use', below) the space may grow as V8 would grow it
// (factor 2), but only up to a bound given on the command line, as the shebang, `npm start` and
// the benchmarks give --max-semi-space-size=2: scavenges of 1 MiB spaces cost a create-run ~20 %
// of its CPU. With 2 MiB spaces a 1 GiB upload after other work still grows RSS by < 1 MiB;
// with 3 or 4 MiB it grew 6-11 MiB on PostgreSQL, though uploads and create-runs were ~20 %
// faster: the bound trades those (docs/memory.md). Without a bound (`node
// bin/trove.js`), V8's default bound of 16 MiB brought +21-28 MiB per 1 GiB upload, so the space
// stays at 1 MiB. `node --semi-space-growth-factor=2 bin/trove.js server` lets it grow from the
// start (more throughput per CPU, more memory).
if (!givenToNode('semi-space-growth-factor')) {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  if (givenToNode('max-semi-space-size')) process.once('trove:in-use', () => v8.setFlagsFromString('--semi-space-growth-factor=2'));
}
// The old generation's next collection at 1.5x the live heap, not at up to 4x (V8's dynamic
// factor). With the small young generation above, a request that allocates a few MiB (a search
// page of 1,000 runs, a history page of 25,000 points, a trace batch) has its temporaries promoted
// to the old generation; V8 let that garbage pile up to ~4x the ~20 MiB live heap before
// collecting it: a bench round's peak RSS 226-260 MiB against 151-177 with this (docs/memory.md,
// "Idle and peak, where the megabytes go"). V8 reads it at every collection, so setting it here
// applies however `trove` is started. `node --heap-growing-percent=0 bin/trove.js server` restores
// V8's dynamic factor.
if (!givenToNode('heap-growing-percent')) {
  v8.setFlagsFromString('--heap-growing-percent=50');
}

const root = path.resolve(__dirname, '..');
const runtime = process.env.TROVE_RUNTIME ?? '';
const bundle = path.join(root, 'dist', 'main.cjs');
const hasBundle = fs.existsSync(bundle);

function whyNotDist() {
  if (!hasBundle) return 'dist/ is not built';
  // An installed package has dist/ and no sources: nothing to be stale against.
  if (distIsCurrent(root) === false) return 'dist/ is older than the sources';
  return undefined;
}

const reason = runtime === 'tsx' ? 'TROVE_RUNTIME=tsx' : whyNotDist();
if (reason === undefined) {
  const { runBundle } = require('./bundle-loader.js');
  // `trove server` emits 'trove:listening' (src/cli/server.command.ts): the code cache is written then.
  runBundle(bundle, { writeCacheOn: 'trove:listening' });
} else if (runtime === 'dist') {
  process.stderr.write(`error: TROVE_RUNTIME=dist but ${reason}; run \`npm run build\`.\n`);
  process.exit(1);
} else {
  if (runtime !== 'tsx' && process.stderr.isTTY) process.stderr.write(`trove: ${reason}, running the TypeScript sources (\`npm run build\` compiles them)\n`);
  (async () => {
    const { register } = await import('tsx/esm/api');
    register();
    await import('../src/cli/main.ts');
  })().catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
