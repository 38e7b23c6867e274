//! `stratus validate`: parses scenario files without running them and
//! audits their security groups.

use super::{CliError, EXIT_WARNINGS, load_text, read_beside};
use crate::scenario::parse_scenario_with;

/// Checks each of `files`, printing `ok` or the error for each and the
/// security audit's findings; the exit code is the worst file's, or
/// [`EXIT_WARNINGS`] when `deny_warnings` and the audit found something.
pub(super) fn validate(files: &[String], deny_warnings: bool) -> Result<(), CliError> {
    let mut code = 0;
    let mut warnings = 0;
    for f in files {
        match load_text(f).and_then(|(name, text)| {
            let read = |n: &str| read_beside(&name, n);
            Ok((parse_scenario_with(&name, &text, &read)?, name))
        }) {
            Ok((sc, name)) => {
                println!(
                    "ok  {f}: {} ({} simulated, {} timeline actions)",
                    sc.name,
                    sc.duration,
                    sc.timeline.len()
                );
                for finding in crate::security::audit::audit(&sc) {
                    warnings += 1;
                    println!("warning: {}", finding.render(&name));
                }
            }
            Err(e) => {
                eprintln!("stratus: {e}");
                // An invalid file outranks a usage error in the exit code.
                code = code.max(e.exit_code());
            }
        }
    }
    if code == 0 && warnings > 0 && deny_warnings {
        eprintln!(
            "stratus: {warnings} security warning{} and --deny-warnings",
            if warnings == 1 { "" } else { "s" }
        );
        code = EXIT_WARNINGS;
    }
    if code == 0 {
        Ok(())
    } else {
        Err(CliError::Reported(code))
    }
}
