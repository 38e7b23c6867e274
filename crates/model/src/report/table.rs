//! Reports as tables for other tools: CSV (one row per run) and Markdown (for
//! CI job summaries).

use super::Report;
use std::fmt::Write;

const CSV_HEADER: &str = "scenario,strategy,seed,simulated_seconds,shoppers_started,shoppers_finished,with_items,carts_lost,items_lost,abandoned_with_items,carts_at_risk,requests_total,requests_ok,requests_failed,checkouts_ok,checkouts_failed,latency_mean_ms,latency_p50_ms,latency_p99_ms,bytes_request_mean,bytes_cookie_mean,bytes_cookie_max,wall_seconds,cost_per_hour,cross_az_gb_per_hour,cross_az_billed_gb_per_hour,cross_az_cost_per_hour";

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per run; the optional figures of the sections the runs have (the
/// data tier, security, scaling, DNS, the durable table) as extra columns at the end,
/// named by their figure keys.
pub fn csv(runs: &[Report]) -> String {
    let mut o = String::from(CSV_HEADER);
    let extra: Vec<_> = super::figures::extra(runs).collect();
    for f in &extra {
        let _ = write!(o, ",{}", f.key);
    }
    o.push('\n');
    for r in runs {
        let s = &r.shoppers;
        let l = &r.latency_ms.all;
        let _ = write!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            field(&r.scenario),
            r.label(),
            r.seed,
            r.simulated_seconds,
            s.started,
            s.finished,
            s.with_items,
            s.carts_lost,
            s.items_lost,
            s.abandoned_with_items,
            r.carts_at_risk(),
            r.requests.total,
            r.requests.ok,
            r.requests.failed,
            r.checkouts.ok,
            r.checkouts.failed,
            l.mean,
            l.p50,
            l.p99,
            r.bytes.request_mean,
            r.bytes.cookie_mean,
            r.bytes.cookie_max,
            r.wall.seconds,
            r.cost.total_per_hour,
            r.cross_az.gb_per_hour,
            r.cross_az.billed_gb_per_hour,
            r.cross_az.cost_per_hour_usd
        );
        for f in &extra {
            let _ = write!(o, ",{}", f.get(r));
        }
        o.push('\n');
    }
    o
}

/// The per-second series of one run: one row per simulated second, with
/// healthy and dead nodes per AZ.
pub fn series_csv(r: &Report) -> String {
    let mut o = String::from("t_s,requests,failures,p99_ms,carts_lost");
    for az in &r.azs {
        let az = field(az);
        let _ = write!(
            o,
            ",{az}_healthy,{az}_unhealthy,{az}_launching,{az}_draining,{az}_dead"
        );
    }
    o.push('\n');
    for row in r.series.iter().flatten() {
        let _ = write!(
            o,
            "{},{},{},{},{}",
            row.t_s, row.requests, row.failures, row.p99_ms, row.carts_lost
        );
        for n in &row.nodes {
            let _ = write!(
                o,
                ",{},{},{},{},{}",
                n.healthy, n.unhealthy, n.launching, n.draining, n.dead
            );
        }
        o.push('\n');
    }
    o
}

pub fn markdown(runs: &[Report]) -> String {
    let mut o = String::new();
    let Some(first) = runs.first() else {
        return o;
    };
    let _ = writeln!(
        o,
        "**{}** · seed {} · {} s simulated\n",
        first.scenario, first.seed, first.simulated_seconds
    );
    o.push_str("| figure |");
    for r in runs {
        let _ = write!(o, " {} |", r.label());
    }
    o.push_str("\n|---|");
    for _ in runs {
        o.push_str("---:|");
    }
    o.push('\n');
    for f in super::figures::shown(runs) {
        let _ = write!(o, "| {} |", f.label.trim());
        for r in runs {
            let _ = write!(o, " {} |", f.unit.format(f.get(r)));
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_match_header() {
        let r = Report {
            scenario: "a,b".into(),
            ..Default::default()
        };
        let out = csv(&[r.clone(), r]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        let cols = CSV_HEADER.split(',').count();
        // the quoted scenario holds one comma that is not a separator
        assert_eq!(lines[1].split(',').count(), cols + 1);
        assert!(lines[1].starts_with("\"a,b\","));
    }

    #[test]
    fn markdown_has_a_row_per_figure() {
        let out = markdown(&[Report::default()]);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("| ")).count(),
            super::super::figures::FIGURES.len() + 1
        );
    }
}
