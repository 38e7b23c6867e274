//! `stratus run FILE --web` and `stratus compare FILE --web`: a simulation
//! played against the wall clock on the web dashboard, the page `stratus
//! serve` serves (`stratus_live::dashboard`), with its stream and its action
//! route, plus a speed control. The runs play on a thread of their own
//! ([`player`]); the page is served on a small tokio runtime.
//!
//! When the runs are over their reports are printed at once, as a batch
//! run prints them, and the page goes on showing the final figures until
//! Ctrl-C (or, with `--web-exit`, until a page has been sent them). Ctrl-C
//! before the end leaves without a report (exit 130), as in the terminal
//! dashboard.

pub mod player;

use crate::cli::CliError;
use crate::cli::pace::Stopwatch;
use crate::live::dashboard::board;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::sim::Sim;
use crate::tui::state::speed_label;
use player::Player;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where the page is served, and when to leave.
#[derive(Clone, Copy, Debug)]
pub struct Web {
    pub addr: SocketAddr,
    /// Leave once the runs are over and a page has been sent their reports.
    pub exit: bool,
}

/// Where `--web` listens when no address is given: loopback, any free port.
pub const DEFAULT_ADDR: &str = "127.0.0.1:0";

/// Plays `sims` on the web dashboard at `speed`; once they are over, hands
/// their reports to `report` (which prints them) and serves the final page
/// until Ctrl-C or, with `web.exit`, until a page has them. `what` names
/// the runs in the start-up message. Err(Reported(130)): Ctrl-C before the end.
pub fn play(
    sc: &Scenario,
    sims: Vec<Sim>,
    speed: f64,
    web: Web,
    what: &str,
    report: impl FnOnce(Vec<Report>) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let seed = sims.first().map_or(sc.seed, Sim::seed);
    let player = Arc::new(Player::new(sc, sims, seed, speed));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let token = format!("{:032x}", crate::live::clock::random_u128());
        let (addr, server) = board::serve(web.addr, player.clone(), token.clone())
            .await
            .map_err(|e| {
                CliError::Runtime(format!(
                    "--web {}: cannot listen there: {e} (pick another address, or drop it for a free port)",
                    web.addr
                ))
            })?;
        // Polled once before saying Ctrl-C works, so the handler is in place.
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        let early = tokio::select! {
            biased;
            _ = &mut stop => true,
            _ = std::future::ready(()) => false,
        };
        eprintln!("stratus: {what} at {} on the web dashboard", speed_label(speed));
        eprintln!("  web    http://{addr}/#token={token}");
        eprintln!(
            "  keys   space pause, +/- speed, k/r then 1-9 kill/restore an AZ, s/o scale, d deploy, f fail over the store"
        );
        eprintln!(
            "{}",
            if web.exit {
                "Ctrl-C stops; the report prints when the run ends, and stratus leaves once a page has it."
            } else {
                "Ctrl-C stops; the report prints when the run ends, and the page stays up until Ctrl-C."
            }
        );
        let (done_tx, done_rx) = oneshot::channel();
        let p = player.clone();
        std::thread::spawn(move || p.play(&Stopwatch::start(), done_tx));
        if early {
            server.abort();
            return Err(CliError::Reported(130));
        }
        let reports = tokio::select! {
            r = done_rx => r.map_err(|_| CliError::Runtime("the simulation stopped".into()))?,
            _ = &mut stop => {
                server.abort();
                return Err(CliError::Reported(130));
            }
        };
        let verdict = report(reports);
        if web.exit {
            tokio::select! {
                _ = player.seen_notify.notified() => {}
                _ = &mut stop => {}
            }
        } else {
            let _ = (&mut stop).await;
        }
        server.abort();
        verdict
    })
}
