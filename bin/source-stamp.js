// The fingerprint of the server's sources: SHA-256 over the path and content of every file the
// bundle in dist/ is built from. `npm run build` writes it to dist/build-stamp.json, and
// bin/trove.js runs dist/ only while the sources still have it, so a changed checkout never runs
// stale JavaScript. Plain JavaScript, so it works before anything is built.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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

/**
 * The fingerprint of `root`'s server sources, or undefined where there are none (an installed
 * package ships dist/ without src/).
 */
export function sourceStamp(root) {
  const src = path.join(root, 'src');
  if (!fs.existsSync(src)) return undefined;
  const files = filesUnder(src, []).concat(EXTRA_INPUTS.map((name) => path.join(root, name)).filter((file) => fs.existsSync(file)));
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(path.relative(root, file).split(path.sep).join('/'));
    hash.update('\0');
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The stamp `npm run build` recorded for dist/, or undefined when dist/ is missing or unstamped. */
export function builtStamp(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'dist', 'build-stamp.json'), 'utf8')).sources;
  } catch {
    return undefined;
  }
}
