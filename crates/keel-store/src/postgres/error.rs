//! Failures inside a PostgreSQL transaction, kept apart until the transaction ends so that a
//! serialization failure or deadlock can be retried, then mapped to the domain error.

use keel_core::Error;

/// SQLSTATEs the whole transaction may be retried after.
const SERIALIZATION_FAILURE: &str = "40001";
const DEADLOCK_DETECTED: &str = "40P01";
const TOO_LARGE: &str = "The search is too large to evaluate; narrow the filter or order_by.";
/// A UNIQUE or PRIMARY KEY violation.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";

/// Why a store function failed: a domain error to return as it is, or a database error.
#[derive(Debug)]
pub(crate) enum Failure {
    Domain(Error),
    Db(sqlx::Error),
}

/// Results of the functions that run inside a connection or transaction.
pub(crate) type PgResult<T> = std::result::Result<T, Failure>;

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Domain(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl Failure {
    /// The SQLSTATE of a database error.
    pub(crate) fn sqlstate(&self) -> Option<String> {
        match self {
            Self::Db(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .map(|c| c.into_owned()),
            Self::Domain(_) => None,
        }
    }

    /// The constraint a database error names, if any.
    pub(crate) fn constraint(&self) -> Option<&str> {
        match self {
            Self::Db(e) => e.as_database_error().and_then(|d| d.constraint()),
            Self::Domain(_) => None,
        }
    }

    /// Whether running the whole transaction again may succeed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self.sqlstate().as_deref(),
            Some(SERIALIZATION_FAILURE | DEADLOCK_DETECTED)
        )
    }

    /// The domain error; `redact` removes the password from driver messages.
    pub(crate) fn into_error(self, redact: impl Fn(&str) -> String) -> Error {
        match self {
            Self::Domain(e) => e,
            Self::Db(e) => db_error(&e, redact),
        }
    }
}

/// Maps a database failure to a domain error: busy or unreachable databases are retryable,
/// limits of absurd searches are bad input, the rest is an internal error.
fn db_error(e: &sqlx::Error, redact: impl Fn(&str) -> String) -> Error {
    let text = redact(&e.to_string());
    match e {
        sqlx::Error::PoolTimedOut => {
            return Error::unavailable("No database connection became free in time; retry later.");
        }
        sqlx::Error::PoolClosed => return Error::unavailable("The store is closing."),
        // PostgreSQL takes at most 65535 parameters; only an absurd search needs more.
        sqlx::Error::Protocol(m) if m.contains("too many arguments") => {
            return Error::invalid(TOO_LARGE);
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            tracing::warn!(error = %text, "PostgreSQL connection failed");
            return Error::unavailable(format!("The database is unreachable: {text}"));
        }
        _ => {}
    }
    let code = e
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
        .unwrap_or_default();
    match code.as_str() {
        SERIALIZATION_FAILURE | DEADLOCK_DETECTED => {
            Error::unavailable("The database is busy with conflicting writes; retry.")
        }
        // query_canceled: the statement timeout fired.
        "57014" => Error::unavailable("The database took too long to answer; retry later."),
        // program_limit_exceeded, statement_too_complex: only absurd searches reach them.
        "54000" | "54001" => {
            Error::invalid("The search is too large to evaluate; narrow the filter or order_by.")
        }
        // invalid_regular_expression: an RLIKE pattern PostgreSQL cannot compile.
        "2201B" => {
            Error::invalid("Invalid filter: an RLIKE pattern is not a valid regular expression.")
        }
        // Connection exceptions, insufficient resources, operator intervention (shutdown).
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") => {
            tracing::warn!(error = %text, code = c, "PostgreSQL unavailable");
            Error::unavailable("The database is unavailable; retry later.")
        }
        _ => {
            tracing::error!(error = %text, code = code.as_str(), "postgres error");
            Error::internal(format!("database error: {text}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use keel_core::ErrorCode;

    use super::*;

    fn mapped(e: sqlx::Error) -> Error {
        Failure::Db(e).into_error(|m| m.replace("hunter2", "***"))
    }

    #[test]
    fn busy_and_unreachable_databases_are_retryable_for_clients() {
        assert_eq!(
            mapped(sqlx::Error::PoolTimedOut).code,
            ErrorCode::TemporarilyUnavailable
        );
        let io = sqlx::Error::Io(std::io::Error::other("connection reset"));
        assert_eq!(mapped(io).code, ErrorCode::TemporarilyUnavailable);
    }

    #[test]
    fn too_many_parameters_is_bad_input() {
        let e = mapped(sqlx::Error::Protocol(
            "PgConnection::run(): too many arguments for query: 70000".into(),
        ));
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn driver_messages_are_redacted() {
        let e = mapped(sqlx::Error::Configuration("bad password hunter2".into()));
        assert_eq!(e.code, ErrorCode::InternalError);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[test]
    fn domain_errors_pass_through_and_are_not_retried() {
        let f = Failure::from(Error::invalid("nope"));
        assert!(!f.is_retryable());
        assert_eq!(f.into_error(str::to_owned), Error::invalid("nope"));
    }
}
