//! One audit entry as Keel records it: who did what to which resource, how it ended, and the
//! request it came in, encoded as RFC 8785 canonical JSON (the exact bytes of its Merkle leaf).

use serde::Serialize;

use crate::error::{Error, Result};

/// The version of the entry format, written into every entry.
pub const ENTRY_VERSION: u32 = 1;

/// What kind of event an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A request that changes state (or a read the operator asked to record).
    Request,
    /// An authorization decision that denied a request.
    Denial,
    /// A failed authentication (wrong password or token).
    Authentication,
    /// A change made from the command line against the database (`keel users`, `keel tokens`).
    Command,
    /// An event of Keel itself (e.g. entries pruned by retention).
    System,
}

/// How the recorded event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change committed (in the same transaction as this entry).
    Success,
    /// The request failed; nothing it asked for was written.
    Failure,
    /// Authentication or authorization refused it.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            "denied" => Ok(Self::Denied),
            other => Err(Error::invalid(format!(
                "Invalid outcome '{other}': expected success, failure or denied."
            ))),
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The account's ID, when authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `user`, `service_account`, `anonymous` (no account yet, or a public route), `operator`
    /// (the command line) or `system` (Keel itself, e.g. retention).
    pub kind: &'static str,
    /// The account's name as presented or resolved (what searches by actor match).
    pub name: String,
}

impl Actor {
    /// Keel itself, for what it does on its own (e.g. pruning by retention).
    pub fn keel() -> Self {
        Self {
            id: None,
            kind: "system",
            name: "keel".to_owned(),
        }
    }

    pub fn anonymous() -> Self {
        Self {
            id: None,
            kind: "anonymous",
            name: String::new(),
        }
    }
}

/// The resource acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// The resource's ID (run ID, model name, `name/version`, ...), when the request names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource kind of the route table (`Run`, `RegisteredModel`, ...).
    pub kind: String,
}

/// The HTTP request an entry comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestFacts {
    /// SHA-256 of the request body, lowercase hex (absent for an empty body or a streamed
    /// artifact upload, whose content the artifact store holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
    /// The client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The request ID (the client's `X-Request-Id` when it sent a usable one).
    pub id: String,
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// One audit entry. Field order is the canonical (sorted) order, for readability only: the
/// encoding sorts keys itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// e.g. `runs.update`, from the route table.
    pub action: String,
    pub actor: Actor,
    /// Facts specific to the event (e.g. a gateway call's model and tokens), as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// MLflow's error code of a failed or denied request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub event: EventKind,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestFacts>,
    pub resource: Resource,
    /// When it happened, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// The same instant in milliseconds since the Unix epoch (what time-range searches use).
    #[serde(skip)]
    pub time_ms: i64,
    /// The entry format's version.
    pub v: u32,
    /// The workspace the request acted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

impl AuditRecord {
    /// A record of `event` at `time_ms` with the given outcome; the rest is filled by the caller.
    pub fn new(
        event: EventKind,
        time_ms: i64,
        actor: Actor,
        action: &str,
        resource: Resource,
        outcome: Outcome,
    ) -> Self {
        Self {
            action: action.to_owned(),
            actor,
            detail: None,
            error_code: None,
            event,
            outcome,
            request: None,
            resource,
            time: crate::clock::rfc3339_millis(time_ms),
            time_ms,
            v: ENTRY_VERSION,
            workspace: None,
        }
    }

    /// The row a store inserts: the canonical bytes plus the columns searches use.
    pub fn to_row(&self) -> Result<AuditRow> {
        Ok(AuditRow {
            time_ms: self.time_ms,
            actor: self.actor.name.clone(),
            action: self.action.clone(),
            resource_kind: self.resource.kind.clone(),
            resource_id: self.resource.id.clone().unwrap_or_default(),
            outcome: self.outcome,
            entry: self.canonical()?,
        })
    }

    /// The entry as RFC 8785 canonical JSON. Every field but `detail` is a string, a small
    /// integer or a struct of them, declared in sorted key order, and serde_json escapes
    /// strings as RFC 8785 does: such a record's plain serialization *is* canonical (the tests
    /// compare it with a canonicalizer's output). Only a record with arbitrary `detail` JSON
    /// goes through the canonicalizer, which sorts every object's keys.
    pub fn canonical(&self) -> Result<Vec<u8>> {
        let encoded = if self.detail.is_none() {
            serde_json::to_vec(self)
        } else {
            serde_json_canonicalizer::to_vec(self)
        };
        encoded.map_err(|e| Error::internal(format!("cannot encode an audit entry: {e}")))
    }
}

/// An entry as stored: its canonical bytes and the indexed columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub time_ms: i64,
    pub actor: String,
    pub action: String,
    pub resource_kind: String,
    /// Empty when the entry names no resource ID.
    pub resource_id: String,
    pub outcome: Outcome,
    /// RFC 8785 canonical JSON: the exact bytes of the entry's Merkle leaf.
    pub entry: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        let mut r = AuditRecord::new(
            EventKind::Request,
            1_764_800_000_123,
            Actor {
                id: Some("u1".into()),
                kind: "user",
                name: "alice\n\u{e9}".into(),
            },
            "runs.update",
            Resource {
                id: Some("r1".into()),
                kind: "Run".into(),
            },
            Outcome::Success,
        );
        r.detail = Some(serde_json::json!({"z": 1.5, "a": [1, "x"]}));
        r
    }

    proptest::proptest! {
        /// The fast serialization of a record without `detail` is byte for byte what an RFC 8785
        /// canonicalizer writes, whatever its strings hold (controls, quotes, backslashes,
        /// non-ASCII, DEL).
        #[test]
        fn the_plain_serialization_is_canonical(
            name in "\\PC*|[\\x00-\\x7f]{0,40}",
            action in ".{0,20}",
            id in proptest::option::of("[\\x00-\\x20\"\\\\/\\x7f-\\u{10ffff}]{0,20}"),
            path in "\\PC{0,40}",
            agent in proptest::option::of(".{0,30}"),
            time in 0i64..4_102_444_800_000,
        ) {
            let mut r = AuditRecord::new(
                EventKind::Request,
                time,
                Actor { id: id.clone(), kind: "user", name },
                &action,
                Resource { id, kind: "Run".into() },
                Outcome::Failure,
            );
            r.error_code = Some("RESOURCE_DOES_NOT_EXIST".into());
            r.workspace = Some(path.clone());
            r.request = Some(RequestFacts {
                body_sha256: None,
                client: Some("::1".into()),
                id: "r1".into(),
                method: "POST".into(),
                path,
                user_agent: agent,
            });
            let fast = r.to_row().expect("row").entry;
            let slow = serde_json_canonicalizer::to_vec(&r).expect("canonical");
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn entries_are_canonical_json_with_sorted_keys_and_no_whitespace() {
        let row = record().to_row().expect("row");
        let text = String::from_utf8(row.entry.clone()).expect("utf-8");
        assert!(text.starts_with(
            r#"{"action":"runs.update","actor":{"id":"u1","kind":"user","name":"alice\n"#
        ));
        assert!(text.contains(r#""detail":{"a":[1,"x"],"z":1.5}"#), "{text}");
        assert!(
            text.contains(r#""time":"2025-12-03T22:13:20.123Z""#),
            "{text}"
        );
        assert!(!text.contains("time_ms"));
        assert!(!text.contains('\n'));
        let reparsed: serde_json::Value = serde_json::from_slice(&row.entry).expect("json");
        assert_eq!(
            serde_json_canonicalizer::to_vec(&reparsed).expect("canonical"),
            row.entry
        );
        assert_eq!(row.resource_id, "r1");
        assert_eq!(row.actor, "alice\n\u{e9}");
    }
}
