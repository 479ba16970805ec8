import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Webhook secrets encrypted at rest (AES-256-GCM).
 *
 * A secret has to be recoverable (every delivery is signed with HMAC, which needs the key
 * itself), so it cannot be hashed like a password. It is stored sealed, as
 * `trove-secret:v1:<base64url(iv | tag | ciphertext)>`, and opened only to sign a request. The key
 * comes from `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY` (MLflow's setting; any string, e.g. a Fernet
 * key, is stretched with HKDF), or else from a key file created on first use in the data folder
 * with mode 0600. Rows written before encryption existed (no prefix) are still read as plain text,
 * and `sealLegacySecrets` encrypts them at startup.
 */
export class SecretBox {
  private static readonly PREFIX = 'trove-secret:v1:';
  private derivedKey: Buffer | undefined;

  /**
   * The key is derived on the first seal or open, not here: a start that has no webhook to sign
   * does not load node:crypto (scripts/build.mjs, LAZY_BUILTINS).
   */
  constructor(private readonly keyMaterial: string | Buffer | (() => string | Buffer)) {}

  private get key(): Buffer {
    if (this.derivedKey === undefined) {
      const material = typeof this.keyMaterial === 'function' ? this.keyMaterial() : this.keyMaterial;
      this.derivedKey = Buffer.from(hkdfSync('sha256', material, 'trove-webhook-secrets', 'aes-256-gcm v1', 32));
    }
    return this.derivedKey;
  }

  /** A box with a random key that lives as long as the process (in-memory databases, tests). */
  static ephemeral(): SecretBox {
    return new SecretBox(() => randomBytes(32));
  }

  /** Whether a stored value is sealed (as opposed to a plain secret from before encryption). */
  static isSealed(stored: string): boolean {
    return stored.startsWith(SecretBox.PREFIX);
  }

  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SecretBox.PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
  }

  /**
   * The secret a stored value holds.
   * @throws Error when the value was sealed with another key (the key changed or was lost)
   */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(SecretBox.PREFIX.length), 'base64url');
    if (raw.byteLength < 28) throw new Error('The stored webhook secret is damaged.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        'The webhook secret cannot be decrypted: it was encrypted with another key (MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY or the key file changed). Set the secret again.',
      );
    }
  }
}

export const SECRET_KEY_FILE_NAME = 'webhook-secret.key';

/**
 * The box for this server: from `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`, or from the key file in
 * `dataDir` (created with mode 0600 by the first seal or open when missing), or an ephemeral one
 * when there is no data folder (an in-memory database, whose webhooks die with the process anyway).
 */
export function openSecretBox(env: NodeJS.ProcessEnv, dataDir: string | null): SecretBox {
  const fromEnv = env.MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY?.trim();
  if (fromEnv) return new SecretBox(fromEnv);
  if (dataDir === null) return SecretBox.ephemeral();
  const file = path.join(dataDir, SECRET_KEY_FILE_NAME);
  try {
    return new SecretBox(readKeyFile(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // Created with the first secret sealed or opened, not at start: most servers never have a
  // webhook, and the key's random bytes would load node:crypto at every first start.
  return new SecretBox(() => {
    fs.mkdirSync(dataDir, { recursive: true });
    createKeyFile(file, randomBytes(32).toString('base64url'));
    return readKeyFile(file);
  });
}

/**
 * Puts a new key file in place whole. The key is written and synced under a temporary name, then
 * hard-linked to its real name: `link` fails with EEXIST when another process starting at the same
 * moment got there first (its key wins, nobody overwrites it), and a reader never sees the file
 * empty or half-written, as it could between `open(O_EXCL)` and `write` of a plain create.
 */
function createKeyFile(file: string, key: string): void {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'wx', 0o600);
  try {
    fs.writeSync(fd, `${key}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temporary, file);
    syncDirectory(path.dirname(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** Makes the new directory entry durable (a no-op where directories cannot be opened). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open a directory; its rename/link durability is the file system's.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function readKeyFile(file: string): string {
  const key = fs.readFileSync(file, 'utf8').trim();
  if (key.length < 16) throw new Error(`The webhook secret key file ${file} is too short; delete it only if no webhook has a secret yet.`);
  // Owner-only: a key readable by others would make the encryption pointless.
  if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return key;
}

/**
 * Seals secrets stored in plain text by versions before encryption at rest.
 * @returns how many were sealed
 */
export async function sealLegacySecrets(
  store: { listWebhookSecrets(): Promise<{ pk: number; secret: string }[]>; replaceWebhookSecret(pk: number, expected: string, secret: string): Promise<void> },
  box: SecretBox,
): Promise<number> {
  let sealed = 0;
  for (const { pk, secret } of await store.listWebhookSecrets()) {
    if (SecretBox.isSealed(secret)) continue;
    await store.replaceWebhookSecret(pk, secret, box.seal(secret));
    sealed += 1;
  }
  return sealed;
}
