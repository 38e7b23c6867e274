//! `stratus serve --strategy store --store redis`: the scenario's session
//! store on real Redis servers. Stratus starts a `redis-server` as the
//! primary in the scenario's `primary_az` and one as a replica in each of
//! its replica AZs, each on its own loopback port and in its own folder,
//! and three Sentinels (`redis-server --sentinel`), one per AZ, that watch
//! the primary. The shop reaches the primary through the `redis` crate's
//! Sentinel client ([`crate::remote`]).
//!
//! The control plane decides, as in the simulation, which AZs lose power
//! (and when the store's primary fails on its own); [`Redis::reconcile`]
//! executes that on the processes: SIGKILL for every server and Sentinel
//! in a dead AZ, and on the AZ's return a fresh, empty replica of the
//! current primary and the Sentinel restarted from its own file. Sentinel,
//! not Stratus, picks and promotes the new primary, as ElastiCache's
//! failover does; [`watch`] reports what it did and measures the
//! replication window that decides which carts are lost.
//!
//! - [`conf`]: the servers' and Sentinels' files, and the Sentinel timings
//! - [`watch`]: what the servers and Sentinels say, sampled

pub mod conf;
pub mod watch;

use crate::engines::proc;
use crate::remote::Counters;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use stratus_model::session::store::StoreState;

/// Why the Redis servers could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Setup(String),
}

const MISSING: &str = "redis-server is not installed: install the Debian package redis-server \
     (apt-get install redis-server; it runs the Sentinels too, as redis-server --sentinel), \
     or set STRATUS_REDIS_BIN to the redis-server binary";

/// One process: a server or a Sentinel.
#[derive(Debug)]
pub struct Instance {
    pub name: String,
    pub az: usize,
    pub port: u16,
    pub dir: PathBuf,
    pub child: Option<Child>,
    /// Killed on its own (`kill_store_primary`), not with its AZ: it comes
    /// back as a replica once the model has a primary again.
    pub alone: bool,
}

impl Instance {
    fn conf(&self) -> PathBuf {
        self.dir.join(if self.name.starts_with("sentinel") {
            "sentinel.conf"
        } else {
            "redis.conf"
        })
    }
}

/// The running servers and Sentinels.
pub struct Redis {
    bin: PathBuf,
    base: PathBuf,
    procs: proc::Spawner,
    pub timings: conf::Timings,
    pub servers: Mutex<Vec<Instance>>,
    pub sentinels: Mutex<Vec<Instance>>,
    /// What the watcher saw; the client's counts.
    pub seen: Arc<Mutex<watch::Seen>>,
    pub counters: Arc<Counters>,
    /// The model's store state as last executed.
    model: Mutex<StoreState>,
    azs: Vec<String>,
    /// The shop's clock: the times in the serve log and the reports.
    pub clock: crate::clock::Clock,
}

/// `redis-server`: `STRATUS_REDIS_BIN`, else the first on `PATH`.
fn find_bin() -> Result<PathBuf, EngineError> {
    if let Some(b) = std::env::var_os("STRATUS_REDIS_BIN") {
        let b = PathBuf::from(b);
        return if b.is_file() {
            Ok(b)
        } else {
            Err(EngineError::Setup(MISSING.into()))
        };
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| EngineError::Setup(MISSING.into()))
}

fn io(p: &Path, e: std::io::Error) -> EngineError {
    EngineError::Setup(format!("{}: {e}", p.display()))
}

impl Redis {
    /// Starts the servers (primary first, placed as `primary_az` and
    /// `replica_azs` say) and the Sentinels, and waits until the Sentinels
    /// know each other and every replica (blocking: a second or two).
    pub fn start(
        azs: &[String],
        primary_az: usize,
        replica_azs: &[usize],
        failover_after_ns: u64,
        clock: crate::clock::Clock,
    ) -> Result<Redis, EngineError> {
        let bin = find_bin()?;
        let base = proc::temp_base("redis");
        std::fs::create_dir_all(&base).map_err(|e| io(&base, e))?;
        let procs = proc::Spawner::new("stratus-redis-procs").map_err(EngineError::Setup)?;
        let r = Redis {
            bin,
            base,
            procs,
            timings: conf::Timings::for_failover_after(failover_after_ns),
            servers: Mutex::new(Vec::new()),
            sentinels: Mutex::new(Vec::new()),
            seen: Arc::default(),
            counters: Arc::default(),
            model: Mutex::new(StoreState::Up),
            azs: azs.to_vec(),
            clock,
        };
        let mut placed = vec![primary_az];
        for &a in replica_azs {
            if !placed.contains(&a) {
                placed.push(a);
            }
        }
        let mut primary = None;
        for az in placed {
            let s = r.instance(format!("redis-{}", azs[az]), az)?;
            std::fs::write(s.conf(), conf::server(s.port, &s.dir, primary))
                .map_err(|e| io(&s.conf(), e))?;
            let s = r.launch(s, false)?;
            primary.get_or_insert(s.port);
            r.servers.lock().expect("servers").push(s);
        }
        let primary = primary.expect("the primary");
        for (i, az) in conf::sentinel_azs(azs.len()).into_iter().enumerate() {
            // Numbered: in a region of fewer than three AZs two share one.
            let s = r.instance(format!("sentinel-{}-{}", i + 1, azs[az]), az)?;
            std::fs::write(s.conf(), conf::sentinel(s.port, &s.dir, primary, r.timings))
                .map_err(|e| io(&s.conf(), e))?;
            let s = r.launch(s, true)?;
            r.sentinels.lock().expect("sentinels").push(s);
        }
        r.seen.lock().expect("seen").master = Some(primary);
        watch::wait_ready(&r)?;
        Ok(r)
    }

    /// A new instance's name, AZ, port and (empty) folder.
    fn instance(&self, name: String, az: usize) -> Result<Instance, EngineError> {
        let dir = self.base.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        Ok(Instance {
            port: proc::free_port().map_err(EngineError::Setup)?,
            name,
            az,
            dir,
            child: None,
            alone: false,
        })
    }

    /// Starts `s` from its file and waits until it listens.
    fn launch(&self, mut s: Instance, sentinel: bool) -> Result<Instance, EngineError> {
        let mut child = self.spawn(&s, sentinel)?;
        proc::wait_listening(s.port, &mut child, &s.name, &self.log(&s.name))
            .map_err(EngineError::Setup)?;
        eprintln!(
            "{} ({}) listens on 127.0.0.1:{} ({})",
            s.name,
            self.azs[s.az],
            s.port,
            s.dir.display()
        );
        s.child = Some(child);
        Ok(s)
    }

    fn spawn(&self, s: &Instance, sentinel: bool) -> Result<Child, EngineError> {
        let mut c = Command::new(&self.bin);
        c.arg(s.conf());
        if sentinel {
            c.arg("--sentinel");
        }
        let log = self.log(&s.name);
        self.procs
            .on(move || proc::spawn(c, &log))
            .map_err(|e| EngineError::Setup(format!("cannot start redis-server: {e}")))
    }

    fn log(&self, name: &str) -> PathBuf {
        self.base.join(format!("{name}.log"))
    }

    /// The folder every instance's files and logs are under (removed at the end).
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The Sentinels' addresses, for the client.
    pub fn sentinel_addrs(&self) -> Vec<String> {
        let s = self.sentinels.lock().expect("sentinels");
        s.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect()
    }

    /// Executes the control plane's decisions: every process in an AZ
    /// without power is killed, and comes back when power does; when the
    /// model's store loses its primary with no AZ going dark, the real
    /// primary is killed. Idempotent; called after every control-plane step.
    pub fn reconcile(&self, alive: &[bool], model: StoreState) {
        let was = std::mem::replace(&mut *self.model.lock().expect("model"), model);
        let master = self.seen.lock().expect("seen").master;
        let mut servers = self.servers.lock().expect("servers");
        let mut killed_master = None;
        for s in servers.iter_mut() {
            let on = alive.get(s.az).copied().unwrap_or(true);
            if !on && let Some(mut c) = s.child.take() {
                proc::kill(&mut c);
                if Some(s.port) == master {
                    killed_master = Some(s.name.clone());
                }
                eprintln!("{} killed (SIGKILL: {} lost power)", s.name, self.azs[s.az]);
            }
        }
        // `kill_store_primary`: the model's primary failed by itself.
        let lost_alone =
            was == StoreState::Up && model != StoreState::Up && killed_master.is_none();
        if lost_alone
            && let Some(s) = servers.iter_mut().find(|s| Some(s.port) == master)
            && let Some(mut c) = s.child.take()
        {
            proc::kill(&mut c);
            s.alone = true;
            killed_master = Some(s.name.clone());
            eprintln!("{} killed (SIGKILL: the store's primary failed)", s.name);
        }
        if let Some(name) = killed_master {
            let survivors = servers.iter().filter(|s| s.child.is_some());
            let ports = survivors.map(|s| s.port).collect();
            watch::master_killed(self, name, ports);
        }
        for s in servers.iter_mut() {
            let on = alive.get(s.az).copied().unwrap_or(true);
            let back = on && s.child.is_none() && (!s.alone || model == StoreState::Up);
            if back && let Some(m) = master.filter(|&m| m != s.port) {
                self.fresh_replica(s, m);
            }
        }
        drop(servers);
        let mut sentinels = self.sentinels.lock().expect("sentinels");
        for s in sentinels.iter_mut() {
            let on = alive.get(s.az).copied().unwrap_or(true);
            match (on, s.child.take()) {
                (false, Some(mut c)) => {
                    proc::kill(&mut c);
                    eprintln!("{} killed (SIGKILL: {} lost power)", s.name, self.azs[s.az]);
                }
                (true, None) => match self.spawn(s, true) {
                    // From its own file, as a rebooted host would.
                    Ok(c) => {
                        s.child = Some(c);
                        eprintln!("{} restarted", s.name);
                    }
                    Err(e) => eprintln!("{}: {e}", s.name),
                },
                (_, c) => s.child = c,
            }
        }
    }

    /// `s` starts again empty, as a replica of the server on `master`
    /// (a replacement node copies the primary).
    fn fresh_replica(&self, s: &mut Instance, master: u16) {
        let _ = std::fs::remove_dir_all(&s.dir);
        let made = std::fs::create_dir_all(&s.dir)
            .and_then(|_| std::fs::write(s.conf(), conf::server(s.port, &s.dir, Some(master))));
        match made
            .map_err(|e| io(&s.dir, e))
            .and_then(|_| self.spawn(s, false))
        {
            Ok(c) => {
                s.child = Some(c);
                s.alone = false;
                eprintln!(
                    "{} started again, empty, as a replica of 127.0.0.1:{master}",
                    s.name
                );
            }
            Err(e) => eprintln!("{}: {e}", s.name),
        }
    }

    /// Stops every process (SIGKILL, reaped) and removes the folder.
    pub fn stop(&self) {
        for list in [&self.servers, &self.sentinels] {
            for s in list.lock().expect("instances").iter_mut() {
                if let Some(mut c) = s.child.take() {
                    proc::kill(&mut c);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }

    /// The AZ names, by index.
    pub fn az_name(&self, az: usize) -> &str {
        &self.azs[az]
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
