//! Accounts and roles through the reference's auth REST API (`/ajax-api/2.0/mlflow/users/...`,
//! `/ajax-api/3.0/mlflow/roles/...`), for the administration page.
import { api, v2, v3 } from './client';

export interface RolePermission {
  id: number;
  resource_type: string;
  resource_pattern: string;
  permission: string;
}

export interface Role {
  id: number;
  name: string;
  workspace: string;
  description?: string;
  permissions: RolePermission[];
}

export interface Account {
  id: number;
  username: string;
  is_admin: boolean;
  roles: Role[];
}

export const listAccounts = (signal?: AbortSignal) => api.get<{ users: Account[] }>(v2('users/list'), {}, signal).then((r) => r.users);
export const createAccount = (username: string, password: string) => api.post(v2('users/create'), { username, password });
export const setAdmin = (username: string, isAdmin: boolean) => api.patch(v2('users/update-admin'), { username, is_admin: isAdmin });
export const deleteAccount = (username: string) => api.del(v2('users/delete'), { username });
/** Roles that are not a user's own (`__user_<id>__` roles hold per-user grants). */
export const listRoles = (signal?: AbortSignal) =>
  api.get<{ roles: Role[] }>(v3('roles/list'), {}, signal).then((r) => r.roles.filter((role) => !role.name.startsWith('__user_')));
