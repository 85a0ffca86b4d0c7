//! From a request's target to the facts the policies decide on: the caller's level on the
//! resource (along its rungs), their level on its parent container, and whether a DENY vetoes
//! the action. This is where the reference's per-route requirements live, once for every
//! resource kind instead of once per route.

use crate::grants::{Defaults, GrantType, Holdings, Key};
use crate::permission::Permission;

/// What a request acts on, with what permissions are resolved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The workspace as a whole: creating in it, searching it (results are filtered), and
    /// everything administrative.
    Workspace {
        /// The type of resource being created, whose type-wide DENY vetoes the creation.
        creates: Option<GrantType>,
    },
    /// One experiment.
    Experiment { id: &'a str },
    /// A resource inside an experiment (a run, a trace, a logged model): its type-wide grants,
    /// else the experiment's, decide; reading the experiment is needed too.
    InExperiment {
        kind: GrantType,
        experiment: &'a str,
    },
    /// Creating a resource inside an experiment: EDIT on the experiment, and no DENY on the
    /// created type.
    CreateInExperiment {
        kind: GrantType,
        experiment: &'a str,
    },
    /// A registered model, or a prompt (a registered model tagged as one).
    Model { prompt: bool, name: &'a str },
    /// A version of a registered model or prompt: the version type's grants, else the model's.
    Version { prompt: bool, name: &'a str },
}

/// The facts a decision rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Assessment {
    /// The level on the resource itself (DENY shows as NO_PERMISSIONS; see `denied`).
    pub permission: Permission,
    /// The level on the container the resource is in (reading it is required); the same as
    /// `permission` for top-level resources.
    pub parent_permission: Permission,
    /// Whether a DENY applies.
    pub denied: bool,
}

impl Assessment {
    fn of(permission: Permission, parent_permission: Permission, veto: bool) -> Self {
        let denied =
            veto || permission == Permission::Deny || parent_permission == Permission::Deny;
        let undeny = |p: Permission| {
            if p == Permission::Deny {
                Permission::NoPermissions
            } else {
                p
            }
        };
        Self {
            permission: undeny(permission),
            parent_permission: undeny(parent_permission),
            denied,
        }
    }
}

/// Resolves what `holdings` give on `target`.
pub fn assess(holdings: &Holdings, target: Target<'_>, defaults: Defaults) -> Assessment {
    let resolve = |rungs: &[Key<'_>]| holdings.resolve(rungs, defaults);
    let type_denied = |t: GrantType| {
        !holdings.is_workspace_admin() && holdings.fold(Key::any(t)) == Some(Permission::Deny)
    };
    match target {
        Target::Workspace { creates } => {
            let p = if holdings.is_workspace_admin() {
                Permission::Manage
            } else {
                defaults.absent
            };
            let outsider = defaults.members_only && !holdings.is_member();
            Assessment::of(p, p, creates.is_some_and(|t| outsider || type_denied(t)))
        }
        Target::Experiment { id } => {
            let p = resolve(&[Key::of(GrantType::Experiment, id)]);
            Assessment::of(p, p, false)
        }
        Target::InExperiment { kind, experiment } => {
            let parent = resolve(&[Key::of(GrantType::Experiment, experiment)]);
            let own = resolve(&[Key::any(kind), Key::of(GrantType::Experiment, experiment)]);
            Assessment::of(own, parent, false)
        }
        Target::CreateInExperiment { kind, experiment } => {
            let p = resolve(&[Key::of(GrantType::Experiment, experiment)]);
            Assessment::of(p, p, type_denied(kind))
        }
        Target::Model { prompt, name } => {
            let p = resolve(&[Key::of(container(prompt), name)]);
            Assessment::of(p, p, false)
        }
        Target::Version { prompt, name } => {
            let c = Key::of(container(prompt), name);
            let parent = resolve(&[c]);
            let own = resolve(&[Key::any(version_of(prompt)), c]);
            Assessment::of(own, parent, false)
        }
    }
}

/// The grant type of a version of a registered model or a prompt.
pub(crate) fn version_of(prompt: bool) -> GrantType {
    if prompt {
        GrantType::PromptVersion
    } else {
        GrantType::RegisteredModelVersion
    }
}

/// The grant type of a registered model or a prompt.
pub(crate) fn container(prompt: bool) -> GrantType {
    if prompt {
        GrantType::Prompt
    } else {
        GrantType::RegisteredModel
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::Grant;
    use GrantType as T;
    use Permission as P;

    fn holdings(grants: &[(GrantType, &str, Permission)]) -> Holdings {
        Holdings::new(
            grants
                .iter()
                .map(|(t, pattern, p)| Grant {
                    resource_type: *t,
                    pattern: (*pattern).into(),
                    permission: *p,
                })
                .collect(),
        )
    }

    #[test]
    fn a_run_tier_grant_narrows_writes_but_reads_follow_the_experiment() {
        let h = holdings(&[(T::Experiment, "*", P::Edit), (T::Run, "*", P::Read)]);
        let d = Defaults::without_workspaces(P::Read);
        let a = assess(
            &h,
            Target::InExperiment {
                kind: T::Run,
                experiment: "1",
            },
            d,
        );
        assert_eq!(
            (a.permission, a.parent_permission, a.denied),
            (P::Read, P::Edit, false)
        );
    }

    #[test]
    fn type_wide_denies_veto_creation() {
        let h = holdings(&[(T::Experiment, "1", P::Manage), (T::Run, "*", P::Deny)]);
        let d = Defaults::without_workspaces(P::NoPermissions);
        let a = assess(
            &h,
            Target::CreateInExperiment {
                kind: T::Run,
                experiment: "1",
            },
            d,
        );
        assert!(a.denied);
        assert_eq!(a.permission, P::Manage);
        let a = assess(
            &h,
            Target::Workspace {
                creates: Some(T::Run),
            },
            d,
        );
        assert!(a.denied);
        let a = assess(
            &h,
            Target::Workspace {
                creates: Some(T::Experiment),
            },
            d,
        );
        assert!(!a.denied);
    }

    #[test]
    fn prompts_and_models_resolve_on_their_own_types() {
        let h = holdings(&[
            (T::Prompt, "p", P::Edit),
            (T::RegisteredModel, "*", P::Deny),
        ]);
        let d = Defaults::without_workspaces(P::NoPermissions);
        let p = assess(
            &h,
            Target::Model {
                prompt: true,
                name: "p",
            },
            d,
        );
        assert_eq!((p.permission, p.denied), (P::Edit, false));
        let m = assess(
            &h,
            Target::Version {
                prompt: false,
                name: "p",
            },
            d,
        );
        assert!(m.denied);
        assert_eq!(m.permission, P::NoPermissions);
    }
}
