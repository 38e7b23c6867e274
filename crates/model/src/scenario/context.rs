//! Where a scenario file's values stand and how a wrong one is reported:
//! the parse context, the error that names file, line and column, and the
//! checks every table's parser shares (an AZ of the region, a word of a
//! fixed set, a rate).

use super::values::{D, Num};
use super::{AzIx, Scenario};
use crate::time::Dur;
use std::ops::Range;
use toml::Spanned;

/// A scenario file that could not be used. Shown as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl ScenarioError {
    fn render(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{}:{}: {}", self.file, l, c, self.message),
            _ => format!("{}: {}", self.file, self.message),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[start..].chars().count() + 1)
}

/// Reads a file a scenario names (a trace) by the name written in it, and
/// answers the name to show in messages and its text, or why it could not.
pub type Reader<'a> = &'a dyn Fn(&str) -> Result<(String, String), String>;

pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) src: &'a str,
    pub(super) read: Reader<'a>,
}

impl Ctx<'_> {
    pub(super) fn at(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (l, c) = line_col(self.src, span.start);
        ScenarioError {
            file: self.file.to_string(),
            line: Some(l),
            column: Some(c),
            message: message.into(),
        }
    }
    /// The 1-based line of a byte offset (a rule's place, for the audit).
    pub(super) fn line(&self, offset: usize) -> usize {
        line_col(self.src, offset).0
    }
    pub(super) fn nowhere(&self, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Rewrites serde's and the TOML parser's words into the file's own terms:
/// no Rust type names, and the offending key named where the parser does not.
pub(super) fn humanize(msg: &str, text: Option<&str>) -> String {
    let mut m = msg.to_string();
    for (from, to) in [
        ("expected u32", "expected a whole number such as 8"),
        ("expected u64", "expected a whole number such as 7"),
        (
            "expected a sequence",
            "expected an array (for the timeline: [[timeline]] entries)",
        ),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: array"),
        ("wanted string or table", "expected a string"),
    ] {
        m = m.replace(from, to);
    }
    if let Some(i) = m.find("expected struct Raw") {
        // `expected struct RawHealth` → `expected a table`
        let end = m[i..].find([',', ';']).map_or(m.len(), |e| i + e);
        m.replace_range(
            i..end,
            "expected a table of keys (see the README's scenario keys)",
        );
    }
    if m.starts_with("duplicate key") {
        let key = text
            .map(|t| {
                t.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
            })
            .unwrap_or("");
        return format!("`{key}` is defined twice: expected each key and table once");
    }
    if !m.contains("expected") {
        m = format!(
            "{m}; expected TOML (key = value lines under [table] headers, see the README's scenario keys)"
        );
    }
    m
}

/// The index of the AZ a key names, or an error listing the region's AZs.
pub(super) fn az_index(cx: &Ctx, s: &Scenario, v: &Spanned<String>) -> Result<AzIx, ScenarioError> {
    s.az(v.get_ref()).ok_or_else(|| {
        cx.at(
            v.span(),
            format!(
                "AZ {:?} is not in the region: expected one of {:?}",
                v.get_ref(),
                s.region.azs
            ),
        )
    })
}

/// Where the first of these keys stands in the file (the start, if none was written).
pub(super) fn first_span<T>(keys: &[Option<&Spanned<T>>]) -> Range<usize> {
    keys.iter().flatten().next().map_or(0..0, |v| v.span())
}

pub use crate::arrivals::MAX_RATE as MAX_ARRIVALS_PER_SECOND;

pub(super) fn rate(cx: &Ctx, v: &Spanned<Num>, key: &str) -> Result<f64, ScenarioError> {
    let r = v.get_ref().0;
    if !(0.0..=MAX_ARRIVALS_PER_SECOND).contains(&r) {
        return Err(cx.at(
            v.span(),
            format!("{key} = {r}: expected a rate from 0 to 100000 shoppers per second"),
        ));
    }
    Ok(r)
}

/// A duration that must not be zero; `more` follows "expected a positive
/// duration" in the message (an example or the allowed range).
pub(super) fn positive(
    cx: &Ctx,
    v: &Spanned<D>,
    key: &str,
    more: &str,
) -> Result<Dur, ScenarioError> {
    let d = v.get_ref().0;
    if d.0 == 0 {
        return Err(cx.at(
            v.span(),
            format!("{key} is zero: expected a positive duration{more}"),
        ));
    }
    Ok(d)
}

/// One of a fixed set of words.
pub(super) fn choice<T: Copy>(
    cx: &Ctx,
    v: &Spanned<String>,
    key: &str,
    options: &[(&str, T)],
) -> Result<T, ScenarioError> {
    options
        .iter()
        .find(|(n, _)| n == v.get_ref())
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            cx.at(
                v.span(),
                format!(
                    "unknown {key} {:?}: expected one of {}",
                    v.get_ref(),
                    names.join(", ")
                ),
            )
        })
}
