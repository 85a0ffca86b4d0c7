//! `keel server`: open the stores, build the app, run the webhook delivery worker, serve until
//! SIGINT/SIGTERM.

use std::time::Duration;

use anyhow::Context;
use keel_server::ui::{UiAsset, UiAssets};
use keel_server::{AppState, Services};

use crate::cli::ReferenceFlags;
use crate::config::Config;

/// Serves `config`; the reference's flags Keel has no use for are noted in the log.
pub fn run(config: Config, reference: ReferenceFlags) -> anyhow::Result<()> {
    crate::logging::init(&config.log_level, config.log_format)?;
    if let Some(workers) = reference.workers {
        tracing::info!(
            workers,
            "--workers is accepted for mlflow server compatibility and ignored: keel serves \
             every request from one process using all cores"
        );
    }
    if let Some(dir) = reference.expose_prometheus {
        tracing::info!(
            dir = %dir.display(),
            "--expose-prometheus: metrics are served at /metrics; keel keeps them in memory in \
             its one process, so the directory is not used"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let crate::stores::Services {
        tracking,
        registry,
        traces,
        artifacts,
        webhook_store,
        identity,
        workspaces,
        audit_store,
        gateway_store,
    } = crate::stores::open(&config).await?;
    let audit_log = crate::stores::audit_log(&config, audit_store).await?;
    let auth = crate::stores::auth(&config, identity)?;
    accept_oidc_tokens(&config, &auth).await?;
    prepare_authentication(&config, &auth).await?;
    let webhooks = crate::stores::webhooks(&config, webhook_store)?;
    let registry = registry.with_webhooks(webhooks.clone());
    let gateway = crate::stores::gateway(&config, gateway_store, tracking.clone())?
        .with_tracing(traces.clone())
        .with_webhooks(webhooks.clone());
    gateway.sweep_limits_periodically();
    gateway.flush_usage_periodically();

    let tls = serve_tls(&config)?;
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.clone()),
        backend_store_uri = %config.backend_store_uri,
        artifacts = %artifacts.location(),
        version = env!("CARGO_PKG_VERSION"),
        tls = tls.is_some(),
        "keel server listening"
    );
    if auth.is_open().await.map_err(|e| anyhow::anyhow!("{e}"))? {
        if crate::config::is_loopback(&config.host) {
            tracing::warn!(
                "NO ACCOUNTS YET: every local request acts as an administrator until the first \
                 account exists (keel users create NAME --admin); then every request must \
                 authenticate"
            );
        } else {
            tracing::warn!(
                host = %config.host,
                "UNAUTHENTICATED NETWORK ACCESS: keel listens on a non-loopback address with no \
                 accounts (allow_unauthenticated_network_access is set); anyone who can reach \
                 {addr} acts as an administrator and can read, change and delete every \
                 experiment, run, model and artifact"
            );
        }
    }
    let guard = keel_server::guard::BrowserGuard {
        allowed_hosts: config.allowed_hosts.clone(),
        allowed_origins: config.cors_allowed_origins.clone(),
    };
    let worker = keel_server::webhooks::DeliveryWorker::spawn(
        webhooks.clone(),
        format!("keel-{}", std::process::id()),
    );
    let sequencer = audit_log.clone().map(keel_core::audit::Sequencer::spawn);
    let audit = match audit_log {
        Some(log) => Some(keel_server::audit::AuditTrail::new(
            log,
            config.audit_reads()?,
        )),
        None => None,
    };
    let state = AppState::from(Services {
        tracking,
        registry,
        traces,
        workspaces,
        auth,
        parents: Default::default(),
        workspace_cache: Default::default(),
        artifacts,
        part_urls: keel_server::upload_urls::PartUrlSigner::new(&crate::secrets::load_key(
            &config,
        )?),
        webhooks,
        gateway: gateway.clone(),
        ui: ui_assets().mounted_at(&config.static_prefix),
        limits: config.request_limits(),
        audit,
        serve_mode: keel_server::serve_mode::ServeMode {
            serve_artifacts: config.serve_artifacts,
            artifacts_only: config.artifacts_only,
        },
        expose_metrics: config.metrics,
        static_prefix: config.static_prefix.clone(),
    });
    let app = keel_server::app(state, guard);
    let served = keel_server::serve(
        listener,
        app,
        config.connection_limits(),
        tls,
        shutdown_signal(),
        Duration::from_secs(config.shutdown_grace_seconds),
    )
    .await;
    // Requests are done: no new events. Let the delivery round in flight finish; what is still
    // pending stays queued in the database for the next start (or another replica).
    worker.stop().await;
    // Calls are over: their settlements finish and their queued traces are written.
    gateway.stop().await;
    // Entries committed by the last requests get their place in the tree before exit.
    if let Some(sequencer) = sequencer {
        sequencer.stop().await;
    }
    served.context("server failed")?;
    tracing::info!("keel server stopped");
    Ok(())
}

/// The TLS settings when `tls_cert` and `tls_key` are set, with the files watched for renewal.
fn serve_tls(config: &Config) -> anyhow::Result<Option<keel_server::tls::ServerTls>> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let tls = keel_server::tls::ServerTls::load(cert, key).map_err(|e| anyhow::anyhow!("{e}"))?;
    tls.spawn_reload(keel_server::tls::RELOAD_CHECK_INTERVAL);
    Ok(Some(tls))
}

/// Accepts bearer JWTs from the configured OpenID Connect issuer, if any (its keys are read,
/// or fetched and then refreshed in the background), and signs the web UI in there when a
/// client ID is configured.
async fn accept_oidc_tokens(
    config: &Config,
    auth: &keel_auth::service::Auth,
) -> anyhow::Result<()> {
    let Some(settings) = config.oidc()? else {
        return Ok(());
    };
    let issuer = settings.issuer.clone();
    let verifier = keel_auth::oidc::JwtVerifier::new(settings)
        .await
        .map_err(|e| anyhow::anyhow!("cannot set up OpenID Connect: {e}"))?;
    let verifier = std::sync::Arc::new(verifier);
    verifier.spawn_refresh();
    auth.set_oidc(verifier.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(issuer = %issuer, "accepting bearer JWTs from the OpenID Connect issuer");
    if let Some(sso) = config.sso()? {
        let key = crate::secrets::load_key(config)?.derive("keel oidc sign-in v1");
        let client = keel_auth::oidc::sso::SsoClient::new(sso, verifier, &key)
            .await
            .map_err(|e| anyhow::anyhow!("cannot set up single sign-on: {e}"))?;
        auth.set_sso(std::sync::Arc::new(client))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::info!(issuer = %issuer, "the web UI signs in at the OpenID Connect issuer");
    }
    Ok(())
}

/// Creates the first administrator from `admin_username` and `admin_password`
/// (`KEEL_ADMIN_USERNAME`, `KEEL_ADMIN_PASSWORD`, for containers) when no account exists, and refuses to serve a network without accounts unless
/// the operator allowed it explicitly.
async fn prepare_authentication(
    config: &Config,
    auth: &keel_auth::service::Auth,
) -> anyhow::Result<()> {
    if let (Some(username), Some(password)) = (&config.admin_username, &config.admin_password) {
        if auth
            .bootstrap_admin(username, password.expose())
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the first administrator: {e}"))?
        {
            tracing::info!(username = %username, "created the first administrator from admin_username");
        }
    }
    let users = auth
        .store()
        .count_users()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read accounts: {e}"))?;
    if users == 0 && !config.may_run_open() && config.oidc_issuer.is_none() {
        anyhow::bail!(
            "refusing to listen on non-loopback address {} with no accounts: nobody could sign \
             in. Create an administrator first (keel users create NAME --admin, or set \
             KEEL_ADMIN_USERNAME and KEEL_ADMIN_PASSWORD), or pass \
             --allow-unauthenticated-network-access to let everyone who can reach it act as an \
             administrator.",
            config.host
        );
    }
    Ok(())
}

/// The web UI embedded by `keel-ui`, as `keel-server` serves it (the table's entries are copied
/// once; their bytes stay in the binary).
fn ui_assets() -> UiAssets {
    if !keel_ui::BUILT {
        tracing::warn!(
            "this build has no web UI: / answers 503 (run scripts/build-ui.sh, then rebuild)"
        );
    }
    UiAssets::new(keel_ui::assets().iter().map(|a| UiAsset {
        path: a.path,
        bytes: a.bytes,
        content_type: a.content_type,
        etag: a.etag,
        immutable: a.immutable,
        br: a.br,
        gz: a.gz,
    }))
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("received SIGINT"),
        _ = terminate => tracing::info!("received SIGTERM"),
    }
}
