import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, mock, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openSecretBox, SECRET_KEY_FILE_NAME } from './secret-box.ts';

const run = promisify(execFile);
const moduleUrl = new URL('./secret-box.ts', import.meta.url).href;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const folders: string[] = [];

function dataFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-secret-box-'));
  folders.push(dir);
  return dir;
}

after(() => {
  for (const dir of folders) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the webhook secret key file', () => {
  test('is not created by opening the box, only by the first secret sealed or opened', () => {
    const dir = dataFolder();
    const box = openSecretBox({}, dir);
    assert.deepEqual(fs.readdirSync(dir), []);
    box.seal('s3cret');
    assert.deepEqual(fs.readdirSync(dir), [SECRET_KEY_FILE_NAME]);
    const other = dataFolder();
    assert.equal(openSecretBox({}, other).open('plain from before encryption'), 'plain from before encryption');
    assert.deepEqual(fs.readdirSync(other), [], 'a plain value needs no key');
    assert.throws(() => openSecretBox({}, other).open(box.seal('x')), /another key/);
    assert.deepEqual(fs.readdirSync(other), [SECRET_KEY_FILE_NAME]);
  });

  test('is created owner-only on first use, with no temporary file left beside it', () => {
    const dir = dataFolder();
    const box = openSecretBox({}, dir);
    const sealed = box.seal('s3cret');
    const file = path.join(dir, SECRET_KEY_FILE_NAME);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), [SECRET_KEY_FILE_NAME]);
    assert.equal(openSecretBox({}, dir).open(sealed), 's3cret');
  });

  test('an existing key file is kept, not replaced', () => {
    const dir = dataFolder();
    const first = openSecretBox({}, dir);
    const sealed = first.seal('kept');
    const before = fs.readFileSync(path.join(dir, SECRET_KEY_FILE_NAME), 'utf8');
    const second = openSecretBox({}, dir);
    assert.equal(fs.readFileSync(path.join(dir, SECRET_KEY_FILE_NAME), 'utf8'), before);
    assert.equal(second.open(sealed), 'kept');
  });

  test('the key file never exists under its name before its whole key is in it', () => {
    const dir = dataFolder();
    const file = path.join(dir, SECRET_KEY_FILE_NAME);
    // Whatever the creation opens, a process starting at that moment must not find a short file.
    const seenShort: string[] = [];
    const realOpen = fs.openSync;
    const spy = mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
      const fd = realOpen(...args);
      if (fs.existsSync(file) && fs.statSync(file).size < 16) seenShort.push(String(args[0]));
      return fd;
    });
    try {
      openSecretBox({}, dir).seal('first use');
    } finally {
      spy.mock.restore();
    }
    assert.deepEqual(seenShort, []);
    assert.ok(fs.statSync(file).size >= 16);
  });

  test('processes starting at the same moment all read one whole key (none sees the file empty)', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = dataFolder();
      const script = `const { openSecretBox } = await import(${JSON.stringify(moduleUrl)}); process.stdout.write(openSecretBox({}, ${JSON.stringify(dir)}).seal('from ' + process.pid));`;
      const children = Array.from({ length: 6 }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot }));
      const sealed = (await Promise.all(children)).map((child) => child.stdout);
      const box = openSecretBox({}, dir);
      for (const value of sealed) assert.match(box.open(value), /^from \d+$/);
      assert.deepEqual(fs.readdirSync(dir), [SECRET_KEY_FILE_NAME]);
    }
  });
});
