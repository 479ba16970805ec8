import type { InjectOptions } from 'fastify';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import type { AuthService } from '../../src/domain/auth/auth-service.ts';
import type { SignInLimits } from '../../src/domain/auth/sign-in-limiter.ts';
import type { ServerConfig } from '../../src/server.ts';
import type { Role, ProjectRef } from '../../src/domain/request-context.ts';

/**
 * A Trove with `--auth` on (composed as `trove server --auth`), plus helpers to set users,
 * projects, members and tokens up through the domain services (as the CLI does) and to call the
 * API as one of them.
 *
 * Passwords are hashed with cheap scrypt parameters so tests stay fast; the format and the
 * verification path are the production ones (the parameters are read from each hash).
 */

export type Credential =
  | { basic: [string, string] }
  | { bearer: string }
  | { cookie: string; csrf?: string }
  | { raw: string }
  | undefined;

export interface CallOptions {
  as?: Credential;
  body?: unknown;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
  body: Record<string, any>;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
}

export interface AuthHarness extends TestServer {
  auth: AuthService;
  createUser(username: string, options?: { admin?: boolean; password?: string }): Promise<{ username: string; password: string }>;
  createProject(name: string, owner?: string): Promise<ProjectRef>;
  addMember(project: ProjectRef, username: string, role: Role): Promise<void>;
  createToken(username: string, options?: { project?: string; scope?: 'read' | 'write'; expiresIn?: number | string }): Promise<string>;
  request(method: InjectOptions['method'], url: string, options?: CallOptions): Promise<CallResult>;
}

export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

const GENEROUS = { freeFailures: 1000, baseDelayMs: 1000, maxDelayMs: 60_000 };
const GENEROUS_LIMITS: Partial<SignInLimits> = { pair: GENEROUS, address: GENEROUS, account: GENEROUS, token: GENEROUS };

export async function startAuthServer(
  options: { signInLimits?: Partial<SignInLimits>; config?: Partial<ServerConfig>; enabled?: boolean; now?: () => number } = {},
): Promise<AuthHarness> {
  const server = await startTestServer({
    ...options.config,
    auth: {
      enabled: options.enabled ?? true,
      scrypt: TEST_SCRYPT,
      // Generous unless a test is about the limits: many tests fail credentials on purpose.
      signInLimits: options.signInLimits ?? GENEROUS_LIMITS,
      ...(options.now ? { now: options.now } : {}),
    },
  });
  const auth = server.server.services.auth!;
  let counter = 0;
  return {
    ...server,
    auth,
    async createUser(username, userOptions = {}) {
      counter += 1;
      const password = userOptions.password ?? `pw-${username}-${counter}-secret`;
      await auth.createUser({ username, password, isAdmin: userOptions.admin === true });
      return { username, password };
    },
    async createProject(name, owner) {
      const project = await auth.createProject({ name, owner });
      return { id: project.id, name: project.name };
    },
    async addMember(project, username, role) {
      await auth.setMember(project, username, role);
    },
    async createToken(username, tokenOptions = {}) {
      const created = await auth.createToken({
        username,
        project: tokenOptions.project,
        scope: tokenOptions.scope ?? 'write',
        expiresIn: tokenOptions.expiresIn,
      });
      return created.token;
    },
    async request(method, url, callOptions = {}) {
      const headers: Record<string, string> = { ...callOptions.headers };
      const as = callOptions.as;
      if (as && 'basic' in as) headers.authorization = `Basic ${Buffer.from(`${as.basic[0]}:${as.basic[1]}`).toString('base64')}`;
      if (as && 'bearer' in as) headers.authorization = `Bearer ${as.bearer}`;
      if (as && 'raw' in as) headers.authorization = as.raw;
      if (as && 'cookie' in as) {
        headers.cookie = `trove_session=${as.cookie}`;
        if (as.csrf !== undefined) headers['x-csrf-token'] = as.csrf;
      }
      const inject: InjectOptions = { method, url, headers };
      if (callOptions.query) inject.query = callOptions.query;
      if (callOptions.body !== undefined) {
        inject.payload = typeof callOptions.body === 'string' || Buffer.isBuffer(callOptions.body) ? callOptions.body : JSON.stringify(callOptions.body);
        if (!headers['content-type']) headers['content-type'] = 'application/json';
      }
      const response = await server.inject(inject);
      let body: Record<string, unknown> = {};
      if (response.body) {
        try {
          body = JSON.parse(response.body) as Record<string, unknown>;
        } catch {
          body = { raw: response.body };
        }
      }
      return { status: response.statusCode, body, headers: response.headers, text: response.body };
    },
  };
}

/** The session cookie's value from a login response. */
export function sessionFrom(result: CallResult): string {
  const header = result.headers['set-cookie'];
  const text = Array.isArray(header) ? header.join(';') : String(header ?? '');
  const match = /trove_session=([^;]*)/.exec(text);
  if (!match) throw new Error(`no session cookie in ${text}`);
  return match[1]!;
}
