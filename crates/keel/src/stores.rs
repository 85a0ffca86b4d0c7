//! Opening the configured stores, shared by every command that touches data.

use std::sync::Arc;

use keel_artifacts::ArtifactStore;
use keel_core::registry::SourcePolicy;
use keel_core::traces::Traces;
use keel_core::webhooks::TargetPolicy;
use keel_core::{Registry, Tracking, WebhookStore, Webhooks};

use crate::config::Config;

/// The domain services over the configured stores.
#[derive(Clone)]
pub struct Services {
    pub tracking: Tracking,
    pub registry: Registry,
    pub traces: Traces,
    pub artifacts: Arc<dyn ArtifactStore>,
    /// The webhook side of the backend store; only a server sets up webhooks over it
    /// ([`webhooks`]), so other commands need no secrets key.
    pub webhook_store: Arc<dyn WebhookStore>,
    /// Accounts, tokens, roles and grants.
    pub identity: Arc<dyn keel_auth::store::IdentityStore>,
    /// The workspace catalogue.
    pub workspaces: keel_core::Workspaces,
    /// The audit log's storage (see [`audit_log`]).
    pub audit_store: Arc<dyn keel_core::audit::AuditStore>,
    /// The AI gateway's storage; only a server sets up the gateway over it ([`gateway`]).
    pub gateway_store: Arc<dyn keel_gateway::GatewayStore>,
}

/// Which URIs model-version sources may be, given where artifacts are stored: besides the
/// registry's own schemes (`models:/`, `runs:/`, `mlflow-artifacts:/`), URIs under an
/// object-store destination (`s3://bucket/prefix/...`). A local directory adds nothing: local
/// paths are never accepted as sources, the artifact proxy serves them as `mlflow-artifacts:`.
pub fn source_policy(artifacts_destination: &str) -> SourcePolicy {
    SourcePolicy::new().with_store_root(artifacts_destination)
}

/// The tracking, registry and trace services over the backend store (migrated, with the default
/// experiment) and the artifact store (a local directory or object storage, by the
/// destination's scheme).
pub async fn open(config: &Config) -> anyhow::Result<Services> {
    let uri = keel_store::StoreUri::parse(&config.backend_store_uri)
        .map_err(|e| anyhow::anyhow!("invalid backend_store_uri: {e}"))?;
    let artifacts = keel_artifacts::open(
        &config.artifacts_destination,
        &config.object_store_options(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot open the artifact store: {e}"))?;
    let stores = keel_store::open_stores(&uri)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open backend store: {e}"))?;
    let tracking =
        Tracking::new(stores.tracking).with_artifact_root(config.experiment_artifact_root()?);
    tracking
        .ensure_default_experiment()
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the default experiment: {e}"))?;
    let registry = Registry::new(
        stores.registry,
        tracking.clone(),
        source_policy(&config.artifacts_destination),
    );
    let traces = Traces::new(stores.traces, tracking.clone());
    Ok(Services {
        tracking,
        registry,
        traces,
        artifacts,
        webhook_store: stores.webhooks,
        identity: stores.identity,
        workspaces: keel_core::Workspaces::new(stores.workspaces, config.enable_workspaces),
        audit_store: stores.audit,
        gateway_store: stores.gateway,
    })
}

/// The audit log as configured (`None` when `audit_log` is off): its key loaded (or created)
/// and checked against the one this database's log is signed with.
pub async fn audit_log(
    config: &Config,
    store: Arc<dyn keel_core::audit::AuditStore>,
) -> anyhow::Result<Option<keel_core::audit::AuditLog>> {
    if !config.audit_log {
        return Ok(None);
    }
    let signer = crate::audit_key::load_signer(config)?;
    let settings = keel_core::audit::AuditSettings {
        checkpoint_interval: std::time::Duration::from_secs(
            config.audit_checkpoint_interval_seconds,
        ),
        checkpoint_entries: config.audit_checkpoint_entries,
        retention: config.audit_retention()?,
    };
    let outlets = keel_server::audit::outlets::outlets(
        crate::audit_key::timestamper(config)?,
        &config.audit_publish,
        config.audit_publish_secret.as_ref().map(|s| s.expose()),
        &config.object_store_options(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot set up the audit log's outlets: {e}"))?;
    keel_core::audit::AuditLog::open_with(store, signer, settings, outlets)
        .await
        .map(Some)
        .map_err(|e| anyhow::anyhow!("cannot open the audit log: {e}"))
}

/// Identity and access over the identity store, as configured: the auth mode (open only while
/// no account exists, on loopback or with explicit consent), the default permission and the
/// operator's Cedar policies (refused, naming the policy, when invalid).
pub fn auth(
    config: &Config,
    identity: Arc<dyn keel_auth::store::IdentityStore>,
) -> anyhow::Result<keel_auth::service::Auth> {
    use keel_auth::service::{AuthMode, AuthSettings};
    let operator = match &config.policy_file {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read policy_file {}: {e}", path.display()))?,
        )),
        None => None,
    };
    let engine = keel_auth::policy::PolicyEngine::new(
        operator
            .as_ref()
            .map(|(source, text)| (source.as_str(), text.as_str())),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let settings = AuthSettings {
        mode: match config.auth_mode {
            crate::config::AuthModeSetting::Auto => AuthMode::Auto,
            crate::config::AuthModeSetting::Required => AuthMode::Required,
        },
        loopback_only: config.may_run_open(),
        default_permission: config.default_permission()?,
        session_ttl: std::time::Duration::from_secs(config.session_ttl_hours.saturating_mul(3600)),
        ..AuthSettings::default()
    };
    keel_auth::service::Auth::new(
        identity,
        engine,
        settings,
        Arc::new(keel_core::clock::SystemClock),
    )
    .map_err(|e| anyhow::anyhow!("cannot set up authentication: {e}"))
}

/// The webhook service of a server: outbound rules from the configuration, secrets sealed with
/// the configured (or generated) key.
pub fn webhooks(config: &Config, store: Arc<dyn WebhookStore>) -> anyhow::Result<Webhooks> {
    let targets = TargetPolicy {
        allow_private: config.webhooks_allow_private_targets,
    };
    let transport =
        keel_server::webhooks::HttpTransport::new(targets).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = crate::secrets::load_key(config)?;
    Webhooks::new(store, &key, Arc::new(transport), targets)
        .map_err(|e| anyhow::anyhow!("cannot set up webhooks: {e}"))
}

/// The AI gateway of a server: provider credentials sealed with a key derived from the
/// configured (or generated) secrets key, upstreams allowed as the configuration says.
pub fn gateway(
    config: &Config,
    store: Arc<dyn keel_gateway::GatewayStore>,
    tracking: Tracking,
) -> anyhow::Result<keel_gateway::Gateway> {
    let key = crate::secrets::load_key(config)?;
    let gateway_key =
        keel_core::webhooks::SecretKey::from_bytes(key.derive("keel gateway secrets"));
    let cipher = keel_core::webhooks::SecretCipher::new(&gateway_key)
        .map_err(|e| anyhow::anyhow!("cannot set up the gateway: {e}"))?;
    keel_gateway::Gateway::new(
        store,
        tracking,
        Arc::new(cipher),
        Arc::new(keel_core::clock::SystemClock),
        keel_gateway::DestinationPolicy {
            allow_http: config.gateway_allow_http_upstreams,
            allow_private: config.gateway_allow_private_upstreams,
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot set up the gateway: {e}"))
    .and_then(|gateway| Ok(gateway.with_prices(prices(config)?)))
}

/// The gateway's price table: the shipped one, with the operator's file over it.
fn prices(config: &Config) -> anyhow::Result<keel_gateway::prices::PriceTable> {
    let mut table = keel_gateway::prices::PriceTable::shipped();
    if let Some(path) = &config.gateway_prices_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read gateway_prices_file {}: {e}", path.display())
        })?;
        table.merge_json(&text).map_err(|e| {
            anyhow::anyhow!("gateway_prices_file {}: {}", path.display(), e.message)
        })?;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_store_destinations_widen_sources_and_local_ones_do_not() {
        let s3 = source_policy("s3://bucket/prefix");
        assert!(s3.classify("s3://bucket/prefix/1/m").is_ok());
        assert!(s3.classify("s3://bucket/other").is_err());
        let local = source_policy("/srv/keel/artifacts");
        assert_eq!(local, SourcePolicy::new());
        assert!(local.classify("/srv/keel/artifacts/1/m").is_err());
    }
}
