//! Virtual time and the units scenario files are written in.
//!
//! Time is an integer count of nanoseconds so that event order never depends on
//! floating-point rounding. Durations are written `"250us"`, `"1.5ms"`, `"30s"`,
//! `"5m"`, `"1h"`, `"1d"`; sizes `"4096B"`, `"4KiB"`.

use std::fmt;

/// A point in virtual time, in nanoseconds since the start of the run.
pub type SimTime = u64;

/// A time that has not happened: kept in place of an `Option` where every
/// event reads it (a shopper, a resolver's client), so the record stays small.
pub const NEVER: SimTime = SimTime::MAX;

pub const NS: u64 = 1;
pub const US: u64 = 1_000;
pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;
pub const MIN: u64 = 60 * SEC;
pub const HOUR: u64 = 60 * MIN;
pub const DAY: u64 = 24 * HOUR;

/// A span of virtual time in nanoseconds. Parsed from the file's duration strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub u64);

impl Dur {
    pub const ZERO: Dur = Dur(0);
    pub const fn from_ms(ms: u64) -> Dur {
        Dur(ms * MS)
    }
    pub const fn from_secs(s: u64) -> Dur {
        Dur(s * SEC)
    }
    pub const fn from_us(us: u64) -> Dur {
        Dur(us * US)
    }
    pub const fn ns(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / SEC as f64
    }
    pub fn as_ms_f64(self) -> f64 {
        self.0 as f64 / MS as f64
    }
}

/// A drawn duration (ns, as a float) to whole nanoseconds: exactly
/// `x.round() as u64` (half away from zero; negatives and NaN give 0, too
/// large saturates). A draw is rounded on every request, and without SSE4.1
/// `f64::round` is a call into a software routine; a truncating conversion
/// and one comparison give the same integer. The fraction `x - trunc(x)` is
/// exact in binary floating point, so the comparison with one half is too.
#[inline]
pub fn nearest_ns(x: f64) -> u64 {
    // Below 2^63 a signed conversion is one instruction each way; the rest
    // (negatives, NaN, the huge) is rare and keeps the standard definition.
    if (0.0..9_223_372_036_854_775_808.0).contains(&x) {
        let whole = x as i64;
        let fraction = x - whole as f64;
        return whole as u64 + u64::from(fraction >= 0.5);
    }
    x.round() as u64
}

/// What a duration string should look like; used in every error about one.
pub const DURATION_FORM: &str =
    "a duration string such as \"250us\", \"1.5ms\", \"30s\", \"5m\", \"1h\" or \"1d\"";
/// What a size string should look like.
pub const SIZE_FORM: &str = "a size such as 4096, \"4096B\", \"4KiB\" or \"1MiB\"";

/// Why a duration or size string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

fn split_number(s: &str) -> Option<(&str, &str)> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((&s[..end], s[end..].trim()))
}

/// Why a number-with-unit could not be turned into an integer count.
enum Scaled {
    /// Not a decimal number.
    Malformed,
    /// Finer than the smallest step (a nanosecond, a byte).
    TooFine,
    TooLarge,
}

/// A decimal number times a unit, exactly, in integers: "1.5ms" is
/// 1_500_000 ns and "1.5KiB" 1536 B; a fraction that is not a whole number of
/// steps is refused rather than rounded.
fn scaled(number: &str, unit: u64) -> Result<u64, Scaled> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(Scaled::Malformed);
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| Scaled::TooLarge)?
    };
    let frac = frac.trim_end_matches('0');
    let whole = int.checked_mul(unit).ok_or(Scaled::TooLarge)?;
    if frac.is_empty() {
        return Ok(whole);
    }
    if frac.len() > 18 {
        return Err(Scaled::TooFine);
    }
    let f: u128 = frac.parse().map_err(|_| Scaled::Malformed)?;
    let scaled = f * u128::from(unit);
    let den = 10u128.pow(frac.len() as u32);
    if !scaled.is_multiple_of(den) {
        return Err(Scaled::TooFine);
    }
    whole
        .checked_add((scaled / den) as u64)
        .ok_or(Scaled::TooLarge)
}

/// Parses a duration string into nanoseconds.
pub fn parse_duration(s: &str) -> Result<Dur, UnitError> {
    let bad = || UnitError(format!("bad duration {s:?}: expected {DURATION_FORM}"));
    let t = s.trim();
    if t.starts_with('-') {
        return Err(UnitError(format!(
            "bad duration {s:?}: a duration cannot be negative; expected {DURATION_FORM}"
        )));
    }
    let (num, unit) = split_number(t).ok_or_else(bad)?;
    let mult = match unit {
        "ns" => NS,
        "us" | "µs" => US,
        "ms" => MS,
        "s" => SEC,
        "m" | "min" => MIN,
        "h" => HOUR,
        "d" => DAY,
        _ => return Err(bad()),
    };
    match scaled(num, mult) {
        Ok(n) => Ok(Dur(n)),
        Err(Scaled::Malformed) => Err(bad()),
        Err(Scaled::TooFine) => Err(UnitError(format!(
            "bad duration {s:?}: finer than a nanosecond; expected {DURATION_FORM}"
        ))),
        Err(Scaled::TooLarge) => Err(UnitError(format!(
            "bad duration {s:?}: too long (over 584 years); expected {DURATION_FORM}"
        ))),
    }
}

/// Parses a size string into bytes.
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let bad = || UnitError(format!("bad size {s:?}: expected {SIZE_FORM}"));
    let t = s.trim();
    let (num, unit) = split_number(t).ok_or_else(bad)?;
    let mult = match unit {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        "GiB" => 1024 * 1024 * 1024,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        _ => return Err(bad()),
    };
    match scaled(num, mult) {
        Ok(n) => Ok(n),
        Err(Scaled::TooFine) => Err(UnitError(format!(
            "bad size {s:?}: not a whole number of bytes; expected {SIZE_FORM}"
        ))),
        Err(_) => Err(bad()),
    }
}

impl fmt::Display for Dur {
    /// The shortest exact form in the largest unit that divides it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let units = [
            (DAY, "d"),
            (HOUR, "h"),
            (MIN, "m"),
            (SEC, "s"),
            (MS, "ms"),
            (US, "us"),
        ];
        if n == 0 {
            return write!(f, "0s");
        }
        for (u, name) in units {
            if n.is_multiple_of(u) {
                return write!(f, "{}{}", n / u, name);
            }
        }
        write!(f, "{n}ns")
    }
}

impl std::str::FromStr for Dur {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nearest_ns` is `round() as u64` on every float, edge cases first,
    /// then any bit pattern at all.
    #[test]
    fn nearest_ns_is_round_as_u64() {
        let two52 = (1u64 << 52) as f64;
        let edges = [
            0.0,
            -0.0,
            0.5,
            0.49999999999999994,
            1.5,
            2.5,
            -0.4,
            -0.5,
            -2.5,
            two52 - 0.5,
            two52 + 1.0,
            9.2e18,
            1.8446744073709552e19,
            1e30,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        for x in edges {
            assert_eq!(nearest_ns(x), x.round() as u64, "{x:e}");
        }
        let mut rng = crate::rng::Streams::new(11).stream("nearest");
        for _ in 0..200_000 {
            let x = f64::from_bits(rng.u64());
            assert_eq!(nearest_ns(x), x.round() as u64, "{x:e}");
            let d = rng.exp(5e9);
            assert_eq!(nearest_ns(d), d.round() as u64, "{d:e}");
            let half = rng.below(1 << 40) as f64 + 0.5;
            assert_eq!(nearest_ns(half), half.round() as u64, "{half:e}");
        }
    }

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("250us").unwrap(), Dur(250_000));
        assert_eq!(parse_duration("1.5ms").unwrap(), Dur(1_500_000));
        assert_eq!(parse_duration("30s").unwrap(), Dur(30 * SEC));
        assert_eq!(parse_duration("5m").unwrap(), Dur(5 * MIN));
        assert_eq!(parse_duration("1h").unwrap(), Dur(HOUR));
        assert_eq!(parse_duration("1d").unwrap(), Dur(DAY));
        assert_eq!(parse_duration("0ms").unwrap(), Dur(0));
        assert_eq!(parse_duration(".5s").unwrap(), Dur(SEC / 2));
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        for s in ["", "5", "5 parsecs", "-3s", "1.2.3s", "ms", "1.0000000001s"] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.0.contains("expected"), "{s}: {}", e.0);
        }
        assert!(parse_duration("-3s").unwrap_err().0.contains("negative"));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("4096B").unwrap(), 4096);
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert!(parse_size("4 lots").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in ["250us", "1500us", "30s", "5m", "1h", "1d", "7ns"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&d.to_string()).unwrap(), d);
        }
    }
}
