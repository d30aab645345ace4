//! `--state DIR`: selecting what changed since an earlier run (`state:modified`, `state:new`,
//! `state:modified.<part>`) and what failed in it (`result:`), as dbt's slim CI does, against a
//! real PostgreSQL: the earlier run is a real `tmk build` whose target/ is kept.

mod common;

use common::{TestProject, assert_exit, assert_ok, copy_path, names};

/// a → b (with a failing test) and c, which calls the macro `cents`; a seed s.
const PROJECT: &[(&str, &str)] = &[
    ("models/a.sql", "select 1 as id, 250 as amount\n"),
    ("models/b.sql", "select id, amount from {{ ref('a') }}\n"),
    (
        "models/c.sql",
        "select {{ cents('amount') }} as cents from {{ ref('a') }}\n",
    ),
    (
        "macros/cents.sql",
        "{% macro cents(column) %}{{ column }} * 100{% endmacro %}\n",
    ),
    ("seeds/s.csv", "id\n1\n"),
    (
        "models/schema.yml",
        "version: 2\nsources:\n  - name: shop\n    tables:\n      - name: orders\nmodels:\n  - name: b\n    columns:\n      - name: amount\n        data_tests:\n          - accepted_values: {arguments: {values: [1]}}\n",
    ),
];

#[test]
fn state_selects_what_changed_since_an_earlier_run_and_result_what_failed_in_it() {
    let project = TestProject::new("state", PROJECT);
    let build = project.tmk(&["build"]);
    assert_exit(&build, 1);
    let state = project.path().join("prod");
    copy_path(&project.path().join("target"), &state);
    let state = state.display().to_string();

    // Nothing changed yet: the same manifest, another schema (a CI target) or not.
    assert_eq!(names(&project, &["-s", "state:modified", "--state", &state]), "");
    assert_eq!(
        names(
            &project,
            &[
                "-s",
                "state:unmodified",
                "--resource-type",
                "model",
                "--state",
                &state
            ]
        ),
        "a\nb\nc\n"
    );
    assert_eq!(
        names(&project, &["-s", "result:fail", "--state", &state]),
        "accepted_values_b_amount__1\n"
    );
    assert_eq!(
        names(
            &project,
            &[
                "-s",
                "result:success",
                "--resource-type",
                "model",
                "--state",
                &state
            ]
        ),
        "a\nb\nc\n"
    );

    // a's SQL, c's config (in YAML: its SQL is unchanged), and a new model d.
    project.write("models/a.sql", "select 1 as id, 300 as amount\n");
    project.write(
        "models/schema.yml",
        &format!(
            "{}  - name: c\n    config: {{materialized: table}}\n",
            PROJECT[5].1
        ),
    );
    project.write("models/d.sql", "select 1 as one\n");
    let select = |selector: &str| names(&project, &["-s", selector, "--state", &state]);
    assert_eq!(select("state:modified"), "a\nc\nd\n");
    assert_eq!(select("state:new"), "d\n");
    // A new node counts as changed in every part, as in dbt.
    assert_eq!(select("state:modified.body"), "a\nd\n");
    assert_eq!(select("state:modified.configs"), "c\nd\n");
    assert_eq!(select("state:modified.relation"), "d\n");
    assert_eq!(
        select("state:modified+"),
        "a\nb\nc\nd\naccepted_values_b_amount__1\n"
    );
    // The macro c calls.
    project.write(
        "macros/cents.sql",
        "{% macro cents(column) %}({{ column }}) * 100{% endmacro %}\n",
    );
    // (d is new but calls no macro: dbt looks at the macros alone there.)
    assert_eq!(select("state:modified.macros"), "c\n");
    // A source is compared as a whole: its freshness settings, here.
    project.write(
        "models/schema.yml",
        &PROJECT[5]
            .1
            .replace("      - name: orders\n", "      - name: orders\n        loaded_at_field: at\n        freshness: {warn_after: {count: 1, period: day}}\n")
            .replace("models:\n", "models:\n  - name: c\n    config: {materialized: table}\n"),
    );
    assert_eq!(select("state:modified,resource_type:source"), "shop.orders\n");
    // A schema the project configures is a change of relation; the target's schema is not.
    project.write(
        "models/b.sql",
        "{{ config(schema='reporting') }}\nselect id, amount from {{ ref('a') }}\n",
    );
    // (b's test comes with b: indirect selection is eager, as in dbt.)
    assert_eq!(
        select("state:modified.relation"),
        "b\nd\nshop.orders\naccepted_values_b_amount__1\n"
    );

    // Slim CI: build what changed and what reads it, leaving b out.
    let ci = project.tmk(&[
        "build",
        "-s",
        "state:modified.body+",
        "--exclude",
        "b+",
        "source:shop",
        "--state",
        &state,
    ]);
    assert_ok(&ci);
    assert!(
        ci.stdout.contains("PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3"),
        "{}",
        ci.stdout
    );
    assert_eq!(project.rows("c"), "30000");
}

#[test]
fn state_errors_name_the_flag_the_directory_and_the_value() {
    let project = TestProject::new("state_errors", PROJECT);
    let missing = project.tmk(&["ls", "-s", "state:modified"]);
    assert_exit(&missing, 2);
    assert!(
        missing
            .stderr
            .contains("selector method `state` in `state:modified` requires --state"),
        "{}",
        missing.stderr
    );

    let empty = project.path().join("empty").display().to_string();
    // `tmk ls -s <selector> --state empty/`: it fails (exit 2) saying `expected`.
    let fails_with = |selector: &str, expected: &str| {
        let run = project.tmk(&["ls", "-s", selector, "--state", &empty]);
        assert_exit(&run, 2);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    };
    project.write("empty/README", "not the artifacts of a run\n");
    fails_with("state:modified", "has no manifest.json");

    project.write("empty/manifest.json", "{\"nodes\": {,}}");
    // Without a state: or result: term, the directory is not read.
    assert_ok(&project.tmk(&["ls", "-s", "a", "--state", &empty]));
    fails_with("state:modified", "is not valid JSON");
    fails_with("state:modified", "manifest.json:1:12");
    fails_with("state:modfied", "did you mean `modified`?");

    project.write("empty/manifest.json", "{\"nodes\": {}, \"sources\": {}}");
    fails_with("result:error", "has no run_results.json, which `result:` reads");
}

/// a (with a test and a primary key) → b, and c, a table with a foreign key to a; the
/// profile's `prod` target builds into `<schema>_prod`.
const DEFER_PROJECT: &[(&str, &str)] = &[
    (
        "models/a.sql",
        "{{ config(materialized='table') }}\nselect 1 as id\n",
    ),
    ("models/b.sql", "select id from {{ ref('a') }}\n"),
    (
        "models/c.sql",
        "{{ config(materialized='table') }}\nselect id from {{ ref('a') }}\n",
    ),
    (
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: a\n    config: {contract: {enforced: true}}\n    columns:\n      - name: id\n        data_type: int\n        constraints: [{type: primary_key}]\n        data_tests: [not_null]\n  - name: c\n    config: {contract: {enforced: true}}\n    columns:\n      - name: id\n        data_type: int\n        constraints:\n          - {type: foreign_key, to: \"ref('a')\", to_columns: [id]}\n",
    ),
];

#[test]
fn defer_reads_the_relations_of_the_state_run_for_parents_this_run_does_not_build() {
    let project = TestProject::new("defer", DEFER_PROJECT);
    let prod_schema = format!("{}_prod", project.schema);
    let profile = project.profile("demo");
    project.write(
        "profiles.yml",
        &format!(
            "{profile}    prod:\n{}",
            profile
                .split_once("    dev:\n")
                .expect("dev output")
                .1
                .replace(&project.schema, &prod_schema)
        ),
    );
    assert_ok(&project.tmk(&["build", "--target", "prod"]));
    let state = project.path().join("prod");
    copy_path(&project.path().join("target"), &state);
    let state = state.display().to_string();

    // The development schema is empty: b alone fails, saying so; b deferred reads production's a.
    let alone = project.tmk(&["run", "-s", "b"]);
    assert_exit(&alone, 1);
    let output = format!("{}{}", alone.stdout, alone.stderr);
    assert!(
        output.contains("hint: `a` has not been built")
            && output.contains("or read an earlier run's with `--defer --state DIR`"),
        "{output}"
    );
    let rows_of_b = || project.query(&format!("select id from {}.b", project.schema));
    let deferred = project.tmk(&["build", "-s", "b", "--defer", "--state", &state]);
    assert_ok(&deferred);
    assert!(
        deferred
            .stdout
            .contains("Deferred to `prod`: a read the relations built there."),
        "{}",
        deferred.stdout
    );
    assert!(!project.exists("a"));
    assert_eq!(rows_of_b(), "1");
    let compiled = project.read("target/compiled/demo/models/b.sql");
    assert!(
        compiled.contains(&format!("\"{prod_schema}\".\"a\"")),
        "{compiled}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read("target/manifest.json")).expect("manifest.json");
    // As in dbt, every node the earlier run built has its `defer_relation`, deferred or not.
    for model in ["a", "b"] {
        assert_eq!(
            manifest["nodes"][format!("model.demo.{model}")]["defer_relation"]["schema"],
            serde_json::json!(prod_schema)
        );
    }

    // A test of a model not built here checks production's; without --defer it says to build.
    let tested = project.tmk(&["test", "-s", "a", "--defer", "--state", &state]);
    assert_ok(&tested);
    assert!(tested.stdout.contains("PASS=1"), "{}", tested.stdout);
    let undeferred = project.tmk(&["test", "-s", "a"]);
    assert_exit(&undeferred, 1);
    let output = format!("{}{}", undeferred.stdout, undeferred.stderr);
    assert!(output.contains("run `tmk build --select a` first"), "{output}");

    // `tmk compile` defers too (it asks the target what exists).
    assert_ok(&project.tmk(&["compile", "-s", "b", "--defer", "--state", &state]));
    assert!(
        project
            .read("target/compiled/demo/models/b.sql")
            .contains(&format!("\"{prod_schema}\".\"a\""))
    );
    // And `tmk show`: b's rows, read from production's a.
    let shown = project.tmk(&["show", "-s", "b", "--defer", "--state", &state]);
    assert_ok(&shown);
    assert!(
        shown.stdout.contains("Deferred to `prod`: a") && shown.stdout.contains("Previewing node 'b'"),
        "{}",
        shown.stdout
    );

    // Slim CI: what changed since production, built against production's tables.
    project.write("models/b.sql", "select id, 1 as one from {{ ref('a') }}\n");
    let slim = project.tmk(&["build", "-s", "state:modified+", "--defer", "--state", &state]);
    assert_ok(&slim);
    assert!(
        slim.stdout.contains("Deferred to `prod`: a read")
            && slim.stdout.contains("PASS=1 WARN=0 ERROR=0 SKIP=0 TOTAL=1"),
        "{}",
        slim.stdout
    );
    assert_eq!(rows_of_b(), "1");

    // Once a exists in development, b reads it; --favor-state reads production's still.
    project.write(
        "models/a.sql",
        "{{ config(materialized='table') }}\nselect 1 as id union all select 2\n",
    );
    assert_ok(&project.tmk(&["run", "-s", "a"]));
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read("target/manifest.json")).expect("manifest.json");
    assert!(manifest["nodes"]["model.demo.a"].get("defer_relation").is_none());
    let own = project.tmk(&["run", "-s", "b", "--defer", "--state", &state]);
    assert_ok(&own);
    assert!(!own.stdout.contains("Deferred"), "{}", own.stdout);
    assert_eq!(rows_of_b(), "1\n2");
    let favored = project.tmk(&["run", "-s", "b", "--defer", "--favor-state", "--state", &state]);
    assert_ok(&favored);
    assert_eq!(rows_of_b(), "1");
    // A foreign key references development's a, never the relation --defer reads, as in dbt.
    assert_ok(&project.tmk(&["run", "-s", "c", "--defer", "--favor-state", "--state", &state]));
    assert_eq!(
        project.query(&format!(
            "select confrelid::regclass::text from pg_constraint where conrelid = '{0}.c'::regclass and contype = 'f'",
            project.schema
        )),
        format!("{}.a", project.schema)
    );
    // `tmk test` runs what dbt counts as selected: with --favor-state, a's test checks
    // production's a even though a is selected.
    let favored_test = project.tmk(&["test", "-s", "a", "--defer", "--favor-state", "--state", &state]);
    assert!(
        favored_test.stdout.contains("Deferred to `prod`: a"),
        "{}",
        favored_test.stdout
    );
    // What the run builds is never deferred.
    assert_ok(&project.tmk(&[
        "run",
        "-s",
        "a",
        "b",
        "--defer",
        "--favor-state",
        "--state",
        &state,
    ]));
    assert_eq!(rows_of_b(), "1\n2");

    // When the earlier run's relation is gone too, the error says where --defer looked.
    project.query(&format!("drop table {prod_schema}.a cascade"));
    project.query(&format!("drop table {}.a cascade", project.schema));
    let gone = project.tmk(&["run", "-s", "b", "--defer", "--state", &state]);
    assert_exit(&gone, 1);
    let output = format!("{}{}", gone.stdout, gone.stderr);
    assert!(
        output.contains(&format!(
            "hint: `a` is deferred to the earlier run, whose `\"{}\".\"{prod_schema}\".\"a\"` does not exist",
            common::database().dbname
        )),
        "{output}"
    );
}

#[test]
fn defer_errors_name_the_missing_flag_and_directory_before_connecting() {
    let project = TestProject::new("defer_errors", DEFER_PROJECT);
    let no_state = project.tmk(&["run", "-s", "b", "--defer"]);
    assert_exit(&no_state, 2);
    assert!(
        no_state
            .stderr
            .contains("--defer needs the artifacts of the run to defer to"),
        "{}",
        no_state.stderr
    );
    assert!(
        no_state.stderr.contains("hint: add --state DIR"),
        "{}",
        no_state.stderr
    );

    let favor_alone = project.tmk(&["run", "-s", "b", "--favor-state"]);
    assert_exit(&favor_alone, 2);
    assert!(favor_alone.stderr.contains("--defer"), "{}", favor_alone.stderr);

    project.write("empty/README", "not the artifacts of a run\n");
    let empty = project.path().join("empty").display().to_string();
    let missing = project.tmk(&["run", "-s", "b", "--defer", "--defer-state", &empty]);
    assert_exit(&missing, 2);
    assert!(
        missing.stderr.contains("--defer-state `") && missing.stderr.contains("has no manifest.json"),
        "{}",
        missing.stderr
    );
    project.write("empty/manifest.json", "[]\n");
    let not_manifest = project.tmk(&["run", "-s", "b", "--defer", "--state", &empty]);
    assert_exit(&not_manifest, 2);
    assert!(
        not_manifest
            .stderr
            .contains("manifest.json` is not a manifest.json: it has no `nodes`"),
        "{}",
        not_manifest.stderr
    );
    // Nothing was built or recorded.
    assert_eq!(
        project.query(&format!(
            "select count(*) from pg_namespace where nspname = '{}'",
            project.schema
        )),
        "0"
    );
}
