//! What tmk reads in the compiled SQL, end to end through the binary: a syntax error located in
//! the model file (through the Jinja template), a column an upstream model does not return and
//! a relation named instead of ref() reported as warnings (errors with `--strict`, exit 2) by
//! `tmk compile` and the same by `tmk build`/`run` (where `--strict` stops the run before anything
//! changes), and `tmk docs --format dot|mermaid|json [--columns]` on a small project.

mod common;

use common::{TestProject, assert_exit, assert_ok};

/// Seeds, a staging model, an ephemeral model and two marts.
const SHOP: &[(&str, &str)] = &[
    ("seeds/raw_orders.csv", "id,customer_id,amount\n1,1,50\n2,1,150\n"),
    ("seeds/raw_customers.csv", "id,name\n1,Ann\n"),
    (
        "models/stg_orders.sql",
        "select id as order_id, customer_id, amount from {{ ref('raw_orders') }}\n",
    ),
    (
        "models/big_orders.sql",
        "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('stg_orders') }} where amount > 100\n",
    ),
    (
        "models/customer_totals.sql",
        "select c.name, sum(o.amount) as total, count(*) as orders\nfrom {{ ref('stg_orders') }} o\njoin {{ ref('raw_customers') }} c on c.id = o.customer_id\ngroup by 1\n",
    ),
    (
        "models/big_customers.sql",
        "select b.customer_id, b.amount * 2 as doubled from {{ ref('big_orders') }} b\n",
    ),
];

/// A model whose SQL is broken below a Jinja block that renders to fewer lines.
const BROKEN: (&str, &str) = (
    "models/broken.sql",
    "{%- set columns = [\n    'order_id',\n    'amount',\n] -%}\nselect\n    {{ columns | join(', ') }},\n    amount * 2 as doubled\nfrom {{ ref('stg_orders') }}\nwhere amount >\norder by 1\n",
);

/// A model reading a column `stg_orders` does not return and a table named directly.
const CARELESS: (&str, &str) = (
    "models/careless.sql",
    "select s.order_id, s.amount_usd\nfrom {{ ref('stg_orders') }} as s\njoin analytics.raw_customers c on c.id = s.customer_id\n",
);

/// A model naming the seed's table directly: PostgreSQL runs it once the seed is loaded (the
/// target's search_path is its schema).
const DIRECT: (&str, &str) = ("models/direct.sql", "select name from raw_customers\n");

fn project(name: &str, extra: &[(&str, &str)]) -> TestProject {
    let mut files = SHOP.to_vec();
    files.extend_from_slice(extra);
    TestProject::new(name, &files)
}

#[test]
fn a_syntax_error_is_located_in_the_model_file() {
    let project = project("sql_syntax", &[BROKEN]);
    let run = project.tmk(&["compile"]);
    assert_ok(&run);
    assert!(
        run.stderr.contains("╭─[models/broken.sql:10:7]"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("syntax_error_warning", project.normalize(&run.stderr));
    let strict = project.tmk(&["compile", "--strict"]);
    assert_exit(&strict, 2);
    assert!(strict.stderr.contains("compilation error"), "{}", strict.stderr);
}

#[test]
fn unknown_columns_and_hard_coded_relations_are_warnings_and_strict_errors() {
    let project = project("sql_careless", &[CARELESS]);
    let run = project.tmk(&["compile"]);
    assert_ok(&run);
    assert!(
        run.stderr.contains("╭─[models/careless.sql:1:22]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("╭─[models/careless.sql:3:6]"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("careless_warnings", project.normalize(&run.stderr));
    let strict = project.tmk(&["compile", "--strict"]);
    assert_exit(&strict, 2);
    insta::assert_snapshot!("careless_strict", project.normalize(&strict.stderr));
}

#[test]
fn a_clean_project_compiles_without_warnings() {
    let project = project("sql_clean", &[]);
    let run = project.tmk(&["compile", "--strict"]);
    assert_ok(&run);
    assert_eq!(run.stderr, "");
}

#[test]
fn docs_writes_the_graph_in_each_format() {
    let project = project("sql_docs", &[]);
    for format in ["dot", "mermaid", "json"] {
        for columns in [false, true] {
            let mut args = vec!["docs", "--format", format];
            if columns {
                args.push("--columns");
            }
            let run = project.tmk(&args);
            assert_ok(&run);
            assert_eq!(run.stderr, "", "no warnings for {args:?}");
            let name = format!("docs_{format}{}", if columns { "_columns" } else { "" });
            insta::assert_snapshot!(name, run.stdout);
        }
    }
}

/// The relations of the project's schema and the runs tmk recorded for it.
fn database_state(project: &TestProject) -> String {
    project.query(&format!(
        "select coalesce(string_agg(relname || ' ' || relkind::text, ', ' order by relname), '') \
         from pg_class where relnamespace = '{0}'::regnamespace; \
         select count(*) || ' runs' from tmk_meta.runs where target_schema = '{0}'",
        project.schema
    ))
}

#[test]
fn build_and_run_show_the_compile_warnings_and_strict_stops_them_before_anything_changes() {
    let project = project("sql_build", &[DIRECT]);
    let profile = format!(
        "{}      search_path: {}\n",
        project.profile("demo"),
        project.schema
    );
    project.write("profiles.yml", &profile);
    assert_ok(&project.tmk(&["seed"]));
    let before = database_state(&project);
    assert_eq!(before, "raw_customers r, raw_orders r\n1 runs");
    let build = project.tmk(&["build", "--strict"]);
    assert_exit(&build, 2);
    assert!(
        build
            .stdout
            .contains("Nothing ran: --strict makes the problem found in the compiled SQL an error."),
        "{}",
        build.stdout
    );
    insta::assert_snapshot!("build_strict", project.normalize(&build.stderr));
    assert_eq!(database_state(&project), before);
    let run = project.tmk(&["run", "--strict"]);
    assert_exit(&run, 2);
    assert_eq!(run.stderr, build.stderr);
    assert_eq!(database_state(&project), before);
    // Without --strict the run goes on, showing what `tmk compile` shows.
    let compile = project.tmk(&["compile"]);
    assert_ok(&compile);
    assert!(
        compile.stderr.contains("╭─[models/direct.sql:1:18]"),
        "{}",
        compile.stderr
    );
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert_eq!(run.stderr, compile.stderr);
    assert_eq!(project.rows("direct"), "Ann");
}
