//! `GatewayStore` for SQLite: the gateway's secrets and model definitions (writes on the
//! writer, reads on a reader). Every check that can reject a write runs before its one
//! statement, so a rejected write changes nothing (the writer is single, so nothing slips in
//! between).

use std::collections::BTreeMap;

use async_trait::async_trait;
use keel_core::Result;
use keel_gateway::{
    AddOutcome, AttachOutcome, BindingFilter, BindingWrite, BudgetPolicy, Counter, Crossed,
    DefinitionDelete, DefinitionWrite, DetachOutcome, Endpoint, EndpointBinding, EndpointKey,
    EndpointWrite, FallbackConfig, GatewaySecret, GatewayStore, Guardrail, GuardrailAttachment,
    GuardrailConfig, ModelDefinition, ModelMapping, RateLimit, Reserved, Settlement, UsageCounts,
    UsageKey, UsageQuery, UsageRow,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    SqliteStore, db_err, gateway_bindings as bindings, gateway_endpoints as endpoints,
    gateway_guardrails as guardrails, gateway_limits as limits, gateway_usage as usage,
};
use crate::gateway_rows::{
    DEFINITION_COLUMNS, DEFINITIONS_FROM, SECRET_COLUMNS, map_text, text_map,
};

fn stored_map(index: usize, text: &str) -> rusqlite::Result<BTreeMap<String, String>> {
    text_map(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

fn secret_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GatewaySecret> {
    let masked: String = r.get(5)?;
    let auth: String = r.get(6)?;
    Ok(GatewaySecret {
        secret_id: r.get(0)?,
        workspace: r.get(1)?,
        secret_name: r.get(2)?,
        provider: r.get(3)?,
        sealed_value: r.get(4)?,
        masked_values: stored_map(5, &masked)?,
        auth_config: stored_map(6, &auth)?,
        created_at: r.get(7)?,
        last_updated_at: r.get(8)?,
        created_by: r.get(9)?,
        last_updated_by: r.get(10)?,
    })
}

fn insert_secret(c: &Connection, s: &GatewaySecret, masked: &str, auth: &str) -> Result<bool> {
    let inserted = c
        .prepare_cached(&format!(
            "INSERT INTO gateway_secrets ({SECRET_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING"
        ))
        .and_then(|mut stmt| {
            stmt.execute(params![
                s.secret_id,
                s.workspace,
                s.secret_name,
                s.provider,
                s.sealed_value,
                masked,
                auth,
                s.created_at,
                s.last_updated_at,
                s.created_by,
                s.last_updated_by,
            ])
        })
        .map_err(db_err)?;
    Ok(inserted == 1)
}

fn get_secret(c: &Connection, workspace: &str, id: &str) -> Result<Option<GatewaySecret>> {
    c.prepare_cached(&format!(
        "SELECT {SECRET_COLUMNS} FROM gateway_secrets WHERE secret_id = ?1 AND workspace = ?2"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![id, workspace], secret_from_row)
            .optional()
    })
    .map_err(db_err)
}

fn list_secrets(
    c: &Connection,
    workspace: &str,
    provider: Option<&str>,
) -> Result<Vec<GatewaySecret>> {
    c.prepare_cached(&format!(
        "SELECT {SECRET_COLUMNS} FROM gateway_secrets WHERE workspace = ?1 \
         AND (?2 IS NULL OR provider = ?2) ORDER BY created_at, secret_id"
    ))
    .and_then(|mut stmt| {
        stmt.query_map(params![workspace, provider], secret_from_row)?
            .collect()
    })
    .map_err(db_err)
}

fn update_secret(c: &Connection, s: &GatewaySecret, masked: &str, auth: &str) -> Result<bool> {
    let updated = c
        .prepare_cached(
            "UPDATE gateway_secrets SET sealed_value = ?3, masked_values = ?4, auth_config = ?5, \
             last_updated_at = ?6, last_updated_by = ?7 WHERE secret_id = ?1 AND workspace = ?2",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                s.secret_id,
                s.workspace,
                s.sealed_value,
                masked,
                auth,
                s.last_updated_at,
                s.last_updated_by,
            ])
        })
        .map_err(db_err)?;
    Ok(updated == 1)
}

fn definition_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ModelDefinition> {
    definition_at(r, 0)
}

/// A definition read from `DEFINITION_COLUMNS` starting at column `at`.
pub(super) fn definition_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ModelDefinition> {
    Ok(ModelDefinition {
        model_definition_id: r.get(at)?,
        workspace: r.get(at + 1)?,
        name: r.get(at + 2)?,
        secret_id: r.get(at + 3)?,
        secret_name: r.get(at + 4)?,
        provider: r.get(at + 5)?,
        model_name: r.get(at + 6)?,
        created_at: r.get(at + 7)?,
        last_updated_at: r.get(at + 8)?,
        created_by: r.get(at + 9)?,
        last_updated_by: r.get(at + 10)?,
    })
}

pub(super) fn exists(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<bool> {
    c.prepare_cached(sql)
        .and_then(|mut stmt| stmt.exists(args))
        .map_err(db_err)
}

/// Whether `d`'s secret exists in its workspace (a definition without one has none to check).
fn secret_present(c: &Connection, d: &ModelDefinition) -> Result<bool> {
    match &d.secret_id {
        None => Ok(true),
        Some(id) => exists(
            c,
            "SELECT 1 FROM gateway_secrets WHERE secret_id = ?1 AND workspace = ?2",
            params![id, d.workspace],
        ),
    }
}

fn insert_definition(c: &Connection, d: &ModelDefinition) -> Result<DefinitionWrite> {
    if !secret_present(c, d)? {
        return Ok(DefinitionWrite::NoSecret);
    }
    let inserted = c
        .prepare_cached(
            "INSERT INTO gateway_model_definitions (model_definition_id, workspace, name, \
             secret_id, provider, model_name, created_at, last_updated_at, created_by, \
             last_updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                d.model_definition_id,
                d.workspace,
                d.name,
                d.secret_id,
                d.provider,
                d.model_name,
                d.created_at,
                d.last_updated_at,
                d.created_by,
                d.last_updated_by,
            ])
        })
        .map_err(db_err)?;
    Ok(if inserted == 1 {
        DefinitionWrite::Done
    } else {
        DefinitionWrite::NameTaken
    })
}

fn update_definition(c: &Connection, d: &ModelDefinition) -> Result<DefinitionWrite> {
    let mine = "SELECT 1 FROM gateway_model_definitions WHERE model_definition_id = ?1 \
                AND workspace = ?2";
    if !exists(c, mine, params![d.model_definition_id, d.workspace])? {
        return Ok(DefinitionWrite::NotFound);
    }
    if !secret_present(c, d)? {
        return Ok(DefinitionWrite::NoSecret);
    }
    let taken = "SELECT 1 FROM gateway_model_definitions WHERE workspace = ?1 AND name = ?2 \
                 AND model_definition_id <> ?3";
    if exists(
        c,
        taken,
        params![d.workspace, d.name, d.model_definition_id],
    )? {
        return Ok(DefinitionWrite::NameTaken);
    }
    c.prepare_cached(
        "UPDATE gateway_model_definitions SET name = ?3, secret_id = ?4, provider = ?5, \
         model_name = ?6, last_updated_at = ?7, last_updated_by = ?8 \
         WHERE model_definition_id = ?1 AND workspace = ?2",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            d.model_definition_id,
            d.workspace,
            d.name,
            d.secret_id,
            d.provider,
            d.model_name,
            d.last_updated_at,
            d.last_updated_by,
        ])
    })
    .map_err(db_err)?;
    Ok(DefinitionWrite::Done)
}

fn get_definition(c: &Connection, workspace: &str, id: &str) -> Result<Option<ModelDefinition>> {
    c.prepare_cached(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM {DEFINITIONS_FROM} \
         WHERE d.model_definition_id = ?1 AND d.workspace = ?2"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![id, workspace], definition_from_row)
            .optional()
    })
    .map_err(db_err)
}

fn list_definitions(
    c: &Connection,
    workspace: &str,
    provider: Option<&str>,
    secret_id: Option<&str>,
) -> Result<Vec<ModelDefinition>> {
    c.prepare_cached(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM {DEFINITIONS_FROM} WHERE d.workspace = ?1 \
         AND (?2 IS NULL OR d.provider = ?2) AND (?3 IS NULL OR d.secret_id = ?3) \
         ORDER BY d.created_at, d.model_definition_id"
    ))
    .and_then(|mut stmt| {
        stmt.query_map(params![workspace, provider, secret_id], definition_from_row)?
            .collect()
    })
    .map_err(db_err)
}

#[async_trait]
impl GatewayStore for SqliteStore {
    async fn insert_secret(&self, secret: &GatewaySecret) -> Result<bool> {
        let (masked, auth) = (
            map_text(&secret.masked_values)?,
            map_text(&secret.auth_config)?,
        );
        let s = secret.clone();
        self.write(move |c| insert_secret(c, &s, &masked, &auth))
            .await
    }

    async fn get_secret(&self, workspace: &str, secret_id: &str) -> Result<Option<GatewaySecret>> {
        let (workspace, id) = (workspace.to_owned(), secret_id.to_owned());
        self.read(move |c| get_secret(c, &workspace, &id)).await
    }

    async fn list_secrets(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<GatewaySecret>> {
        let (workspace, provider) = (workspace.to_owned(), provider.map(str::to_owned));
        self.read(move |c| list_secrets(c, &workspace, provider.as_deref()))
            .await
    }

    async fn update_secret(&self, secret: &GatewaySecret) -> Result<bool> {
        let (masked, auth) = (
            map_text(&secret.masked_values)?,
            map_text(&secret.auth_config)?,
        );
        let s = secret.clone();
        self.write(move |c| update_secret(c, &s, &masked, &auth))
            .await
    }

    async fn delete_secret(&self, workspace: &str, secret_id: &str) -> Result<bool> {
        let (workspace, id) = (workspace.to_owned(), secret_id.to_owned());
        self.write(move |c| {
            c.execute(
                "DELETE FROM gateway_secrets WHERE secret_id = ?1 AND workspace = ?2",
                params![id, workspace],
            )
            .map(|n| n == 1)
            .map_err(db_err)
        })
        .await
    }

    async fn insert_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite> {
        let d = definition.clone();
        self.write(move |c| insert_definition(c, &d)).await
    }

    async fn get_model_definition(
        &self,
        workspace: &str,
        id: &str,
    ) -> Result<Option<ModelDefinition>> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.read(move |c| get_definition(c, &workspace, &id)).await
    }

    async fn list_model_definitions(
        &self,
        workspace: &str,
        provider: Option<&str>,
        secret_id: Option<&str>,
    ) -> Result<Vec<ModelDefinition>> {
        let workspace = workspace.to_owned();
        let (provider, secret_id) = (provider.map(str::to_owned), secret_id.map(str::to_owned));
        self.read(move |c| {
            list_definitions(c, &workspace, provider.as_deref(), secret_id.as_deref())
        })
        .await
    }

    async fn update_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite> {
        let d = definition.clone();
        self.write(move |c| update_definition(c, &d)).await
    }

    async fn delete_model_definition(&self, workspace: &str, id: &str) -> Result<DefinitionDelete> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.write(move |c| endpoints::delete_definition(c, &workspace, &id))
            .await
    }

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<EndpointWrite> {
        let e = endpoint.clone();
        self.write(move |c| endpoints::insert_endpoint(c, &e)).await
    }

    async fn get_endpoint(
        &self,
        workspace: &str,
        key: EndpointKey<'_>,
    ) -> Result<Option<Endpoint>> {
        let workspace = workspace.to_owned();
        let key = endpoints::OwnedKey::of(key);
        self.read(move |c| endpoints::get_endpoint(c, &workspace, &key))
            .await
    }

    async fn list_endpoints(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<Endpoint>> {
        let (workspace, provider) = (workspace.to_owned(), provider.map(str::to_owned));
        self.read(move |c| endpoints::list_endpoints(c, &workspace, provider.as_deref()))
            .await
    }

    async fn update_endpoint(
        &self,
        endpoint: &Endpoint,
        replace_mappings: bool,
    ) -> Result<EndpointWrite> {
        let e = endpoint.clone();
        self.write(move |c| endpoints::update_endpoint(c, &e, replace_mappings))
            .await
    }

    async fn delete_endpoint(&self, workspace: &str, endpoint_id: &str) -> Result<bool> {
        let (workspace, id) = (workspace.to_owned(), endpoint_id.to_owned());
        self.write(move |c| {
            c.execute(
                "DELETE FROM gateway_endpoints WHERE endpoint_id = ?1 AND workspace = ?2",
                params![id, workspace],
            )
            .map(|n| n == 1)
            .map_err(db_err)
        })
        .await
    }

    async fn set_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
        value: &str,
    ) -> Result<bool> {
        let args = [workspace, endpoint_id, key, value].map(str::to_owned);
        self.write(move |c| endpoints::set_tag(c, &args[0], &args[1], &args[2], Some(&args[3])))
            .await
    }

    async fn delete_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
    ) -> Result<bool> {
        let args = [workspace, endpoint_id, key].map(str::to_owned);
        self.write(move |c| endpoints::set_tag(c, &args[0], &args[1], &args[2], None))
            .await
    }

    async fn attach_model(
        &self,
        workspace: &str,
        mapping: &ModelMapping,
        fallback_if_unset: Option<&FallbackConfig>,
        updated_by: Option<&str>,
        max_models: usize,
    ) -> Result<AttachOutcome> {
        let (workspace, mapping) = (workspace.to_owned(), mapping.clone());
        let fallback = fallback_if_unset.cloned();
        let author = updated_by.map(str::to_owned);
        self.write(move |c| {
            endpoints::attach_model(
                c,
                &workspace,
                &mapping,
                fallback.as_ref(),
                author.as_deref(),
                max_models,
            )
        })
        .await
    }

    async fn detach_model(
        &self,
        workspace: &str,
        endpoint_id: &str,
        model_definition_id: &str,
    ) -> Result<DetachOutcome> {
        let args = [workspace, endpoint_id, model_definition_id].map(str::to_owned);
        self.write(move |c| endpoints::detach_model(c, &args[0], &args[1], &args[2]))
            .await
    }

    async fn insert_binding(
        &self,
        workspace: &str,
        binding: &EndpointBinding,
    ) -> Result<BindingWrite> {
        let (workspace, binding) = (workspace.to_owned(), binding.clone());
        self.write(move |c| bindings::insert_binding(c, &workspace, &binding))
            .await
    }

    async fn delete_binding(
        &self,
        workspace: &str,
        endpoint_id: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<bool> {
        let workspace = workspace.to_owned();
        let key = [endpoint_id, resource_type, resource_id].map(str::to_owned);
        self.write(move |c| bindings::delete_binding(c, &workspace, &key))
            .await
    }

    async fn list_bindings(
        &self,
        workspace: &str,
        filter: &BindingFilter,
    ) -> Result<Vec<EndpointBinding>> {
        let (workspace, filter) = (workspace.to_owned(), filter.clone());
        self.read(move |c| bindings::list_bindings(c, &workspace, &filter))
            .await
    }

    async fn insert_budget_policy(&self, policy: &BudgetPolicy) -> Result<()> {
        let policy = policy.clone();
        self.write(move |c| limits::insert_policy(c, &policy)).await
    }

    async fn get_budget_policy(&self, workspace: &str, id: &str) -> Result<Option<BudgetPolicy>> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.read(move |c| limits::get_policy(c, &workspace, &id))
            .await
    }

    async fn list_budget_policies(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<BudgetPolicy>> {
        let workspace = workspace.to_owned();
        self.read(move |c| limits::list_policies(c, &workspace, offset, limit))
            .await
    }

    async fn all_budget_policies(&self) -> Result<Vec<BudgetPolicy>> {
        self.read(limits::all_policies).await
    }

    async fn update_budget_policy(&self, policy: &BudgetPolicy) -> Result<bool> {
        let policy = policy.clone();
        self.write(move |c| limits::update_policy(c, &policy)).await
    }

    async fn delete_budget_policy(&self, workspace: &str, id: &str) -> Result<bool> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.write(move |c| limits::delete_policy(c, &workspace, &id))
            .await
    }

    async fn insert_rate_limit(&self, limit: &RateLimit) -> Result<()> {
        let limit = limit.clone();
        self.write(move |c| limits::insert_rate_limit(c, &limit))
            .await
    }

    async fn get_rate_limit(&self, workspace: &str, id: &str) -> Result<Option<RateLimit>> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.read(move |c| limits::get_rate_limit(c, &workspace, &id))
            .await
    }

    async fn list_rate_limits(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<RateLimit>> {
        let workspace = workspace.to_owned();
        self.read(move |c| limits::list_rate_limits(c, Some(&workspace), offset, limit))
            .await
    }

    async fn all_rate_limits(&self) -> Result<Vec<RateLimit>> {
        self.read(|c| limits::list_rate_limits(c, None, 0, i64::MAX))
            .await
    }

    async fn update_rate_limit(&self, limit: &RateLimit) -> Result<bool> {
        let limit = limit.clone();
        self.write(move |c| limits::update_rate_limit(c, &limit))
            .await
    }

    async fn delete_rate_limit(&self, workspace: &str, id: &str) -> Result<bool> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.write(move |c| limits::delete_rate_limit(c, &workspace, &id))
            .await
    }

    async fn reserve_limits(
        &self,
        hold_id: &str,
        counters: &[Counter],
        expires_at_ms: i64,
    ) -> Result<Reserved> {
        let (hold_id, counters) = (hold_id.to_owned(), counters.to_vec());
        self.write(move |c| limits::reserve(c, &hold_id, &counters, expires_at_ms))
            .await
    }

    async fn settle_limits(
        &self,
        hold_id: &str,
        settlements: &[Settlement],
    ) -> Result<Vec<Crossed>> {
        let (hold_id, settlements) = (hold_id.to_owned(), settlements.to_vec());
        self.write(move |c| limits::settle(c, &hold_id, &settlements))
            .await
    }

    async fn limit_usage(&self, counters: &[(String, i64)]) -> Result<Vec<(i64, i64)>> {
        let counters = counters.to_vec();
        self.read(move |c| limits::limit_usage(c, &counters)).await
    }

    async fn sweep_limits(&self, now_ms: i64, ended_before_ms: i64) -> Result<u64> {
        self.write(move |c| limits::sweep(c, now_ms, ended_before_ms))
            .await
    }

    async fn add_usage(&self, rows: &[(UsageKey, UsageCounts)]) -> Result<()> {
        let rows = rows.to_vec();
        self.write(move |c| usage::add_usage(c, &rows)).await
    }

    async fn query_usage(&self, query: &UsageQuery, limit: usize) -> Result<Vec<UsageRow>> {
        let query = query.clone();
        self.read(move |c| usage::query_usage(c, &query, limit))
            .await
    }

    async fn insert_guardrail(&self, guardrail: &Guardrail) -> Result<()> {
        let guardrail = guardrail.clone();
        self.write(move |c| guardrails::insert(c, &guardrail)).await
    }

    async fn get_guardrail(&self, workspace: &str, id: &str) -> Result<Option<Guardrail>> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.read(move |c| guardrails::get(c, &workspace, &id))
            .await
    }

    async fn list_guardrails(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Guardrail>> {
        let workspace = workspace.to_owned();
        self.read(move |c| guardrails::list(c, &workspace, offset, limit))
            .await
    }

    async fn delete_guardrail(&self, workspace: &str, id: &str) -> Result<bool> {
        let (workspace, id) = (workspace.to_owned(), id.to_owned());
        self.write(move |c| guardrails::delete(c, &workspace, &id))
            .await
    }

    async fn add_guardrail_to_endpoint(
        &self,
        workspace: &str,
        attachment: &GuardrailAttachment,
        max_per_endpoint: usize,
    ) -> Result<AddOutcome> {
        let (workspace, attachment) = (workspace.to_owned(), attachment.clone());
        self.write(move |c| {
            guardrails::add_to_endpoint(c, &workspace, &attachment, max_per_endpoint)
        })
        .await
    }

    async fn set_guardrail_order(
        &self,
        workspace: &str,
        endpoint_id: &str,
        guardrail_id: &str,
        execution_order: Option<i32>,
    ) -> Result<Option<GuardrailConfig>> {
        let key = [
            workspace.to_owned(),
            endpoint_id.to_owned(),
            guardrail_id.to_owned(),
        ];
        self.write(move |c| guardrails::set_order(c, &key[0], &key[1], &key[2], execution_order))
            .await
    }

    async fn remove_guardrail_from_endpoint(
        &self,
        workspace: &str,
        endpoint_id: &str,
        guardrail_id: &str,
    ) -> Result<bool> {
        let key = [
            workspace.to_owned(),
            endpoint_id.to_owned(),
            guardrail_id.to_owned(),
        ];
        self.write(move |c| guardrails::remove_from_endpoint(c, &key[0], &key[1], &key[2]))
            .await
    }

    async fn endpoint_guardrails(
        &self,
        workspace: &str,
        endpoint_id: &str,
    ) -> Result<Vec<GuardrailConfig>> {
        let (workspace, endpoint_id) = (workspace.to_owned(), endpoint_id.to_owned());
        self.read(move |c| guardrails::of_endpoint(c, &workspace, &endpoint_id))
            .await
    }
}
