//! Safe, audited runs against a real PostgreSQL: every run records itself and its nodes in
//! `tmk_meta.runs` and `tmk_meta.node_runs` (also a run of tests alone, and a run that fails);
//! Ctrl-C cancels the running statements, records the run and its unfinished nodes as
//! cancelled, leaves the relations as they were, releases the run lock and exits 130; a
//! transient fault (here a serialization failure) runs the step again, and any other error
//! fails the node at once.

#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, TestProject, assert_exit};

/// The runs of this test's target, oldest first: command, selection, users, target, status.
fn runs(project: &TestProject) -> String {
    project.query(&format!(
        "select command, coalesce(selection, '-'), db_user = current_user, target, status, \
         ended_at >= started_at from tmk_meta.runs where target_schema = '{}' order by started_at",
        project.schema
    ))
}

/// The nodes of this test's latest run, by unique id: type, materialization, status, rows
/// affected, retries and error message.
fn latest_nodes(project: &TestProject) -> String {
    project.query(&format!(
        "select unique_id, resource_type, materialization, status, coalesce(rows_affected::text, '-'), \
         retries, coalesce(error_message, '-'), duration_seconds >= 0 \
         from tmk_meta.node_runs where run_id = (select run_id from tmk_meta.runs \
         where target_schema = '{}' order by started_at desc limit 1) order by unique_id",
        project.schema
    ))
}

/// The invocation id run_results.json records.
fn invocation_id(project: &TestProject) -> String {
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json");
    results["metadata"]["invocation_id"]
        .as_str()
        .expect("invocation_id")
        .to_string()
}

/// Wait until `condition` holds, for at most `seconds`; whether it did.
fn wait_until(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// A build writes the run and every node as it finishes (statuses, rows affected, the failing
/// model's error); the run that failed is `error`, a clean one `success` with its selection, and
/// a run of tests alone (which takes no run lock) is recorded too.
#[test]
fn runs_and_their_nodes_are_recorded_in_tmk_meta() {
    let project = TestProject::new(
        "audit_trail",
        &[
            ("seeds/raw.csv", "id,name\n1,a\n2,b\n3,c\n"),
            (
                "models/wide.sql",
                "{{ config(materialized='table') }}\nselect * from {{ ref('raw') }}\n",
            ),
            ("models/narrow.sql", "select id from {{ ref('wide') }}\n"),
            ("models/bad.sql", "select nope from {{ ref('wide') }}\n"),
            ("models/after_bad.sql", "select * from {{ ref('bad') }}\n"),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: wide\n    columns:\n      - name: id\n        data_tests: [unique]\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    let run_id = invocation_id(&project);
    assert_eq!(
        project.query(&format!(
            "select count(*) from tmk_meta.runs where run_id = '{run_id}' and target_schema = '{}'",
            project.schema
        )),
        "1",
        "the runs row is keyed by the invocation id"
    );
    insta::assert_snapshot!("failed_build_nodes", latest_nodes(&project));

    project.write("models/bad.sql", "select id as nope from {{ ref('wide') }}\n");
    assert_exit(
        &project.tmk(&["run", "--select", "bad+", "--exclude", "after_bad"]),
        0,
    );
    assert_exit(&project.tmk(&["test"]), 0);
    assert_eq!(
        runs(&project),
        "build|-|t|dev|error|t\nrun|--select bad+ --exclude after_bad|t|dev|success|t\ntest|-|t|dev|success|t"
    );
    let nodes = latest_nodes(&project);
    assert!(
        nodes.starts_with("test.demo.unique_wide_id.") && nodes.ends_with("|test|test|pass|-|0|-|t"),
        "{nodes}"
    );
}

/// tmk started in the background.
fn spawn(project: &TestProject, args: &[&str]) -> Child {
    project
        .tmk_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tmk")
}

/// Ctrl-C in the middle of a build: the running statement is cancelled and rolled back (the
/// table keeps its old rows), nothing more starts, the run and both nodes are recorded as
/// cancelled, run_results.json is written, no connection of that tmk is left, tmk exits 130
/// quickly, and the run lock is free for the next build at once.
#[test]
fn ctrl_c_cancels_the_running_statements_records_cancelled_and_releases_the_lock() {
    let project = TestProject::new(
        "audit_cancel",
        &[
            (
                "models/slow.sql",
                "{{ config(materialized='table') }}\nselect 1 as id\n",
            ),
            ("models/after_slow.sql", "select * from {{ ref('slow') }}\n"),
        ],
    );
    assert_exit(&project.tmk(&["build"]), 0);
    project.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 2 as id from (select pg_sleep(30)) as slept\n",
    );
    let mut child = spawn(&project, &["build"]);
    let pid = child.id();
    let sleeping = format!(
        "select count(*) from pg_stat_activity where query like '%pg_sleep(30)%' and query like '%{}%' and pid <> pg_backend_pid()",
        project.schema
    );
    assert!(
        wait_until(30, || project.query(&sleeping) == "1"),
        "the build never started the slow model"
    );
    let interrupted = Instant::now();
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(signalled.success());
    let exited = wait_until(10, || matches!(child.try_wait(), Ok(Some(_))));
    if !exited {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("tmk's output");
    assert!(exited, "tmk did not exit within 10 s of Ctrl-C");
    let stopped_in = interrupted.elapsed();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_exit(&run, 130);
    assert!(
        stopped_in < Duration::from_secs(5),
        "tmk took {stopped_in:?} to stop"
    );
    insta::assert_snapshot!("cancelled_build_output", project.normalize(&run.stdout));
    assert_eq!(
        runs(&project),
        "build|-|t|dev|success|t\nbuild|-|t|dev|cancelled|t"
    );
    assert_eq!(
        latest_nodes(&project),
        "model.demo.after_slow|model|view|cancelled|-|0|cancelled (Ctrl-C) before it started|t\n\
         model.demo.slow|model|table|cancelled|-|0|cancelled (Ctrl-C) while running; its transaction rolled back: canceling statement due to user request|t"
    );
    let results = project.read("target/run_results.json");
    assert!(
        results.contains("cancelled (Ctrl-C) before it started"),
        "{results}"
    );
    let backends =
        format!("select count(*) from pg_stat_activity where application_name = 'tmk (pid {pid})'");
    assert!(
        wait_until(5, || project.query(&backends) == "0"),
        "connections of the cancelled tmk remain"
    );
    assert_eq!(project.rows("slow"), "1", "the table lost its old state");
    project.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect 3 as id\n",
    );
    assert_exit(&project.tmk(&["build", "--lock-timeout", "0"]), 0);
    assert_eq!(project.rows("slow"), "3");
}

/// Functions in the test's schema whose calls count themselves in a sequence (nextval is not
/// transactional, so the count survives the rollback of a failed attempt): `flaky()` raises a
/// serialization failure on every odd call, `broken()` raises a lasting error on every call.
fn create_counting_functions(project: &TestProject) {
    project.query(&format!(
        "create schema {0};
         create sequence {0}.flaky_calls;
         create function {0}.flaky() returns int language plpgsql as $$
         begin
           if nextval('{0}.flaky_calls') % 2 = 1 then
             raise exception 'could not serialize access (simulated)' using errcode = 'serialization_failure';
           end if;
           return 1;
         end $$;
         create sequence {0}.broken_calls;
         create function {0}.broken() returns int language plpgsql as $$
         begin
           perform nextval('{0}.broken_calls');
           raise exception 'broken for good' using errcode = 'data_exception';
         end $$;",
        project.schema
    ));
}

/// A serialization failure runs the model again, which then succeeds, and says so (the node's
/// line, run_results.json, tmk_meta); a lasting error fails its model after one attempt.
#[test]
fn a_transient_fault_is_retried_and_a_lasting_error_is_not() {
    let project = TestProject::new(
        "audit_retry",
        &[
            (
                "models/flaky.sql",
                "{{ config(materialized='table') }}\nselect {{ target.schema }}.flaky() as id\n",
            ),
            (
                "models/broken.sql",
                "{{ config(materialized='table') }}\nselect {{ target.schema }}.broken() as id\n",
            ),
        ],
    );
    create_counting_functions(&project);
    let run = project.tmk(&["run"]);
    assert_exit(&run, 1);
    let calls =
        |sequence: &str| project.query(&format!("select last_value from {}.{sequence}", project.schema));
    assert_eq!(
        calls("flaky_calls"),
        "2",
        "flaky ran once more after its serialization failure"
    );
    assert_eq!(calls("broken_calls"), "1", "a lasting error was retried");
    assert_eq!(project.rows("flaky"), "1");
    let flaky_line = run
        .stdout
        .lines()
        .find(|line| line.contains("table flaky"))
        .expect("flaky's line");
    assert!(
        flaky_line.contains("OK") && flaky_line.ends_with(", retried once]"),
        "{flaky_line}"
    );
    let results = project.read("target/run_results.json");
    assert!(
        results.contains(
            "SELECT 1; retried 1 time after a transient fault: could not serialize access (simulated)"
        ),
        "{results}"
    );
    assert_eq!(
        latest_nodes(&project),
        "model.demo.broken|model|table|error|-|0|broken for good|t\n\
         model.demo.flaky|model|table|success|1|1|-|t"
    );
}
