//! Webhook events of the registry, emitted after the write that caused them committed, with
//! the payloads the reference's handlers build (prompt events for models tagged as prompts).
//! Emission never fails a request: the webhook service logs and drops what it cannot queue.

use super::*;
use crate::entities::Tag;
use crate::webhooks::{Event, Webhooks};

/// Tags MLflow uses to mark prompts, left out of prompt payloads.
const PROMPT_TYPE_TAG: &str = "_mlflow_prompt_type";
/// The tag holding a prompt version's template.
const PROMPT_TEXT_TAG: &str = "mlflow.prompt.text";

/// Tags as the reference's `{t.key: t.value for t in tags}`: the last value of a key wins, in
/// the order keys first appeared.
fn tag_dict<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> Vec<(String, String)> {
    let pairs = tags
        .into_iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    crate::keyed::last_per_key(pairs, |(k, _)| k)
}

impl Registry {
    /// Emits the registry's events through `webhooks`.
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    async fn emit(&self, event: Event) {
        if let Some(w) = &self.webhooks {
            w.emit(event).await;
        }
    }

    /// Emits `make(is_prompt)` for the model `name`, looking up whether it is a prompt only
    /// when some webhook subscribes to one of the two candidate events.
    async fn emit_for_model(&self, name: &str, make: impl Fn(bool) -> Option<Event>) {
        let Some(w) = &self.webhooks else { return };
        let candidates: Vec<_> = [make(false), make(true)]
            .into_iter()
            .flatten()
            .map(|e| e.event)
            .collect();
        let subs = w.subscriptions(&candidates).await;
        if subs.is_empty() {
            return;
        }
        let prompt = match self.store.get_registered_model(&self.workspace, name).await {
            Ok(Some(model)) => is_prompt(&model.tags),
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot tell whether a model is a prompt; event dropped");
                return;
            }
        };
        if let Some(event) = make(prompt) {
            w.enqueue(&event, &subs).await;
        }
    }

    pub(super) async fn emit_model_created(&self, model: &RegisteredModel) {
        if self.webhooks.is_none() {
            return;
        }
        let description = model.description.clone().unwrap_or_default();
        let event = if is_prompt(&model.tags) {
            let tags: Vec<_> = tag_dict(&model.tags)
                .into_iter()
                .filter(|(k, _)| k != IS_PROMPT_TAG && k != PROMPT_TYPE_TAG)
                .collect();
            Event::prompt_created(&model.name, &tags, &description)
        } else {
            Event::registered_model_created(&model.name, &tag_dict(&model.tags), &description)
        };
        self.emit(event).await;
    }

    pub(super) async fn emit_version_created(&self, v: &ModelVersion) {
        if self.webhooks.is_none() {
            return;
        }
        let version = v.version.to_string();
        let description = v.description.clone().filter(|d| !d.is_empty());
        let event = if is_prompt(&v.tags) {
            let mut tags = tag_dict(&v.tags);
            let template = tags
                .iter()
                .position(|(k, _)| k == PROMPT_TEXT_TAG)
                .map(|i| tags.remove(i).1);
            tags.retain(|(k, _)| k != IS_PROMPT_TAG && k != PROMPT_TYPE_TAG);
            Event::prompt_version_created(&v.name, &version, template, &tags, description)
        } else {
            Event::model_version_created(
                &v.name,
                &version,
                &v.source,
                v.run_id.clone().filter(|r| !r.is_empty()),
                &tag_dict(&v.tags),
                description,
            )
        };
        self.emit(event).await;
    }

    pub(super) async fn emit_model_tag_set(&self, name: &str, tag: &Tag) {
        self.emit_for_model(name, |prompt| {
            prompt.then(|| Event::prompt_tag_set(name, &tag.key, &tag.value))
        })
        .await;
    }

    pub(super) async fn emit_model_tag_deleted(&self, name: &str, key: &str) {
        self.emit_for_model(name, |prompt| {
            prompt.then(|| Event::prompt_tag_deleted(name, key))
        })
        .await;
    }

    pub(super) async fn emit_version_tag_set(&self, name: &str, version: &str, tag: &Tag) {
        self.emit_for_model(name, |prompt| {
            Some(Event::version_tag_set(
                prompt, name, version, &tag.key, &tag.value,
            ))
        })
        .await;
    }

    pub(super) async fn emit_version_tag_deleted(&self, name: &str, version: &str, key: &str) {
        self.emit_for_model(name, |prompt| {
            Some(Event::version_tag_deleted(prompt, name, version, key))
        })
        .await;
    }

    pub(super) async fn emit_alias_created(&self, name: &str, alias: &str, version: &str) {
        self.emit_for_model(name, |prompt| {
            Some(Event::alias_created(prompt, name, alias, version))
        })
        .await;
    }

    pub(super) async fn emit_alias_deleted(&self, name: &str, alias: &str) {
        self.emit_for_model(name, |prompt| {
            Some(Event::alias_deleted(prompt, name, alias))
        })
        .await;
    }
}
