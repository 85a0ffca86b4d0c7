//! "History": a link to the audit log filtered to one resource (its kind and ID as audit entries
//! name them), shown to administrators, who alone may read the log.
import { isAdministrator } from '../lib/session';
import { href } from '../router';

/** `#/audit?kind=<kind>&id=<id>`: the audit page showing one resource's entries. */
export const historyHref = (kind: string, id: string) => href(['audit'], { kind, id });

export function HistoryLink({ kind, id, noun }: { kind: string; id: string; noun: string }) {
  if (!isAdministrator()) return null;
  return (
    <a class="button history-link" href={historyHref(kind, id)} title={`Every recorded change to this ${noun}: who, what and when, from the audit log`}>
      History
    </a>
  );
}
