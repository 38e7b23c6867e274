//! AWS FIS's "AZ Availability: Power Interruption" as both drivers log it:
//! the steps the scenario takes when it starts, each under its own name, in
//! the order the drivers then carry them out (pause launches, cut the AZ's
//! network, stop its power), and the line when power returns.

use crate::time::Dur;

/// What the interruption's start reports, read from the drivers' parts.
pub struct Start<'a> {
    pub az: &'a str,
    pub duration: Dur,
    pub network: Dur,
    /// App nodes the group counts in the AZ.
    pub app_nodes: usize,
    /// The database's writer is in the AZ.
    pub db_writer_here: bool,
    /// Session store (or table) primaries in the AZ, and the word for it;
    /// zero when the strategy keeps no sessions there.
    pub store_primaries_here: usize,
    pub store_word: &'a str,
}

/// The log lines of the interruption's start, in order.
pub fn start_lines(s: &Start) -> Vec<(&'static str, String)> {
    let Start {
        az,
        duration,
        network,
        ..
    } = *s;
    let mut lines = vec![
        ("fis_az_power_interruption", format!("{az} for {duration}")),
        (
            "fis_stop_instances",
            format!("{} app nodes and every instance in {az}", s.app_nodes),
        ),
        (
            "fis_pause_launches",
            format!("insufficient capacity in {az} for {duration}"),
        ),
        (
            "fis_disrupt_connectivity",
            format!("{az}'s subnets cut off for {network}"),
        ),
    ];
    if s.db_writer_here {
        lines.push(("fis_failover_db", format!("the writer lived in {az}")));
    }
    if s.store_primaries_here > 0 {
        let line = format!(
            "{} {} primary(ies) lived in {az}",
            s.store_primaries_here, s.store_word
        );
        lines.push(("fis_failover_store", line));
    }
    lines
}

/// The line when power returns to the AZ.
pub fn end_line(az: &str) -> (&'static str, String) {
    (
        "fis_restart_instances",
        format!("power returns to {az}; stopped instances restart"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_lists_its_steps_and_only_the_failovers_that_happen() {
        let mut s = Start {
            az: "us-east-1b",
            duration: Dur::from_secs(600),
            network: Dur::from_secs(120),
            app_nodes: 2,
            db_writer_here: false,
            store_primaries_here: 0,
            store_word: "store",
        };
        let kinds = |s: &Start| {
            start_lines(s)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(&s),
            [
                "fis_az_power_interruption",
                "fis_stop_instances",
                "fis_pause_launches",
                "fis_disrupt_connectivity"
            ]
        );
        s.db_writer_here = true;
        s.store_primaries_here = 1;
        let lines = start_lines(&s);
        assert_eq!(lines[4].0, "fis_failover_db");
        assert_eq!(lines[5].1, "1 store primary(ies) lived in us-east-1b");
        assert_eq!(lines[1].1, "2 app nodes and every instance in us-east-1b");
    }
}
