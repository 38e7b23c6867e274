//! The gray faults the timeline injects (`inject_errors`, `slow_node`,
//! `slow_az`): which nodes they name, and the timers that end them. A
//! driver reads [`ControlPlane::degraded`] on its request path.

use super::{ControlPlane, Effect, Heal, Timer};
use crate::degrade::{Harm, Target};
use crate::scenario::Action;
use crate::time::Dur;

impl ControlPlane {
    pub(super) fn gray_action(&mut self, action: &Action) {
        let (target, harm, duration) = match *action {
            Action::InjectErrors {
                az,
                count,
                p,
                duration,
            } => {
                let target = match (az, count) {
                    (az, Some(n)) => Target::Nodes(self.fleet.oldest_in_service(az, n)),
                    (Some(az), None) => Target::Az(az),
                    (None, None) => Target::All,
                };
                (target, Harm::Errors(p), duration)
            }
            Action::SlowNode {
                az,
                count,
                factor,
                duration,
            } => {
                let ids = self.fleet.oldest_in_service(az, count);
                (Target::Nodes(ids), Harm::Slow(factor), duration)
            }
            Action::SlowAz {
                az,
                factor,
                duration,
            } => (Target::Az(az), Harm::Slow(factor), duration),
            _ => unreachable!("only the gray faults come here"),
        };
        let line = self.gray_line(&target, harm, duration);
        self.log(action.name(), line);
        let handle = self.degraded.add(target, harm);
        self.out.push(Effect::Degraded);
        if let Some(d) = duration {
            self.wake(self.now + d.0, Timer::Heal(Heal::Degraded { handle }));
        }
    }

    /// An injected fault ends.
    pub(super) fn end_gray(&mut self, handle: u16) {
        self.degraded.remove(handle);
        self.out.push(Effect::Degraded);
        self.log("degradation_ended", String::new());
    }

    /// `i-3 i-4: 5xx 20 % for 1m`, `us-east-1b: ×10 slower`.
    fn gray_line(&self, target: &Target, harm: Harm, duration: Option<Dur>) -> String {
        let who = match target {
            Target::All => "every node".to_string(),
            Target::Az(az) => self.az_name(*az),
            Target::Nodes(ids) => self.node_names(ids),
        };
        let what = match harm {
            Harm::Errors(p) => format!("5xx {}%", p * 100.0),
            Harm::Slow(k) => format!("×{k} slower"),
        };
        let span = duration.map_or(String::new(), |d| format!(" for {d}"));
        format!("{who}: {what}{span}")
    }
}
