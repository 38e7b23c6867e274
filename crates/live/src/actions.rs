//! The scenario's actions on the live shop: what `POST /admin/actions`, the
//! old admin paths, `stratus load --scenario` and the dashboard's keys all
//! end in. An action arrives as the model's [`Action`] (checked once, by
//! `ActionEntry::resolve`), is checked against what the running shop can
//! take, and goes to the control plane, which decides what it does exactly
//! as in the simulation. Only `set_arrivals`, which belongs to the
//! shoppers, is refused here (`stratus load` applies it).

use super::cluster::{Cluster, OpError};
use std::sync::Arc;
use stratus_model::control::Input;
use stratus_model::scenario::{Action, ActionEntry};

impl Cluster {
    /// Checks `entry` against the scenario and applies it; what was done.
    pub fn apply_entry(self: &Arc<Self>, entry: &ActionEntry) -> Result<String, OpError> {
        let action = entry.resolve(&self.sc)?;
        self.apply(&action)
    }

    /// Applies `a` now; what was done, for the caller's answer. An applied
    /// action is marked in the snapshot, as the simulation marks an
    /// injected one.
    pub fn apply(self: &Arc<Self>, a: &Action) -> Result<String, OpError> {
        self.refusal(a)?;
        let t_s = self.shop.clock.now() as f64 / stratus_model::time::SEC as f64;
        let mut c = self.lock();
        let line = self.run(&mut c, Input::Action(a)).unwrap_or_default();
        c.injected.push(t_s);
        Ok(answer(a, line))
    }

    /// Why the running shop cannot take `a` now, if it cannot: what an
    /// operator asks for outside the group's bounds, a second deploy, a
    /// failover of nothing, or a part the shop does not have.
    fn refusal(&self, a: &Action) -> Result<(), OpError> {
        match *a {
            Action::SetDesired { value } => {
                let f = &self.sc.fleet;
                if value < f.min || value > f.max {
                    return Err(OpError::Capacity(value, f.min, f.max));
                }
            }
            Action::RollingDeploy { .. } if self.lock().cp.fleet.deploy.is_some() => {
                return Err(OpError::Deploying);
            }
            Action::KillStorePrimary => {
                let store = self.shop.store.lock().expect("store lock");
                if store.primary_az(0).is_none() {
                    return Err(OpError::NoPrimary);
                }
            }
            Action::KillDbPrimary if self.shop.db.is_none() => {
                return Err(OpError::NotLive {
                    action: a.name(),
                    why: "the shop has no database: add a [database] table to the scenario",
                });
            }
            Action::SetArrivals { .. } => {
                return Err(OpError::NotLive {
                    action: a.name(),
                    why: "the arrival rate belongs to the shoppers, not to the shop: `stratus load --scenario` applies it to its own arrivals",
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// The admin API's answer for `a`, from the line the control plane logged
/// for it (the nodes it chose, the AZ it named).
fn answer(a: &Action, line: String) -> String {
    match a {
        Action::KillAz { .. } | Action::RestoreAz { .. } => format!("{} {line}", a.name()),
        Action::SetDesired { value } => format!("desired capacity {value}"),
        Action::RollingDeploy { .. } => format!("rolling deploy started: {line}"),
        Action::KillStorePrimary => format!("store primary in {line} killed; failover in progress"),
        Action::KillDbPrimary => "database primary killed; failover in progress".into(),
        Action::KillNode { .. } => format!("killed {line}"),
        Action::HangNode { .. } => format!("hung {line}"),
        Action::BlockLaunches { .. } => format!("launches blocked in {line}"),
        Action::PartitionAz { .. } => format!("partitioned {line}"),
        Action::AddLatency { .. } => format!("latency added: {line}"),
        Action::KillLbNode { .. } => format!("the balancer node in {line} is down"),
        Action::FisAzPowerInterruption { .. } => format!("power interrupted: {line}"),
        Action::SetArrivals { .. } => line,
        Action::InjectErrors { .. } | Action::SlowNode { .. } | Action::SlowAz { .. } => line,
    }
}
