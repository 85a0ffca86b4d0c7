//! Which model of an endpoint serves a call, as the reference chooses: with a traffic split,
//! one primary model drawn by weight for each request (weights in whole percent, as the
//! reference truncates them); otherwise the first primary model. With fallbacks, the chain is
//! the chosen primary then the fallbacks by `fallback_order` (unordered ones last), cut to
//! `max_attempts + 1` calls.

use keel_core::{Error, Result};

/// An endpoint name: letters, digits, `_`, `-` and `.` (the reference's rule).
pub fn check_endpoint_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid endpoint name '{name}'. Name can only contain letters, numbers, \
             underscores, hyphens, and dots."
        )))
    }
}

/// The index of the model a traffic split sends one request to, given the models' weights and
/// a uniform draw `u` in `[0, 1)`. Weights are truncated to whole percent (`0.005` is 0);
/// when every weight is 0 the models share the traffic equally (the reference fails then).
pub fn traffic_pick(weights: &[f64], u: f64) -> Option<usize> {
    if weights.is_empty() {
        return None;
    }
    let percents: Vec<u64> = weights
        .iter()
        .map(|w| {
            if w.is_finite() && *w > 0.0 {
                (w * 100.0) as u64
            } else {
                0
            }
        })
        .collect();
    let total: u64 = percents.iter().sum();
    if total == 0 {
        let n = weights.len();
        return Some(((u.clamp(0.0, 1.0) * n as f64) as usize).min(n - 1));
    }
    let target = u.clamp(0.0, 1.0) * total as f64;
    let mut seen = 0u64;
    for (i, p) in percents.iter().enumerate() {
        seen += p;
        if target < seen as f64 {
            return Some(i);
        }
    }
    percents.iter().rposition(|p| *p > 0)
}

/// The fallback models in the order they are tried: by `fallback_order`, those without one
/// last, ties in their given order. Items are `(fallback_order, model)`.
pub fn fallback_order<T>(mut fallbacks: Vec<(Option<i32>, T)>) -> Vec<T> {
    fallbacks.sort_by_key(|(order, _)| order.map_or((1, 0), |o| (0, o)));
    fallbacks.into_iter().map(|(_, m)| m).collect()
}

/// How many calls a fallback chain of one primary and `fallbacks` makes at most:
/// `max_attempts` (default: every fallback) plus the primary, no more than there are models.
pub fn max_calls(max_attempts: Option<i32>, fallbacks: usize) -> usize {
    let attempts = max_attempts
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(fallbacks);
    (attempts + 1).min(fallbacks + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_are_checked_as_the_reference_checks_them() {
        check_endpoint_name("chat-ep.v2_b").expect("valid");
        assert_eq!(
            check_endpoint_name("bad name!")
                .expect_err("invalid")
                .message,
            "Invalid endpoint name 'bad name!'. Name can only contain letters, numbers, \
             underscores, hyphens, and dots."
        );
        assert!(check_endpoint_name("").is_err());
        assert!(check_endpoint_name("gw/é").is_err());
    }

    #[test]
    fn a_traffic_split_draws_by_whole_percent() {
        let weights = [0.7, 0.3];
        assert_eq!(traffic_pick(&weights, 0.0), Some(0));
        assert_eq!(traffic_pick(&weights, 0.6999), Some(0));
        assert_eq!(traffic_pick(&weights, 0.7), Some(1));
        assert_eq!(traffic_pick(&weights, 0.999_999), Some(1));
        // 0.005 truncates to 0 percent: never drawn.
        let tiny = [1.0, 0.005];
        assert!((0..1000).all(|i| traffic_pick(&tiny, f64::from(i) / 1000.0) == Some(0)));
        // Drawn in proportion over a fine grid of draws.
        let counts = (0..10_000).fold([0u32; 3], |mut c, i| {
            let pick = traffic_pick(&[0.5, 0.25, 0.25], f64::from(i) / 10_000.0).expect("pick");
            c[pick] += 1;
            c
        });
        assert_eq!(counts, [5000, 2500, 2500]);
        assert_eq!(traffic_pick(&[0.0, 0.0], 0.75), Some(1));
        assert_eq!(traffic_pick(&[], 0.5), None);
    }

    #[test]
    fn fallbacks_go_by_their_order_and_attempts_are_capped() {
        let chain = fallback_order(vec![
            (None, "c"),
            (Some(1), "b"),
            (Some(0), "a"),
            (None, "d"),
        ]);
        assert_eq!(chain, ["a", "b", "c", "d"]);
        assert_eq!(max_calls(Some(1), 2), 2);
        assert_eq!(max_calls(Some(2), 2), 3);
        assert_eq!(max_calls(Some(9), 2), 3);
        assert_eq!(max_calls(None, 2), 3);
        assert_eq!(max_calls(Some(0), 2), 3);
    }
}
