import { api, MLFLOW, TROVE } from '../../common/api/client.ts';
import type { Role } from '../../auth/utils/capabilities.ts';
import type { AuditEntry, AuditFilters } from '../utils/audit.ts';
import { auditQuery } from '../utils/audit.ts';
import type { Delivery, DeliveryStatus, Webhook, WebhookTestResult } from '../utils/webhooks.ts';

/**
 * The project pages' calls. Project endpoints (`/trove/project...`, MLflow's webhooks) go to the
 * page's project through the client's prefix; access tokens are the user's own (instance level)
 * and name the project in the body or query.
 */

export interface Project {
  id: number;
  name: string;
  description?: string;
  created_at: number;
  role?: Role | null;
}

export interface Member {
  user_id: number;
  username: string;
  role: Role;
  created_at: number;
  updated_at: number;
}

export interface AccessToken {
  id: number;
  name: string | null;
  username: string;
  project: string | null;
  scope: 'read' | 'write';
  hint: string;
  status: 'active' | 'expired' | 'revoked';
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

// ------------------------------------------------------------------ project

export async function getProject(signal?: AbortSignal): Promise<Project> {
  return (await api.get<{ project: Project }>(`${TROVE}/project`, {}, signal)).project;
}

export async function updateProject(update: { new_name?: string; description?: string }): Promise<Project> {
  return (await api.patch<{ project: Project }>(`${TROVE}/project`, update)).project;
}

export async function deleteProject(): Promise<void> {
  await api.delete(`${TROVE}/project`);
}

// ------------------------------------------------------------------ members

export async function listMembers(signal?: AbortSignal): Promise<Member[]> {
  return (await api.get<{ members?: Member[] }>(`${TROVE}/project/members`, {}, signal)).members ?? [];
}

export const memberActions = {
  add: (username: string, role: Role) => api.post<{ member: Member }>(`${TROVE}/project/members`, { username, role }),
  setRole: (username: string, role: Role) => api.patch<{ member: Member }>(`${TROVE}/project/members/${encodeURIComponent(username)}`, { role }),
  remove: (username: string) => api.delete(`${TROVE}/project/members/${encodeURIComponent(username)}`),
};

// ------------------------------------------------------------------ access tokens (the user's own)

const INSTANCE = { project: false } as const;

export async function listTokens(project: string, signal?: AbortSignal): Promise<AccessToken[]> {
  return (await api.get<{ tokens?: AccessToken[] }>(`${TROVE}/tokens`, { project }, signal, INSTANCE)).tokens ?? [];
}

export interface NewToken {
  name: string;
  scope: 'read' | 'write';
  project: string;
  /** `90d`, `1y`, … or undefined for no expiry. */
  expires_in?: string | undefined;
}

/** Creates a token; the secret is in the answer only this once. */
export async function createToken(input: NewToken): Promise<{ token: string; access_token: AccessToken }> {
  const body = { name: input.name, scope: input.scope, project: input.project, ...(input.expires_in ? { expires_in: input.expires_in } : {}) };
  return api.post<{ token: string; access_token: AccessToken }>(`${TROVE}/tokens`, body, undefined, INSTANCE);
}

export async function revokeToken(id: number): Promise<void> {
  await api.delete(`${TROVE}/tokens/${id}`, {}, INSTANCE);
}

// ------------------------------------------------------------------ audit log

export interface AuditPage {
  entries: AuditEntry[];
  next_page_token?: string;
}

export async function queryAudit(filters: AuditFilters, pageToken: string | undefined, signal?: AbortSignal): Promise<AuditPage> {
  const res = await api.get<AuditPage>(`${TROVE}/project/audit`, { ...auditQuery(filters), max_results: 100, page_token: pageToken }, signal);
  return { entries: res.entries ?? [], ...(res.next_page_token ? { next_page_token: res.next_page_token } : {}) };
}

// ------------------------------------------------------------------ webhooks (MLflow's API) and their delivery log

export async function listWebhooks(signal?: AbortSignal): Promise<Webhook[]> {
  const all: Webhook[] = [];
  let pageToken: string | undefined;
  // A project has few webhooks; follow pages to be safe.
  for (let i = 0; i < 20; i++) {
    const res = await api.get<{ webhooks?: Webhook[]; next_page_token?: string }>(`${MLFLOW}/webhooks`, { max_results: 100, page_token: pageToken }, signal);
    all.push(...(res.webhooks ?? []));
    pageToken = res.next_page_token;
    if (!pageToken) break;
  }
  return all;
}

export async function getWebhook(id: string, signal?: AbortSignal): Promise<Webhook> {
  return (await api.get<{ webhook: Webhook }>(`${MLFLOW}/webhooks/${encodeURIComponent(id)}`, {}, signal)).webhook;
}

export const webhookActions = {
  create: async (body: Record<string, unknown>) => (await api.post<{ webhook: Webhook }>(`${MLFLOW}/webhooks`, body)).webhook,
  update: async (id: string, body: Record<string, unknown>) => (await api.patch<{ webhook: Webhook }>(`${MLFLOW}/webhooks/${encodeURIComponent(id)}`, body)).webhook,
  delete: (id: string) => api.delete(`${MLFLOW}/webhooks/${encodeURIComponent(id)}`),
  test: async (id: string) => (await api.post<{ result: WebhookTestResult }>(`${MLFLOW}/webhooks/${encodeURIComponent(id)}/test`, {})).result,
};

export interface DeliveryPage {
  deliveries: Delivery[];
  next_page_token?: string;
}

export async function listDeliveries(webhookId: string, status: DeliveryStatus | undefined, pageToken: string | undefined, signal?: AbortSignal): Promise<DeliveryPage> {
  const res = await api.get<DeliveryPage>(`${TROVE}/webhooks/${encodeURIComponent(webhookId)}/deliveries`, { status, max_results: 50, page_token: pageToken }, signal);
  return { deliveries: res.deliveries ?? [], ...(res.next_page_token ? { next_page_token: res.next_page_token } : {}) };
}
