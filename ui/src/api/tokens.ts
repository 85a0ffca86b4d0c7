//! The caller's API tokens (`/ajax-api/3.0/keel/tokens`).
import { api, keel } from './client';

export interface ApiToken {
  id: string;
  username: string;
  name: string;
  scopes: string[];
  created_at: number;
  expires_at?: number;
  last_used_at?: number;
  revoked_at?: number;
}

export const listTokens = (signal?: AbortSignal) => api.get<{ tokens: ApiToken[] }>(keel('tokens'), {}, signal).then((r) => r.tokens);

/** Issues a token; its `text` is returned only now. */
export const issueToken = (name: string, expiresInDays?: number) =>
  api.post<{ token: ApiToken; text: string }>(keel('tokens'), { name, expires_in_days: expiresInDays });

export const revokeToken = (id: string) => api.del(keel(`tokens/${encodeURIComponent(id)}`));
