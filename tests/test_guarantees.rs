//! Tests the database already guarantees, against a real PostgreSQL: a not_null test on a
//! `NOT NULL` column, a unique test on a primary key and a relationships test along a validated
//! foreign key pass without their queries and say what answered them; when the guarantee is
//! gone (triggers disabled, rows inherited from a child table, a key not validated, the test's
//! own version in the project) the query runs and finds the bad rows.

#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;

use common::{TestProject, assert_exit, assert_ok, status_line, test_result_entries};

const PROPERTIES: &str = "version: 2
models:
  - name: parents
    columns:
      - name: id
        data_tests:
          - not_null
          - unique:
              config: {warn_if: \">= 0\", severity: warn}
  - name: children
    columns:
      - name: id
        data_tests:
          - unique
          - not_null:
              config: {trust_constraints: false}
      - name: parent_id
        data_tests:
          - not_null
          - relationships:
              arguments: {to: ref('parents'), field: id}
";

/// Parents (1–3, a key added by a post-hook) and children (1–10, each pointing at a parent by
/// a `NOT NULL` foreign key), with their tests, plus `extra` files.
fn project(name: &str, extra: &[(&str, &str)]) -> TestProject {
    let mut files = vec![
        (
            "models/parents.sql",
            "{{ config(materialized='table', post_hook='alter table {{ this }} add primary key (id)') }}\n\
             select g as id from generate_series(1, 3) g\n",
        ),
        (
            "models/children.sql",
            "{{ config(materialized='table', post_hook=[\n\
             'alter table {{ this }} add primary key (id)',\n\
             \"alter table {{ this }} alter column parent_id set not null, add foreign key (parent_id) references {{ ref('parents') }} (id)\"]) }}\n\
             -- depends_on: {{ ref('parents') }}\n\
             select g as id, g % 3 + 1 as parent_id from generate_series(1, 10) g\n",
        ),
        ("models/schema.yml", PROPERTIES),
    ];
    files.extend_from_slice(extra);
    TestProject::new(name, &files)
}

/// Each test's (status, failures, message) in the last run's run_results.json, by test name.
fn outcomes(project: &TestProject) -> BTreeMap<String, (String, i64, String)> {
    test_result_entries(project)
        .into_iter()
        .map(|(name, result)| {
            let text = |key: &str| result[key].as_str().unwrap_or_default().to_string();
            let failures = result["failures"].as_i64().unwrap_or(-1);
            (name, (text("status"), failures, text("message")))
        })
        .collect()
}

/// One test's (status, failures, message), as `outcomes` gives them.
fn outcome(status: &str, failures: i64, message: &str) -> (String, i64, String) {
    (status.to_string(), failures, message.to_string())
}

#[test]
fn constraints_answer_their_tests_until_the_guarantee_is_gone() {
    let project = project("test_guarantees", &[]);
    let build = project.tmk(&["build"]);
    assert_ok(&build);
    // Each test answered by the catalog says by what; the others ran their queries.
    for (test, answer) in [
        ("not_null_parents_id", "[PASS (NOT NULL) in "),
        ("unique_parents_id", "[WARN 0 in "),
        ("unique_children_id", "[PASS (unique index children_pkey) in "),
        ("not_null_children_id", "[PASS in "),
        (
            "relationships_children_parent_id__id__ref_parents_",
            "[PASS (foreign key children_parent_id_fkey) in ",
        ),
    ] {
        assert!(
            status_line(&build.stdout, test).contains(answer),
            "{test}: {}",
            build.stdout
        );
    }
    let relationships = "relationships_children_parent_id__id__ref_parents_";
    let expected = BTreeMap::from([
        ("not_null_parents_id".to_string(), outcome("pass", 0, "")),
        // Answered by the catalog, its thresholds still apply to its 0 failures.
        (
            "unique_parents_id".to_string(),
            outcome("warn", 0, "Got 0 results, configured to warn if >= 0"),
        ),
        ("unique_children_id".to_string(), outcome("pass", 0, "")),
        // The two not_null tests of children share one scan.
        ("not_null_children_id".to_string(), outcome("pass", 0, "")),
        ("not_null_children_parent_id".to_string(), outcome("pass", 0, "")),
        (relationships.to_string(), outcome("pass", 0, "")),
    ]);
    assert_eq!(outcomes(&project), expected);

    // Triggers disabled: the key no longer guarantees anything, the test's query finds the orphan.
    let children = format!("{}.children", project.schema);
    project.query(&format!(
        "alter table {children} disable trigger all; insert into {children} values (11, 99)"
    ));
    assert_exit(&project.tmk(&["test"]), 1);
    let after = outcomes(&project);
    assert_eq!(
        after[relationships],
        outcome("fail", 1, "Got 1 result, configured to fail if != 0")
    );
    assert_eq!(after["unique_children_id"], expected["unique_children_id"]);
    project.query(&format!(
        "delete from {children} where id = 11; alter table {children} enable trigger all"
    ));
    assert_ok(&project.tmk(&["test"]));
    assert_eq!(outcomes(&project), expected);

    // A table inheriting from children adds its rows to every query of children, and no key or
    // index of children covers them.
    project.query(&format!(
        "create table {children}_more () inherits ({children}); insert into {children}_more values (1, 3)"
    ));
    let run = project.tmk(&["test"]);
    assert_exit(&run, 1);
    assert!(
        status_line(&run.stdout, relationships).contains("[PASS in "),
        "{}",
        run.stdout
    );
    let inherited = outcomes(&project);
    assert_eq!(
        inherited["unique_children_id"],
        outcome("fail", 1, "Got 1 result, configured to fail if != 0")
    );
    assert_eq!(inherited[relationships], outcome("pass", 0, ""));
    project.query(&format!("drop table {children}_more"));

    // Rebuilding the parent (its key comes from a post-hook, which runs before the child's key
    // is added back) leaves the child's key `NOT VALID`: the relationships test runs.
    assert_ok(&project.tmk(&["run", "-s", "parents"]));
    let valid = project.query(&format!(
        "select convalidated from pg_constraint where conname = 'children_parent_id_fkey' \
         and conrelid = '{children}'::regclass"
    ));
    assert_eq!(valid.trim(), "f");
    let run = project.tmk(&["test"]);
    assert_ok(&run);
    assert!(
        status_line(&run.stdout, relationships).contains("[PASS in "),
        "{}",
        run.stdout
    );
    assert_eq!(outcomes(&project)[relationships], outcome("pass", 0, ""));
}

#[test]
fn the_projects_own_version_of_a_test_is_never_answered_by_a_constraint() {
    let project = project(
        "test_guarantees_own",
        &[(
            "macros/strict.sql",
            "{% macro default__test_unique(model, column_name) %}\n\
             select {{ column_name }} from {{ model }} where {{ column_name }} > 9\n\
             {% endmacro %}\n\
             {% macro postgres__test_not_null(model, column_name) %}\n\
             select {{ column_name }} from {{ model }} where {{ column_name }} > 3\n\
             {% endmacro %}\n",
        )],
    );
    let build = project.tmk(&["build"]);
    assert_exit(&build, 1);
    let results = outcomes(&project);
    let fail = |failures: i64| {
        outcome(
            "fail",
            failures,
            &format!("Got {failures} results, configured to fail if != 0"),
        )
    };
    // The project's not_null ran (parents.id has no value over 3), not the NOT NULL.
    assert_eq!(results["not_null_parents_id"], outcome("pass", 0, ""));
    assert!(
        status_line(&build.stdout, "not_null_parents_id").contains("[PASS in "),
        "{}",
        build.stdout
    );
    assert_eq!(
        results["unique_children_id"],
        outcome("fail", 1, "Got 1 result, configured to fail if != 0")
    );
    // Not batched either: each not_null ran the project's query.
    assert_eq!(results["not_null_children_id"], fail(7));
    assert_eq!(results["not_null_children_parent_id"], outcome("pass", 0, ""));
    // The built-in relationships test is still answered by the key.
    assert!(
        status_line(
            &build.stdout,
            "relationships_children_parent_id__id__ref_parents_"
        )
        .contains("[PASS (foreign key children_parent_id_fkey) in "),
        "{}",
        build.stdout
    );
}

#[test]
fn trust_constraints_that_is_not_a_boolean_is_an_error_at_the_test() {
    let project = TestProject::new(
        "test_guarantees_bad_value",
        &[
            ("models/orders.sql", "select 1 as order_id\n"),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: order_id\n        data_tests:\n          - unique:\n              config: {trust_constraints: sometimes}\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert!(
        run.stderr
            .contains("`trust_constraints` must be true or false, not `sometimes`"),
        "{}",
        run.stderr
    );
    assert!(!project.exists("orders"), "nothing is built");
    insta::assert_snapshot!("trust_constraints_not_a_boolean", project.normalize(&run.stderr));
}

/// Source tables made outside tmk: a table referencing a table partitioned by its key, one
/// with a column named by a keyword, and tests that name columns in capitals, name a partition
/// as `to:`, or carry a `where`.
#[test]
fn partitions_keywords_and_where_are_answered_only_when_the_query_would_agree() {
    let project = TestProject::new(
        "test_guarantees_sources",
        &[(
            "models/all_kids.sql",
            "select * from {{ source('raw', 'kids') }}\n",
        )],
    );
    let schema = &project.schema;
    project.query(&format!(
        "create schema {schema};
         create table {schema}.parents (id int primary key) partition by range (id);
         create table {schema}.parents_low partition of {schema}.parents for values from (1) to (100);
         create table {schema}.parents_high partition of {schema}.parents for values from (100) to (200);
         insert into {schema}.parents values (1), (150);
         create table {schema}.kids (id int primary key, parent_id int not null references {schema}.parents (id));
         insert into {schema}.kids values (1, 1), (2, 150);
         create table {schema}.accounts (id int primary key, \"user\" text not null unique);
         insert into {schema}.accounts values (1, 'ann'), (2, 'bob');"
    ));
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2
sources:
  - name: raw
    schema: {schema}
    tables:
      - name: parents
      - name: parents_low
      - name: kids
        columns:
          - name: ID
            data_tests: [unique]
          - name: parent_id
            data_tests:
              - relationships:
                  arguments: {{to: \"source('raw', 'parents')\", field: id}}
              - relationships:
                  arguments: {{to: \"source('raw', 'parents_low')\", field: id}}
      - name: accounts
        columns:
          - name: user
            data_tests: [unique, not_null]
          - name: id
            data_tests:
              - unique:
                  config: {{where: \"id > 0\"}}
"
        ),
    );
    let run = project.tmk(&["test"]);
    assert_exit(&run, 1);
    for (test, answer) in [
        // Unquoted capitals fold to the column `id`, as in the query.
        ("source_unique_raw_kids_ID", "[PASS (unique index kids_pkey) in "),
        // The key to the partitioned table answers for it, not for one of its partitions: the
        // query finds the kid whose parent is in the other partition.
        (
            "source_relationships_raw_kids_parent_id__id__source_raw_parents_",
            "[PASS (foreign key kids_parent_id_fkey) in ",
        ),
        (
            "source_relationships_raw_kids_parent_id__id__source_raw_parents_low_",
            "[FAIL 1 in ",
        ),
        // `user` unquoted is the current user in the test's query, not the column: the unique
        // index and the NOT NULL of the column answer nothing, and the queries give what they
        // give in dbt.
        ("source_unique_raw_accounts_user", "[FAIL 1 in "),
        ("source_not_null_raw_accounts_user", "[PASS in "),
        // With a `where`, the query runs.
        ("source_unique_raw_accounts_id", "[PASS in "),
    ] {
        assert!(
            status_line(&run.stdout, test).contains(answer),
            "{test}: {}",
            run.stdout
        );
    }
}
