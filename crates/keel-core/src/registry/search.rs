//! Registered-model and model-version search: parse the filter and order_by once, decide whether
//! prompts are wanted, and let the store evaluate the query.

use keel_filter::{CompareOp, Comparison, KeyKind, Literal, Target};

use super::*;
use crate::entities::Page;
use crate::paging;
use crate::tracking::{parse_filter, parse_order_by};

/// Default page size of `registered-models/search`, as in the reference.
pub const DEFAULT_REGISTERED_MODEL_RESULTS: i64 = 100;
/// Largest page of `registered-models/search`.
pub const MAX_REGISTERED_MODEL_RESULTS: i64 = 1000;
/// Default page size of `model-versions/search`, as in the reference.
pub const DEFAULT_MODEL_VERSION_RESULTS: i64 = 10_000;
/// Largest page of `model-versions/search`.
pub const MAX_MODEL_VERSION_RESULTS: i64 = 200_000;

/// Input of `registered-models/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchRegisteredModels {
    /// Which models the caller may see.
    pub visible: crate::store::ModelVisibility,
    pub filter: Option<String>,
    pub max_results: Option<i64>,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

/// Input of `model-versions/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchModelVersions {
    /// Which models' versions the caller may see.
    pub visible: crate::store::ModelVisibility,
    pub filter: Option<String>,
    pub max_results: Option<i64>,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

/// Whether a comparison is on the prompt marker tag.
fn is_prompt_comparison(c: &Comparison) -> bool {
    c.key.kind == KeyKind::Tag && c.key.name == IS_PROMPT_TAG
}

/// The reference's `_is_querying_prompt`: the first comparison on the prompt tag decides, and
/// only `= 'true'` or `!= 'false'` ask for prompts. Otherwise prompts are hidden and comparisons
/// on the prompt tag are dropped (ordinary models do not carry it).
fn split_prompt_filter(mut filter: Vec<Comparison>) -> (Vec<Comparison>, bool) {
    let wants_prompts = filter
        .iter()
        .find(|c| is_prompt_comparison(c))
        .is_some_and(|c| {
            let Literal::Str(value) = &c.value else {
                return false;
            };
            (c.op == CompareOp::Eq && value.eq_ignore_ascii_case("true"))
                || (c.op == CompareOp::Ne && value.eq_ignore_ascii_case("false"))
        });
    if !wants_prompts {
        filter.retain(|c| !is_prompt_comparison(c));
    }
    (filter, wants_prompts)
}

fn page_size(requested: Option<i64>, default: i64, max: i64) -> Result<i64> {
    let limit = requested.unwrap_or(default);
    crate::validation::validate_max_results(limit, max)?;
    Ok(limit)
}

impl Registry {
    pub async fn search_registered_models(
        &self,
        req: SearchRegisteredModels,
    ) -> Result<Page<RegisteredModel>> {
        let limit = page_size(
            req.max_results,
            DEFAULT_REGISTERED_MODEL_RESULTS,
            MAX_REGISTERED_MODEL_RESULTS,
        )?;
        let filter = parse_filter(Target::RegisteredModels, req.filter.as_deref())?;
        let order_by = parse_order_by(Target::RegisteredModels, &req.order_by)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let (filter, include_prompts) = split_prompt_filter(filter);
        let query = RegisteredModelQuery {
            workspace: self.workspace.clone(),
            visible: req.visible,
            filter,
            include_prompts,
            order_by,
            offset,
            limit: limit + 1,
        };
        let rows = self.store.search_registered_models(&query).await?;
        Ok(paging::page_from(rows, offset, limit))
    }

    pub async fn search_model_versions(
        &self,
        req: SearchModelVersions,
    ) -> Result<Page<ModelVersion>> {
        let limit = page_size(
            req.max_results,
            DEFAULT_MODEL_VERSION_RESULTS,
            MAX_MODEL_VERSION_RESULTS,
        )?;
        let filter = parse_filter(Target::ModelVersions, req.filter.as_deref())?;
        let order_by = parse_order_by(Target::ModelVersions, &req.order_by)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let (filter, include_prompts) = split_prompt_filter(filter);
        let query = ModelVersionQuery {
            workspace: self.workspace.clone(),
            visible: req.visible,
            filter,
            include_prompts,
            order_by,
            offset,
            limit: limit + 1,
        };
        let rows = self.store.search_model_versions(&query).await?;
        Ok(paging::page_from(rows, offset, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(s: &str) -> (Vec<Comparison>, bool) {
        split_prompt_filter(
            keel_filter::parse_filter(Target::RegisteredModels, s).expect("filter parses"),
        )
    }

    #[test]
    fn prompts_are_hidden_unless_asked_for() {
        let (f, prompts) = filter("name = 'a'");
        assert_eq!((f.len(), prompts), (1, false));
        let (f, prompts) = filter("tags.`mlflow.prompt.is_prompt` = 'true' AND name = 'a'");
        assert_eq!((f.len(), prompts), (2, true));
        let (f, prompts) = filter("tags.`mlflow.prompt.is_prompt` != 'False'");
        assert_eq!((f.len(), prompts), (1, true));
        // Asking for non-prompts drops the comparison: ordinary models lack the tag.
        let (f, prompts) = filter("tags.`mlflow.prompt.is_prompt` = 'false' AND name = 'a'");
        assert_eq!((f.len(), prompts), (1, false));
    }
}
