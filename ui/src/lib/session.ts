//! Who is signed in: loaded once at start, cleared when any call answers 401 (an expired or
//! revoked session), set by signing in. The session itself is an HttpOnly cookie the page
//! never sees.
import { signal } from '@preact/signals';
import { ApiError, api, keel, onUnauthenticated } from '../api/client';

export interface SessionUser {
  id: number;
  username: string;
  is_admin: boolean;
}

/** How the caller is signed in, as `auth/session` says. */
export type SignInMethod = 'session' | 'password' | 'token' | 'oidc' | 'local_administrator';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; reason?: string }
  | { status: 'signed-in'; user: SessionUser; method: SignInMethod };

interface SessionOut {
  user: SessionUser;
  method: SignInMethod;
}

export const session = signal<SessionState>({ status: 'loading' });

onUnauthenticated((message) => {
  if (session.value.status === 'signed-in') session.value = { status: 'signed-out', reason: message };
});

export async function loadSession(): Promise<void> {
  try {
    const out = await api.get<SessionOut>(keel('auth/session'));
    session.value = { status: 'signed-in', user: out.user, method: out.method };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) session.value = { status: 'signed-out' };
    else throw err;
  }
}

/** Signs in; the error (wrong password, throttled) is thrown for the form to show. */
export async function signIn(username: string, password: string): Promise<void> {
  const out = await api.post<SessionOut>(keel('auth/login'), { username, password });
  session.value = { status: 'signed-in', user: out.user, method: out.method };
}

export async function signOut(): Promise<void> {
  await api.post(keel('auth/logout'), {});
  session.value = { status: 'signed-out' };
}

/** Whether the signed-in caller is an administrator (the local administrator of a server without
 * accounts is one): a hint for what pages offer, such as the audit log, never the check. */
export function isAdministrator(): boolean {
  const state = session.value;
  return state.status === 'signed-in' && state.user.is_admin;
}
