import { api, setCsrfToken, TROVE } from '../../common/api/client.ts';
import type { Capabilities, ProjectSummary, Session } from '../utils/capabilities.ts';

/**
 * Sign-in, the session, the project list and the capabilities (docs/api-trove.md, "Projects,
 * users and access"). Sign-in, the session and the project list are instance-level: sent
 * without a project prefix. The capabilities are per project: sent with the page's prefix.
 */

const INSTANCE = { project: false } as const;

/** Who is signed in, and whether the server asks at all (`trove server --auth`). Remembers the CSRF token. */
export async function getSession(signal?: AbortSignal): Promise<Session> {
  const session = await api.get<Session>(`${TROVE}/auth/session`, {}, signal, INSTANCE);
  setCsrfToken(session.csrf_token);
  return session;
}

export interface LoginResponse {
  user: { id: number; username: string; is_admin: boolean };
  csrf_token: string;
  expires_at: number;
}

/** Opens a web session (the server sets the HttpOnly cookie); a wrong password is an ApiError, not a redirect. */
export async function login(username: string, password: string): Promise<LoginResponse> {
  const res = await api.post<LoginResponse>(`${TROVE}/auth/login`, { username, password }, undefined, { project: false, handleUnauthorized: false });
  setCsrfToken(res.csrf_token);
  return res;
}

export async function logout(): Promise<void> {
  await api.post(`${TROVE}/auth/logout`, {}, undefined, { project: false, handleUnauthorized: false });
  setCsrfToken(undefined);
}

/** The projects the signed-in user can open (all of them with auth off, or for an admin). */
export async function listProjects(signal?: AbortSignal): Promise<ProjectSummary[]> {
  const res = await api.get<{ projects?: ProjectSummary[] }>(`${TROVE}/projects`, {}, signal, INSTANCE);
  return res.projects ?? [];
}

/** What the user may do in the page's project. */
export async function getCapabilities(signal?: AbortSignal): Promise<Capabilities> {
  return api.get<Capabilities>(`${TROVE}/capabilities`, {}, signal);
}

/**
 * Starts what the layout asks first (the session, the project list, the capabilities) while the
 * app boots; its getSession/listProjects/getCapabilities take the answers over (see api.prefetch).
 */
export function prefetchAccess(): void {
  void api.prefetch(`${TROVE}/auth/session`, {}, INSTANCE);
  void api.prefetch(`${TROVE}/projects`, {}, INSTANCE);
  void api.prefetch(`${TROVE}/capabilities`);
}
