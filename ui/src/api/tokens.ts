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

/** The caller's tokens, or (administrators) those of `username`. */
export const listTokens = (username?: string, signal?: AbortSignal) =>
  api.get<{ tokens: ApiToken[] }>(keel('tokens'), username ? { username } : {}, signal).then((r) => r.tokens);

/** What a token may be limited to (none: everything its owner may do). */
export const TOKEN_SCOPES = ['read', 'use', 'write', 'manage', 'admin'] as const;

/** Issues a token; its `text` is returned only now. */
export const issueToken = (name: string, expiresInDays?: number, scopes: string[] = [], username?: string) =>
  api.post<{ token: ApiToken; text: string }>(keel('tokens'), { name, expires_in_days: expiresInDays, scopes, username });

/** A token's access scopes as shown: `all` when it is not limited (a session's are not limits). */
export const scopeLabel = (t: ApiToken) => {
  const limits = t.scopes.filter((s) => (TOKEN_SCOPES as readonly string[]).includes(s));
  return limits.length ? limits.join(', ') : 'all';
};

export const revokeToken = (id: string) => api.del(keel(`tokens/${encodeURIComponent(id)}`));
