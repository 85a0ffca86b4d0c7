//! Group commit for metric-only writes: `log-metric`, and `log-batch` with metrics only.
//!
//! These are the hot path of tracking (training loops log a point per step from many clients),
//! and written one transaction each they cost several round trips and a commit per point, and
//! every one rewrites the run's `latest_metrics` rows. So concurrent metric-only writes are
//! written together: the first to arrive becomes the *leader* and writes its own points at once;
//! writes that arrive meanwhile queue, and when the leader's transaction ends, the first of them
//! leads the next group, which holds everything queued by then. A few groups may be written at
//! once (one per four pool connections), so PostgreSQL can use more than one core. A group is one transaction (run
//! rows locked `FOR SHARE` in `run_key` order, one multi-row insert of every point, one upsert of
//! each `(run, key)`'s newest point), retried whole after a serialization failure or deadlock.
//! Each write is still acknowledged only after the commit that holds it.
//!
//! Each write keeps its own outcome: a write to a missing or deleted run fails alone. If a group
//! fails otherwise, each of its writes is written again alone, so an error reaches only the
//! request that caused it. Writing a metric point again is harmless (identical points are stored
//! once, and the latest value only moves forward), which also makes a write safe to repeat when
//! its group's leader was cancelled before it could report: the waiting writes then write alone.
//!
//! No task is spawned: the leader is the request that arrived first, and leadership passes from
//! request to request (see [`Leadership`]).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use keel_core::audit::scope::Claim;
use keel_core::{Metric, Result};
use sqlx::PgConnection;
use tokio::sync::oneshot;

use super::convert::{metric_value_to_db, supersedes_stored};
use super::error::PgResult;
use super::runs;
use super::{PgFuture, PostgresStore};

/// Most points one group writes; a write larger than this still forms a group of its own.
const MAX_GROUP_POINTS: usize = 20_000;

/// A metric-only write: the run and its points, and the audit entry of its request (taken on
/// the request's task: the group's transaction runs on its leader's).
#[derive(Debug, Clone)]
pub(crate) struct MetricWrite {
    pub run_id: String,
    pub metrics: Vec<Metric>,
    pub audit: Option<Arc<Claim>>,
}

/// What a queued write learns.
enum Outcome {
    /// Its group was written (or it failed).
    Done(Result<()>),
    /// The previous group is done: lead the next one (with the writes queued behind).
    Lead,
}

struct Queued {
    write: MetricWrite,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    /// How many requests lead a group now.
    leaders: usize,
}

/// The queue of metric-only writes waiting for a group to end.
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    /// How many groups may be written at once: two or more let PostgreSQL work on one group's
    /// inserts while another commits, on as many cores.
    max_leaders: usize,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Group commit for a pool of `pool_size` connections: a group at a time per four
    /// connections, so that other requests always find connections too.
    pub(crate) fn new(pool_size: u32) -> Self {
        Self {
            state: Mutex::default(),
            max_leaders: usize::try_from(pool_size / 4).unwrap_or(1).max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across an await or user code; a poisoned state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The current leader's duty to pass leadership on. Dropping it (when the group ends, or when
/// the leading request is cancelled mid-group) wakes the first queued write that still waits to
/// lead the next group, or marks that no group is being written.
struct Leadership<'a>(&'a GroupCommit);

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        while let Some(next) = state.queue.pop_front() {
            // A write whose request was cancelled no longer listens; its points are dropped
            // with it, as if the request had never arrived.
            if next.reply.send(Outcome::Lead).is_ok() {
                // It leads with its own copy of its write; the others stay queued for it.
                return;
            }
        }
        state.leaders = state.leaders.saturating_sub(1);
    }
}

/// A queued write's wait for its outcome. If the waiting request is cancelled (its client went
/// away), leadership it was handed, or is being handed, is passed on, so the queue never stalls.
struct Waiting<'a> {
    groups: &'a GroupCommit,
    outcome: oneshot::Receiver<Outcome>,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // After `close`, no leader can hand this write the lead any more; one that did before
        // left `Lead` in the channel.
        self.outcome.close();
        if let Ok(Outcome::Lead) = self.outcome.try_recv() {
            drop(Leadership(self.groups));
        }
    }
}

impl PostgresStore {
    /// Writes metric points to a run (checking the run is active) in a group with the other
    /// metric-only writes of this moment; returns once the group is committed.
    pub(crate) async fn write_metrics(&self, write: MetricWrite) -> Result<()> {
        let groups = &*self.groups;
        let queued = {
            let mut state = groups.lock();
            if state.leaders >= groups.max_leaders {
                let (reply, outcome) = oneshot::channel();
                state.queue.push_back(Queued {
                    write: write.clone(),
                    reply,
                });
                Some(outcome)
            } else {
                state.leaders += 1;
                None
            }
        };
        if let Some(outcome) = queued {
            let mut waiting = Waiting {
                groups,
                outcome,
                done: false,
            };
            let received = (&mut waiting.outcome).await;
            waiting.done = true;
            match received {
                Ok(Outcome::Done(result)) => return result,
                Ok(Outcome::Lead) => {}
                // The leader was cancelled before reporting: write alone (repeating is harmless).
                Err(_) => return self.write_metrics_alone(&write).await,
            }
        }
        let leadership = Leadership(groups);
        let mut group = vec![write];
        let mut replies = Vec::new();
        {
            let mut state = groups.lock();
            let mut points = group[0].metrics.len();
            while let Some(next) = state.queue.front() {
                if points + next.write.metrics.len() > MAX_GROUP_POINTS {
                    break;
                }
                points += next.write.metrics.len();
                if let Some(next) = state.queue.pop_front() {
                    group.push(next.write);
                    replies.push(next.reply);
                }
            }
        }
        let results = self.write_group(&group).await;
        // The next group can start while this one's replies go out.
        drop(leadership);
        for (write, result) in group.iter().zip(&results) {
            if let (Some(claim), Ok(())) = (&write.audit, result) {
                claim.committed();
            }
        }
        let mut results = results.into_iter();
        let own = results.next().unwrap_or(Ok(()));
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(Outcome::Done(result));
        }
        own
    }

    /// Writes a group in one transaction; one result per write, in order.
    async fn write_group(&self, group: &[MetricWrite]) -> Vec<Result<()>> {
        if let [single] = group {
            return vec![self.write_metrics_alone(single).await];
        }
        // Identical points are stored once. A plain insert costs PostgreSQL less than one with
        // ON CONFLICT, and a group rarely repeats a point that is already stored, so that comes
        // first; if it fails (a unique violation: some point was stored before), the group is
        // written again with ON CONFLICT DO NOTHING.
        if let Ok(results) = self.write_once(group, None, &plain_group).await {
            return results;
        }
        match self
            .write_with(group, None, |c, g| {
                Box::pin(write_group_in(c, g, Insert::SkipStored))
            })
            .await
        {
            Ok(results) => results,
            // A failure that is not one write's own: write each alone, so that the error
            // reaches only the write that causes it.
            Err(_) => {
                let mut results = Vec::with_capacity(group.len());
                for w in group {
                    results.push(self.write_metrics_alone(w).await);
                }
                results
            }
        }
    }

    /// One write in a transaction of its own.
    async fn write_metrics_alone(&self, write: &MetricWrite) -> Result<()> {
        self.write_with(write, write.audit.as_deref(), |c, w| {
            Box::pin(async move {
                let (run_key, _) = runs::require_active(c, &w.run_id, runs::RunLock::Share).await?;
                runs::insert_metrics(c, run_key, &w.metrics).await
            })
        })
        .await
    }
}

/// A group's transaction with a plain insert.
fn plain_group<'c>(
    conn: &'c mut PgConnection,
    group: &'c [MetricWrite],
) -> PgFuture<'c, Vec<Result<()>>> {
    Box::pin(write_group_in(conn, group, Insert::Plain))
}

/// How a group inserts its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Insert {
    /// A plain insert, which fails if any point is already stored.
    Plain,
    /// `ON CONFLICT DO NOTHING`.
    SkipStored,
}

/// The transaction of a group: lock the runs, then insert every point and move each
/// `(run, key)`'s latest value, skipping (and failing) writes to runs that are not active.
async fn write_group_in(
    conn: &mut PgConnection,
    group: &[MetricWrite],
    insert: Insert,
) -> PgResult<Vec<Result<()>>> {
    let mut run_ids: Vec<&str> = group.iter().map(|w| w.run_id.as_str()).collect();
    run_ids.sort_unstable();
    run_ids.dedup();
    // Parent rows first, in key order, as every writer locks them.
    let found: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT run_uuid, run_key, lifecycle_stage FROM runs WHERE run_uuid = ANY($1) \
         ORDER BY run_key FOR SHARE",
    )
    .bind(&run_ids)
    .fetch_all(&mut *conn)
    .await?;
    let runs: HashMap<&str, (i64, &str)> = found
        .iter()
        .map(|(id, key, stage)| (id.as_str(), (*key, stage.as_str())))
        .collect();

    let mut results = Vec::with_capacity(group.len());
    // The audit entries of the writes that will commit.
    let mut entries = Vec::new();
    // (run_key, point) of every point to write, and each (run, key)'s newest point.
    let mut points: Vec<(i64, &Metric)> = Vec::new();
    let mut newest: HashMap<(i64, &str), &Metric> = HashMap::new();
    for w in group {
        let run_key = match runs.get(w.run_id.as_str()) {
            Some((run_key, "active")) => *run_key,
            Some((_, stage)) => {
                results.push(Err(runs::not_active(&w.run_id, stage)));
                continue;
            }
            None => {
                results.push(Err(runs::not_found(&w.run_id)));
                continue;
            }
        };
        results.push(Ok(()));
        if let Some(claim) = &w.audit {
            entries.push(claim.row());
        }
        for m in &w.metrics {
            points.push((run_key, m));
            match newest.entry((run_key, m.key.as_str())) {
                Entry::Occupied(mut e) if supersedes_stored(m, e.get()) => {
                    e.insert(m);
                }
                Entry::Occupied(_) => {}
                Entry::Vacant(e) => {
                    e.insert(m);
                }
            }
        }
    }
    super::audit::insert_entries(conn, &entries).await?;
    if points.is_empty() {
        return Ok(results);
    }
    let mut points: Vec<(i64, &Metric, f64, i16)> = points
        .into_iter()
        .map(|(k, m)| {
            let (value, is_nan) = metric_value_to_db(m.value);
            (k, m, value, is_nan)
        })
        .collect();
    // Primary-key order: (run_key, key, timestamp, step, value, is_nan).
    points.sort_by(|(ka, a, av, an), (kb, b, bv, bn)| {
        (ka, &a.key, a.timestamp, a.step)
            .cmp(&(kb, &b.key, b.timestamp, b.step))
            .then_with(|| av.total_cmp(bv))
            .then_with(|| an.cmp(bn))
    });
    // A point written twice in the group is one row (PostgreSQL compares values with `=`, as
    // here: 0 and -0 are the same point).
    points.dedup_by(|(kb, b, bv, bn), (ka, a, av, an)| {
        (ka, &a.key, a.timestamp, a.step, an) == (kb, &b.key, b.timestamp, b.step, bn) && av == bv
    });
    let on_conflict = match insert {
        Insert::Plain => "",
        Insert::SkipStored => " ON CONFLICT DO NOTHING",
    };
    sqlx::query(&format!(
        "INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan, model_id, \
         dataset_name, dataset_digest) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], \
             $5::double precision[], $6::smallint[], $7::text[], $8::text[], $9::text[]){on_conflict}"
    ))
    .bind(points.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.1.key.as_str()).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.1.step).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.1.timestamp).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.2).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.3).collect::<Vec<_>>())
    .bind(
        points
            .iter()
            .map(|p| p.1.model_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        points
            .iter()
            .map(|p| p.1.dataset_name.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        points
            .iter()
            .map(|p| p.1.dataset_digest.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;

    let mut latest: Vec<((i64, &str), &Metric)> = newest.into_iter().collect();
    latest.sort_by(|a, b| a.0.cmp(&b.0));
    let stored: Vec<(f64, i16)> = latest
        .iter()
        .map(|(_, m)| metric_value_to_db(m.value))
        .collect();
    sqlx::query(
        "INSERT INTO latest_metrics (run_key, key, step, timestamp, value, is_nan) \
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], \
             $5::double precision[], $6::smallint[]) \
         ON CONFLICT (run_key, key) DO UPDATE SET step = excluded.step, \
         timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan \
         WHERE (excluded.step, excluded.timestamp, excluded.value) > \
               (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
    )
    .bind(latest.iter().map(|((k, _), _)| *k).collect::<Vec<_>>())
    .bind(latest.iter().map(|((_, key), _)| *key).collect::<Vec<_>>())
    .bind(latest.iter().map(|(_, m)| m.step).collect::<Vec<_>>())
    .bind(latest.iter().map(|(_, m)| m.timestamp).collect::<Vec<_>>())
    .bind(stored.iter().map(|(v, _)| *v).collect::<Vec<_>>())
    .bind(stored.iter().map(|(_, n)| *n).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(results)
}

/// Whether a `LogBatch` is a metric-only write that may join a group.
pub(crate) fn is_metric_only(b: &keel_core::store::LogBatch) -> bool {
    b.params.is_empty() && b.tags.is_empty() && b.run_name.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_passes_to_the_first_write_still_waiting() {
        let groups = GroupCommit::new(4);
        assert_eq!(groups.max_leaders, 1);
        assert_eq!(GroupCommit::new(10).max_leaders, 2);
        assert_eq!(GroupCommit::new(1).max_leaders, 1);
        groups.lock().leaders = 1;
        let write = MetricWrite {
            run_id: "r".into(),
            metrics: Vec::new(),
            audit: None,
        };
        let (gone, gone_rx) = oneshot::channel();
        drop(gone_rx); // a cancelled request
        let (next, mut next_rx) = oneshot::channel();
        let (later, mut later_rx) = oneshot::channel();
        for reply in [gone, next, later] {
            groups.lock().queue.push_back(Queued {
                write: write.clone(),
                reply,
            });
        }
        drop(Leadership(&groups));
        assert!(matches!(next_rx.try_recv(), Ok(Outcome::Lead)));
        assert!(
            later_rx.try_recv().is_err(),
            "still queued for the new leader"
        );
        let state = groups.lock();
        assert_eq!(state.leaders, 1);
        assert_eq!(state.queue.len(), 1);
        drop(state);

        // A write handed the lead whose request is then cancelled passes it on.
        let (after, mut after_rx) = oneshot::channel();
        groups.lock().queue.push_back(Queued {
            write: write.clone(),
            reply: after,
        });
        let cancelled = Waiting {
            groups: &groups,
            outcome: later_rx,
            done: false,
        };
        drop(Leadership(&groups)); // hands `later` the lead
        drop(cancelled); // ...whose request is gone
        assert!(matches!(after_rx.try_recv(), Ok(Outcome::Lead)));
        assert_eq!(groups.lock().leaders, 1);

        // The last leader leaves nobody leading.
        groups.lock().queue.clear();
        drop(Leadership(&groups));
        assert_eq!(groups.lock().leaders, 0);
    }
}
