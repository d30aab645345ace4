//! Error paths: every user mistake — malformed YAML, unknown config key, unknown materialization
//! or test, undefined ref/source/var/env_var, Jinja syntax and runtime errors, dependency cycles,
//! a bad CSV seed, a bad selector, an unreachable database, a failing SQL statement, an unknown
//! profile or target, duplicate model names, a missing project file — ends with a message that
//! names the file, line and column with the offending snippet (and a `hint:` where a suggestion
//! is possible), exits 1 (a node failed while running) or 2 (tmk stopped before running), never
//! panics, and leaves the database unchanged. Each case snapshots the output a person reads.

mod common;

use std::time::{Duration, Instant};

use common::{TestProject, assert_exit};

/// `output` contains every one of `needles`.
fn assert_contains(output: &str, needles: &[&str]) {
    for needle in needles {
        assert!(output.contains(needle), "expected {needle:?} in:\n{output}");
    }
}

/// `output` holds a miette excerpt whose header is `file:line:col`.
fn assert_excerpt(output: &str, location: &str) {
    assert!(
        output.contains(&format!("╭─[{location}]")),
        "expected an excerpt at {location} in:\n{output}"
    );
}

/// No table, view or index exists in the test's schemas.
fn assert_nothing_built(project: &TestProject) {
    let count = project.query(&format!(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname like '{}%'",
        project.schema
    ));
    assert_eq!(count, "0", "relations were created in {}", project.schema);
}

/// A model that parses: most cases break one file of an otherwise good project.
const GOOD_MODEL: (&str, &str) = ("models/a.sql", "select 1 as id\n");

// ---------------------------------------------------------------------------------------------
// 1. Malformed YAML in a properties file
// ---------------------------------------------------------------------------------------------

/// A properties file with a key indented one space too far.
#[test]
fn badly_indented_properties_yaml_names_the_line_and_column() {
    let project = TestProject::new(
        "err_yaml_indent",
        &[
            GOOD_MODEL,
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n       tests: [unique]\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["invalid YAML", "models/schema.yml"]);
    assert_excerpt(&run.stderr, "models/schema.yml:6:8");
    assert_contains(&run.stderr, &["tests: [unique]"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("badly_indented_properties_yaml", project.normalize(&run.stderr));
}

/// A properties file with a flow mapping closed by the wrong bracket.
#[test]
fn mismatched_bracket_in_properties_yaml_names_the_line_and_column() {
    let project = TestProject::new(
        "err_yaml_bracket",
        &[
            GOOD_MODEL,
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: a\n    tests: [unique, {foo: 1]\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["invalid YAML", "bracket"]);
    assert_excerpt(&run.stderr, "models/schema.yml:4:21");
    assert_nothing_built(&project);
    insta::assert_snapshot!(
        "mismatched_bracket_in_properties_yaml",
        project.normalize(&run.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Malformed dbt_project.yml; unknown top-level key
// ---------------------------------------------------------------------------------------------

/// dbt_project.yml with a key indented under a scalar.
#[test]
fn badly_indented_project_file_names_the_line_and_column() {
    let project = TestProject::new(
        "err_project_indent",
        &[GOOD_MODEL, ("dbt_project.yml", "name: demo\n  profile: demo\n")],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["invalid YAML", "dbt_project.yml"]);
    assert_excerpt(&run.stderr, "dbt_project.yml:2:10");
    assert_nothing_built(&project);
    insta::assert_snapshot!("badly_indented_project_file", project.normalize(&run.stderr));
}

/// dbt_project.yml with a flow mapping that is never closed.
#[test]
fn unclosed_mapping_in_project_file_names_the_line_and_column() {
    let project = TestProject::new(
        "err_project_unclosed",
        &[
            GOOD_MODEL,
            (
                "dbt_project.yml",
                "name: demo\nprofile: demo\nvars: {start: 1\nmodels:\n  demo:\n    +materialized: table\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["invalid YAML", "dbt_project.yml"]);
    assert_excerpt(&run.stderr, "dbt_project.yml:4:7");
    assert_nothing_built(&project);
    insta::assert_snapshot!("unclosed_mapping_in_project_file", project.normalize(&run.stderr));
}

/// A typo in a top-level key of dbt_project.yml (`modles:`).
#[test]
fn unknown_top_level_project_key_suggests_the_closest() {
    let project = TestProject::new(
        "err_project_key",
        &[
            GOOD_MODEL,
            (
                "dbt_project.yml",
                "name: demo\nprofile: demo\nmodles:\n  demo:\n    +materialized: table\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["`modles`"]);
    assert_excerpt(&run.stderr, "dbt_project.yml:3:1");
    assert_contains(&run.stderr, &["hint: did you mean `models`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("unknown_top_level_project_key", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 3-5. Unknown config keys
// ---------------------------------------------------------------------------------------------

/// A British spelling of a config key in the project's `models:` tree.
#[test]
fn unknown_config_key_in_project_tree_suggests_the_closest() {
    let project = TestProject::new(
        "err_config_tree",
        &[
            GOOD_MODEL,
            (
                "dbt_project.yml",
                "name: demo\nprofile: demo\nmodels:\n  demo:\n    +materialised: table\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["unknown config key `materialised`"]);
    assert_excerpt(&run.stderr, "dbt_project.yml:5:5");
    assert_contains(&run.stderr, &["hint: did you mean `materialized`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!(
        "unknown_config_key_in_project_tree",
        project.normalize(&run.stderr)
    );
}

/// A misspelt keyword argument of `{{ config(...) }}` in a model.
#[test]
fn unknown_config_key_in_config_call_points_at_the_call() {
    let project = TestProject::new(
        "err_config_call",
        &[(
            "models/a.sql",
            "-- a model\nselect 1 as id\n{{ config(materialised='table') }}\n",
        )],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["unknown config key `materialised`"]);
    assert_excerpt(&run.stderr, "models/a.sql:3:4");
    assert_contains(&run.stderr, &["hint: did you mean `materialized`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!(
        "unknown_config_key_in_config_call",
        project.normalize(&run.stderr)
    );
}

/// A misspelt key under a model's `config:` in a properties file.
#[test]
fn unknown_config_key_in_properties_yaml_suggests_the_closest() {
    let project = TestProject::new(
        "err_config_yaml",
        &[
            GOOD_MODEL,
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: a\n    config:\n      materialised: table\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["unknown config key `materialised`"]);
    assert_excerpt(&run.stderr, "models/schema.yml:5:7");
    assert_contains(&run.stderr, &["hint: did you mean `materialized`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!(
        "unknown_config_key_in_properties_yaml",
        project.normalize(&run.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Unknown materialization
// ---------------------------------------------------------------------------------------------

/// A typo in the materialization name.
#[test]
fn unknown_materialization_suggests_the_closest() {
    let project = TestProject::new(
        "err_materialization",
        &[(
            "models/a.sql",
            "{{ config(materialized='tabel') }}\nselect 1 as id\n",
        )],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["unknown materialization `tabel`"]);
    assert_excerpt(&run.stderr, "models/a.sql:1:4");
    assert_contains(&run.stderr, &["did you mean `table`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("unknown_materialization", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 7. Unknown key of a model in properties YAML
// ---------------------------------------------------------------------------------------------

/// A typo in a model property (`descrption:`).
#[test]
fn unknown_model_property_suggests_the_closest() {
    let project = TestProject::new(
        "err_model_property",
        &[
            GOOD_MODEL,
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: a\n    descrption: the a model\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["`descrption`"]);
    assert_excerpt(&run.stderr, "models/schema.yml:4:5");
    assert_contains(&run.stderr, &["hint: did you mean `description`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("unknown_model_property", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 8-11. Undefined ref, source, var, env_var
// ---------------------------------------------------------------------------------------------

/// A ref to a model that does not exist.
#[test]
fn undefined_ref_points_at_the_ref_call() {
    let project = TestProject::new(
        "err_ref_missing",
        &[("models/a.sql", "select 1 as id\nfrom {{ ref('missing') }}\n")],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["`missing`", "not a model, seed or snapshot"]);
    assert_excerpt(&run.stderr, "models/a.sql:2:13");
    assert_nothing_built(&project);
    insta::assert_snapshot!("undefined_ref", project.normalize(&run.stderr));
}

/// A ref with a typo in the name of an existing model.
#[test]
fn misspelt_ref_suggests_the_existing_model() {
    let project = TestProject::new(
        "err_ref_typo",
        &[
            ("models/stg_orders.sql", "select 1 as id\n"),
            ("models/b.sql", "select *\nfrom {{ ref('stg_order') }}\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["`stg_order`", "models/b.sql"]);
    assert_excerpt(&run.stderr, "models/b.sql:2:13");
    assert_contains(&run.stderr, &["hint: did you mean `stg_orders`?"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("misspelt_ref", project.normalize(&run.stderr));
}

/// A source table that the source does not declare.
#[test]
fn undefined_source_points_at_the_source_call() {
    let project = TestProject::new(
        "err_source",
        &[
            (
                "models/sources.yml",
                "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n",
            ),
            ("models/b.sql", "select *\n  from {{ source('raw', 'nope') }}\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["source `raw.nope`", "not defined"]);
    assert_excerpt(&run.stderr, "models/b.sql:2:25");
    assert_nothing_built(&project);
    insta::assert_snapshot!("undefined_source", project.normalize(&run.stderr));
}

/// A var used without a default and never defined.
#[test]
fn undefined_var_fails_and_vars_flag_supplies_it() {
    let project = TestProject::new(
        "err_var",
        &[(
            "models/a.sql",
            "select 1 as id\nwhere '{{ var('start_date') }}' is not null\n",
        )],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["var `start_date`", "hint:", "--vars"]);
    assert_excerpt(&run.stderr, "models/a.sql:2:11");
    assert_nothing_built(&project);
    insta::assert_snapshot!("undefined_var", project.normalize(&run.stderr));

    let run = project.tmk(&["build", "--vars", "{start_date: 2024-01-01}"]);
    assert_exit(&run, 0);
    assert_eq!(
        project.read("target/compiled/demo/models/a.sql"),
        "select 1 as id\nwhere '2024-01-01' is not null"
    );
    assert!(project.exists("a"));
}

/// env_var() of a variable that is not set, without a default.
#[test]
fn unset_env_var_without_default_names_the_variable() {
    let project = TestProject::new(
        "err_env_var",
        &[(
            "models/a.sql",
            "select '{{ env_var('TMK_ERRORS_TEST_NEVER_SET') }}' as x\n",
        )],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["`TMK_ERRORS_TEST_NEVER_SET`", "not set"]);
    assert_excerpt(&run.stderr, "models/a.sql:1:12");
    assert_nothing_built(&project);
    insta::assert_snapshot!("unset_env_var", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 12-13. Jinja errors
// ---------------------------------------------------------------------------------------------

/// An `{% if %}` block that is never closed.
#[test]
fn unclosed_jinja_block_is_a_syntax_error_at_the_block() {
    let project = TestProject::new(
        "err_jinja_unclosed",
        &[("models/a.sql", "select 1 as id\n{% if true %}\n, 2 as b\n")],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["Jinja syntax error"]);
    assert_excerpt(&run.stderr, "models/a.sql:2:14");
    assert_nothing_built(&project);
    insta::assert_snapshot!("unclosed_jinja_block", project.normalize(&run.stderr));
}

/// A ref call missing its closing parenthesis.
#[test]
fn unclosed_call_parenthesis_is_a_syntax_error_at_the_token() {
    let project = TestProject::new(
        "err_jinja_paren",
        &[("models/a.sql", "select 1 as id\nfrom {{ ref('a' }}\n")],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["Jinja syntax error", "unexpected `}`"]);
    assert_excerpt(&run.stderr, "models/a.sql:2:17");
    assert_nothing_built(&project);
    insta::assert_snapshot!("unclosed_call_parenthesis", project.normalize(&run.stderr));
}

/// A macro in macros/ that fails when a model calls it.
#[test]
fn runtime_error_in_macro_points_at_the_macro_and_its_caller() {
    let project = TestProject::new(
        "err_jinja_macro",
        &[
            (
                "macros/cents.sql",
                "{% macro cents(col) %}\n  {{ col }} / {{ 100 | nosuchfilter }}\n{% endmacro %}\n",
            ),
            (
                "models/a.sql",
                "select\n  {{ cents('amount') }} as dollars\nfrom (select 1 as amount) t\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["nosuchfilter"]);
    assert_excerpt(&run.stderr, "macros/cents.sql:2:24");
    assert_contains(&run.stderr, &["called from models/a.sql:2"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("runtime_error_in_macro", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 14. Cycles
// ---------------------------------------------------------------------------------------------

/// Two models that ref each other.
#[test]
fn two_model_cycle_shows_the_path_and_a_ref_call() {
    let project = TestProject::new(
        "err_cycle_two",
        &[
            ("models/a.sql", "select *\nfrom {{ ref('b') }}\n"),
            ("models/b.sql", "select *\nfrom {{ ref('a') }}\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &["cycle", "model.demo.a → model.demo.b → model.demo.a", "hint:"],
    );
    // The excerpt shows one of the ref() calls that close the cycle.
    assert!(
        ["a", "b"]
            .iter()
            .any(|model| run.stderr.contains(&format!("╭─[models/{model}.sql:2:"))),
        "expected an excerpt at a ref() call of the cycle in:\n{}",
        run.stderr
    );
    assert_nothing_built(&project);
    insta::assert_snapshot!("two_model_cycle", project.normalize(&run.stderr));
}

/// Three models in a ring: a refs c, b refs a, c refs b.
#[test]
fn three_model_cycle_shows_the_path_in_order() {
    let project = TestProject::new(
        "err_cycle_three",
        &[
            ("models/a.sql", "select *\nfrom {{ ref('c') }}\n"),
            ("models/b.sql", "select *\nfrom {{ ref('a') }}\n"),
            ("models/c.sql", "select *\nfrom {{ ref('b') }}\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &[
            "model.demo.a → model.demo.b → model.demo.c → model.demo.a",
            "hint:",
        ],
    );
    assert!(
        ["a", "b", "c"]
            .iter()
            .any(|model| run.stderr.contains(&format!("╭─[models/{model}.sql:2:"))),
        "expected an excerpt at a ref() call of the cycle in:\n{}",
        run.stderr
    );
    assert_nothing_built(&project);
    insta::assert_snapshot!("three_model_cycle", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 15. Bad CSV seed
// ---------------------------------------------------------------------------------------------

/// A seed row with one field too many.
#[test]
fn seed_row_with_too_many_fields_fails_the_seed_and_loads_nothing() {
    let project = TestProject::new(
        "err_seed_csv",
        &[("seeds/x.csv", "id,name\n1,a\n2,b,extra\n3,c\n")],
    );
    let run = project.tmk(&["seed"]);
    assert_exit(&run, 1);
    // A node failure is reported in the run summary, on stdout (as dbt does).
    assert_contains(&run.stdout, &["seeds/x.csv", "3 fields", "header has 2", "hint:"]);
    assert_excerpt(&run.stdout, "seeds/x.csv:3:5");
    assert_contains(&run.stdout, &["ERROR=1"]);
    assert!(!project.exists("x"), "the bad seed was loaded");
    assert_nothing_built(&project);
    insta::assert_snapshot!("seed_row_with_too_many_fields", project.normalize(&run.stdout));
}

// ---------------------------------------------------------------------------------------------
// 16. Bad selectors
// ---------------------------------------------------------------------------------------------

/// A typo in a selector method.
#[test]
fn unknown_selector_method_suggests_the_closest() {
    let project = TestProject::new("err_selector_method", &[GOOD_MODEL]);
    let run = project.tmk(&["ls", "-s", "tagg:x"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &["unknown selector method `tagg`", "hint: did you mean `tag`?"],
    );
    assert_excerpt(&run.stderr, "--select:1:1");
    insta::assert_snapshot!("unknown_selector_method", project.normalize(&run.stderr));
}

/// A selector with two leading `+`.
#[test]
fn doubled_graph_operator_is_a_usage_error() {
    let project = TestProject::new("err_selector_plus", &[GOOD_MODEL]);
    let run = project.tmk(&["build", "-s", "++m"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["bad selector", "`++m`", "hint:"]);
    assert_excerpt(&run.stderr, "--select:1:2");
    assert_nothing_built(&project);
    insta::assert_snapshot!("doubled_graph_operator", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 17. Unreachable database
// ---------------------------------------------------------------------------------------------

/// A profile pointing at a port where no server listens.
const UNREACHABLE_PROFILE: &str = "demo:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n      port: 1\n      user: tmk\n      password: ''\n      dbname: postgres\n      schema: unreachable\n      threads: 1\n";

/// A profile whose server does not answer: build fails, compile still works.
#[test]
fn unreachable_database_fails_build_but_not_compile() {
    let project = TestProject::new("err_unreachable", &[GOOD_MODEL]);
    project.write("profiles.yml", UNREACHABLE_PROFILE);
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["connection error", "127.0.0.1:1", "hint:"]);

    let run = project.tmk(&["compile"]);
    assert_exit(&run, 0);
    assert_eq!(
        project.read("target/compiled/demo/models/a.sql"),
        "select 1 as id"
    );
}

/// A refused connection is reported at once, with the operating system's reason.
#[test]
fn refused_connection_is_reported_quickly_with_its_cause() {
    let project = TestProject::new("err_refused", &[GOOD_MODEL]);
    project.write("profiles.yml", UNREACHABLE_PROFILE);
    let started = Instant::now();
    let run = project.tmk(&["build"]);
    let elapsed = started.elapsed();
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["127.0.0.1:1"]);
    assert!(
        run.stderr.to_lowercase().contains("refused"),
        "expected the cause (connection refused) in:\n{}",
        run.stderr
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "a refused connection took {elapsed:?} to report"
    );
    insta::assert_snapshot!("unreachable_database", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 18. SQL error in a model
// ---------------------------------------------------------------------------------------------

/// A model whose SQL the database rejects, after an earlier good build.
#[test]
fn sql_error_points_into_compiled_sql_and_keeps_the_old_relations() {
    let project = TestProject::new(
        "err_sql",
        &[
            ("models/a.sql", "select 1 as id\n"),
            (
                "models/t.sql",
                "{{ config(materialized='table') }}\nselect 1 as id\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 0);

    project.write("models/a.sql", "select\n  nope\nfrom missing_table\n");
    project.write(
        "models/t.sql",
        "{{ config(materialized='table') }}\nselect nope from missing_table\n",
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_contains(&output, &["relation \"missing_table\" does not exist", "ERROR=2"]);
    assert_excerpt(&output, "target/compiled/demo/models/a.sql:3:6");
    assert_excerpt(&output, "target/compiled/demo/models/t.sql:2:18");
    assert_eq!(project.rows("a"), "1", "the old view is gone or changed");
    assert_eq!(project.rows("t"), "1", "the old table is gone or changed");
    // Node order in the summary depends on scheduling: snapshot only the error for `a`.
    let start = output.find("Error in model a").expect("error for model a");
    let end = output[start..].find("╰────").expect("end of the excerpt") + start + "╰────".len();
    insta::assert_snapshot!("sql_error", project.normalize(&output[start..end]));
}

// ---------------------------------------------------------------------------------------------
// 19. Unknown generic test
// ---------------------------------------------------------------------------------------------

/// A typo in the name of a generic test.
#[test]
fn unknown_generic_test_suggests_the_closest() {
    let project = TestProject::new(
        "err_generic_test",
        &[
            GOOD_MODEL,
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - not_null\n          - uniqe\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &["unknown data test `uniqe`", "hint: did you mean `unique`?"],
    );
    assert_excerpt(&run.stderr, "models/schema.yml:8:13");
    assert_nothing_built(&project);
    insta::assert_snapshot!("unknown_generic_test", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 20. Unknown profile or target
// ---------------------------------------------------------------------------------------------

/// A typo in the project's `profile:`.
#[test]
fn unknown_profile_suggests_the_closest() {
    let project = TestProject::new(
        "err_profile",
        &[GOOD_MODEL, ("dbt_project.yml", "name: demo\nprofile: dmeo\n")],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &["profile `dmeo` not found", "hint: did you mean `demo`?"],
    );
    assert_excerpt(&run.stderr, "dbt_project.yml:2:10");
    assert_nothing_built(&project);
    insta::assert_snapshot!("unknown_profile", project.normalize(&run.stderr));
}

/// `-t prod` when the profile only has `dev`.
#[test]
fn unknown_target_names_the_available_targets() {
    let project = TestProject::new("err_target", &[GOOD_MODEL]);
    let run = project.tmk(&["build", "-t", "prod"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["target `prod` not found in profile `demo`"]);
    assert_excerpt(&run.stderr, "./profiles.yml:1:1");
    let hint = run
        .stderr
        .lines()
        .find(|line| line.starts_with("hint:"))
        .unwrap_or_else(|| panic!("expected a hint in:\n{}", run.stderr));
    assert!(
        hint.contains("`dev`"),
        "the hint does not name the target `dev`: {hint}"
    );
    assert_nothing_built(&project);
    insta::assert_snapshot!("unknown_target", project.normalize(&run.stderr));
}

// ---------------------------------------------------------------------------------------------
// 21-22. Duplicate names; no project
// ---------------------------------------------------------------------------------------------

/// Two models with the same file name in different folders.
#[test]
fn duplicate_model_names_name_both_paths() {
    let project = TestProject::new(
        "err_duplicate",
        &[
            ("models/staging/orders.sql", "select 1 as id\n"),
            ("models/marts/orders.sql", "select 2 as id\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &[
            "`orders`",
            "models/marts/orders.sql",
            "models/staging/orders.sql",
            "hint:",
        ],
    );
    assert_nothing_built(&project);
    insta::assert_snapshot!("duplicate_model_names", project.normalize(&run.stderr));
}

/// tmk run outside a project.
#[test]
fn build_without_project_file_says_where_it_looked() {
    let project = TestProject::new("err_no_project", &[GOOD_MODEL]);
    project.remove("dbt_project.yml");
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(&run.stderr, &["dbt_project.yml", "hint:", "--project-dir"]);
    assert_nothing_built(&project);
    insta::assert_snapshot!("build_without_project_file", project.normalize(&run.stderr));
}

/// Two models whose alias makes them the same relation: dbt refuses this, and so does tmk
/// (otherwise the last swap would silently win).
#[test]
fn two_models_building_the_same_relation_are_rejected() {
    let project = TestProject::new(
        "err_same_relation",
        &[
            ("models/a.sql", "{{ config(alias='shared') }}\nselect 1 as id\n"),
            ("models/b.sql", "{{ config(alias='shared') }}\nselect 2 as id\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &["`models/a.sql` and `models/b.sql` would both build", "\"shared\""],
    );
    assert_nothing_built(&project);
}

/// A config dbt applies but tmk does not build yet (`sql_header`) is an error, not silently
/// ignored.
#[test]
fn a_config_not_built_yet_is_an_error_not_ignored() {
    let project = TestProject::new(
        "err_not_built_yet",
        &[(
            "models/a.sql",
            "{{ config(materialized='table', sql_header='set work_mem = 1000') }}\nselect 1 as id\n",
        )],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert_contains(
        &run.stderr,
        &[
            "config `sql_header` is not applied by this version of tmk yet",
            "models/a.sql:1:",
        ],
    );
    assert_nothing_built(&project);
}
