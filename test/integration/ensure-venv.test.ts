import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts/ensure-venv.sh');

/**
 * scripts/ensure-venv.sh with a stand-in interpreter (COMPAT_PYTHON): `-m venv DIR` lays out what a
 * venv records about itself (bin/activate's VIRTUAL_ENV, bin/python), pip is a no-op, and every
 * build is counted, so the test sees when the script rebuilds without installing anything.
 */
describe('scripts/ensure-venv.sh', () => {
  let scratch: string;
  let fakePython: string;
  let builds: string;
  const name = `ensure-venv-test-${randomBytes(4).toString('hex')}`;
  const venv = path.join(ROOT, '.venvs', name);
  const requirements = (): string => path.join(scratch, 'requirements.txt');

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-ensure-venv-'));
    builds = path.join(scratch, 'builds');
    fakePython = path.join(scratch, 'python');
    fs.writeFileSync(requirements(), 'example==1.0\n');
    fs.writeFileSync(
      fakePython,
      [
        '#!/usr/bin/env bash',
        'if [[ "$1" == "--version" ]]; then echo "Python 3.11.0"; exit 0; fi',
        'if [[ "$1 $2" == "-m venv" ]]; then',
        '  mkdir -p "$3/bin"',
        `  echo "VIRTUAL_ENV=\\"$3\\"" > "$3/bin/activate"`,
        '  printf "#!/usr/bin/env bash\\nexit 0\\n" > "$3/bin/python"; chmod +x "$3/bin/python"',
        `  echo build >> '${builds}'`,
        'fi',
      ].join('\n'),
      { mode: 0o755 },
    );
  });
  after(() => {
    fs.rmSync(venv, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const ensure = (): string =>
    execFileSync('bash', [SCRIPT, name, requirements()], { env: { ...process.env, COMPAT_PYTHON: fakePython }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const buildCount = (): number => (fs.existsSync(builds) ? fs.readFileSync(builds, 'utf8').trim().split('\n').length : 0);

  test('a venv is built once and kept while its requirements stay the same', () => {
    ensure();
    ensure();
    assert.equal(buildCount(), 1);
  });

  test('a venv created through a path that no longer leads to it is rebuilt', () => {
    // As if it had been created from a git worktree whose .venvs was a symlink, since removed.
    fs.writeFileSync(path.join(venv, 'bin/activate'), 'VIRTUAL_ENV="/nonexistent/worktree/.venvs/x"\n');
    ensure();
    assert.equal(buildCount(), 2);
    assert.match(fs.readFileSync(path.join(venv, 'bin/activate'), 'utf8'), new RegExp(`VIRTUAL_ENV="${venv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  });

  test('a venv created through a symlink that still leads to it is kept', () => {
    const link = path.join(scratch, 'venvs-link');
    fs.symlinkSync(path.join(ROOT, '.venvs'), link);
    fs.writeFileSync(path.join(venv, 'bin/activate'), `VIRTUAL_ENV="${path.join(link, name)}"\n`);
    ensure();
    assert.equal(buildCount(), 2);
  });
});
