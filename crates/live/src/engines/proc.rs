//! Server processes the real engines run (PostgreSQL, Redis, Sentinel):
//! each in its own process group, its output in a log file, dying with
//! Stratus (PR_SET_PDEATHSIG), killed with SIGKILL (an AZ losing power: no
//! clean shutdown), and started from one long-lived thread ([`Spawner`]), so
//! the parent-death signal fires only when Stratus itself goes, never when
//! a short-lived worker thread that happened to spawn it exits.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

/// The one thread every server process of an engine is started from.
pub struct Spawner {
    jobs: Sender<Job>,
}

impl Spawner {
    /// Starts the thread, named `name`.
    pub fn new(name: &str) -> Result<Spawner, String> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        Ok(Spawner { jobs })
    }

    /// Runs `f` on the process thread and waits for its answer.
    pub fn on<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("the process thread lives as long as the engine");
        rx.recv().expect("the process thread answers")
    }
}

/// Starts `c` in its own process group, stdout and stderr appended to
/// `log`; the process gets SIGKILL when Stratus dies. Call it on the
/// [`Spawner`]'s thread.
pub fn spawn(mut c: Command, log: &Path) -> std::io::Result<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    c.stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; it only marks this process.
    unsafe {
        c.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c.spawn()
}

/// SIGKILL to the whole process group of `child` (a server and the
/// processes it forked), then reaps it.
pub fn kill(child: &mut Child) {
    // SAFETY: killpg with a process group we created; a stale id is harmless.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// SIGHUP to `child`: a server re-reads its configuration files.
pub fn reload(child: &Child) {
    // SAFETY: kill with our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGHUP);
    }
}

/// A loopback port nobody listens on now.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Waits until something accepts connections on `port` (the server named
/// `what` is up). A driver's wait on a real process: wall clock.
#[allow(clippy::disallowed_methods)]
pub fn wait_listening(port: u16, child: &mut Child, what: &str, log: &Path) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(60);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < until {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!(
                "{what} on port {port} exited ({st}); see {}",
                log.display()
            ));
        }
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{what} on port {port} did not accept connections within 60 s; see {}",
        log.display()
    ))
}

/// A fresh folder under the system's temporary directory, named for the
/// engine, this process and a random number.
pub fn temp_base(engine: &str) -> std::path::PathBuf {
    let r = crate::clock::random_u128() as u32;
    std::env::temp_dir().join(format!("stratus-{engine}-{}-{r:08x}", std::process::id()))
}
