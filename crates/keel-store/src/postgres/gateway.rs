//! `GatewayStore` for PostgreSQL: the gateway's secrets, each write one retried transaction.

use std::collections::BTreeMap;

use async_trait::async_trait;
use keel_core::{Error, Result};
use keel_gateway::{GatewaySecret, GatewayStore};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PostgresStore;
use super::error::{Failure, PgResult};

const SECRET_COLUMNS: &str = "secret_id, workspace, secret_name, provider, sealed_value, \
     masked_values, auth_config, created_at, last_updated_at, created_by, last_updated_by";

fn map_text(map: &BTreeMap<String, String>) -> Result<String> {
    serde_json::to_string(map).map_err(|e| Error::internal(format!("cannot encode a map: {e}")))
}

fn text_map(text: &str) -> PgResult<BTreeMap<String, String>> {
    serde_json::from_str(text)
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
        masked_values: text_map(&masked)?,
        auth_config: text_map(&auth)?,
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
}
