//! `[workload.retry]`: the shopper's client retries a failed or timed-out
//! attempt. Written, the table starts from the AWS SDKs' standard mode (3
//! attempts, exponential backoff, full jitter, 1 s base, 20 s cap) and each
//! key overrides one part; absent, a request gets one attempt, as before.

use super::context::{Ctx, ScenarioError, choice, positive};
use super::values::{D, Num};
use crate::breaker::BreakerCfg;
use crate::retry::policy::{Backoff, Jitter, RetryPolicy};
use serde::Deserialize;
use toml::Spanned;

/// Attempts a request may have at most: enough for any storm worth showing.
const MAX_ATTEMPTS: u32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    pub(super) max_attempts: Option<Spanned<u32>>,
    pub(super) timeout: Option<Spanned<D>>,
    pub(super) backoff: Option<Spanned<String>>,
    pub(super) base: Option<Spanned<D>>,
    pub(super) cap: Option<Spanned<D>>,
    pub(super) jitter: Option<Spanned<String>>,
    pub(super) budget: Option<Spanned<Num>>,
    pub(super) breaker: Option<RawBreaker>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBreaker {
    failures: Option<Spanned<u32>>,
    window: Option<Spanned<D>>,
    open_for: Option<Spanned<D>>,
    probes: Option<Spanned<u32>>,
}

pub(super) fn retry(cx: &Ctx, r: RawRetry) -> Result<RetryPolicy, ScenarioError> {
    policy(cx, r, "workload.retry", RetryPolicy::default())
}

/// The keys of a retry table named `table`, over the policy `p`: the
/// clients' table and each of a node's `[fleet.calls]` tables.
pub(super) fn policy(
    cx: &Ctx,
    r: RawRetry,
    table: &str,
    mut p: RetryPolicy,
) -> Result<RetryPolicy, ScenarioError> {
    if let Some(v) = &r.max_attempts {
        let n = *v.get_ref();
        if !(1..=MAX_ATTEMPTS).contains(&n) {
            return Err(cx.at(
                v.span(),
                format!(
                    "{table}.max_attempts = {n}: expected attempts per request from 1 (no retries) to {MAX_ATTEMPTS}"
                ),
            ));
        }
        p.max_attempts = n;
    }
    let more = " such as \"2s\"";
    if let Some(v) = &r.timeout {
        p.timeout = Some(positive(cx, v, &format!("{table}.timeout"), more)?);
    }
    if let Some(v) = &r.base {
        p.base = positive(cx, v, &format!("{table}.base"), more)?;
    }
    if let Some(v) = &r.cap {
        p.cap = positive(cx, v, &format!("{table}.cap"), more)?;
    }
    if let Some(v) = &r.backoff {
        let options = [
            ("none", Backoff::None),
            ("constant", Backoff::Constant),
            ("exponential", Backoff::Exponential),
        ];
        p.backoff = choice(cx, v, &format!("{table}.backoff"), &options)?;
    }
    if let Some(v) = &r.jitter {
        let options = [
            ("none", Jitter::None),
            ("full", Jitter::Full),
            ("equal", Jitter::Equal),
            ("decorrelated", Jitter::Decorrelated),
        ];
        p.jitter = choice(cx, v, &format!("{table}.jitter"), &options)?;
    }
    if let Some(v) = &r.budget {
        let b = v.get_ref().0;
        if !(b > 0.0 && b <= 1.0) {
            return Err(cx.at(
                v.span(),
                format!(
                    "{table}.budget = {b}: expected the share of requests that may be retried, above 0 and at most 1, such as 0.1"
                ),
            ));
        }
        p.budget = Some(b);
    }
    if let Some(b) = r.breaker {
        p.breaker = Some(breaker(cx, b, table)?);
    }
    Ok(p)
}

fn breaker(cx: &Ctx, b: RawBreaker, table: &str) -> Result<BreakerCfg, ScenarioError> {
    let mut c = BreakerCfg::default();
    let count = |v: &Spanned<u32>, key: &str, what: &str| {
        let n = *v.get_ref();
        if n == 0 {
            Err(cx.at(
                v.span(),
                format!("{table}.breaker.{key} = 0: expected {what}, 1 or more"),
            ))
        } else {
            Ok(n)
        }
    };
    if let Some(v) = &b.failures {
        c.failures = count(
            v,
            "failures",
            "the failed calls within `window` that open the breaker",
        )?;
    }
    if let Some(v) = &b.probes {
        c.probes = count(v, "probes", "the calls let through half-open")?;
    }
    let more = " such as \"10s\"";
    if let Some(v) = &b.window {
        c.window = positive(cx, v, &format!("{table}.breaker.window"), more)?;
    }
    if let Some(v) = &b.open_for {
        c.open_for = positive(cx, v, &format!("{table}.breaker.open_for"), more)?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use crate::retry::policy::{Backoff, Jitter, RetryPolicy};
    use crate::scenario::parse_scenario;
    use crate::time::{Dur, MS, SEC};

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n";

    fn parse(t: &str) -> Result<RetryPolicy, String> {
        parse_scenario("t.toml", &format!("{HEAD}[workload.retry]\n{t}"))
            .map(|s| s.workload.retry)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_table_is_the_sdk_standard_mode_and_keys_override_it() {
        assert_eq!(parse("").unwrap(), RetryPolicy::default());
        let p = parse("max_attempts = 4\ntimeout = \"2s\"\nbackoff = \"none\"\njitter = \"none\"\nbudget = 0.1\nbase = \"50ms\"\n").unwrap();
        assert_eq!(p.max_attempts, 4);
        assert_eq!(p.timeout, Some(Dur(2 * SEC)));
        assert_eq!((p.backoff, p.jitter), (Backoff::None, Jitter::None));
        assert_eq!((p.budget, p.base), (Some(0.1), Dur(50 * MS)));
    }

    #[test]
    fn no_table_means_one_attempt() {
        let sc = parse_scenario("t.toml", HEAD).unwrap();
        assert_eq!(sc.workload.retry, RetryPolicy::none());
        assert!(!sc.workload.retry.retries());
    }

    #[test]
    fn wrong_values_name_their_place_and_form() {
        let e = parse("max_attempts = 0\n").unwrap_err();
        assert!(e.starts_with("t.toml:5:16:") && e.contains("from 1"), "{e}");
        let e = parse("jitter = \"some\"\n").unwrap_err();
        assert!(e.contains("\"decorrelated\""), "{e}");
        let e = parse("budget = 1.5\n").unwrap_err();
        assert!(e.contains("at most 1"), "{e}");
        let e = parse("timeout = \"0s\"\n").unwrap_err();
        assert!(e.contains("is zero"), "{e}");
    }
}
