//! Small registry labels: a stage badge and alias badges (`@champion → v2`).

const STAGE_CLASS: Record<string, string> = { Production: 'ok', Staging: 'running', Archived: '' };

export function StageBadge({ stage }: { stage?: string }) {
  if (!stage || stage === 'None') return <span class="muted">—</span>;
  return <span class={`badge stage ${STAGE_CLASS[stage] ?? ''}`}>{stage}</span>;
}

export interface AliasBadgesProps {
  /** With a version, the badge also says which version the alias points at. */
  aliases: { alias: string; version?: string }[];
  /** Makes each badge a link to its version. */
  linkTo?: (version: string) => string;
}

export function AliasBadges({ aliases, linkTo }: AliasBadgesProps) {
  if (aliases.length === 0) return <span class="muted">—</span>;
  return (
    <span class="alias-list">
      {aliases.map(({ alias, version }) => {
        const label = version ? `@${alias} → v${version}` : `@${alias}`;
        return linkTo && version ? (
          <a key={alias} class="badge alias" data-alias={alias} href={linkTo(version)}>
            {label}
          </a>
        ) : (
          <span key={alias} class="badge alias" data-alias={alias}>
            {label}
          </span>
        );
      })}
    </span>
  );
}
