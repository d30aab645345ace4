//! Columns known without a model's own SQL, end to end: `select *` expanded and the columns a
//! model reads checked against a source's YAML `columns:`, the DBML table a source or a model
//! is bound to (`dbml: schema.table`), and, when tmk reads the database (`tmk docs generate`,
//! `tmk build`/`run`), the columns of sources and of relations a run does not rebuild. The
//! warnings say where the columns are known from; what nothing tells stays unknown.

mod common;

use common::{TestProject, assert_exit, assert_ok};
use serde_json::Value;

const DBML: &str = "Table shop.events {\n  event_id integer [pk]\n  kind text\n  happened_at timestamp\n}\n\nTable shop.wide_visits {\n  visit_id integer\n  customer_id integer\n  n integer\n}\n";

/// Sources with YAML columns, a DBML table and nothing; a model bound to a DBML table whose
/// SQL does not tell its columns; models reading columns none of them has.
const DECLARED: &[(&str, &str)] = &[
    ("project/shop.dbml", DBML),
    (
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: customers\n        columns:\n          - name: id\n          - name: Name\n      - name: events\n        config:\n          dbml: shop.events\n      - name: visits\n",
    ),
    (
        "models/stg_customers.sql",
        "select *, upper(nickname) as shout from {{ source('raw', 'customers') }}\n",
    ),
    (
        "models/stg_events.sql",
        "select e.*, e.payload from {{ source('raw', 'events') }} as e\n",
    ),
    (
        "models/stg_visits.sql",
        "select * from {{ source('raw', 'visits') }}\n",
    ),
    (
        "models/wide_visits.sql",
        "{{ config(materialized='table', dbml='shop.wide_visits') }}\nselect v.*, 1 as n from {{ ref('stg_visits') }} as v\n",
    ),
    (
        "models/report.sql",
        "select c.name, c.email, e.kind, w.visit_id, w.visits\nfrom {{ ref('stg_customers') }} as c\njoin {{ ref('stg_events') }} as e on e.event_id = c.id\njoin {{ ref('wide_visits') }} as w on w.customer_id = c.id\n",
    ),
];

#[test]
fn yaml_columns_and_dbml_tables_expand_star_and_check_columns_without_a_database() {
    let project = TestProject::new("known_declared", DECLARED);
    let run = project.tmk(&["compile"]);
    assert_ok(&run);
    insta::assert_snapshot!("declared_columns_warnings", project.normalize(&run.stderr));
    assert_exit(&project.tmk(&["compile", "--strict"]), 2);
    let docs = project.tmk(&["docs", "--format", "json", "--columns"]);
    assert_ok(&docs);
    let lineage: Value = serde_json::from_str(&docs.stdout).expect("lineage JSON");
    let names = |node: &str| -> Vec<String> {
        lineage["nodes"][node]["columns"]
            .as_array()
            .unwrap_or_else(|| panic!("{node} has lineage: {lineage}"))
            .iter()
            .map(|column| column["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    // `*` over YAML columns (folded as PostgreSQL folds unquoted names) and over a DBML table.
    assert_eq!(names("model.demo.stg_customers"), ["id", "name", "shout"]);
    assert_eq!(
        names("model.demo.stg_events"),
        ["event_id", "kind", "happened_at", "payload"]
    );
    assert_eq!(
        lineage["nodes"]["model.demo.stg_events"]["columns"][1]["upstream"],
        serde_json::json!([{"node": "source.demo.raw.events", "column": "kind"}])
    );
    // Nothing tells the columns of `visits`: stg_visits and wide_visits stay incomplete.
    assert_eq!(lineage["nodes"]["model.demo.stg_visits"]["complete"], false);
    assert_eq!(names("model.demo.wide_visits"), ["n"]);
    assert_eq!(lineage["nodes"]["model.demo.wide_visits"]["complete"], false);
    assert!(
        lineage["nodes"].get("source.demo.raw.visits").is_none(),
        "{lineage}"
    );
}

#[test]
fn a_source_bound_to_a_table_the_dbml_lacks_is_a_located_error() {
    let mut files = DECLARED.to_vec();
    files[1].1 = "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: customers\n      - name: events\n        config:\n          dbml: shop.event\n      - name: visits\n";
    let project = TestProject::new("known_dbml_typo", &files);
    let run = project.tmk(&["compile"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("source_dbml_typo", project.normalize(&run.stderr));
}

/// A source table in the test's schema whose columns only the database knows.
fn visits_project(name: &str, models: &[(&str, &str)]) -> TestProject {
    let project = TestProject::new(name, models);
    let schema = &project.schema;
    project.query(&format!(
        "create schema {schema};
         create table {schema}.visits (visit_id int, customer_id int, visited_at timestamp);
         insert into {schema}.visits values (1, 1, '2024-01-01 10:00'), (2, 1, '2024-01-01 11:00'), (3, 2, '2024-01-02 09:00')"
    ));
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: raw\n    schema: {schema}\n    tables:\n      - name: visits\n"
        ),
    );
    project
}

#[test]
fn docs_generate_expands_star_over_the_database_columns_before_the_yaml_ones() {
    let project = visits_project(
        "known_docs",
        &[(
            "models/stg_visits.sql",
            "select *, v.duration from {{ source('raw', 'visits') }} as v\n",
        )],
    );
    // Without the database only the YAML's columns are known (here, only one of them).
    let schema = &project.schema;
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: raw\n    schema: {schema}\n    tables:\n      - name: visits\n        columns:\n          - name: visit_id\n"
        ),
    );
    let compile = project.tmk(&["compile"]);
    assert_ok(&compile);
    assert!(
        compile
            .stderr
            .contains("`visits` returns: visit_id (known from the `columns:` of models/sources.yml)"),
        "{}",
        compile.stderr
    );
    // The database's columns come first.
    let run = project.tmk(&["docs", "generate"]);
    assert_ok(&run);
    insta::assert_snapshot!("database_columns_warning", project.normalize(&run.stderr));
    let script = project.read("target/docs/data.js");
    let data: Value = serde_json::from_str(
        script
            .trim_end()
            .trim_start_matches("window.TMK_DATA = ")
            .trim_end_matches(';'),
    )
    .expect("data.js holds JSON");
    let nodes = data["nodes"].as_array().expect("nodes");
    let stg = nodes
        .iter()
        .find(|node| node["id"] == "model.demo.stg_visits")
        .expect("stg_visits in the site");
    let columns: Vec<(&str, bool)> = stg["cols"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|column| {
            (
                column["n"].as_str().unwrap_or_default(),
                column.get("unresolved").is_some(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("visit_id", false),
            ("customer_id", false),
            ("visited_at", false),
            ("duration", true)
        ]
    );
}

#[test]
fn a_run_checks_against_the_columns_of_relations_it_does_not_rebuild() {
    let project = visits_project(
        "known_run",
        &[
            (
                "models/stg_visits.sql",
                "select * from {{ source('raw', 'visits') }}\n",
            ),
            (
                "models/daily.sql",
                "{{ config(materialized='table') }}\nselect visited_at::date as day, count(*) as visits\nfrom {{ ref('stg_visits') }}\ngroup by 1\n",
            ),
        ],
    );
    let build = project.tmk(&["build"]);
    assert_ok(&build);
    assert_eq!(build.stderr, "");
    let before = project.rows("daily");
    assert_eq!(before, "2024-01-01|2\n2024-01-02|1");
    project.write(
        "models/daily.sql",
        "{{ config(materialized='table') }}\nselect visited_on as day, count(*) as visits\nfrom {{ ref('stg_visits') }}\ngroup by 1\n",
    );
    // Offline, stg_visits (not compiled) and its source have no known columns.
    let compile = project.tmk(&["compile", "-s", "daily"]);
    assert_ok(&compile);
    assert_eq!(compile.stderr, "");
    // `tmk run -s daily` reads stg_visits's columns from the database, where it exists.
    let run = project.tmk(&["run", "-s", "daily", "--strict"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("existing_relation_strict", project.normalize(&run.stderr));
    assert!(
        run.stdout
            .contains("Nothing ran: --strict makes the problem found in the compiled SQL an error."),
        "{}",
        run.stdout
    );
    assert_eq!(project.rows("daily"), before);
    // `tmk build` rebuilds stg_visits: its columns come from its SQL over the source's columns
    // in the database.
    let build = project.tmk(&["build", "--strict"]);
    assert_exit(&build, 2);
    assert!(
        build
            .stderr
            .contains("`stg_visits` returns: visit_id, customer_id, visited_at\n"),
        "{}",
        build.stderr
    );
    assert_eq!(project.rows("daily"), before);
}
