//! Input limits and naming rules, matching the reference MLflow server's validation.

use crate::error::{Error, Result};

pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
pub const MAX_BATCH_LOG_REQUEST_SIZE: usize = 1_000_000;
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20_000;
pub const MAX_RUN_NAME_LENGTH: usize = 250;
pub const MAX_USER_ID_LENGTH: usize = 256;
pub const MAX_DATASET_NAME_SIZE: usize = 500;
pub const MAX_DATASET_DIGEST_SIZE: usize = 36;
pub const MAX_DATASET_SOURCE_SIZE: usize = 65535;
pub const MAX_DATASET_SCHEMA_SIZE: usize = 1_048_575;
pub const MAX_DATASET_PROFILE_SIZE: usize = 16_777_215;
pub const MAX_INPUT_TAG_KEY_SIZE: usize = 255;
pub const MAX_INPUT_TAG_VALUE_SIZE: usize = 500;
pub const MAX_RESULTS_SEARCH_RUNS: i64 = 50_000;
pub const MAX_RESULTS_SEARCH_EXPERIMENTS: i64 = 50_000;
pub const MAX_RESULTS_METRIC_HISTORY: i64 = 25_000;
pub const MAX_ARTIFACT_LOCATION_LENGTH: usize = 2048;
/// Search size caps: far above real use, and below what the database can compile.
pub const MAX_FILTER_CLAUSES: usize = 500;
pub const MAX_ORDER_BY_CLAUSES: usize = 20;
pub const MAX_FILTER_LIST_ITEMS: usize = 10_000;
pub const MAX_FILTER_VALUE_LENGTH: usize = 10_000;
pub const MAX_SEARCH_EXPERIMENT_IDS: usize = 10_000;

/// What kind of name is being checked, for error messages.
#[derive(Debug, Clone, Copy)]
pub enum NameKind {
    Metric,
    Param,
    Tag,
}

impl NameKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::Param => "param",
            Self::Tag => "tag",
        }
    }
}

/// Checks a metric, param or tag key: allowed characters, length, and that it cannot be read
/// as a different path (names become file paths in some clients).
pub fn validate_key(kind: NameKind, key: &str) -> Result<()> {
    let what = kind.as_str();
    if key.is_empty() {
        return Err(Error::invalid(format!(
            "Invalid {what} name: ''. Name cannot be empty."
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/');
    if !key.chars().all(allowed) {
        return Err(Error::invalid(format!(
            "Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
             dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    if !is_normalized_path(key) {
        return Err(Error::invalid(format!(
            "Invalid {what} name: '{key}'. Names may be treated as files in certain cases, and \
             must not resolve to other names when treated as such. This name would resolve to \
             a different path."
        )));
    }
    check_length(&format!("{what} name"), key, MAX_ENTITY_KEY_LENGTH)
}

/// True when the name equals its own POSIX-normalized form and is relative.
fn is_normalized_path(name: &str) -> bool {
    if name.starts_with('/') || name.ends_with('/') {
        return false;
    }
    name.split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Fails with INVALID_PARAMETER_VALUE when `value` is longer than `max` characters.
pub fn check_length(what: &str, value: &str, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        let shown: String = value.chars().take(64).collect();
        return Err(Error::invalid(format!(
            "'{what}' exceeds the maximum length of {max} characters (got {len}): '{shown}...'"
        )));
    }
    Ok(())
}

/// Cuts `value` to at most `max` characters. Like the reference server (whose
/// `MLFLOW_TRUNCATE_LONG_VALUES` defaults to on), over-long param and tag values are truncated
/// rather than rejected, so autologging of long values keeps working.
pub fn truncate_value(value: &mut String, max: usize) {
    if let Some((cut, _)) = value.char_indices().nth(max) {
        value.truncate(cut);
    }
}

/// Fails when a metric timestamp is negative.
pub fn validate_timestamp(key: &str, timestamp: i64) -> Result<()> {
    if timestamp < 0 {
        return Err(Error::invalid(format!(
            "Invalid value {timestamp} for parameter 'timestamp' supplied: metric '{key}'. \
             Timestamp must be a nonnegative long (64-bit integer)"
        )));
    }
    Ok(())
}

pub fn validate_experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "Invalid experiment name: ''. Experiment name cannot be empty.",
        ));
    }
    check_length("experiment name", name, MAX_EXPERIMENT_NAME_LENGTH)
}

pub fn validate_experiment_tag(key: &str, value: &str) -> Result<()> {
    validate_key(NameKind::Tag, key)?;
    check_length(
        &format!("value of experiment tag '{key}'"),
        value,
        MAX_EXPERIMENT_TAG_VAL_LENGTH,
    )
}

/// Checks a client-supplied experiment artifact location: no `runs:/` URIs (they would point an
/// experiment into another run), no URL fragments, queries or params, bounded length.
pub fn validate_artifact_location(location: &str) -> Result<()> {
    check_length("artifact_location", location, MAX_ARTIFACT_LOCATION_LENGTH)?;
    if location.starts_with("runs:") {
        return Err(Error::invalid(format!(
            "Artifact location cannot be a runs:/ URI. Given: '{location}'"
        )));
    }
    if location.contains(['#', '?', ';']) || location.contains('\0') {
        return Err(Error::invalid(
            "'artifact_location' URL can't include fragments or params.",
        ));
    }
    Ok(())
}

/// Checks that `max_results` lies in `1..=max`.
pub fn validate_max_results(max_results: i64, max: i64) -> Result<()> {
    if max_results < 1 {
        return Err(Error::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be a \
             positive integer"
        )));
    }
    if max_results > max {
        return Err(Error::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at \
             most {max}"
        )));
    }
    Ok(())
}

/// Checks the counts in one log-batch request.
pub fn validate_batch_counts(metrics: usize, params: usize, tags: usize) -> Result<()> {
    if metrics > MAX_METRICS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. Got \
             {metrics} metrics. Please split up metrics across multiple requests and try again."
        )));
    }
    if params > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} params. Got \
             {params} params. Please split up params across multiple requests and try again."
        )));
    }
    if tags > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} tags. Got \
             {tags} tags. Please split up tags across multiple requests and try again."
        )));
    }
    let total = metrics + params + tags;
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, params, \
             and tags in total. Got {total} entities. Please split up the data across multiple \
             requests and try again."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_allowed_characters_pass() {
        for key in ["acc", "a/b", "loss val", "x:y", "a.b-c_d", "métrique"] {
            assert!(validate_key(NameKind::Metric, key).is_ok(), "{key}");
        }
    }

    #[test]
    fn keys_that_resolve_elsewhere_fail() {
        for key in ["../a", "a/../b", "/abs", "a/", "a//b", "./a", ""] {
            assert!(validate_key(NameKind::Param, key).is_err(), "{key}");
        }
    }

    #[test]
    fn keys_with_forbidden_characters_fail() {
        for key in ["a\\b", "a\0b", "a;b", "a?b", "a#b", "a\nb"] {
            assert!(validate_key(NameKind::Tag, key).is_err(), "{key:?}");
        }
    }

    #[test]
    fn overlong_values_are_truncated_and_overlong_keys_fail() {
        let mut value = "é".repeat(MAX_PARAM_VAL_LENGTH + 5);
        truncate_value(&mut value, MAX_PARAM_VAL_LENGTH);
        assert_eq!(value.chars().count(), MAX_PARAM_VAL_LENGTH);
        assert!(validate_key(NameKind::Metric, &"k".repeat(MAX_ENTITY_KEY_LENGTH + 1)).is_err());
    }

    #[test]
    fn negative_timestamps_fail() {
        assert!(validate_timestamp("m", 0).is_ok());
        assert!(validate_timestamp("m", -1).is_err());
    }

    #[test]
    fn artifact_locations() {
        assert!(validate_artifact_location("s3://bucket/path").is_ok());
        assert!(validate_artifact_location("mlflow-artifacts:/5").is_ok());
        for bad in [
            "runs:/abc/x",
            "s3://b/p#frag",
            "s3://b/p?x=1",
            "s3://b/p;x",
            "a\0b",
        ] {
            assert!(validate_artifact_location(bad).is_err(), "{bad}");
        }
        assert!(validate_artifact_location(&"a".repeat(MAX_ARTIFACT_LOCATION_LENGTH + 1)).is_err());
    }

    #[test]
    fn experiment_tags_follow_tag_name_rules() {
        assert!(validate_experiment_tag("mlflow.note.content", &"x".repeat(20_000)).is_ok());
        assert!(validate_experiment_tag("k", &"x".repeat(20_001)).is_err());
        for bad in ["../x", "/abs", "a\\b", "a\0b", ""] {
            assert!(validate_experiment_tag(bad, "v").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn batch_limits() {
        assert!(validate_batch_counts(1000, 0, 0).is_ok());
        assert!(validate_batch_counts(1001, 0, 0).is_err());
        assert!(validate_batch_counts(0, 101, 0).is_err());
        assert!(validate_batch_counts(0, 0, 101).is_err());
        assert!(validate_batch_counts(900, 100, 1).is_err());
    }
}
