//! The audit entry of the request in progress, travelling with the request's task so that the
//! store commits it in the same transaction as the request's write.
//!
//! The server's audit middleware runs each recorded request inside [`run`]. A store's write
//! path calls [`claim`] on the request's task before it starts its transaction: the claim holds
//! the entry encoded as a success, the store inserts it with the write, and after the commit it
//! calls [`Claim::committed`]. A request's first committed write carries its entry; writes after
//! it carry none. When the request ends without a committed write (it failed, or wrote nothing
//! to the database, like an artifact upload), the middleware records the entry itself with the
//! request's real outcome ([`Scope::committed`] tells it which case it is in).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::record::{Actor, AuditRecord, AuditRow, Outcome};

tokio::task_local! {
    static CURRENT: Arc<Scope>;
}

/// The audit state of one request.
#[derive(Debug)]
pub struct Scope {
    record: Mutex<AuditRecord>,
    committed: AtomicBool,
}

impl Scope {
    pub fn new(record: AuditRecord) -> Arc<Self> {
        Arc::new(Self {
            record: Mutex::new(record),
            committed: AtomicBool::new(false),
        })
    }

    /// Whether a store committed the entry with a write.
    pub fn committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }

    /// The record as it stands (the resource ID may have been filled in by the domain).
    pub fn record(&self) -> AuditRecord {
        self.lock().clone()
    }

    /// Sets the SHA-256 of the request's body, once it has been read.
    pub fn set_body_digest(&self, hex: String) {
        if let Some(request) = self.lock().request.as_mut() {
            request.body_sha256 = Some(hex);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AuditRecord> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `f` with `scope` as the current request's audit state.
pub async fn run<F: Future>(scope: Arc<Scope>, f: F) -> F::Output {
    CURRENT.scope(scope, f).await
}

/// Runs `f` outside the current request's audit entry: its writes (a gateway call's
/// reservation, say) commit without it, and the entry is recorded with the request's real
/// outcome when the request ends.
pub async fn unrecorded<F: Future>(f: F) -> F::Output {
    let done = Arc::new(Scope {
        record: Mutex::new(AuditRecord::new(
            super::record::EventKind::Request,
            0,
            Actor::anonymous(),
            "",
            super::record::Resource {
                id: None,
                kind: String::new(),
            },
            Outcome::Success,
        )),
        committed: AtomicBool::new(true),
    });
    CURRENT.scope(done, f).await
}

/// The entry a write about to start must commit with, if the current request has one that no
/// write has committed yet. `None` outside a recorded request.
pub fn claim() -> Option<Claim> {
    CURRENT
        .try_with(|scope| {
            if scope.committed() {
                return None;
            }
            // The entry commits as a success; should the commit fail, the request's own
            // outcome replaces this one when it is recorded after.
            let row = {
                let mut record = scope.lock();
                record.outcome = Outcome::Success;
                record.error_code = None;
                record.to_row()
            };
            match row {
                Ok(row) => Some(Claim {
                    scope: scope.clone(),
                    row,
                }),
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode the request's audit entry");
                    None
                }
            }
        })
        .ok()
        .flatten()
}

/// Names the resource a request creates (its ID is made by the domain), for its audit entry:
/// the entry then names the new resource instead of where it was created.
pub fn note_created(kind: &str, id: &str) {
    let _ = CURRENT.try_with(|scope| {
        let mut record = scope.lock();
        record.resource.kind = kind.to_owned();
        record.resource.id = Some(id.to_owned());
    });
}

/// Adds facts of the event to the current request's entry (a gateway call's decision: which
/// model served it, or which limit refused it).
pub fn note_detail(detail: serde_json::Value) {
    let _ = CURRENT.try_with(|scope| scope.lock().detail = Some(detail));
}

/// Names who acts, where only the handler learns it (a sign-in names its account).
pub fn note_actor(actor: Actor) {
    let _ = CURRENT.try_with(|scope| scope.lock().actor = actor);
}

/// A request's entry, to be inserted in the transaction of its write.
#[derive(Debug)]
pub struct Claim {
    scope: Arc<Scope>,
    row: AuditRow,
}

impl Claim {
    pub fn row(&self) -> &AuditRow {
        &self.row
    }

    /// Marks the entry as committed with the write (call only after the COMMIT succeeded).
    pub fn committed(&self) {
        self.scope.committed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{EventKind, Resource};

    fn scope() -> Arc<Scope> {
        Scope::new(AuditRecord::new(
            EventKind::Request,
            1,
            Actor::anonymous(),
            "runs.create",
            Resource {
                id: None,
                kind: "Experiment".into(),
            },
            Outcome::Failure,
        ))
    }

    #[tokio::test]
    async fn a_claim_is_a_success_and_only_the_first_committed_write_carries_the_entry() {
        assert!(claim().is_none(), "outside a request");
        let s = scope();
        run(s.clone(), async {
            note_created("Run", "run-1");
            let first = claim().expect("claim");
            assert_eq!(first.row().outcome, Outcome::Success);
            assert_eq!(first.row().resource_id, "run-1");
            assert_eq!(first.row().resource_kind, "Run");
            // Not committed yet (e.g. the transaction is retried): claimed again.
            let again = claim().expect("claim again");
            again.committed();
            assert!(claim().is_none());
        })
        .await;
        assert!(s.committed());
    }

    #[tokio::test]
    async fn unrecorded_writes_do_not_claim_the_requests_entry() {
        let s = scope();
        run(s.clone(), async {
            unrecorded(async { assert!(claim().is_none()) }).await;
            assert!(claim().is_some(), "the request's entry is still unclaimed");
        })
        .await;
        assert!(!s.committed());
    }
}
