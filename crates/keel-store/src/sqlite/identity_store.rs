//! `IdentityStore` for SQLite: writes on the writer, reads on a reader.

use async_trait::async_trait;
use keel_auth::entities::*;
use keel_auth::grants::{Grant, GrantType, Holdings, Key};
use keel_auth::permission::Permission;
use keel_auth::store::{Holder, IdentityStore, RoleUpdate};
use keel_core::Result;

use super::{SqliteStore, identity as sql};

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn count_users(&self) -> Result<i64> {
        self.read(sql::count_users).await
    }

    async fn insert_user(&self, user: &NewUser) -> Result<User> {
        let u = user.clone();
        self.write(move |c| sql::insert_user(c, &u)).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let name = username.to_owned();
        self.read(move |c| sql::user_by_name(c, &name)).await
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.read(move |c| sql::user_by_id(c, id)).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(sql::list_users).await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        let u = user.clone();
        self.write(move |c| sql::update_user(c, &u)).await
    }

    async fn delete_user(&self, id: i64) -> Result<()> {
        self.write(move |c| sql::delete_user(c, id)).await
    }

    async fn insert_token(&self, token: &ApiToken) -> Result<()> {
        let t = token.clone();
        self.write(move |c| sql::insert_token(c, &t)).await
    }

    async fn token(&self, id: &str) -> Result<Option<(ApiToken, User)>> {
        let id = id.to_owned();
        self.read(move |c| sql::token(c, &id)).await
    }

    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        self.read(move |c| sql::list_tokens(c, user_id)).await
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<()> {
        let id = id.to_owned();
        self.write(move |c| sql::revoke_token(c, &id, now)).await
    }

    async fn purge_tokens(&self, cutoff: i64) -> Result<u64> {
        self.write(move |c| sql::purge_tokens(c, cutoff)).await
    }

    async fn touch_tokens(&self, used: &[(String, i64)]) -> Result<()> {
        let used = used.to_vec();
        self.write(move |c| sql::touch_tokens(c, &used)).await
    }

    async fn insert_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role> {
        let (w, n, d) = (
            workspace.to_owned(),
            name.to_owned(),
            description.map(str::to_owned),
        );
        self.write(move |c| sql::insert_role(c, &w, &n, d.as_deref()))
            .await
    }

    async fn role(&self, id: i64) -> Result<Option<Role>> {
        self.read(move |c| sql::role(c, id)).await
    }

    async fn list_roles(&self, workspaces: Option<&[String]>) -> Result<Vec<Role>> {
        let ws = workspaces.map(<[String]>::to_vec);
        self.read(move |c| sql::list_roles(c, ws.as_deref())).await
    }

    async fn update_role(&self, id: i64, update: &RoleUpdate) -> Result<Role> {
        let u = update.clone();
        self.write(move |c| sql::update_role(c, id, &u)).await
    }

    async fn delete_role(&self, id: i64) -> Result<()> {
        self.write(move |c| sql::delete_role(c, id)).await
    }

    async fn add_role_permission(&self, role_id: i64, grant: &Grant) -> Result<RolePermission> {
        let g = grant.clone();
        self.write(move |c| sql::add_role_permission(c, role_id, &g))
            .await
    }

    async fn role_permission(&self, id: i64) -> Result<Option<RolePermission>> {
        self.read(move |c| sql::role_permission(c, id)).await
    }

    async fn update_role_permission(
        &self,
        id: i64,
        permission: Permission,
    ) -> Result<RolePermission> {
        self.write(move |c| sql::update_role_permission(c, id, permission))
            .await
    }

    async fn remove_role_permission(&self, id: i64) -> Result<()> {
        self.write(move |c| sql::remove_role_permission(c, id))
            .await
    }

    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<Assignment> {
        self.write(move |c| sql::assign_role(c, user_id, role_id))
            .await
    }

    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()> {
        self.write(move |c| sql::unassign_role(c, user_id, role_id))
            .await
    }

    async fn role_assignments(&self, role_id: i64) -> Result<Vec<Assignment>> {
        self.read(move |c| sql::role_assignments(c, role_id)).await
    }

    async fn resource_holders(
        &self,
        workspace: &str,
        resource_type: GrantType,
        id: &str,
        limit: i64,
    ) -> Result<Vec<ResourceHolder>> {
        let (w, id) = (workspace.to_owned(), id.to_owned());
        self.read(move |c| sql::resource_holders(c, &w, resource_type, &id, limit))
            .await
    }

    async fn user_roles(&self, user_id: i64) -> Result<Vec<Role>> {
        self.read(move |c| sql::user_roles(c, user_id)).await
    }

    async fn grant_user(
        &self,
        user_id: i64,
        workspace: &str,
        grant: &Grant,
        replace: bool,
    ) -> Result<()> {
        let (w, g) = (workspace.to_owned(), grant.clone());
        self.write(move |c| sql::grant_user(c, user_id, &w, &g, replace))
            .await
    }

    async fn revoke_user(
        &self,
        user_id: i64,
        workspace: &str,
        resource_type: GrantType,
        pattern: &str,
    ) -> Result<bool> {
        let (w, p) = (workspace.to_owned(), pattern.to_owned());
        self.write(move |c| sql::revoke_user(c, user_id, &w, resource_type, &p))
            .await
    }

    async fn rename_grants(&self, types: &[GrantType], from: &str, to: &str) -> Result<()> {
        let (t, f, to) = (types.to_vec(), from.to_owned(), to.to_owned());
        self.write(move |c| sql::rename_grants(c, &t, &f, &to))
            .await
    }

    async fn holdings(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        keys: &[Key<'_>],
    ) -> Result<Holdings> {
        let (h, w, k) = (
            sql::OwnedHolder::from(holder),
            workspace.to_owned(),
            sql::owned_keys(keys),
        );
        self.read(move |c| sql::holdings(c, &h, &w, &k)).await
    }

    async fn grants_of_types(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        types: &[GrantType],
    ) -> Result<Holdings> {
        let (h, w, t) = (
            sql::OwnedHolder::from(holder),
            workspace.to_owned(),
            types.to_vec(),
        );
        self.read(move |c| sql::grants_of_types(c, &h, &w, &t))
            .await
    }
}
