//! The TechMarket warehouse at the repository root, end to end, in a database of its own:
//! `tmk generate` writes the OLTP data (into the target's own database, and into MariaDB for
//! the MySQL path), `tmk build` extracts it into `stg` and builds staging, the dimensions,
//! the incremental and partitioned fact_sales, the snapshots and the KPI marts with their
//! tests; after `tmk generate --changes` an incremental build gives the same fact as a full
//! rebuild and the snapshots keep the old prices; the BI roles read the marts only, and a
//! regional role sees only its region's rows.

#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::{TestProject, assert_ok, database, psql, psql_as, psql_in};

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

/// A fresh database for one test, dropped when it ends.
struct Scratch(String);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dbname = format!("tmk_{name}_{}", std::process::id());
        psql(&format!("drop database if exists {dbname} with (force)"));
        psql(&format!("create database {dbname}"));
        Scratch(dbname)
    }

    fn query(&self, sql: &str) -> String {
        psql_in(&self.0, sql)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                "-h",
                &database().host,
                "-p",
                &database().port.to_string(),
            ])
            .args(["-U", &database().user, "-d", "postgres", "-c"])
            .arg(format!("drop database if exists {} with (force)", self.0))
            .output();
    }
}

/// `tmk ARGS` in the project with the OLTP settings of the environment replaced by `oltp`.
fn tmk(project: &TestProject, args: &[&str], oltp: &[(&str, &str)]) -> common::Run {
    let mut command = project.tmk_command(args);
    command
        .env_remove("TECHMARKET_OLTP_URL")
        .env_remove("TECHMARKET_OLTP_PREFIX");
    command.envs(oltp.iter().copied());
    let output = command.output().expect("run tmk");
    common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// What the fact must hold: one row per order item of an order that is not cancelled.
const EXPECTED_FACT: &str =
    "select count(*) || ' rows, ' || sum(i.quantity * i.unit_price - i.discount)::numeric(14, 2)
     from stg.order_items as i join stg.orders as o using (order_id) where o.status <> 'cancelled'";
const FACT: &str = "select count(*) || ' rows, ' || sum(revenue)::numeric(14, 2) from dwh.fact_sales";

#[test]
fn the_warehouse_builds_from_generated_data_and_stays_right_incrementally() {
    let scratch = Scratch::new("warehouse");
    let project = warehouse(&scratch.0);
    assert_ok(&tmk(
        &project,
        &["generate", "--scale", "1", "--into", "target"],
        &[],
    ));
    let run = tmk(&project, &["build"], &[]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("ERROR=0") && run.stdout.contains("extract orders.orders"),
        "{}",
        run.stdout
    );
    assert_eq!(scratch.query("select count(*) from stg.orders"), "600");
    // The shop's password hashes stay in the shop (`exclude_columns`).
    assert_eq!(
        scratch.query("select count(*) from information_schema.columns where table_schema = 'stg' and column_name = 'password_hash'"),
        "0"
    );
    assert_eq!(scratch.query("select count(*) from stg.users"), "61");
    assert_eq!(scratch.query(FACT), scratch.query(EXPECTED_FACT));
    let partitions =
        scratch.query("select count(*) from pg_inherits where inhparent = 'dwh.fact_sales'::regclass");
    assert!(
        partitions.parse::<u32>().unwrap_or(0) > 1,
        "fact_sales is partitioned by month: {partitions}"
    );
    assert_eq!(
        scratch.query("select count(*) from snapshots.products_snapshot where dbt_valid_to is null"),
        scratch.query("select count(*) from stg.products")
    );

    // New orders, status changes (some cancelled) and price rises in the OLTP database.
    assert_ok(&tmk(
        &project,
        &["generate", "--scale", "1", "--into", "target", "--changes"],
        &[],
    ));
    let run = tmk(&project, &["build"], &[]);
    assert_ok(&run);
    let incremental = scratch.query(FACT);
    assert_eq!(incremental, scratch.query(EXPECTED_FACT));
    assert!(
        scratch
            .query("select count(*) from snapshots.products_snapshot where dbt_valid_to is not null")
            .parse::<u32>()
            .unwrap_or(0)
            > 0,
        "the old prices are kept as history"
    );
    let rows = |scratch: &Scratch| {
        scratch.query("select order_item_id, date_key, product_key, customer_key, employee_key, region_key, quantity, revenue, cost, margin from dwh.fact_sales order by order_item_id")
    };
    let incremental_rows = rows(&scratch);
    assert_ok(&tmk(
        &project,
        &["build", "-s", "fact_sales", "--full-refresh"],
        &[],
    ));
    assert_eq!(
        rows(&scratch),
        incremental_rows,
        "the incremental fact equals a full rebuild"
    );

    // BI access: the marts and nothing else, and a regional role sees its region only.
    let regions = scratch.query("select count(distinct region_id) from marts.sales_by_region_category");
    assert!(regions.parse::<u32>().unwrap_or(0) > 1, "{regions}");
    let role_query = |role: &str, sql: &str| psql_as(role, &scratch.0, sql);
    assert_eq!(
        role_query(
            "bi_region_1",
            "select string_agg(distinct region_id::text, ',') from marts.sales_by_region_category"
        ),
        Ok("1".to_string())
    );
    assert_eq!(
        role_query(
            "bi_region_1",
            "select count(*) > 0 from marts.manager_performance"
        ),
        Ok("t".to_string())
    );
    let denied =
        role_query("bi_region_1", "select count(*) from dwh.fact_sales").expect_err("no access to dwh");
    assert!(denied.contains("permission denied for schema dwh"), "{denied}");

    // The KPIs as `tmk show` prints them.
    let show = tmk(
        &project,
        &[
            "show",
            "-s",
            "average_order_value",
            "top_bottom_products",
            "--limit",
            "3",
        ],
        &[],
    );
    assert_ok(&show);
    assert!(
        show.stdout.contains("Previewing node 'top_bottom_products':"),
        "{}",
        show.stdout
    );
}

#[test]
fn the_mysql_path_gives_the_same_warehouse_as_the_postgresql_path() {
    if !common::mysql_available("the_mysql_path_gives_the_same_warehouse_as_the_postgresql_path") {
        return;
    }
    let prefix = format!("wh{}_", std::process::id());
    let _databases = MysqlDatabases(prefix.clone());
    let mysql = [
        ("TECHMARKET_OLTP_URL", "mysql://root@127.0.0.1:3306"),
        ("TECHMARKET_OLTP_PREFIX", prefix.as_str()),
    ];
    let from_mysql = Scratch::new("warehouse_mysql");
    let project = warehouse(&from_mysql.0);
    assert_ok(&tmk(
        &project,
        &[
            "generate",
            "--scale",
            "1",
            "--into",
            "mysql://root@127.0.0.1:3306",
            "--prefix",
            &prefix,
        ],
        &[],
    ));
    assert_ok(&tmk(&project, &["build"], &mysql));
    let from_postgres = Scratch::new("warehouse_pg");
    let other = warehouse(&from_postgres.0);
    assert_ok(&tmk(
        &other,
        &["generate", "--scale", "1", "--into", "target"],
        &[],
    ));
    assert_ok(&tmk(&other, &["build"], &[]));
    for mart in [
        "marts.average_order_value",
        "marts.manager_performance",
        "marts.sales_by_region_category",
    ] {
        let rows = format!("select * from {mart} order by 1, 2, 3");
        assert_eq!(from_mysql.query(&rows), from_postgres.query(&rows), "{mart}");
    }
}

/// The four service databases a test generated into MariaDB, dropped when it ends.
struct MysqlDatabases(String);

impl Drop for MysqlDatabases {
    fn drop(&mut self) {
        let prefix = &self.0;
        let _ = std::process::Command::new("mysql")
            .args(["-uroot", "-h127.0.0.1", "-P3306", "-e"])
            .arg(format!(
                "set foreign_key_checks = 0; drop database if exists {prefix}auth; drop database if exists {prefix}catalog; drop database if exists {prefix}orders; drop database if exists {prefix}payments"
            ))
            .output();
    }
}
