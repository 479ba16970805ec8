import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding Trove's package.json: the checkout or the installed package. Found by
 * walking up from this module, because it sits at a different depth in src/ (run by tsx) and in
 * the bundle in dist/.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(fileURLToPath(new URL('..', import.meta.url)));
    dir = parent;
  }
}
