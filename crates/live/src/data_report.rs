//! `GET /admin/database`: the report's `database` section as the live shop
//! stands now, for `stratus load` to put in its report. In process it is
//! the model's own; on PostgreSQL the servers' measurements replace what
//! the model would draw (see `postgres::Pg::report`).

use super::cluster::Cluster;
use stratus_model::report::data::DatabaseReport;
use stratus_model::time::SEC;

/// The section, the engine's name and the COMMITs left in doubt.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct LiveDatabase {
    pub engine: String,
    pub commits_in_doubt: u64,
    pub report: DatabaseReport,
}

impl Cluster {
    pub async fn database_report(&self) -> Option<LiveDatabase> {
        let db = self.shop.db.as_ref()?;
        let seconds = self.shop.clock.now() as f64 / SEC as f64;
        let r = DatabaseReport::of(&db.lock().expect("db lock"), &self.sc.region.azs, seconds);
        Some(match &self.shop.pg {
            Some(pg) => LiveDatabase {
                engine: "postgres".into(),
                commits_in_doubt: pg.in_doubt(),
                report: pg.report(r).await,
            },
            None => LiveDatabase {
                engine: "in-process".into(),
                commits_in_doubt: 0,
                report: r,
            },
        })
    }
}
