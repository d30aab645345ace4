//! Enforced model contracts against a real PostgreSQL: a query whose columns or types differ
//! from the declared ones fails before anything is swapped in, naming each difference; a table
//! is created from the declared columns with their constraints (not null, unique, primary
//! key, check, foreign key to a ref), so PostgreSQL rejects violating rows; bad contracts are
//! located errors.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_exit, assert_ok};

const PROPERTIES: &str = "version: 2
models:
  - name: customers
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}, {type: primary_key}]
      - name: name
        data_type: text
  - name: orders
    config:
      contract: {enforced: true}
    constraints:
      - {type: check, name: positive_amount, expression: amount > 0}
    columns:
      - name: id
        data_type: int
        constraints: [{type: primary_key}]
      - name: customer_id
        data_type: integer
        constraints:
          - {type: foreign_key, to: \"ref('customers')\", to_columns: [id]}
      - name: amount
        data_type: numeric(10,2)
";

fn project(name: &str) -> TestProject {
    TestProject::new(
        name,
        &[
            ("models/properties.yml", PROPERTIES),
            (
                "models/customers.sql",
                "{{ config(materialized='table') }}\nselect 1 as id, 'Ann'::text as name union all select 2, 'Bob'\n",
            ),
            (
                "models/orders.sql",
                "{{ config(materialized='table') }}\nselect 10 as id, 1 as customer_id, 5.50::numeric(10,2) as amount\n",
            ),
        ],
    )
}

#[test]
fn a_matching_contract_builds_tables_with_their_constraints() {
    let project = project("contract_ok");
    assert_ok(&project.tmk(&["run"]));
    assert_eq!(project.rows("orders"), "10|1|5.50");
    let constraints = project.query(&format!(
        "select conrelid::regclass::text || ' ' || contype::text || ' ' || pg_get_constraintdef(oid) from pg_constraint \
         where connamespace = '{}'::regnamespace order by 1",
        project.schema
    ));
    let schema = &project.schema;
    assert_eq!(
        constraints,
        format!(
            "{schema}.customers p PRIMARY KEY (id)\n{schema}.orders c CHECK ((amount > (0)::numeric))\n\
             {schema}.orders f FOREIGN KEY (customer_id) REFERENCES {schema}.customers(id)\n{schema}.orders p PRIMARY KEY (id)"
        )
    );
}

#[test]
fn a_query_that_differs_from_its_contract_fails_naming_each_difference() {
    let project = project("contract_mismatch");
    assert_ok(&project.tmk(&["run"]));
    project.write(
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect 11 as id, 1::bigint as customer_id, 'x' as note\n",
    );
    let run = project.tmk(&["run", "-s", "orders"]);
    assert_exit(&run, 1);
    insta::assert_snapshot!("contract_mismatch", project.normalize(&run.stdout));
    assert_eq!(project.rows("orders"), "10|1|5.50");
}

#[test]
fn rows_that_break_a_constraint_fail_the_build_and_keep_the_old_table() {
    let project = project("contract_violation");
    assert_ok(&project.tmk(&["run"]));
    project.write(
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect 10 as id, 3 as customer_id, -1.00::numeric(10,2) as amount\n",
    );
    let run = project.tmk(&["run", "-s", "orders"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout
            .contains("violates check constraint \"positive_amount\"")
            || run.stdout.contains("violates foreign key constraint"),
        "{}",
        run.stdout
    );
    assert_eq!(project.rows("orders"), "10|1|5.50");
}

#[test]
fn an_enforced_contract_without_types_is_a_located_error() {
    let project = TestProject::new(
        "contract_untyped",
        &[
            ("models/a.sql", "select 1 as id\n"),
            (
                "models/properties.yml",
                "version: 2\nmodels:\n  - name: a\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: id\n",
            ),
        ],
    );
    let run = project.tmk(&["run"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("contract_untyped", project.normalize(&run.stderr));
    assert!(!project.exists("a"));
}
