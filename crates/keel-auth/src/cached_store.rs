//! The identity store behind a short-lived cache of what every request reads (the account
//! behind a username or token, the grants a decision or a search reads, whether any account
//! exists). Every write through this store clears the cache, so this process sees its own
//! changes at once; other processes sharing the database see them within [`CACHE_TTL`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keel_core::Result;

use crate::entities::*;
use crate::grants::{Grant, GrantType, Holdings, Key};
use crate::permission::Permission;
use crate::store::{Holder, IdentityStore, RoleUpdate};
use crate::ttl::TtlMap;

/// How long another process's change to accounts, tokens or grants may take to apply here.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
const CAPACITY: usize = 50_000;

type HoldingsKey = (i64, Vec<String>, String, Vec<(GrantType, Option<String>)>);
type OfTypesKey = (i64, Vec<String>, String, Vec<GrantType>);

/// An [`IdentityStore`] with cached reads.
pub struct CachedIdentityStore {
    inner: Arc<dyn IdentityStore>,
    users: TtlMap<String, Option<User>>,
    tokens: TtlMap<String, Option<(ApiToken, User)>>,
    holdings: TtlMap<HoldingsKey, Holdings>,
    of_types: TtlMap<OfTypesKey, Holdings>,
    count: TtlMap<(), i64>,
}

impl CachedIdentityStore {
    pub fn new(inner: Arc<dyn IdentityStore>) -> Self {
        Self {
            inner,
            users: TtlMap::new(CACHE_TTL, CAPACITY),
            tokens: TtlMap::new(CACHE_TTL, CAPACITY),
            holdings: TtlMap::new(CACHE_TTL, CAPACITY),
            of_types: TtlMap::new(CACHE_TTL, CAPACITY),
            count: TtlMap::new(CACHE_TTL, 1),
        }
    }

    fn changed(&self) {
        self.users.clear();
        self.tokens.clear();
        self.holdings.clear();
        self.of_types.clear();
        self.count.clear();
    }

    /// Runs a write, then forgets every cached read (even when the write failed: it may have
    /// raced another one).
    async fn write<T>(&self, result: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let out = result.await;
        self.changed();
        out
    }
}

#[async_trait]
impl IdentityStore for CachedIdentityStore {
    async fn count_users(&self) -> Result<i64> {
        if let Some(n) = self.count.get(&()) {
            return Ok(n);
        }
        let n = self.inner.count_users().await?;
        self.count.insert((), n);
        Ok(n)
    }

    async fn insert_user(&self, user: &NewUser) -> Result<User> {
        self.write(self.inner.insert_user(user)).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let key = username.to_owned();
        if let Some(u) = self.users.get(&key) {
            return Ok(u);
        }
        let u = self.inner.user_by_name(username).await?;
        self.users.insert(key, u.clone());
        Ok(u)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.inner.user_by_id(id).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.inner.list_users().await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        self.write(self.inner.update_user(user)).await
    }

    async fn delete_user(&self, id: i64) -> Result<()> {
        self.write(self.inner.delete_user(id)).await
    }

    async fn insert_token(&self, token: &ApiToken) -> Result<()> {
        self.write(self.inner.insert_token(token)).await
    }

    async fn token(&self, id: &str) -> Result<Option<(ApiToken, User)>> {
        let key = id.to_owned();
        if let Some(t) = self.tokens.get(&key) {
            return Ok(t);
        }
        let t = self.inner.token(id).await?;
        self.tokens.insert(key, t.clone());
        Ok(t)
    }

    async fn list_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        self.inner.list_tokens(user_id).await
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<()> {
        self.write(self.inner.revoke_token(id, now)).await
    }

    async fn purge_tokens(&self, cutoff: i64) -> Result<u64> {
        self.write(self.inner.purge_tokens(cutoff)).await
    }

    async fn touch_tokens(&self, used: &[(String, i64)]) -> Result<()> {
        // Bookkeeping only: what requests read does not change.
        self.inner.touch_tokens(used).await
    }

    async fn insert_role(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Role> {
        self.write(self.inner.insert_role(workspace, name, description))
            .await
    }

    async fn role(&self, id: i64) -> Result<Option<Role>> {
        self.inner.role(id).await
    }

    async fn list_roles(&self, workspaces: Option<&[String]>) -> Result<Vec<Role>> {
        self.inner.list_roles(workspaces).await
    }

    async fn update_role(&self, id: i64, update: &RoleUpdate) -> Result<Role> {
        self.write(self.inner.update_role(id, update)).await
    }

    async fn delete_role(&self, id: i64) -> Result<()> {
        self.write(self.inner.delete_role(id)).await
    }

    async fn add_role_permission(&self, role_id: i64, grant: &Grant) -> Result<RolePermission> {
        self.write(self.inner.add_role_permission(role_id, grant))
            .await
    }

    async fn role_permission(&self, id: i64) -> Result<Option<RolePermission>> {
        self.inner.role_permission(id).await
    }

    async fn update_role_permission(
        &self,
        id: i64,
        permission: Permission,
    ) -> Result<RolePermission> {
        self.write(self.inner.update_role_permission(id, permission))
            .await
    }

    async fn remove_role_permission(&self, id: i64) -> Result<()> {
        self.write(self.inner.remove_role_permission(id)).await
    }

    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<Assignment> {
        self.write(self.inner.assign_role(user_id, role_id)).await
    }

    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()> {
        self.write(self.inner.unassign_role(user_id, role_id)).await
    }

    async fn role_assignments(&self, role_id: i64) -> Result<Vec<Assignment>> {
        self.inner.role_assignments(role_id).await
    }

    async fn resource_holders(
        &self,
        workspace: &str,
        resource_type: GrantType,
        id: &str,
        limit: i64,
    ) -> Result<Vec<ResourceHolder>> {
        // Read through: who has access is asked for rarely, and must be current.
        self.inner
            .resource_holders(workspace, resource_type, id, limit)
            .await
    }

    async fn user_roles(&self, user_id: i64) -> Result<Vec<Role>> {
        self.inner.user_roles(user_id).await
    }

    async fn grant_user(
        &self,
        user_id: i64,
        workspace: &str,
        grant: &Grant,
        replace: bool,
    ) -> Result<()> {
        self.write(self.inner.grant_user(user_id, workspace, grant, replace))
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
            self.inner
                .revoke_user(user_id, workspace, resource_type, pattern),
        )
        .await
    }

    async fn rename_grants(&self, types: &[GrantType], from: &str, to: &str) -> Result<()> {
        self.write(self.inner.rename_grants(types, from, to)).await
    }

    async fn holdings(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        keys: &[Key<'_>],
    ) -> Result<Holdings> {
        let key: HoldingsKey = (
            holder.user_id,
            holder.groups.to_vec(),
            workspace.to_owned(),
            keys.iter()
                .map(|k| (k.resource_type, k.id.map(str::to_owned)))
                .collect(),
        );
        if let Some(h) = self.holdings.get(&key) {
            return Ok(h);
        }
        let h = self.inner.holdings(holder, workspace, keys).await?;
        self.holdings.insert(key, h.clone());
        Ok(h)
    }

    async fn grants_of_types(
        &self,
        holder: Holder<'_>,
        workspace: &str,
        types: &[GrantType],
    ) -> Result<Holdings> {
        let key = (
            holder.user_id,
            holder.groups.to_vec(),
            workspace.to_owned(),
            types.to_vec(),
        );
        if let Some(h) = self.of_types.get(&key) {
            return Ok(h);
        }
        let h = self.inner.grants_of_types(holder, workspace, types).await?;
        self.of_types.insert(key, h.clone());
        Ok(h)
    }
}
