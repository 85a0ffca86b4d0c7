//! "Who has access": the grants that bear on one resource and whom they reach
//! (`permissions/holders`), for the users who manage it.
import { api, keel } from '../api/client';
import { useAsync } from '../lib/useAsync';
import { ErrorBanner, Loading } from './Status';

interface Holder {
  /** `user`: one user's own grant; `role`: a role's, held by its users and by a group of its name. */
  kind: 'user' | 'role';
  role_id: number;
  role?: string;
  users: string[];
  resource_type: string;
  pattern: string;
  permission: string;
}

interface Holders {
  holders: Holder[];
  absent_permission: string;
  default_permission: string;
  truncated: boolean;
}

const LEVEL_NAMES: Record<string, string> = {
  NO_PERMISSIONS: 'no access',
  READ: 'read',
  USE: 'use',
  EDIT: 'edit',
  MANAGE: 'manage',
  DENY: 'denied',
};

const levelName = (permission: string) => LEVEL_NAMES[permission] ?? permission.toLowerCase();

/** Why a grant reaches this resource. */
function through(h: Holder, noun: string): string {
  if (h.resource_type === 'workspace') return 'administers the workspace';
  return h.pattern === '*' ? `every ${noun}` : `this ${noun}`;
}

function who(h: Holder): string {
  if (h.kind === 'user') return h.users.join(', ');
  const members = h.users.length > 0 ? `: ${h.users.join(', ')}` : '';
  return `role ${h.role}${members}`;
}

export function AccessCard({ resourceType, resourceId, noun }: { resourceType: string; resourceId: string; noun: string }) {
  const access = useAsync(
    (signal) => api.get<Holders>(keel('permissions/holders'), { resource_type: resourceType, resource_id: resourceId }, signal),
    [resourceType, resourceId],
  );
  const a = access.data;
  return (
    <section class="card access" aria-label="Who has access">
      <h3>Who has access</h3>
      {access.error && <ErrorBanner error={access.error} onRetry={access.reload} />}
      {!a && !access.error && <Loading />}
      {a && (
        <>
          <table class="kv access-holders">
            <tbody>
              {a.holders.map((h) => (
                <tr key={`${h.role_id}/${h.resource_type}/${h.pattern}`} data-holder={h.kind === 'user' ? h.users.join(',') : h.role}>
                  <td>{who(h)}</td>
                  <td>
                    <span class={`badge level level-${h.permission.toLowerCase()}`}>{levelName(h.permission)}</span>
                  </td>
                  <td class="muted">{through(h, noun)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted hint">
            Administrators: everything. Everyone else signed in: {levelName(a.absent_permission)}.
            {a.truncated && ' The list is cut short: there are more grants than it shows.'}
          </p>
        </>
      )}
    </section>
  );
}
