//! `tmk generate` against a real MariaDB (127.0.0.1:3306; skipped with a visible notice when
//! none answers) and a real PostgreSQL: scale 1 has exactly the issue's counts and is the same
//! every time; the whole TechMarket path (generate, extract into the target, `--changes`,
//! extract again) leaves the target equal to the source with only changed rows moved; the
//! PostgreSQL path (a URL, or `--into target`) works the same way.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_ok, mysql, mysql_available};

fn drop_mysql(prefix: &str) {
    mysql(&format!(
        "set foreign_key_checks = 0; drop database if exists {prefix}auth; drop database if exists {prefix}catalog; drop database if exists {prefix}orders; drop database if exists {prefix}payments;"
    ));
}

/// Every table of the four services, with its key.
const TABLES: [(&str, &str, &str); 10] = [
    ("orders", "regions", "region_id"),
    ("orders", "customers", "customer_id"),
    ("orders", "employees", "employee_id"),
    ("catalog", "categories", "category_id"),
    ("catalog", "products", "product_id"),
    ("orders", "orders", "order_id"),
    ("orders", "order_items", "order_item_id"),
    ("payments", "payments", "payment_id"),
    ("auth", "roles", "role_id"),
    ("auth", "users", "user_id"),
];

/// All rows of every table, as the mysql client prints them.
fn mysql_dump(prefix: &str) -> String {
    TABLES
        .iter()
        .map(|(service, table, key)| {
            mysql(&format!("select * from {prefix}{service}.{table} order by {key}"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sources of the four services, read from MySQL databases `<prefix><service>` into
/// `<schema>_stg`, each table with its watermark (the small reference tables reload whole).
fn sources_yaml(schema: &str, prefix: &str, connection: &str) -> String {
    let mut yaml = String::from("version: 2\nsources:\n");
    for service in ["auth", "catalog", "orders", "payments"] {
        yaml.push_str(&format!(
            "  - name: {service}\n    schema: {schema}_stg\n    loader: tmk\n    connection: {connection}\n    remote_schema: {prefix}{service}\n    tables:\n"
        ));
        for (_, table, _) in TABLES.iter().filter(|(owner, _, _)| *owner == service) {
            let watermark = if matches!(*table, "regions" | "categories" | "roles") {
                ""
            } else {
                "\n        watermark: updated_at"
            };
            yaml.push_str(&format!("      - name: {table}{watermark}\n"));
        }
    }
    yaml
}

#[test]
fn scale_one_has_the_issue_s_counts_and_is_the_same_every_time() {
    if !mysql_available("scale_one_has_the_issue_s_counts_and_is_the_same_every_time") {
        return;
    }
    let project = TestProject::new("generate_counts", &[]);
    let (first, second) = (format!("{}_a_", project.schema), format!("{}_b_", project.schema));
    for prefix in [&first, &second] {
        let run = project.tmk(&[
            "generate",
            "--into",
            "mysql://root@127.0.0.1:3306",
            "--prefix",
            prefix,
        ]);
        assert_ok(&run);
        for line in [
            "orders.orders: 600 rows",
            "auth.users: 61 rows",
            "catalog.categories: 14 rows",
        ] {
            assert!(run.stdout.contains(line), "{line} missing:\n{}", run.stdout);
        }
    }
    let count = |sql: &str| mysql(&sql.replace("P_", &first));
    assert_eq!(count("select count(*) from P_orders.regions"), "5");
    assert_eq!(
        count("select count(*), count(parent_id) from P_catalog.categories"),
        "14\t8"
    );
    assert_eq!(count("select count(*) from P_catalog.products"), "25");
    assert_eq!(
        count("select count(*), sum(is_manager) from P_orders.employees"),
        "10\t5"
    );
    assert_eq!(count("select count(*) from P_orders.customers"), "50");
    assert_eq!(count("select count(*) from P_orders.orders"), "600");
    let payments: i64 = count("select count(*) from P_payments.payments")
        .parse()
        .expect("a count");
    assert!((520..=560).contains(&payments), "{payments} payments");
    assert_eq!(
        count(
            "select group_concat(concat(name, '=', n) order by role_id) from (select r.role_id, r.name, count(*) n from P_auth.users u join P_auth.roles r using (role_id) group by r.role_id, r.name) x"
        ),
        "ADMIN=1,SALES=10,CUSTOMER=48,BI_VIEWER=2"
    );
    assert_eq!(
        count("select count(*) from P_auth.users where password_hash like '$argon2id$%'"),
        "61"
    );
    assert_eq!(
        count(
            "select count(*) from P_orders.orders o where total_amount <> (select sum(quantity * unit_price - discount) from P_orders.order_items i where i.order_id = o.order_id)"
        ),
        "0"
    );
    assert_eq!(mysql_dump(&first), mysql_dump(&second));
    drop_mysql(&first);
    drop_mysql(&second);
}

#[test]
fn generated_data_extracts_whole_then_only_the_changes() {
    if !mysql_available("generated_data_extracts_whole_then_only_the_changes") {
        return;
    }
    let project = TestProject::new("generate_extract", &[]);
    let prefix = format!("{}_", project.schema);
    project.write(
        "models/_sources.yml",
        &sources_yaml(&project.schema, &prefix, "mysql://root@127.0.0.1:3306"),
    );
    let url = "mysql://root@127.0.0.1:3306";
    assert_ok(&project.tmk(&["generate", "--into", url, "--prefix", &prefix]));
    let run = project.tmk(&["extract"]);
    assert_ok(&run);
    assert!(run.stdout.contains("[EXTRACT 600 (created)"), "{}", run.stdout);
    let same = |project: &TestProject| {
        for (service, table, key) in TABLES {
            let source = mysql(&format!("select count(*) from {prefix}{service}.{table}"));
            let target = project.query(&format!("select count(*) from {}_stg.{table}", project.schema));
            assert_eq!(source, target, "{table} by {key}");
        }
        assert_eq!(
            mysql(&format!("select status, count(*), sum(total_amount), max(updated_at) from {prefix}orders.orders group by status order by cast(status as char)")),
            project
                .query(&format!("select status, count(*), sum(total_amount), max(updated_at) from {}_stg.orders group by status order by status", project.schema))
                .replace('|', "\t")
        );
        assert_eq!(
            mysql(&format!(
                "select product_id, price, updated_at from {prefix}catalog.products order by 1"
            )),
            project
                .query(&format!(
                    "select product_id, price, updated_at from {}_stg.products order by 1",
                    project.schema
                ))
                .replace('|', "\t")
        );
    };
    same(&project);
    let mark = project.query(&format!(
        "select value from tmk_meta.load_watermarks where relation = '\"postgres\".\"{}_stg\".\"orders\"'",
        project.schema
    ));
    let run = project.tmk(&["generate", "--into", url, "--prefix", &prefix, "--changes"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("orders.orders: 30 new rows"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("catalog.products: 5 prices up 5%"),
        "{}",
        run.stdout
    );
    let run = project.tmk(&["extract"]);
    assert_ok(&run);
    // Orders: the 30 new ones, those that moved on in status, and those at the old watermark.
    let moved = mysql(&format!(
        "select count(*) from {prefix}orders.orders where updated_at >= '{mark}'"
    ));
    assert!(
        moved.parse::<i64>().is_ok_and(|moved| moved > 30 && moved < 100),
        "{moved}"
    );
    assert!(
        run.stdout.contains(&format!("[EXTRACT {moved} (upserted)")),
        "{moved}\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("extract catalog.products"), "{}", run.stdout);
    same(&project);
    drop_mysql(&prefix);
}

#[test]
fn postgres_urls_and_the_target_take_the_data_in_schemas() {
    let project = TestProject::new("generate_pg", &[]);
    let prefix = format!("{}_", project.schema);
    let url = common::database().url();
    let run = project.tmk(&["generate", "--into", &url, "--prefix", &prefix]);
    assert_ok(&run);
    assert_eq!(
        project.query(&format!(
            "select (select count(*) from {prefix}orders.orders), (select count(*) from {prefix}auth.users), (select count(*) from {prefix}catalog.categories where parent_id is not null)"
        )),
        "600|61|8"
    );
    let before = project.query(&format!(
        "select sum(total_amount), max(updated_at) from {prefix}orders.orders"
    ));
    // `--into target` writes into the profile's target; a second run replaces the rows.
    let run = project.tmk(&["generate", "--into", "target", "--prefix", &prefix]);
    assert_ok(&run);
    assert_eq!(
        project.query(&format!(
            "select sum(total_amount), max(updated_at) from {prefix}orders.orders"
        )),
        before
    );
    let run = project.tmk(&["generate", "--into", "target", "--prefix", &prefix, "--changes"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("orders.orders: 30 new rows"),
        "{}",
        run.stdout
    );
    assert_eq!(
        project.query(&format!(
            "select count(*), count(distinct updated_at) from {prefix}orders.orders where order_id > 600"
        )),
        "30|1"
    );
}
