//! The zero-configuration PostgreSQL server: a private cluster that tmk creates once under
//! `<project>/.tmk/postgres/` and starts on a free loopback port with the system's server
//! binaries, and throw-away clusters for the test suite.
//!
//! Owns: the server processes (`initdb`, `pg_ctl`, `postgres`) and their directories (data
//! directory, log file, socket directory, recorded port, lock file). When tmk runs as root the
//! server runs as the `postgres` system user, because PostgreSQL refuses to run as root.
//!
//! Must not touch: SQL. This module never speaks to the database beyond a TCP probe; connecting
//! belongs to the adapter.
//!
//! It uses `std::fs` directly (exempt from the `crate::fs` rule): its errors are
//! `EmbeddedError`s that name their paths all the same.
#![allow(
    clippy::disallowed_methods,
    reason = "server directories are owned here; every error names its path"
)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The address the server listens on, and the only one it listens on.
const HOST: &str = "127.0.0.1";
/// The superuser `initdb` creates, the role tmk connects as, and the system user that runs the
/// server when tmk runs as root.
const SUPERUSER: &str = "postgres";
/// The database tmk connects to.
const DATABASE: &str = "postgres";
/// Seconds `pg_ctl` waits for the server to start or stop.
const PG_CTL_TIMEOUT_SECS: &str = "30";
/// How many lines of a log or of a tool's output an error quotes.
const TAIL_LINES: usize = 20;
/// How often a start that failed for a passing reason (port taken, a killed server not yet
/// reaped or its processes still exiting) is tried.
const START_ATTEMPTS: u32 = 10;
/// The pause before such a start is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(300);
/// How long the probe waits for a TCP connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// The longest Unix socket path the kernel accepts (`sun_path` minus its NUL).
const SOCKET_PATH_MAX: usize = 107;
/// The longest socket file name inside the socket directory.
const SOCKET_FILE_MAX: &str = "/.s.PGSQL.65535";
/// Where Debian and Ubuntu install the server binaries, one directory per major version.
const PACKAGED_ROOT: &str = "/usr/lib/postgresql";

/// Something went wrong while finding, creating, starting or stopping a server.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EmbeddedError {
    /// What went wrong, naming the paths involved.
    pub message: String,
    /// What the user can do about it, when there is something.
    pub hint: Option<String>,
}

impl EmbeddedError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An I/O error on `path`, e.g. "could not create `/x`: Permission denied".
    fn io(action: &str, path: &Path, error: io::Error) -> Self {
        Self::new(format!("could not {action} `{}`: {error}", path.display()))
    }
}

/// A cluster that is running, and how to reach it.
#[derive(Debug, Clone)]
pub struct RunningCluster {
    /// The address the server listens on: always `127.0.0.1`.
    pub host: String,
    /// The TCP port the server listens on.
    pub port: u16,
    /// The superuser to connect as: `postgres`, trusted without a password.
    pub user: String,
    /// The database to connect to: `postgres`.
    pub database: String,
    /// The cluster's data directory.
    pub data_dir: PathBuf,
    /// True when this call started the server (the caller prints one line saying so).
    pub started_now: bool,
    /// True when this call created the cluster with `initdb`.
    pub created_now: bool,
}

/// Where the server binaries are: the directory on PATH that holds `initdb` and `pg_ctl`, else
/// the newest `/usr/lib/postgresql/*/bin`.
pub fn find_server_binaries() -> Result<PathBuf, EmbeddedError> {
    binaries_on_path()
        .or_else(newest_packaged_binaries)
        .ok_or_else(|| {
            EmbeddedError::new(format!(
                "no PostgreSQL server binaries found: `initdb` and `pg_ctl` are neither on PATH \
                 nor under {PACKAGED_ROOT}/*/bin"
            ))
            .with_hint(
                "install them with `apt-get install postgresql` (or put the directory holding \
                 `pg_ctl` on PATH), or write a profiles.yml that points at an existing server",
            )
        })
}

/// Ensures the persistent cluster under `root` (e.g. `<project>/.tmk/postgres`) exists and runs.
///
/// Creates it with `initdb` the first time, starts it unless it already runs (its
/// `postmaster.pid` names a port that accepts TCP connections), and records the port in
/// `root/port`. A restart prefers the recorded port and takes a free one when that is taken.
/// Concurrent callers are serialised by an exclusive lock on `root/.lock`.
pub fn ensure_running(root: &Path) -> Result<RunningCluster, EmbeddedError> {
    let layout = Layout::prepare(root, Tuning::PERSISTENT)?;
    let _lock = layout.lock()?;
    let created_now = layout.initialise()?;
    if let Some(port) = layout.running_port() {
        return Ok(layout.cluster(port, false, created_now));
    }
    let port = layout.start_on_free_port(layout.recorded_port())?;
    layout.record_port(port)?;
    Ok(layout.cluster(port, true, created_now))
}

/// Stops the persistent cluster under `root` (`pg_ctl stop -m fast`); Ok when it was not running.
pub fn stop(root: &Path) -> Result<(), EmbeddedError> {
    if !root.is_dir() {
        return Ok(());
    }
    let layout = Layout::prepare(root, Tuning::PERSISTENT)?;
    let _lock = layout.lock()?;
    if layout.running_port().is_none() {
        return Ok(());
    }
    layout.stop("fast")
}

/// A throw-away cluster for tests: a fresh directory under the system temp directory, `fsync`
/// off, stopped and its directory removed on drop.
pub struct TemporaryCluster {
    cluster: RunningCluster,
    layout: Layout,
    // Declared last so that it is dropped after the server has been stopped.
    _directory: RemovedOnDrop,
}

impl TemporaryCluster {
    /// Creates and starts a new cluster in a new temporary directory.
    pub fn start() -> Result<TemporaryCluster, EmbeddedError> {
        let directory = RemovedOnDrop(create_unique_temp_dir()?);
        let layout = Layout::prepare(&directory.0, Tuning::TEMPORARY)?;
        layout.initialise()?;
        let port = layout
            .start_on_free_port(None)
            .inspect_err(|_| layout.stop_immediately())?;
        Ok(TemporaryCluster {
            cluster: layout.cluster(port, true, true),
            layout,
            _directory: directory,
        })
    }

    /// How to reach the cluster.
    pub fn cluster(&self) -> &RunningCluster {
        &self.cluster
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: every session is cut,
    /// no shutdown checkpoint, the next start replays the WAL); the data directory stays.
    pub fn crash(&self) -> Result<(), EmbeddedError> {
        self.layout.stop("immediate")
    }

    /// Starts the server again after `crash`, on the same data directory and port.
    pub fn restart(&self) -> Result<(), EmbeddedError> {
        let port = self.layout.start_on_free_port(Some(self.cluster.port))?;
        if port == self.cluster.port {
            return Ok(());
        }
        self.layout.stop_immediately();
        Err(EmbeddedError::new(format!(
            "port {} was taken while the server of `{}` was stopped",
            self.cluster.port,
            self.layout.data_dir().display()
        )))
    }
}

impl Drop for TemporaryCluster {
    /// Stops the server (`pg_ctl stop -m immediate`); the directory goes with the fields.
    fn drop(&mut self) {
        self.layout.stop_immediately();
    }
}

/// True when something accepts TCP connections at `host:port` within `timeout`.
pub fn port_answers(host: &str, port: u16, timeout: Duration) -> bool {
    (host, port).to_socket_addrs().is_ok_and(|mut addresses| {
        addresses.any(|address| TcpStream::connect_timeout(&address, timeout).is_ok())
    })
}

/// What differs between the persistent cluster and a throw-away one.
struct Tuning {
    /// Extra `initdb` arguments.
    initdb_args: &'static [&'static str],
    /// Extra server options, appended to `pg_ctl -o`.
    server_options: &'static str,
}

impl Tuning {
    const PERSISTENT: Tuning = Tuning {
        initdb_args: &[],
        server_options: "",
    };
    const TEMPORARY: Tuning = Tuning {
        initdb_args: &["--no-sync"],
        server_options: " -c fsync=off",
    };
}

/// The files of one cluster, the binaries that run it, and the account they run as.
struct Layout {
    bin: PathBuf,
    /// Absolute and canonical.
    root: PathBuf,
    /// The `postgres` system user when tmk runs as root; `None` runs the server as ourselves.
    account: Option<Account>,
    tuning: Tuning,
}

impl Layout {
    /// Finds the binaries and creates `root` and its socket directory, owned by the account
    /// that runs the server, after checking that this account can reach them.
    fn prepare(root: &Path, tuning: Tuning) -> Result<Layout, EmbeddedError> {
        let bin = find_server_binaries()?;
        let account = server_account()?;
        let socket_dir = root.join("socket");
        fs::create_dir_all(&socket_dir).map_err(|e| EmbeddedError::io("create", &socket_dir, e))?;
        let root = fs::canonicalize(root).map_err(|e| EmbeddedError::io("resolve", root, e))?;
        if let Some(account) = &account {
            account.check_can_reach(&root)?;
            account.take_over(&root)?;
            account.take_over(&root.join("socket"))?;
        }
        Ok(Layout {
            bin,
            root,
            account,
            tuning,
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }

    fn port_file(&self) -> PathBuf {
        self.root.join("port")
    }

    fn cluster(&self, port: u16, started_now: bool, created_now: bool) -> RunningCluster {
        RunningCluster {
            host: HOST.to_string(),
            port,
            user: SUPERUSER.to_string(),
            database: DATABASE.to_string(),
            data_dir: self.data_dir(),
            started_now,
            created_now,
        }
    }

    /// Holds an exclusive lock on `root/.lock` until the returned file is dropped.
    fn lock(&self) -> Result<File, EmbeddedError> {
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| EmbeddedError::io("open the lock file", &path, e))?;
        file.lock().map_err(|e| EmbeddedError::io("lock", &path, e))?;
        Ok(file)
    }

    /// A command for one of the server binaries, run by the server's account from `root`.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(&self.root).stdin(Stdio::null());
        if let Some(account) = &self.account {
            command.uid(account.uid).gid(account.gid);
        }
        command
    }

    /// Runs `initdb` unless the data directory exists; true when it ran.
    ///
    /// `initdb` writes into `data.partial`, renamed to `data` once complete, so an interrupted
    /// run is started over rather than mistaken for a cluster.
    fn initialise(&self) -> Result<bool, EmbeddedError> {
        let data = self.data_dir();
        if data.join("PG_VERSION").is_file() {
            return Ok(false);
        }
        let partial = self.root.join("data.partial");
        remove_dir_if_present(&partial)?;
        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(&partial)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(self.tuning.initdb_args);
        let output = run(initdb, "initdb")?;
        if !output.status.success() {
            // Best effort: the next run removes it anyway.
            let _ = fs::remove_dir_all(&partial);
            return Err(EmbeddedError::new(format!(
                "initdb failed to create `{}` ({}):\n{}",
                data.display(),
                output.status,
                tail(&combined_output(&output), TAIL_LINES)
            )));
        }
        fs::rename(&partial, &data).map_err(|e| EmbeddedError::io("create", &data, e))?;
        Ok(true)
    }

    /// The port of the server that runs in this cluster: the one its `postmaster.pid` records,
    /// when it accepts TCP connections.
    fn running_port(&self) -> Option<u16> {
        let pid_file = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let port = pid_file_port(&pid_file)?;
        port_answers(HOST, port, PROBE_TIMEOUT).then_some(port)
    }

    fn recorded_port(&self) -> Option<u16> {
        let text = fs::read_to_string(self.port_file()).ok()?;
        text.trim().parse().ok()
    }

    fn record_port(&self, port: u16) -> Result<(), EmbeddedError> {
        let path = self.port_file();
        fs::write(&path, format!("{port}\n")).map_err(|e| EmbeddedError::io("write", &path, e))
    }

    /// Starts the server on `preferred` when that port is free, else on a free one; a start
    /// that fails for a passing reason is tried again, on a new port when the old one is taken.
    fn start_on_free_port(&self, preferred: Option<u16>) -> Result<u16, EmbeddedError> {
        let mut port = choose_port(preferred)?;
        let mut attempt = 1;
        loop {
            match self.start(port) {
                Ok(()) => return Ok(port),
                Err(failure) if failure.passing && attempt < START_ATTEMPTS => {
                    attempt += 1;
                    thread::sleep(RETRY_PAUSE);
                    port = choose_port(Some(port))?;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    /// One `pg_ctl start -w` on `port`.
    fn start(&self, port: u16) -> Result<(), StartFailure> {
        let log = self.log_file();
        let log_start = fs::metadata(&log).map_or(0, |m| m.len());
        let mut pg_ctl = self.pg_ctl("start");
        pg_ctl
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(self.server_options(port));
        let output = run(pg_ctl, "pg_ctl start").map_err(StartFailure::fatal)?;
        if output.status.success() {
            return Ok(());
        }
        Err(StartFailure {
            passing: is_passing_failure(&read_from(&log, log_start)),
            error: self.start_error(&output),
        })
    }

    /// The options `pg_ctl` hands to the server through a shell.
    fn server_options(&self, port: u16) -> String {
        let socket_dir = self.root.join("socket");
        // A path too long for a Unix socket would stop the server; tmk connects by TCP anyway.
        let sockets = socket_dir
            .to_str()
            .filter(|dir| dir.len() + SOCKET_FILE_MAX.len() <= SOCKET_PATH_MAX)
            .unwrap_or("");
        format!(
            "-p {port} -c listen_addresses={HOST} -k {}{}",
            shell_quote(sockets),
            self.tuning.server_options
        )
    }

    fn start_error(&self, output: &Output) -> EmbeddedError {
        let log = self.log_file();
        let log_tail = fs::read(&log)
            .map(|bytes| tail(&String::from_utf8_lossy(&bytes), TAIL_LINES))
            .unwrap_or_default();
        let (source, lines) = if log_tail.trim().is_empty() {
            (
                "the output of `pg_ctl`".to_string(),
                tail(&combined_output(output), TAIL_LINES),
            )
        } else {
            (format!("`{}`", log.display()), log_tail)
        };
        EmbeddedError::new(format!(
            "the PostgreSQL server of `{}` failed to start; the last lines of {source}:\n{lines}",
            self.data_dir().display()
        ))
        .with_hint(format!("the full server log is `{}`", log.display()))
    }

    /// `pg_ctl ACTION -D data -w -t 30`.
    fn pg_ctl(&self, action: &str) -> Command {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg(action)
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", PG_CTL_TIMEOUT_SECS]);
        pg_ctl
    }

    /// `pg_ctl stop -m MODE`; the error quotes its output.
    fn stop(&self, mode: &str) -> Result<(), EmbeddedError> {
        let mut pg_ctl = self.pg_ctl("stop");
        pg_ctl.args(["-m", mode]);
        let output = run(pg_ctl, "pg_ctl stop")?;
        if output.status.success() {
            return Ok(());
        }
        Err(EmbeddedError::new(format!(
            "could not stop the PostgreSQL server of `{}` ({}):\n{}",
            self.data_dir().display(),
            output.status,
            tail(&combined_output(&output), TAIL_LINES)
        )))
    }

    /// Stops the server without a checkpoint, ignoring failure: for clusters about to be deleted.
    fn stop_immediately(&self) {
        let _ = self.stop("immediate");
    }
}

/// A `pg_ctl start` that failed.
struct StartFailure {
    /// True when trying again may succeed (see `is_passing_failure`).
    passing: bool,
    error: EmbeddedError,
}

impl StartFailure {
    fn fatal(error: EmbeddedError) -> Self {
        Self {
            passing: false,
            error,
        }
    }
}

/// True when the server log of a failed start shows a reason that passes: the port was taken
/// meanwhile, or a killed server still holds its lock file (a zombie not yet reaped) or its
/// shared memory (children not yet exited). A server that really runs answers on its port and
/// is never started twice.
fn is_passing_failure(log: &str) -> bool {
    [
        "Address already in use",
        "could not create any TCP/IP sockets",
        "lock file \"postmaster.pid\" already exists",
        "is still in use",
    ]
    .iter()
    .any(|reason| log.contains(reason))
}

/// The system user that runs the server.
struct Account {
    uid: u32,
    gid: u32,
    /// Supplementary groups, from /etc/group.
    groups: Vec<u32>,
}

impl Account {
    /// Fails, naming the directory, when this account cannot enter one of the directories
    /// above `root`.
    fn check_can_reach(&self, root: &Path) -> Result<(), EmbeddedError> {
        for dir in root.ancestors().skip(1) {
            let metadata = fs::metadata(dir).map_err(|e| EmbeddedError::io("inspect", dir, e))?;
            if !self.may_enter(&metadata) {
                return Err(EmbeddedError::new(format!(
                    "the `{SUPERUSER}` user cannot enter `{}` (mode {:o}), so the PostgreSQL \
                     server cannot reach its directory `{}`",
                    dir.display(),
                    metadata.mode() & 0o7777,
                    root.display()
                ))
                .with_hint(format!(
                    "the server runs as `{SUPERUSER}` because PostgreSQL refuses to run as root; \
                     allow it with `chmod o+x {}`, or keep the project in a directory every user \
                     can reach",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

    /// True when the permission bits that apply to this account allow entering the directory.
    fn may_enter(&self, metadata: &fs::Metadata) -> bool {
        let mode = metadata.mode();
        if metadata.uid() == self.uid {
            mode & 0o100 != 0
        } else if metadata.gid() == self.gid || self.groups.contains(&metadata.gid()) {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }

    /// Gives `dir` to this account unless it already owns it.
    fn take_over(&self, dir: &Path) -> Result<(), EmbeddedError> {
        let metadata = fs::metadata(dir).map_err(|e| EmbeddedError::io("inspect", dir, e))?;
        if metadata.uid() == self.uid {
            return Ok(());
        }
        std::os::unix::fs::chown(dir, Some(self.uid), Some(self.gid))
            .map_err(|e| EmbeddedError::io(&format!("give to the `{SUPERUSER}` user"), dir, e))
    }
}

/// The account that runs the server: the `postgres` system user when we run as root, else
/// `None` (ourselves).
fn server_account() -> Result<Option<Account>, EmbeddedError> {
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_uid(&status))
        == Some(0);
    if !root {
        return Ok(None);
    }
    let passwd_path = Path::new("/etc/passwd");
    let passwd = fs::read_to_string(passwd_path).map_err(|e| EmbeddedError::io("read", passwd_path, e))?;
    let (uid, gid) = passwd_ids(&passwd, SUPERUSER).ok_or_else(|| {
        EmbeddedError::new(format!(
            "tmk runs as root and PostgreSQL refuses to, but there is no `{SUPERUSER}` user in \
             /etc/passwd to run the server as"
        ))
        .with_hint(format!(
            "create it with `useradd --system {SUPERUSER}`, or run tmk as an ordinary user"
        ))
    })?;
    let groups = fs::read_to_string("/etc/group")
        .map(|group| member_groups(&group, SUPERUSER))
        .unwrap_or_default();
    Ok(Some(Account { uid, gid, groups }))
}

/// The effective uid from the text of `/proc/self/status`.
fn effective_uid(status: &str) -> Option<u32> {
    let ids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    ids.split_whitespace().nth(1)?.parse().ok()
}

/// The uid and gid of `user` from the text of `/etc/passwd`.
fn passwd_ids(passwd: &str, user: &str) -> Option<(u32, u32)> {
    let fields: Vec<&str> = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&user))?;
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

/// The gids of the groups that list `user` as a member in the text of `/etc/group`.
fn member_groups(group: &str, user: &str) -> Vec<u32> {
    group
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let members = fields.get(3)?;
            if members.split(',').any(|member| member == user) {
                fields.get(2)?.parse().ok()
            } else {
                None
            }
        })
        .collect()
}

/// The first directory on PATH with `initdb` and `pg_ctl`, resolved through symlinks to the
/// directory that holds the rest of the installation when it can be.
fn binaries_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let dir = std::env::split_paths(&path).find(|dir| has_server_binaries(dir))?;
    let real = fs::canonicalize(dir.join("pg_ctl"))
        .ok()
        .and_then(|pg_ctl| pg_ctl.parent().map(Path::to_path_buf))
        .filter(|real| has_server_binaries(real));
    Some(real.unwrap_or(dir))
}

/// The newest `/usr/lib/postgresql/VERSION/bin` with the server binaries.
fn newest_packaged_binaries() -> Option<PathBuf> {
    fs::read_dir(PACKAGED_ROOT)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| Some((version_key(entry.file_name().to_str()?)?, entry.path())))
        .map(|(version, dir)| (version, dir.join("bin")))
        .filter(|(_, bin)| has_server_binaries(bin))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// `15` → `[15]`, `9.6` → `[9, 6]`; `None` for names that are not versions.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl"]
        .iter()
        .all(|program| is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

/// `preferred` when it is free on the loopback address, else a port the system hands out.
fn choose_port(preferred: Option<u16>) -> Result<u16, EmbeddedError> {
    if let Some(port) = preferred.filter(|&port| TcpListener::bind((HOST, port)).is_ok()) {
        return Ok(port);
    }
    let listener = TcpListener::bind((HOST, 0))
        .map_err(|e| EmbeddedError::new(format!("could not find a free port on {HOST}: {e}")))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|e| EmbeddedError::new(format!("could not find a free port on {HOST}: {e}")))
}

/// The port line of a `postmaster.pid` (its fourth line).
fn pid_file_port(pid_file: &str) -> Option<u16> {
    pid_file.lines().nth(3)?.trim().parse().ok()
}

/// Runs `command` to completion, capturing its output.
fn run(mut command: Command, name: &str) -> Result<Output, EmbeddedError> {
    command
        .output()
        .map_err(|e| EmbeddedError::new(format!("could not run `{name}`: {e}")))
}

fn combined_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last `count` lines of `text`.
fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// What was appended to `path` after its first `offset` bytes; empty when unreadable.
fn read_from(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    let read = File::open(path).and_then(|mut file| {
        file.seek(SeekFrom::Start(offset))?;
        file.read_to_end(&mut bytes)
    });
    match read {
        Ok(_) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// Quotes `text` as one word for `/bin/sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn remove_dir_if_present(dir: &Path) -> Result<(), EmbeddedError> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(EmbeddedError::io("remove", dir, e)),
        _ => Ok(()),
    }
}

/// A new, empty directory under the system temp directory, unique to this process and call.
fn create_unique_temp_dir() -> Result<PathBuf, EmbeddedError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let name = format!(
        "tmk-pg-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    fs::create_dir(&dir).map_err(|e| EmbeddedError::io("create", &dir, e))?;
    Ok(dir)
}

/// A directory removed, with everything in it, when this is dropped.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        // Never panic in drop; a leftover temporary directory is harmless.
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;
    use std::time::Instant;

    type TestResult = Result<(), Box<dyn Error>>;

    /// A fresh project-like root whose cluster is stopped and removed when the test ends.
    struct TestRoot {
        root: PathBuf,
        directory: RemovedOnDrop,
    }

    impl TestRoot {
        fn new() -> Result<Self, EmbeddedError> {
            let directory = RemovedOnDrop(create_unique_temp_dir()?);
            let root = directory.0.join("project").join(".tmk").join("postgres");
            Ok(Self { root, directory })
        }
    }

    impl Drop for TestRoot {
        fn drop(&mut self) {
            let _ = stop(&self.root);
        }
    }

    /// `select 1` through psql over TCP.
    fn select_one(cluster: &RunningCluster) -> Result<String, Box<dyn Error>> {
        let output = Command::new(find_server_binaries()?.join("psql"))
            .args(["-X", "-A", "-t", "-h", &cluster.host, "-U", &cluster.user])
            .args(["-p", &cluster.port.to_string(), "-d", &cluster.database])
            .args(["-c", "select 1"])
            .output()?;
        if !output.status.success() {
            return Err(combined_output(&output).into());
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }

    fn answers(cluster: &RunningCluster) -> bool {
        port_answers(&cluster.host, cluster.port, PROBE_TIMEOUT)
    }

    fn postmaster_pid(cluster: &RunningCluster) -> Result<String, Box<dyn Error>> {
        let pid_file = fs::read_to_string(cluster.data_dir.join("postmaster.pid"))?;
        Ok(pid_file.lines().next().unwrap_or_default().trim().to_string())
    }

    #[test]
    fn ensure_running_creates_reuses_stops_and_restarts() -> TestResult {
        let test = TestRoot::new()?;
        let clock = Instant::now();
        let first = ensure_running(&test.root)?;
        eprintln!("create + start: {:?}", clock.elapsed());
        assert!(first.created_now && first.started_now);
        assert!(answers(&first));
        assert_eq!(select_one(&first)?, "1");
        let recorded = fs::read_to_string(test.root.join("port"))?;
        assert_eq!(recorded.trim(), first.port.to_string());

        let clock = Instant::now();
        let second = ensure_running(&test.root)?;
        eprintln!("reuse: {:?}", clock.elapsed());
        assert!(!second.created_now && !second.started_now);
        assert_eq!(second.port, first.port);

        stop(&test.root)?;
        assert!(!answers(&first));
        stop(&test.root)?;

        let clock = Instant::now();
        let third = ensure_running(&test.root)?;
        eprintln!("restart: {:?}", clock.elapsed());
        assert!(third.started_now && !third.created_now);
        assert_eq!(third.port, first.port);
        assert_eq!(select_one(&third)?, "1");
        Ok(())
    }

    #[test]
    fn ensure_running_recovers_after_the_postmaster_is_killed() -> TestResult {
        let test = TestRoot::new()?;
        let first = ensure_running(&test.root)?;
        let killed = Command::new("kill")
            .args(["-9", &postmaster_pid(&first)?])
            .status()?;
        assert!(killed.success());
        // The signal is delivered asynchronously: wait until the listening socket is gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while answers(&first) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }

        let recovered = ensure_running(&test.root)?;
        assert!(recovered.started_now && !recovered.created_now);
        assert_eq!(recovered.port, first.port);
        assert!(answers(&recovered));
        assert_eq!(select_one(&recovered)?, "1");
        Ok(())
    }

    #[test]
    fn ensure_running_takes_a_new_port_when_the_recorded_one_is_taken() -> TestResult {
        let test = TestRoot::new()?;
        let first = ensure_running(&test.root)?;
        stop(&test.root)?;
        let _squatter = TcpListener::bind((HOST, first.port))?;

        let moved = ensure_running(&test.root)?;
        assert_ne!(moved.port, first.port);
        assert_eq!(select_one(&moved)?, "1");
        let recorded = fs::read_to_string(test.root.join("port"))?;
        assert_eq!(recorded.trim(), moved.port.to_string());
        Ok(())
    }

    #[test]
    fn concurrent_callers_start_one_server() -> TestResult {
        let test = TestRoot::new()?;
        let callers: Vec<_> = (0..3)
            .map(|_| {
                let root = test.root.clone();
                thread::spawn(move || ensure_running(&root))
            })
            .collect();
        let mut clusters = Vec::new();
        for caller in callers {
            clusters.push(caller.join().map_err(|_| "a caller panicked")??);
        }
        assert_eq!(clusters.iter().filter(|c| c.created_now).count(), 1);
        assert_eq!(clusters.iter().filter(|c| c.started_now).count(), 1);
        assert!(clusters.iter().all(|c| c.port == clusters[0].port));
        Ok(())
    }

    #[test]
    fn a_server_that_fails_to_start_reports_its_log() -> TestResult {
        let test = TestRoot::new()?;
        let cluster = ensure_running(&test.root)?;
        stop(&test.root)?;
        let conf = cluster.data_dir.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)?;
        text.push_str("\nno_such_setting = 1\n");
        fs::write(&conf, text)?;

        let Err(error) = ensure_running(&test.root) else {
            return Err("the server started with a broken configuration".into());
        };
        assert!(error.message.contains("failed to start"), "{error}");
        assert!(error.message.contains("server.log"), "{error}");
        assert!(error.message.contains("no_such_setting"), "{error}");
        Ok(())
    }

    #[test]
    fn stop_without_a_cluster_is_ok() -> TestResult {
        let test = TestRoot::new()?;
        stop(&test.root)?;
        Ok(())
    }

    #[test]
    fn temporary_cluster_runs_sql_and_vanishes_on_drop() -> TestResult {
        let temporary = TemporaryCluster::start()?;
        let cluster = temporary.cluster().clone();
        assert!(cluster.started_now && cluster.created_now);
        assert!(answers(&cluster));
        assert_eq!(select_one(&cluster)?, "1");
        let directory = temporary.layout.root.clone();
        assert!(directory.starts_with(fs::canonicalize(std::env::temp_dir())?));

        drop(temporary);
        assert!(!answers(&cluster));
        assert!(!directory.exists());
        Ok(())
    }

    #[test]
    fn a_directory_the_server_account_cannot_enter_is_named() -> TestResult {
        let test = TestRoot::new()?;
        let locked = test.directory.0.join("locked");
        let root = locked.join("root");
        fs::create_dir_all(&root)?;
        fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let stranger = Account {
            uid: 4_000_000,
            gid: 4_000_000,
            groups: Vec::new(),
        };

        let Err(error) = stranger.check_can_reach(&root) else {
            return Err("a 0700 directory of another user was accepted".into());
        };
        assert!(
            error.message.contains(&format!("`{}`", locked.display())),
            "{error}"
        );
        assert!(error.hint.is_some_and(|hint| hint.contains("chmod o+x")));
        assert!(stranger.check_can_reach(&locked).is_ok());
        Ok(())
    }

    #[test]
    fn server_binaries_are_found() -> TestResult {
        let bin = find_server_binaries()?;
        assert!(has_server_binaries(&bin));
        assert!(is_executable(&bin.join("postgres")));
        Ok(())
    }

    #[test]
    fn newer_versions_sort_after_older_ones() {
        assert!(version_key("15") > version_key("9.6"));
        assert!(version_key("16") > version_key("15"));
        assert_eq!(version_key("main"), None);
    }

    #[test]
    fn account_files_are_parsed() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PG:/var/lib:/bin/sh\n";
        assert_eq!(passwd_ids(passwd, "postgres"), Some((101, 104)));
        assert_eq!(passwd_ids(passwd, "nobody"), None);
        let group = "ssl-cert:x:110:postgres\nusers:x:100:alice,postgres\nadm:x:4:\n";
        assert_eq!(member_groups(group, "postgres"), vec![110, 100]);
        let status = "Name:\ttmk\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
    }

    #[test]
    fn shell_words_survive_quotes_and_spaces() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_port_comes_from_the_fourth_line_of_the_pid_file() {
        let pid_file = "4242\n/data\n1700000000\n54321\n/sock\n127.0.0.1\n";
        assert_eq!(pid_file_port(pid_file), Some(54321));
        assert_eq!(pid_file_port("4242\n"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
