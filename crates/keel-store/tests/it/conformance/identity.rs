//! Conformance checks of the identity store: accounts, tokens, roles with their grants and
//! assignments, per-user grants on the user's own role, and the grants a decision reads.

use keel_auth::entities::*;
use keel_auth::grants::{Grant, GrantType, Key};
use keel_auth::permission::Permission;
use keel_auth::store::{Holder, RoleUpdate};
use keel_core::ErrorCode;

use super::{Fixture, T0, expect_err};

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        display_name: Some(format!("{name} display")),
        email: Some(format!("{name}@example.com")),
        is_admin: false,
        kind: AccountKind::User,
        password_hash: Some("$argon2id$v=19$stub".to_owned()),
        created_at: T0,
    }
}

fn grant(t: GrantType, pattern: &str, p: Permission) -> Grant {
    Grant {
        resource_type: t,
        pattern: pattern.to_owned(),
        permission: p,
    }
}

fn token(id: &str, user_id: i64, created_at: i64) -> ApiToken {
    ApiToken {
        id: id.to_owned(),
        user_id,
        name: format!("token {id}"),
        scopes: vec!["read".into()],
        secret_sha256: vec![7; 32],
        created_at,
        expires_at: Some(created_at + 1000),
        last_used_at: None,
        revoked_at: None,
    }
}

pub async fn users_are_unique_updatable_and_deleted_with_what_they_own(f: Fixture) {
    let s = f.identity_store();
    assert_eq!(s.count_users().await.expect("count"), 0);
    let alice = s.insert_user(&new_user("alice")).await.expect("alice");
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.created_at, T0);
    assert_eq!(alice.updated_at, T0);
    let e = expect_err(
        s.insert_user(&new_user("alice")).await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert!(
        e.message.contains("User (username=alice) already exists"),
        "{}",
        e.message
    );
    // Usernames are case-sensitive, as the reference's.
    let upper = s.insert_user(&new_user("Alice")).await.expect("Alice");
    assert_ne!(upper.id, alice.id);
    assert_eq!(s.count_users().await.expect("count"), 2);

    let mut changed = alice.clone();
    changed.is_admin = true;
    changed.password_hash = Some("$argon2id$v=19$other".into());
    changed.updated_at = T0 + 5;
    s.update_user(&changed).await.expect("update");
    assert_eq!(
        s.user_by_name("alice").await.expect("get"),
        Some(changed.clone())
    );
    assert_eq!(s.user_by_id(alice.id).await.expect("get"), Some(changed));
    let listed: Vec<_> = s
        .list_users()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(listed, ["alice", "Alice"]);

    s.insert_token(&token("aaaaaaaaaaaa", alice.id, T0))
        .await
        .expect("token");
    s.grant_user(
        alice.id,
        "default",
        &grant(GrantType::Experiment, "1", Permission::Edit),
        false,
    )
    .await
    .expect("grant");
    s.delete_user(alice.id).await.expect("delete");
    assert_eq!(s.user_by_name("alice").await.expect("get"), None);
    assert_eq!(s.token("aaaaaaaaaaaa").await.expect("token"), None);
    assert!(
        s.list_roles(None).await.expect("roles").is_empty(),
        "the user's own role went with it"
    );
    expect_err(
        s.delete_user(alice.id).await,
        ErrorCode::ResourceDoesNotExist,
    );
    let mut ghost = upper.clone();
    ghost.id = 999_999;
    expect_err(s.update_user(&ghost).await, ErrorCode::ResourceDoesNotExist);
}

pub async fn tokens_are_found_with_their_owner_revoked_and_touched(f: Fixture) {
    let s = f.identity_store();
    let bot = s
        .insert_user(&NewUser {
            kind: AccountKind::ServiceAccount,
            password_hash: None,
            ..new_user("ci-bot")
        })
        .await
        .expect("bot");
    assert_eq!(bot.kind, AccountKind::ServiceAccount);
    s.insert_token(&token("000000000001", bot.id, T0))
        .await
        .expect("t1");
    s.insert_token(&token("000000000002", bot.id, T0 + 1))
        .await
        .expect("t2");
    expect_err(
        s.insert_token(&token("000000000003", 424_242, T0)).await,
        ErrorCode::ResourceDoesNotExist,
    );
    let (t, owner) = s.token("000000000001").await.expect("get").expect("found");
    assert_eq!(t, token("000000000001", bot.id, T0));
    assert_eq!(owner, bot);
    assert!(t.is_live(T0) && !t.is_live(T0 + 1000));
    let ids: Vec<_> = s
        .list_tokens(bot.id)
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["000000000002", "000000000001"], "newest first");

    s.touch_tokens(&[
        ("000000000001".into(), T0 + 50),
        ("000000000001".into(), T0 + 40),
    ])
    .await
    .expect("touch");
    let (t, _) = s.token("000000000001").await.expect("get").expect("found");
    assert_eq!(t.last_used_at, Some(T0 + 50), "never moves back");
    s.revoke_token("000000000001", T0 + 60)
        .await
        .expect("revoke");
    s.revoke_token("000000000001", T0 + 70)
        .await
        .expect("again");
    let (t, _) = s.token("000000000001").await.expect("get").expect("found");
    assert_eq!(t.revoked_at, Some(T0 + 60), "the first revocation stands");
    assert!(!t.is_live(T0));
    expect_err(
        s.revoke_token("ffffffffffff", T0).await,
        ErrorCode::ResourceDoesNotExist,
    );

    // Purging takes what ended before the cutoff, and never a token without an end.
    s.insert_token(&ApiToken {
        expires_at: None,
        ..token("000000000004", bot.id, T0)
    })
    .await
    .expect("t4");
    assert_eq!(
        s.purge_tokens(T0 + 60).await.expect("purge"),
        0,
        "not before"
    );
    assert_eq!(s.purge_tokens(T0 + 61).await.expect("purge"), 1);
    assert!(
        s.token("000000000001").await.expect("get").is_none(),
        "revoked"
    );
    assert_eq!(s.purge_tokens(T0 + 1002).await.expect("purge"), 1);
    assert!(
        s.token("000000000002").await.expect("get").is_none(),
        "expired"
    );
    assert_eq!(s.purge_tokens(i64::MAX).await.expect("purge"), 0);
    assert!(s.token("000000000004").await.expect("get").is_some());
}

pub async fn roles_their_permissions_and_assignments(f: Fixture) {
    let s = f.identity_store();
    let bob = s.insert_user(&new_user("bob")).await.expect("bob");
    let role = s
        .insert_role("default", "readers", Some("read all"))
        .await
        .expect("role");
    assert_eq!(
        (role.name.as_str(), role.workspace.as_str()),
        ("readers", "default")
    );
    assert!(role.permissions.is_empty());
    let e = expect_err(
        s.insert_role("default", "readers", None).await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert!(
        e.message.contains("Role (name=readers, workspace=default)"),
        "{}",
        e.message
    );
    let other_ws = s
        .insert_role("team-a", "readers", None)
        .await
        .expect("other ws");

    let rp = s
        .add_role_permission(
            role.id,
            &grant(GrantType::Experiment, "*", Permission::Read),
        )
        .await
        .expect("add");
    expect_err(
        s.add_role_permission(
            role.id,
            &grant(GrantType::Experiment, "*", Permission::Edit),
        )
        .await,
        ErrorCode::ResourceAlreadyExists,
    );
    expect_err(
        s.add_role_permission(9_999, &grant(GrantType::Experiment, "*", Permission::Read))
            .await,
        ErrorCode::ResourceDoesNotExist,
    );
    let updated = s
        .update_role_permission(rp.id, Permission::Edit)
        .await
        .expect("update");
    assert_eq!(updated.grant.permission, Permission::Edit);
    assert_eq!(
        s.role_permission(rp.id).await.expect("get"),
        Some(updated.clone())
    );
    let role_now = s.role(role.id).await.expect("get").expect("found");
    assert_eq!(role_now.permissions, [updated]);

    let renamed = s
        .update_role(
            role.id,
            &RoleUpdate {
                name: Some("editors".into()),
                description: Some(None),
            },
        )
        .await
        .expect("rename");
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_deref()),
        ("editors", None)
    );
    s.insert_role("default", "taken", None)
        .await
        .expect("taken");
    expect_err(
        s.update_role(
            role.id,
            &RoleUpdate {
                name: Some("taken".into()),
                description: None,
            },
        )
        .await,
        ErrorCode::ResourceAlreadyExists,
    );

    let a = s.assign_role(bob.id, role.id).await.expect("assign");
    assert_eq!((a.user_id, a.role_id), (bob.id, role.id));
    let e = expect_err(
        s.assign_role(bob.id, role.id).await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert!(e.message.contains("already exists"), "{}", e.message);
    s.assign_role(bob.id, other_ws.id).await.expect("assign 2");
    assert_eq!(s.role_assignments(role.id).await.expect("list"), [a]);
    let names: Vec<_> = s
        .user_roles(bob.id)
        .await
        .expect("roles")
        .into_iter()
        .map(|r| (r.workspace, r.name))
        .collect();
    assert_eq!(
        names,
        [
            ("default".to_owned(), "editors".to_owned()),
            ("team-a".to_owned(), "readers".to_owned())
        ]
    );
    let in_team: Vec<_> = s
        .list_roles(Some(&["team-a".to_owned()]))
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(in_team, [other_ws.id]);

    s.unassign_role(bob.id, other_ws.id)
        .await
        .expect("unassign");
    expect_err(
        s.unassign_role(bob.id, other_ws.id).await,
        ErrorCode::ResourceDoesNotExist,
    );
    s.remove_role_permission(rp.id).await.expect("remove");
    expect_err(
        s.remove_role_permission(rp.id).await,
        ErrorCode::ResourceDoesNotExist,
    );
    s.delete_role(role.id).await.expect("delete");
    assert!(s.role(role.id).await.expect("get").is_none());
    assert!(s.role_assignments(role.id).await.expect("list").is_empty());
    expect_err(
        s.delete_role(role.id).await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn user_grants_live_on_the_users_own_role_per_workspace(f: Fixture) {
    let s = f.identity_store();
    let carol = s.insert_user(&new_user("carol")).await.expect("carol");
    let g = grant(GrantType::Experiment, "7", Permission::Manage);
    s.grant_user(carol.id, "default", &g, false)
        .await
        .expect("grant");
    let e = expect_err(
        s.grant_user(carol.id, "default", &g, false).await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert!(e.message.contains("already exists"), "{}", e.message);
    s.grant_user(
        carol.id,
        "default",
        &grant(GrantType::Experiment, "7", Permission::Read),
        true,
    )
    .await
    .expect("replace");
    s.grant_user(carol.id, "team-a", &g, false)
        .await
        .expect("other ws");
    let roles = s.user_roles(carol.id).await.expect("roles");
    assert_eq!(roles.len(), 2);
    assert!(roles.iter().all(|r| r.name == user_role_name(carol.id)));
    let default_role = roles
        .iter()
        .find(|r| r.workspace == "default")
        .expect("default");
    assert_eq!(default_role.permissions.len(), 1);
    assert_eq!(
        default_role.permissions[0].grant.permission,
        Permission::Read
    );

    assert!(
        s.revoke_user(carol.id, "default", GrantType::Experiment, "7")
            .await
            .expect("revoke")
    );
    assert!(
        !s.revoke_user(carol.id, "default", GrantType::Experiment, "7")
            .await
            .expect("again")
    );
    assert!(
        !s.revoke_user(carol.id, "nowhere", GrantType::Experiment, "7")
            .await
            .expect("no role")
    );
    expect_err(
        s.grant_user(123_456, "default", &g, false).await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn holdings_hold_only_grants_that_bear_on_the_keys(f: Fixture) {
    let s = f.identity_store();
    let dan = s.insert_user(&new_user("dan")).await.expect("dan");
    let eve = s.insert_user(&new_user("eve")).await.expect("eve");
    for (t, p, perm) in [
        (GrantType::Experiment, "1", Permission::Edit),
        (GrantType::Experiment, "2", Permission::Read),
        (GrantType::Run, "*", Permission::Deny),
        (GrantType::RegisteredModel, "1", Permission::Manage),
    ] {
        s.grant_user(dan.id, "default", &grant(t, p, perm), false)
            .await
            .expect("grant");
    }
    s.grant_user(
        eve.id,
        "default",
        &grant(GrantType::Experiment, "1", Permission::Manage),
        false,
    )
    .await
    .expect("eve");
    let role = s
        .insert_role("default", "ws-users", None)
        .await
        .expect("role");
    s.add_role_permission(role.id, &grant(GrantType::Workspace, "*", Permission::Use))
        .await
        .expect("ws grant");
    s.assign_role(dan.id, role.id).await.expect("assign");
    let other = s
        .insert_role("team-a", "admins", None)
        .await
        .expect("other");
    s.add_role_permission(
        other.id,
        &grant(GrantType::Workspace, "*", Permission::Manage),
    )
    .await
    .expect("other ws grant");
    s.assign_role(dan.id, other.id).await.expect("assign other");

    let h = s
        .holdings(
            Holder::user(dan.id),
            "default",
            &[
                Key::any(GrantType::Run),
                Key::of(GrantType::Experiment, "1"),
            ],
        )
        .await
        .expect("holdings");
    let mut got: Vec<_> = h
        .grants
        .iter()
        .map(|g| (g.resource_type, g.pattern.clone(), g.permission))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (GrantType::Experiment, "1".to_owned(), Permission::Edit),
            (GrantType::Run, "*".to_owned(), Permission::Deny),
            (GrantType::Workspace, "*".to_owned(), Permission::Use),
        ],
        "not experiment 2, not the model named 1, not eve's, not team-a's"
    );
    assert!(!h.is_workspace_admin());
    let team = s
        .holdings(
            Holder::user(dan.id),
            "team-a",
            &[Key::of(GrantType::Experiment, "1")],
        )
        .await
        .expect("team-a");
    assert!(team.is_workspace_admin());
    let none = s
        .holdings(
            Holder::user(eve.id),
            "team-a",
            &[Key::of(GrantType::Experiment, "1")],
        )
        .await
        .expect("none");
    assert!(none.grants.is_empty());

    // A group holds the role of its name in the workspace: eve in group `admins` is a
    // workspace admin of team-a (not of default), and dan's own role is nobody's group.
    let groups = ["admins".to_owned(), format!("__user_{}__", dan.id)];
    let eve_in_groups = Holder {
        user_id: eve.id,
        groups: &groups,
    };
    let grouped = s
        .holdings(
            eve_in_groups,
            "team-a",
            &[Key::of(GrantType::Experiment, "1")],
        )
        .await
        .expect("grouped");
    assert!(grouped.is_workspace_admin());
    let by_type = s
        .grants_of_types(eve_in_groups, "team-a", &[GrantType::Workspace])
        .await
        .expect("of types");
    assert!(by_type.is_workspace_admin());
    let default = s
        .holdings(
            eve_in_groups,
            "default",
            &[
                Key::of(GrantType::Experiment, "1"),
                Key::any(GrantType::Run),
            ],
        )
        .await
        .expect("default");
    assert_eq!(
        default.fold(Key::any(GrantType::Run)),
        None,
        "dan's own role is not a group's"
    );
    assert_eq!(
        default.fold(Key::of(GrantType::Experiment, "1")),
        Some(Permission::Manage),
        "eve's own grant; not team-a's role"
    );
}

pub async fn renamed_models_keep_their_grants(f: Fixture) {
    let s = f.identity_store();
    let fay = s.insert_user(&new_user("fay")).await.expect("fay");
    s.grant_user(
        fay.id,
        "default",
        &grant(GrantType::RegisteredModel, "old", Permission::Manage),
        false,
    )
    .await
    .expect("grant");
    s.grant_user(
        fay.id,
        "default",
        &grant(GrantType::Experiment, "old", Permission::Read),
        false,
    )
    .await
    .expect("unrelated type");
    s.rename_grants(
        &[GrantType::RegisteredModel, GrantType::Prompt],
        "old",
        "new",
    )
    .await
    .expect("rename");
    let h = s
        .holdings(
            Holder::user(fay.id),
            "default",
            &[
                Key::of(GrantType::RegisteredModel, "new"),
                Key::of(GrantType::Experiment, "old"),
            ],
        )
        .await
        .expect("holdings");
    assert_eq!(
        h.fold(Key::of(GrantType::RegisteredModel, "new")),
        Some(Permission::Manage)
    );
    assert_eq!(h.fold(Key::of(GrantType::RegisteredModel, "old")), None);
    assert_eq!(
        h.fold(Key::of(GrantType::Experiment, "old")),
        Some(Permission::Read)
    );
}

pub async fn resource_holders_are_the_grants_bearing_on_one_resource(f: Fixture) {
    let s = f.identity_store();
    let alice = s.insert_user(&new_user("alice")).await.expect("alice");
    let bob = s.insert_user(&new_user("bob")).await.expect("bob");
    let carol = s.insert_user(&new_user("carol")).await.expect("carol");
    // Alice's own grant on experiment 7, and on experiment 8 (not asked about).
    for id in ["7", "8"] {
        s.grant_user(
            alice.id,
            "default",
            &grant(GrantType::Experiment, id, Permission::Manage),
            false,
        )
        .await
        .expect("alice");
    }
    let role = |name: &'static str, workspace: &'static str, g: Grant| {
        let s = s.clone();
        async move {
            let r = s.insert_role(workspace, name, None).await.expect("role");
            s.add_role_permission(r.id, &g).await.expect("grant");
            r
        }
    };
    let editors = role(
        "editors",
        "default",
        grant(GrantType::Experiment, "*", Permission::Edit),
    )
    .await;
    for u in [&carol, &bob] {
        s.assign_role(u.id, editors.id).await.expect("assign");
    }
    // A group's role: no accounts assigned (its members are known when they sign in).
    let admins = role(
        "ml-admins",
        "default",
        grant(GrantType::Workspace, "*", Permission::Manage),
    )
    .await;
    // Grants that do not bear on experiment 7 here.
    role(
        "members",
        "default",
        grant(GrantType::Workspace, "*", Permission::Use),
    )
    .await;
    role(
        "models",
        "default",
        grant(GrantType::RegisteredModel, "7", Permission::Read),
    )
    .await;
    let elsewhere = role(
        "editors",
        "team-a",
        grant(GrantType::Experiment, "7", Permission::Read),
    )
    .await;
    s.assign_role(bob.id, elsewhere.id).await.expect("assign");

    let holders = s
        .resource_holders("default", GrantType::Experiment, "7", 100)
        .await
        .expect("holders");
    let summary: Vec<(String, String, Permission, Vec<String>)> = holders
        .iter()
        .map(|h| {
            (
                h.role_name.clone(),
                h.grant.pattern.clone(),
                h.grant.permission,
                h.usernames.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                user_role_name(alice.id),
                "7".to_owned(),
                Permission::Manage,
                vec!["alice".to_owned()]
            ),
            (
                "editors".to_owned(),
                "*".to_owned(),
                Permission::Edit,
                vec!["bob".to_owned(), "carol".to_owned()]
            ),
            (
                "ml-admins".to_owned(),
                "*".to_owned(),
                Permission::Manage,
                vec![]
            ),
        ]
    );
    assert_eq!(holders[2].role_id, admins.id);
    assert_eq!(holders[2].grant.resource_type, GrantType::Workspace);
    // The row limit bounds what is read.
    let few = s
        .resource_holders("default", GrantType::Experiment, "7", 2)
        .await
        .expect("holders");
    let rows: usize = few.iter().map(|h| h.usernames.len().max(1)).sum();
    assert_eq!(rows, 2);
    assert!(
        s.resource_holders("team-b", GrantType::Experiment, "7", 100)
            .await
            .expect("holders")
            .is_empty()
    );
}
