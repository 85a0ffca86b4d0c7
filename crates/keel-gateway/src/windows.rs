//! Budget windows as the reference computes them: fixed UTC windows aligned to the epoch, so
//! every replica (and the reference) agrees on when a window starts and ends without sharing
//! state. Minutes, hours and days count from 1970-01-01; weeks from Sunday 1969-12-28; months
//! are calendar months counted from January 1970.

use chrono::{DateTime, Datelike, TimeZone, Utc};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Sunday 1969-12-28 00:00 UTC, where weekly windows are counted from.
const EPOCH_SUNDAY_MS: i64 = -4 * DAY_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
}

impl DurationUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minutes => "MINUTES",
            Self::Hours => "HOURS",
            Self::Days => "DAYS",
            Self::Weeks => "WEEKS",
            Self::Months => "MONTHS",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "MINUTES" => Self::Minutes,
            "HOURS" => Self::Hours,
            "DAYS" => Self::Days,
            "WEEKS" => Self::Weeks,
            "MONTHS" => Self::Months,
            _ => return None,
        })
    }
}

/// A budget's window length: `value` (at least 1) of `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetDuration {
    pub unit: DurationUnit,
    pub value: u32,
}

/// A window: `start_ms <= t < end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl BudgetDuration {
    /// The window holding the instant `now_ms`.
    pub fn window(&self, now_ms: i64) -> Window {
        let v = i64::from(self.value.max(1));
        let fixed = |origin: i64, length: i64| {
            let start = origin + (now_ms - origin).div_euclid(length) * length;
            Window {
                start_ms: start,
                end_ms: start + length,
            }
        };
        match self.unit {
            DurationUnit::Minutes => fixed(0, v * MINUTE_MS),
            DurationUnit::Hours => fixed(0, v * HOUR_MS),
            DurationUnit::Days => fixed(0, v * DAY_MS),
            DurationUnit::Weeks => fixed(EPOCH_SUNDAY_MS, 7 * v * DAY_MS),
            DurationUnit::Months => {
                let now = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
                let months = i64::from(now.year() - 1970) * 12 + i64::from(now.month0());
                let first = months.div_euclid(v) * v;
                Window {
                    start_ms: month_start_ms(first),
                    end_ms: month_start_ms(first + v),
                }
            }
        }
    }

    /// `1 hour`, `3 days`: as the reference names the window in its rejection.
    pub fn describe(&self) -> String {
        let unit = self.unit.as_str().to_lowercase();
        if self.value == 1 {
            format!("1 {}", unit.trim_end_matches('s'))
        } else {
            format!("{} {unit}", self.value)
        }
    }
}

/// 00:00 UTC on the first day of the month `months` after January 1970.
fn month_start_ms(months: i64) -> i64 {
    let year = 1970 + months.div_euclid(12);
    let month = months.rem_euclid(12) + 1;
    i32::try_from(year)
        .ok()
        .and_then(|y| Utc.with_ymd_and_hms(y, month as u32, 1, 0, 0, 0).single())
        .map_or(i64::MAX, |t| t.timestamp_millis())
}

/// The 429 a REJECT budget answers with, in the reference's words.
pub fn rejection_message(amount_usd: f64, duration: BudgetDuration, window: Window) -> String {
    let resets = DateTime::<Utc>::from_timestamp_millis(window.end_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "Budget limit exceeded. Limit: ${amount_usd:.2} USD per {}. Budget resets at {resets}. \
         Request rejected.",
        duration.describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .timestamp_millis()
    }

    fn window(unit: DurationUnit, value: u32, now: &str) -> (i64, i64) {
        let w = BudgetDuration { unit, value }.window(at(now));
        (w.start_ms, w.end_ms)
    }

    #[test]
    fn windows_match_the_references_captures() {
        // The reference's windows at 2026-12-05 07:5x UTC (docs/reference/gateway.md §9.2).
        assert_eq!(
            window(DurationUnit::Hours, 1, "2026-12-05T07:49:54Z"),
            (1_796_454_000_000, 1_796_457_600_000)
        );
        assert_eq!(
            window(DurationUnit::Minutes, 30, "2026-12-05T07:49:54Z"),
            (1_796_455_800_000, 1_796_457_600_000)
        );
        assert_eq!(
            window(DurationUnit::Months, 1, "2026-12-05T07:49:54Z"),
            (1_796_083_200_000, 1_798_761_600_000)
        );
        assert_eq!(
            window(DurationUnit::Days, 1, "2026-12-05T07:49:54Z").0,
            1_796_428_800_000
        );
    }

    #[test]
    fn weeks_start_on_sunday_and_months_count_from_1970() {
        let (start, end) = window(DurationUnit::Weeks, 1, "2026-12-05T07:49:54Z");
        assert_eq!(start, at("2026-11-29T00:00:00Z"), "a Sunday");
        assert_eq!(end - start, 7 * DAY_MS);
        let (start, end) = window(DurationUnit::Months, 5, "2026-12-05T00:00:00Z");
        // 683 months after January 1970 is December 2026; 680 is August 2026.
        assert_eq!(
            (start, end),
            (at("2026-09-01T00:00:00Z"), at("2027-02-01T00:00:00Z"))
        );
        // The last instant of a window is in it; the next is in the next one.
        let (s, e) = window(DurationUnit::Hours, 2, "2026-12-05T01:59:59.999Z");
        assert_eq!(
            (s, e),
            (at("2026-12-05T00:00:00Z"), at("2026-12-05T02:00:00Z"))
        );
        assert_eq!(window(DurationUnit::Hours, 2, "2026-12-05T02:00:00Z").0, e);
    }

    #[test]
    fn a_rejection_reads_as_the_references() {
        let duration = BudgetDuration {
            unit: DurationUnit::Hours,
            value: 1,
        };
        let w = duration.window(at("2026-12-05T07:49:54Z"));
        assert_eq!(
            rejection_message(0.000001, duration, w),
            "Budget limit exceeded. Limit: $0.00 USD per 1 hour. Budget resets at \
             2026-12-05T08:00:00Z. Request rejected."
        );
        let three = BudgetDuration {
            unit: DurationUnit::Days,
            value: 3,
        };
        assert_eq!(three.describe(), "3 days");
    }
}
