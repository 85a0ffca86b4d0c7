//! Provider credentials (`s-...`): a named map of secret values, sealed at rest and never
//! returned (only masked: `sk-...abcd`), and an `auth_config` of non-secret settings such as
//! the upstream's `api_base`. As the reference's `gateway/secrets/*` routes, with bounds of
//! Keel's own on sizes.

use std::collections::BTreeMap;

use keel_core::{Error, Result};

use crate::Gateway;

/// Keys that would let a secret choose where the gateway sends requests outside the checked
/// `api_base` (the reference refuses them too).
const RESERVED_AUTH_KEYS: [&str; 4] =
    ["base_url", "custom_llm_provider", "fallbacks", "model_list"];
const RESERVED_VALUE_KEYS: [&str; 5] = [
    "api_base",
    "base_url",
    "custom_llm_provider",
    "fallbacks",
    "model_list",
];

/// Keel's bounds: a secret's maps hold at most this many keys, keys and values this long.
pub const MAX_KEYS: usize = 32;
pub const MAX_KEY_CHARS: usize = 250;
pub const MAX_VALUE_CHARS: usize = 32_768;
pub const MAX_NAME_CHARS: usize = 255;

/// A stored secret. `sealed_value` is the AES-256-GCM sealed JSON of the values, bound to the
/// secret's ID and name; nothing outside this crate and the store sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySecret {
    pub secret_id: String,
    pub secret_name: String,
    pub workspace: String,
    pub provider: Option<String>,
    pub masked_values: BTreeMap<String, String>,
    pub auth_config: BTreeMap<String, String>,
    pub sealed_value: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    pub created_by: Option<String>,
    pub last_updated_by: Option<String>,
}

/// `secrets/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateSecret {
    pub secret_name: Option<String>,
    pub secret_value: BTreeMap<String, String>,
    pub provider: Option<String>,
    pub auth_config: BTreeMap<String, String>,
    pub created_by: Option<String>,
}

/// `secrets/update`: an empty map leaves that part as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateSecret {
    pub secret_id: String,
    pub secret_value: BTreeMap<String, String>,
    pub auth_config: BTreeMap<String, String>,
    pub updated_by: Option<String>,
}

/// `abc...wxyz`, or `***` for values shorter than 8 characters (as the reference masks).
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return "***".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}...{tail}")
}

/// Python's `repr` of a list of keys, sorted: `'a', 'b'`.
fn quoted(keys: &[&str]) -> String {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_sizes(what: &str, map: &BTreeMap<String, String>) -> Result<()> {
    if map.len() > MAX_KEYS {
        return Err(Error::invalid(format!(
            "{what} may hold at most {MAX_KEYS} keys, got {}.",
            map.len()
        )));
    }
    for (key, value) in map {
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            return Err(Error::invalid(format!(
                "{what} keys must be 1 to {MAX_KEY_CHARS} characters long."
            )));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::invalid(format!(
                "{what} value of '{key}' must be at most {MAX_VALUE_CHARS} characters long."
            )));
        }
    }
    Ok(())
}

fn check_value_keys(values: &BTreeMap<String, String>) -> Result<()> {
    check_sizes("secret_value", values)?;
    let reserved: Vec<&str> = RESERVED_VALUE_KEYS
        .into_iter()
        .filter(|k| values.contains_key(*k))
        .collect();
    if reserved.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "secret_value must not contain {}: these keys choose where the gateway sends requests. \
         Set the upstream with 'api_base' in auth_config, where it is validated.",
        quoted(&reserved)
    )))
}

/// `secret_id|secret_name`, the additional data a sealed value is bound to: a value copied to
/// another secret does not open.
fn binding(secret_id: &str, secret_name: &str) -> String {
    format!("gateway-secret|{secret_id}|{secret_name}")
}

impl Gateway {
    /// Normalizes an `auth_config`: reserved keys refused, `api_base` trimmed (dropped when
    /// blank) and checked against the destination policy.
    async fn auth_config(
        &self,
        mut config: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        check_sizes("auth_config", &config)?;
        let reserved: Vec<&str> = RESERVED_AUTH_KEYS
            .into_iter()
            .filter(|k| config.contains_key(*k))
            .collect();
        if !reserved.is_empty() {
            return Err(Error::invalid(format!(
                "auth_config must not contain {}: these LiteLLM options choose where the gateway \
                 sends requests. Set the upstream with 'api_base', which is validated.",
                quoted(&reserved)
            )));
        }
        if let Some(base) = config.remove("api_base") {
            let base = base.trim();
            if !base.is_empty() {
                self.destinations.check(base).await?;
                config.insert("api_base".to_owned(), base.to_owned());
            }
        }
        Ok(config)
    }

    fn seal(&self, id: &str, name: &str, values: &BTreeMap<String, String>) -> Result<String> {
        let plain = serde_json::to_string(values)
            .map_err(|e| Error::internal(format!("cannot encode a secret: {e}")))?;
        self.cipher.seal(&binding(id, name), &plain)
    }

    /// The secret values of `secret`, opened (for calls to its provider).
    pub fn open_secret(&self, secret: &GatewaySecret) -> Result<BTreeMap<String, String>> {
        let plain = self.cipher.open(
            &binding(&secret.secret_id, &secret.secret_name),
            &secret.sealed_value,
        )?;
        serde_json::from_str(&plain)
            .map_err(|_| Error::internal("a stored gateway secret is not a JSON object"))
    }

    pub async fn create_secret(&self, workspace: &str, req: CreateSecret) -> Result<GatewaySecret> {
        let name = req
            .secret_name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| Error::missing_parameter("secret_name"))?;
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(format!(
                "secret_name must be at most {MAX_NAME_CHARS} characters long."
            )));
        }
        check_value_keys(&req.secret_value)?;
        let auth_config = self.auth_config(req.auth_config).await?;
        let secret_id = format!("s-{}", uuid::Uuid::new_v4().simple());
        let now = self.now();
        let secret = GatewaySecret {
            sealed_value: self.seal(&secret_id, &name, &req.secret_value)?,
            masked_values: masked(&req.secret_value),
            secret_id,
            secret_name: name,
            workspace: workspace.to_owned(),
            provider: req.provider.filter(|p| !p.is_empty()),
            auth_config,
            created_at: now,
            last_updated_at: now,
            last_updated_by: req.created_by.clone(),
            created_by: req.created_by,
        };
        if !self.store.insert_secret(&secret).await? {
            return Err(Error::already_exists(format!(
                "Secret with name '{}' already exists",
                secret.secret_name
            )));
        }
        Ok(secret)
    }

    pub async fn get_secret(&self, workspace: &str, secret_id: &str) -> Result<GatewaySecret> {
        if secret_id.is_empty() {
            return Err(Error::missing_parameter("secret_id"));
        }
        self.store
            .get_secret(workspace, secret_id)
            .await?
            .ok_or_else(|| not_found(secret_id))
    }

    pub async fn list_secrets(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<GatewaySecret>> {
        self.store
            .list_secrets(workspace, provider.filter(|p| !p.is_empty()))
            .await
    }

    /// New values are sealed afresh; a non-empty `auth_config` replaces the old one (one that
    /// normalizes to nothing clears it); `last_updated_by` is always the caller's `updated_by`.
    pub async fn update_secret(&self, workspace: &str, req: UpdateSecret) -> Result<GatewaySecret> {
        let mut secret = self.get_secret(workspace, &req.secret_id).await?;
        if !req.secret_value.is_empty() {
            check_value_keys(&req.secret_value)?;
            secret.sealed_value =
                self.seal(&secret.secret_id, &secret.secret_name, &req.secret_value)?;
            secret.masked_values = masked(&req.secret_value);
        }
        if !req.auth_config.is_empty() {
            secret.auth_config = self.auth_config(req.auth_config).await?;
        }
        secret.last_updated_by = req.updated_by;
        secret.last_updated_at = self.now();
        if !self.store.update_secret(&secret).await? {
            return Err(not_found(&secret.secret_id));
        }
        self.changed();
        Ok(secret)
    }

    pub async fn delete_secret(&self, workspace: &str, secret_id: &str) -> Result<()> {
        if secret_id.is_empty() {
            return Err(Error::missing_parameter("secret_id"));
        }
        if self.store.delete_secret(workspace, secret_id).await? {
            self.changed();
            Ok(())
        } else {
            Err(not_found(secret_id))
        }
    }
}

fn masked(values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    values.iter().map(|(k, v)| (k.clone(), mask(v))).collect()
}

pub(crate) fn not_found(secret_id: &str) -> Error {
    Error::not_found(format!("GatewaySecret not found (secret_id='{secret_id}')"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_as_the_reference_masks_them() {
        assert_eq!(mask("sk-test-1234567890abcd"), "sk-...abcd");
        assert_eq!(mask("short"), "***");
        assert_eq!(mask("1234567"), "***");
        assert_eq!(mask("12345678"), "123...5678");
        assert_eq!(mask("ééééabcdefgh"), "ééé...efgh");
    }

    #[test]
    fn reserved_keys_are_named_sorted() {
        let values: BTreeMap<String, String> = [("model_list", "x"), ("base_url", "y")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let e = check_value_keys(&values).expect_err("reserved");
        assert!(
            e.message
                .starts_with("secret_value must not contain 'base_url', 'model_list': "),
            "{}",
            e.message
        );
    }
}
