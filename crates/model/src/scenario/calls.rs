//! `[fleet.calls.database]` and `[fleet.calls.store]`: a node's timeouts,
//! retries and circuit breaker for each dependency. A written table starts
//! from one attempt with no timeout (what a node does without it) and the
//! AWS SDKs' backoff shape for when retries are asked for; `breaker = {}`
//! turns a breaker on with its defaults.

use super::context::{Ctx, ScenarioError, positive};
use super::retry::{RawRetry, policy};
use super::values::D;
use crate::breaker::BreakerCfg;
use crate::calls::{CallPolicy, Calls};
use crate::retry::RetryPolicy;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalls {
    database: Option<RawCall>,
    store: Option<RawCall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCall {
    max_attempts: Option<Spanned<u32>>,
    timeout: Option<Spanned<D>>,
    backoff: Option<Spanned<String>>,
    base: Option<Spanned<D>>,
    cap: Option<Spanned<D>>,
    jitter: Option<Spanned<String>>,
    breaker: Option<RawBreaker>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaker {
    failures: Option<Spanned<u32>>,
    window: Option<Spanned<D>>,
    open_for: Option<Spanned<D>>,
    probes: Option<Spanned<u32>>,
}

pub(super) fn calls(cx: &Ctx, r: RawCalls) -> Result<Calls, ScenarioError> {
    let mut c = Calls::default();
    if let Some(t) = r.database {
        c.database = call(cx, t, "fleet.calls.database")?;
    }
    if let Some(t) = r.store {
        c.store = call(cx, t, "fleet.calls.store")?;
    }
    Ok(c)
}

fn call(cx: &Ctx, r: RawCall, table: &str) -> Result<CallPolicy, ScenarioError> {
    let start = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let retry = RawRetry {
        max_attempts: r.max_attempts,
        timeout: r.timeout,
        backoff: r.backoff,
        base: r.base,
        cap: r.cap,
        jitter: r.jitter,
        budget: None,
    };
    Ok(CallPolicy {
        retry: policy(cx, retry, table, start)?,
        breaker: r.breaker.map(|b| breaker(cx, b, table)).transpose()?,
    })
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
    use crate::breaker::BreakerCfg;
    use crate::calls::Calls;
    use crate::scenario::parse_scenario;
    use crate::time::{Dur, MS, SEC};

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n";

    fn parse(t: &str) -> Result<Calls, String> {
        parse_scenario("t.toml", &format!("{HEAD}{t}"))
            .map(|s| s.fleet.calls)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn tables_set_each_dependency_and_the_breaker_defaults() {
        assert_eq!(parse("").unwrap(), Calls::default());
        let c = parse(
            "[fleet.calls.database]\nmax_attempts = 3\ntimeout = \"200ms\"\nbreaker = { failures = 4, open_for = \"5s\" }\n[fleet.calls.store]\nbreaker = {}\n",
        )
        .unwrap();
        assert_eq!(c.database.retry.max_attempts, 3);
        assert_eq!(c.database.retry.timeout, Some(Dur(200 * MS)));
        let b = c.database.breaker.unwrap();
        assert_eq!(
            (b.failures, b.open_for, b.window),
            (4, Dur(5 * SEC), Dur(10 * SEC))
        );
        assert_eq!(c.store.breaker, Some(BreakerCfg::default()));
        assert_eq!(c.store.retry.max_attempts, 1);
        assert_eq!(c.store.retry.timeout, None);
    }

    #[test]
    fn wrong_values_name_their_place() {
        let e = parse("[fleet.calls.store]\nbreaker = { probes = 0 }\n").unwrap_err();
        assert!(
            e.starts_with("t.toml:5:") && e.contains("fleet.calls.store.breaker.probes"),
            "{e}"
        );
        let e = parse("[fleet.calls.database]\nbudget = 0.1\n").unwrap_err();
        assert!(e.contains("budget"), "{e}");
        let e = parse("[fleet.calls.database]\nmax_attempts = 0\n").unwrap_err();
        assert!(e.contains("fleet.calls.database.max_attempts = 0"), "{e}");
    }
}
