//! `[fleet.calls.database]` and `[fleet.calls.store]`: a node's timeouts,
//! retries and circuit breaker for each dependency. A written table starts
//! from one attempt with no timeout (what a node does without it) and the
//! AWS SDKs' backoff shape for when retries are asked for; `breaker = {}`
//! turns a breaker on with its defaults.

use super::context::{Ctx, ScenarioError};
use super::retry::{RawRetry, policy};
use crate::calls::{CallPolicy, Calls};
use crate::retry::policy::RetryPolicy;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalls {
    database: Option<RawRetry>,
    store: Option<RawRetry>,
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

/// The clients' retry table read for a node's calls: the same keys but
/// `budget` (a node's retries are its own, not a share of the clients').
fn call(cx: &Ctx, r: RawRetry, table: &str) -> Result<CallPolicy, ScenarioError> {
    if let Some(b) = &r.budget {
        return Err(cx.at(
            b.span(),
            format!("{table}.budget: a node's calls have no retry budget (it is the clients' key, under [workload.retry]); expected max_attempts, timeout, backoff, base, cap, jitter or breaker"),
        ));
    }
    let start = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    policy(cx, r, table, start)
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
        assert_eq!(c.database.max_attempts, 3);
        assert_eq!(c.database.timeout, Some(Dur(200 * MS)));
        let b = c.database.breaker.unwrap();
        assert_eq!(
            (b.failures, b.open_for, b.window),
            (4, Dur(5 * SEC), Dur(10 * SEC))
        );
        assert_eq!(c.store.breaker, Some(BreakerCfg::default()));
        assert_eq!(c.store.max_attempts, 1);
        assert_eq!(c.store.timeout, None);
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
