//! Guardrails (`gr-...`, the reference's `gateway/guardrails/*`): a check run on every call of
//! the endpoints it is added to, on the request before the model is called (stage BEFORE) or
//! on the answer (AFTER), that either blocks the call (VALIDATION: HTTP 400, `Guardrail '<name>'
//! blocked: <rationale>`) or rewrites what it finds (SANITIZATION). Keel's guardrails run one
//! of its built-in detectors ([`detectors`]); the reference's run a registered scorer, which
//! Keel has no registry for, so a guardrail naming a scorer is refused as the reference
//! refuses an unknown one. Endpoints run their guardrails in `execution_order` (unset last),
//! fail closed (a check that cannot run blocks), and check streamed answers as they flow
//! ([`stream`]).

pub mod apply;
pub mod detectors;
pub mod stream;

use keel_core::{Error, ErrorCode, Page, Result};

use crate::Gateway;
use crate::budgets::{non_empty, page_size};
use crate::endpoints::EndpointKey;
use detectors::{Applies, DetectorSpec};

/// When a guardrail runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// On the request, before the model is called.
    Before,
    /// On the answer.
    After,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "BEFORE",
            Self::After => "AFTER",
        }
    }

    /// The proto's names and numbers.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "BEFORE" | "1" => Self::Before,
            "AFTER" | "2" => Self::After,
            _ => return None,
        })
    }
}

/// What a guardrail does with what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Blocks the call.
    Validation,
    /// Rewrites the request or answer (redacts what it found; caps the tokens asked for).
    Sanitization,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "VALIDATION",
            Self::Sanitization => "SANITIZATION",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "VALIDATION" | "1" => Self::Validation,
            "SANITIZATION" | "2" => Self::Sanitization,
            _ => return None,
        })
    }
}

/// A guardrail.
#[derive(Debug, Clone, PartialEq)]
pub struct Guardrail {
    pub guardrail_id: String,
    pub workspace: String,
    pub name: String,
    pub stage: Stage,
    pub action: Action,
    pub detector: DetectorSpec,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

/// A guardrail added to an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailConfig {
    pub endpoint_id: String,
    pub guardrail_id: String,
    pub execution_order: Option<i32>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub guardrail: Guardrail,
}

/// `guardrails/create`, as the request gives it.
#[derive(Debug, Clone, Default)]
pub struct CreateGuardrail {
    pub name: Option<String>,
    /// Keel's built-in detector (`{"type": ...}`).
    pub detector: Option<serde_json::Value>,
    /// The reference's scorer (Keel has no scorer registry).
    pub scorer_id: Option<String>,
    pub scorer_version: Option<i64>,
    pub stage: Option<String>,
    pub action: Option<String>,
    pub action_endpoint_id: Option<String>,
}

/// A guardrail to add to an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailAttachment {
    pub endpoint_id: String,
    pub guardrail_id: String,
    pub execution_order: Option<i32>,
    pub created_by: Option<String>,
    pub created_at: i64,
}

/// How adding a guardrail to an endpoint went.
#[derive(Debug, Clone, PartialEq)]
pub enum AddOutcome {
    Added(Box<GuardrailConfig>),
    EndpointMissing,
    GuardrailMissing,
    AlreadyAdded,
    /// The endpoint already runs this many guardrails.
    Full(usize),
}

/// Guardrails one endpoint runs, at most (every call runs each of them).
pub const MAX_PER_ENDPOINT: usize = 20;
/// A guardrail's name, at most (the reference's column).
pub const MAX_NAME_CHARS: usize = 255;

fn required<T>(field: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::missing_parameter(field))
}

fn guardrail_not_found(id: &str) -> Error {
    Error::not_found(format!("Guardrail not found (guardrail_id='{id}')"))
}

fn endpoint_not_found(id: &str) -> Error {
    Error::not_found(format!("Endpoint not found (endpoint_id='{id}')"))
}

fn config_not_found(endpoint_id: &str, guardrail_id: &str) -> Error {
    Error::not_found(format!(
        "GuardrailConfig not found (endpoint_id='{endpoint_id}', guardrail_id='{guardrail_id}')"
    ))
}

/// Whether `detector` can run at `stage` with `action`, in words when not.
fn check_fit(detector: &DetectorSpec, stage: Stage, action: Action) -> Result<()> {
    let problem = match (detector.applies(), stage, action) {
        (Applies::RequestOnly, Stage::After, _) => {
            Some("A max_tokens detector checks requests: its stage must be BEFORE.")
        }
        (Applies::AnswerOnly, Stage::Before, _) => {
            Some("A json_schema detector checks answers: its stage must be AFTER.")
        }
        (Applies::AnswerOnly, _, Action::Sanitization) => {
            Some("A json_schema detector can only block: its action must be VALIDATION.")
        }
        _ => None,
    };
    match problem {
        Some(message) => Err(Error::invalid(message)),
        None => Ok(()),
    }
}

impl Gateway {
    pub async fn create_guardrail(
        &self,
        workspace: &str,
        req: CreateGuardrail,
        created_by: Option<String>,
    ) -> Result<Guardrail> {
        let name = required("name", non_empty(req.name))?;
        let detector = match req.detector.filter(|d| !d.is_null()) {
            Some(detector) => detector,
            None => {
                // The reference's scorer-backed guardrail: its fields in its order, then the
                // scorer, which Keel's registry cannot have.
                let scorer_id = required("scorer_id", non_empty(req.scorer_id))?;
                required("scorer_version", req.scorer_version)?;
                required("stage", non_empty(req.stage.clone()))?;
                required("action", non_empty(req.action.clone()))?;
                return Err(Error::not_found(format!(
                    "Scorer with ID '{scorer_id}' not found."
                )));
            }
        };
        let stage_text = required("stage", non_empty(req.stage))?;
        let action_text = required("action", non_empty(req.action))?;
        let stage = Stage::parse(&stage_text)
            .ok_or_else(|| Error::invalid(format!("Invalid stage: {stage_text}")))?;
        let action = Action::parse(&action_text)
            .ok_or_else(|| Error::invalid(format!("Invalid action: {action_text}")))?;
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(format!(
                "A guardrail's name must be at most {MAX_NAME_CHARS} characters."
            )));
        }
        if non_empty(req.action_endpoint_id).is_some() {
            return Err(Error::invalid(
                "action_endpoint_id names the endpoint a scorer-based guardrail sanitizes \
                 with; a built-in detector redacts in place and takes none.",
            ));
        }
        let detector = DetectorSpec::parse(&detector)
            .map_err(|e| Error::invalid(format!("Invalid detector: {e}")))?;
        check_fit(&detector, stage, action)?;
        let now = self.now();
        let guardrail = Guardrail {
            guardrail_id: format!("gr-{}", uuid::Uuid::new_v4().simple()),
            workspace: workspace.to_owned(),
            name,
            stage,
            action,
            detector,
            last_updated_by: created_by.clone(),
            created_by,
            created_at: now,
            last_updated_at: now,
        };
        self.store.insert_guardrail(&guardrail).await?;
        keel_core::audit::scope::note_created("Guardrail", &guardrail.guardrail_id);
        Ok(guardrail)
    }

    pub async fn get_guardrail(
        &self,
        workspace: &str,
        guardrail_id: Option<String>,
    ) -> Result<Guardrail> {
        let id = required("guardrail_id", non_empty(guardrail_id))?;
        self.store
            .get_guardrail(workspace, &id)
            .await?
            .ok_or_else(|| guardrail_not_found(&id))
    }

    /// Deletes a guardrail and takes it off every endpoint.
    pub async fn delete_guardrail(
        &self,
        workspace: &str,
        guardrail_id: Option<String>,
    ) -> Result<()> {
        let id = required("guardrail_id", non_empty(guardrail_id))?;
        if !self.store.delete_guardrail(workspace, &id).await? {
            return Err(guardrail_not_found(&id));
        }
        self.changed();
        Ok(())
    }

    /// A page of the workspace's guardrails, by ID.
    pub async fn list_guardrails(
        &self,
        workspace: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Guardrail>> {
        let limit = page_size(max_results)?;
        let offset = keel_core::paging::decode(page_token)?;
        let rows = self
            .store
            .list_guardrails(workspace, offset, limit + 1)
            .await?;
        Ok(keel_core::paging::page_from(rows, offset, limit))
    }

    pub async fn add_guardrail_to_endpoint(
        &self,
        workspace: &str,
        endpoint_id: Option<String>,
        guardrail_id: Option<String>,
        execution_order: Option<i32>,
        created_by: Option<String>,
    ) -> Result<GuardrailConfig> {
        let endpoint_id = required("endpoint_id", non_empty(endpoint_id))?;
        let guardrail_id = required("guardrail_id", non_empty(guardrail_id))?;
        let attachment = GuardrailAttachment {
            endpoint_id: endpoint_id.clone(),
            guardrail_id: guardrail_id.clone(),
            execution_order,
            created_by,
            created_at: self.now(),
        };
        let outcome = self
            .store
            .add_guardrail_to_endpoint(workspace, &attachment, MAX_PER_ENDPOINT)
            .await?;
        match outcome {
            AddOutcome::Added(config) => {
                self.changed();
                Ok(*config)
            }
            AddOutcome::EndpointMissing => Err(endpoint_not_found(&endpoint_id)),
            AddOutcome::GuardrailMissing => Err(guardrail_not_found(&guardrail_id)),
            AddOutcome::AlreadyAdded => Err(Error::new(
                ErrorCode::ResourceAlreadyExists,
                format!("Guardrail '{guardrail_id}' is already added to endpoint '{endpoint_id}'"),
            )),
            AddOutcome::Full(n) => Err(Error::invalid(format!(
                "Endpoint '{endpoint_id}' already runs {n} guardrails, the most one endpoint \
                 may run."
            ))),
        }
    }

    /// Sets (or, with `None`, clears) the order a guardrail runs in on an endpoint.
    pub async fn update_guardrail_config(
        &self,
        workspace: &str,
        endpoint_id: Option<String>,
        guardrail_id: Option<String>,
        execution_order: Option<i32>,
    ) -> Result<GuardrailConfig> {
        let endpoint_id = required("endpoint_id", non_empty(endpoint_id))?;
        let guardrail_id = required("guardrail_id", non_empty(guardrail_id))?;
        let config = self
            .store
            .set_guardrail_order(workspace, &endpoint_id, &guardrail_id, execution_order)
            .await?
            .ok_or_else(|| config_not_found(&endpoint_id, &guardrail_id))?;
        self.changed();
        Ok(config)
    }

    pub async fn remove_guardrail_from_endpoint(
        &self,
        workspace: &str,
        endpoint_id: Option<String>,
        guardrail_id: Option<String>,
    ) -> Result<()> {
        let endpoint_id = required("endpoint_id", non_empty(endpoint_id))?;
        let guardrail_id = required("guardrail_id", non_empty(guardrail_id))?;
        if !self
            .store
            .remove_guardrail_from_endpoint(workspace, &endpoint_id, &guardrail_id)
            .await?
        {
            return Err(config_not_found(&endpoint_id, &guardrail_id));
        }
        self.changed();
        Ok(())
    }

    /// The guardrails an endpoint runs, in the order it runs them.
    pub async fn endpoint_guardrails(
        &self,
        workspace: &str,
        endpoint_id: Option<String>,
    ) -> Result<Vec<GuardrailConfig>> {
        let endpoint_id = required("endpoint_id", non_empty(endpoint_id))?;
        if self
            .store
            .get_endpoint(workspace, EndpointKey::Id(&endpoint_id))
            .await?
            .is_none()
        {
            return Err(endpoint_not_found(&endpoint_id));
        }
        self.store
            .endpoint_guardrails(workspace, &endpoint_id)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_and_actions_take_names_or_numbers() {
        assert_eq!(Stage::parse("BEFORE"), Some(Stage::Before));
        assert_eq!(Stage::parse("2"), Some(Stage::After));
        assert_eq!(Stage::parse("0"), None);
        assert_eq!(Action::parse("SANITIZATION"), Some(Action::Sanitization));
        assert_eq!(Action::parse("validation"), None);
    }

    #[test]
    fn detectors_fit_their_stage_and_action() {
        let max = DetectorSpec::parse(&json!({"type": "max_tokens", "max_output_tokens": 5}))
            .expect("valid");
        assert!(check_fit(&max, Stage::Before, Action::Sanitization).is_ok());
        assert!(check_fit(&max, Stage::After, Action::Validation).is_err());
        let schema =
            DetectorSpec::parse(&json!({"type": "json_schema", "schema": {}})).expect("valid");
        assert!(check_fit(&schema, Stage::After, Action::Validation).is_ok());
        assert!(check_fit(&schema, Stage::Before, Action::Validation).is_err());
        assert!(check_fit(&schema, Stage::After, Action::Sanitization).is_err());
        assert!(check_fit(&DetectorSpec::Secrets, Stage::After, Action::Sanitization).is_ok());
    }
}
