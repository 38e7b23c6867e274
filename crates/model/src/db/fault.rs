//! The SQL tier's losses: an instance or an AZ going down, the failover
//! that promotes the standby (or, without one, the most advanced replica,
//! losing what it never received), the standby's replacement, and an AZ
//! coming back.

use super::{Database, DbIx, DbState, Role};
use crate::core::{AzIx, ShopperId};
use crate::time::SimTime;

/// A completed failover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promotion {
    pub name: String,
    /// The role it had: standby, or replica (which may lose commits).
    pub was: Role,
    pub az: AzIx,
    pub commits_lost: u64,
    pub orders_lost: u64,
}

impl Promotion {
    /// The event a failover is logged as, by both drivers: its kind and line.
    pub fn event(p: Option<&Promotion>, azs: &[String]) -> (&'static str, String) {
        match p {
            Some(p) => (
                "db_failover",
                format!(
                    "{} in {} (was {}) promoted to primary; {} commits ({} orders) lost",
                    p.name,
                    azs[p.az],
                    p.was.name(),
                    p.commits_lost,
                    p.orders_lost
                ),
            ),
            None => (
                "db_down",
                "no standby or replica to promote: writes are down".into(),
            ),
        }
    }
}

/// A follow-up the world must schedule after a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    Promote { at: SimTime, epoch: u32 },
    NewStandby { at: SimTime, epoch: u32 },
}

impl Database {
    /// The live instances in `az`: what the AZ's loss takes.
    pub fn alive_in(&self, az: AzIx) -> Vec<DbIx> {
        (0..self.instances.len())
            .filter(|&i| self.instances[i].az == az && self.instances[i].alive)
            .collect()
    }

    /// Instance `i` stops (its AZ died, or it was killed). Returns what to schedule.
    pub fn kill(&mut self, i: DbIx, now: SimTime) -> Vec<Wake> {
        let inst = &mut self.instances[i];
        if !inst.alive {
            return Vec::new();
        }
        inst.alive = false;
        inst.station.take_in_flight();
        match inst.role {
            Role::Primary => {
                // Asynchronous copies keep what reached them before the
                // primary died; changes still on their way are gone.
                for j in 0..self.instances.len() {
                    if self.instances[j].role == Role::Replica && self.instances[j].alive {
                        let _ = self.catch_up(j, now);
                        self.instances[j].due.clear();
                    }
                }
                self.epoch += 1;
                self.down_since.get_or_insert(now);
                let until = now + self.cfg.failover_time.0;
                self.state = DbState::FailingOver { until };
                vec![Wake::Promote {
                    at: until,
                    epoch: self.epoch,
                }]
            }
            Role::Standby => {
                inst.role = Role::Retired;
                self.epoch += 1;
                vec![Wake::NewStandby {
                    at: now + self.cfg.standby_rebuild.0,
                    epoch: self.epoch,
                }]
            }
            Role::Replica | Role::Retired => Vec::new(),
        }
    }

    /// Shoppers whose queries were running or waiting on instance `i`.
    pub fn in_flight(&self, i: DbIx) -> Vec<(ShopperId, u32)> {
        let st = &self.instances[i].station;
        st.serving
            .iter()
            .copied()
            .chain(st.queue.iter().map(|(s, _)| *s))
            .collect()
    }

    /// Promotes a copy to primary, if failover `epoch` is still current.
    /// Returns what happened (None inside: nothing to promote) and what to
    /// schedule next.
    pub fn promote(&mut self, now: SimTime, epoch: u32) -> Option<(Option<Promotion>, Vec<Wake>)> {
        if epoch != self.epoch || !matches!(self.state, DbState::FailingOver { .. }) {
            return None;
        }
        let old = self.primary.take();
        if let Some(o) = old {
            self.instances[o].role = Role::Retired;
        }
        let standby = self.standby().filter(|&s| self.instances[s].alive);
        let chosen = match standby {
            Some(s) => Some(s),
            None => {
                // The most advanced live replica, once it has applied what reached it.
                let live: Vec<DbIx> = (0..self.instances.len())
                    .filter(|&i| self.instances[i].role == Role::Replica && self.instances[i].alive)
                    .collect();
                for &i in &live {
                    let _ = self.catch_up(i, now);
                }
                live.into_iter()
                    .max_by_key(|&i| (self.instances[i].applied, std::cmp::Reverse(i)))
            }
        };
        let Some(c) = chosen else {
            self.state = DbState::Down;
            return Some((None, Vec::new()));
        };
        let applied = self.instances[c].applied;
        let lost = &self.log[applied..];
        let (orders, commits) = (
            lost.iter().map(|x| x.orders).sum::<u64>(),
            lost.len() as u64,
        );
        self.stats.orders_lost += orders;
        self.stats.commits_lost += commits;
        self.log.truncate(applied);
        for inst in &mut self.instances {
            // Copies behind the new primary forget the lost changes they had queued.
            let keep = applied.saturating_sub(inst.applied);
            inst.due.truncate(keep);
        }
        let inst = &mut self.instances[c];
        let was = inst.role;
        inst.role = Role::Primary;
        inst.due.clear();
        self.primary = Some(c);
        self.state = DbState::Up;
        self.stats.failovers += 1;
        if let Some(t) = self.down_since.take() {
            self.stats.write_outage_ns += now - t;
        }
        self.epoch += 1;
        let p = Promotion {
            name: inst.name.clone(),
            was,
            az: inst.az,
            commits_lost: commits,
            orders_lost: orders,
        };
        Some((
            Some(p),
            vec![Wake::NewStandby {
                at: now + self.cfg.standby_rebuild.0,
                epoch: self.epoch,
            }],
        ))
    }

    /// Creates a new standby in a live AZ other than the primary's, if wake-up
    /// `epoch` is still current and there is no standby. Returns its name.
    pub fn new_standby(&mut self, epoch: u32, alive_azs: &[bool]) -> Option<String> {
        if epoch != self.epoch || self.standby().is_some() || self.cfg.standby_az.is_none() {
            return None;
        }
        let p = self.primary?;
        let paz = self.instances[p].az;
        let n = alive_azs.len();
        let az = (1..n).map(|k| (paz + k) % n).find(|&a| alive_azs[a])?;
        let name = format!("standby-{}", self.instances.len());
        self.copy(name.clone(), Role::Standby, az).ok()?;
        Some(name)
    }

    /// The AZ is back: its replicas (and a standby, or an unreplaced primary)
    /// start again and catch up on what they missed.
    pub fn restore_az(&mut self, az: AzIx, now: SimTime) {
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            if inst.az != az || inst.alive || inst.role == Role::Retired {
                continue;
            }
            if inst.role == Role::Primary && self.state != DbState::Down {
                continue; // a promotion is under way and will replace it
            }
            inst.alive = true;
            if inst.role == Role::Primary {
                self.state = DbState::Up;
                if let Some(t) = self.down_since.take() {
                    self.stats.write_outage_ns += now - t;
                }
            }
            for t in inst.due.iter_mut() {
                *t = (*t).max(now);
            }
            let _ = self.catch_up(i, now);
        }
    }
}
