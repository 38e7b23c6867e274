//! Reports as aligned text a person reads at a glance.

use super::figures::{mean_ci, shown};
use super::{Latency, Report};
pub use crate::figure::thousands;
use std::fmt::Write;

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn lat_row(out: &mut String, name: &str, l: &Latency) {
    let _ = writeln!(
        out,
        "  {:<12}{:>9.2}{:>9.2}{:>9.2}{:>10.2}{:>10.2}{:>11.2}",
        name, l.mean, l.p50, l.p90, l.p99, l.p999, l.max
    );
}

/// Scaling, DNS and the session store's HA, when the run had them.
fn elastic_sections(o: &mut String, r: &Report) {
    if let Some(s) = &r.store {
        let _ = writeln!(
            o,
            "{:<12}{} shard(s)   failovers {}   replicas created {}   reads {}   writes {}   stale reads {}   stale cart views {}",
            if s.kind == "dynamo" { "table" } else { "store" },
            s.shards,
            s.failovers,
            s.replicas_created,
            thousands(s.reads),
            thousands(s.writes),
            thousands(s.stale_reads),
            thousands(s.stale_carts)
        );
    }
    if let Some(d) = &r.dns {
        let last = d
            .last_stale_answer_sent_s
            .map_or("none".to_string(), |t| format!("{t:.1} s"));
        let _ = writeln!(
            o,
            "dns         ttl {:.0} s   failures on stale answers {}   last sent at {last}",
            d.ttl_s,
            thousands(d.stale_answer_failures)
        );
        if let Some(r) = &d.route53 {
            route53_lines(o, r);
        }
    }
    if let Some(t) = &r.retries {
        let _ = writeln!(
            o,
            "retries     {} attempts per request   retries {}   denied {}   timed out {}   served after the caller left {}   goodput {:.1} %",
            t.attempts_per_request,
            thousands(t.retries),
            thousands(t.retries_denied),
            thousands(t.timed_out),
            thousands(t.served_abandoned),
            t.goodput_share * 100.0
        );
    }
    if let Some(c) = &r.calls {
        for (name, k) in [("database", &c.database), ("store", &c.store)] {
            if k.attempts + k.short_circuited == 0 {
                continue;
            }
            let _ = writeln!(
                o,
                "calls       {name}: attempts {}   retries {}   failed {} ({} timed out)   failed by an open breaker {}   breaker opened {}, half-opened {}, closed {}",
                thousands(k.attempts),
                thousands(k.retries),
                thousands(k.failed),
                thousands(k.timed_out),
                thousands(k.short_circuited),
                k.opened,
                k.half_opened,
                k.closed
            );
        }
    }
    if let Some(sc) = &r.scaling {
        let _ = writeln!(
            o,
            "scaling     {} target {}   datapoints {}   peak nodes {}",
            sc.metric,
            sc.target,
            sc.datapoints.len(),
            sc.peak_nodes
        );
        for a in &sc.actions {
            let _ = writeln!(
                o,
                "  {:>8.1} s  desired {} → {} at {:.1}",
                a.t_s, a.from, a.to, a.metric
            );
        }
    }
}

/// Route 53's settings, the clients' retries and each verdict change.
fn route53_lines(o: &mut String, r: &super::elastic::Route53Report) {
    let checks = r
        .health_check
        .as_ref()
        .map_or("no health checks".into(), |h| {
            format!(
                "checks every {:.0} s, {} in a row, {} checkers",
                h.interval_s, h.failure_threshold, h.checkers
            )
        });
    let _ = writeln!(
        o,
        "            {} answers   client {}   {checks}   next-address retries {} ({} got through)",
        r.routing,
        r.client,
        thousands(r.next_address_retries),
        thousands(r.next_address_recoveries)
    );
    for v in &r.verdicts {
        let what = if v.healthy {
            "rejoined the answers"
        } else {
            "left the answers"
        };
        let change = if v.healthy { "started" } else { "stopped" };
        let _ = writeln!(
            o,
            "  {:>8.1} s  {} {what}, {:.1} s after its balancer node {change} answering",
            v.t_s, v.az, v.after_s
        );
    }
}

/// The database and cache, when the run had them.
fn data_sections(o: &mut String, r: &Report) {
    if let Some(d) = &r.database {
        o.push('\n');
        let _ = writeln!(
            o,
            "database    primary {}   orders committed {}   in primary {}   lost {}   failovers {}   write outage {:.1} s",
            d.primary,
            thousands(d.stats.orders_committed),
            thousands(d.orders_in_primary),
            thousands(d.stats.orders_lost),
            d.stats.failovers,
            d.write_outage_s
        );
        let _ = writeln!(
            o,
            "  reads     stale {} (order history {}, account {})   failed reads {}   failed writes {}",
            thousands(d.stale_reads),
            thousands(d.stats.stale_order_reads),
            thousands(d.stats.stale_account_reads),
            thousands(d.stats.failed_reads),
            thousands(d.stats.failed_writes)
        );
        let l = &d.replica_lag_ms;
        if l.applied > 0 {
            let _ = writeln!(
                o,
                "  replica lag ms   p50 {:.1}   p99 {:.1}   max {:.1}",
                l.p50, l.p99, l.max
            );
        }
        let _ = writeln!(
            o,
            "  {:<14}{:<9}{:<13}{:>10}{:>9}{:>8}{:>10}",
            "instance", "role", "az", "queries", "per s", "busy", "wait ms"
        );
        for i in &d.instances {
            let _ = writeln!(
                o,
                "  {:<14}{:<9}{:<13}{:>10}{:>9.1}{:>8}{:>10.3}{}",
                i.name,
                i.role,
                i.az,
                thousands(i.queries),
                i.queries_per_second,
                pct(i.utilisation),
                i.wait_mean_ms,
                if i.alive { "" } else { "  (dead)" }
            );
        }
    }
    if let Some(c) = &r.cache {
        let _ = writeln!(
            o,
            "cache       hit ratio {}   hits {}   misses {}   database reads saved {}   invalidations {}   keys lost {}",
            pct(c.hit_ratio),
            thousands(c.hits),
            thousands(c.misses),
            thousands(c.db_reads_saved),
            thousands(c.invalidations),
            thousands(c.keys_lost)
        );
    }
}

/// The cross-AZ bill: GB an hour across AZs, what is billed, its price,
/// and the hops the bytes took.
fn cross_az_line(o: &mut String, r: &Report) {
    let x = &r.cross_az;
    let hops: Vec<String> = x
        .bytes
        .iter()
        .filter(|(_, b)| **b > 0)
        .map(|(k, b)| format!("{k} {:.1}", *b as f64 / 1e6))
        .collect();
    let _ = writeln!(
        o,
        "cross-AZ    {:.3} GB per hour, {:.3} billed: ${:.4} per hour{}",
        x.gb_per_hour,
        x.billed_gb_per_hour,
        x.cost_per_hour_usd,
        if hops.is_empty() {
            String::new()
        } else {
            format!("   MB by hop: {}", hops.join(" · "))
        }
    );
}

/// What each design costs an hour, in instances and in bytes between AZs:
/// the comparison's second lesson.
pub fn price_line(runs: &[Report]) -> String {
    let each: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let x = &r.cross_az;
            let billed = if x.billed_gb_per_hour > 0.0 {
                format!(
                    "{:.3} billed: ${:.4}",
                    x.billed_gb_per_hour, x.cost_per_hour_usd
                )
            } else {
                "none billed".to_string()
            };
            let across = if i == 0 { " across AZs" } else { "" };
            format!(
                "{} ${:.3}, {:.3} GB{across} ({billed})",
                r.label(),
                r.cost.total_per_hour,
                x.gb_per_hour,
            )
        })
        .collect();
    format!("Per hour: {}.", each.join("; "))
}

/// One run's report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} · strategy {} · seed {} · {} s simulated",
        r.scenario,
        r.label(),
        r.seed,
        r.simulated_seconds
    );
    o.push('\n');
    let s = &r.shoppers;
    let _ = writeln!(
        o,
        "shoppers    started {}   finished {}   with items {}",
        thousands(s.started),
        thousands(s.finished),
        thousands(s.with_items)
    );
    let _ = writeln!(
        o,
        "carts       LOST {}  (items {})   at risk at faults {}   abandoned with items {}",
        thousands(s.carts_lost),
        thousands(s.items_lost),
        thousands(r.carts_at_risk()),
        thousands(s.abandoned_with_items)
    );
    let q = &r.requests;
    let _ = writeln!(
        o,
        "requests    total {}   ok {}   failed {} ({})",
        thousands(q.total),
        thousands(q.ok),
        thousands(q.failed),
        pct(r.failure_rate())
    );
    if !q.errors.is_empty() {
        let causes: Vec<String> = q
            .errors
            .iter()
            .map(|(k, v)| format!("{k} {}", thousands(*v)))
            .collect();
        let _ = writeln!(o, "  failed by  {}", causes.join(" · "));
    }
    let _ = writeln!(
        o,
        "checkouts   ok {}   failed {}",
        thousands(r.checkouts.ok),
        thousands(r.checkouts.failed)
    );
    o.push('\n');
    let _ = writeln!(
        o,
        "latency ms  {:>9}{:>9}{:>9}{:>10}{:>10}{:>11}",
        "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    lat_row(&mut o, "all", &r.latency_ms.all);
    for (k, l) in &r.latency_ms.by_kind {
        lat_row(&mut o, k, l);
    }
    o.push('\n');
    let _ = writeln!(
        o,
        "bytes       request mean {:.0}   cookie mean {:.0}   cookie max {}   response head mean {:.0}",
        r.bytes.request_mean, r.bytes.cookie_mean, r.bytes.cookie_max, r.bytes.response_header_mean
    );
    let c = &r.cost;
    let _ = writeln!(
        o,
        "cost        ${:.3} per hour: fleet ${:.3} ({:.2} node-hours), load balancer ${:.3}, session store ${:.3}{}",
        c.total_per_hour,
        c.fleet_per_hour,
        c.node_hours,
        c.lb_per_hour,
        c.store_per_hour,
        if c.data_per_hour > 0.0 {
            format!(", database and cache ${:.3}", c.data_per_hour)
        } else {
            String::new()
        }
    );
    cross_az_line(&mut o, r);
    let ss = &r.sessions;
    let _ = writeln!(
        o,
        "sessions    re-sticks {}   cookies rejected {}   cookies over the limit {}   store writes lost {}",
        thousands(ss.resticks),
        thousands(ss.cookies_rejected),
        thousands(ss.cookies_ignored_oversize),
        thousands(ss.store_writes_lost)
    );
    data_sections(&mut o, r);
    elastic_sections(&mut o, r);
    super::security::render(&mut o, r);
    if !r.faults.is_empty() {
        o.push('\n');
        let _ = writeln!(o, "faults");
        for f in &r.faults {
            let _ = writeln!(
                o,
                "  {:>8.1} s  {:<20} carts at risk {}",
                f.t_s,
                f.action,
                thousands(f.carts_at_risk)
            );
        }
    }
    if !r.injected.is_empty() {
        o.push('\n');
        let _ = writeln!(
            o,
            "injected by hand ({}; --replay the JSON report to run them again)",
            r.injected.len()
        );
        for i in &r.injected {
            let (e, keys) = (&i.entry, i.entry.keys_text());
            let _ = writeln!(o, "  {:>8.3} s  {:<20} {keys}", i.t_s, e.action);
        }
    }
    if !r.events.is_empty() {
        o.push('\n');
        const SHOWN: usize = 24;
        let _ = writeln!(
            o,
            "events ({} in all{})",
            r.events.len(),
            if r.events.len() > SHOWN {
                ", first 24; --format json has them all"
            } else {
                ""
            }
        );
        for e in r.events.iter().take(SHOWN) {
            let _ = writeln!(o, "  {:>8.1} s  {:<20} {}", e.t_s, e.kind, e.detail);
        }
    }
    o
}

/// Several runs side by side: one column per run.
pub fn render_compare(runs: &[Report]) -> String {
    let mut o = String::new();
    let Some(first) = runs.first() else {
        return o;
    };
    let _ = writeln!(
        o,
        "{} · seed {} · {} s simulated",
        first.scenario, first.seed, first.simulated_seconds
    );
    o.push('\n');
    let width = runs
        .iter()
        .map(|r| r.label().len() + 2)
        .fold(14, usize::max);
    let _ = write!(o, "{:<28}", "");
    for r in runs {
        let _ = write!(o, "{:>width$}", r.label());
    }
    o.push('\n');
    for f in shown(runs) {
        let _ = write!(o, "{:<28}", f.label);
        for r in runs {
            let _ = write!(o, "{:>width$}", f.unit.format(f.get(r)));
        }
        o.push('\n');
    }
    o.push('\n');
    let _ = writeln!(o, "{}", lost_line(runs));
    let _ = writeln!(o, "{}", price_line(runs));
    o
}

/// The comparison's lesson in a sentence: the carts each design lost.
pub fn lost_line(runs: &[Report]) -> String {
    let lost: Vec<String> = runs
        .iter()
        .map(|r| match r.shoppers.carts_lost {
            0 => format!("{} lost no cart", r.label()),
            n => format!("{} lost {} carts", r.label(), thousands(n)),
        })
        .collect();
    format!("{}.", lost.join("; "))
}

/// Several seeds per strategy: each figure's mean and 95 % confidence
/// interval. `groups` holds one list of runs (one per seed) per strategy.
pub fn render_seeds(groups: &[Vec<Report>]) -> String {
    let mut o = String::new();
    let Some(first) = groups.first().and_then(|g| g.first()) else {
        return o;
    };
    let seeds: Vec<u64> = groups[0].iter().map(|r| r.seed).collect();
    let _ = writeln!(
        o,
        "{} · {} seeds ({}..={}) · {} s simulated · mean ± 95 % confidence interval",
        first.scenario,
        seeds.len(),
        seeds.first().copied().unwrap_or(0),
        seeds.last().copied().unwrap_or(0),
        first.simulated_seconds
    );
    o.push('\n');
    let width = 24;
    let _ = write!(o, "{:<28}", "");
    for g in groups {
        let _ = write!(
            o,
            "{:>width$}",
            g.first().map_or(String::new(), |r| r.label())
        );
    }
    o.push('\n');
    let all: Vec<Report> = groups.iter().flatten().cloned().collect();
    for f in shown(&all) {
        let _ = write!(o, "{:<28}", f.label);
        for g in groups {
            let xs: Vec<f64> = g.iter().map(|r| f.get(r)).collect();
            let (m, h) = mean_ci(&xs);
            let cell = format!("{} ± {}", f.unit.format_stat(m), f.unit.format_stat(h));
            let _ = write!(o, "{cell:>width$}");
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
