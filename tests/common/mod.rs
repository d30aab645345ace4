//! Shared harness of the integration tests: a real PostgreSQL (TMK_TEST_DATABASE_URL, else the
//! server at 127.0.0.1:5432 when it answers, else one temporary cluster per test binary that a
//! watcher process stops when the binary exits), temporary projects with their own schema, the
//! `tmk` binary, `psql` for assertions, and output normalisation for snapshots.
#![allow(dead_code, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// How to reach the test database.
#[derive(Debug, Clone)]
pub struct Database {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
}

impl Database {
    /// A libpq connection string.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.dbname
        )
    }
}

/// The database every test of this binary uses.
pub fn database() -> &'static Database {
    static DATABASE: OnceLock<Database> = OnceLock::new();
    DATABASE.get_or_init(|| {
        if let Ok(url) = std::env::var("TMK_TEST_DATABASE_URL") {
            return parse_url(&url);
        }
        if tmk::embedded_pg::port_answers("127.0.0.1", 5432, Duration::from_secs(1)) {
            return Database {
                host: "127.0.0.1".into(),
                port: 5432,
                user: std::env::var("TMK_TEST_USER").unwrap_or_else(|_| "root".into()),
                dbname: "postgres".into(),
            };
        }
        start_temporary_cluster()
    })
}

fn parse_url(url: &str) -> Database {
    let rest = url
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let (user, rest) = rest.split_once('@').unwrap_or(("root", rest));
    let user = user.split(':').next().unwrap_or("root");
    let (host_port, dbname) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    Database {
        host: host.to_string(),
        port: port.parse().expect("port in TMK_TEST_DATABASE_URL"),
        user: user.to_string(),
        dbname: dbname.split('?').next().unwrap_or("postgres").to_string(),
    }
}

/// Start a throw-away cluster that outlives this function but not this process.
fn start_temporary_cluster() -> Database {
    let cluster = tmk::embedded_pg::TemporaryCluster::start().expect("start a temporary PostgreSQL");
    let running = cluster.cluster().clone();
    let data_dir = running.data_dir.clone();
    // Statics are never dropped: a watcher stops the server when this test binary exits.
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         kill -INT $(head -1 '{dir}/postmaster.pid' 2>/dev/null) 2>/dev/null; sleep 2; rm -rf '{root}'",
        pid = std::process::id(),
        dir = data_dir.display(),
        root = data_dir.parent().unwrap_or(&data_dir).display(),
    );
    // The watcher must outlive this process, so it is deliberately never waited for.
    #[allow(clippy::zombie_processes)]
    let _watcher = Command::new("sh")
        .arg("-c")
        .arg(script)
        .spawn()
        .expect("start the cluster watcher");
    std::mem::forget(cluster);
    Database {
        host: running.host,
        port: running.port,
        user: running.user,
        dbname: running.database,
    }
}

/// Run SQL with psql and return its unaligned output (`|`-separated, one row per line).
pub fn psql(sql: &str) -> String {
    psql_in(&database().dbname, sql)
}

/// Run SQL with psql in database `dbname` of the test server.
pub fn psql_in(dbname: &str, sql: &str) -> String {
    let database = Database {
        dbname: dbname.to_string(),
        ..database().clone()
    };
    psql_at(&database, sql)
}

/// Run SQL with psql connected as `role` (a login role; the test server trusts local users)
/// to database `dbname`, returning its output or PostgreSQL's error text.
pub fn psql_as(role: &str, dbname: &str, sql: &str) -> Result<String, String> {
    let database = database();
    let output = Command::new("psql")
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", &database.host])
        .args([
            "-p",
            &database.port.to_string(),
            "-U",
            role,
            "-d",
            dbname,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    let stdout = String::from_utf8_lossy(&output.stdout).trim_end().to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).trim_end().to_string();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(stderr)
    }
}

/// Run SQL with psql on `database` (e.g. a test's private cluster); output as `psql`.
pub fn psql_at(database: &Database, sql: &str) -> String {
    let output = Command::new("psql")
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", &database.host])
        .args([
            "-p",
            &database.port.to_string(),
            "-U",
            &database.user,
            "-d",
            &database.dbname,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim_end().to_string()
}

/// The run succeeded (exit 0); otherwise fail showing what tmk printed.
pub fn assert_ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "tmk failed\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// The run exited with `code` and did not panic.
pub fn assert_exit(run: &Run, code: i32) {
    assert_eq!(
        run.code, code,
        "expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains("panicked"), "tmk panicked:\n{output}");
        assert!(!output.contains("RUST_BACKTRACE"), "tmk panicked:\n{output}");
    }
}

/// A project in a temporary directory, building into its own schema.
pub struct TestProject {
    pub dir: tempfile::TempDir,
    pub schema: String,
}

/// The result of one tmk run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TestProject {
    /// A project named `name` with `files` (path, content); adds dbt_project.yml unless given,
    /// and a profiles.yml pointing at the test database and a schema unique to this test.
    pub fn new(name: &str, files: &[(&str, &str)]) -> TestProject {
        let dir = tempfile::Builder::new()
            .prefix("tmk-test-")
            .tempdir()
            .expect("temp dir");
        let schema = format!("t_{}_{}", name, std::process::id());
        let project = TestProject { dir, schema };
        if !files.iter().any(|(path, _)| path.ends_with("_project.yml")) {
            project.write(
                "dbt_project.yml",
                "name: demo\nprofile: demo\nconfig-version: 2\n",
            );
        }
        project.write("profiles.yml", &project.profile("demo"));
        for (path, content) in files {
            project.write(path, content);
        }
        project.drop_schemas();
        project
    }

    /// Copy a fixture directory (under tests/fixtures) and point its profile at this test's schema.
    pub fn from_fixture(fixture: &str, name: &str, profile: &str) -> TestProject {
        let dir = tempfile::Builder::new()
            .prefix("tmk-test-")
            .tempdir()
            .expect("temp dir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        copy_dir(&source, dir.path());
        let project = TestProject {
            dir,
            schema: format!("t_{}_{}", name, std::process::id()),
        };
        project.write("profiles.yml", &project.profile(profile));
        project.drop_schemas();
        project
    }

    /// A profiles.yml for profile `name` on the test database.
    pub fn profile(&self, name: &str) -> String {
        self.profile_at(name, database())
    }

    /// A profiles.yml for profile `name` on `database`, in this test's schema.
    pub fn profile_at(&self, name: &str, database: &Database) -> String {
        format!(
            "{name}:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {}\n      port: {}\n      user: {}\n      password: ''\n      dbname: {}\n      schema: {}\n      threads: 4\n",
            database.host, database.port, database.user, database.dbname, self.schema
        )
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file of the project.
    pub fn write(&self, path: &str, content: &str) {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }

    /// Remove a file of the project.
    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.path().join(path)).expect("remove");
    }

    /// Read a file of the project.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path))
            .unwrap_or_else(|error| panic!("read {path}: {error}"))
    }

    /// Run `tmk ARGS` in the project with `--profiles-dir .` added for commands that take it.
    pub fn tmk(&self, args: &[&str]) -> Run {
        let output = self.tmk_command(args).output().expect("run tmk");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The command `tmk` runs: `tmk ARGS` in the project, `--profiles-dir .` added for
    /// commands that take it, without colour (to spawn tmk and signal it while it runs).
    pub fn tmk_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tmk"));
        command.current_dir(self.dir.path()).args(args);
        if !matches!(args.first(), Some(&"clean")) && !args.contains(&"--profiles-dir") {
            command.args(["--profiles-dir", "."]);
        }
        command
            .env("NO_COLOR", "1")
            .env("HOME", self.dir.path())
            .env_remove("DBT_PROFILES_DIR");
        command
    }

    /// Query the database (schema names are the test's own).
    pub fn query(&self, sql: &str) -> String {
        psql(sql)
    }

    /// Rows of `relation` in this test's schema, ordered by every column.
    pub fn rows(&self, relation: &str) -> String {
        let columns = psql(&format!(
            "select count(*) from information_schema.columns where table_schema = '{}' and table_name = '{relation}'",
            self.schema
        ));
        let count: usize = columns.parse().unwrap_or(0);
        assert!(count > 0, "relation {}.{relation} does not exist", self.schema);
        let order: Vec<String> = (1..=count).map(|index| index.to_string()).collect();
        psql(&format!(
            "select * from {}.{relation} order by {}",
            self.schema,
            order.join(", ")
        ))
    }

    /// Whether `relation` exists in this test's schema.
    pub fn exists(&self, relation: &str) -> bool {
        psql(&format!(
            "select to_regclass('{}.{relation}') is not null",
            self.schema
        )) == "t"
    }

    /// Replace run-specific text (times, durations, schema, paths) for snapshots.
    pub fn normalize(&self, text: &str) -> String {
        normalize(text, &self.schema, self.dir.path())
    }

    fn drop_schemas(&self) {
        psql(&format!(
            "do $$ declare s text; begin for s in select nspname from pg_namespace where nspname = '{0}' or nspname like '{0}\\_%' loop execute format('drop schema %I cascade', s); end loop; end $$",
            self.schema
        ));
    }
}

impl Drop for TestProject {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.drop_schemas();
        }
    }
}

/// Replace times, durations, the schema and temp paths with stable placeholders.
pub fn normalize(text: &str, schema: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut line = line
            .replace(schema, "[schema]")
            .replace(&dir.display().to_string(), "[project]");
        if line.len() >= 9
            && line.as_bytes()[2] == b':'
            && line.as_bytes()[5] == b':'
            && line.as_bytes()[8] == b' '
        {
            line = format!("[time]{}", &line[8..]);
        }
        line = replace_seconds(&line);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `in 0.12s` → `in [s]`.
fn replace_seconds(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(index) = rest.find(" in ") {
        out.push_str(&rest[..index + 4]);
        rest = &rest[index + 4..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits > 0 && rest[digits..].starts_with('s') {
            out.push_str("[s]");
            rest = &rest[digits + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// Copy a file, or a directory with everything in it.
pub fn copy_path(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        copy_dir(from, to);
    } else {
        std::fs::copy(from, to).expect("copy");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Whether the MySQL/MariaDB server of the extract tests answers at 127.0.0.1:3306. When it
/// does not, `test` prints `SKIPPED: no MySQL at 127.0.0.1:3306` straight to stderr (past the
/// test harness's capture, so the skip is always visible) and should return.
pub fn mysql_available(test: &str) -> bool {
    use std::io::Write;
    if tmk::embedded_pg::port_answers("127.0.0.1", 3306, Duration::from_secs(1)) {
        return true;
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: no MySQL at 127.0.0.1:3306 ({test})");
    false
}

/// Run SQL with the mysql client on 127.0.0.1:3306 as root; tab-separated rows without a header.
pub fn mysql(sql: &str) -> String {
    let output = Command::new("mysql")
        .args(["-uroot", "-h127.0.0.1", "-P3306", "-N", "-B", "-e", sql])
        .output()
        .expect("run mysql");
    assert!(
        output.status.success(),
        "mysql failed on {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim_end().to_string()
}

/// Test name → its result in target/run_results.json.
pub fn test_result_entries(project: &TestProject) -> std::collections::BTreeMap<String, serde_json::Value> {
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json");
    results["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|result| {
            let unique_id = result["unique_id"].as_str()?;
            // Generic tests end with a hash, singular ones do not.
            let name = unique_id.strip_prefix("test.demo.")?;
            let name = name.rsplit_once('.').map_or(name, |(name, _)| name);
            Some((name.to_string(), result.clone()))
        })
        .collect()
}

/// The names `tmk ls -o name ARGS` prints in `project`, one per line (the run must succeed).
pub fn names(project: &TestProject, args: &[&str]) -> String {
    let mut full = vec!["ls", "-o", "name"];
    full.extend_from_slice(args);
    let run = project.tmk(&full);
    assert_ok(&run);
    run.stdout
}

/// The status line of test `name` in the output.
pub fn status_line<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find(|line| line.contains(&format!("test {name} ")))
        .unwrap_or_else(|| panic!("no status line for {name} in:\n{output}"))
}
