//! The PostgreSQL server processes: finding the binaries, the unprivileged
//! user they run as, `initdb`, `pg_basebackup`, starting a `postgres`. The
//! process handling the engines share (process groups, SIGKILL, the
//! parent-death signal, the spawning thread) is [`crate::engines::proc`].
//!
//! `initdb` and `postgres` refuse to run as root. When Stratus runs as root
//! (CI, containers) every server command runs as the user named by
//! `STRATUS_PG_USER`, by default `postgres`, the system user the Debian
//! package `postgresql` creates; the data directories are handed to it.

use super::PgError;
use crate::engines::proc as engines;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where the server binaries are and who runs them.
#[derive(Clone, Debug)]
pub struct Bin {
    pub dir: PathBuf,
    /// (uid, gid) to run as; None: as ourselves (not root).
    pub user: Option<(u32, u32)>,
}

const MISSING: &str = "PostgreSQL's server binaries (initdb, postgres, pg_basebackup) are not installed: \
     install the Debian package postgresql (apt-get install postgresql), or set STRATUS_PG_BIN to the \
     directory that holds them";

impl Bin {
    /// Finds `initdb` and friends: `STRATUS_PG_BIN`, else the newest
    /// `/usr/lib/postgresql/*/bin` (Debian's layout), else `PATH`.
    pub fn find() -> Result<Bin, PgError> {
        let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_basebackup").is_file();
        let dir = if let Some(d) = std::env::var_os("STRATUS_PG_BIN") {
            Some(PathBuf::from(d)).filter(|d| has(d))
        } else {
            let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .filter(|(_, d)| has(d))
                .collect();
            versions.sort();
            versions.pop().map(|(_, d)| d).or_else(|| {
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                    .find(|d| has(d))
            })
        };
        let dir = dir.ok_or_else(|| PgError::Setup(MISSING.into()))?;
        Ok(Bin {
            dir,
            user: server_user()?,
        })
    }

    /// A command for binary `name`, run as the server user, with no
    /// inherited stdin.
    pub fn cmd(&self, name: &str) -> Command {
        let mut c = Command::new(self.dir.join(name));
        c.stdin(Stdio::null());
        if let Some((uid, gid)) = self.user {
            c.uid(uid).gid(gid);
        }
        c
    }

    /// Runs `c` to completion; its output goes to `log`.
    pub fn run(&self, mut c: Command, what: &str, log: &Path) -> Result<(), PgError> {
        let out = std::fs::File::create(log).map_err(|e| io(log, e))?;
        let err = out.try_clone().map_err(|e| io(log, e))?;
        let st = c
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| PgError::Setup(format!("cannot run {what}: {e}")))?;
        if st.success() {
            Ok(())
        } else {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            Err(PgError::Setup(format!(
                "{what} failed ({st}); its output ({}):\n{}",
                log.display(),
                tail.lines().rev().take(8).collect::<Vec<_>>().join("\n")
            )))
        }
    }

    /// Hands `path` to the server user (a directory it must own).
    pub fn give(&self, path: &Path) -> Result<(), PgError> {
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| io(path, e))?;
        }
        Ok(())
    }

    /// Starts `postgres -D dir -p port` in its own process group, its log
    /// in `log`, dying with Stratus (see [`crate::engines::proc::spawn`]).
    pub fn start(&self, dir: &Path, port: u16, log: &Path) -> Result<Child, PgError> {
        let mut c = self.cmd("postgres");
        c.arg("-D").arg(dir).arg("-p").arg(port.to_string());
        engines::spawn(c, log)
            .map_err(|e| PgError::Setup(format!("cannot start postgres in {}: {e}", dir.display())))
    }
}

pub use engines::{kill, reload};

/// The user the servers run as, when we are root.
fn server_user() -> Result<Option<(u32, u32)>, PgError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("STRATUS_PG_USER").unwrap_or_else(|_| "postgres".into());
    let c = std::ffi::CString::new(name.clone())
        .map_err(|_| PgError::Setup("STRATUS_PG_USER holds a NUL byte".into()))?;
    // SAFETY: getpwnam with a valid C string; the entry is copied at once.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return Err(PgError::Setup(format!(
            "initdb refuses to run as root and there is no user {name:?} to run PostgreSQL as: \
             install the Debian package postgresql (it creates the user postgres), \
             `useradd --system {name}`, or set STRATUS_PG_USER to an unprivileged user"
        )));
    }
    // SAFETY: non-null, just returned by getpwnam.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

/// A loopback port nobody listens on now.
pub fn free_port() -> Result<u16, PgError> {
    engines::free_port().map_err(PgError::Setup)
}

/// Waits until something accepts connections on `port` (the server is up).
pub fn wait_listening(port: u16, child: &mut Child, log: &Path) -> Result<(), PgError> {
    engines::wait_listening(port, child, "postgres", log).map_err(PgError::Setup)
}

/// Appends settings to `dir/postgresql.auto.conf` (a later line wins), as
/// owner-readable as the server's own files.
pub fn set(dir: &Path, lines: &[String]) -> Result<(), PgError> {
    use std::io::Write;
    let path = dir.join("postgresql.auto.conf");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    for l in lines {
        writeln!(f, "{l}").map_err(|e| io(&path, e))?;
    }
    Ok(())
}

fn io(p: &Path, e: std::io::Error) -> PgError {
    PgError::Setup(format!("{}: {e}", p.display()))
}
