//! A circuit breaker per model: after [`FAILURES_TO_OPEN`] failures in a row (the upstream's
//! 5xx or 429, a timeout, no connection — not the caller's own 4xx), calls skip the model for
//! [`COOLDOWN`]; then one call at a time probes it, and a success closes the circuit. A failing
//! provider is thus not hammered, and a fallback serves at once instead of after a timeout.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::CallError;

/// Failures in a row that open a model's circuit.
pub const FAILURES_TO_OPEN: u32 = 5;
/// How long an open circuit skips its model before a probe.
pub const COOLDOWN: Duration = Duration::from_secs(30);
/// Models tracked at most (the least useful are forgotten first: closed ones).
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Default)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// Whether an error counts against the model (the upstream's fault, not the request's).
pub fn counts(e: &CallError) -> bool {
    match e {
        CallError::Http { status, .. } => *status >= 500 || *status == 429,
        CallError::Keel(_) => false,
    }
}

/// The circuits of every model called, by model key.
#[derive(Debug)]
pub struct Breakers {
    circuits: Mutex<HashMap<String, Circuit>>,
    failures_to_open: u32,
    cooldown: Duration,
}

impl Default for Breakers {
    fn default() -> Self {
        Self::new(FAILURES_TO_OPEN, COOLDOWN)
    }
}

/// What the breaker says about calling a model now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Closed: call it.
    Call,
    /// Open until its cooldown ends: this call may probe it.
    Probe,
    /// Open: skip it for this long.
    Skip(Duration),
}

impl Breakers {
    pub fn new(failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            circuits: Mutex::new(HashMap::new()),
            failures_to_open,
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Circuit>> {
        self.circuits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `key` may be called at `now` (a probe is handed to one call at a time).
    pub fn admit(&self, key: &str, now: Instant) -> Admit {
        let mut circuits = self.lock();
        let Some(circuit) = circuits.get_mut(key) else {
            return Admit::Call;
        };
        match circuit.open_until {
            None => Admit::Call,
            Some(until) if now < until => Admit::Skip(until - now),
            Some(_) if circuit.probing => Admit::Skip(Duration::ZERO),
            Some(_) => {
                circuit.probing = true;
                Admit::Probe
            }
        }
    }

    /// A call of `key` succeeded: its circuit closes.
    pub fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }

    /// A call of `key` failed at `now` (with an error that [`counts`]).
    pub fn failed(&self, key: &str, now: Instant) {
        let mut circuits = self.lock();
        if circuits.len() >= MAX_TRACKED && !circuits.contains_key(key) {
            circuits.retain(|_, c| c.open_until.is_some());
            if circuits.len() >= MAX_TRACKED {
                return;
            }
        }
        let circuit = circuits.entry(key.to_owned()).or_default();
        circuit.failures = circuit.failures.saturating_add(1);
        if circuit.probing || circuit.failures >= self.failures_to_open {
            circuit.open_until = Some(now + self.cooldown);
            circuit.probing = false;
        }
    }

    /// A probe ended without a verdict (the call was not made): another call may probe.
    pub fn release(&self, key: &str) {
        if let Some(circuit) = self.lock().get_mut(key) {
            circuit.probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circuit_opens_after_failures_in_a_row_and_a_probe_closes_it() {
        let breakers = Breakers::new(3, Duration::from_secs(30));
        let t0 = Instant::now();
        for _ in 0..2 {
            breakers.failed("m", t0);
            assert_eq!(breakers.admit("m", t0), Admit::Call);
        }
        breakers.failed("m", t0);
        assert_eq!(
            breakers.admit("m", t0),
            Admit::Skip(Duration::from_secs(30))
        );
        let later = t0 + Duration::from_secs(31);
        assert_eq!(breakers.admit("m", later), Admit::Probe);
        assert_eq!(
            breakers.admit("m", later),
            Admit::Skip(Duration::ZERO),
            "one probe at a time"
        );
        breakers.failed("m", later);
        assert!(
            matches!(breakers.admit("m", later), Admit::Skip(_)),
            "a failed probe reopens"
        );
        let much_later = later + Duration::from_secs(31);
        assert_eq!(breakers.admit("m", much_later), Admit::Probe);
        breakers.succeeded("m");
        assert_eq!(breakers.admit("m", much_later), Admit::Call);
        assert_eq!(breakers.admit("other", t0), Admit::Call);
    }

    #[test]
    fn a_success_resets_the_count_and_only_upstream_faults_count() {
        let breakers = Breakers::new(2, Duration::from_secs(30));
        let t0 = Instant::now();
        breakers.failed("m", t0);
        breakers.succeeded("m");
        breakers.failed("m", t0);
        assert_eq!(breakers.admit("m", t0), Admit::Call);
        assert!(counts(&CallError::http(503, "x")));
        assert!(counts(&CallError::http(429, "x")));
        assert!(!counts(&CallError::http(400, "x")));
        assert!(!counts(&CallError::Keel(keel_core::Error::invalid("x"))));
    }
}
