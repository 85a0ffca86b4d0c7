//! A differential property test of authorization: random users (admin or not, in groups),
//! random grants (DENYs included), random token scopes and random targets, decided by the real pipeline (grant
//! resolution, assessment, the Cedar engine with the built-in policies) and by a small model
//! of the reference's rules written here from its description, for every catalogued action.

use keel_auth::actions::{Action, CATALOGUE, ResourceKind};
use keel_auth::assess::{Target, assess};
use keel_auth::grants::{Defaults, Grant, GrantType, Holdings};
use keel_auth::permission::{Capability, Permission};
use keel_auth::policy::{PolicyEngine, PolicyPrincipal, PolicyResource, Query};
use keel_auth::scope::{self, Scopes};
use proptest::prelude::*;

const TYPES: [GrantType; 9] = [
    GrantType::Experiment,
    GrantType::Run,
    GrantType::Trace,
    GrantType::LoggedModel,
    GrantType::RegisteredModel,
    GrantType::RegisteredModelVersion,
    GrantType::Prompt,
    GrantType::PromptVersion,
    GrantType::Workspace,
];
const IDS: [&str; 3] = ["1", "2", "m"];
const LEVELS: [Permission; 6] = [
    Permission::Deny,
    Permission::NoPermissions,
    Permission::Read,
    Permission::Use,
    Permission::Edit,
    Permission::Manage,
];

fn grant() -> impl Strategy<Value = Grant> {
    (0..TYPES.len(), 0..=IDS.len(), 0..LEVELS.len()).prop_map(|(t, id, level)| Grant {
        resource_type: TYPES[t],
        pattern: IDS.get(id).map_or("*", |s| *s).to_owned(),
        permission: LEVELS[level],
    })
}

/// A target, as (variant, kind index, id index, prompt).
fn target() -> impl Strategy<Value = (u8, usize, usize, bool)> {
    (0u8..6, 0..3usize, 0..IDS.len(), any::<bool>())
}

fn make_target(t: (u8, usize, usize, bool)) -> Target<'static> {
    let (variant, kind, id, prompt) = t;
    let kind = [GrantType::Run, GrantType::Trace, GrantType::LoggedModel][kind];
    let id = IDS[id];
    match variant {
        0 => Target::Workspace {
            creates: Some(GrantType::Experiment),
        },
        1 => Target::Experiment { id },
        2 => Target::InExperiment {
            kind,
            experiment: id,
        },
        3 => Target::CreateInExperiment {
            kind,
            experiment: id,
        },
        4 => Target::Model { prompt, name: id },
        _ => Target::Version { prompt, name: id },
    }
}

/// The model: the reference's rules, written directly.
mod model {
    use super::*;

    fn level_on(
        grants: &[Grant],
        rungs: &[(GrantType, Option<&str>)],
        default: Permission,
    ) -> Permission {
        for (t, id) in rungs {
            let on_key: Vec<Permission> = grants
                .iter()
                .filter(|g| {
                    g.resource_type == *t && (g.pattern == "*" || Some(g.pattern.as_str()) == *id)
                })
                .map(|g| g.permission)
                .collect();
            if on_key.contains(&Permission::Deny) {
                return Permission::Deny;
            }
            if let Some(best) = on_key.into_iter().max() {
                return best.max(default);
            }
        }
        default
    }

    fn need(c: Capability) -> Permission {
        match c {
            Capability::Read => Permission::Read,
            Capability::Use => Permission::Use,
            Capability::Update => Permission::Edit,
            _ => Permission::Manage,
        }
    }

    /// A token limited to scopes may take only the actions its scopes name (never a change of
    /// its owner's credentials); a token without scopes, anything its owner may.
    pub fn token_may(scopes: &[String], capability: Capability) -> bool {
        let needs = match capability {
            Capability::Public => return true,
            Capability::OwnCredentials => return scopes.is_empty(),
            Capability::Read | Capability::Authenticated => "read",
            Capability::Use => "use",
            Capability::Update | Capability::Delete | Capability::Create => "write",
            Capability::Manage => "manage",
            Capability::Admin => "admin",
        };
        scopes.is_empty() || scopes.iter().any(|s| s == needs)
    }

    pub fn allowed(
        is_admin: bool,
        grants: &[Grant],
        default: Permission,
        action: &Action,
        target: Target<'_>,
    ) -> bool {
        if is_admin {
            return true;
        }
        let ws_admin = grants
            .iter()
            .any(|g| g.resource_type == GrantType::Workspace && g.permission == Permission::Manage);
        let type_denied = |t: GrantType| {
            !ws_admin
                && grants.iter().any(|g| {
                    g.resource_type == t && g.pattern == "*" && g.permission == Permission::Deny
                })
        };
        let lvl = |rungs: &[(GrantType, Option<&str>)]| {
            if ws_admin {
                Permission::Manage
            } else {
                level_on(grants, rungs, default)
            }
        };
        let container = |prompt: bool| {
            if prompt {
                GrantType::Prompt
            } else {
                GrantType::RegisteredModel
            }
        };
        let (own, parent, veto) = match target {
            Target::Workspace { creates } => {
                let p = if ws_admin {
                    Permission::Manage
                } else {
                    default
                };
                (p, p, creates.is_some_and(type_denied))
            }
            Target::Experiment { id } => {
                let p = lvl(&[(GrantType::Experiment, Some(id))]);
                (p, p, false)
            }
            Target::InExperiment { kind, experiment } => (
                lvl(&[(kind, None), (GrantType::Experiment, Some(experiment))]),
                lvl(&[(GrantType::Experiment, Some(experiment))]),
                false,
            ),
            Target::CreateInExperiment { kind, experiment } => {
                let p = lvl(&[(GrantType::Experiment, Some(experiment))]);
                (p, p, type_denied(kind))
            }
            Target::Model { prompt, name } => {
                let p = lvl(&[(container(prompt), Some(name))]);
                (p, p, false)
            }
            Target::Version { prompt, name } => {
                let v = if prompt {
                    GrantType::PromptVersion
                } else {
                    GrantType::RegisteredModelVersion
                };
                (
                    lvl(&[(v, None), (container(prompt), Some(name))]),
                    lvl(&[(container(prompt), Some(name))]),
                    false,
                )
            }
        };
        if veto || own == Permission::Deny || parent == Permission::Deny {
            return false;
        }
        match action.capability {
            Capability::Admin => false,
            Capability::Authenticated
            | Capability::OwnCredentials
            | Capability::Create
            | Capability::Public => true,
            c => own >= need(c) && parent >= Permission::Read,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_pipeline_decides_as_the_model(
        is_admin in any::<bool>(),
        groups in proptest::collection::vec("[a-z]{1,6}", 0..3),
        grants in proptest::collection::vec(grant(), 0..8),
        default_read in any::<bool>(),
        action_index in 0..CATALOGUE.len(),
        t in target(),
        scopes in proptest::collection::vec(0..scope::NAMES.len(), 0..3),
    ) {
        let engine = engine();
        let action = &CATALOGUE[action_index];
        let target = make_target(t);
        let default = if default_read { Permission::Read } else { Permission::NoPermissions };
        let holdings = Holdings::new(grants.clone());
        let assessment = assess(&holdings, target, Defaults::without_workspaces(default));
        let principal = PolicyPrincipal {
            id: "42".into(),
            username: "someone".into(),
            is_admin,
            kind: "user",
            groups,
        };
        let resource = PolicyResource {
            kind: ResourceKind::Run,
            id: "r".into(),
            parents: vec![(ResourceKind::Experiment, "1".into()), (ResourceKind::Workspace, "default".into())],
        };
        let scopes: Vec<String> = scopes.iter().map(|&i| scope::NAMES[i].to_owned()).collect();
        let in_scope = Scopes::of(&scopes).allow(action.capability);
        let decision = engine.decide(&Query { principal: &principal, action, resource: &resource, assessment, in_scope });
        prop_assert!(decision.errors.is_empty(), "{:?}", decision);
        let expected = model::token_may(&scopes, action.capability)
            && model::allowed(is_admin, &grants, default, action, target);
        prop_assert_eq!(decision.allowed, expected, "{} on {:?} with {:?}: {:?}", action.name, target, grants, decision);
    }
}

fn engine() -> &'static PolicyEngine {
    static ENGINE: std::sync::OnceLock<PolicyEngine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| PolicyEngine::new(None).expect("engine"))
}
