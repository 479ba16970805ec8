// Runs the server bundle (dist/main.cjs, built by scripts/build.mjs as one function expression)
// with a V8 code cache: the first `trove server` start writes the compiled code of the bundle
// (top level and every function compiled by the time it listens) next to it, and later starts
// deserialize it instead of parsing and compiling ~2.6 MB of JavaScript again (docs/memory.md).
//
// The cache file's name carries a key over everything that decides whether the code is valid: the
// bundle's build id and file size and time, Node's version and architecture, and the V8 flags
// (execArgv, NODE_OPTIONS). A cache V8 still refuses is ignored and rewritten; a cache that cannot
// be read or written (a read-only install) is skipped without a word. NODE_DEBUG=trove says which.
//
// Stack traces: Node 20 applies source maps only to modules it loads itself, so frames in the
// bundle are mapped here, through dist/main.cjs.map, read the first time a stack is formatted.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const { SourceMap, createRequire } = Module;
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const { debuglog } = require('node:util');
const vm = require('node:vm');

const debug = debuglog('trove');

/** FNV-1a, 32 bits, as hex: enough to name a cache file; V8 checks the data itself too. */
function shortHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** The code cache file for this bundle under this Node and these flags. */
function codeCacheFile(bundle) {
  const stat = fs.statSync(bundle);
  let buildId = '';
  try {
    buildId = JSON.parse(fs.readFileSync(path.join(path.dirname(bundle), 'build-stamp.json'), 'utf8')).bundle ?? '';
  } catch {
    // Unstamped: the size and time still tell builds apart.
  }
  const key = [buildId, stat.size, stat.mtimeMs, process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''].join('\n');
  return path.join(path.dirname(bundle), `${path.basename(bundle)}.${shortHash(key)}.code-cache`);
}

/** Writes the cache; says whether it could. */
function writeCodeCache(script, file) {
  try {
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, script.createCachedData());
    fs.renameSync(temp, file);
    // Older caches of the same bundle (other flags, other Node) are left alone: each is keyed.
    debug('code cache written to %s', file);
    return true;
  } catch (error) {
    debug('code cache not written: %s', error.message);
    return false;
  }
}

/** Frames in `bundle` named by their TypeScript file and line (the source map is read once, when first needed). */
function installStackMapping(bundle) {
  let map;
  const sourceMap = () => {
    if (map === undefined) {
      try {
        const mapFile = `${bundle}.map`;
        const payload = JSON.parse(fs.readFileSync(mapFile, 'utf8'));
        map = { sourceMap: new SourceMap(payload), dir: path.dirname(mapFile) };
      } catch {
        map = null;
      }
    }
    return map;
  };
  const mapFrame = (frame) => {
    if (frame.getFileName() !== bundle) return `    at ${frame}`;
    const found = sourceMap();
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    const entry = found && line !== null && column !== null ? found.sourceMap.findEntry(line - 1, column - 1) : undefined;
    if (!entry || entry.originalSource === undefined) return `    at ${frame}`;
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : path.resolve(found.dir, entry.originalSource);
    // V8's own wording of the frame, with the bundle's position replaced by the source's.
    return `    at ${String(frame).replace(`${bundle}:${line}:${column}`, `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`)}`;
  };
  Error.prepareStackTrace = (error, frames) => {
    let header;
    try {
      header = Error.prototype.toString.call(error);
    } catch {
      header = '<error>';
    }
    return frames.length === 0 ? header : `${header}\n${frames.map(mapFrame).join('\n')}`;
  };
}

/**
 * Evaluates the bundle as a CommonJS module, with the code cache when there is a valid one; for
 * `trove server`, writes one once the server listens if there was none.
 */
function runBundle(bundle, { writeCacheOn } = {}) {
  installStackMapping(bundle);
  let cacheFile;
  let cachedData;
  try {
    cacheFile = codeCacheFile(bundle);
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // esbuild writes the bundle as ASCII (non-ASCII characters escaped), so latin1 reads it exactly
  // and ~8 ms faster than UTF-8 decoding; a string that large becomes an external string, kept
  // outside the V8 heap.
  const script = new vm.Script(fs.readFileSync(bundle, 'latin1'), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const cacheUsed = cachedData !== undefined && script.cachedDataRejected === false;
  debug(cachedData === undefined ? 'no code cache' : cacheUsed ? 'code cache accepted' : 'code cache rejected');
  cachedData = undefined;
  const moduleObject = new Module(bundle);
  moduleObject.filename = bundle;
  moduleObject.paths = Module._nodeModulePaths(path.dirname(bundle));
  const run = script.runInThisContext();
  // TROVE_CODE_CACHE_WARMUP=1: write the cache (where there is no valid one yet), then stop the
  // server (SIGTERM, its usual shutdown). An install whose dist/ its users cannot write, such as
  // the Docker image, runs `trove server` so once at build time (Dockerfile); exit status 1 when
  // the cache could not be written.
  const warmup = process.env.TROVE_CODE_CACHE_WARMUP === '1' && writeCacheOn !== undefined;
  if (warmup) {
    process.once(writeCacheOn, () =>
      setTimeout(() => {
        if (!cacheUsed && (cacheFile === undefined || !writeCodeCache(script, cacheFile))) {
          process.stderr.write(`trove: TROVE_CODE_CACHE_WARMUP: the code cache could not be written next to ${bundle}\n`);
          process.exit(1);
        }
        process.kill(process.pid, 'SIGTERM');
      }, 200),
    );
  } else if (!cacheUsed && cacheFile !== undefined && writeCacheOn !== undefined) {
    // After the server listens the functions of its start are compiled, so they go into the cache.
    process.once(writeCacheOn, () => setTimeout(() => writeCodeCache(script, cacheFile), 200).unref());
  }
  try {
    run.call(moduleObject.exports, moduleObject.exports, createRequire(bundle), moduleObject, bundle, path.dirname(bundle));
  } catch (error) {
    // Left uncaught, Node would print the bundle's (minified, very long) line above the stack.
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  }
}

module.exports = { codeCacheFile, runBundle };
