//! The TechMarket warehouse at the repository root builds with `tmk build` into a database of
//! its own: seeds, staging, dimensions, fact_sales, marts, tests and the SCD-2 snapshots of
//! products and customers, which keep history across builds.

#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::{TestProject, assert_ok, database, psql};

/// A copy of the repository's warehouse project whose profile points at database `dbname`.
fn warehouse(dbname: &str) -> TestProject {
    let project = TestProject::new("warehouse", &[("tmk_project.yml", "name: placeholder\n")]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in ["tmk_project.yml", "models", "project", "snapshots"] {
        common::copy_path(&root.join(entry), &project.path().join(entry));
    }
    let server = database();
    project.write(
        "profiles.yml",
        &format!(
            "techmarket:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {}\n      port: {}\n      user: {}\n      password: ''\n      dbname: {dbname}\n      schema: public\n      threads: 4\n",
            server.host, server.port, server.user
        ),
    );
    project
}

#[test]
fn the_warehouse_builds_and_its_snapshots_keep_history() {
    let dbname = format!("tmk_warehouse_{}", std::process::id());
    psql(&format!("drop database if exists {dbname}"));
    psql(&format!("create database {dbname}"));
    let project = warehouse(&dbname);
    let query = |sql: &str| common::psql_in(&dbname, sql);
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert!(run.stdout.contains("ERROR=0"), "{}", run.stdout);
    let products = query("select count(*) from stg.stg_products");
    assert_eq!(
        query("select count(*) from snapshots.products_snapshot where dbt_valid_to is null"),
        products
    );
    assert_eq!(
        query("select count(*) from snapshots.customers_snapshot"),
        query("select count(*) from stg.stg_customers")
    );
    assert!(
        query("select count(*) from dwh.fact_sales")
            .parse::<u64>()
            .unwrap_or(0)
            > 0
    );
    // The catalog raises the price of product 1: the next build keeps the old price as history.
    let seed = project.read("project/seeds/raw_products.csv");
    project.write(
        "project/seeds/raw_products.csv",
        &seed.replacen("1,Phone X,4,799.0,", "1,Phone X,4,849.0,", 1),
    );
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(
        query(
            "select price, dbt_valid_to is null from snapshots.products_snapshot where product_id = 1 order by dbt_valid_from"
        ),
        "799.00|f\n849.00|t"
    );
    psql(&format!("drop database if exists {dbname} with (force)"));
}
