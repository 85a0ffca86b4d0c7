//! The domain error type and the MLflow error codes it maps to.

/// Result alias used across the domain layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// MLflow's error codes that Keel produces. The server crate maps each one to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    InvalidState,
    BadRequest,
    EndpointNotFound,
    PermissionDenied,
    Unauthenticated,
    RequestLimitExceeded,
    TemporarilyUnavailable,
    /// A feature this server was not started with (workspaces without `enable_workspaces`).
    FeatureDisabled,
    /// An operation the configured backend cannot do (signed URLs on a local artifact store).
    NotImplemented,
    InternalError,
}

impl ErrorCode {
    /// The name MLflow puts in the `error_code` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            Self::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            Self::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            Self::InvalidState => "INVALID_STATE",
            Self::BadRequest => "BAD_REQUEST",
            Self::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            Self::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            Self::FeatureDisabled => "FEATURE_DISABLED",
            Self::NotImplemented => "NOT_IMPLEMENTED",
            Self::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// A domain failure: a code clients can act on and a message for humans.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }
    /// INVALID_PARAMETER_VALUE for a required request field that is missing or empty, in the
    /// reference's words.
    pub fn missing_parameter(field: &str) -> Self {
        Self::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more \
             information about request parameters."
        ))
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, message)
    }
}

impl From<keel_filter::FilterError> for Error {
    fn from(err: keel_filter::FilterError) -> Self {
        Self::invalid(err.0)
    }
}
