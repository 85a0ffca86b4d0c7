//! Event payloads (the `data` of MLflow's `webhooks/types.py`), their example values for
//! `webhooks/{id}/test`, and the envelope `{"entity", "action", "timestamp", "data"}` rendered
//! byte for byte as the reference's `json.dumps` does (`", "`/`": "` separators, ASCII only).

use super::entities::{WebhookAction, WebhookEntity, WebhookEvent};

/// A JSON value of a payload, with object keys kept in the reference's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Str(String),
    /// A `dict[str, str]` (tags), in the order given.
    Map(Vec<(String, String)>),
    /// A number, already written as Python writes it (`100.0`, `1e-06`, `3`).
    Number(String),
}

/// What a `budget_policy.exceeded` event says (the reference's
/// `BudgetPolicyExceededPayload`).
#[derive(Debug, Clone, Copy)]
pub struct BudgetExceeded<'a> {
    pub budget_policy_id: &'a str,
    pub budget_amount: f64,
    pub current_spend: f64,
    pub duration_unit: &'a str,
    pub duration_value: u32,
    pub target_scope: &'a str,
    pub workspace: &'a str,
    pub target_value: Option<&'a str>,
    /// The window's start, in milliseconds since the Unix epoch.
    pub window_start: i64,
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        s.map_or(Self::Null, Self::Str)
    }
}

/// An event that happened, with its payload fields in the reference's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: WebhookEvent,
    pub data: Vec<(&'static str, Value)>,
}

/// A pair the constructors below name; each is one of the reference's valid events.
fn event(entity: WebhookEntity, action: WebhookAction) -> WebhookEvent {
    WebhookEvent::known(entity, action)
}

fn tags(tags: &[(String, String)]) -> Value {
    Value::Map(tags.to_vec())
}

use WebhookAction as A;
use WebhookEntity as E;

impl Event {
    pub fn registered_model_created(
        name: &str,
        tag_list: &[(String, String)],
        description: &str,
    ) -> Self {
        Self {
            event: event(E::RegisteredModel, A::Created),
            data: vec![
                ("name", name.into()),
                ("tags", tags(tag_list)),
                ("description", description.into()),
            ],
        }
    }

    pub fn model_version_created(
        name: &str,
        version: &str,
        source: &str,
        run_id: Option<String>,
        tag_list: &[(String, String)],
        description: Option<String>,
    ) -> Self {
        Self {
            event: event(E::ModelVersion, A::Created),
            data: vec![
                ("name", name.into()),
                ("version", version.into()),
                ("source", source.into()),
                ("run_id", run_id.into()),
                ("tags", tags(tag_list)),
                ("description", description.into()),
            ],
        }
    }

    /// `model_version_tag.set` or, for a prompt, `prompt_version_tag.set`.
    pub fn version_tag_set(
        prompt: bool,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Self {
        let entity = if prompt {
            E::PromptVersionTag
        } else {
            E::ModelVersionTag
        };
        Self {
            event: event(entity, A::Set),
            data: vec![
                ("name", name.into()),
                ("version", version.into()),
                ("key", key.into()),
                ("value", value.into()),
            ],
        }
    }

    pub fn version_tag_deleted(prompt: bool, name: &str, version: &str, key: &str) -> Self {
        let entity = if prompt {
            E::PromptVersionTag
        } else {
            E::ModelVersionTag
        };
        Self {
            event: event(entity, A::Deleted),
            data: vec![
                ("name", name.into()),
                ("version", version.into()),
                ("key", key.into()),
            ],
        }
    }

    pub fn alias_created(prompt: bool, name: &str, alias: &str, version: &str) -> Self {
        let entity = if prompt {
            E::PromptAlias
        } else {
            E::ModelVersionAlias
        };
        Self {
            event: event(entity, A::Created),
            data: vec![
                ("name", name.into()),
                ("alias", alias.into()),
                ("version", version.into()),
            ],
        }
    }

    pub fn alias_deleted(prompt: bool, name: &str, alias: &str) -> Self {
        let entity = if prompt {
            E::PromptAlias
        } else {
            E::ModelVersionAlias
        };
        Self {
            event: event(entity, A::Deleted),
            data: vec![("name", name.into()), ("alias", alias.into())],
        }
    }

    pub fn prompt_created(name: &str, tag_list: &[(String, String)], description: &str) -> Self {
        Self {
            event: event(E::Prompt, A::Created),
            data: vec![
                ("name", name.into()),
                ("tags", tags(tag_list)),
                ("description", description.into()),
            ],
        }
    }

    pub fn prompt_version_created(
        name: &str,
        version: &str,
        template: Option<String>,
        tag_list: &[(String, String)],
        description: Option<String>,
    ) -> Self {
        Self {
            event: event(E::PromptVersion, A::Created),
            data: vec![
                ("name", name.into()),
                ("version", version.into()),
                ("template", template.into()),
                ("tags", tags(tag_list)),
                ("description", description.into()),
            ],
        }
    }

    pub fn prompt_tag_set(name: &str, key: &str, value: &str) -> Self {
        Self {
            event: event(E::PromptTag, A::Set),
            data: vec![
                ("name", name.into()),
                ("key", key.into()),
                ("value", value.into()),
            ],
        }
    }

    pub fn prompt_tag_deleted(name: &str, key: &str) -> Self {
        Self {
            event: event(E::PromptTag, A::Deleted),
            data: vec![("name", name.into()), ("key", key.into())],
        }
    }

    /// The reference's example payload of `event` (`<Payload>.example()`), sent by `test`.
    pub fn example(ev: WebhookEvent) -> Self {
        let kv = || vec![("example_key".to_owned(), "example_value".to_owned())];
        let model = "example_model";
        let prompt = "example_prompt";
        match (ev.entity(), ev.action()) {
            (E::RegisteredModel, _) => {
                Self::registered_model_created(model, &kv(), "An example registered model")
            }
            (E::ModelVersion, _) => Self::model_version_created(
                model,
                "1",
                "models:/123",
                Some("abcd1234abcd5678".into()),
                &kv(),
                Some("An example model version".into()),
            ),
            (E::ModelVersionTag, A::Set) => {
                Self::version_tag_set(false, model, "1", "example_key", "example_value")
            }
            (E::ModelVersionTag, _) => Self::version_tag_deleted(false, model, "1", "example_key"),
            (E::ModelVersionAlias, A::Created) => {
                Self::alias_created(false, model, "example_alias", "1")
            }
            (E::ModelVersionAlias, _) => Self::alias_deleted(false, model, "example_alias"),
            (E::Prompt, _) => Self::prompt_created(prompt, &kv(), "An example prompt"),
            (E::PromptVersion, _) => Self::prompt_version_created(
                prompt,
                "1",
                Some("Hello {{name}}!".into()),
                &kv(),
                Some("An example prompt version".into()),
            ),
            (E::PromptTag, A::Set) => Self::prompt_tag_set(prompt, "example_key", "example_value"),
            (E::PromptTag, _) => Self::prompt_tag_deleted(prompt, "example_key"),
            (E::PromptVersionTag, A::Set) => {
                Self::version_tag_set(true, prompt, "1", "example_key", "example_value")
            }
            (E::PromptVersionTag, _) => Self::version_tag_deleted(true, prompt, "1", "example_key"),
            (E::PromptAlias, A::Created) => Self::alias_created(true, prompt, "example_alias", "1"),
            (E::PromptAlias, _) => Self::alias_deleted(true, prompt, "example_alias"),
            (E::BudgetPolicy, _) => Self::budget_policy_exceeded(&BudgetExceeded {
                budget_policy_id: "bp-abc123",
                budget_amount: 100.0,
                current_spend: 105.5,
                duration_unit: "MONTHS",
                duration_value: 1,
                target_scope: "ENDPOINT",
                workspace: "default",
                target_value: Some("ep-abc123"),
                window_start: 1_704_067_200_000,
            }),
        }
    }

    /// A budget's window reached its limit (alerting policies only).
    pub fn budget_policy_exceeded(b: &BudgetExceeded<'_>) -> Self {
        let float = |v: f64| Value::Number(crate::pyjson::float_repr(v));
        Self {
            event: event(E::BudgetPolicy, A::Exceeded),
            data: vec![
                ("budget_policy_id", b.budget_policy_id.into()),
                ("budget_unit", "USD".into()),
                ("budget_amount", float(b.budget_amount)),
                ("current_spend", float(b.current_spend)),
                ("duration_unit", b.duration_unit.into()),
                (
                    "duration_value",
                    Value::Number(b.duration_value.to_string()),
                ),
                ("target_scope", b.target_scope.into()),
                ("workspace", b.workspace.into()),
                ("target_value", b.target_value.map(str::to_owned).into()),
                ("window_start", Value::Number(b.window_start.to_string())),
            ],
        }
    }

    /// The envelope sent to receivers, `timestamp` being the event's time in microseconds
    /// since the Unix epoch.
    pub fn envelope(&self, timestamp_micros: i64) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"entity\": ");
        push_str(&mut out, self.event.entity().as_str());
        out.push_str(", \"action\": ");
        push_str(&mut out, self.event.action().as_str());
        out.push_str(", \"timestamp\": ");
        push_str(&mut out, &iso_utc(timestamp_micros));
        out.push_str(", \"data\": ");
        push_object(
            &mut out,
            self.data.iter().map(|(k, v)| (*k, v)),
            |out, v| match v {
                Value::Null => out.push_str("null"),
                Value::Str(s) => push_str(out, s),
                Value::Number(n) => out.push_str(n),
                Value::Map(m) => {
                    push_object(out, m.iter().map(|(k, v)| (k.as_str(), v)), |o, v| {
                        push_str(o, v)
                    })
                }
            },
        );
        out.push('}');
        out
    }
}

fn push_object<'a, V: 'a>(
    out: &mut String,
    items: impl Iterator<Item = (&'a str, &'a V)>,
    value: impl Fn(&mut String, &V),
) {
    out.push('{');
    for (i, (k, v)) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_str(out, k);
        out.push_str(": ");
        value(out, v);
    }
    out.push('}');
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn push_str(out: &mut String, s: &str) {
    crate::pyjson::push_string(out, s, true);
}

/// `datetime.now(timezone.utc).isoformat()`: `2025-01-02T03:04:05.123456+00:00`, the fraction
/// left out when it is zero.
pub fn iso_utc(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:06}+00:00")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_python_isoformat() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            iso_utc(1_735_787_045_123_456),
            "2025-01-02T03:04:05.123456+00:00"
        );
        assert_eq!(
            iso_utc(951_782_400_000_001),
            "2000-02-29T00:00:00.000001+00:00"
        );
    }

    #[test]
    fn envelope_matches_json_dumps() {
        let e = Event::registered_model_created("m\u{e9}\"x", &[("k".into(), "v\n".into())], "");
        // json.dumps({"entity": "registered_model", "action": "created",
        //   "timestamp": "1970-01-01T00:00:00+00:00",
        //   "data": {"name": "m\u00e9\"x", "tags": {"k": "v\n"}, "description": ""}})
        assert_eq!(
            e.envelope(0),
            "{\"entity\": \"registered_model\", \"action\": \"created\", \"timestamp\": \
             \"1970-01-01T00:00:00+00:00\", \"data\": {\"name\": \"m\\u00e9\\\"x\", \"tags\": \
             {\"k\": \"v\\n\"}, \"description\": \"\"}}"
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&e.envelope(1_000)).expect("valid JSON");
        assert_eq!(parsed["data"]["name"], "m\u{e9}\"x");
        assert_eq!(parsed["timestamp"], "1970-01-01T00:00:00.001000+00:00");
    }

    #[test]
    fn astral_characters_become_surrogate_pairs() {
        let mut s = String::new();
        push_str(&mut s, "\u{1F600}");
        assert_eq!(s, "\"\\ud83d\\ude00\"");
    }

    #[test]
    fn every_event_has_a_parseable_example() {
        for ev in WebhookEvent::all() {
            let example = Event::example(ev);
            assert_eq!(example.event, ev);
            let v: serde_json::Value =
                serde_json::from_str(&example.envelope(0)).expect("valid JSON");
            assert_eq!(v["entity"], ev.entity().as_str());
            assert_eq!(v["action"], ev.action().as_str());
            assert!(v["data"].is_object(), "{ev}");
        }
        let mv = Event::example(
            WebhookEvent::new(WebhookEntity::ModelVersion, WebhookAction::Created).expect("valid"),
        );
        let v: serde_json::Value = serde_json::from_str(&mv.envelope(0)).expect("json");
        assert_eq!(
            v["data"],
            serde_json::json!({
                "name": "example_model", "version": "1", "source": "models:/123",
                "run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"},
                "description": "An example model version"
            })
        );
    }
}
