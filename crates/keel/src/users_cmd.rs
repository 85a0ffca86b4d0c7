//! `keel users` and `keel tokens`: accounts and API tokens from the command line, on the
//! configured backend store (the first administrator comes from here; there is no default
//! password).

use std::io::{BufRead, IsTerminal};

use keel_auth::entities::AccountKind;

use crate::config::Config;

/// Where a new password comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    /// Asked for twice on the terminal, without echo.
    Prompt,
    /// The first line of standard input.
    Stdin,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs `change` so that its write commits with an audit entry naming the command line as the
/// actor (when the audit log is on).
async fn recorded<T>(
    config: &Config,
    action: &str,
    resource_id: &str,
    change: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    if !config.audit_log {
        return change.await;
    }
    use keel_core::audit::{Actor, AuditRecord, EventKind, Outcome, Resource};
    use keel_core::clock::Clock;
    let record = AuditRecord::new(
        EventKind::Command,
        keel_core::clock::SystemClock.now_millis(),
        Actor {
            id: None,
            kind: "operator",
            name: "keel command line".to_owned(),
        },
        action,
        Resource {
            id: Some(resource_id.to_owned()),
            kind: keel_auth::ResourceKind::Account.cedar_type().to_owned(),
        },
        Outcome::Failure,
    );
    keel_core::audit::scope::run(keel_core::audit::scope::Scope::new(record), change).await
}

async fn auth(config: &Config) -> anyhow::Result<keel_auth::service::Auth> {
    let services = crate::stores::open(config).await?;
    crate::stores::auth(config, services.identity)
}

fn read_password(source: PasswordSource) -> anyhow::Result<String> {
    match source {
        PasswordSource::Stdin => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            Ok(line.trim_end_matches(['\r', '\n']).to_owned())
        }
        PasswordSource::Prompt => {
            if !std::io::stdin().is_terminal() {
                anyhow::bail!("no terminal to ask for a password on: pass --password-stdin");
            }
            let first = rpassword::prompt_password("Password: ")?;
            let second = rpassword::prompt_password("Repeat the password: ")?;
            if first != second {
                anyhow::bail!("the passwords differ");
            }
            Ok(first)
        }
    }
}

/// `keel users create NAME [--admin] [--service-account]`.
pub fn create_user(
    config: Config,
    username: &str,
    admin: bool,
    service_account: bool,
    source: PasswordSource,
) -> anyhow::Result<()> {
    crate::logging::init("warn", config.log_format)?;
    let (kind, password) = if service_account {
        (AccountKind::ServiceAccount, None)
    } else {
        (AccountKind::User, Some(read_password(source)?))
    };
    let user = runtime()?.block_on(async {
        let auth = auth(&config).await?;
        recorded(&config, "accounts.create", username, async {
            auth.create_user(username, password.as_deref(), admin, kind)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
    })?;
    println!(
        "created {} '{}' (id {}{})",
        kind.as_str().replace('_', " "),
        user.username,
        user.id,
        if user.is_admin { ", administrator" } else { "" }
    );
    Ok(())
}

/// `keel users list`.
pub fn list_users(config: Config) -> anyhow::Result<()> {
    crate::logging::init("warn", config.log_format)?;
    let users = runtime()?.block_on(async {
        auth(&config)
            .await?
            .store()
            .list_users()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    for u in users {
        println!(
            "{}\t{}\t{}{}",
            u.id,
            u.username,
            u.kind.as_str(),
            if u.is_admin { "\tadmin" } else { "" }
        );
    }
    Ok(())
}

/// `keel tokens create USERNAME --name LABEL [--expires-in AGE] [--scope SCOPE]...`: prints
/// the token once.
pub fn create_token(
    config: Config,
    username: &str,
    name: &str,
    expires_in: Option<&str>,
    scopes: &[String],
) -> anyhow::Result<()> {
    crate::logging::init("warn", config.log_format)?;
    let expires_in = expires_in.map(crate::gc_cmd::parse_age).transpose()?;
    let scopes = keel_auth::scope::parse(scopes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (token, text) = runtime()?.block_on(async {
        let auth = auth(&config).await?;
        let user = auth
            .user(username)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let expires_at = expires_in.map(|age| auth.now_millis() + age);
        recorded(&config, "credentials.change", username, async {
            auth.issue_token(&user, name, scopes, expires_at)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
    })?;
    eprintln!(
        "token {} for {username}; it is shown only now, store it safely:",
        token.id
    );
    println!("{text}");
    Ok(())
}

/// `keel tokens revoke TOKEN_ID`.
pub fn revoke_token(config: Config, token_id: &str) -> anyhow::Result<()> {
    crate::logging::init("warn", config.log_format)?;
    runtime()?.block_on(async {
        let auth = auth(&config).await?;
        recorded(&config, "credentials.change", token_id, async {
            auth.revoke_token(token_id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
    })?;
    println!("revoked token {token_id}");
    Ok(())
}
