//! The trace service: spans from OTLP exporters and trace info from the client's
//! `StartTraceV3`, stored in whichever order they come, and read back whole.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use super::assessments::Assessment;
use super::entities::{TraceId, TraceSpan, TraceState};
use super::info::{TraceEndV2, TraceInfo, TraceStartV2, trace_tags};
use super::store::{CompleteTrace, TraceSpans, TraceStore, trace_artifact_location};
use super::translate::translate;
use crate::clock::{Clock, SystemClock};
use crate::entities::{Experiment, LifecycleStage};
use crate::error::{Error, Result};
use crate::tracking::Tracking;

/// How long a read of a trace waits for spans the client says are still on their way.
const COMPLETE_WAIT: Duration = Duration::from_secs(3);
const COMPLETE_POLL: Duration = Duration::from_millis(250);
/// Spans read per query when a whole trace is loaded.
const SPAN_PAGE: u64 = 1_000;

/// A resource's attributes, shared by every span of the resource (never copied per span).
pub type Resource = Arc<BTreeMap<String, String>>;

/// A span as an exporter sent it, with its resource's attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingSpan {
    pub span: TraceSpan,
    pub resource: Resource,
}

/// The most bytes of resource attributes one export may copy into trace tags, summed over the
/// traces it creates: the size of the largest export body, so what a request makes the server
/// store is bounded by what it sent.
pub const MAX_RESOURCE_TAG_BYTES_PER_EXPORT: usize = 20 * 1024 * 1024;

/// Groups spans by trace (in first-seen order, linear in the number of spans), mapping their
/// attributes onto MLflow's, and checks the resource attributes copied into trace tags stay
/// within [`MAX_RESOURCE_TAG_BYTES_PER_EXPORT`].
fn group_by_trace(spans: Vec<IncomingSpan>) -> Result<Vec<TraceSpans>> {
    let mut traces: Vec<TraceSpans> = Vec::new();
    let mut index: HashMap<TraceId, usize> = HashMap::with_capacity(spans.len());
    for IncomingSpan { mut span, resource } in spans {
        translate(&mut span);
        match index.entry(span.trace_id.clone()) {
            Entry::Occupied(at) => traces[*at.get()].spans.push(span),
            Entry::Vacant(slot) => {
                slot.insert(traces.len());
                traces.push(TraceSpans {
                    trace_id: span.trace_id.clone(),
                    spans: vec![span],
                    resource,
                });
            }
        }
    }
    let mut sizes: HashMap<*const BTreeMap<String, String>, usize> = HashMap::new();
    let copied = traces.iter().fold(0usize, |sum, t| {
        let size = *sizes
            .entry(Arc::as_ptr(&t.resource))
            .or_insert_with(|| super::info::resource_tag_bytes(&t.resource));
        sum.saturating_add(size)
    });
    if copied > MAX_RESOURCE_TAG_BYTES_PER_EXPORT {
        return Err(Error::invalid(format!(
            "The export's resource attributes would be copied into the tags of {} traces, \
             {copied} bytes in all, over the limit of {MAX_RESOURCE_TAG_BYTES_PER_EXPORT}; send \
             smaller resource attributes or fewer traces per export.",
            traces.len()
        )));
    }
    Ok(traces)
}

/// A trace with its spans (root first) and its assessments (oldest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub info: TraceInfo,
    pub spans: Vec<TraceSpan>,
    pub assessments: Vec<Assessment>,
}

/// A complete trace's info and assessments, with its spans read page by page (so a trace of tens
/// of thousands of spans is never held in memory whole).
pub struct TraceReader {
    pub info: TraceInfo,
    pub assessments: Vec<Assessment>,
    store: Arc<dyn TraceStore>,
    next_offset: u64,
    done: bool,
}

impl TraceReader {
    /// The next page of spans (root first, then by start time); `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<TraceSpan>>> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .store
            .get_spans(&self.info.trace_id, self.next_offset, SPAN_PAGE)
            .await?;
        self.next_offset += page.len() as u64;
        self.done = (page.len() as u64) < SPAN_PAGE;
        Ok((!page.is_empty()).then_some(page))
    }
}

#[derive(Clone)]
pub struct Traces {
    pub(super) store: Arc<dyn TraceStore>,
    tracking: Tracking,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Traces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces").finish_non_exhaustive()
    }
}

pub fn trace_not_found(trace_id: &str) -> Error {
    Error::not_found(format!("Trace with ID '{trace_id}' not found."))
}

/// A `tr-<hex>` trace ID; a malformed one cannot name a stored trace, so it is not found.
pub fn parse_trace_id(trace_id: &str) -> Result<TraceId> {
    TraceId::parse(trace_id).map_err(|_| trace_not_found(trace_id))
}

impl Traces {
    pub fn new(store: Arc<dyn TraceStore>, tracking: Tracking) -> Self {
        Self::with_clock(store, tracking, Arc::new(SystemClock))
    }

    pub fn with_clock(
        store: Arc<dyn TraceStore>,
        tracking: Tracking,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            tracking,
            clock,
        }
    }

    pub(crate) fn store(&self) -> &dyn TraceStore {
        self.store.as_ref()
    }

    pub(crate) fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The experiment traces go to; it must exist and be active.
    async fn active_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let experiment = self.tracking.get_experiment(experiment_id).await?;
        if experiment.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {experiment_id} must be in the 'active' state to log traces. \
                 Current state is {}.",
                experiment.lifecycle_stage.as_str()
            )));
        }
        Ok(experiment)
    }

    /// Stores spans an exporter sent for `experiment_id`, after mapping other conventions onto
    /// MLflow's attributes; the spans of all traces land together or not at all.
    pub async fn ingest(&self, experiment_id: &str, spans: Vec<IncomingSpan>) -> Result<()> {
        if spans.is_empty() {
            return Ok(());
        }
        let experiment = self.active_experiment(experiment_id).await?;
        // Mapping attributes is CPU work proportional to the batch: off the async workers.
        let traces = tokio::task::spawn_blocking(move || group_by_trace(spans))
            .await
            .map_err(|_| Error::internal("span grouping failed"))??;
        self.store
            .log_spans(
                &experiment.experiment_id,
                &experiment.artifact_location,
                traces,
            )
            .await
    }

    /// Stores whole traces the server itself produced (each a client-style info and all its
    /// spans) in `experiment_id`, in one store write: the same result as ingesting the spans
    /// and then starting each trace, without reading anything back. A trace whose ID is already
    /// stored is skipped; returns how many were written.
    pub async fn record_complete(
        &self,
        experiment_id: &str,
        traces: Vec<(TraceInfo, Vec<TraceSpan>)>,
    ) -> Result<u64> {
        if traces.is_empty() {
            return Ok(0);
        }
        let experiment = self.active_experiment(experiment_id).await?;
        let location = experiment.artifact_location;
        // CPU work proportional to the batch: off the async workers.
        let complete = tokio::task::spawn_blocking(move || {
            traces
                .into_iter()
                .map(|(info, mut spans)| {
                    spans.iter_mut().for_each(translate);
                    let artifacts = trace_artifact_location(&location, &info.trace_id);
                    CompleteTrace {
                        info: TraceInfo::of_complete_trace(info, &spans, artifacts),
                        spans,
                    }
                })
                .collect()
        })
        .await
        .map_err(|_| Error::internal("preparing traces failed"))?;
        self.store
            .insert_complete_traces(&experiment.experiment_id, complete)
            .await
    }

    /// Stores the client's info of a trace (merged with what its spans already said) and
    /// returns what is stored, with the tags telling the client where spans live.
    pub async fn start_trace(&self, mut info: TraceInfo) -> Result<TraceInfo> {
        let experiment = self.active_experiment(&info.experiment_id).await?;
        info.tags.insert(
            trace_tags::ARTIFACT_LOCATION.to_owned(),
            trace_artifact_location(&experiment.artifact_location, &info.trace_id),
        );
        self.store.start_trace(info).await
    }

    /// The v2 `StartTrace`: a new trace, in progress, named with a random 32-hex-digit ID as the
    /// reference names v2 traces.
    pub async fn start_trace_v2(&self, start: TraceStartV2) -> Result<TraceInfo> {
        crate::tracking::required("experiment_id", &start.experiment_id)?;
        let info = TraceInfo {
            trace_id: TraceId::parse(&crate::names::new_uuid())?,
            experiment_id: start.experiment_id,
            client_request_id: None,
            request_time_ms: start.request_time_ms,
            execution_duration_ms: None,
            state: TraceState::InProgress,
            request_preview: None,
            response_preview: None,
            metadata: start.metadata,
            tags: start.tags,
        };
        self.start_trace(info).await
    }

    /// The v2 `EndTrace` of a trace ([`TraceInfo::end`]).
    pub async fn end_trace_v2(&self, trace_id: &str, end: TraceEndV2) -> Result<TraceInfo> {
        let id = Self::parse_id(trace_id)?;
        self.store.end_trace(&id, end).await
    }

    /// A required trace ID ([`parse_trace_id`]).
    pub(super) fn parse_id(trace_id: &str) -> Result<TraceId> {
        crate::tracking::required("trace_id", trace_id)?;
        parse_trace_id(trace_id)
    }

    pub async fn get_trace_info(&self, trace_id: &str) -> Result<TraceInfo> {
        let id = Self::parse_id(trace_id)?;
        self.store
            .get_trace_info(&id)
            .await?
            .ok_or_else(|| trace_not_found(trace_id))
    }

    /// The trace with its spans to read page by page. Unless `allow_partial`, a trace whose
    /// client said it has more spans than are stored yet (spans and info race when the client
    /// logs asynchronously) is waited for a few seconds and then reported as not found, as the
    /// reference does.
    pub async fn read_trace(&self, trace_id: &str, allow_partial: bool) -> Result<TraceReader> {
        let id = Self::parse_id(trace_id)?;
        let deadline = tokio::time::Instant::now() + COMPLETE_WAIT;
        loop {
            let info = self
                .store
                .get_trace_info(&id)
                .await?
                .ok_or_else(|| trace_not_found(trace_id))?;
            let stored = self.store.count_spans(&id).await?;
            if allow_partial || info.is_complete(stored) {
                let assessments = self.store.list_assessments(&[id]).await?;
                return Ok(TraceReader {
                    info,
                    assessments,
                    store: self.store.clone(),
                    next_offset: 0,
                    done: false,
                });
            }
            if tokio::time::Instant::now() + COMPLETE_POLL > deadline {
                return Err(Error::not_found(format!(
                    "Trace with ID '{trace_id}' is not fully exported yet, please try again later."
                )));
            }
            tokio::time::sleep(COMPLETE_POLL).await;
        }
    }

    /// The complete traces among `trace_ids`, in the order asked; missing and incomplete ones
    /// are left out.
    pub async fn batch_get(&self, trace_ids: &[String]) -> Result<Vec<Trace>> {
        let mut out = Vec::with_capacity(trace_ids.len());
        for trace_id in trace_ids {
            let Ok(id) = TraceId::parse(trace_id) else {
                continue;
            };
            if let Some(trace) = self.load_complete(&id).await? {
                out.push(trace);
            }
        }
        Ok(out)
    }

    /// The infos of `trace_ids` that exist, in the order asked.
    pub async fn batch_get_infos(&self, trace_ids: &[String]) -> Result<Vec<TraceInfo>> {
        let mut out = Vec::with_capacity(trace_ids.len());
        for trace_id in trace_ids {
            let Ok(id) = TraceId::parse(trace_id) else {
                continue;
            };
            if let Some(info) = self.store.get_trace_info(&id).await? {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// The trace with all its spans if it is complete (as many spans stored as its client
    /// said it has); `None` when it is missing or incomplete.
    async fn load_complete(&self, id: &TraceId) -> Result<Option<Trace>> {
        let Some(info) = self.store.get_trace_info(id).await? else {
            return Ok(None);
        };
        let stored = self.store.count_spans(id).await?;
        if !info.is_complete(stored) {
            return Ok(None);
        }
        let spans = self.all_spans(id, stored).await?;
        let assessments = self
            .store
            .list_assessments(std::slice::from_ref(id))
            .await?;
        Ok(Some(Trace {
            info,
            spans,
            assessments,
        }))
    }

    async fn all_spans(&self, id: &TraceId, expected: u64) -> Result<Vec<TraceSpan>> {
        let mut spans = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        loop {
            let page = self
                .store
                .get_spans(id, spans.len() as u64, SPAN_PAGE)
                .await?;
            let last = (page.len() as u64) < SPAN_PAGE;
            spans.extend(page);
            if last {
                return Ok(spans);
            }
        }
    }
}
