//! Compatibility bar: the classic jaffle_shop project builds unmodified and every relation
//! holds exactly the rows (and column types) dbt-postgres produced; compiled SQL matches dbt's
//! byte for byte. The expected files were dumped from a real dbt-core 1.11 + dbt-postgres run.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::TestProject;

fn expected(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jaffle_shop/expected")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// psql's `\copy .. csv header` form of a relation, ordered by every column.
fn csv_rows(project: &TestProject, relation: &str) -> String {
    let count: usize = project
        .query(&format!(
            "select count(*) from information_schema.columns where table_schema = '{}' and table_name = '{relation}'",
            project.schema
        ))
        .parse()
        .expect("column count");
    let order: Vec<String> = (1..=count).map(|index| index.to_string()).collect();
    let header = project.query(&format!(
        "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_schema = '{}' and table_name = '{relation}'",
        project.schema
    ));
    let body = project.query(&format!(
        "copy (select * from {}.{relation} order by {}) to stdout with (format csv)",
        project.schema,
        order.join(", ")
    ));
    format!("{header}\n{body}\n")
}

#[test]
fn jaffle_shop_builds_the_same_tables_as_dbt_postgres() {
    let project = TestProject::from_fixture("jaffle_shop", "jaffle", "jaffle_shop");
    let run = project.tmk(&["build"]);
    assert_eq!(run.code, 0, "tmk build failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Done. PASS=28 WARN=0 ERROR=0 SKIP=0 TOTAL=28"),
        "{}",
        run.stdout
    );
    for relation in [
        "raw_customers",
        "raw_orders",
        "raw_payments",
        "stg_customers",
        "stg_orders",
        "stg_payments",
        "customers",
        "orders",
    ] {
        assert_eq!(
            csv_rows(&project, relation),
            expected(&format!("{relation}.csv")),
            "rows of {relation}"
        );
    }
    let columns = project.query(&format!(
        "select table_name || ',' || column_name || ',' || data_type || ',' || ordinal_position from information_schema.columns where table_schema = '{}' order by table_name, ordinal_position",
        project.schema
    ));
    let expected_columns_text = expected("columns.csv");
    let mut expected_columns: Vec<&str> = expected_columns_text.lines().skip(1).collect();
    expected_columns.sort();
    let mut actual: Vec<&str> = columns.lines().collect();
    actual.sort();
    assert_eq!(actual, expected_columns, "column names and types");
}

#[test]
fn jaffle_shop_compiles_byte_for_byte_like_dbt() {
    let project = TestProject::from_fixture("jaffle_shop", "jaffle_compile", "jaffle_shop");
    let run = project.tmk(&["compile"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for model in ["orders", "customers"] {
        let ours = project.read(&format!("target/compiled/jaffle_shop/models/{model}.sql"));
        let dbt = expected(&format!("compiled/{model}.sql"))
            .replace("\"jaffle_ref\"", &format!("\"{}\"", project.schema));
        assert_eq!(ours, dbt, "compiled {model}.sql");
    }
}
