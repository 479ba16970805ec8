// `npm run build`: the server bundle in dist/ and the web UI in web/dist/.
//
//   node scripts/build.mjs               # both
//   node scripts/build.mjs --if-stale    # only what changed since the last build (npm start, npm test)
//   node scripts/build.mjs --server      # only the server (or --web)
//
// The server is bundled by esbuild from src/cli/main.ts into one file for Node 20, together with
// the npm packages every start loads (fastify, kysely, zod, pino, commander): fewer
// and smaller modules to parse and keep in memory (docs/memory.md). Native packages
// (better-sqlite3) and the optional heavy ones stay external in node_modules. The bundle is
// minified (whitespace and syntax only: identifiers keep their names, which libraries such as
// Kysely read through `constructor.name`). What a configuration does not use (the S3 SDK, the
// PostgreSQL driver, GraphQL, OTLP decoding) is never loaded. Source maps let stack traces name
// .ts lines (bin/bundle-loader.js maps them). The fingerprint of the sources goes to
// dist/build-stamp.json; bin/trove.js runs dist/ only while it matches.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStampFor, readBuildStamp, writeBuildStamp } from '../bin/source-stamp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const ifStale = args.has('--if-stale');
const onlyServer = args.has('--server');
const onlyWeb = args.has('--web');

function log(message) {
  process.stderr.write(`[build] ${message}\n`);
}

/**
 * Node built-ins that a SQLite server with local artifacts never uses, but that bundled code
 * imports at its top level (fastify's server.js: https, http2, dns for TLS and HTTP/2 servers;
 * webhooks: https, dns; OTLP: zlib; `trove import`: readline). Loading them costs ~15 ms of every
 * start and ~2 MiB (docs/memory.md), so in the bundle each is an object that requires the real
 * module on the first property read (`https.request(...)`, `dns.lookup(...)`). commander requires
 * child_process for executable subcommands (Trove has none) and `trove server --workers` cluster:
 * ~0.6 MiB and 2-3 ms more for every start that uses neither. crypto (1.1 MiB: its module and a
 * dozen internal ones) is imported by name (`import { randomUUID } from 'node:crypto'`) across the
 * domain and store for ids, hashes and secrets, none of which a start needs: its named imports are
 * functions that require the module on their first call.
 */
const LAZY_BUILTINS = ['https', 'http2', 'dns', 'zlib', 'readline', 'child_process', 'cluster', 'crypto'];
const requireBuiltin = createRequire(import.meta.url);

/**
 * The ES module a lazy built-in is imported as: its default export the lazy object, and each of
 * the built-in's functions a named export that calls (or constructs) the real one. Anything else
 * it exports (constants, objects) is not a named export, so importing it by name fails the build
 * instead of loading the module at start. A class imported this way is a stand-in: `new` works,
 * `instanceof` against it does not (Trove imports crypto's classes as types only).
 */
function lazyEsmModule(name, lazyObject) {
  const functions = Object.entries(requireBuiltin(`node:${name}`)).filter(([key, value]) => typeof value === 'function' && /^[A-Za-z_$][\w$]*$/.test(key));
  const lines = [`const lazy = ${lazyObject};`, 'export default lazy;'];
  for (const [key] of functions) {
    lines.push(`export function ${key}(...args) { return new.target ? Reflect.construct(lazy.${key}, args, new.target) : lazy.${key}.apply(this, args); }`);
  }
  return lines.join('\n');
}

/**
 * Source edits to bundled packages, each checked: if a package update changes the text, the build
 * fails instead of silently keeping the slower code. `whole`: the file becomes `to` alone.
 */
const PACKAGE_PATCHES = [
  {
    // find-my-way compiles one `new Function` per static route segment to compare its characters:
    // ~300 compilations (~13 ms) at every start, none of them in the code cache, each kept in
    // memory with its own script. startsWith gives the same answer (the first character is
    // already matched by the caller; a path that ends early fails both).
    file: /find-my-way[\\/]lib[\\/]node\.js$/,
    from: [
      '  const lines = []',
      '  for (let i = 1; i < prefix.length; i++) {',
      '    const charCode = prefix.charCodeAt(i)',
      '    lines.push(`path.charCodeAt(i + ${i}) === ${charCode}`)',
      '  }',
      "  return new Function('path', 'i', `'use strict'\\nreturn ${lines.join(' && ')}`) // eslint-disable-line",
    ].join('\n'),
    to: '  return function matchPrefix (path, i) { return path.startsWith(prefix, i) }',
  },
  {
    // find-my-way compiles two more `new Function`s for every route it adds (and for the HEAD
    // route Fastify adds beside each GET): one that copies the path parameters into an object, one
    // that picks a handler by constraints. ~600 scripts compiled at every start, outside the code
    // cache. The closures below compute the same: parameters assigned in order by position (the
    // first four as arguments, the rest from `extraParams`), and the same bitmask walk over the
    // constraint stores, `mustMatchWhenDerived` strategies the node has no handler for refusing a
    // derived value.
    file: /find-my-way[\\/]lib[\\/]handler-storage\.js$/,
    from: [
      "    fnBody.push('const fn = function _createParamsObject (param0, param1, param2, param3, extraParams) {')",
      '',
      "    fnBody.push('const params = new NullObject()')",
      '    for (let i = 0; i < params.length; i++) {',
      '      const value = i < 4 ? `param${i}` : `extraParams[${i - 4}]`',
      '      fnBody.push(`params[${JSON.stringify(params[i])}] = ${value}`)',
      '    }',
      "    fnBody.push('return params')",
      "    fnBody.push('}')",
      '',
      "    fnBody.push('return fn')",
      '',
      "    return new Function('NullObject', fnBody.join('\\n'))(NullObject)  // eslint-disable-line",
    ].join('\n'),
    to: [
      '    const names = params.slice()',
      '    return function _createParamsObject (param0, param1, param2, param3, extraParams) {',
      '      const result = new NullObject()',
      '      for (let i = 0; i < names.length; i++) result[names[i]] = i === 0 ? param0 : i === 1 ? param1 : i === 2 ? param2 : i === 3 ? param3 : extraParams[i - 4]',
      '      return result',
      '    }',
    ].join('\n'),
    also: [
      {
        from: [
          "    const lines = [\"'use strict'\"]",
          '    lines.push(`',
          '    let candidates = ${(1 << this.handlers.length) - 1}',
        ].join('\n'),
        to: [
          '    const all = (1 << this.handlers.length) - 1',
          '    const checks = this.constraints.map((constraint) => ({ constraint, mask: this._constrainedIndexBitmask(constraint), mustMatch: Boolean(constrainer.strategies[constraint].mustMatchWhenDerived) }))',
          '    const refused = []',
          '    for (const constraint in constrainer.strategies) {',
          '      if (Object.hasOwn(constrainer.strategies, constraint) && constrainer.strategies[constraint].mustMatchWhenDerived && !this.constraints.includes(constraint)) refused.push(constraint)',
          '    }',
          '    this._getHandlerMatchingConstraints = function (derivedConstraints) {',
          '      let candidates = all',
          '      for (const check of checks) {',
          '        const value = derivedConstraints[check.constraint]',
          '        if (value === undefined) {',
          '          candidates &= check.mask',
          '        } else {',
          '          const matches = this.constrainedHandlerStores[check.constraint].get(value) || 0',
          '          candidates &= check.mustMatch ? matches : (matches | check.mask)',
          '        }',
          '        if (candidates === 0) return null',
          '      }',
          '      for (const constraint of refused) if (derivedConstraints[constraint] !== undefined) return null',
          '      return this.handlers[31 - Math.clz32(candidates)]',
          '    }',
          '    if (this.handlers) return',
          '    const lines = [\"\'use strict\'\"]',
          '    lines.push(`',
          '    let candidates = ${(1 << this.handlers.length) - 1}',
        ].join('\n'),
      },
    ],
  },
  {
    // zod's `locales` namespace re-exports the error messages of ~60 languages (~250 kB of the
    // bundle's source, kept in memory whole); Trove uses only English, which zod configures
    // itself. `z.locales` then holds `en` alone.
    file: /zod[\\/]v4[\\/]locales[\\/]index\.js$/,
    from: 'export { default as en } from "./en.js";',
    to: 'export { default as en } from "./en.js";',
    whole: true,
  },
  {
    // fastify's schema controller requires its two schema compilers when an instance is created:
    // @fastify/ajv-compiler (ajv, fast-uri) and @fastify/fast-json-stringify-compiler, ~350 kB of
    // source whose module setup every start ran, though Trove's routes declare no Fastify schema
    // (requests are parsed with zod in the handlers). Each is now required from node_modules by the
    // first route that has a schema to compile (EXTERNAL_PACKAGES); the selector is made once, as
    // before, so its pool of compilers is the same. The `isCustom...Compiler` flags still read the
    // options, so fastify treats them as its own compilers.
    file: /fastify[\\/]lib[\\/]schema-controller\.js$/,
    from: [
      '  if (!compilersFactory.buildValidator) {',
      "    const ValidatorSelector = require('@fastify/ajv-compiler')",
      '    compilersFactory.buildValidator = ValidatorSelector()',
      '  }',
      '  if (!compilersFactory.buildSerializer) {',
      "    const SerializerSelector = require('@fastify/fast-json-stringify-compiler')",
      '    compilersFactory.buildSerializer = SerializerSelector()',
      '  }',
    ].join('\n'),
    to: [
      '  if (!compilersFactory.buildValidator) {',
      '    let selector',
      "    compilersFactory.buildValidator = function (...args) { selector ??= require('@fastify/ajv-compiler')(); return selector.apply(this, args) }",
      '  }',
      '  if (!compilersFactory.buildSerializer) {',
      '    let selector',
      "    compilersFactory.buildSerializer = function (...args) { selector ??= require('@fastify/fast-json-stringify-compiler')(); return selector.apply(this, args) }",
      '  }',
    ].join('\n'),
  },
  {
    // fastify's plugin utilities require semver at their top level (~45 kB of source and its
    // module setup: a few hundred regular expressions built at every start) for one check: a plugin
    // that declares the fastify versions it supports. Trove's plugins declare none; semver is
    // required by the first plugin that does.
    file: /fastify[\\/]lib[\\/]plugin-utils\.js$/,
    from: "const semver = require('semver')\n",
    to: '',
    also: [
      {
        from: '  const requiredVersion = meta.fastify\n',
        to: "  const requiredVersion = meta.fastify\n  const semver = require('semver')\n",
      },
    ],
  },
  {
    // fastify's response timer reads performance.now(), which loads perf_hooks and its eight
    // internal modules (~0.3 MiB RSS) for a difference of two readings; process.hrtime() is the
    // same monotonic clock without them.
    file: /fastify[\\/]lib[\\/]logger-factory\.js$/,
    from: "const { performance } = require('node:perf_hooks')\n",
    to: '',
    also: [{ from: '  return performance.now()\n', to: '  const [seconds, nanoseconds] = process.hrtime()\n  return seconds * 1e3 + nanoseconds / 1e6\n' }],
  },
];

/**
 * Packages a configuration loads on first use, each bundled into a file of its own in dist/
 * (`require('./<file>')` from the main bundle): one file instead of dozens from node_modules, and
 * none of their text in the main bundle. pg (PostgreSQL URIs only): ~30 files, 30-33 ms of CPU to
 * require from node_modules, 12 ms as one file. `external`: what the package requires only on
 * paths Node never takes (pg's native binding, Cloudflare Workers).
 */
const SIDE_BUNDLES = [{ name: 'pg', entry: 'node_modules/pg/lib/index.js', file: 'pg.cjs', external: ['pg-native', 'pg-cloudflare'] }];

/** esbuild plugin: LAZY_BUILTINS as lazily loading objects, PACKAGE_PATCHES applied, SIDE_BUNDLES required from dist/. */
const startupPlugin = {
  name: 'trove-startup',
  setup(build) {
    for (const side of SIDE_BUNDLES) {
      build.onResolve({ filter: new RegExp(`^${side.name}$`) }, () => ({ path: `./${side.file}`, external: true }));
    }
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    build.onResolve({ filter }, (args) => args.namespace.startsWith('lazy-builtin') ? { path: args.path, external: true } : ({
      path: args.path.replace(/^node:/, ''),
      // `import x from` gets an ES module whose default export is the lazy object; `require()` the
      // lazy object itself (esbuild would otherwise hand CommonJS code an ES namespace).
      namespace: args.kind === 'require-call' ? 'lazy-builtin-cjs' : 'lazy-builtin-esm',
    }));
    const lazy = (name) =>
      `(() => { let loaded; const real = () => (loaded ??= require('node:${name}')); ` +
      // Writes go to the module too: methods called on the lazy object (cluster.on(...)) store
      // their state on `this`, and a write left on the proxy's empty target would break reads.
      `return new Proxy({}, { get: (_, key) => real()[key], set: (_, key, value) => Reflect.set(real(), key, value), ` +
      `deleteProperty: (_, key) => Reflect.deleteProperty(real(), key), has: (_, key) => key in real(), ` +
      `ownKeys: () => Reflect.ownKeys(real()), getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(real(), key); return d && { ...d, configurable: true }; } }); })()`;
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin-cjs' }, (args) => ({ contents: `module.exports = ${lazy(args.path)};`, loader: 'js' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin-esm' }, (args) => ({ contents: lazyEsmModule(args.path, lazy(args.path)), loader: 'js' }));
    for (const patch of PACKAGE_PATCHES) {
      // esbuild uses the first onLoad that answers for a file: a second patch of the same file
      // would be skipped without a word.
      if (PACKAGE_PATCHES.filter((other) => String(other.file) === String(patch.file)).length > 1) throw new Error(`two PACKAGE_PATCHES for ${patch.file}: merge them (\`also\`)`);
      build.onLoad({ filter: patch.file }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        if (!text.includes(patch.from)) throw new Error(`${args.path} changed: scripts/build.mjs cannot apply its patch (${patch.to.slice(0, 40)}...)`);
        let contents = patch.whole ? patch.to : text.replace(patch.from, patch.to);
        for (const more of patch.also ?? []) {
          if (!contents.includes(more.from)) throw new Error(`${args.path} changed: scripts/build.mjs cannot apply its patch (${more.to.slice(0, 40)}...)`);
          contents = contents.replace(more.from, more.to);
        }
        return { contents, loader: 'js' };
      });
    }
  },
};

/** Packages left to node_modules: native (better-sqlite3), and the ones loaded only on first use. */
const EXTERNAL_PACKAGES = ['better-sqlite3', '@aws-sdk/*', 'mercurius', 'graphql', 'protobufjs', 'prom-client', 'mime-types', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'];

async function buildServer() {
  // Taken before bundling: a source changed during the build makes dist/ stale, not current.
  const stamp = buildStampFor(ROOT);
  if (stamp.sources === undefined) throw new Error('src/ is missing: nothing to build the server from');
  const built = readBuildStamp(ROOT);
  if (ifStale && built?.sources === stamp.sources && fs.existsSync(path.join(ROOT, 'dist', 'main.cjs'))) {
    // Current: only the recorded file times may need refreshing.
    if (built.listing !== stamp.listing || built.directories !== stamp.directories) writeBuildStamp(ROOT, { ...built, listing: stamp.listing, directories: stamp.directories });
    return;
  }
  const t0 = Date.now();
  const { build } = await import('esbuild');
  const outdir = path.join(ROOT, 'dist');
  fs.rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    // One CommonJS file, wrapped in a function expression that bin/bundle-loader.js evaluates with
    // a V8 code cache (Node 20 has no compile cache for modules it loads itself). What a
    // configuration does not use (the S3 SDK, the PostgreSQL driver, GraphQL, OTLP decoding) is
    // still loaded only on first use: esbuild keeps each dynamic import() a lazy initialiser, and
    // the external packages are required then.
    format: 'cjs',
    supported: { 'dynamic-import': false },
    platform: 'node',
    target: 'node20',
    // The packages every start loads (fastify, kysely, zod, pino, commander, ...) are bundled:
    // one module instead of hundreds, tree-shaken, so less source text is parsed and kept.
    // Native modules and the optional heavy ones stay external (loaded on first use).
    external: EXTERNAL_PACKAGES,
    plugins: [startupPlugin],
    define: { 'import.meta.url': '__troveBundleUrl' },
    banner: { js: "(function (exports, require, module, __filename, __dirname) {var __troveBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    footer: { js: '})' },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    // ASCII (the default, stated because bin/bundle-loader.js reads the bundle as latin1).
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
  for (const side of SIDE_BUNDLES) {
    await build({
      absWorkingDir: ROOT,
      entryPoints: [side.entry],
      outfile: path.join(outdir, side.file),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: side.external,
      legalComments: 'none',
      minifyWhitespace: true,
      minifySyntax: true,
      logLevel: 'warning',
    });
  }
  // The bundle's own id, part of its code cache's key (bin/bundle-loader.js).
  stamp.bundle = createHash('sha256').update(fs.readFileSync(path.join(outdir, 'main.cjs'))).digest('hex').slice(0, 16);
  writeBuildStamp(ROOT, stamp);
  log(`server bundle in dist/ (${Date.now() - t0} ms)`);
}

/** The web UI's inputs: its sources, page, public files, configuration and the lock file. */
function webStamp() {
  const hash = createHash('sha256');
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !/\.test\.tsx?$/.test(entry.name)) files.push(full);
    }
  };
  for (const dir of ['web/src', 'web/public']) if (fs.existsSync(path.join(ROOT, dir))) walk(path.join(ROOT, dir));
  for (const file of ['web/index.html', 'web/vite.config.ts', 'web/tsconfig.json', 'package-lock.json']) {
    if (fs.existsSync(path.join(ROOT, file))) files.push(path.join(ROOT, file));
  }
  files.sort();
  for (const file of files) hash.update(`${path.relative(ROOT, file)}\0`).update(fs.readFileSync(file)).update('\0');
  return hash.digest('hex');
}

function buildWeb() {
  if (!fs.existsSync(path.join(ROOT, 'web', 'src'))) throw new Error('web/src is missing: nothing to build the web UI from');
  const stamp = webStamp();
  const stampFile = path.join(ROOT, 'web', 'dist', '.build-stamp');
  if (ifStale && fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html')) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === stamp) return;
  const t0 = Date.now();
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
  fs.writeFileSync(stampFile, `${stamp}\n`);
  log(`web UI in web/dist/ (${Date.now() - t0} ms)`);
}

try {
  if (!onlyWeb) await buildServer();
  if (!onlyServer) buildWeb();
} catch (error) {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
