//! A traffic trace: `offset,rate` rows (seconds from the start, new shoppers
//! per second), held stepwise or joined by straight lines, played once or
//! looped, and the file's errors by line and column.
//!
//! The file is CSV: an optional `offset,rate` header, `#` comments, blanks
//! around fields ignored. An offset is a number of seconds or a duration
//! such as `"90m"`. The rows must start at offset 0 and go forward; a looped
//! trace lasts until its last row's offset and starts again there, so a day
//! traced hourly ends with a row at 24h that closes the curve.

use super::FOREVER;
use super::MAX_RATE as MAX_ARRIVALS_PER_SECOND;
use crate::time::{SEC, SimTime, parse_duration};

/// How the rate moves between two rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolate {
    /// A row's rate holds until the next row.
    Step,
    /// The rate moves in a straight line to the next row's.
    Linear,
}

/// A trace, read and checked, with its times already scaled to the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// (offset into the run, new shoppers per second), offsets increasing
    /// from 0.
    rows: Vec<(SimTime, f64)>,
    interpolate: Interpolate,
    looped: bool,
}

/// How a trace's rows are turned into the run's rates.
#[derive(Clone, Copy, Debug)]
pub struct TraceOptions {
    /// Every rate is multiplied by this.
    pub scale: f64,
    /// The trace plays this many times faster (24: a day in an hour).
    pub speed: f64,
    pub interpolate: Interpolate,
    pub looped: bool,
}

/// A trace file that could not be used: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct TraceError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

const ROW_FORM: &str = "expected a row `offset,rate`: seconds from the start (or a duration \
                        such as \"90m\") and new shoppers per second, such as `600,50`";

fn error(line: usize, column: usize, message: impl Into<String>) -> TraceError {
    TraceError {
        line,
        column,
        message: message.into(),
    }
}

/// 1-based column of field `field` on the file's line `line`.
fn column(text: &str, line: usize, field: usize) -> usize {
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else {
        return 1;
    };
    if l.split(',').count() <= field {
        // A missing field: where it should have begun, past the line's end.
        return l.chars().count() + 1;
    }
    let start = l
        .split(',')
        .take(field)
        .map(|f| f.chars().count() + 1)
        .sum::<usize>();
    let lead = l
        .split(',')
        .nth(field)
        .map_or(0, |f| f.chars().take_while(|c| c.is_whitespace()).count());
    start + lead + 1
}

/// One line's fields, read as CSV (quotes allowed); None for a blank line
/// or a `#` comment. Line by line, so every message names the file's own
/// line: the CSV reader's count skips the lines it ignores.
fn fields(line: &str) -> Result<Option<csv::StringRecord>, String> {
    let l = line.trim();
    if l.is_empty() || l.starts_with('#') {
        return Ok(None);
    }
    csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(l.as_bytes())
        .records()
        .next()
        .transpose()
        .map_err(|e| format!("not CSV text ({e}): {ROW_FORM}"))
}

/// Reads a trace file's text.
pub fn parse_trace(text: &str, opts: TraceOptions) -> Result<Trace, TraceError> {
    let mut rows: Vec<(SimTime, f64)> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let Some(rec) = fields(l).map_err(|m| error(line, 1, m))? else {
            continue;
        };
        if rows.is_empty() && is_header(&rec) {
            continue;
        }
        if rec.len() != 2 {
            let col = column(text, line, rec.len().min(2));
            return Err(error(
                line,
                col,
                format!("{} fields: {ROW_FORM}", rec.len()),
            ));
        }
        let at = offset(&rec[0], opts.speed).map_err(|m| error(line, column(text, line, 0), m))?;
        let rate = rate(&rec[1], opts.scale).map_err(|m| error(line, column(text, line, 1), m))?;
        match rows.last() {
            None if at != 0 => {
                let m = format!(
                    "the first row is at {}: expected the first row at offset 0",
                    &rec[0]
                );
                return Err(error(line, column(text, line, 0), m));
            }
            Some(&(prev, _)) if at <= prev => {
                let m = format!(
                    "offset {} is not after the row before: expected offsets in increasing order",
                    &rec[0]
                );
                return Err(error(line, column(text, line, 0), m));
            }
            _ => rows.push((at, rate)),
        }
    }
    finish(text, rows, opts)
}

fn finish(text: &str, rows: Vec<(SimTime, f64)>, opts: TraceOptions) -> Result<Trace, TraceError> {
    let end = text.lines().count().max(1);
    if rows.is_empty() {
        return Err(error(end, 1, format!("the trace has no rows: {ROW_FORM}")));
    }
    if opts.looped && rows.len() < 2 {
        let m = "a looped trace has one row: expected at least two, the last one's offset being the loop's length";
        return Err(error(end, 1, m));
    }
    Ok(Trace {
        rows,
        interpolate: opts.interpolate,
        looped: opts.looped,
    })
}

fn is_header(rec: &csv::StringRecord) -> bool {
    rec.len() == 2 && rec[0].eq_ignore_ascii_case("offset") && rec[1].eq_ignore_ascii_case("rate")
}

fn offset(field: &str, speed: f64) -> Result<SimTime, String> {
    let ns = match field.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => s * SEC as f64,
        Ok(s) => {
            return Err(format!(
                "offset {s}: expected seconds from the start, 0 or more"
            ));
        }
        Err(_) => match parse_duration(field) {
            Ok(d) => d.0 as f64,
            Err(_) => return Err(format!("offset {field:?}: {ROW_FORM}")),
        },
    };
    Ok((ns / speed).round() as SimTime)
}

fn rate(field: &str, scale: f64) -> Result<f64, String> {
    match field.parse::<f64>() {
        Ok(r) if (0.0..=MAX_ARRIVALS_PER_SECOND).contains(&r) => {
            let scaled = r * scale;
            if scaled <= MAX_ARRIVALS_PER_SECOND {
                Ok(scaled)
            } else {
                Err(format!(
                    "rate {r} × scale {scale} = {scaled}: expected at most 100000 shoppers per second"
                ))
            }
        }
        Ok(r) => Err(format!(
            "rate {r}: expected from 0 to 100000 shoppers per second"
        )),
        Err(_) => Err(format!("rate {field:?}: {ROW_FORM}")),
    }
}

impl Trace {
    /// The highest rate the trace reaches.
    pub fn peak(&self) -> f64 {
        self.rows.iter().map(|r| r.1).fold(0.0, f64::max)
    }

    /// The trace's length: its last row's offset (the loop's length).
    pub fn length(&self) -> SimTime {
        self.rows.last().map_or(0, |r| r.0)
    }

    /// Where `t` falls: the start of its loop and the row it is in.
    fn locate(&self, t: SimTime) -> (SimTime, usize) {
        let (start, pos) = if self.looped {
            let len = self.length();
            (t - t % len, t % len)
        } else {
            (0, t)
        };
        (start, self.rows.partition_point(|r| r.0 <= pos) - 1)
    }

    pub(super) fn rate_at(&self, t: SimTime) -> f64 {
        let (start, i) = self.locate(t);
        let (at, r) = self.rows[i];
        match (self.interpolate, self.rows.get(i + 1)) {
            (Interpolate::Linear, Some(&(next_at, next_r))) => {
                let f = (t - start - at) as f64 / (next_at - at) as f64;
                r + (next_r - r) * f
            }
            _ => r,
        }
    }

    pub(super) fn piece(&self, t: SimTime) -> (f64, SimTime) {
        let (start, i) = self.locate(t);
        let r = self.rows[i].1;
        match self.rows.get(i + 1) {
            None => (r, FOREVER),
            Some(&(next_at, next_r)) => {
                let top = match self.interpolate {
                    Interpolate::Step => r,
                    Interpolate::Linear => r.max(next_r),
                };
                (top, start.saturating_add(next_at))
            }
        }
    }
}
