// Is dist/ built from the sources present? `npm run build` records in dist/build-stamp.json the
// SHA-256 over the path and content of every file the bundle is built from, and beside it the
// path, size and modification time of each. bin/trove.js runs dist/ only while the sources still
// have that fingerprint, so a changed checkout never runs stale JavaScript. Hashing ~250 files
// cost ~15-25 ms of CPU per start, so a start first compares sizes and times only (stat calls,
// ~5-8 ms);
// only when any differs (an edit, a checkout, a touch) does it hash the contents, and a match
// there (same contents, new times) refreshes the recorded times for the next start. The files are
// stat'ed from the recorded list, with the directories' times standing for files added or
// removed, so a start lists no directory (readdir and sorting were most of the ~10 ms).
// Plain JavaScript, so it works before anything is built.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Beside src/, the files whose change changes the bundle. */
const EXTRA_INPUTS = ['package.json', 'scripts/build.mjs'];

function filesUnder(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(full, out);
    else if (entry.isFile() && !entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** The bundle's input files under `root`, sorted, or undefined where there is no src/. */
function inputFiles(root) {
  const src = path.join(root, 'src');
  if (!fs.existsSync(src)) return undefined;
  const files = filesUnder(src, []).concat(EXTRA_INPUTS.map((name) => path.join(root, name)).filter((file) => fs.existsSync(file)));
  return files.sort();
}

const relative = (root, file) => path.relative(root, file).split(path.sep).join('/');

/**
 * The fingerprint of `root`'s server sources (SHA-256 of paths and contents), or undefined where
 * there are none (an installed package ships dist/ without src/).
 */
function sourceStamp(root) {
  const files = inputFiles(root);
  if (files === undefined) return undefined;
  // Loaded here, not at the top: most starts never hash.
  const { createHash } = require('node:crypto');
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(relative(root, file));
    hash.update('\0');
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Path, size and modification time of every input file, one string (cheap: stat calls only). */
function sourceListing(root) {
  const files = inputFiles(root);
  if (files === undefined) return undefined;
  return files
    .map((file) => {
      const stat = fs.statSync(file);
      return `${relative(root, file)}\t${stat.size}\t${stat.mtimeMs}`;
    })
    .join('\n');
}

/** Path and modification time of src/ and every directory under it (a file added or removed changes its directory's time). */
function directoryListing(root) {
  const src = path.join(root, 'src');
  if (!fs.existsSync(src)) return undefined;
  const dirs = [];
  const walk = (dir) => {
    dirs.push(dir);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(path.join(dir, entry.name));
  };
  walk(src);
  return dirs
    .sort()
    .map((dir) => `${relative(root, dir)}\t${fs.statSync(dir).mtimeMs}`)
    .join('\n');
}

/**
 * Whether every file and directory recorded at build time still has its recorded size and time,
 * read from the records alone (no directory is listed). False means "look closer", not "stale".
 */
function recordedTimesMatch(root, built) {
  if (typeof built.listing !== 'string' || typeof built.directories !== 'string') return false;
  for (const line of built.directories.split('\n')) {
    const tab = line.lastIndexOf('\t');
    const stat = fs.statSync(path.join(root, line.slice(0, tab)), { throwIfNoEntry: false });
    if (stat === undefined || String(stat.mtimeMs) !== line.slice(tab + 1)) return false;
  }
  for (const line of built.listing.split('\n')) {
    const [file, size, mtime] = line.split('\t');
    const stat = fs.statSync(path.join(root, file), { throwIfNoEntry: false });
    if (stat === undefined || String(stat.size) !== size || String(stat.mtimeMs) !== mtime) return false;
  }
  return true;
}

/** dist/build-stamp.json, or undefined when dist/ is missing or unstamped. */
function readBuildStamp(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'dist', 'build-stamp.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** What `npm run build` writes to dist/build-stamp.json: taken before bundling. */
function buildStampFor(root) {
  const listing = sourceListing(root);
  return { sources: sourceStamp(root), listing, directories: directoryListing(root) };
}

function writeBuildStamp(root, stamp) {
  fs.writeFileSync(path.join(root, 'dist', 'build-stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
}

/**
 * Whether dist/ was built from the sources in `root`: true, false, or undefined where there are no
 * sources (an installed package: nothing to be stale against).
 */
function distIsCurrent(root) {
  if (!fs.existsSync(path.join(root, 'src'))) return undefined;
  const built = readBuildStamp(root);
  if (built?.sources === undefined) return false;
  if (recordedTimesMatch(root, built)) return true;
  const listing = sourceListing(root);
  const directories = directoryListing(root);
  if (built.listing === listing && built.directories === directories) return true;
  if (sourceStamp(root) !== built.sources) return false;
  // Same contents with other times (a checkout, a touch): remember them so the next start is cheap.
  try {
    writeBuildStamp(root, { ...built, listing, directories });
  } catch {
    // A read-only install: it only costs the hash at each start.
  }
  return true;
}

module.exports = { sourceStamp, sourceListing, readBuildStamp, buildStampFor, writeBuildStamp, distIsCurrent };
