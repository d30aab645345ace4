//! Extract/load against a real MariaDB (127.0.0.1:3306; skipped with a visible notice when none
//! answers) and a real PostgreSQL: `tmk build` and `tmk extract` copy `loader: tmk` source
//! tables into the target, the first time whole, then only the rows at or past the watermark;
//! the target equals the source after each load; a failing load changes neither the table nor
//! the watermark; PostgreSQL sources (the target's own database or a URL) work the same way;
//! bad settings and unreachable sources are located errors.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_exit, assert_ok, mysql, mysql_available};

/// The orders fixture in MySQL database `database`: typed columns, tricky text, a zero date.
fn mysql_fixture(database: &str) {
    mysql(&format!(
        "drop database if exists {database}; create database {database}; use {database};
         create table orders (order_id int primary key, customer_id int unsigned not null,
           status enum('new','paid','shipped','cancelled') not null, total_amount decimal(12,2),
           note varchar(50), is_gift tinyint(1), order_date date, updated_at datetime not null);
         insert into orders values
           (1, 10, 'new', 10.50, 'tab\there', 1, '2024-01-01', '2024-01-01 10:00:00'),
           (2, 11, 'paid', null, 'back\\\\slash', 0, '0000-00-00', '2024-01-02 00:00:00'),
           (3, 12, 'shipped', 3.00, null, null, '2024-01-03', '2024-01-02 00:00:00');
         create table regions (name varchar(40));
         insert into regions values ('Київська'), ('Львівська');"
    ));
}

/// A project whose source `shop` reads MySQL database `database` into `<schema>_stg`.
fn mysql_project(name: &str) -> (TestProject, String) {
    let project = TestProject::new(
        name,
        &[(
            "models/shop_orders.sql",
            "select * from {{ source('shop', 'orders') }}",
        )],
    );
    let database = format!("{}_shop", project.schema);
    mysql_fixture(&database);
    project.write(
        "models/_sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: shop\n    schema: {schema}_stg\n    loader: tmk\n    connection: \"{{{{ env_var('TEST_SHOP_URL', 'mysql://root@127.0.0.1:3306') }}}}\"\n    remote_schema: {database}\n    tables:\n      - name: orders\n        watermark: updated_at\n      - name: regions\n",
            schema = project.schema
        ),
    );
    (project, database)
}

/// The orders as MySQL has them, `|`-separated like psql's output.
fn source_orders(database: &str) -> String {
    mysql(&format!(
        "select order_id, customer_id, status, coalesce(total_amount, '-'), coalesce(note, '-'), coalesce(is_gift, '-'), \
         coalesce(nullif(order_date, '0000-00-00'), '-'), updated_at from {database}.orders order by order_id"
    ))
    .replace('\t', "|")
}

/// The orders as the target has them.
fn target_orders(project: &TestProject) -> String {
    project
        .query(&format!(
            "select order_id, customer_id, status, coalesce(total_amount::text, '-'), coalesce(replace(replace(note, '\\', '\\\\'), E'\\t', '\\t'), '-'), \
             coalesce(is_gift::int::text, '-'), coalesce(order_date::text, '-'), updated_at from {}_stg.orders order by order_id",
            project.schema
        ))
}

fn watermark(project: &TestProject) -> String {
    project.query(&format!(
        "select value from tmk_meta.load_watermarks where relation = '\"postgres\".\"{}_stg\".\"orders\"'",
        project.schema
    ))
}

#[test]
fn mysql_tables_load_whole_then_only_changed_rows_and_match_the_source() {
    if !mysql_available("mysql_tables_load_whole_then_only_changed_rows_and_match_the_source") {
        return;
    }
    let (project, database) = mysql_project("extract_mysql");
    let plan = project.tmk(&["build", "--dry-run"]);
    assert_ok(&plan);
    assert!(
        plan.stdout.contains("extract   source.demo.shop.orders"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("after 1"), "{}", plan.stdout);
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert!(run.stdout.contains("extract shop.orders"), "{}", run.stdout);
    assert!(run.stdout.contains("[EXTRACT 3 (created)"), "{}", run.stdout);
    assert_eq!(target_orders(&project), source_orders(&database));
    assert_eq!(
        project.query(&format!(
            "select note from {}_stg.orders where order_id = 1",
            project.schema
        )),
        "tab\there"
    );
    assert_eq!(watermark(&project), "2024-01-02 00:00:00");
    // New and changed rows, then an incremental extract.
    mysql(&format!(
        "update {database}.orders set status = 'cancelled', updated_at = '2024-01-05 08:00:00' where order_id = 1;
         insert into {database}.orders values (4, 13, 'new', 7.25, 'new one', 0, '2024-01-05', '2024-01-05 09:30:00');"
    ));
    let moved = mysql(&format!(
        "select count(*) from {database}.orders where updated_at >= '2024-01-02 00:00:00'"
    ));
    let run = project.tmk(&["extract", "-s", "source:shop.orders"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains(&format!("[EXTRACT {moved} (upserted)")),
        "{}",
        run.stdout
    );
    assert_eq!(target_orders(&project), source_orders(&database));
    assert_eq!(watermark(&project), "2024-01-05 09:30:00");
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json");
    assert_eq!(results["results"][0]["unique_id"], "source.demo.shop.orders");
    assert_eq!(
        results["results"][0]["adapter_response"]["rows_affected"].to_string(),
        moved
    );
    // A table without watermark is reloaded whole.
    let run = project.tmk(&["extract"]);
    assert_ok(&run);
    assert!(run.stdout.contains("[EXTRACT 2 (created)"), "{}", run.stdout);
    mysql(&format!("insert into {database}.regions values ('Одеська')"));
    let run = project.tmk(&["extract", "-s", "source:shop.regions"]);
    assert_ok(&run);
    assert!(run.stdout.contains("[EXTRACT 3 (reloaded)"), "{}", run.stdout);
    assert_eq!(
        project.query(&format!(
            "select string_agg(name, ',' order by name) from {}_stg.regions",
            project.schema
        )),
        "Київська,Львівська,Одеська"
    );
    // A row PostgreSQL rejects fails the load: the table and the watermark stay as they were.
    let before = target_orders(&project);
    mysql(&format!(
        "insert into {database}.orders values (5, 14, 'new', 1.00, concat('nul', char(0)), 0, '2024-01-06', '2024-01-06 00:00:00');"
    ));
    let run = project.tmk(&["extract", "-s", "source:shop.orders"]);
    assert_exit(&run, 1);
    assert!(run.stdout.contains("invalid byte sequence"), "{}", run.stdout);
    assert!(run.stdout.contains("models/_sources.yml:9:"), "{}", run.stdout);
    assert_eq!(target_orders(&project), before);
    assert_eq!(watermark(&project), "2024-01-05 09:30:00");
    mysql(&format!("drop database {database}"));
}

#[test]
fn postgres_sources_in_the_target_or_at_a_url_load_the_same_way() {
    let project = TestProject::new("extract_pg", &[]);
    let schema = &project.schema;
    project.query(&format!(
        "create schema {schema}_oltp;
         create type {schema}_oltp.status as enum ('new', 'paid');
         create table {schema}_oltp.orders (order_id int primary key, status {schema}_oltp.status not null, amount numeric(10,2), updated_at timestamp not null);
         insert into {schema}_oltp.orders values (1, 'new', 1.50, '2024-01-01'), (2, 'paid', null, '2024-01-02');"
    ));
    project.write(
        "models/_sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: here\n    schema: {schema}_stg\n    loader: tmk\n    remote_schema: {schema}_oltp\n    tables:\n      - name: orders\n        watermark: updated_at\n  - name: there\n    schema: {schema}_url\n    loader: tmk\n    connection: {url}\n    remote_schema: {schema}_oltp\n    tables:\n      - name: orders\n        watermark: updated_at\n",
            url = common::database().url()
        ),
    );
    let run = project.tmk(&["extract"]);
    assert_ok(&run);
    assert!(run.stdout.contains("extract here.orders"), "{}", run.stdout);
    assert!(run.stdout.contains("extract there.orders"), "{}", run.stdout);
    let source = format!("select order_id, status, amount, updated_at from {schema}_oltp.orders order by 1");
    for target in ["stg", "url"] {
        assert_eq!(
            project.query(&format!(
                "select order_id, status, amount, updated_at from {schema}_{target}.orders order by 1"
            )),
            project.query(&source)
        );
    }
    // The enum loads as text.
    assert_eq!(
        project.query(&format!("select data_type from information_schema.columns where table_schema = '{schema}_stg' and column_name = 'status'")),
        "text"
    );
    project.query(&format!(
        "update {schema}_oltp.orders set status = 'paid', updated_at = '2024-01-03' where order_id = 1"
    ));
    let run = project.tmk(&["extract", "-s", "source:here"]);
    assert_ok(&run);
    // The changed row, and the row at the watermark (rows at it are read again: one committed
    // later with the same time would otherwise be missed).
    assert!(run.stdout.contains("[EXTRACT 2 (upserted)"), "{}", run.stdout);
    assert_eq!(
        project.query(&format!(
            "select order_id, status, amount, updated_at from {schema}_stg.orders order by 1"
        )),
        project.query(&source)
    );
}

#[test]
fn unreachable_sources_and_unknown_watermark_columns_are_located_errors() {
    let project = TestProject::new("extract_errors", &[]);
    let schema = &project.schema;
    project.query(&format!(
        "create schema {schema}_oltp; create table {schema}_oltp.orders (order_id int primary key, updated_at timestamp)"
    ));
    project.write(
        "models/_sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: down\n    schema: {schema}_stg\n    loader: tmk\n    connection: mysql://root:secret@127.0.0.1:1\n    tables:\n      - name: orders\n  - name: here\n    schema: {schema}_stg2\n    loader: tmk\n    remote_schema: {schema}_oltp\n    tables:\n      - name: orders\n        watermark: updatedat\n"
        ),
    );
    let run = project.tmk(&["extract", "-s", "source:down"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout
            .contains("cannot connect to MySQL at mysql://root:***@127.0.0.1:1\n"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("unreachable_source", project.normalize(&run.stdout));
    let run = project.tmk(&["extract", "-s", "source:here"]);
    assert_exit(&run, 1);
    insta::assert_snapshot!("unknown_watermark_column", project.normalize(&run.stdout));
    assert_eq!(
        project.query(&format!("select to_regclass('{schema}_stg2.orders') is null")),
        "t"
    );
    // Settings tmk cannot use stop the run before it starts.
    project.write(
        "models/_sources.yml",
        "version: 2\nsources:\n  - name: shop\n    loader: tmk\n    connection: ftp://example.com\n    tables:\n      - name: orders\n  - name: other\n    tables:\n      - name: orders\n        watermark: updated_at\n",
    );
    let run = project.tmk(&["extract"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("connection_not_a_url", project.normalize(&run.stderr));
    project.write(
        "models/_sources.yml",
        "version: 2\nsources:\n  - name: other\n    tables:\n      - name: orders\n        watermark: updated_at\n",
    );
    let run = project.tmk(&["extract"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("watermark_without_loader", project.normalize(&run.stderr));
}

/// `exclude_columns`: the columns are never copied, a table loaded before they were excluded
/// loses them, and an excluded column that does not exist or that extract needs (the key, the
/// watermark) is an error at the setting before anything changes.
#[test]
fn excluded_columns_are_never_loaded() {
    let project = TestProject::new("extract_exclude", &[]);
    let schema = &project.schema;
    project.query(&format!(
        "create schema {schema}_oltp;
         create table {schema}_oltp.users (user_id int primary key, email text, password_hash text, updated_at timestamp not null);
         insert into {schema}_oltp.users values (1, 'a@example.com', '$argon2id$x', '2024-01-01');"
    ));
    let sources = |exclude: &str| {
        format!(
            "version: 2\nsources:\n  - name: auth\n    schema: {schema}_stg\n    loader: tmk\n    remote_schema: {schema}_oltp\n    tables:\n      - name: users\n        watermark: updated_at\n{exclude}"
        )
    };
    let columns = || {
        project.query(&format!(
            "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_schema = '{schema}_stg' and table_name = 'users'"
        ))
    };
    // Loaded once with every column, then with the hash excluded: the column goes.
    project.write("models/_sources.yml", &sources(""));
    assert_ok(&project.tmk(&["extract"]));
    assert_eq!(columns(), "user_id,email,password_hash,updated_at");
    project.query(&format!(
        "insert into {schema}_oltp.users values (2, 'b@example.com', '$argon2id$y', '2024-01-02')"
    ));
    project.write(
        "models/_sources.yml",
        &sources("        exclude_columns: [password_hash]\n"),
    );
    assert_ok(&project.tmk(&["extract"]));
    assert_eq!(columns(), "user_id,email,updated_at");
    assert_eq!(
        project.query(&format!(
            "select string_agg(email, ',' order by user_id) from {schema}_stg.users"
        )),
        "a@example.com,b@example.com"
    );
    // Loaded from nothing, the table never has it.
    project.query(&format!("drop schema {schema}_stg cascade; delete from tmk_meta.load_watermarks where relation like '%{schema}_stg%'"));
    assert_ok(&project.tmk(&["extract"]));
    assert_eq!(columns(), "user_id,email,updated_at");
    // A typo and an excluded watermark are located errors; the table is left as it was.
    for (exclude, snapshot) in [
        (
            "        exclude_columns: [pasword_hash]\n",
            "exclude_unknown_column",
        ),
        (
            "        exclude_columns: [password_hash, updated_at]\n",
            "exclude_watermark",
        ),
    ] {
        project.write("models/_sources.yml", &sources(exclude));
        let run = project.tmk(&["extract"]);
        assert_exit(&run, 1);
        insta::assert_snapshot!(snapshot, project.normalize(&run.stdout));
        assert_eq!(columns(), "user_id,email,updated_at");
    }
}
