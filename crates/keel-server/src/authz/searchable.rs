//! Searches over the contents of experiments (runs, traces, logged models) cover only the
//! experiments the caller may read, as the experiment search shows only those: an experiment
//! they may not read, or one in another workspace, is dropped from the request rather than
//! refused, so one unreadable ID does not fail a search over many.

use keel_auth::grants::GrantType;
use keel_core::Error;
use keel_core::validation::MAX_SEARCH_EXPERIMENT_IDS;

use crate::authz::Caller;
use crate::state::AppState;
use crate::workspace::ActiveWorkspace;

/// Keeps the experiments of `ids` whose `contents` the caller may read: a readable experiment,
/// unless a type-wide DENY on `contents` hides them all. The workspace is checked by the
/// caller's store query where it can filter by it, else here (`check_workspace`).
pub async fn retain_readable(
    s: &AppState,
    caller: &Caller,
    workspace: &ActiveWorkspace,
    contents: GrantType,
    check_workspace: bool,
    ids: &mut Vec<String>,
) -> Result<(), Error> {
    let name = workspace.name();
    let experiments = s
        .auth
        .visibility(&caller.0, GrantType::Experiment, name)
        .await?;
    let denied = s.auth.type_denied(&caller.0, contents, name).await?;
    if denied {
        ids.clear();
    }
    experiments.retain_visible(ids);
    if check_workspace && s.workspaces.enabled() {
        // One lookup per experiment: no more than any search may name.
        if ids.len() > MAX_SEARCH_EXPERIMENT_IDS {
            return Err(Error::invalid(format!(
                "A search can name at most {MAX_SEARCH_EXPERIMENT_IDS} experiments, got {}.",
                ids.len()
            )));
        }
        let mut kept = Vec::with_capacity(ids.len());
        for id in ids.drain(..) {
            let theirs = s.workspace_cache.of_experiment(s, &id).await;
            if theirs.as_deref() == Some(name) {
                kept.push(id);
            }
        }
        *ids = kept;
    }
    Ok(())
}
