import dns from 'node:dns';
import net from 'node:net';
import { MlflowError } from '../errors.ts';
import { validateWebhookUrl } from './webhook-validation.ts';

/**
 * Where webhooks may send requests: MLflow's settings and defaults.
 *
 * - `MLFLOW_WEBHOOK_ALLOWED_SCHEMES` (comma-separated, default `https`).
 * - `MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS` (default `false`): when false, receivers on loopback,
 *   private, link-local (cloud metadata at 169.254.169.254), CGNAT, unique-local, multicast,
 *   unspecified, reserved or IPv4-mapped/-translated addresses are refused. Checked when a webhook
 *   is created or changed, and again when a request connects, against the address DNS returned
 *   for that very connection (so a name that resolves elsewhere later, "DNS rebinding", cannot
 *   reach an internal service either).
 */
export interface WebhookUrlPolicy {
  allowedSchemes: readonly string[];
  allowPrivateIps: boolean;
}

export const DEFAULT_WEBHOOK_URL_POLICY: WebhookUrlPolicy = { allowedSchemes: ['https'], allowPrivateIps: false };

/** The policy from MLflow's environment variables (unset ones keep MLflow's defaults). */
export function webhookUrlPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookUrlPolicy {
  const schemes = (env.MLFLOW_WEBHOOK_ALLOWED_SCHEMES ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  return {
    allowedSchemes: schemes.length > 0 ? schemes : DEFAULT_WEBHOOK_URL_POLICY.allowedSchemes,
    allowPrivateIps: parseBoolean(env.MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS) ?? false,
  };
}

function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/**
 * Address ranges no webhook may reach unless private addresses are allowed. Two lists: a
 * BlockList also matches IPv4 addresses against IPv6 rules through their mapped form, and
 * ::ffff:0:0/96 would then match every IPv4 address.
 */
const BLOCKED_V4 = new net.BlockList();
const BLOCKED_V6 = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", includes the unspecified 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast
] as const) {
  BLOCKED_V4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['::ffff:0:0', 96], // IPv4-mapped: whatever IPv4 address it carries
  ['64:ff9b::', 96], // NAT64: reaches an IPv4 address through a translator
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED_V6.addSubnet(network, prefix, 'ipv6');
}

/**
 * Why an IP address is not a public destination, or null when it is one.
 * @param address an IPv4 or IPv6 literal, without brackets
 */
export function privateAddressReason(address: string): string | null {
  const family = net.isIP(address);
  if (family === 0) return 'is not an IP address';
  if (family === 6 && /^::ffff:/i.test(address)) return 'is an IPv4-mapped IPv6 address';
  if (family === 4 ? BLOCKED_V4.check(address, 'ipv4') : BLOCKED_V6.check(address, 'ipv6')) return 'is a loopback, private, link-local or reserved address';
  return null;
}

/** The URL's host as an IP literal (brackets removed), or null for a name. */
function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return net.isIP(bare) ? bare : null;
}

function isLocalhostName(hostname: string): boolean {
  const lower = hostname.toLowerCase().replace(/\.$/, '');
  return lower === 'localhost' || lower.endsWith('.localhost') || lower === 'localhost.localdomain';
}

function refused(url: URL, why: string): MlflowError {
  return MlflowError.invalidParameter(
    `Webhook URL host '${url.hostname}' ${why}; webhooks may not reach loopback, private or link-local addresses (set MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true to allow them).`,
  );
}

/** How long a create/update waits for DNS before leaving the check to connect time. */
const CREATE_LOOKUP_TIMEOUT_MS = 2000;

/** Resolves a host name to all its addresses (dns.lookup by default; tests substitute answers). */
export type Resolver = (hostname: string) => Promise<dns.LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * Checks a webhook URL when it is created or changed: scheme, no user info, and (unless private
 * addresses are allowed) a host that is neither a private IP literal, nor localhost, nor a name
 * that resolves to a private address now. A name that does not resolve yet is accepted: the
 * receiver may not exist yet, and every connection is checked again (see `guardedLookup`).
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy, resolve: Resolver = systemResolver): Promise<void> {
  const url = checkWebhookUrlSyntax(raw, policy);
  if (policy.allowPrivateIps) return;
  const literal = ipLiteral(url.hostname);
  if (literal !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), CREATE_LOOKUP_TIMEOUT_MS);
  });
  const addresses = await Promise.race([resolve(url.hostname).catch(() => null), timeout]);
  clearTimeout(timer);
  for (const { address } of addresses ?? []) {
    const why = privateAddressReason(address);
    if (why !== null) throw refused(url, `resolves to ${address}, which ${why}`);
  }
}

/**
 * The checks that need no network: scheme, user info, and IP literals or localhost names when
 * private addresses are refused. Also run before every request.
 * @throws MlflowError INVALID_PARAMETER_VALUE
 */
export function checkWebhookUrlSyntax(raw: string, policy: WebhookUrlPolicy): URL {
  validateWebhookUrl(raw, policy.allowedSchemes);
  const url = new URL(raw);
  if (url.username !== '' || url.password !== '') {
    throw MlflowError.invalidParameter('Webhook URL must not contain user info (credentials before the host); use the webhook secret to authenticate deliveries.');
  }
  if (policy.allowPrivateIps) return url;
  if (isLocalhostName(url.hostname)) throw refused(url, 'is a loopback name');
  const literal = ipLiteral(url.hostname);
  if (literal !== null) {
    const why = privateAddressReason(literal);
    if (why !== null) throw refused(url, why);
  }
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request` that refuses private addresses at connect time: the socket
 * connects to exactly the address checked here, so a DNS answer that changes between the check at
 * creation and the delivery cannot slip through.
 */
export function guardedLookup(policy: WebhookUrlPolicy, resolve: Resolver = systemResolver) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    resolve(hostname).then((found) => {
      const addresses = family === undefined ? found : found.filter((a) => a.family === family);
      if (addresses.length === 0) {
        const missing: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        missing.code = 'ENOTFOUND';
        callback(missing, options.all ? [] : '', undefined);
        return;
      }
      if (!policy.allowPrivateIps) {
        for (const { address } of addresses) {
          const why = privateAddressReason(address);
          if (why !== null) {
            const blocked: NodeJS.ErrnoException = new Error(`${hostname} resolved to ${address}, which ${why}; refused (MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS is false).`);
            blocked.code = 'EWEBHOOKBLOCKED';
            callback(blocked, options.all ? [] : '', undefined);
            return;
          }
        }
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    }, (error: NodeJS.ErrnoException) => callback(error, options.all ? [] : '', undefined));
  };
}
