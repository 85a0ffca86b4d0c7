//! The typed configuration. Layers, lowest first: built-in defaults, the TOML file,
//! `KEEL_*` environment variables, command-line flags. Unknown file keys are rejected.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration of a Keel process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub backend_store_uri: String,
    /// A local directory, or `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`.
    pub artifacts_destination: String,
    /// Endpoint of an S3-compatible server (MinIO, Ceph, ...); unset: AWS (or `AWS_ENDPOINT_URL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_s3_endpoint_url: Option<String>,
    /// Path-style S3 requests (`true`) or virtual-hosted style (`false`); unset: path style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_s3_force_path_style: Option<bool>,
    /// Allow a plain-HTTP S3 endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_s3_allow_http: Option<bool>,
    /// Where new experiments keep their artifacts (their ID appended), as the reference's
    /// `--default-artifact-root`; unset: `mlflow-artifacts:/` (the server's proxy) while serving
    /// artifacts, else the artifacts destination itself (clients then reach it directly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_artifact_root: Option<String>,
    /// Serve the artifact proxy (`mlflow-artifacts`); without it its routes answer 503.
    pub serve_artifacts: bool,
    /// Serve the artifact proxy only: every tracking, registry and trace route answers 503.
    pub artifacts_only: bool,
    pub log_level: String,
    pub log_format: LogFormat,
    pub shutdown_grace_seconds: u64,
    pub allow_unauthenticated_network_access: bool,
    /// Whether requests may choose a workspace (`X-MLFLOW-WORKSPACE`) and the workspace API
    /// is served; without it, everything is in `default`.
    pub enable_workspaces: bool,
    /// Count requests and serve Prometheus metrics at `/metrics` (the reference's
    /// `--expose-prometheus`).
    pub metrics: bool,
    /// The path every route is served under, as the reference's `--static-prefix` (e.g.
    /// `/mlflow`); empty at the root.
    pub static_prefix: String,
    /// Host names (besides localhost and IP addresses) accepted in the `Host` header; `*` = any.
    pub allowed_hosts: Vec<String>,
    /// Origins (besides same-origin and loopback pages) allowed to send writes; `*` = any.
    pub cors_allowed_origins: Vec<String>,
    /// Let webhooks reach loopback, private, link-local and other non-public addresses.
    pub webhooks_allow_private_targets: bool,
    /// Open connections at most; one over the limit is answered 503 and closed
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers
    pub header_read_timeout_seconds: u64,
    /// Seconds a request body may go without sending data
    pub body_read_timeout_seconds: u64,
    /// Seconds an idle keep-alive connection (or one whose client stops reading) stays open
    pub idle_timeout_seconds: u64,
    /// Largest JSON request body, in bytes
    pub max_request_body_bytes: usize,
    /// Largest OTLP export body once decompressed, in bytes
    pub max_otlp_body_bytes: usize,
    /// Let gateway secrets name `http://` upstreams, not only `https://`
    pub gateway_allow_http_upstreams: bool,
    /// Let gateway secrets name upstreams at non-public addresses
    pub gateway_allow_private_upstreams: bool,
    /// The operator's prices for the gateway's calls (JSON), over the shipped table
    pub gateway_prices_file: Option<PathBuf>,
    /// Most root fields a GraphQL query may select, over all its operations
    pub graphql_max_root_fields: usize,
    /// Most aliases one GraphQL selection set may hold
    pub graphql_max_aliases: usize,
    /// Base64 of the 32-byte key that encrypts secrets at rest (webhook secrets); unset: a key
    /// generated once in `<data_dir>/secrets.key`. Replicas sharing a database need the same key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_key: Option<Redacted>,
    /// `auto`: while no account exists and Keel listens on loopback only, local requests act
    /// as a local administrator; `required`: every request authenticates from the start
    pub auth_mode: AuthModeSetting,
    /// The level of a resource nobody granted: `NO_PERMISSIONS` (deny by default) or, as the
    /// reference, `READ`
    pub default_permission: String,
    /// A file of Cedar policies added to the built-in ones (validated at start)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<PathBuf>,
    /// The first administrator, created at start while no account exists (for containers)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_username: Option<String>,
    /// Its password
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Redacted>,
    /// The OpenID Connect issuer whose JWTs are accepted as bearer tokens
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
    /// Audiences accepted in those tokens' `aud`
    pub oidc_audience: Vec<String>,
    /// The issuer's JSON Web Key Set: a URL or a file; unset: the `jwks_uri` of its discovery
    /// document
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_jwks: Option<String>,
    /// The claim naming the Keel user
    pub oidc_username_claim: String,
    /// The claim listing the user's groups (a group holds the role of its name)
    pub oidc_groups_claim: String,
    /// Groups whose members are administrators
    pub oidc_admin_groups: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds
    pub oidc_leeway_seconds: u64,
    /// The web UI's client ID at the issuer: set, the sign-in page offers single sign-on
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_client_id: Option<String>,
    /// Its client secret (a confidential client); unset: a public client with PKCE only
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_client_secret: Option<Redacted>,
    /// The scopes asked for at sign-in
    pub oidc_scopes: String,
    /// The callback URL registered at the issuer; unset: derived from the request's host
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_redirect_url: Option<String>,
    /// How long a web UI sign-in lasts, in hours
    pub session_ttl_hours: u64,
    /// A PEM certificate chain (leaf first) to serve HTTPS with; needs `tls_key`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Record every change, denial and failed sign-in in the tamper-evident audit log
    pub audit_log: bool,
    /// The audit log's Ed25519 signing key, a PKCS#8 PEM file (`openssl genpkey -algorithm
    /// ed25519`); unset: generated once in `<data_dir>/audit-signing.pem`. Replicas sharing a
    /// database need the same key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_signing_key: Option<PathBuf>,
    /// The log's name: the origin line of its checkpoints and its key's name
    pub audit_origin: String,
    /// A checkpoint is signed when the last is this many seconds old and the log has grown
    pub audit_checkpoint_interval_seconds: u64,
    /// ...or as soon as this many entries were added since the last one
    pub audit_checkpoint_entries: u64,
    /// Resource kinds whose reads are recorded too (e.g. `Run`, `RegisteredModel`; `*`: all)
    pub audit_reads: Vec<String>,
    /// Prune audit entries older than this many days (at least 184, six months); unset: keep
    /// every entry
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_retention_days: Option<u64>,
    /// An RFC 3161 timestamp authority's URL: every checkpoint is timestamped by it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_timestamp_url: Option<String>,
    /// The PEM certificate(s) of the timestamp authority's CA: its tokens are verified against
    /// them before they are stored; needs `audit_timestamp_url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_timestamp_ca: Option<PathBuf>,
    /// Where each signed checkpoint is published: a directory (`file:///dir` or a path), an
    /// object-store prefix (`s3://`, `gs://`, `az://`), or an `https://` webhook
    pub audit_publish: Vec<String>,
    /// The secret that signs checkpoints sent to webhook sinks (HMAC-SHA256, as MLflow's
    /// webhooks); needed when `audit_publish` names a webhook
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_publish_secret: Option<Redacted>,
}

/// When requests must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthModeSetting {
    Auto,
    Required,
}

/// A secret configuration value: shown as `***` in `Debug` and in `keel config`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Redacted(String);

impl Redacted {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Redacted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Redacted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// One configuration layer: every field optional. The TOML file has exactly these keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
    pub backend_store_uri: Option<String>,
    pub artifacts_destination: Option<String>,
    pub artifacts_s3_endpoint_url: Option<String>,
    pub artifacts_s3_force_path_style: Option<bool>,
    pub artifacts_s3_allow_http: Option<bool>,
    pub default_artifact_root: Option<String>,
    pub serve_artifacts: Option<bool>,
    pub artifacts_only: Option<bool>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub shutdown_grace_seconds: Option<u64>,
    pub allow_unauthenticated_network_access: Option<bool>,
    pub enable_workspaces: Option<bool>,
    pub metrics: Option<bool>,
    pub static_prefix: Option<String>,
    pub allowed_hosts: Option<Vec<String>>,
    pub cors_allowed_origins: Option<Vec<String>>,
    pub webhooks_allow_private_targets: Option<bool>,
    pub max_connections: Option<usize>,
    pub header_read_timeout_seconds: Option<u64>,
    pub body_read_timeout_seconds: Option<u64>,
    pub idle_timeout_seconds: Option<u64>,
    pub max_request_body_bytes: Option<usize>,
    pub max_otlp_body_bytes: Option<usize>,
    pub gateway_allow_http_upstreams: Option<bool>,
    pub gateway_allow_private_upstreams: Option<bool>,
    pub gateway_prices_file: Option<PathBuf>,
    pub graphql_max_root_fields: Option<usize>,
    pub graphql_max_aliases: Option<usize>,
    pub secrets_key: Option<Redacted>,
    pub auth_mode: Option<String>,
    pub default_permission: Option<String>,
    pub policy_file: Option<PathBuf>,
    pub admin_username: Option<String>,
    pub admin_password: Option<Redacted>,
    pub oidc_issuer: Option<String>,
    pub oidc_audience: Option<Vec<String>>,
    pub oidc_jwks: Option<String>,
    pub oidc_username_claim: Option<String>,
    pub oidc_groups_claim: Option<String>,
    pub oidc_admin_groups: Option<Vec<String>>,
    pub oidc_leeway_seconds: Option<u64>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<Redacted>,
    pub oidc_scopes: Option<String>,
    pub oidc_redirect_url: Option<String>,
    pub session_ttl_hours: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub audit_log: Option<bool>,
    pub audit_signing_key: Option<PathBuf>,
    pub audit_origin: Option<String>,
    pub audit_checkpoint_interval_seconds: Option<u64>,
    pub audit_checkpoint_entries: Option<u64>,
    pub audit_reads: Option<Vec<String>>,
    pub audit_retention_days: Option<u64>,
    pub audit_timestamp_url: Option<String>,
    pub audit_timestamp_ca: Option<PathBuf>,
    pub audit_publish: Option<Vec<String>>,
    pub audit_publish_secret: Option<Redacted>,
}

impl Overrides {
    /// `other`'s set fields win over ours.
    fn then(self, other: Overrides) -> Overrides {
        Overrides {
            host: other.host.or(self.host),
            port: other.port.or(self.port),
            data_dir: other.data_dir.or(self.data_dir),
            backend_store_uri: other.backend_store_uri.or(self.backend_store_uri),
            artifacts_destination: other.artifacts_destination.or(self.artifacts_destination),
            default_artifact_root: other.default_artifact_root.or(self.default_artifact_root),
            serve_artifacts: other.serve_artifacts.or(self.serve_artifacts),
            artifacts_only: other.artifacts_only.or(self.artifacts_only),
            artifacts_s3_endpoint_url: other
                .artifacts_s3_endpoint_url
                .or(self.artifacts_s3_endpoint_url),
            artifacts_s3_force_path_style: other
                .artifacts_s3_force_path_style
                .or(self.artifacts_s3_force_path_style),
            artifacts_s3_allow_http: other
                .artifacts_s3_allow_http
                .or(self.artifacts_s3_allow_http),
            log_level: other.log_level.or(self.log_level),
            log_format: other.log_format.or(self.log_format),
            shutdown_grace_seconds: other.shutdown_grace_seconds.or(self.shutdown_grace_seconds),
            allow_unauthenticated_network_access: other
                .allow_unauthenticated_network_access
                .or(self.allow_unauthenticated_network_access),
            enable_workspaces: other.enable_workspaces.or(self.enable_workspaces),
            metrics: other.metrics.or(self.metrics),
            static_prefix: other.static_prefix.or(self.static_prefix),
            allowed_hosts: other.allowed_hosts.or(self.allowed_hosts),
            cors_allowed_origins: other.cors_allowed_origins.or(self.cors_allowed_origins),
            webhooks_allow_private_targets: other
                .webhooks_allow_private_targets
                .or(self.webhooks_allow_private_targets),
            max_connections: other.max_connections.or(self.max_connections),
            header_read_timeout_seconds: other
                .header_read_timeout_seconds
                .or(self.header_read_timeout_seconds),
            body_read_timeout_seconds: other
                .body_read_timeout_seconds
                .or(self.body_read_timeout_seconds),
            idle_timeout_seconds: other.idle_timeout_seconds.or(self.idle_timeout_seconds),
            max_request_body_bytes: other.max_request_body_bytes.or(self.max_request_body_bytes),
            max_otlp_body_bytes: other.max_otlp_body_bytes.or(self.max_otlp_body_bytes),
            gateway_allow_http_upstreams: other
                .gateway_allow_http_upstreams
                .or(self.gateway_allow_http_upstreams),
            gateway_allow_private_upstreams: other
                .gateway_allow_private_upstreams
                .or(self.gateway_allow_private_upstreams),
            graphql_max_root_fields: other
                .graphql_max_root_fields
                .or(self.graphql_max_root_fields),
            graphql_max_aliases: other.graphql_max_aliases.or(self.graphql_max_aliases),
            secrets_key: other.secrets_key.or(self.secrets_key),
            auth_mode: other.auth_mode.or(self.auth_mode),
            default_permission: other.default_permission.or(self.default_permission),
            policy_file: other.policy_file.or(self.policy_file),
            gateway_prices_file: other.gateway_prices_file.or(self.gateway_prices_file),
            admin_username: other.admin_username.or(self.admin_username),
            admin_password: other.admin_password.or(self.admin_password),
            oidc_issuer: other.oidc_issuer.or(self.oidc_issuer),
            oidc_audience: other.oidc_audience.or(self.oidc_audience),
            oidc_jwks: other.oidc_jwks.or(self.oidc_jwks),
            oidc_username_claim: other.oidc_username_claim.or(self.oidc_username_claim),
            oidc_groups_claim: other.oidc_groups_claim.or(self.oidc_groups_claim),
            oidc_admin_groups: other.oidc_admin_groups.or(self.oidc_admin_groups),
            oidc_leeway_seconds: other.oidc_leeway_seconds.or(self.oidc_leeway_seconds),
            oidc_client_id: other.oidc_client_id.or(self.oidc_client_id),
            oidc_client_secret: other.oidc_client_secret.or(self.oidc_client_secret),
            oidc_scopes: other.oidc_scopes.or(self.oidc_scopes),
            oidc_redirect_url: other.oidc_redirect_url.or(self.oidc_redirect_url),
            session_ttl_hours: other.session_ttl_hours.or(self.session_ttl_hours),
            tls_cert: other.tls_cert.or(self.tls_cert),
            tls_key: other.tls_key.or(self.tls_key),
            audit_log: other.audit_log.or(self.audit_log),
            audit_signing_key: other.audit_signing_key.or(self.audit_signing_key),
            audit_origin: other.audit_origin.or(self.audit_origin),
            audit_checkpoint_interval_seconds: other
                .audit_checkpoint_interval_seconds
                .or(self.audit_checkpoint_interval_seconds),
            audit_checkpoint_entries: other
                .audit_checkpoint_entries
                .or(self.audit_checkpoint_entries),
            audit_reads: other.audit_reads.or(self.audit_reads),
            audit_retention_days: other.audit_retention_days.or(self.audit_retention_days),
            audit_timestamp_url: other.audit_timestamp_url.or(self.audit_timestamp_url),
            audit_timestamp_ca: other.audit_timestamp_ca.or(self.audit_timestamp_ca),
            audit_publish: other.audit_publish.or(self.audit_publish),
            audit_publish_secret: other.audit_publish_secret.or(self.audit_publish_secret),
        }
    }
}

impl Config {
    /// The level of a resource nobody granted.
    pub fn default_permission(&self) -> anyhow::Result<keel_auth::Permission> {
        match keel_auth::Permission::parse(&self.default_permission) {
            Ok(
                p @ (keel_auth::Permission::NoPermissions
                | keel_auth::Permission::Read
                | keel_auth::Permission::Use
                | keel_auth::Permission::Edit
                | keel_auth::Permission::Manage),
            ) => Ok(p),
            _ => bail!(
                "invalid default_permission '{}': expected NO_PERMISSIONS, READ, USE, EDIT or \
                 MANAGE",
                self.default_permission
            ),
        }
    }

    /// How bearer JWTs are verified, when an OpenID Connect issuer is configured.
    pub fn oidc(&self) -> anyhow::Result<Option<keel_auth::oidc::OidcSettings>> {
        use keel_auth::oidc::{JwksSource, OidcSettings};
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        // ID tokens from single sign-on are issued to the client: its ID is an audience too.
        let mut audiences = self.oidc_audience.clone();
        if let Some(client_id) = &self.oidc_client_id
            && !audiences.contains(client_id)
        {
            audiences.push(client_id.clone());
        }
        if audiences.is_empty() {
            bail!(
                "oidc_issuer is set but oidc_audience is not: name the audience Keel's tokens carry"
            );
        }
        let mut s = OidcSettings::new(issuer.clone(), audiences);
        s.jwks = match &self.oidc_jwks {
            None => JwksSource::Discover,
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                JwksSource::Url(u.clone())
            }
            Some(path) => JwksSource::File(PathBuf::from(path)),
        };
        s.username_claim = self.oidc_username_claim.clone();
        s.groups_claim = self.oidc_groups_claim.clone();
        s.admin_groups = self.oidc_admin_groups.clone();
        s.leeway = std::time::Duration::from_secs(self.oidc_leeway_seconds);
        Ok(Some(s))
    }

    /// Single sign-on for the web UI, when `oidc_client_id` is set (with `oidc_issuer`).
    pub fn sso(&self) -> anyhow::Result<Option<keel_auth::oidc::sso::SsoSettings>> {
        let Some(client_id) = &self.oidc_client_id else {
            return Ok(None);
        };
        if self.oidc_issuer.is_none() {
            bail!("oidc_client_id is set but oidc_issuer is not: name the identity provider");
        }
        Ok(Some(keel_auth::oidc::sso::SsoSettings {
            client_id: client_id.clone(),
            client_secret: self
                .oidc_client_secret
                .as_ref()
                .map(|s| s.expose().to_owned()),
            scopes: self.oidc_scopes.clone(),
            redirect_url: self.oidc_redirect_url.clone(),
        }))
    }

    /// The resource kinds whose reads the audit log records.
    pub fn audit_reads(&self) -> anyhow::Result<Vec<keel_auth::ResourceKind>> {
        let mut kinds = Vec::new();
        for name in &self.audit_reads {
            if name == "*" {
                return Ok(keel_auth::ResourceKind::ALL.to_vec());
            }
            match keel_auth::ResourceKind::ALL
                .iter()
                .find(|k| k.cedar_type().eq_ignore_ascii_case(name))
            {
                Some(k) => kinds.push(*k),
                None => bail!(
                    "invalid audit_reads entry '{name}': expected a resource kind ({}) or '*'",
                    keel_auth::ResourceKind::ALL
                        .iter()
                        .map(|k| k.cedar_type())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        Ok(kinds)
    }

    /// How long audit entries are kept (`None`: forever).
    pub fn audit_retention(&self) -> anyhow::Result<Option<std::time::Duration>> {
        let Some(days) = self.audit_retention_days else {
            return Ok(None);
        };
        let min = keel_core::audit::MIN_RETENTION.as_secs() / 86_400;
        if days < min {
            bail!(
                "audit_retention_days must be at least {min} (six months: automatic logs are \
                 kept at least that long), not {days}"
            );
        }
        Ok(Some(std::time::Duration::from_secs(
            days.saturating_mul(86_400),
        )))
    }

    /// Whether Keel may serve without authentication while no account exists: it listens on
    /// loopback only, or the operator explicitly allowed unauthenticated network access.
    pub fn may_run_open(&self) -> bool {
        is_loopback(&self.host) || self.allow_unauthenticated_network_access
    }
}

/// The audit log's name when none is configured.
pub const DEFAULT_AUDIT_ORIGIN: &str = "keel.local/audit";

/// The file read when none is named, if it exists.
const DEFAULT_CONFIG_FILE: &str = "keel.toml";

impl Config {
    /// Reads the file (the named one, or `./keel.toml` if present) and applies `overrides`.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        let file_layer = match file {
            Some(path) => Some(read_file(path)?),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                Some(read_file(Path::new(DEFAULT_CONFIG_FILE))?)
            }
            None => None,
        };
        Self::resolve(file_layer.unwrap_or_default().then(overrides))
    }

    /// Fills unset fields with defaults and checks the result.
    pub fn resolve(layer: Overrides) -> anyhow::Result<Config> {
        let data_dir = layer.data_dir.unwrap_or_else(|| PathBuf::from("keel-data"));
        let backend_store_uri = layer
            .backend_store_uri
            .unwrap_or_else(|| format!("sqlite:///{}", data_dir.join("keel.db").display()));
        let artifacts_destination = layer
            .artifacts_destination
            .unwrap_or_else(|| data_dir.join("artifacts").display().to_string());
        let log_format = match layer.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("invalid log_format '{other}': expected 'text' or 'json'"),
        };
        let auth_mode = match layer.auth_mode.as_deref() {
            None | Some("auto") => AuthModeSetting::Auto,
            Some("required") => AuthModeSetting::Required,
            Some(other) => bail!("invalid auth_mode '{other}': expected 'auto' or 'required'"),
        };
        let default_permission = layer
            .default_permission
            .unwrap_or_else(|| "NO_PERMISSIONS".to_owned());
        let config = Config {
            host: layer.host.unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: layer.port.unwrap_or(5000),
            data_dir,
            backend_store_uri,
            artifacts_destination,
            artifacts_s3_endpoint_url: layer.artifacts_s3_endpoint_url,
            artifacts_s3_force_path_style: layer.artifacts_s3_force_path_style,
            artifacts_s3_allow_http: layer.artifacts_s3_allow_http,
            default_artifact_root: layer
                .default_artifact_root
                .filter(|root| !root.is_empty())
                .map(|root| {
                    keel_core::uri::resolve_if_local(&root).map_err(|e| anyhow::anyhow!(e.message))
                })
                .transpose()?,
            serve_artifacts: layer.serve_artifacts.unwrap_or(true),
            artifacts_only: layer.artifacts_only.unwrap_or(false),
            log_level: layer.log_level.unwrap_or_else(|| "info".to_owned()),
            log_format,
            shutdown_grace_seconds: layer.shutdown_grace_seconds.unwrap_or(30),
            allow_unauthenticated_network_access: layer
                .allow_unauthenticated_network_access
                .unwrap_or(false),
            enable_workspaces: layer.enable_workspaces.unwrap_or(false),
            metrics: layer.metrics.unwrap_or(false),
            static_prefix: check_static_prefix(layer.static_prefix.unwrap_or_default())?,
            allowed_hosts: layer.allowed_hosts.unwrap_or_default(),
            cors_allowed_origins: layer.cors_allowed_origins.unwrap_or_default(),
            webhooks_allow_private_targets: layer.webhooks_allow_private_targets.unwrap_or(false),
            max_connections: layer.max_connections.unwrap_or(1024),
            header_read_timeout_seconds: layer.header_read_timeout_seconds.unwrap_or(30),
            body_read_timeout_seconds: layer.body_read_timeout_seconds.unwrap_or(60),
            idle_timeout_seconds: layer.idle_timeout_seconds.unwrap_or(60),
            max_request_body_bytes: layer.max_request_body_bytes.unwrap_or(16 * 1024 * 1024),
            max_otlp_body_bytes: layer.max_otlp_body_bytes.unwrap_or(20 * 1024 * 1024),
            gateway_allow_http_upstreams: layer.gateway_allow_http_upstreams.unwrap_or(false),
            gateway_allow_private_upstreams: layer.gateway_allow_private_upstreams.unwrap_or(false),
            graphql_max_root_fields: layer.graphql_max_root_fields.unwrap_or(10),
            graphql_max_aliases: layer.graphql_max_aliases.unwrap_or(10),
            secrets_key: layer.secrets_key,
            auth_mode,
            default_permission,
            policy_file: layer.policy_file,
            gateway_prices_file: layer.gateway_prices_file,
            admin_username: layer.admin_username.filter(|s| !s.is_empty()),
            admin_password: layer.admin_password.filter(|p| !p.expose().is_empty()),
            oidc_issuer: layer.oidc_issuer.filter(|s| !s.is_empty()),
            oidc_audience: layer.oidc_audience.unwrap_or_default(),
            oidc_jwks: layer.oidc_jwks.filter(|s| !s.is_empty()),
            oidc_username_claim: layer
                .oidc_username_claim
                .unwrap_or_else(|| "sub".to_owned()),
            oidc_groups_claim: layer
                .oidc_groups_claim
                .unwrap_or_else(|| "groups".to_owned()),
            oidc_admin_groups: layer.oidc_admin_groups.unwrap_or_default(),
            oidc_leeway_seconds: layer.oidc_leeway_seconds.unwrap_or(60),
            oidc_client_id: layer.oidc_client_id.filter(|s| !s.is_empty()),
            oidc_client_secret: layer.oidc_client_secret.filter(|s| !s.expose().is_empty()),
            oidc_scopes: layer
                .oidc_scopes
                .unwrap_or_else(|| "openid profile email".to_owned()),
            oidc_redirect_url: layer.oidc_redirect_url.filter(|s| !s.is_empty()),
            session_ttl_hours: layer.session_ttl_hours.unwrap_or(12),
            tls_cert: layer.tls_cert.filter(|p| !p.as_os_str().is_empty()),
            tls_key: layer.tls_key.filter(|p| !p.as_os_str().is_empty()),
            audit_log: layer.audit_log.unwrap_or(true),
            audit_signing_key: layer
                .audit_signing_key
                .filter(|p| !p.as_os_str().is_empty()),
            audit_origin: layer
                .audit_origin
                .unwrap_or_else(|| DEFAULT_AUDIT_ORIGIN.to_owned()),
            audit_checkpoint_interval_seconds: layer
                .audit_checkpoint_interval_seconds
                .unwrap_or(60),
            audit_checkpoint_entries: layer.audit_checkpoint_entries.unwrap_or(10_000),
            audit_reads: layer.audit_reads.unwrap_or_default(),
            audit_retention_days: layer.audit_retention_days,
            audit_timestamp_url: layer.audit_timestamp_url.filter(|s| !s.is_empty()),
            audit_timestamp_ca: layer
                .audit_timestamp_ca
                .filter(|p| !p.as_os_str().is_empty()),
            audit_publish: layer
                .audit_publish
                .unwrap_or_default()
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            audit_publish_secret: layer
                .audit_publish_secret
                .filter(|s| !s.expose().is_empty()),
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        host_ip(&self.host)?;
        self.sso()?;
        self.default_permission()?;
        if self.admin_username.is_some() != self.admin_password.is_some() {
            bail!(
                "set both admin_username and admin_password (KEEL_ADMIN_USERNAME and \
                 KEEL_ADMIN_PASSWORD) to create the first administrator, or neither"
            );
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!(
                "set both tls_cert and tls_key (--tls-cert and --tls-key) to serve HTTPS, or neither"
            );
        }
        for (name, n) in [
            ("max_connections", self.max_connections),
            ("graphql_max_root_fields", self.graphql_max_root_fields),
            ("graphql_max_aliases", self.graphql_max_aliases),
        ] {
            if n == 0 {
                bail!("{name} must be at least 1");
            }
        }
        for (name, bytes) in [
            ("max_request_body_bytes", self.max_request_body_bytes),
            ("max_otlp_body_bytes", self.max_otlp_body_bytes),
        ] {
            if bytes < 1024 {
                bail!("{name} must be at least 1024 bytes");
            }
        }
        for (name, secs) in [
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("body_read_timeout_seconds", self.body_read_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("session_ttl_hours", self.session_ttl_hours),
        ] {
            if secs == 0 {
                bail!("{name} must be at least 1");
            }
        }
        if self.audit_checkpoint_interval_seconds == 0 || self.audit_checkpoint_entries == 0 {
            bail!(
                "audit_checkpoint_interval_seconds and audit_checkpoint_entries must be at least 1"
            );
        }
        self.audit_reads()?;
        self.audit_retention()?;
        if self.audit_timestamp_ca.is_some() && self.audit_timestamp_url.is_none() {
            bail!("audit_timestamp_ca needs audit_timestamp_url (the timestamp authority)");
        }
        keel_store::StoreUri::parse(&self.backend_store_uri)
            .map_err(|e| anyhow::anyhow!("invalid backend_store_uri: {e}"))?;
        if let Some(key) = &self.secrets_key {
            // The message never includes the value.
            keel_core::webhooks::SecretKey::from_base64(key.expose())
                .map_err(|e| anyhow::anyhow!("invalid secrets_key: {e}"))?;
        }
        if self.artifacts_only && !self.serve_artifacts {
            bail!(
                "artifacts_only serves nothing but the artifact proxy, which serve_artifacts = false turns off"
            );
        }
        if let Some(root) = &self.default_artifact_root {
            keel_core::validation::validate_artifact_location(root)
                .map_err(|e| anyhow::anyhow!("invalid default_artifact_root: {}", e.message))?;
        }
        self.check_artifacts_destination()
    }

    /// The prefix of new experiments' artifact locations: the configured root, else the
    /// server's proxy while it serves artifacts, else the destination itself (a local
    /// directory as an absolute path, or the object-store URL).
    pub fn experiment_artifact_root(&self) -> anyhow::Result<String> {
        match &self.default_artifact_root {
            Some(root) => Ok(root.trim_end_matches('/').to_owned()),
            None if self.serve_artifacts => Ok("mlflow-artifacts:".to_owned()),
            None => keel_core::uri::resolve_if_local(&self.artifacts_destination)
                .map_err(|e| anyhow::anyhow!(e.message)),
        }
    }

    /// The scheme is one Keel serves, and the S3 settings go with an `s3://` destination.
    fn check_artifacts_destination(&self) -> anyhow::Result<()> {
        let destination = &self.artifacts_destination;
        let scheme = destination.split_once("://").map(|(scheme, _)| scheme);
        if let Some(scheme) = scheme {
            if !keel_artifacts::object::SCHEMES.contains(&scheme) {
                bail!(
                    "invalid artifacts_destination '{destination}': expected a local directory \
                     or one of s3://, gs://, az://"
                );
            }
        }
        let s3_settings = self.artifacts_s3_endpoint_url.is_some()
            || self.artifacts_s3_force_path_style.is_some()
            || self.artifacts_s3_allow_http.is_some();
        if s3_settings && scheme != Some("s3") {
            bail!(
                "the artifacts_s3_* settings apply only to an s3:// artifacts_destination, not \
                 '{destination}'"
            );
        }
        Ok(())
    }

    /// The connection limits as the server takes them.
    pub fn connection_limits(&self) -> keel_server::ConnectionLimits {
        keel_server::ConnectionLimits {
            max_connections: self.max_connections,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            body_read_timeout: std::time::Duration::from_secs(self.body_read_timeout_seconds),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_seconds),
        }
    }

    /// The request size limits as the server takes them.
    pub fn request_limits(&self) -> keel_server::RequestLimits {
        keel_server::RequestLimits {
            max_json_body_bytes: self.max_request_body_bytes,
            max_otlp_body_bytes: self.max_otlp_body_bytes,
            graphql: keel_server::graphql::limits::QueryLimits {
                max_root_fields: self.graphql_max_root_fields,
                max_aliases: self.graphql_max_aliases,
            },
        }
    }

    /// The S3 settings as the artifact store takes them.
    pub fn object_store_options(&self) -> keel_artifacts::ObjectStoreOptions {
        keel_artifacts::ObjectStoreOptions {
            s3_endpoint_url: self.artifacts_s3_endpoint_url.clone(),
            s3_force_path_style: self.artifacts_s3_force_path_style,
            s3_allow_http: self.artifacts_s3_allow_http,
        }
    }

    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string(self).context("cannot render configuration")
    }
}

/// The address `host` names: an IP address or `localhost`.
fn host_ip(host: &str) -> anyhow::Result<std::net::IpAddr> {
    match host {
        "localhost" => Ok(std::net::Ipv4Addr::LOCALHOST.into()),
        other => other.parse().with_context(|| {
            format!("invalid host '{other}': expected an IP address or 'localhost'")
        }),
    }
}

/// Whether `host` (already checked) is a loopback address.
pub fn is_loopback(host: &str) -> bool {
    host_ip(host).is_ok_and(|ip| ip.is_loopback())
}

fn read_file(path: &Path) -> anyhow::Result<Overrides> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))
}

/// A `static_prefix` as the reference takes it: empty, or a path that begins with `/`, does not
/// end with one, and has no `{` or `}`. Keel also refuses what a path prefix cannot hold
/// unescaped (`?`, `#`, `%`, spaces and control characters) and `.` or `..` segments.
fn check_static_prefix(prefix: String) -> anyhow::Result<String> {
    if prefix.is_empty() {
        return Ok(prefix);
    }
    if !prefix.starts_with('/') {
        bail!("static_prefix must begin with a '/' (got '{prefix}')");
    }
    if prefix.ends_with('/') {
        bail!("static_prefix should not end with a '/' (got '{prefix}')");
    }
    if prefix.contains(['{', '}']) {
        bail!("static_prefix must not contain '{{' or '}}' (got '{prefix}')");
    }
    let unsafe_char = |c: char| c.is_control() || c.is_whitespace() || "?#%\\\"<>&'".contains(c);
    if prefix.contains(unsafe_char)
        || prefix[1..]
            .split('/')
            .any(|segment| matches!(segment, "" | "." | ".."))
    {
        bail!(
            "static_prefix must be a plain path such as /mlflow: no empty, '.' or '..' segments, \
             spaces, control characters or any of ? # % \\ \" < > & ' (got '{prefix}')"
        );
    }
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_data_dir() {
        let c = Config::resolve(Overrides {
            data_dir: Some("/srv/k".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 5000);
        assert_eq!(c.backend_store_uri, "sqlite:////srv/k/keel.db");
        assert_eq!(c.artifacts_destination, "/srv/k/artifacts");
    }

    #[test]
    fn a_static_prefix_is_a_plain_path_as_the_reference_asks() {
        let resolve = |prefix: &str| {
            Config::resolve(Overrides {
                static_prefix: Some(prefix.to_owned()),
                ..Default::default()
            })
            .map(|c| c.static_prefix)
        };
        for good in ["", "/mlflow", "/team-a/mlflow_2"] {
            assert_eq!(resolve(good).expect(good), good);
        }
        for (bad, why) in [
            ("mlflow", "begin with a '/'"),
            ("/mlflow/", "not end with a '/'"),
            ("/ml{x}", "'{' or '}'"),
            ("/a//b", "plain path"),
            ("/a/../b", "plain path"),
            ("/a b", "plain path"),
            ("/a?b", "plain path"),
            ("/a\"><script>", "plain path"),
        ] {
            let err = resolve(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn new_experiments_artifact_root_follows_the_reference_flags() {
        let resolve = |layer: Overrides| {
            Config::resolve(Overrides {
                data_dir: Some("/srv/k".into()),
                ..layer
            })
        };
        let proxied = resolve(Overrides::default()).expect("valid");
        assert!(proxied.serve_artifacts && !proxied.artifacts_only);
        assert_eq!(
            proxied.experiment_artifact_root().expect("root"),
            "mlflow-artifacts:"
        );
        let direct = resolve(Overrides {
            serve_artifacts: Some(false),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(
            direct.experiment_artifact_root().expect("root"),
            "/srv/k/artifacts"
        );
        let given = resolve(Overrides {
            default_artifact_root: Some("s3://bucket/ml/".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(
            given.experiment_artifact_root().expect("root"),
            "s3://bucket/ml"
        );
        let relative = resolve(Overrides {
            default_artifact_root: Some("mlruns".into()),
            ..Default::default()
        })
        .expect("valid");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            relative.default_artifact_root.as_deref(),
            Some(cwd.join("mlruns").display().to_string().as_str())
        );
        let err = resolve(Overrides {
            serve_artifacts: Some(false),
            artifacts_only: Some(true),
            ..Default::default()
        })
        .expect_err("nothing left to serve");
        assert!(err.to_string().contains("artifacts_only"), "{err}");
        let err = resolve(Overrides {
            default_artifact_root: Some("s3://b/p#frag".into()),
            ..Default::default()
        })
        .expect_err("a fragment");
        assert!(err.to_string().contains("default_artifact_root"), "{err}");
    }

    #[test]
    fn later_layers_win() {
        let file = Overrides {
            port: Some(1),
            host: Some("127.0.0.2".into()),
            ..Default::default()
        };
        let flags = Overrides {
            port: Some(2),
            ..Default::default()
        };
        let c = Config::resolve(file.then(flags)).expect("valid");
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.2", 2));
    }

    #[test]
    fn unknown_file_keys_are_rejected_by_name() {
        let err = toml::from_str::<Overrides>("prot = 5000").expect_err("unknown key");
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn public_binds_may_run_open_only_with_explicit_consent() {
        let open = Overrides {
            host: Some("0.0.0.0".into()),
            ..Default::default()
        };
        let c = Config::resolve(open.clone()).expect("valid: authentication applies");
        assert!(!c.may_run_open());
        let allowed = Overrides {
            allow_unauthenticated_network_access: Some(true),
            ..open
        };
        assert!(Config::resolve(allowed).expect("valid").may_run_open());
        assert!(
            Config::resolve(Overrides::default())
                .expect("valid")
                .may_run_open()
        );
    }

    #[test]
    fn auth_settings_are_checked() {
        let c = Config::resolve(Overrides::default()).expect("defaults");
        assert_eq!(c.auth_mode, AuthModeSetting::Auto);
        assert_eq!(
            c.default_permission().expect("valid"),
            keel_auth::Permission::NoPermissions
        );
        for (mode, perm) in [
            (Some("sometimes"), None),
            (None, Some("DENY")),
            (None, Some("read")),
        ] {
            let layer = Overrides {
                auth_mode: mode.map(str::to_owned),
                default_permission: perm.map(str::to_owned),
                ..Default::default()
            };
            assert!(Config::resolve(layer).is_err(), "{mode:?} {perm:?}");
        }
    }

    #[test]
    fn object_store_destinations_and_their_settings() {
        let s3 = Overrides {
            artifacts_destination: Some("s3://bucket/prefix".into()),
            artifacts_s3_endpoint_url: Some("http://127.0.0.1:9000".into()),
            artifacts_s3_force_path_style: Some(true),
            artifacts_s3_allow_http: Some(true),
            ..Default::default()
        };
        let c = Config::resolve(s3.clone()).expect("valid");
        assert_eq!(
            c.object_store_options().s3_endpoint_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(c.object_store_options().s3_force_path_style, Some(true));
        for ok in ["gs://b/p", "az://container/p", "/srv/artifacts"] {
            let layer = Overrides {
                artifacts_destination: Some(ok.into()),
                ..Default::default()
            };
            assert!(Config::resolve(layer).is_ok(), "{ok}");
        }
        let ftp = Overrides {
            artifacts_destination: Some("ftp://x/y".into()),
            ..Default::default()
        };
        assert!(Config::resolve(ftp).is_err());
        let s3_settings_on_gcs = Overrides {
            artifacts_destination: Some("gs://b/p".into()),
            ..s3.clone()
        };
        assert!(Config::resolve(s3_settings_on_gcs).is_err());
        let s3_settings_on_disk = Overrides {
            artifacts_destination: None,
            ..s3
        };
        assert!(Config::resolve(s3_settings_on_disk).is_err());
    }

    #[test]
    fn s3_keys_are_accepted_in_the_file() {
        let layer: Overrides = toml::from_str(
            "artifacts_destination = \"s3://b/p\"\nartifacts_s3_endpoint_url = \"https://minio:9000\"\n\
             artifacts_s3_force_path_style = true\nartifacts_s3_allow_http = false\n",
        )
        .expect("known keys");
        assert_eq!(layer.artifacts_s3_force_path_style, Some(true));
        assert_eq!(layer.artifacts_s3_allow_http, Some(false));
        assert!(toml::from_str::<Overrides>("artifacts_s3_path_style = true").is_err());
    }

    #[test]
    fn audit_settings_are_checked() {
        let c = Config::resolve(Overrides::default()).expect("defaults");
        assert!(c.audit_log);
        assert_eq!(c.audit_origin, DEFAULT_AUDIT_ORIGIN);
        assert!(c.audit_reads().expect("none").is_empty());
        let reads = |names: &[&str]| Overrides {
            audit_reads: Some(names.iter().map(|n| (*n).to_owned()).collect()),
            ..Default::default()
        };
        let c = Config::resolve(reads(&["run", "RegisteredModel"])).expect("kinds");
        assert_eq!(
            c.audit_reads().expect("kinds"),
            [
                keel_auth::ResourceKind::Run,
                keel_auth::ResourceKind::RegisteredModel
            ]
        );
        let c = Config::resolve(reads(&["*"])).expect("all");
        assert_eq!(
            c.audit_reads().expect("all").len(),
            keel_auth::ResourceKind::ALL.len()
        );
        let err = Config::resolve(reads(&["Nope"]))
            .expect_err("unknown kind")
            .to_string();
        assert!(
            err.contains("audit_reads") && err.contains("RegisteredModel"),
            "{err}"
        );
        for zero in [
            Overrides {
                audit_checkpoint_interval_seconds: Some(0),
                ..Default::default()
            },
            Overrides {
                audit_checkpoint_entries: Some(0),
                ..Default::default()
            },
        ] {
            assert!(Config::resolve(zero).is_err());
        }
    }

    #[test]
    fn webhook_settings_and_a_redacted_secrets_key() {
        let c = Config::resolve(Overrides::default()).expect("valid");
        assert!(!c.webhooks_allow_private_targets);
        assert_eq!(c.secrets_key, None);
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let layer: Overrides = toml::from_str(&format!(
            "webhooks_allow_private_targets = true\nsecrets_key = \"{key}\"\n"
        ))
        .expect("known keys");
        let c = Config::resolve(layer).expect("valid");
        assert!(c.webhooks_allow_private_targets);
        assert_eq!(c.secrets_key.as_ref().map(Redacted::expose), Some(key));
        assert!(!format!("{c:?}").contains(key));
        assert!(!c.to_toml().expect("toml").contains(key));
        let bad = Overrides {
            secrets_key: Some(Redacted::new("c2hvcnQ=".into())),
            ..Default::default()
        };
        let err = Config::resolve(bad).expect_err("short key").to_string();
        assert!(
            err.contains("secrets_key") && !err.contains("c2hvcnQ"),
            "{err}"
        );
    }

    #[test]
    fn connection_limits_have_defaults_and_must_be_positive() {
        let c = Config::resolve(Overrides::default()).expect("valid");
        assert_eq!(
            c.connection_limits(),
            keel_server::ConnectionLimits::default()
        );
        let layer: Overrides =
            toml::from_str("max_connections = 10\nidle_timeout_seconds = 5\n").expect("keys");
        let c = Config::resolve(layer).expect("valid");
        assert_eq!(c.connection_limits().max_connections, 10);
        assert_eq!(c.connection_limits().idle_timeout.as_secs(), 5);
        let zero = Overrides {
            body_read_timeout_seconds: Some(0),
            ..Default::default()
        };
        let err = Config::resolve(zero).expect_err("zero").to_string();
        assert!(err.contains("body_read_timeout_seconds"), "{err}");
    }

    #[test]
    fn bad_values_are_explained() {
        let bad = Overrides {
            log_format: Some("xml".into()),
            ..Default::default()
        };
        assert!(
            Config::resolve(bad)
                .expect_err("bad")
                .to_string()
                .contains("xml")
        );
        let bad = Overrides {
            backend_store_uri: Some("mysql://x".into()),
            ..Default::default()
        };
        assert!(Config::resolve(bad).is_err());
    }
}
