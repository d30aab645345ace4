//! Crash safety, shown by really crashing: `kill -9` of tmk in the middle of a build, and an
//! immediate stop of PostgreSQL in the middle of a build (started again after). At each point a
//! build is caught at (a table being created, a swap or an incremental merge done but not yet
//! committed, a new relation committed under its temporary name but not yet swapped in) every
//! target relation is afterwards in its old or its new state, the watermark matches the data,
//! the killed run leaves no session or lock behind, and the next `tmk build` leaves the same
//! relations and watermark as a clean build and no temporary relations. Each test builds in its own schemas; the tests that hold tmk's swap lock or
//! stop the server do it on a private cluster, never on the shared one.

#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Database, Run, TestProject, assert_ok};
use tmk::embedded_pg::TemporaryCluster;

/// The project: two seeds, staging views, a table joining them with a view on top, an
/// incremental merge model with a watermark, and a chain after a model that can be made slow. Version 1 and 2
/// differ in the seeds (`raw_customers` gains a column) and, through `var('version')`, in the
/// SQL, so every relation has a distinguishable old and new state. The `pause` var makes the
/// build sleep at one point: `<model>:commit` in a model's post-hook (inside the transaction
/// that swaps the new relation in, or that merges the incremental rows), `slow:create` inside
/// the query that creates the new `slow` table.
const PROJECT: &[(&str, &str)] = &[
    (
        "dbt_project.yml",
        "name: demo\nprofile: demo\nconfig-version: 2\nmodels:\n  demo:\n    +post-hook: \"{{ pause(this.identifier ~ ':commit') }}\"\n",
    ),
    (
        "macros/pause.sql",
        "{% macro pause(point) %}{% if var('pause', '') == point %}select pg_sleep(300){% endif %}{% endmacro %}\n",
    ),
    (
        "models/stg_orders.sql",
        "select id, customer_id, amount, {{ var('version') }} as version from {{ ref('raw_orders') }}\n",
    ),
    (
        "models/stg_customers.sql",
        "select * from {{ ref('raw_customers') }}\n",
    ),
    (
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect o.id, o.amount, o.version, c.name\nfrom {{ ref('stg_orders') }} o join {{ ref('stg_customers') }} c on c.id = o.customer_id\n",
    ),
    (
        "models/orders_view.sql",
        "select id, amount * 2 as doubled, 'view v{{ var('version') }}' as definition from {{ ref('orders') }}\n",
    ),
    (
        "models/orders_merged.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', watermark='version') }}\nselect id, amount, version, name from {{ ref('orders') }}\n{% if is_incremental() %}where version > {{ watermark() }}{% endif %}\n",
    ),
    (
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect id, amount from {{ ref('orders') }}\ncross join (select pg_sleep({{ 300 if var('pause', '') == 'slow:create' else 0 }})) as paused\n",
    ),
    (
        "models/after_slow.sql",
        "{{ config(materialized='table') }}\nselect count(*) as orders, sum(amount) as total from {{ ref('slow') }}\n",
    ),
    (
        "models/after_slow_view.sql",
        "select total * {{ var('version') }} as weighted from {{ ref('after_slow') }}\n",
    ),
];

/// The seeds of versions 1 and 2: every order changes, one is added; customers gain a column.
const SEEDS: [[(&str, &str); 2]; 2] = [
    [
        (
            "seeds/raw_orders.csv",
            "id,customer_id,amount\n1,1,10\n2,2,20\n3,1,30\n",
        ),
        ("seeds/raw_customers.csv", "id,name\n1,Ann\n2,Bob\n"),
    ],
    [
        (
            "seeds/raw_orders.csv",
            "id,customer_id,amount\n1,1,11\n2,2,22\n3,1,33\n4,3,44\n",
        ),
        (
            "seeds/raw_customers.csv",
            "id,name,tier\n1,Ann,gold\n2,Bea,silver\n3,Cy,bronze\n",
        ),
    ],
];

/// Every relation the project builds.
const RELATIONS: [&str; 10] = [
    "raw_orders",
    "raw_customers",
    "stg_orders",
    "stg_customers",
    "orders",
    "orders_view",
    "orders_merged",
    "slow",
    "after_slow",
    "after_slow_view",
];

/// tmk's swap lock (`SWAP_LOCK` in src/adapter/postgres/materialize.rs): a test that holds it
/// stops every swap after its new relation is committed under the temporary name.
const SWAP_LOCK: i64 = 0x746d_6b5f_7377_6170;

/// How long a test waits for a build to reach its pause point (a slow machine may be busy).
const REACH_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the sessions of a killed tmk may outlive it: far less than the 300 s pauses.
const SESSIONS_END_TIMEOUT: Duration = Duration::from_secs(30);
/// How long tmk may take to fail once its server is gone.
const EXIT_TIMEOUT: Duration = Duration::from_secs(90);

/// The key of the watermark of `orders_merged` in a `State`.
const WATERMARK: &str = "watermark of orders_merged";

/// Each relation's state (a table's columns and rows, a view's definition, or `missing`) and
/// the watermark of `orders_merged`.
type State = BTreeMap<&'static str, String>;

/// Where a build is caught, and what the crash must leave there.
struct CrashPoint {
    /// The `pause` var (see `PROJECT`), or None: the test holds tmk's swap lock instead and
    /// catches the build once a new relation is committed under its temporary name.
    pause: Option<&'static str>,
    /// Relations the crashed build must have finished (their new state).
    new: &'static [&'static str],
    /// Relations it must not have changed (their old state).
    old: &'static [&'static str],
}

const WHILE_A_TABLE_IS_CREATED: CrashPoint = CrashPoint {
    pause: Some("slow:create"),
    new: &[
        "raw_orders",
        "raw_customers",
        "stg_orders",
        "stg_customers",
        "orders",
    ],
    old: &["slow", "after_slow", "after_slow_view"],
};

const WHILE_A_SWAP_IS_UNCOMMITTED: CrashPoint = CrashPoint {
    pause: Some("orders:commit"),
    new: &["raw_orders", "raw_customers", "stg_orders", "stg_customers"],
    old: &[
        "orders",
        "orders_view",
        "orders_merged",
        "slow",
        "after_slow",
        "after_slow_view",
    ],
};

const WHILE_A_MERGE_IS_UNCOMMITTED: CrashPoint = CrashPoint {
    pause: Some("orders_merged:commit"),
    new: &[
        "raw_orders",
        "raw_customers",
        "stg_orders",
        "stg_customers",
        "orders",
    ],
    old: &["orders_merged"],
};

const BETWEEN_BUILD_AND_SWAP: CrashPoint = CrashPoint {
    pause: None,
    // Reloading a seed with unchanged columns truncates and copies: no swap, no lock.
    new: &["raw_orders"],
    old: &[
        "raw_customers",
        "stg_orders",
        "stg_customers",
        "orders",
        "orders_view",
        "orders_merged",
        "slow",
        "after_slow",
        "after_slow_view",
    ],
};

/// The project in a schema of its own on a given server.
struct Crashable {
    project: TestProject,
    database: Database,
}

impl Crashable {
    /// The project at version 1, building into the schema `t_<name>_<pid>` on `database`.
    fn new(name: &str, database: &Database) -> Crashable {
        let project = TestProject::new(name, PROJECT);
        project.write("profiles.yml", &project.profile_at("demo", database));
        let crashable = Crashable {
            project,
            database: database.clone(),
        };
        crashable.write_seeds(1);
        crashable
    }

    fn psql(&self, sql: &str) -> String {
        common::psql_at(&self.database, sql)
    }

    fn write_seeds(&self, version: usize) {
        for (path, content) in SEEDS[version - 1] {
            self.project.write(path, content);
        }
    }

    fn vars(version: usize, pause: Option<&str>) -> String {
        format!("{{version: {version}, pause: '{}'}}", pause.unwrap_or(""))
    }

    /// `tmk build` of `version` (its seeds must be written), with `extra` arguments.
    fn build(&self, version: usize, extra: &[&str]) -> Run {
        let vars = Crashable::vars(version, None);
        let mut args = vec!["build", "--vars", &vars];
        args.extend_from_slice(extra);
        self.project.tmk(&args)
    }

    /// Start `tmk build` of version 2 that pauses at `pause`.
    fn start_build(&self, pause: Option<&str>) -> Running {
        let vars = Crashable::vars(2, pause);
        Running::start(&self.project, &["build", "--vars", &vars])
    }

    /// Wait until `tmk` is caught at `point`; fails when it ends or takes too long.
    fn wait_until_caught(&self, tmk: &mut Running, point: &CrashPoint) {
        match point.pause {
            Some(_) => tmk.wait_until_sleeping(&self.database),
            None => tmk.wait_until(
                &self.database,
                "a relation committed under its temporary name",
                &format!(
                    "select count(*) > 0 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                     where n.nspname = '{}' and c.relname like '%\\_\\_tmk\\_tmp'",
                    self.project.schema
                ),
            ),
        }
    }

    /// Wait until no session of the tmk process `pid` is left: a killed tmk must not leave
    /// statements running (holding locks and the run lock) until they next talk to it.
    fn wait_until_sessions_end(&self, pid: u32) {
        let sessions =
            format!("select count(*) from pg_stat_activity where application_name = 'tmk (pid {pid})'");
        let deadline = Instant::now() + SESSIONS_END_TIMEOUT;
        while self.psql(&sessions) != "0" {
            assert!(
                Instant::now() < deadline,
                "sessions of the killed tmk still run {SESSIONS_END_TIMEOUT:?} after the kill:\n{}",
                self.psql(&format!(
                    "select state, query from pg_stat_activity where application_name = 'tmk (pid {pid})'"
                ))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every relation's state, and the watermark.
    fn state(&self) -> State {
        let mut state: State = RELATIONS
            .iter()
            .map(|&relation| (relation, self.relation_state(relation)))
            .collect();
        state.insert(WATERMARK, self.watermark());
        state
    }

    /// The watermark stored for `orders_merged`: value and type.
    fn watermark(&self) -> String {
        self.psql(&format!(
            "select value || ' (' || data_type || ')' from tmk_meta.load_watermarks \
             where relation = '\"' || current_database() || '\".\"{}\".\"orders_merged\"'",
            self.project.schema
        ))
    }

    /// A table's columns and all its rows in order, or a view's definition (after checking
    /// that it can be read), with this project's schema replaced by `[schema]`.
    fn relation_state(&self, relation: &str) -> String {
        let schema = &self.project.schema;
        let qualified = format!("{schema}.{relation}");
        let kind = self.psql(&format!(
            "select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = '{schema}' and c.relname = '{relation}'"
        ));
        match kind.as_str() {
            "" => "missing".to_string(),
            "v" => {
                // psql fails the test when the view cannot be read.
                self.psql(&format!("select count(*) from {qualified}"));
                let definition = self.psql(&format!("select pg_get_viewdef('{qualified}'::regclass)"));
                format!("view: {}", definition.replace(schema.as_str(), "[schema]"))
            }
            "r" => {
                let columns = self.psql(&format!(
                    "select string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' order by attnum) \
                     from pg_attribute where attrelid = '{qualified}'::regclass and attnum > 0 and not attisdropped"
                ));
                let order: Vec<String> = (1..=columns.split(", ").count())
                    .map(|index| index.to_string())
                    .collect();
                let rows = self.psql(&format!(
                    "select * from {qualified} order by {}",
                    order.join(", ")
                ));
                format!("table ({columns}):\n{rows}")
            }
            other => format!("relkind {other}"),
        }
    }

    /// Relations with tmk's temporary suffixes in this project's schema.
    fn leftovers(&self) -> String {
        self.psql(&format!(
            "select string_agg(c.relname, ', ' order by c.relname) from pg_class c \
             join pg_namespace n on n.oid = c.relnamespace where n.nspname = '{}' \
             and (c.relname like '%\\_\\_tmk\\_tmp' or c.relname like '%\\_\\_tmk\\_backup' or c.relname like '%\\_\\_tmk\\_incr')",
            self.project.schema
        ))
    }

    /// After a crash at `point`: every relation is in its old or its new state, and in the
    /// one `point` says for the relations it names; the watermark matches the data.
    fn assert_old_or_new(&self, point: &CrashPoint) {
        let reference = reference();
        let state = self.state();
        let loaded = self.psql(&format!(
            "select max(version) || ' (integer)' from {}.orders_merged",
            self.project.schema
        ));
        assert_eq!(
            state[WATERMARK], loaded,
            "after a crash at {:?}, the watermark must match the rows of `orders_merged`",
            point.pause
        );
        for relation in RELATIONS {
            let (now, old, new) = (
                &state[relation],
                &reference.old[relation],
                &reference.new[relation],
            );
            let expected = if point.new.contains(&relation) {
                "new"
            } else if point.old.contains(&relation) {
                "old"
            } else {
                "old or new"
            };
            let matches = match expected {
                "new" => now == new,
                "old" => now == old,
                _ => now == old || now == new,
            };
            assert!(
                matches,
                "after a crash at {:?}, `{relation}` must be in its {expected} state\nnow: {now}\nold: {old}\nnew: {new}",
                point.pause
            );
        }
    }

    /// The next build after a crash: it does not wait for the run lock, and leaves what a
    /// clean build of version 2 leaves, without temporary relations.
    fn assert_next_build_completes(&self) {
        let rebuilt = self.build(2, &["--lock-timeout", "0"]);
        assert_ok(&rebuilt);
        assert_eq!(self.state(), reference().new);
        assert_eq!(self.leftovers(), "");
    }
}

/// A tmk process started by a test; killed if the test fails while it runs.
struct Running {
    child: Child,
    stdout: String,
    stderr: String,
}

impl Running {
    /// Start `tmk ARGS` in `project`; its output goes to files in the project.
    fn start(project: &TestProject, args: &[&str]) -> Running {
        let stdout = project.path().join("tmk.stdout");
        let stderr = project.path().join("tmk.stderr");
        let child = project
            .tmk_command(args)
            .stdout(File::create(&stdout).expect("create stdout file"))
            .stderr(File::create(&stderr).expect("create stderr file"))
            .spawn()
            .expect("start tmk");
        Running {
            child,
            stdout: stdout.display().to_string(),
            stderr: stderr.display().to_string(),
        }
    }

    /// Wait until `condition` (a query on `database` returning a boolean) holds while tmk
    /// runs; fails when tmk ends first or it takes too long.
    fn wait_until(&mut self, database: &Database, what: &str, condition: &str) {
        let deadline = Instant::now() + REACH_TIMEOUT;
        while common::psql_at(database, condition) != "t" {
            if let Some(status) = self.child.try_wait().expect("poll tmk") {
                panic!("tmk ended ({status}) before {what}\n{}", self.output());
            }
            assert!(Instant::now() < deadline, "no {what} within {REACH_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until one of tmk's statements sleeps in `pg_sleep(300)`.
    fn wait_until_sleeping(&mut self, database: &Database) {
        let condition = format!(
            "select count(*) > 0 from pg_stat_activity where application_name = 'tmk (pid {})' \
             and state = 'active' and query like '%pg_sleep(300)%'",
            self.child.id()
        );
        self.wait_until(database, "a statement of tmk sleeping", &condition);
    }

    fn output(&self) -> String {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        format!("stdout:\n{}\nstderr:\n{}", read(&self.stdout), read(&self.stderr))
    }

    /// Wait for tmk to end on its own within `timeout`; returns its exit code.
    fn wait(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll tmk") {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "tmk did not end within {timeout:?} (it is killed now)\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A psql session holding tmk's swap lock until released.
struct SwapLockHolder {
    psql: Child,
}

impl SwapLockHolder {
    fn take(database: &Database) -> SwapLockHolder {
        let name = format!("tmk-test swap holder {}", std::process::id());
        let mut psql = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &database.host])
            .args(["-p", &database.port.to_string(), "-U", &database.user])
            .args(["-d", &database.dbname])
            .env("PGAPPNAME", &name)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start psql");
        let stdin = psql.stdin.as_mut().expect("psql's stdin");
        writeln!(stdin, "select pg_advisory_lock({SWAP_LOCK});").expect("write to psql");
        stdin.flush().expect("write to psql");
        let held = format!(
            "select count(*) > 0 from pg_locks l join pg_stat_activity a on a.pid = l.pid \
             where a.application_name = '{name}' and l.locktype = 'advisory' and l.granted"
        );
        let deadline = Instant::now() + REACH_TIMEOUT;
        while common::psql_at(database, &held) != "t" {
            assert!(Instant::now() < deadline, "psql did not get the swap lock");
            std::thread::sleep(Duration::from_millis(50));
        }
        SwapLockHolder { psql }
    }

    /// End the session (and its lock).
    fn release(mut self) {
        drop(self.psql.stdin.take());
        let _ = self.psql.wait();
    }
}

/// The states a crash may leave: after a build of version 1 (old) and after a build of version
/// 2 on top of it (new), which must equal a clean build of version 2 in a fresh schema.
struct Reference {
    old: State,
    new: State,
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let database = common::database();
        let reference = Crashable::new("crash_reference", database);
        assert_ok(&reference.build(1, &[]));
        let old = reference.state();
        reference.write_seeds(2);
        assert_ok(&reference.build(2, &[]));
        let new = reference.state();
        let clean = Crashable::new("crash_clean", database);
        clean.write_seeds(2);
        assert_ok(&clean.build(2, &[]));
        assert_eq!(
            clean.state(),
            new,
            "a build of version 2 on version 1 leaves what a clean build of version 2 leaves"
        );
        for key in RELATIONS.iter().chain([&WATERMARK]) {
            assert_ne!(old[key], new[key], "`{key}` must differ between versions");
            assert!(!new[key].starts_with("missing"), "{key}");
        }
        Reference { old, new }
    })
}

/// A private cluster, for tests that hold tmk's (server-wide) swap lock or stop the server.
fn private_cluster() -> (TemporaryCluster, Database) {
    let cluster = TemporaryCluster::start().expect("start a private PostgreSQL");
    let running = cluster.cluster();
    let database = Database {
        host: running.host.clone(),
        port: running.port,
        user: running.user.clone(),
        dbname: running.database.clone(),
    };
    (cluster, database)
}

/// Build version 1, start a build of version 2 and `kill -9` it at `point`; then check the
/// relations, that the killed run left no session (nor its run lock), and the next build.
fn kill_at(name: &str, database: &Database, point: &CrashPoint) {
    let project = Crashable::new(name, database);
    assert_ok(&project.build(1, &[]));
    assert_eq!(project.state(), reference().old);
    project.write_seeds(2);
    let holder = point.pause.is_none().then(|| SwapLockHolder::take(database));
    let mut tmk = project.start_build(point.pause);
    project.wait_until_caught(&mut tmk, point);
    let pid = tmk.child.id();
    tmk.child.kill().expect("kill -9 tmk");
    tmk.child.wait().expect("reap tmk");
    if let Some(holder) = holder {
        holder.release();
    }
    project.wait_until_sessions_end(pid);
    project.assert_old_or_new(point);
    project.assert_next_build_completes();
}

/// `kill -9` while a new table is being created (its `create table as` runs).
#[test]
fn kill_9_while_a_table_is_created_leaves_old_or_new_relations_and_the_next_build_completes() {
    kill_at("kill_create", common::database(), &WHILE_A_TABLE_IS_CREATED);
}

/// `kill -9` while a table has been swapped in (and its dependent view recreated) in a
/// transaction that has not committed.
#[test]
fn kill_9_during_an_uncommitted_swap_leaves_old_or_new_relations_and_the_next_build_completes() {
    kill_at("kill_swap", common::database(), &WHILE_A_SWAP_IS_UNCOMMITTED);
}

/// `kill -9` while an incremental model's MERGE has run in a transaction that has not committed.
#[test]
fn kill_9_during_an_uncommitted_merge_leaves_old_or_new_relations_and_the_next_build_completes() {
    kill_at("kill_merge", common::database(), &WHILE_A_MERGE_IS_UNCOMMITTED);
}

/// `kill -9` once a new relation is committed under its temporary name and waits to be
/// swapped in: the temporary relation is left behind, and the next build drops it.
#[test]
fn kill_9_between_build_and_swap_leaves_old_relations_and_the_next_build_drops_the_temporary_ones() {
    let (_cluster, database) = private_cluster();
    kill_at("kill_between", &database, &BETWEEN_BUILD_AND_SWAP);
}

/// Regression: the statements of a killed tmk kept running on the server until they next
/// talked to it (a `create table as` for as long as its query ran), holding their locks, so
/// the next build waited for them. Connections now ask the server to check, while a statement
/// runs, that tmk is still there.
#[test]
fn a_killed_tmks_statements_do_not_keep_running_and_block_the_next_build() {
    let project = Crashable::new("killed_statements", common::database());
    assert_ok(&project.build(1, &[]));
    project.write_seeds(2);
    let mut tmk = project.start_build(WHILE_A_TABLE_IS_CREATED.pause);
    project.wait_until_caught(&mut tmk, &WHILE_A_TABLE_IS_CREATED);
    let pid = tmk.child.id();
    tmk.child.kill().expect("kill -9 tmk");
    tmk.child.wait().expect("reap tmk");
    project.wait_until_sessions_end(pid);
    let started = Instant::now();
    assert_ok(&project.build(2, &["--lock-timeout", "0"]));
    assert!(started.elapsed() < SESSIONS_END_TIMEOUT);
}

/// PostgreSQL stops (immediate shutdown, as in a crash) in the middle of a build, at each
/// crash point: tmk fails promptly with a message naming the lost connection (no panic, no
/// hang); after the server is started again every relation is in its old or its new state and
/// the next build completes. The server is a private cluster, never the shared one.
#[test]
fn stopping_postgresql_mid_build_fails_the_run_and_leaves_old_or_new_relations() {
    let (cluster, database) = private_cluster();
    let project = Crashable::new("stop_server", &database);
    for point in [
        &WHILE_A_TABLE_IS_CREATED,
        &WHILE_A_SWAP_IS_UNCOMMITTED,
        &WHILE_A_MERGE_IS_UNCOMMITTED,
        &BETWEEN_BUILD_AND_SWAP,
    ] {
        // Each crash point starts from a fresh build of version 1.
        project.psql(&format!(
            "drop schema if exists {} cascade",
            project.project.schema
        ));
        project.write_seeds(1);
        assert_ok(&project.build(1, &[]));
        assert_eq!(project.state(), reference().old);
        project.write_seeds(2);
        let holder = point.pause.is_none().then(|| SwapLockHolder::take(&database));
        let mut tmk = project.start_build(point.pause);
        project.wait_until_caught(&mut tmk, point);
        cluster.crash().expect("stop PostgreSQL");
        let code = tmk.wait(EXIT_TIMEOUT);
        if let Some(holder) = holder {
            holder.release();
        }
        let output = tmk.output();
        assert!(
            code == 1 || code == 2,
            "tmk must fail with exit code 1 or 2, not {code}\n{output}"
        );
        assert!(!output.contains("panicked"), "{output}");
        assert!(output.contains("lost the connection to PostgreSQL"), "{output}");
        cluster.restart().expect("start PostgreSQL again");
        project.assert_old_or_new(point);
        project.assert_next_build_completes();
    }
}

/// Regression: once PostgreSQL was gone, every step still to run waited for the pool's connect
/// timeout (10 s) before failing, so a run with many steps left took minutes to end. The first
/// lost connection now stops the run: the steps not started are skipped.
#[test]
fn a_lost_connection_ends_the_run_instead_of_trying_every_remaining_step() {
    let (cluster, database) = private_cluster();
    let views: Vec<(String, &str)> = (1..=12)
        .map(|index| (format!("models/b_{index:02}.sql"), "select 1 as id"))
        .collect();
    let mut files: Vec<(&str, &str)> = vec![(
        "models/a_slow.sql",
        "{{ config(materialized='table') }}\nselect 1 as id from (select pg_sleep(300)) as slept",
    )];
    files.extend(views.iter().map(|(path, sql)| (path.as_str(), *sql)));
    let project = TestProject::new("lost_connection", &files);
    project.write("profiles.yml", &project.profile_at("demo", &database));
    // One thread: the views wait while the slow table is built.
    let mut tmk = Running::start(&project, &["run", "--threads", "1"]);
    tmk.wait_until_sleeping(&database);
    cluster.crash().expect("stop PostgreSQL");
    let stopped = Instant::now();
    let code = tmk.wait(EXIT_TIMEOUT);
    let output = tmk.output();
    assert!(
        stopped.elapsed() < Duration::from_secs(30),
        "tmk took {:?} to end once PostgreSQL was gone\n{output}",
        stopped.elapsed()
    );
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("ERROR table a_slow") && output.contains("lost the connection to PostgreSQL"),
        "{output}"
    );
    assert_eq!(output.matches("SKIP  view b_").count(), 12, "{output}");
}
