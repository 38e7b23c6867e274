//! Creating the cluster, and executing the control plane's decisions on it.
//!
//! Every server process is started from one long-lived thread, so the
//! parent-death signal each carries (see [`proc::Bin::start`]) fires only
//! when Stratus itself goes, never when a short-lived worker thread exits.

use super::pool::Pool;
use super::{Engine, Pg, PgError, SUPERUSER, Server, Stats, lag, proc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use stratus_model::db::{Database, DbIx, DbState, Role};
use stratus_model::rng::Streams;

/// What a started cluster needs to change itself.
pub struct Setup {
    bin: proc::Bin,
    base: PathBuf,
    /// The scenario's replica lag, imposed on each replica as
    /// `recovery_min_apply_delay`.
    delay_ms: u64,
    procs: crate::engines::proc::Spawner,
}

/// The decisions last executed.
#[derive(Default)]
pub struct Applied {
    pub primary: Option<DbIx>,
    /// The standby the primary waits for (`synchronous_standby_names`).
    pub sync: String,
    /// A new standby being copied, by instance index.
    pub creating: Option<DbIx>,
}

impl Setup {
    fn log(&self, name: &str) -> PathBuf {
        self.base.join(format!("{name}.log"))
    }

    /// Settings every instance shares.
    fn common(&self, name: &str) -> Vec<String> {
        [
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "wal_level = replica",
            "max_wal_senders = 16",
            "wal_keep_size = '256MB'",
            "hot_standby = on",
            "synchronous_commit = on",
            "max_connections = 200",
            "shared_buffers = '16MB'",
            "logging_collector = off",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("cluster_name = '{name}'")])
        .collect()
    }

    /// A copy's settings: follow `primary_port`, on the newest timeline.
    fn follow(&self, name: &str, primary_port: u16, replica: bool) -> Vec<String> {
        let mut v = vec![
            conninfo(name, primary_port),
            "recovery_target_timeline = 'latest'".to_string(),
        ];
        if replica {
            v.push(format!("recovery_min_apply_delay = '{}ms'", self.delay_ms));
        }
        v
    }

    /// `initdb` and start the primary.
    fn primary(&self, name: &str) -> Result<Server, PgError> {
        let dir = self.base.join(name);
        let mut c = self.bin.cmd("initdb");
        c.arg("-D").arg(&dir).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        self.bin.run(c, "initdb", &self.base.join("initdb.log"))?;
        proc::set(&dir, &self.common(name))?;
        self.launch(name, dir, Vec::new())
    }

    /// A copy of the primary on `primary_port` (`pg_basebackup -R`), started.
    fn copy(&self, name: &str, primary_port: u16, replica: bool) -> Result<Server, PgError> {
        let dir = self.base.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let mut c = self.bin.cmd("pg_basebackup");
        c.args(["-h", "127.0.0.1", "-p", &primary_port.to_string()])
            .args(["-U", SUPERUSER, "-X", "stream", "-c", "fast", "-R", "-D"])
            .arg(&dir);
        let log = self.base.join(format!("{name}-basebackup.log"));
        self.bin.run(c, "pg_basebackup", &log)?;
        let mut conf = self.common(name);
        conf.extend(self.follow(name, primary_port, replica));
        // A copy of the primary's settings must not wait for a standby of its own.
        conf.push("synchronous_standby_names = ''".into());
        proc::set(&dir, &conf)?;
        self.launch(name, dir, Vec::new())
    }

    /// Starts `postgres` in `dir` on a fresh port and waits until it listens.
    fn launch(&self, name: &str, dir: PathBuf, extra: Vec<String>) -> Result<Server, PgError> {
        if !extra.is_empty() {
            proc::set(&dir, &extra)?;
        }
        let port = proc::free_port()?;
        let (bin, d, log) = (self.bin.clone(), dir.clone(), self.log(name));
        let mut child = self.procs.on(move || bin.start(&d, port, &log))?;
        proc::wait_listening(port, &mut child, &self.log(name))?;
        Ok(Server {
            name: name.to_string(),
            port,
            dir,
            child: Some(child),
        })
    }
}

/// `primary_conninfo` naming the copy, so the primary can wait for it by name.
fn conninfo(name: &str, port: u16) -> String {
    format!(
        "primary_conninfo = 'host=127.0.0.1 port={port} user={SUPERUSER} application_name={name}'"
    )
}

/// `synchronous_standby_names` for a standby called `name` (none: '').
fn sync_line(name: &str) -> String {
    if name.is_empty() {
        "synchronous_standby_names = ''".into()
    } else {
        format!("synchronous_standby_names = '\"{name}\"'")
    }
}

/// The seed data (the model's own `sql::create`, same seed) as one
/// PostgreSQL script: the schema, then every row.
fn seed_script(db: &Database, catalog: u32, seed: u64) -> Result<String, PgError> {
    use stratus_model::db::sql;
    let err = |e: rusqlite::Error| PgError::Setup(format!("the seed data: {e}"));
    let conn = rusqlite::Connection::open_in_memory().map_err(err)?;
    let mut rng = Streams::new(seed).stream("db_seed");
    sql::create(&conn, db.cfg.users, catalog, &mut rng).map_err(err)?;
    let mut out = String::from("BEGIN;\n");
    out.push_str(&super::data::dialect(sql::SCHEMA));
    for table in ["users", "addresses", "products"] {
        let mut st = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .map_err(err)?;
        let n = st.column_count();
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let vals: Vec<String> = (0..n)
                .map(|i| match r.get_ref(i) {
                    Ok(rusqlite::types::ValueRef::Integer(v)) => v.to_string(),
                    Ok(rusqlite::types::ValueRef::Text(t)) => {
                        format!("'{}'", String::from_utf8_lossy(t).replace('\'', "''"))
                    }
                    _ => "NULL".into(),
                })
                .collect();
            out.push_str(&format!(
                "INSERT INTO {table} VALUES ({});\n",
                vals.join(", ")
            ));
        }
    }
    out.push_str("COMMIT;\n");
    Ok(out)
}

impl Pg {
    /// Starts the engine for the scenario's database `db` (blocking: a
    /// cluster takes a few seconds). `catalog` and `seed` give the seed data.
    pub fn start(engine: &Engine, db: &Database, catalog: u32, seed: u64) -> Result<Pg, PgError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stratus-pg-client")
            .enable_all()
            .build()
            .map_err(|e| PgError::Setup(format!("cannot start the client runtime: {e}")))?;
        let timeout = Duration::from_nanos(db.cfg.connect_timeout.0);
        let mut pg = Pg {
            pools: RwLock::new(Vec::new()),
            servers: Arc::new(Mutex::new(Vec::new())),
            applied: Mutex::new(Applied::default()),
            stats: Arc::new(Stats::default()),
            lag: Arc::new(Mutex::new(lag::Lag::default())),
            timeout,
            rt: Some(rt),
            setup: None,
            base: None,
        };
        match engine {
            Engine::InProcess => Err(PgError::Setup("no PostgreSQL engine asked for".into())),
            Engine::Url(u) => {
                let config: tokio_postgres::Config = u
                    .parse()
                    .map_err(|e: tokio_postgres::Error| PgError::Url(u.clone(), e.to_string()))?;
                let pool = Arc::new(Pool::new(config, timeout));
                let script = seed_script(db, catalog, seed)?;
                let p = pool.clone();
                pg.rt()
                    .block_on(async move {
                        let have = p
                            .query("SELECT to_regclass('orders') IS NOT NULL", &[])
                            .await?;
                        match have.first().map(|r| r.get::<_, bool>(0)) {
                            Some(true) => Ok(()),
                            _ => p.batch(&script).await,
                        }
                    })
                    .map_err(|e| PgError::Url(u.clone(), e.to_string()))?;
                pg.pools.write().expect("pools lock").push(pool);
                pg.applied.lock().expect("applied").primary = Some(0);
                Ok(pg)
            }
            Engine::Postgres { dir } => {
                let bin = proc::Bin::find()?;
                let base = dir
                    .clone()
                    .unwrap_or_else(|| crate::engines::proc::temp_base("pg"));
                std::fs::create_dir_all(&base)
                    .map_err(|e| PgError::Setup(format!("{}: {e}", base.display())))?;
                bin.give(&base)?;
                if dir.is_none() {
                    pg.base = Some(base.clone());
                }
                let procs = crate::engines::proc::Spawner::new("stratus-pg-procs")
                    .map_err(PgError::Setup)?;
                pg.setup = Some(Setup {
                    bin,
                    base,
                    delay_ms: db.cfg.replica_lag.0 / 1_000_000,
                    procs,
                });
                pg.create(db, catalog, seed)?;
                let lag = lag::sample(pg.servers.clone(), pg.lag.clone());
                pg.rt().spawn(lag);
                Ok(pg)
            }
        }
    }

    fn setup(&self) -> &Setup {
        self.setup.as_ref().expect("a cluster Stratus started")
    }

    fn add(&self, s: Server) {
        let pool = Pool::local(s.port, SUPERUSER, self.timeout);
        eprintln!(
            "postgres {} listens on 127.0.0.1:{} ({})",
            s.name,
            s.port,
            s.dir.display()
        );
        self.pools.write().expect("pools lock").push(Arc::new(pool));
        self.servers.lock().expect("servers lock").push(s);
    }

    /// The primary, seeded; then each copy the model holds, in its order.
    fn create(&self, db: &Database, catalog: u32, seed: u64) -> Result<(), PgError> {
        let st = self.setup();
        let first = &db.instances[0];
        self.add(st.primary(&first.name)?);
        let script = seed_script(db, catalog, seed)?;
        let pool = self.pool(0).expect("the primary's pool");
        self.rt()
            .block_on(async move { pool.batch(&script).await })
            .map_err(|e| PgError::Setup(format!("seeding the primary: {e}")))?;
        let port = self.servers.lock().expect("servers lock")[0].port;
        for inst in &db.instances[1..] {
            self.add(st.copy(&inst.name, port, inst.role == Role::Replica)?);
        }
        self.applied.lock().expect("applied").primary = Some(0);
        self.sync_standby(db);
        Ok(())
    }

    /// Makes the primary wait for the model's live standby (or for none).
    fn sync_standby(&self, db: &Database) {
        let want = db
            .standby()
            .filter(|&s| db.instances[s].alive)
            .map(|s| db.instances[s].name.clone())
            .unwrap_or_default();
        let mut a = self.applied.lock().expect("applied");
        let (Some(p), true) = (a.primary, a.sync != want) else {
            return;
        };
        let servers = self.servers.lock().expect("servers lock");
        let running = want.is_empty() || servers.iter().any(|s| s.name == want);
        if let (Some(s), true) = (servers.get(p), running)
            && proc::set(&s.dir, &[sync_line(&want)]).is_ok()
        {
            if let Some(c) = &s.child {
                proc::reload(c);
            }
            a.sync = want;
        }
    }

    /// Executes the model's database decisions on the servers: kills what
    /// died, restarts what came back, promotes the model's primary, re-points
    /// the copies at it, sets the standby the primary waits for, and copies
    /// a new standby when the model made one. Idempotent; called after every
    /// control-plane step.
    pub fn reconcile(self: &Arc<Self>, db: &Database) {
        if self.setup.is_none() {
            return;
        }
        let primary = db.primary().filter(|_| db.state == DbState::Up);
        let (promote, was) = {
            let a = self.applied.lock().expect("applied");
            (primary.filter(|&p| a.primary != Some(p)), a.primary)
        };
        let mut servers = self.servers.lock().expect("servers lock");
        let mut new = None;
        for (i, inst) in db.instances.iter().enumerate() {
            let Some(s) = servers.get_mut(i) else {
                new = new.or(Some(i));
                continue;
            };
            let run = inst.alive && inst.role != Role::Retired;
            if !run && let Some(mut c) = s.child.take() {
                proc::kill(&mut c);
                eprintln!("postgres {} killed (SIGKILL)", s.name);
            }
        }
        let primary_port = primary.and_then(|p| servers.get(p)).map(|s| s.port);
        if let (Some(p), Some(port)) = (promote, primary_port) {
            for (j, s) in servers.iter().enumerate() {
                let follower = j != p && db.instances[j].role != Role::Retired;
                if follower
                    && proc::set(&s.dir, &[conninfo(&s.name, port)]).is_ok()
                    && let Some(c) = &s.child
                {
                    proc::reload(c);
                }
            }
            let s = &servers[p];
            let _ = proc::set(&s.dir, &[sync_line("")]);
            if let Some(c) = &s.child {
                proc::reload(c);
            }
            eprintln!("postgres {} promoted (pg_promote)", s.name);
        }
        for (i, inst) in db.instances.iter().enumerate() {
            let Some(s) = servers.get_mut(i) else {
                continue;
            };
            if inst.alive && inst.role != Role::Retired && s.child.is_none() {
                self.restart(s, primary_port.filter(|_| Some(i) != primary));
            }
        }
        let port = primary_port.or_else(|| was.and_then(|p| servers.get(p)).map(|s| s.port));
        drop(servers);
        if let (Some(i), Some(port)) = (new, port) {
            self.maybe_copy(db, i, port);
        }
        if let Some(p) = promote {
            {
                let mut a = self.applied.lock().expect("applied");
                a.primary = Some(p);
                a.sync = String::new();
            }
            if let Some(pool) = self.pool(p) {
                self.rt().spawn(async move {
                    if let Err(e) = pool.query("SELECT pg_promote(true, 60)", &[]).await {
                        eprintln!("pg_promote failed: {e}");
                    }
                });
            }
        }
        self.sync_standby(db);
    }

    /// An instance whose AZ came back starts again (following `primary`).
    fn restart(&self, s: &mut Server, primary: Option<u16>) {
        let st = self.setup();
        if let Some(port) = primary {
            let _ = proc::set(&s.dir, &[conninfo(&s.name, port)]);
        }
        let (bin, dir, port, log) = (st.bin.clone(), s.dir.clone(), s.port, st.log(&s.name));
        match st.procs.on(move || bin.start(&dir, port, &log)) {
            Ok(c) => {
                s.child = Some(c);
                eprintln!("postgres {} restarted", s.name);
            }
            Err(e) => eprintln!("postgres {} could not restart: {e}", s.name),
        }
    }

    /// The model made a new standby (index `i`): copy it from the primary
    /// in the background; the primary waits for it once it runs.
    fn maybe_copy(self: &Arc<Self>, db: &Database, i: DbIx, port: u16) {
        let inst = &db.instances[i];
        let mut a = self.applied.lock().expect("applied");
        if a.creating.is_some() || !inst.alive || inst.role != Role::Standby {
            return;
        }
        a.creating = Some(i);
        let (me, name) = (self.clone(), inst.name.clone());
        std::thread::spawn(move || {
            match me.setup().copy(&name, port, false) {
                Ok(s) => me.add(s),
                Err(e) => eprintln!("postgres {name}: {e}"),
            }
            me.applied.lock().expect("applied").creating = None;
        });
    }

    /// The data directory's parent (for messages).
    pub fn base(&self) -> Option<&Path> {
        self.setup.as_ref().map(|s| s.base.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_script_holds_the_models_rows_in_postgres_dialect() {
        let mut sc = stratus_model::scenario::Database::new(3);
        sc.users = 5;
        let db = Database::new(&sc, 10, 1.0, &Streams::new(7)).unwrap();
        let s = seed_script(&db, 10, 7).unwrap();
        assert!(s.starts_with("BEGIN;") && s.ends_with("COMMIT;\n"));
        assert!(s.contains("id BIGINT PRIMARY KEY") && !s.contains("INTEGER"));
        assert_eq!(s.matches("INSERT INTO users VALUES").count(), 5);
        assert_eq!(s.matches("INSERT INTO addresses VALUES").count(), 5);
        assert_eq!(s.matches("INSERT INTO products VALUES").count(), 10);
        assert_eq!(s, seed_script(&db, 10, 7).unwrap(), "same seed, same rows");
    }

    #[test]
    fn a_standby_is_named_in_quotes_and_none_is_empty() {
        assert_eq!(
            sync_line("standby-3"),
            "synchronous_standby_names = '\"standby-3\"'"
        );
        assert_eq!(sync_line(""), "synchronous_standby_names = ''");
        assert!(
            conninfo("replica-1", 5433)
                .contains("port=5433 user=stratus application_name=replica-1")
        );
    }
}
