//! Command-line interface: `keel server`, `keel config`, `keel gc`, `keel db upgrade`,
//! `keel users` and `keel tokens`. Each
//! setting can also come from a `KEEL_*` environment variable or the TOML config file.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides, Redacted};

/// Parses a secret flag into a value whose `Debug` hides it.
fn redacted(value: &str) -> Result<Redacted, String> {
    Ok(Redacted::new(value.to_owned()))
}

#[derive(Debug, Parser)]
#[command(
    name = "keel",
    version,
    about = "An MLflow-compatible AI lifecycle server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the tracking server.
    Server(ServerCommand),
    /// Print the effective configuration (defaults < file < environment < flags) as TOML.
    Config(ServerArgs),
    /// Permanently remove runs and experiments deleted more than --older-than ago, with the
    /// artifacts Keel stored for them, and tokens and sessions that ended that long ago.
    Gc(GcArgs),
    /// Manage the metadata store's schema.
    #[command(subcommand)]
    Db(DbCommand),
    /// Manage accounts (users and service accounts).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Export and verify the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Sign a checkpoint of the whole log (safe while servers run), then write a
    /// self-contained bundle: entries.jsonl, checkpoints/, timestamps/, key.vkey and tile/.
    Export {
        /// The bundle's directory (created; must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        settings: Box<ServerArgs>,
    },
    /// Check a bundle offline: every checkpoint's signature and RFC 3161 timestamp, the tree
    /// rebuilt from the entries against every checkpoint, and nothing appended after the last
    /// one. Exits with status 1 naming the first index where the log was altered.
    Verify {
        /// The bundle's directory.
        bundle: PathBuf,
        /// The log's note verifier key (a vkey file) to trust instead of the bundle's own
        /// key.vkey.
        #[arg(long)]
        key: Option<PathBuf>,
        /// The timestamp authority's CA certificates (PEM) to trust instead of the bundle's own
        /// tsa-ca.pem.
        #[arg(long)]
        tsa_ca: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account; a user's password is asked for (or read from stdin).
    Create {
        /// The username.
        name: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
        /// A service account: no password, only tokens (`keel tokens create`).
        #[arg(long)]
        service_account: bool,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: ServerArgs,
    },
    /// List accounts.
    List(ServerArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue an API token for an account and print it (only this once).
    Create {
        /// The account's username.
        username: String,
        /// A label for the token.
        #[arg(long)]
        name: String,
        /// Expire after this long, e.g. 90d or 12h [default: never].
        #[arg(long)]
        expires_in: Option<String>,
        /// Limit the token to a scope: read, use, write, manage or admin (repeat for several)
        /// [default: everything the account may do].
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[command(flatten)]
        settings: ServerArgs,
    },
    /// Revoke a token by its ID (the 12 hex digits after `keel_`).
    Revoke {
        token_id: String,
        #[command(flatten)]
        settings: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending schema migrations (servers also apply them when they start).
    Upgrade(ServerArgs),
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only remove what was deleted at least this long ago, e.g. 30d, 12h, 1d6h, 0 (everything).
    #[arg(long, default_value = "0")]
    pub older_than: String,
    /// Also remove traces logged more than this long ago (live or not), e.g. 30d; unset: keep
    /// every trace.
    #[arg(long)]
    pub traces_older_than: Option<String>,
    /// List what would be removed and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub settings: ServerArgs,
}

/// `keel server`: the shared settings, and flags of `mlflow server` that deployment scripts
/// pass and Keel has no use for.
#[derive(Debug, Args)]
pub struct ServerCommand {
    #[command(flatten)]
    pub settings: ServerArgs,
    /// Accepted for `mlflow server` compatibility: Keel serves every request from one process
    /// with all cores, so there are no workers to start.
    #[arg(long, short = 'w', value_name = "N")]
    pub workers: Option<u32>,
    /// Refused: the reference's auto-reloading development mode has no counterpart in Keel
    /// (use --log-level debug for debug logs).
    #[arg(long)]
    pub dev: bool,
    /// As `mlflow server --expose-prometheus DIR`: serve Prometheus metrics at /metrics (as
    /// --metrics does). Keel keeps its metrics in memory, in its one process, so DIR is not
    /// used.
    #[arg(long, env = "MLFLOW_EXPOSE_PROMETHEUS", value_name = "DIR")]
    pub expose_prometheus: Option<PathBuf>,
}

/// The reference's flags that `keel server` takes without needing them, to note in the log.
#[derive(Debug, Default)]
pub struct ReferenceFlags {
    pub workers: Option<u32>,
    pub expose_prometheus: Option<PathBuf>,
}

impl ServerCommand {
    /// The configuration, once the reference's flags Keel does not take are refused or noted.
    pub fn resolve(&self) -> anyhow::Result<(Config, ReferenceFlags)> {
        if self.dev {
            anyhow::bail!(
                "--dev is the reference server's auto-reloading development mode, which Keel \
                 does not have; run `keel server` without it (--log-level debug gives debug logs)"
            );
        }
        let mut config = self.settings.resolve()?;
        config.metrics |= self.expose_prometheus.is_some();
        Ok((
            config,
            ReferenceFlags {
                workers: self.workers,
                expose_prometheus: self.expose_prometheus.clone(),
            },
        ))
    }
}

/// Settings shared by the commands; unset ones fall back to the file, then the defaults.
#[derive(Debug, Args, Default)]
pub struct ServerArgs {
    /// TOML configuration file [default: ./keel.toml when it exists].
    #[arg(long, env = "KEEL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to bind [default: 127.0.0.1].
    #[arg(long, env = "KEEL_HOST")]
    pub host: Option<String>,
    /// Port to listen on [default: 5000].
    #[arg(long, short = 'p', env = "KEEL_PORT")]
    pub port: Option<u16>,
    /// Where Keel keeps its data by default [default: ./keel-data].
    #[arg(long, env = "KEEL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Metadata store URI [default: sqlite:///<data-dir>/keel.db].
    #[arg(long, env = "KEEL_BACKEND_STORE_URI")]
    pub backend_store_uri: Option<String>,
    /// Where proxied artifacts are stored: a local directory, or s3://bucket/prefix,
    /// gs://bucket/prefix, az://container/prefix (credentials from the standard AWS_*,
    /// GOOGLE_*, AZURE_* environment variables) [default: <data-dir>/artifacts].
    #[arg(long, env = "KEEL_ARTIFACTS_DESTINATION")]
    pub artifacts_destination: Option<String>,
    /// Endpoint of an S3-compatible server for an s3:// destination, e.g.
    /// http://127.0.0.1:9000 [default: AWS, or AWS_ENDPOINT_URL].
    #[arg(long, env = "KEEL_ARTIFACTS_S3_ENDPOINT_URL")]
    pub artifacts_s3_endpoint_url: Option<String>,
    /// Path-style S3 requests (endpoint/bucket/key), which most S3-compatible servers need;
    /// `false` for virtual-hosted style [default: path style].
    #[arg(long, env = "KEEL_ARTIFACTS_S3_FORCE_PATH_STYLE", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub artifacts_s3_force_path_style: Option<bool>,
    /// Allow a plain-HTTP S3 endpoint [default: false].
    #[arg(long, env = "KEEL_ARTIFACTS_S3_ALLOW_HTTP", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub artifacts_s3_allow_http: Option<bool>,
    /// Where new experiments keep their artifacts (their ID appended): a URI or a local path
    /// (made absolute) [default: mlflow-artifacts:/ while serving artifacts, else the artifacts
    /// destination].
    #[arg(long, env = "KEEL_DEFAULT_ARTIFACT_ROOT")]
    pub default_artifact_root: Option<String>,
    /// Serve the artifact proxy (mlflow-artifacts routes) [default].
    #[arg(long, overrides_with = "no_serve_artifacts")]
    pub serve_artifacts: bool,
    /// Do not serve the artifact proxy: its routes answer 503, and clients reach the default
    /// artifact root directly.
    #[arg(
        long,
        env = "KEEL_NO_SERVE_ARTIFACTS",
        overrides_with = "serve_artifacts"
    )]
    pub no_serve_artifacts: bool,
    /// Serve the artifact proxy only: tracking, registry and trace routes answer 503.
    #[arg(long, env = "KEEL_ARTIFACTS_ONLY")]
    pub artifacts_only: bool,
    /// Count requests and serve Prometheus metrics at /metrics (to anyone signed in when
    /// authentication is on) [default: off].
    #[arg(long, env = "KEEL_METRICS")]
    pub metrics: bool,
    /// Serve every route under this path, as `mlflow server --static-prefix` (e.g. /mlflow:
    /// clients then use http://host:port/mlflow) [default: the root].
    #[arg(long, env = "KEEL_STATIC_PREFIX")]
    pub static_prefix: Option<String>,
    /// Log filter, e.g. `info` or `keel=debug,tower_http=debug` [default: info].
    #[arg(long, env = "KEEL_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format: `text` or `json` [default: text].
    #[arg(long, env = "KEEL_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM [default: 30].
    #[arg(long, env = "KEEL_SHUTDOWN_GRACE_SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,
    /// Serve without authentication on a non-loopback address while no account exists
    /// (everyone who can reach it acts as an administrator). Without it, such a server needs
    /// an account first (`keel users create NAME --admin`).
    #[arg(long, env = "KEEL_ALLOW_UNAUTHENTICATED_NETWORK_ACCESS")]
    pub allow_unauthenticated_network_access: bool,
    /// Serve workspaces: requests choose one with the X-MLFLOW-WORKSPACE header, and the
    /// workspace API (/api/3.0/mlflow/workspaces) manages them.
    #[arg(long, env = "KEEL_ENABLE_WORKSPACES")]
    pub enable_workspaces: bool,
    /// Host names accepted in the Host header besides localhost and IP addresses
    /// (comma-separated; `*` accepts any). Guards against DNS rebinding.
    #[arg(long, env = "KEEL_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Option<Vec<String>>,
    /// Origins allowed to send writes besides same-origin and loopback pages (comma-separated).
    #[arg(long, env = "KEEL_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Let webhooks reach loopback, private, link-local and other non-public addresses
    /// (e.g. a receiver on the same host) [default: false].
    #[arg(long, env = "KEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub webhooks_allow_private_targets: Option<bool>,
    /// Open connections at most; one over the limit is answered 503 and closed [default: 1024].
    #[arg(long, env = "KEEL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 30].
    #[arg(long, env = "KEEL_HEADER_READ_TIMEOUT_SECONDS")]
    pub header_read_timeout_seconds: Option<u64>,
    /// Seconds a request body may go without sending data [default: 60].
    #[arg(long, env = "KEEL_BODY_READ_TIMEOUT_SECONDS")]
    pub body_read_timeout_seconds: Option<u64>,
    /// Seconds an idle keep-alive connection (or one whose client stops reading) stays open [default: 60].
    #[arg(long, env = "KEEL_IDLE_TIMEOUT_SECONDS")]
    pub idle_timeout_seconds: Option<u64>,
    /// Largest JSON request body, in bytes [default: 16777216].
    #[arg(long, env = "KEEL_MAX_REQUEST_BODY_BYTES")]
    pub max_request_body_bytes: Option<usize>,
    /// Largest OTLP export body once decompressed, in bytes [default: 20971520].
    #[arg(long, env = "KEEL_MAX_OTLP_BODY_BYTES")]
    pub max_otlp_body_bytes: Option<usize>,
    /// Let gateway secrets name `http://` upstreams (local model servers), not only `https://`
    /// [default: false].
    #[arg(long, env = "KEEL_GATEWAY_ALLOW_HTTP_UPSTREAMS", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub gateway_allow_http_upstreams: Option<bool>,
    /// Let gateway secrets name upstreams at loopback, private and other non-public addresses
    /// (local model servers) [default: false].
    #[arg(long, env = "KEEL_GATEWAY_ALLOW_PRIVATE_UPSTREAMS", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub gateway_allow_private_upstreams: Option<bool>,
    /// A JSON file of prices for the gateway's calls (USD per million tokens by provider and
    /// model), over the shipped table [default: the shipped table only].
    #[arg(long, env = "KEEL_GATEWAY_PRICES_FILE")]
    pub gateway_prices_file: Option<PathBuf>,
    /// Most root fields a GraphQL query may select, over all its operations [default: 10].
    #[arg(long, env = "KEEL_GRAPHQL_MAX_ROOT_FIELDS")]
    pub graphql_max_root_fields: Option<usize>,
    /// Most aliases one GraphQL selection set may hold [default: 10].
    #[arg(long, env = "KEEL_GRAPHQL_MAX_ALIASES")]
    pub graphql_max_aliases: Option<usize>,
    /// Base64 of a 32-byte key encrypting secrets at rest; replicas sharing a PostgreSQL
    /// database must share it [default: a key generated once in <data-dir>/secrets.key].
    #[arg(long, env = "KEEL_SECRETS_KEY", hide_env_values = true, value_parser = redacted)]
    pub secrets_key: Option<Redacted>,
    /// `auto` (no authentication while no account exists and Keel listens on loopback only)
    /// or `required` [default: auto].
    #[arg(long, env = "KEEL_AUTH_MODE")]
    pub auth_mode: Option<String>,
    /// The level of a resource nobody granted: NO_PERMISSIONS, or READ as the reference
    /// [default: NO_PERMISSIONS].
    #[arg(long, env = "KEEL_DEFAULT_PERMISSION")]
    pub default_permission: Option<String>,
    /// A file of Cedar policies added to the built-in ones; validated at start.
    #[arg(long, env = "KEEL_POLICY_FILE")]
    pub policy_file: Option<PathBuf>,
    /// The first administrator's username, created at start while no account exists (for
    /// containers; prefer `keel users create NAME --admin` elsewhere).
    #[arg(long, env = "KEEL_ADMIN_USERNAME")]
    pub admin_username: Option<String>,
    /// The first administrator's password (from the environment: a flag would show it to
    /// every user of the machine).
    #[arg(long, env = "KEEL_ADMIN_PASSWORD", hide_env_values = true, value_parser = redacted, hide = true)]
    pub admin_password: Option<Redacted>,
    /// An OpenID Connect issuer whose JWTs (RS256 or ES256) are accepted as bearer tokens.
    #[arg(long, env = "KEEL_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Audiences accepted in those tokens (comma-separated); required with --oidc-issuer.
    #[arg(long, env = "KEEL_OIDC_AUDIENCE", value_delimiter = ',')]
    pub oidc_audience: Option<Vec<String>>,
    /// The issuer's JSON Web Key Set, a URL or a file [default: from its discovery document].
    #[arg(long, env = "KEEL_OIDC_JWKS")]
    pub oidc_jwks: Option<String>,
    /// The claim naming the Keel user [default: sub].
    #[arg(long, env = "KEEL_OIDC_USERNAME_CLAIM")]
    pub oidc_username_claim: Option<String>,
    /// The claim listing the user's groups [default: groups].
    #[arg(long, env = "KEEL_OIDC_GROUPS_CLAIM")]
    pub oidc_groups_claim: Option<String>,
    /// Groups whose members are administrators (comma-separated).
    #[arg(long, env = "KEEL_OIDC_ADMIN_GROUPS", value_delimiter = ',')]
    pub oidc_admin_groups: Option<Vec<String>>,
    /// Clock skew allowed on a token's exp and nbf, in seconds [default: 60].
    #[arg(long, env = "KEEL_OIDC_LEEWAY_SECONDS")]
    pub oidc_leeway_seconds: Option<u64>,
    /// The web UI's client ID at the OpenID Connect issuer: set, the sign-in page offers
    /// single sign-on.
    #[arg(long, env = "KEEL_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Its client secret (from the environment: a flag would show it to every user of the
    /// machine).
    #[arg(long, env = "KEEL_OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = redacted, hide = true)]
    pub oidc_client_secret: Option<Redacted>,
    /// The scopes asked for at sign-in [default: openid profile email].
    #[arg(long, env = "KEEL_OIDC_SCOPES")]
    pub oidc_scopes: Option<String>,
    /// The callback URL registered at the issuer [default: derived from the request's host].
    #[arg(long, env = "KEEL_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,
    /// How long a web UI sign-in lasts, in hours [default: 12].
    #[arg(long, env = "KEEL_SESSION_TTL_HOURS")]
    pub session_ttl_hours: Option<u64>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); reloaded when it changes.
    #[arg(long, env = "KEEL_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "KEEL_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Record every change, denial and failed sign-in in the tamper-evident audit log
    /// [default: true].
    #[arg(long, env = "KEEL_AUDIT_LOG", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub audit_log: Option<bool>,
    /// The audit log's Ed25519 signing key, a PKCS#8 PEM file [default:
    /// <data_dir>/audit-signing.pem, generated once].
    #[arg(long, env = "KEEL_AUDIT_SIGNING_KEY")]
    pub audit_signing_key: Option<PathBuf>,
    /// The audit log's name: its checkpoints' origin and its key's name [default:
    /// keel.local/audit].
    #[arg(long, env = "KEEL_AUDIT_ORIGIN")]
    pub audit_origin: Option<String>,
    /// Sign a checkpoint when the last one is this many seconds old [default: 60].
    #[arg(long, env = "KEEL_AUDIT_CHECKPOINT_INTERVAL_SECONDS")]
    pub audit_checkpoint_interval_seconds: Option<u64>,
    /// ...or once this many entries were added since the last one [default: 10000].
    #[arg(long, env = "KEEL_AUDIT_CHECKPOINT_ENTRIES")]
    pub audit_checkpoint_entries: Option<u64>,
    /// Resource kinds whose reads are recorded too (comma-separated, e.g. Run,RegisteredModel;
    /// * for all).
    #[arg(long, env = "KEEL_AUDIT_READS", value_delimiter = ',')]
    pub audit_reads: Option<Vec<String>>,
    /// Prune audit entries older than this many days (at least 184) [default: keep all].
    #[arg(long, env = "KEEL_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u64>,
    /// An RFC 3161 timestamp authority's URL: every checkpoint gets a timestamp token.
    #[arg(long, env = "KEEL_AUDIT_TIMESTAMP_URL")]
    pub audit_timestamp_url: Option<String>,
    /// The PEM CA certificate(s) the timestamp authority's tokens must chain to.
    #[arg(long, env = "KEEL_AUDIT_TIMESTAMP_CA")]
    pub audit_timestamp_ca: Option<PathBuf>,
    /// Publish each checkpoint to these sinks (comma-separated): a directory (file:///dir), an
    /// object-store prefix (s3://, gs://, az://) or an https:// webhook.
    #[arg(long, env = "KEEL_AUDIT_PUBLISH", value_delimiter = ',')]
    pub audit_publish: Option<Vec<String>>,
    /// The secret signing checkpoints sent to webhook sinks (HMAC-SHA256; from the
    /// environment: a flag would show it to every user of the machine).
    #[arg(long, env = "KEEL_AUDIT_PUBLISH_SECRET", hide_env_values = true, value_parser = redacted, hide = true)]
    pub audit_publish_secret: Option<Redacted>,
}

impl ServerArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            host: self.host.clone(),
            port: self.port,
            data_dir: self.data_dir.clone(),
            backend_store_uri: self.backend_store_uri.clone(),
            artifacts_destination: self.artifacts_destination.clone(),
            default_artifact_root: self.default_artifact_root.clone(),
            serve_artifacts: if self.no_serve_artifacts && !self.serve_artifacts {
                Some(false)
            } else {
                self.serve_artifacts.then_some(true)
            },
            artifacts_only: self.artifacts_only.then_some(true),
            artifacts_s3_endpoint_url: self.artifacts_s3_endpoint_url.clone(),
            artifacts_s3_force_path_style: self.artifacts_s3_force_path_style,
            artifacts_s3_allow_http: self.artifacts_s3_allow_http,
            log_level: self.log_level.clone(),
            log_format: self.log_format.clone(),
            shutdown_grace_seconds: self.shutdown_grace_seconds,
            allow_unauthenticated_network_access: self
                .allow_unauthenticated_network_access
                .then_some(true),
            enable_workspaces: self.enable_workspaces.then_some(true),
            metrics: self.metrics.then_some(true),
            static_prefix: self.static_prefix.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            webhooks_allow_private_targets: self.webhooks_allow_private_targets,
            max_connections: self.max_connections,
            header_read_timeout_seconds: self.header_read_timeout_seconds,
            body_read_timeout_seconds: self.body_read_timeout_seconds,
            idle_timeout_seconds: self.idle_timeout_seconds,
            max_request_body_bytes: self.max_request_body_bytes,
            max_otlp_body_bytes: self.max_otlp_body_bytes,
            gateway_allow_http_upstreams: self.gateway_allow_http_upstreams,
            gateway_allow_private_upstreams: self.gateway_allow_private_upstreams,
            graphql_max_root_fields: self.graphql_max_root_fields,
            graphql_max_aliases: self.graphql_max_aliases,
            secrets_key: self.secrets_key.clone(),
            auth_mode: self.auth_mode.clone(),
            default_permission: self.default_permission.clone(),
            policy_file: self.policy_file.clone(),
            gateway_prices_file: self.gateway_prices_file.clone(),
            admin_username: self.admin_username.clone(),
            admin_password: self.admin_password.clone(),
            oidc_issuer: self.oidc_issuer.clone(),
            oidc_audience: self.oidc_audience.clone(),
            oidc_jwks: self.oidc_jwks.clone(),
            oidc_username_claim: self.oidc_username_claim.clone(),
            oidc_groups_claim: self.oidc_groups_claim.clone(),
            oidc_admin_groups: self.oidc_admin_groups.clone(),
            oidc_leeway_seconds: self.oidc_leeway_seconds,
            oidc_client_id: self.oidc_client_id.clone(),
            oidc_client_secret: self.oidc_client_secret.clone(),
            oidc_scopes: self.oidc_scopes.clone(),
            oidc_redirect_url: self.oidc_redirect_url.clone(),
            session_ttl_hours: self.session_ttl_hours,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            audit_log: self.audit_log,
            audit_signing_key: self.audit_signing_key.clone(),
            audit_origin: self.audit_origin.clone(),
            audit_checkpoint_interval_seconds: self.audit_checkpoint_interval_seconds,
            audit_checkpoint_entries: self.audit_checkpoint_entries,
            audit_reads: self.audit_reads.clone(),
            audit_retention_days: self.audit_retention_days,
            audit_timestamp_url: self.audit_timestamp_url.clone(),
            audit_timestamp_ca: self.audit_timestamp_ca.clone(),
            audit_publish: self.audit_publish.clone(),
            audit_publish_secret: self.audit_publish_secret.clone(),
        }
    }

    /// Resolves the effective configuration from defaults, the file and these overrides.
    pub fn resolve(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref(), self.overrides())
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Server(args) => {
            let (config, reference_flags) = args.resolve()?;
            crate::server_cmd::run(config, reference_flags)
        }
        Command::Gc(args) => crate::gc_cmd::run(
            args.settings.resolve()?,
            &args.older_than,
            args.traces_older_than.as_deref(),
            args.dry_run,
        ),
        Command::Db(DbCommand::Upgrade(args)) => crate::db_cmd::upgrade(args.resolve()?),
        Command::Users(UsersCommand::Create {
            name,
            admin,
            service_account,
            password_stdin,
            settings,
        }) => crate::users_cmd::create_user(
            settings.resolve()?,
            &name,
            admin,
            service_account,
            if password_stdin {
                crate::users_cmd::PasswordSource::Stdin
            } else {
                crate::users_cmd::PasswordSource::Prompt
            },
        ),
        Command::Users(UsersCommand::List(args)) => crate::users_cmd::list_users(args.resolve()?),
        Command::Tokens(TokensCommand::Create {
            username,
            name,
            expires_in,
            scopes,
            settings,
        }) => crate::users_cmd::create_token(
            settings.resolve()?,
            &username,
            &name,
            expires_in.as_deref(),
            &scopes,
        ),
        Command::Tokens(TokensCommand::Revoke { token_id, settings }) => {
            crate::users_cmd::revoke_token(settings.resolve()?, &token_id)
        }
        Command::Audit(AuditCommand::Export { out, settings }) => {
            crate::audit_cmd::export(settings.resolve()?, &out)
        }
        Command::Audit(AuditCommand::Verify {
            bundle,
            key,
            tsa_ca,
        }) => crate::audit_cmd::verify(&bundle, key.as_deref(), tsa_ca.as_deref()),
        Command::Config(args) => {
            print!("{}", args.resolve()?.to_toml()?);
            Ok(())
        }
    }
}
