//! Tests of the Cedar engine: the built-in policies, operators' policies, fail-closed.

use super::*;
use crate::actions::find;
use crate::permission::Permission;

fn user(is_admin: bool) -> PolicyPrincipal {
    PolicyPrincipal {
        id: "7".into(),
        username: "alice".into(),
        is_admin,
        kind: "user",
        groups: vec!["ml-team".into()],
    }
}

fn run() -> PolicyResource {
    PolicyResource {
        kind: ResourceKind::Run,
        id: "r1".into(),
        parents: vec![
            (ResourceKind::Experiment, "3".into()),
            (ResourceKind::Workspace, "default".into()),
        ],
    }
}

fn decide(
    engine: &PolicyEngine,
    p: &PolicyPrincipal,
    action: &str,
    r: &PolicyResource,
    permission: Permission,
    denied: bool,
) -> Decision {
    engine.decide(&Query {
        principal: p,
        action: find(action).expect("catalogued"),
        resource: r,
        assessment: Assessment {
            permission,
            parent_permission: permission,
            denied,
        },
        in_scope: true,
    })
}

#[test]
fn the_schema_and_built_in_policies_are_valid() {
    let engine = PolicyEngine::new(None).expect("engine");
    assert!(
        engine
            .schema_text()
            .contains("action \"runs.update\" in [\"update\"]")
    );
}

#[test]
fn levels_allow_what_they_grant_and_nothing_more() {
    let engine = PolicyEngine::new(None).expect("engine");
    let alice = user(false);
    let r = run();
    let cases = [
        ("runs.read", Permission::NoPermissions, false),
        ("runs.read", Permission::Read, true),
        ("runs.update", Permission::Read, false),
        ("runs.update", Permission::Use, false),
        ("runs.update", Permission::Edit, true),
        ("runs.delete", Permission::Edit, false),
        ("runs.delete", Permission::Manage, true),
    ];
    for (action, level, allowed) in cases {
        let d = decide(&engine, &alice, action, &r, level, false);
        assert_eq!(d.allowed, allowed, "{action} with {level:?}: {d:?}");
        assert!(d.errors.is_empty(), "{d:?}");
    }
    let d = decide(&engine, &alice, "runs.read", &r, Permission::Read, false);
    assert_eq!(d.policy_ids, ["keel.read"]);
}

#[test]
fn deny_wins_over_any_level_but_not_over_admins() {
    let engine = PolicyEngine::new(None).expect("engine");
    let r = run();
    let d = decide(
        &engine,
        &user(false),
        "runs.read",
        &r,
        Permission::Manage,
        true,
    );
    assert!(!d.allowed);
    assert_eq!(d.policy_ids, ["keel.deny"]);
    let d = decide(
        &engine,
        &user(true),
        "runs.read",
        &r,
        Permission::NoPermissions,
        true,
    );
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.policy_ids, ["keel.admin"]);
}

#[test]
fn admin_actions_need_an_admin() {
    let engine = PolicyEngine::new(None).expect("engine");
    let ws = PolicyResource {
        kind: ResourceKind::Workspace,
        id: "default".into(),
        parents: vec![],
    };
    let d = decide(
        &engine,
        &user(false),
        "webhooks.create",
        &ws,
        Permission::Manage,
        false,
    );
    assert!(!d.allowed);
    assert!(
        decide(
            &engine,
            &user(true),
            "webhooks.create",
            &ws,
            Permission::NoPermissions,
            false
        )
        .allowed
    );
    assert!(
        decide(
            &engine,
            &user(false),
            "experiments.create",
            &ws,
            Permission::NoPermissions,
            false
        )
        .allowed
    );
}

#[test]
fn operator_policies_are_validated_and_apply() {
    let forbid_group = r#"
        @id("no-deletes-for-ml-team")
        forbid (principal in Keel::Group::"ml-team", action in Keel::Action::"delete", resource);
    "#;
    let engine = PolicyEngine::new(Some(("policies.cedar", forbid_group))).expect("engine");
    let d = decide(
        &engine,
        &user(false),
        "runs.delete",
        &run(),
        Permission::Manage,
        false,
    );
    assert!(!d.allowed);
    assert_eq!(d.policy_ids, ["no-deletes-for-ml-team"]);
    // Scoped to one experiment through the hierarchy.
    let by_experiment = r#"
        @id("read-exp-3")
        permit (principal, action in Keel::Action::"read", resource in Keel::Experiment::"3");
    "#;
    let engine = PolicyEngine::new(Some(("p.cedar", by_experiment))).expect("engine");
    let d = decide(
        &engine,
        &user(false),
        "runs.read",
        &run(),
        Permission::NoPermissions,
        false,
    );
    assert!(d.allowed, "{d:?}");
}

#[test]
fn invalid_operator_policies_refuse_to_start_naming_the_policy() {
    for (text, needle) in [
        (
            r#"@id("typo") permit (principal, action == Keel::Action::"runs.updat", resource);"#,
            "typo",
        ),
        (
            r#"@id("bad-attr") permit (principal, action, resource) when { principal.is_root };"#,
            "bad-attr",
        ),
        (
            "permit (principal, action, resource) when {",
            "do not parse",
        ),
        (
            r#"@id("tmpl") permit (principal == ?principal, action, resource);"#,
            "template",
        ),
    ] {
        let e = PolicyEngine::new(Some(("policies.cedar", text))).expect_err(text);
        assert!(e.message.contains(needle), "{text}: {}", e.message);
    }
}

#[test]
fn evaluation_errors_are_denies() {
    // A policy that errors at run time (an integer overflow) makes the decision a deny even
    // when another policy permits.
    let overflow = r#"
        @id("overflow")
        forbid (principal, action, resource) when { context.permission * 9223372036854775807 > 1 };
    "#;
    let engine = PolicyEngine::new(Some(("p.cedar", overflow))).expect("engine");
    let d = decide(
        &engine,
        &user(true),
        "runs.read",
        &run(),
        Permission::Manage,
        false,
    );
    assert!(!d.allowed, "{d:?}");
    assert!(!d.errors.is_empty());
}
