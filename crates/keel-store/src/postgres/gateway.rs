//! `GatewayStore` for PostgreSQL: the gateway's secrets and model definitions, each write one
//! retried transaction. A definition's write locks its secret's row (`FOR SHARE`), so the
//! secret cannot be deleted between the check and the write.

use std::collections::BTreeMap;

use async_trait::async_trait;
use keel_core::{Error, Result};
use keel_gateway::{
    AddOutcome, AttachOutcome, BindingFilter, BindingWrite, BudgetPolicy, Counter, Crossed,
    DefinitionDelete, DefinitionWrite, DetachOutcome, Endpoint, EndpointBinding, EndpointKey,
    EndpointWrite, FallbackConfig, GatewaySecret, GatewayStore, Guardrail, GuardrailAttachment,
    GuardrailConfig, ModelDefinition, ModelMapping, RateLimit, Reserved, Settlement, UsageCounts,
    UsageKey, UsageQuery, UsageRow,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PostgresStore;
use super::error::{Failure, PgResult, UNIQUE_VIOLATION};
use super::gateway_bindings as bindings;
use super::gateway_endpoints as endpoints;
use super::gateway_guardrails as guardrails;
use super::gateway_limits as limits;
use super::gateway_usage as usage;
use crate::gateway_rows::{
    DEFINITION_COLUMNS, DEFINITIONS_FROM, SECRET_COLUMNS, map_text, text_map,
};

fn stored_map(text: &str) -> PgResult<BTreeMap<String, String>> {
    text_map(text)
        .map_err(|_| Failure::from(Error::internal("unexpected gateway secret map in database")))
}

fn secret_from_row(r: &PgRow) -> PgResult<GatewaySecret> {
    let masked: String = r.try_get(5)?;
    let auth: String = r.try_get(6)?;
    Ok(GatewaySecret {
        secret_id: r.try_get(0)?,
        workspace: r.try_get(1)?,
        secret_name: r.try_get(2)?,
        provider: r.try_get(3)?,
        sealed_value: r.try_get(4)?,
        masked_values: stored_map(&masked)?,
        auth_config: stored_map(&auth)?,
        created_at: r.try_get(7)?,
        last_updated_at: r.try_get(8)?,
        created_by: r.try_get(9)?,
        last_updated_by: r.try_get(10)?,
    })
}

/// A secret with its maps as stored.
struct StoredSecret {
    secret: GatewaySecret,
    masked: String,
    auth: String,
}

impl StoredSecret {
    fn of(secret: &GatewaySecret) -> Result<Self> {
        Ok(Self {
            masked: map_text(&secret.masked_values)?,
            auth: map_text(&secret.auth_config)?,
            secret: secret.clone(),
        })
    }
}

async fn insert_secret(c: &mut PgConnection, row: &StoredSecret) -> PgResult<bool> {
    let s = &row.secret;
    let done = sqlx::query(&format!(
        "INSERT INTO gateway_secrets ({SECRET_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
    ))
    .bind(&s.secret_id)
    .bind(&s.workspace)
    .bind(&s.secret_name)
    .bind(s.provider.as_deref())
    .bind(&s.sealed_value)
    .bind(&row.masked)
    .bind(&row.auth)
    .bind(s.created_at)
    .bind(s.last_updated_at)
    .bind(s.created_by.as_deref())
    .bind(s.last_updated_by.as_deref())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn update_secret(c: &mut PgConnection, row: &StoredSecret) -> PgResult<bool> {
    let s = &row.secret;
    let done = sqlx::query(
        "UPDATE gateway_secrets SET sealed_value = $3, masked_values = $4, auth_config = $5, \
         last_updated_at = $6, last_updated_by = $7 WHERE secret_id = $1 AND workspace = $2",
    )
    .bind(&s.secret_id)
    .bind(&s.workspace)
    .bind(&s.sealed_value)
    .bind(&row.masked)
    .bind(&row.auth)
    .bind(s.last_updated_at)
    .bind(s.last_updated_by.as_deref())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn get_secret(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<Option<GatewaySecret>> {
    let row = sqlx::query(&format!(
        "SELECT {SECRET_COLUMNS} FROM gateway_secrets WHERE secret_id = $1 AND workspace = $2"
    ))
    .bind(id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(secret_from_row).transpose()
}

async fn list_secrets(
    c: &mut PgConnection,
    workspace: &str,
    provider: Option<&str>,
) -> PgResult<Vec<GatewaySecret>> {
    let rows = sqlx::query(&format!(
        "SELECT {SECRET_COLUMNS} FROM gateway_secrets WHERE workspace = $1 \
         AND ($2::text IS NULL OR provider = $2) ORDER BY created_at, secret_id"
    ))
    .bind(workspace)
    .bind(provider)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(secret_from_row).collect()
}

async fn delete_secret(c: &mut PgConnection, workspace: &str, id: &str) -> PgResult<bool> {
    let done = sqlx::query("DELETE FROM gateway_secrets WHERE secret_id = $1 AND workspace = $2")
        .bind(id)
        .bind(workspace)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn definition_from_row(r: &PgRow) -> PgResult<ModelDefinition> {
    definition_at(r, 0)
}

/// A definition read from `DEFINITION_COLUMNS` starting at column `at`.
pub(super) fn definition_at(r: &PgRow, at: usize) -> PgResult<ModelDefinition> {
    Ok(ModelDefinition {
        model_definition_id: r.try_get(at)?,
        workspace: r.try_get(at + 1)?,
        name: r.try_get(at + 2)?,
        secret_id: r.try_get(at + 3)?,
        secret_name: r.try_get(at + 4)?,
        provider: r.try_get(at + 5)?,
        model_name: r.try_get(at + 6)?,
        created_at: r.try_get(at + 7)?,
        last_updated_at: r.try_get(at + 8)?,
        created_by: r.try_get(at + 9)?,
        last_updated_by: r.try_get(at + 10)?,
    })
}

/// Whether `d`'s secret exists in its workspace, locking it until the transaction ends.
async fn secret_present(c: &mut PgConnection, d: &ModelDefinition) -> PgResult<bool> {
    let Some(id) = &d.secret_id else {
        return Ok(true);
    };
    let found = sqlx::query(
        "SELECT 1 FROM gateway_secrets WHERE secret_id = $1 AND workspace = $2 FOR SHARE",
    )
    .bind(id)
    .bind(&d.workspace)
    .fetch_optional(&mut *c)
    .await?;
    Ok(found.is_some())
}

async fn insert_definition(c: &mut PgConnection, d: &ModelDefinition) -> PgResult<DefinitionWrite> {
    if !secret_present(c, d).await? {
        return Ok(DefinitionWrite::NoSecret);
    }
    let done = sqlx::query(
        "INSERT INTO gateway_model_definitions (model_definition_id, workspace, name, secret_id, \
         provider, model_name, created_at, last_updated_at, created_by, last_updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
    )
    .bind(&d.model_definition_id)
    .bind(&d.workspace)
    .bind(&d.name)
    .bind(d.secret_id.as_deref())
    .bind(&d.provider)
    .bind(&d.model_name)
    .bind(d.created_at)
    .bind(d.last_updated_at)
    .bind(d.created_by.as_deref())
    .bind(d.last_updated_by.as_deref())
    .execute(&mut *c)
    .await?;
    Ok(if done.rows_affected() == 1 {
        DefinitionWrite::Done
    } else {
        DefinitionWrite::NameTaken
    })
}

async fn update_definition(c: &mut PgConnection, d: &ModelDefinition) -> PgResult<DefinitionWrite> {
    let mine = sqlx::query(
        "SELECT 1 FROM gateway_model_definitions WHERE model_definition_id = $1 \
         AND workspace = $2 FOR UPDATE",
    )
    .bind(&d.model_definition_id)
    .bind(&d.workspace)
    .fetch_optional(&mut *c)
    .await?;
    if mine.is_none() {
        return Ok(DefinitionWrite::NotFound);
    }
    if !secret_present(c, d).await? {
        return Ok(DefinitionWrite::NoSecret);
    }
    let updated = sqlx::query(
        "UPDATE gateway_model_definitions SET name = $3, secret_id = $4, provider = $5, \
         model_name = $6, last_updated_at = $7, last_updated_by = $8 \
         WHERE model_definition_id = $1 AND workspace = $2",
    )
    .bind(&d.model_definition_id)
    .bind(&d.workspace)
    .bind(&d.name)
    .bind(d.secret_id.as_deref())
    .bind(&d.provider)
    .bind(&d.model_name)
    .bind(d.last_updated_at)
    .bind(d.last_updated_by.as_deref())
    .execute(&mut *c)
    .await;
    match updated {
        Ok(_) => Ok(DefinitionWrite::Done),
        // The name is another definition's: the failed statement ends the transaction, which
        // then commits nothing.
        Err(e) => {
            let failure = Failure::from(e);
            if failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION) {
                Ok(DefinitionWrite::NameTaken)
            } else {
                Err(failure)
            }
        }
    }
}

async fn get_definition(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<Option<ModelDefinition>> {
    let row = sqlx::query(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM {DEFINITIONS_FROM} \
         WHERE d.model_definition_id = $1 AND d.workspace = $2"
    ))
    .bind(id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(definition_from_row).transpose()
}

async fn list_definitions(
    c: &mut PgConnection,
    workspace: &str,
    provider: Option<&str>,
    secret_id: Option<&str>,
) -> PgResult<Vec<ModelDefinition>> {
    let rows = sqlx::query(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM {DEFINITIONS_FROM} WHERE d.workspace = $1 \
         AND ($2::text IS NULL OR d.provider = $2) AND ($3::text IS NULL OR d.secret_id = $3) \
         ORDER BY d.created_at, d.model_definition_id"
    ))
    .bind(workspace)
    .bind(provider)
    .bind(secret_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(definition_from_row).collect()
}

#[async_trait]
impl GatewayStore for PostgresStore {
    async fn insert_secret(&self, secret: &GatewaySecret) -> Result<bool> {
        let row = StoredSecret::of(secret)?;
        self.write(&row, |c, r| Box::pin(insert_secret(c, r))).await
    }

    async fn get_secret(&self, workspace: &str, secret_id: &str) -> Result<Option<GatewaySecret>> {
        self.read(&(workspace, secret_id), |c, (w, id)| {
            Box::pin(get_secret(c, w, id))
        })
        .await
    }

    async fn list_secrets(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<GatewaySecret>> {
        self.read(&(workspace, provider), |c, (w, p)| {
            Box::pin(list_secrets(c, w, *p))
        })
        .await
    }

    async fn update_secret(&self, secret: &GatewaySecret) -> Result<bool> {
        let row = StoredSecret::of(secret)?;
        self.write(&row, |c, r| Box::pin(update_secret(c, r))).await
    }

    async fn delete_secret(&self, workspace: &str, secret_id: &str) -> Result<bool> {
        self.write(&(workspace, secret_id), |c, (w, id)| {
            Box::pin(delete_secret(c, w, id))
        })
        .await
    }

    async fn insert_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite> {
        self.write(definition, |c, d| Box::pin(insert_definition(c, d)))
            .await
    }

    async fn get_model_definition(
        &self,
        workspace: &str,
        id: &str,
    ) -> Result<Option<ModelDefinition>> {
        self.read(&(workspace, id), |c, (w, id)| {
            Box::pin(get_definition(c, w, id))
        })
        .await
    }

    async fn list_model_definitions(
        &self,
        workspace: &str,
        provider: Option<&str>,
        secret_id: Option<&str>,
    ) -> Result<Vec<ModelDefinition>> {
        self.read(&(workspace, provider, secret_id), |c, (w, p, s)| {
            Box::pin(list_definitions(c, w, *p, *s))
        })
        .await
    }

    async fn update_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite> {
        self.write(definition, |c, d| Box::pin(update_definition(c, d)))
            .await
    }

    async fn delete_model_definition(&self, workspace: &str, id: &str) -> Result<DefinitionDelete> {
        self.write(&(workspace, id), |c, (w, id)| {
            Box::pin(endpoints::delete_definition(c, w, id))
        })
        .await
    }

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<EndpointWrite> {
        self.write(endpoint, |c, e| Box::pin(endpoints::insert_endpoint(c, e)))
            .await
    }

    async fn get_endpoint(
        &self,
        workspace: &str,
        key: EndpointKey<'_>,
    ) -> Result<Option<Endpoint>> {
        self.read(&(workspace, key), |c, (w, key)| {
            Box::pin(endpoints::get_endpoint(c, w, *key))
        })
        .await
    }

    async fn list_endpoints(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<Endpoint>> {
        self.read(&(workspace, provider), |c, (w, p)| {
            Box::pin(endpoints::list_endpoints(c, w, *p))
        })
        .await
    }

    async fn update_endpoint(
        &self,
        endpoint: &Endpoint,
        replace_mappings: bool,
    ) -> Result<EndpointWrite> {
        self.write(&(endpoint, replace_mappings), |c, (e, replace)| {
            Box::pin(endpoints::update_endpoint(c, e, *replace))
        })
        .await
    }

    async fn delete_endpoint(&self, workspace: &str, endpoint_id: &str) -> Result<bool> {
        self.write(&(workspace, endpoint_id), |c, (w, id)| {
            Box::pin(endpoints::delete_endpoint(c, w, id))
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
        self.write(&(workspace, endpoint_id, key, value), |c, (w, id, k, v)| {
            Box::pin(endpoints::set_tag(c, w, id, k, Some(v)))
        })
        .await
    }

    async fn delete_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
    ) -> Result<bool> {
        self.write(&(workspace, endpoint_id, key), |c, (w, id, k)| {
            Box::pin(endpoints::set_tag(c, w, id, k, None))
        })
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
        self.write(
            &(workspace, mapping, fallback_if_unset, updated_by),
            |c, (w, m, fallback, author)| {
                Box::pin(endpoints::attach_model(
                    c, w, m, *fallback, *author, max_models,
                ))
            },
        )
        .await
    }

    async fn detach_model(
        &self,
        workspace: &str,
        endpoint_id: &str,
        model_definition_id: &str,
    ) -> Result<DetachOutcome> {
        self.write(
            &(workspace, endpoint_id, model_definition_id),
            |c, (w, e, d)| Box::pin(endpoints::detach_model(c, w, e, d)),
        )
        .await
    }

    async fn insert_binding(
        &self,
        workspace: &str,
        binding: &EndpointBinding,
    ) -> Result<BindingWrite> {
        self.write(&(workspace, binding), |c, (w, b)| {
            Box::pin(bindings::insert_binding(c, w, b))
        })
        .await
    }

    async fn delete_binding(
        &self,
        workspace: &str,
        endpoint_id: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<bool> {
        self.write(
            &(workspace, endpoint_id, resource_type, resource_id),
            |c, (w, e, t, r)| Box::pin(bindings::delete_binding(c, w, e, t, r)),
        )
        .await
    }

    async fn list_bindings(
        &self,
        workspace: &str,
        filter: &BindingFilter,
    ) -> Result<Vec<EndpointBinding>> {
        self.read(&(workspace, filter), |c, (w, f)| {
            Box::pin(bindings::list_bindings(c, w, f))
        })
        .await
    }

    async fn insert_budget_policy(&self, policy: &BudgetPolicy) -> Result<()> {
        self.write(policy, |c, p| Box::pin(limits::insert_policy(c, p)))
            .await
    }

    async fn get_budget_policy(&self, workspace: &str, id: &str) -> Result<Option<BudgetPolicy>> {
        self.read(&(workspace, id), |c, (w, id)| {
            Box::pin(limits::get_policy(c, w, id))
        })
        .await
    }

    async fn list_budget_policies(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<BudgetPolicy>> {
        self.read(workspace, |c, w| {
            Box::pin(limits::list_policies(c, Some(w), offset, limit))
        })
        .await
    }

    async fn all_budget_policies(&self) -> Result<Vec<BudgetPolicy>> {
        self.read(&(), |c, ()| {
            Box::pin(limits::list_policies(c, None, 0, i64::MAX))
        })
        .await
    }

    async fn update_budget_policy(&self, policy: &BudgetPolicy) -> Result<bool> {
        self.write(policy, |c, p| Box::pin(limits::update_policy(c, p)))
            .await
    }

    async fn delete_budget_policy(&self, workspace: &str, id: &str) -> Result<bool> {
        self.write(&(workspace, id), |c, (w, id)| {
            Box::pin(limits::delete_policy(c, w, id))
        })
        .await
    }

    async fn insert_rate_limit(&self, limit: &RateLimit) -> Result<()> {
        self.write(limit, |c, l| Box::pin(limits::insert_rate_limit(c, l)))
            .await
    }

    async fn get_rate_limit(&self, workspace: &str, id: &str) -> Result<Option<RateLimit>> {
        self.read(&(workspace, id), |c, (w, id)| {
            Box::pin(limits::get_rate_limit(c, w, id))
        })
        .await
    }

    async fn list_rate_limits(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<RateLimit>> {
        self.read(workspace, |c, w| {
            Box::pin(limits::list_rate_limits(c, Some(w), offset, limit))
        })
        .await
    }

    async fn all_rate_limits(&self) -> Result<Vec<RateLimit>> {
        self.read(&(), |c, ()| {
            Box::pin(limits::list_rate_limits(c, None, 0, i64::MAX))
        })
        .await
    }

    async fn update_rate_limit(&self, limit: &RateLimit) -> Result<bool> {
        self.write(limit, |c, l| Box::pin(limits::update_rate_limit(c, l)))
            .await
    }

    async fn delete_rate_limit(&self, workspace: &str, id: &str) -> Result<bool> {
        self.write(&(workspace, id), |c, (w, id)| {
            Box::pin(limits::delete_rate_limit(c, w, id))
        })
        .await
    }

    async fn reserve_limits(
        &self,
        hold_id: &str,
        counters: &[Counter],
        expires_at_ms: i64,
    ) -> Result<Reserved> {
        self.write(&(hold_id, counters), |c, (h, counters)| {
            Box::pin(limits::reserve(c, h, counters, expires_at_ms))
        })
        .await
    }

    async fn settle_limits(
        &self,
        hold_id: &str,
        settlements: &[Settlement],
    ) -> Result<Vec<Crossed>> {
        self.write(&(hold_id, settlements), |c, (h, s)| {
            Box::pin(limits::settle(c, h, s))
        })
        .await
    }

    async fn limit_usage(&self, counters: &[(String, i64)]) -> Result<Vec<(i64, i64)>> {
        self.read(counters, |c, k| Box::pin(limits::limit_usage(c, k)))
            .await
    }

    async fn sweep_limits(&self, now_ms: i64, ended_before_ms: i64) -> Result<u64> {
        self.write(&(), |c, ()| {
            Box::pin(limits::sweep(c, now_ms, ended_before_ms))
        })
        .await
    }

    async fn add_usage(&self, rows: &[(UsageKey, UsageCounts)]) -> Result<()> {
        self.write(rows, |c, r| Box::pin(usage::add_usage(c, r)))
            .await
    }

    async fn query_usage(&self, query: &UsageQuery, limit: usize) -> Result<Vec<UsageRow>> {
        self.read(query, |c, q| Box::pin(usage::query_usage(c, q, limit)))
            .await
    }

    async fn insert_guardrail(&self, guardrail: &Guardrail) -> Result<()> {
        self.write(guardrail, |c, g| Box::pin(guardrails::insert(c, g)))
            .await
    }

    async fn get_guardrail(&self, workspace: &str, id: &str) -> Result<Option<Guardrail>> {
        self.read(&(workspace, id), |c, (w, id)| {
            Box::pin(guardrails::get(c, w, id))
        })
        .await
    }

    async fn list_guardrails(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Guardrail>> {
        self.read(workspace, |c, w| {
            Box::pin(guardrails::list(c, w, offset, limit))
        })
        .await
    }

    async fn delete_guardrail(&self, workspace: &str, id: &str) -> Result<bool> {
        self.write(&(workspace, id), |c, (w, id)| {
            Box::pin(guardrails::delete(c, w, id))
        })
        .await
    }

    async fn add_guardrail_to_endpoint(
        &self,
        workspace: &str,
        attachment: &GuardrailAttachment,
        max_per_endpoint: usize,
    ) -> Result<AddOutcome> {
        self.write(&(workspace, attachment), |c, (w, a)| {
            Box::pin(guardrails::add_to_endpoint(c, w, a, max_per_endpoint))
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
        self.write(&(workspace, endpoint_id, guardrail_id), |c, (w, e, g)| {
            Box::pin(guardrails::set_order(c, w, e, g, execution_order))
        })
        .await
    }

    async fn remove_guardrail_from_endpoint(
        &self,
        workspace: &str,
        endpoint_id: &str,
        guardrail_id: &str,
    ) -> Result<bool> {
        self.write(&(workspace, endpoint_id, guardrail_id), |c, (w, e, g)| {
            Box::pin(guardrails::remove_from_endpoint(c, w, e, g))
        })
        .await
    }

    async fn endpoint_guardrails(
        &self,
        workspace: &str,
        endpoint_id: &str,
    ) -> Result<Vec<GuardrailConfig>> {
        self.read(&(workspace, endpoint_id), |c, (w, e)| {
            Box::pin(guardrails::of_endpoint(c, w, e))
        })
        .await
    }
}
