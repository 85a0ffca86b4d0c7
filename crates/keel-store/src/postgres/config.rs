//! Where the PostgreSQL store connects and how big its pool is, parsed from a
//! `postgresql://` (or `postgres://`) URI. The password never appears in `Debug`, `Display` or
//! error messages.
//!
//! `postgresql://user:password@host:port/database?pool_size=10&sslmode=require`
//!
//! Keel's own query parameters (removed before the rest goes to the driver):
//!
//! | parameter              | default | meaning                                                  |
//! |------------------------|---------|----------------------------------------------------------|
//! | `pool_size`            | 10      | most connections this process keeps open                 |
//! | `acquire_timeout_ms`   | 30000   | how long a request waits for a free connection           |
//! | `statement_timeout_ms` | 60000   | server-side limit for one statement; `0` turns it off    |
//!
//! Driver parameters passed through: `sslmode`, `sslrootcert`, `sslcert`, `sslkey`,
//! `application_name` (default `keel`), `options` (e.g. `-c search_path=keel`), `host` (a
//! directory for a Unix socket), `port`, `dbname`, `user`, `password`,
//! `statement-cache-capacity`. Any other parameter is rejected, so a typo does not pass silently.
//! As with libpq, unset fields fall back to the `PG*` environment variables and `~/.pgpass`.

use std::fmt;
use std::time::Duration;

use keel_core::{Error, Result};
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use url::Url;

/// Keel's own URI parameters.
const POOL_SIZE: &str = "pool_size";
const ACQUIRE_TIMEOUT_MS: &str = "acquire_timeout_ms";
const STATEMENT_TIMEOUT_MS: &str = "statement_timeout_ms";

/// Driver parameters a URI may carry.
const DRIVER_PARAMETERS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
    "host",
    "port",
    "dbname",
    "user",
    "password",
    "statement-cache-capacity",
];

/// Shown instead of a password.
const REDACTED: &str = "***";

/// Connection pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub pool_size: u32,
    /// How long a request waits for a free connection before failing with
    /// TEMPORARILY_UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// The server-side `statement_timeout` of every connection; `None` for no limit.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            acquire_timeout: Duration::from_secs(30),
            statement_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// A parsed PostgreSQL store URI: the driver's part and Keel's pool options.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// The URI without Keel's own parameters.
    url: Url,
    pub pool: PoolOptions,
}

impl PostgresConfig {
    /// Parses a `postgresql://` or `postgres://` URI.
    pub fn parse(uri: &str) -> Result<Self> {
        let mut url =
            Url::parse(uri).map_err(|e| Error::invalid(format!("Invalid PostgreSQL URI: {e}")))?;
        if !matches!(url.scheme(), "postgresql" | "postgres") {
            return Err(Error::invalid(
                "Invalid PostgreSQL URI: the scheme must be postgresql:// or postgres://",
            ));
        }
        let mut pool = PoolOptions::default();
        let mut kept = Vec::new();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                POOL_SIZE => {
                    pool.pool_size = number(&key, &value)?;
                    if pool.pool_size == 0 {
                        return Err(Error::invalid(
                            "Invalid PostgreSQL URI: pool_size must be at least 1",
                        ));
                    }
                }
                ACQUIRE_TIMEOUT_MS => {
                    pool.acquire_timeout = Duration::from_millis(number(&key, &value)?);
                }
                STATEMENT_TIMEOUT_MS => {
                    let ms: u64 = number(&key, &value)?;
                    pool.statement_timeout = (ms > 0).then(|| Duration::from_millis(ms));
                }
                k if DRIVER_PARAMETERS.contains(&k) || k.starts_with("options[") => {
                    kept.push((key.into_owned(), value.into_owned()));
                }
                other => {
                    return Err(Error::invalid(format!(
                        "Unsupported PostgreSQL URI parameter '{other}'. Supported: {POOL_SIZE}, \
                         {ACQUIRE_TIMEOUT_MS}, {STATEMENT_TIMEOUT_MS}, {}",
                        DRIVER_PARAMETERS.join(", ")
                    )));
                }
            }
        }
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok(Self { url, pool })
    }

    /// The same database with other pool options.
    pub fn with_pool(mut self, pool: PoolOptions) -> Self {
        self.pool = pool;
        self
    }

    /// The URI (without Keel's parameters) with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let mut url = self.url.clone();
        if url.password().is_some() {
            // Only fails for URIs that cannot have a password, which this one has.
            let _ = url.set_password(Some(REDACTED));
        }
        if url.query_pairs().any(|(k, _)| k == "password") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" {
                        REDACTED.to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }

    /// The driver's connection options: the URI's, plus `application_name` and the statement
    /// timeout.
    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions> {
        let mut options = PgConnectOptions::from_url(&self.url).map_err(|e| {
            Error::invalid(format!(
                "Invalid PostgreSQL URI {}: {}",
                self.redacted(),
                redact_error(&e.to_string(), &self.url)
            ))
        })?;
        if options.get_application_name().is_none() {
            options = options.application_name("keel");
        }
        if let Some(timeout) = self.pool.statement_timeout {
            options = options.options([("statement_timeout", timeout.as_millis().to_string())]);
        }
        Ok(options)
    }

    /// Removes the password from a driver message about this database.
    pub(crate) fn redact(&self, message: &str) -> String {
        redact_error(message, &self.url)
    }
}

/// `message` with every occurrence of the URI's password (raw or percent-decoded) replaced.
fn redact_error(message: &str, url: &Url) -> String {
    let mut out = message.to_owned();
    let mut secrets: Vec<String> = url.password().map(str::to_owned).into_iter().collect();
    secrets.extend(
        url.query_pairs()
            .filter(|(k, _)| k == "password")
            .map(|(_, v)| v.into_owned()),
    );
    if let Some(encoded) = url.password() {
        secrets.extend(
            form_decode(encoded)
                .into_iter()
                .filter(|s| s.as_str() != encoded),
        );
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret.as_str(), REDACTED);
    }
    out
}

/// The percent-decoded form of a URI component.
fn form_decode(encoded: &str) -> Option<String> {
    // `url` decodes query pairs; reuse it for a single component.
    let probe = Url::parse(&format!("x:?p={encoded}")).ok()?;
    probe
        .query_pairs()
        .find(|(k, _)| k == "p")
        .map(|(_, v)| v.into_owned())
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| {
        Error::invalid(format!(
            "Invalid PostgreSQL URI: {key} must be a non-negative integer, got '{value}'"
        ))
    })
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.redacted())
            .field("pool", &self.pool)
            .finish()
    }
}

impl fmt::Display for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pool_options_and_keeps_driver_parameters() {
        let c = PostgresConfig::parse(
            "postgresql://keel:s3cret@db.internal:6543/tracking?pool_size=4&sslmode=require&\
             acquire_timeout_ms=1500&statement_timeout_ms=0&application_name=k1",
        )
        .expect("parses");
        assert_eq!(
            c.pool,
            PoolOptions {
                pool_size: 4,
                acquire_timeout: Duration::from_millis(1500),
                statement_timeout: None,
            }
        );
        assert_eq!(
            c.redacted(),
            "postgresql://keel:***@db.internal:6543/tracking?sslmode=require&application_name=k1"
        );
        let o = c.connect_options().expect("driver options");
        assert_eq!(o.get_host(), "db.internal");
        assert_eq!(o.get_port(), 6543);
        assert_eq!(o.get_username(), "keel");
        assert_eq!(o.get_database(), Some("tracking"));
        assert_eq!(o.get_application_name(), Some("k1"));
    }

    #[test]
    fn defaults() {
        let c = PostgresConfig::parse("postgres://u@localhost/db").expect("parses");
        assert_eq!(c.pool, PoolOptions::default());
        let o = c.connect_options().expect("driver options");
        assert_eq!(o.get_application_name(), Some("keel"));
        assert_eq!(o.get_options(), Some("-c statement_timeout=60000"));
    }

    #[test]
    fn rejects_bad_uris_without_echoing_the_password() {
        for bad in [
            "postgresql://u:hunter2@h/db?pool_size=0",
            "postgresql://u:hunter2@h/db?pool_size=many",
            "postgresql://u:hunter2@h/db?poolsize=3",
            "postgresql://u:hunter2@h:notaport/db",
            "mysql://u:hunter2@h/db",
        ] {
            let e = PostgresConfig::parse(bad).expect_err(bad);
            assert!(!e.message.contains("hunter2"), "{}", e.message);
        }
        let e = PostgresConfig::parse("postgresql://u@h/db?poolsize=3").expect_err("typo");
        assert!(e.message.contains("'poolsize'"), "{}", e.message);
    }

    #[test]
    fn password_never_shows() {
        let c = PostgresConfig::parse("postgresql://u:p%40ss%2Fw0rd@h/db?password=other")
            .expect("parses");
        for shown in [format!("{c}"), format!("{c:?}"), c.redacted()] {
            assert!(!shown.contains("p%40ss"), "{shown}");
            assert!(!shown.contains("other"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert_eq!(
            c.redact("auth failed for p@ss/w0rd and p%40ss%2Fw0rd and other"),
            "auth failed for *** and *** and ***"
        );
    }
}
