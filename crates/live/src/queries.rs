//! A live database instance's capacity (`stratus serve --capacity`, with the
//! in-process database): at most `[database] workers` queries run at a
//! time, each holding its worker for its drawn `query_time`, and at most
//! `max_connections` are open in all; one more is refused
//! (`db_too_many_connections`), as the simulation's instances do. Who runs,
//! waits or is refused is the model's `station::Station`, through the same
//! `Workers` the nodes use; the query's time is the model's
//! `Database::service`, drawn from the instance's own stream, which also
//! counts the instance's busy time and the query's wait for the report.
//!
//! Without `--capacity` the live shop charges no time of its own, for its
//! queries as for its pages.

use super::capacity::{Admitted, CapacityCfg, Workers};
use super::clock::Clock;
use std::sync::{Arc, Mutex};
use stratus_model::db::{DB_TOO_MANY_CONNECTIONS, DB_UNAVAILABLE, Database, DbIx};
use stratus_model::rng::Streams;
use stratus_model::scenario::Kind;
use stratus_model::station::{QueueOrder, ServiceDistribution};
use stratus_model::time::SimTime;

/// Every instance's workers, made as instances appear (a standby the
/// control plane re-creates is a new one).
pub struct Instances {
    cfg: CapacityCfg,
    clock: Clock,
    workers: Mutex<Vec<Arc<Workers>>>,
}

impl Instances {
    pub fn new(db: &stratus_model::scenario::Database, clock: Clock) -> Instances {
        Instances {
            cfg: CapacityCfg {
                workers: db.workers,
                queue_limit: db.max_connections - db.workers,
                order: QueueOrder::Fifo,
                queue_timeout: None,
                // Unused: the draw is the model's (`Database::service`).
                distribution: ServiceDistribution::Exponential,
            },
            clock,
            workers: Mutex::new(Vec::new()),
        }
    }

    fn at(&self, i: DbIx) -> Arc<Workers> {
        let mut all = self.workers.lock().expect("instances lock");
        while all.len() <= i {
            let rng = Streams::new(0).indexed("db_workers", all.len() as u64);
            let w = Workers::new(self.cfg, self.clock, None, rng);
            all.push(w);
        }
        all[i].clone()
    }

    /// Page `kind`'s query at instance `i`: waits for a worker, then holds
    /// it for the query's time. When the query ended on the run's clock,
    /// or the cause of the failure when the instance is full, or died
    /// meanwhile (its queries fail, as in the simulation, and the page's
    /// SQL does not run).
    pub async fn query(
        &self,
        db: &Mutex<Database>,
        i: DbIx,
        kind: Kind,
    ) -> Result<SimTime, &'static str> {
        let asked = self.clock.now();
        let mut held = match self.at(i).admit().await {
            Admitted::Serve(held) => held,
            Admitted::Full | Admitted::Shed => {
                db.lock().expect("db lock").stats.failed(kind);
                return Err(DB_TOO_MANY_CONNECTIONS);
            }
        };
        let t = {
            let mut db = db.lock().expect("db lock");
            if !db.instances[i].alive {
                db.stats.failed(kind);
                return Err(DB_UNAVAILABLE);
            }
            let mean = db.cfg.query_time.get(kind).0;
            db.service(i, mean, held.start().saturating_sub(asked))
        };
        // Timed from when the worker was free, to when it is free again.
        let end = held.serve_for(t, &self.clock).await;
        drop(held);
        let mut db = db.lock().expect("db lock");
        if db.instances[i].alive {
            Ok(end)
        } else {
            db.stats.failed(kind);
            Err(DB_UNAVAILABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::time::Dur;

    fn database(workers: u32, max_connections: u32) -> (Mutex<Database>, Instances) {
        let mut cfg = stratus_model::scenario::Database::new(3);
        cfg.workers = workers;
        cfg.max_connections = max_connections;
        cfg.query_time.set(Kind::Product, Dur::from_ms(20));
        let db = Database::new(&cfg, 10, 1.0, &Streams::new(1)).expect("the seed data");
        (Mutex::new(db), Instances::new(&cfg, Clock::new()))
    }

    #[tokio::test]
    async fn a_query_takes_its_time_and_one_past_the_connections_is_refused() {
        let (db, q) = database(1, 2);
        let (db, q) = (Arc::new(db), Arc::new(q));
        let go = || {
            let (q, db) = (q.clone(), db.clone());
            tokio::spawn(async move { q.query(&db, 0, Kind::Product).await })
        };
        let (first, second) = (go(), go());
        // Both hold a connection (one runs, one waits): a third is refused.
        while q.at(0).load() != (1, 1) {
            tokio::task::yield_now().await;
        }
        assert_eq!(go().await.unwrap(), Err(DB_TOO_MANY_CONNECTIONS));
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        let (Ok(first), Ok(second)) = (first, second) else {
            panic!("both served: {first:?}, {second:?}")
        };
        let db = db.lock().unwrap();
        // The second started when the first ended, for its own drawn time.
        assert!(
            second > first && second - first < db.instances[0].busy_ns,
            "ends {first}, {second}, busy {}",
            db.instances[0].busy_ns
        );
        assert!(
            db.instances[0].busy_ns > 0,
            "the model drew the queries' time"
        );
        assert!(
            db.instances[0].waited_ns > 0,
            "the second waited for the first"
        );
        assert_eq!(db.stats.failed_reads, 1);
    }

    #[tokio::test]
    async fn a_query_on_an_instance_that_died_meanwhile_fails() {
        let (db, q) = database(1, 2);
        let (db, q) = (Arc::new(db), Arc::new(q));
        let running = {
            let (q, db) = (q.clone(), db.clone());
            tokio::spawn(async move { q.query(&db, 0, Kind::Product).await })
        };
        while q.at(0).load().0 == 0 {
            tokio::task::yield_now().await;
        }
        db.lock().unwrap().kill(0, 0);
        assert_eq!(running.await.unwrap(), Err(DB_UNAVAILABLE));
    }
}
