//! What the signed-in user may do to a page's resources (`permissions/mine`), so pages offer only
//! the actions the caller may take. A hint for the page, never the check: the server decides
//! every request.
import { api, keel } from '../api/client';
import { useAsync } from './useAsync';

export interface Level {
  resource_id: string;
  permission: string;
  can_read: boolean;
  can_update: boolean;
  can_delete: boolean;
  can_manage: boolean;
}

/** The level on one resource (`undefined` while loading, or without an ID yet). */
export function useLevel(resourceType: string, id: string | undefined): Level | undefined {
  return usePermissions(resourceType, id === undefined ? [] : [id]).get(id ?? '');
}

/** The levels by resource ID; empty while loading (so no action shows before it is known). */
export function usePermissions(resourceType: string, ids: string[]): Map<string, Level> {
  const key = ids.join('\n');
  const { data } = useAsync(
    async (signal) => {
      if (ids.length === 0) return new Map<string, Level>();
      const out = await api.post<{ permissions: Level[] }>(keel('permissions/mine'), { resource_type: resourceType, resource_ids: ids }, signal);
      return new Map(out.permissions.map((l) => [l.resource_id, l]));
    },
    [resourceType, key],
  );
  return data ?? new Map();
}
