//! Accounts and roles through the reference's auth REST API (`/ajax-api/2.0/mlflow/users/...`,
//! `/ajax-api/3.0/mlflow/roles/...`), for the administration page.
import { api, keel, v2, v3 } from './client';

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
  /** `user` or `service_account`. */
  kind: string;
  roles: Role[];
}

/** The resource types a role's grant may name, and the levels it may give. */
export const GRANT_TYPES = ['experiment', 'registered_model', 'prompt', 'scorer', 'workspace'] as const;
export const GRANT_LEVELS = ['READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS', 'DENY'] as const;

export const listAccounts = (signal?: AbortSignal) => api.get<{ users: Account[] }>(v2('users/list'), {}, signal).then((r) => r.users);
export const createAccount = (username: string, password: string) => api.post(v2('users/create'), { username, password });
/** An account for a program: no password, it signs in with the tokens issued for it. */
export const createServiceAccount = (username: string) => api.post(keel('service-accounts'), { username });
export const setAdmin = (username: string, isAdmin: boolean) => api.patch(v2('users/update-admin'), { username, is_admin: isAdmin });
export const deleteAccount = (username: string) => api.del(v2('users/delete'), { username });
/** Roles that are not a user's own (`__user_<id>__` roles hold per-user grants). */
export const listRoles = (signal?: AbortSignal) =>
  api.get<{ roles: Role[] }>(v3('roles/list'), {}, signal).then((r) => r.roles.filter((role) => !role.name.startsWith('__user_')));

export const createRole = (workspace: string, name: string, description: string) =>
  api.post(v3('roles/create'), { workspace, name, description: description || undefined });
export const deleteRole = (roleId: number) => api.del(v3('roles/delete'), { role_id: roleId });
export const addRoleGrant = (roleId: number, resourceType: string, resourcePattern: string, permission: string) =>
  api.post(v3('roles/permissions/add'), { role_id: roleId, resource_type: resourceType, resource_pattern: resourcePattern, permission });
export const removeRoleGrant = (rolePermissionId: number) => api.del(v3('roles/permissions/remove'), { role_permission_id: rolePermissionId });
export const assignRole = (username: string, roleId: number) => api.post(v3('roles/assign'), { username, role_id: roleId });
export const unassignRole = (username: string, roleId: number) => api.del(v3('roles/unassign'), { username, role_id: roleId });
