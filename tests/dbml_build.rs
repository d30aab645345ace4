//! Models bound to DBML tables (`config(dbml='shop.orders')`): after the build they have the
//! DBML table's primary key, indexes and foreign keys (also after rebuilds and incremental
//! runs, and when a referenced table is rebuilt); a model whose columns differ from its table
//! fails before anything changes, naming each difference with its DBML file:line:col; a foreign
//! key to another bound model makes it a parent.

mod common;

use common::{TestProject, assert_exit, assert_ok};

const DBML: &str = r#"Table shop.customers {
  customer_key bigint [pk]
  customer_id integer [unique]
  name text
}

Table shop.orders {
  order_id integer [pk]
  customer_key bigint [ref: > shop.customers.customer_key]
  amount numeric(10,2)
  ordered_on date
  indexes {
    ordered_on
    (customer_key, ordered_on) [name: 'orders_by_customer']
  }
}
"#;

const CUSTOMERS: &str = "{{ config(materialized='table', dbml='shop.customers') }}\n\
select row_number() over (order by id) as customer_key, id as customer_id, name\n\
from (values (1, 'Olena'), (2, 'Taras')) as c(id, name)\n";

const ORDERS: &str = "{{ config(materialized='incremental', unique_key='order_id', dbml='shop.orders') }}\n\
select o.order_id, c.customer_key, o.amount::numeric(10,2) as amount, o.ordered_on::date as ordered_on\n\
from (values (10, 1, 5.5, '2024-01-01'), (11, 2, 7, '2024-01-02')) as o(order_id, customer_id, amount, ordered_on)\n\
join {{ ref('customers') }} as c on c.customer_id = o.customer_id\n";

fn project(name: &str) -> TestProject {
    TestProject::new(
        name,
        &[
            ("project/shop.dbml", DBML),
            ("models/customers.sql", CUSTOMERS),
            ("models/orders.sql", ORDERS),
        ],
    )
}

/// Constraints and indexes of this test's schema, one per line.
fn keys(project: &TestProject) -> String {
    project.query(&format!(
        "select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
         from pg_constraint where connamespace = '{0}'::regnamespace \
         union all \
         select 'index ' || indexname from pg_indexes where schemaname = '{0}' \
         order by 1",
        project.schema
    ))
}

#[test]
fn bound_models_get_their_keys_and_indexes_across_rebuilds() {
    let project = project("dbml_keys");
    assert_ok(&project.tmk(&["build"]));
    let first = project.normalize(&keys(&project));
    insta::assert_snapshot!("dbml_keys", first);
    // A rebuild: the swapped-in table gets its keys again; the incremental table keeps its own,
    // and its foreign key to the rebuilt table comes back `NOT VALID` (new rows are checked).
    assert_ok(&project.tmk(&["build"]));
    let not_valid = first.replace("customers(customer_key)\n", "customers(customer_key) NOT VALID\n");
    assert_ne!(not_valid, first);
    assert_eq!(project.normalize(&keys(&project)), not_valid);
    // Rebuilding the referencing table validates its keys again.
    assert_ok(&project.tmk(&["run", "-s", "orders", "--full-refresh"]));
    assert_eq!(project.normalize(&keys(&project)), first);
    // The foreign key made `customers` a parent of `orders`.
    let parents = project.tmk(&["ls", "-s", "+orders", "--output", "name"]);
    assert_ok(&parents);
    assert_eq!(
        parents.stdout.lines().collect::<Vec<_>>(),
        ["customers", "orders"]
    );
}

#[test]
fn a_model_that_differs_from_its_table_fails_and_changes_nothing() {
    let project = project("dbml_mismatch");
    assert_ok(&project.tmk(&["build"]));
    let before = project.rows("customers");
    project.write(
        "models/customers.sql",
        "{{ config(materialized='table', dbml='shop.customers') }}\n\
         select row_number() over (order by id)::integer as customer_key, name, 'x' as extra\n\
         from (values (1, 'Olena'), (2, 'Taras'), (3, 'Ivan')) as c(id, name)\n",
    );
    let run = project.tmk(&["run", "-s", "customers"]);
    assert_exit(&run, 1);
    insta::assert_snapshot!("dbml_mismatch", project.normalize(&run.stdout));
    assert_eq!(project.rows("customers"), before);
}

#[test]
fn naming_a_table_the_dbml_lacks_is_a_located_error() {
    let project = project("dbml_unknown");
    project.write(
        "models/customers.sql",
        &CUSTOMERS.replace("dbml='shop.customers'", "dbml='shop.customer'"),
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("dbml_unknown_table", project.normalize(&run.stderr));
}

#[test]
fn a_partitioned_model_needs_the_partition_key_in_its_primary_key() {
    let project = project("dbml_partition");
    project.write(
        "models/orders.sql",
        &ORDERS.replace(
            "materialized='incremental', unique_key='order_id',",
            "materialized='table', partition_by={'field': 'ordered_on', 'granularity': 'month'},",
        ),
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout
            .contains("model `orders` is partitioned by `ordered_on`, which its DBML primary key"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("write `(order_id, ordered_on) [pk]`"),
        "{}",
        run.stdout
    );
    // With the partition key in the key, the partitioned table gets its keys.
    project.write(
        "project/shop.dbml",
        &DBML.replace("order_id integer [pk]", "order_id integer").replace(
            "    ordered_on\n",
            "    ordered_on\n    (order_id, ordered_on) [pk]\n",
        ),
    );
    assert_ok(&project.tmk(&["build"]));
    assert!(
        keys(&project).contains("orders orders_pkey PRIMARY KEY (order_id, ordered_on)"),
        "{}",
        keys(&project)
    );
}

/// The warehouse at the repository root binds its dimensions and fact to
/// `project/dwh_postgres.dbml`: its foreign keys order the build (a customer's region first).
#[test]
fn the_warehouse_models_are_bound_to_the_dwh_dbml() {
    let root = env!("CARGO_MANIFEST_DIR");
    let home = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tmk"))
        .args([
            "ls",
            "--project-dir",
            root,
            "-s",
            "+dim_customer",
            "--output",
            "name",
        ])
        .args(["--resource-type", "model"])
        .env("HOME", home.path())
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .expect("run tmk");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        ["dim_customer", "dim_region", "stg_customers", "stg_regions"]
    );
}
