//! `GeneralizedTime` as RFC 3161 uses it for `genTime`: RFC 5280's form plus optional fractional
//! seconds, which `der`'s `GeneralizedTime` (RFC 5280 only) refuses.

use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};

/// The most fraction digits accepted (nanoseconds).
const MAX_FRACTION_DIGITS: usize = 9;

/// A `GeneralizedTime` `YYYYMMDDHHMMSS[.f...]Z`, kept as its text and as Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GenTime {
    /// The DER value bytes, as received.
    raw: Vec<u8>,
    /// Milliseconds since the Unix epoch (fraction digits past the third are dropped).
    unix_ms: i64,
    /// The same instant in RFC 3339, with the fraction exactly as received.
    rfc3339: String,
}

impl GenTime {
    /// Parses the value bytes of a `GeneralizedTime`; `None` if they are not a UTC time with
    /// seconds and an optional fraction of 1 to 9 digits, or name no real date.
    pub(super) fn parse(raw: &[u8]) -> Option<Self> {
        let (digits, rest) = raw.split_at_checked(14)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let fraction = match rest {
            [b'Z'] => &[][..],
            [b'.', fraction @ .., b'Z']
                if !fraction.is_empty()
                    && fraction.len() <= MAX_FRACTION_DIGITS
                    && fraction.iter().all(u8::is_ascii_digit) =>
            {
                fraction
            }
            _ => return None,
        };
        let number = |range: std::ops::Range<usize>| {
            digits[range]
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
        };
        let (year, month, day) = (number(0..4), number(4..6), number(6..8));
        let (hour, minute, second) = (number(8..10), number(10..12), number(12..14));
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let days = days_from_civil(i64::from(year), month, day);
        let seconds =
            days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
        let millis = fraction
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(3)
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        let mut rfc3339 =
            format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
        if !fraction.is_empty() {
            rfc3339.push('.');
            rfc3339.extend(fraction.iter().map(|&d| char::from(d)));
        }
        rfc3339.push('Z');
        Some(Self {
            raw: raw.to_vec(),
            unix_ms: seconds * 1_000 + millis,
            rfc3339,
        })
    }

    /// Milliseconds since the Unix epoch.
    pub(super) fn unix_ms(&self) -> i64 {
        self.unix_ms
    }

    /// RFC 3339 text, e.g. `2026-01-27T12:00:00.25Z`.
    pub(super) fn rfc3339(&self) -> &str {
        &self.rfc3339
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let raw = reader.read_slice(header.length())?;
        Self::parse(raw).ok_or_else(|| Tag::GeneralizedTime.value_error().into())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.raw.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.raw)
    }
}

/// Whether `year` is a Gregorian leap year.
fn is_leap_year(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1-12) of `year`.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::GenTime;

    #[test]
    fn parses_whole_and_fractional_seconds() {
        let t = GenTime::parse(b"19700101000000Z").expect("epoch");
        assert_eq!((t.unix_ms(), t.rfc3339()), (0, "1970-01-01T00:00:00Z"));
        let t = GenTime::parse(b"20240229235959.5Z").expect("leap day");
        assert_eq!(t.unix_ms(), 1_709_251_199_500);
        assert_eq!(t.rfc3339(), "2024-02-29T23:59:59.5Z");
        let t = GenTime::parse(b"20000301120000.123456789Z").expect("nanoseconds");
        assert_eq!(t.unix_ms(), 951_912_000_123);
        assert_eq!(t.rfc3339(), "2000-03-01T12:00:00.123456789Z");
        let t = GenTime::parse(b"19691231235959Z").expect("before the epoch");
        assert_eq!(t.unix_ms(), -1_000);
    }

    #[test]
    fn refuses_what_is_not_a_utc_instant() {
        for bad in [
            &b""[..],
            b"20240101000000",
            b"20240101000000+0100",
            b"202401010000Z",
            b"20240101000000.Z",
            b"20240101000000.1234567890Z",
            b"20240101000000,5Z",
            b"20230229000000Z",
            b"20241301000000Z",
            b"20240100000000Z",
            b"20240101240000Z",
            b"20240101006000Z",
            b"20240101000060Z",
            b"2024010100000aZ",
            b"20240101000000ZZ",
        ] {
            assert!(
                GenTime::parse(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
