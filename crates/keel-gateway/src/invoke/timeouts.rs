//! Per-model time limits, set on an endpoint by tags: `keel.timeout_seconds` for every model of
//! the endpoint, `keel.timeout_seconds.<model>` for one provider model (its `model_name`, which
//! wins). A limit bounds one call to that model, a stream included, in place of the server's
//! `gateway_call_timeout`; a call that runs out answers 504 and falls over to the next model
//! as any upstream failure does (and counts for its circuit breaker).

use std::collections::BTreeMap;
use std::time::Duration;

/// The endpoint-wide tag; `<TAG>.<model>` names one model.
pub const TAG: &str = "keel.timeout_seconds";
/// The longest limit a tag may set.
pub const MAX: Duration = Duration::from_secs(3_600);

fn parse(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds >= 0.001 && seconds <= MAX.as_secs_f64()).then(|| Duration::from_secs_f64(seconds))
}

/// The limit `tags` set for calls to `model` (a malformed or out-of-range value sets none).
pub fn of(tags: &BTreeMap<String, String>, model: &str) -> Option<Duration> {
    tags.get(&format!("{TAG}.{model}"))
        .and_then(|v| parse(v))
        .or_else(|| tags.get(TAG).and_then(|v| parse(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_models_own_limit_wins_over_the_endpoints() {
        let tags = BTreeMap::from([
            (TAG.to_owned(), "30".to_owned()),
            (format!("{TAG}.slow-model"), "1.5".to_owned()),
            (format!("{TAG}.bad"), "soon".to_owned()),
        ]);
        assert_eq!(of(&tags, "slow-model"), Some(Duration::from_millis(1_500)));
        assert_eq!(of(&tags, "other"), Some(Duration::from_secs(30)));
        assert_eq!(
            of(&tags, "bad"),
            Some(Duration::from_secs(30)),
            "a bad value sets none"
        );
        for bad in ["0", "-1", "NaN", "inf", "3601", "1e20"] {
            let tags = BTreeMap::from([(TAG.to_owned(), bad.to_owned())]);
            assert_eq!(of(&tags, "m"), None, "{bad}");
        }
    }
}
