//! `IdentityStore` for PostgreSQL: each write one retried transaction, each multi-statement
//! read one snapshot, single-statement reads on a pooled connection.

use async_trait::async_trait;
use keel_auth::entities::*;
use keel_auth::grants::{Grant, GrantType, Holdings, Key};
use keel_auth::permission::Permission;
use keel_auth::store::{Holder, IdentityStore, RoleUpdate};
use keel_core::Result;

use super::{PostgresStore, identity as sql};

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn count_users(&self) -> Result<i64> {
        self.query(&(), |c, _| Box::pin(sql::count_users(c))).await
    }

    async fn insert_user(&self, user: &NewUser) -> Result<User> {
        self.write(user, |c, u| Box::pin(sql::insert_user(c, u)))
            .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        self.query(username, |c, name| Box::pin(sql::user_by_name(c, name)))
            .await
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.query(&id, |c, id| Box::pin(sql::user_by_id(c, *id)))
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.query(&(), |c, _| Box::pin(sql::list_users(c))).await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        self.write(user, |c, u| Box::pin(sql::update_user(c, u)))
            .await
    }

    async fn delete_user(&self, id: i64) -> Result<()> {
        self.write(&id, |c, id| Box::pin(sql::delete_user(c, *id)))
            .await
    }

    async fn insert_token(&self, token: &ApiToken) -> Result<()> {
        self.write(token, |c, t| Box::pin(sql::insert_token(c, t)))
            .await
    }

    async fn token(&self, id: &str) -> Result<Option<(ApiToken, User)>> {
        self.query(id, |c, id| Box::pin(sql::token(c, id))).await
    }

    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        self.query(&user_id, |c, id| Box::pin(sql::list_tokens(c, *id)))
            .await
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<()> {
        self.write(&(id, now), |c, (id, now)| {
            Box::pin(sql::revoke_token(c, id, *now))
        })
        .await
    }

    async fn purge_tokens(&self, cutoff: i64) -> Result<u64> {
        self.write(&cutoff, |c, cutoff| Box::pin(sql::purge_tokens(c, *cutoff)))
            .await
    }

    async fn touch_tokens(&self, used: &[(String, i64)]) -> Result<()> {
        self.write(used, |c, used| Box::pin(sql::touch_tokens(c, used)))
            .await
    }

    async fn insert_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role> {
        self.write(&(workspace, name, description), |c, (w, n, d)| {
            Box::pin(sql::insert_role(c, w, n, *d))
        })
        .await
    }

    async fn role(&self, id: i64) -> Result<Option<Role>> {
        self.read(&id, |c, id| Box::pin(sql::role(c, *id))).await
    }

    async fn list_roles(&self, workspaces: Option<&[String]>) -> Result<Vec<Role>> {
        self.read(&workspaces, |c, ws| Box::pin(sql::list_roles(c, *ws)))
            .await
    }

    async fn update_role(&self, id: i64, update: &RoleUpdate) -> Result<Role> {
        self.write(&(id, update), |c, (id, u)| {
            Box::pin(sql::update_role(c, *id, u))
        })
        .await
    }

    async fn delete_role(&self, id: i64) -> Result<()> {
        self.write(&id, |c, id| Box::pin(sql::delete_role(c, *id)))
            .await
    }

    async fn add_role_permission(&self, role_id: i64, grant: &Grant) -> Result<RolePermission> {
        self.write(&(role_id, grant), |c, (r, g)| {
            Box::pin(sql::add_role_permission(c, *r, g))
        })
        .await
    }

    async fn role_permission(&self, id: i64) -> Result<Option<RolePermission>> {
        self.query(&id, |c, id| Box::pin(sql::role_permission(c, *id)))
            .await
    }

    async fn update_role_permission(
        &self,
        id: i64,
        permission: Permission,
    ) -> Result<RolePermission> {
        self.write(&(id, permission), |c, (id, p)| {
            Box::pin(sql::update_role_permission(c, *id, *p))
        })
        .await
    }

    async fn remove_role_permission(&self, id: i64) -> Result<()> {
        self.write(&id, |c, id| Box::pin(sql::remove_role_permission(c, *id)))
            .await
    }

    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<Assignment> {
        self.write(&(user_id, role_id), |c, (u, r)| {
            Box::pin(sql::assign_role(c, *u, *r))
        })
        .await
    }

    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()> {
        self.write(&(user_id, role_id), |c, (u, r)| {
            Box::pin(sql::unassign_role(c, *u, *r))
        })
        .await
    }

    async fn role_assignments(&self, role_id: i64) -> Result<Vec<Assignment>> {
        self.query(&role_id, |c, r| Box::pin(sql::role_assignments(c, *r)))
            .await
    }

    async fn resource_holders(
        &self,
        workspace: &str,
        resource_type: GrantType,
        id: &str,
        limit: i64,
    ) -> Result<Vec<ResourceHolder>> {
        let args = (workspace, resource_type, id, limit);
        self.read(&args, |c, (w, t, id, limit)| {
            Box::pin(sql::resource_holders(c, w, *t, id, *limit))
        })
        .await
    }

    async fn user_roles(&self, user_id: i64) -> Result<Vec<Role>> {
        self.read(&user_id, |c, u| Box::pin(sql::user_roles(c, *u)))
            .await
    }

    async fn grant_user(
        &self,
        user_id: i64,
        workspace: &str,
        grant: &Grant,
        replace: bool,
    ) -> Result<()> {
        self.write(&(user_id, workspace, grant, replace), |c, (u, w, g, r)| {
            Box::pin(sql::grant_user(c, *u, w, g, *r))
        })
        .await
    }

    async fn revoke_user(
        &self,
        user_id: i64,
        workspace: &str,
        resource_type: GrantType,
        pattern: &str,
    ) -> Result<bool> {
        self.write(
            &(user_id, workspace, resource_type, pattern),
            |c, (u, w, t, p)| Box::pin(sql::revoke_user(c, *u, w, *t, p)),
        )
        .await
    }

    async fn rename_grants(&self, types: &[GrantType], from: &str, to: &str) -> Result<()> {
        self.write(&(types, from, to), |c, (types, from, to)| {
            Box::pin(sql::rename_grants(c, types, from, to))
        })
        .await
    }

    async fn holdings(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        keys: &[Key<'_>],
    ) -> Result<Holdings> {
        self.query(&(holder, workspace, keys), |c, (h, w, keys)| {
            Box::pin(sql::holdings(c, *h, w, keys))
        })
        .await
    }

    async fn grants_of_types(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        types: &[GrantType],
    ) -> Result<Holdings> {
        self.query(&(holder, workspace, types), |c, (h, w, t)| {
            Box::pin(sql::grants_of_types(c, *h, w, t))
        })
        .await
    }
}
