//! Input rules of the model registry (names, versions, aliases, tags), with the reference
//! server's messages (`mlflow/utils/validation.py`).

use crate::entities::Tag;
use crate::error::{Error, Result};
use crate::tracking::dedup_tags;
use crate::validation::{self, NameKind};

/// Longest registered model name (the reference's column size).
pub const MAX_MODEL_NAME_LENGTH: usize = 256;
pub const MAX_TAG_KEY_LENGTH: usize = 250;
pub const MAX_TAG_VALUE_LENGTH: usize = 100_000;
pub const MAX_ALIAS_LENGTH: usize = 255;

/// Checks a registered model name given in request field `field`: present, no `/` or `:` (they
/// would break `models:/` URIs), and not read as another path (`.`, `..x`).
pub fn validate_model_name(name: &str, field: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::missing_parameter(field));
    }
    if name.contains(['/', ':']) {
        return Err(Error::invalid(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    if name == "." || name.starts_with("..") {
        return Err(Error::invalid(format!(
            "Invalid value \"{name}\" for parameter '{field}' supplied: Names may be treated as \
             files in certain cases, and must not resolve to other names when treated as such. \
             This name would resolve to '{name}'"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "Invalid model name '{}'. Names cannot contain control characters.",
            name.escape_debug()
        )));
    }
    validation::check_length(field, name, MAX_MODEL_NAME_LENGTH)
}

/// Parses a version number as the reference's `int()` does.
pub fn parse_version(version: &str) -> Result<i64> {
    version.trim().parse::<i64>().map_err(|_| {
        Error::invalid(format!(
            "Parameter 'version' must be an integer, got '{version}'."
        ))
    })
}

/// Checks an alias name: present, word characters and dashes only, bounded length.
pub fn validate_alias(alias: &str) -> Result<()> {
    if alias.is_empty() {
        return Err(Error::invalid(
            "Registered model alias name cannot be empty.",
        ));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores \
             (_), and dashes (-)."
        )));
    }
    validation::check_length("Registered model alias name", alias, MAX_ALIAS_LENGTH)
}

/// Aliases a client may not set: `latest` (any case) and version names like `v3`.
pub fn validate_alias_not_reserved(alias: &str) -> Result<()> {
    if alias.eq_ignore_ascii_case("latest") {
        return Err(Error::invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let mut chars = alias.chars();
    let version_like = matches!(chars.next(), Some('v' | 'V'))
        && alias.len() > 1
        && chars.all(|c| c.is_ascii_digit());
    if version_like {
        return Err(Error::invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    Ok(())
}

/// Checks a registered-model or model-version tag.
pub fn validate_tag(tag: &Tag) -> Result<()> {
    validation::validate_key(NameKind::Tag, &tag.key)?;
    validation::check_length("key", &tag.key, MAX_TAG_KEY_LENGTH)?;
    validation::check_length("value", &tag.value, MAX_TAG_VALUE_LENGTH)
}

/// Checks tags and keeps the last value of each key, ordered by key (as stores return them).
pub fn validate_tags(tags: Vec<Tag>) -> Result<Vec<Tag>> {
    let mut tags = dedup_tags(tags);
    tags.iter().try_for_each(validate_tag)?;
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        assert!(validate_model_name("my model-1.2", "name").is_ok());
        assert_eq!(
            validate_model_name("a/b", "name")
                .expect_err("slash")
                .message,
            "Invalid model name 'a/b'. Names cannot contain '/' or ':'."
        );
        assert!(validate_model_name("a:b", "name").is_err());
        assert_eq!(
            validate_model_name(" ", "new_name")
                .expect_err("blank")
                .message,
            "Missing value for required parameter 'new_name'. See the API docs for more \
             information about request parameters."
        );
        for bad in [".", "..", "..x", "a\nb"] {
            assert!(validate_model_name(bad, "name").is_err(), "{bad:?}");
        }
        assert!(validate_model_name(&"n".repeat(257), "name").is_err());
    }

    #[test]
    fn versions_are_integers() {
        assert_eq!(parse_version("3").ok(), Some(3));
        assert_eq!(parse_version(" 3 ").ok(), Some(3));
        assert_eq!(
            parse_version("x").expect_err("not a number").message,
            "Parameter 'version' must be an integer, got 'x'."
        );
    }

    #[test]
    fn aliases() {
        assert!(validate_alias("champion_2-b").is_ok());
        assert!(validate_alias("").is_err());
        assert!(validate_alias("a b").is_err());
        assert!(validate_alias("a.b").is_err());
        assert!(validate_alias(&"a".repeat(256)).is_err());
        assert!(validate_alias_not_reserved("LATEST").is_err());
        assert_eq!(
            validate_alias_not_reserved("v1")
                .expect_err("reserved")
                .message,
            "Version alias name 'v1' is reserved."
        );
        assert!(validate_alias_not_reserved("V12").is_err());
        assert!(validate_alias_not_reserved("v").is_ok());
        assert!(validate_alias_not_reserved("v1a").is_ok());
    }

    #[test]
    fn tags() {
        assert!(validate_tag(&Tag::new("mlflow.prompt.text", "x".repeat(100_000))).is_ok());
        assert!(validate_tag(&Tag::new("k", "x".repeat(100_001))).is_err());
        assert!(validate_tag(&Tag::new("../k", "v")).is_err());
        assert!(validate_tag(&Tag::new("", "v")).is_err());
        let tags = validate_tags(vec![Tag::new("a", "1"), Tag::new("a", "2")]).expect("valid");
        assert_eq!(tags, vec![Tag::new("a", "2")]);
    }
}
