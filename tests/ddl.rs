//! `tmk ddl` against real servers: the DDL of every fixture runs on PostgreSQL (a scratch
//! database per test) and on MariaDB (scratch databases, DBML schemas renamed per test); the
//! TechMarket OLTP files create working service databases; `--diff` migrates OLD to a catalog
//! equal to NEW's; `--apply` is one transaction; bad input exits 2 naming file:line:col.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

use common::{TestProject, assert_exit, assert_ok, database, mysql, mysql_available, psql_in};
use tmk::dbml::{self, Schema, ddl::Dialect};

fn inputs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs")
}

/// A PostgreSQL database of its own, dropped at the end of the test.
struct ScratchPg {
    name: String,
}

impl ScratchPg {
    fn new(test: &str) -> ScratchPg {
        let name = format!("t_ddl_{test}_{}", std::process::id());
        psql_in(&database().dbname, &format!("drop database if exists {name}"));
        psql_in(&database().dbname, &format!("create database {name}"));
        ScratchPg { name }
    }

    fn run(&self, sql: &str) -> String {
        psql_in(&self.name, sql)
    }

    /// What a user inspecting the database sees: tables and columns (type, nullability,
    /// default, identity), constraints, indexes, enum types with their values, comments.
    fn catalog(&self) -> String {
        self.run(
            "select 'column', table_schema, table_name, column_name, format_type(a.atttypid, a.atttypmod), \
               is_nullable, coalesce(column_default, ''), is_identity, coalesce(col_description(a.attrelid, a.attnum), '') \
             from information_schema.columns c \
             join pg_attribute a on a.attrelid = format('%I.%I', table_schema, table_name)::regclass and a.attname = column_name \
             where table_schema not in ('pg_catalog', 'information_schema') \
             union all \
             select 'constraint', n.nspname, conrelid::regclass::text, conname, pg_get_constraintdef(c.oid), '', '', '', '' \
             from pg_constraint c join pg_namespace n on n.oid = c.connamespace \
             where n.nspname not in ('pg_catalog', 'information_schema') and conrelid <> 0 \
             union all \
             select 'index', schemaname, tablename, indexname, indexdef, '', '', '', '' from pg_indexes \
             where schemaname not in ('pg_catalog', 'information_schema') \
             union all \
             select 'enum', n.nspname, t.typname, string_agg(e.enumlabel, ',' order by e.enumsortorder), '', '', '', '', '' \
             from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace \
             group by n.nspname, t.typname \
             union all \
             select 'table', n.nspname, c.relname, coalesce(obj_description(c.oid, 'pg_class'), ''), '', '', '', '', '' \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') \
             order by 1, 2, 3, 4",
        )
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        psql_in(
            &database().dbname,
            &format!("drop database if exists {} with (force)", self.name),
        );
    }
}

/// MariaDB databases of a test: the default one (for tables without a schema) and one per
/// DBML schema, all named `t{pid}_{test}_…` and dropped at the end.
struct ScratchMysql {
    prefix: String,
    databases: Vec<String>,
}

impl ScratchMysql {
    fn new(test: &str) -> ScratchMysql {
        let prefix = format!("t{}_{test}", std::process::id());
        let scratch = ScratchMysql {
            databases: vec![prefix.clone()],
            prefix,
        };
        mysql(&format!(
            "drop database if exists `{0}`; create database `{0}`",
            scratch.prefix
        ));
        scratch
    }

    /// Rename every schema of `schema` to one of this test's databases.
    fn rename(&mut self, schema: &mut Schema) {
        let prefix = self.prefix.clone();
        let mut rename = |name: &mut Option<String>| {
            if let Some(current) = name {
                let renamed = format!("{prefix}_{current}");
                if !self.databases.contains(&renamed) {
                    mysql(&format!("drop database if exists `{renamed}`"));
                    self.databases.push(renamed.clone());
                }
                *name = Some(renamed);
            }
        };
        for table in &mut schema.tables {
            rename(&mut table.schema);
            for column in &mut table.columns {
                rename(&mut column.data_type.schema);
            }
        }
        for item in &mut schema.enums {
            rename(&mut item.schema);
        }
        for reference in &mut schema.refs {
            rename(&mut reference.left.schema);
            rename(&mut reference.right.schema);
        }
        for records in &mut schema.records {
            rename(&mut records.schema);
        }
    }

    fn run(&self, sql: &str) -> String {
        mysql(&format!("use `{}`;\n{sql}", self.prefix))
    }

    /// Columns, indexes, foreign keys, checks and comments of this test's databases.
    fn catalog(&self) -> String {
        let list = self
            .databases
            .iter()
            .map(|name| format!("'{name}'"))
            .collect::<Vec<_>>()
            .join(", ");
        self.run(&format!(
            "select 'column', table_schema, table_name, column_name, column_type, is_nullable, \
               coalesce(column_default, ''), extra, column_comment from information_schema.columns \
               where table_schema in ({list}) \
             union all \
             select 'index', table_schema, table_name, index_name, \
               group_concat(column_name order by seq_in_index), non_unique, '', '', '' \
               from information_schema.statistics where table_schema in ({list}) \
               group by table_schema, table_name, index_name, non_unique \
             union all \
             select 'fk', r.constraint_schema, r.table_name, r.constraint_name, r.referenced_table_name, \
               r.delete_rule, r.update_rule, '', '' from information_schema.referential_constraints r \
               where r.constraint_schema in ({list}) \
             union all \
             select 'check', constraint_schema, table_name, constraint_name, check_clause, '', '', '', '' \
               from information_schema.check_constraints where constraint_schema in ({list}) \
             union all \
             select 'table', table_schema, table_name, table_comment, '', '', '', '', '' \
               from information_schema.tables where table_schema in ({list}) \
             order by 1, 2, 3, 4"
        ))
    }
}

impl Drop for ScratchMysql {
    fn drop(&mut self) {
        let drops: Vec<String> = self
            .databases
            .iter()
            .map(|name| format!("drop database if exists `{name}`;"))
            .collect();
        mysql(&format!("set foreign_key_checks = 0;\n{}", drops.join("\n")));
    }
}

fn load(path: &Path) -> Schema {
    dbml::load(&[path.to_path_buf()]).unwrap_or_else(|error| panic!("{}", error.render(false)))
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(inputs().join("dbml"))
        .expect("list fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "dbml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_fixture_runs_on_postgres() {
    for path in fixtures() {
        let scratch = ScratchPg::new(path.file_stem().and_then(|stem| stem.to_str()).expect("stem"));
        scratch.run(&dbml::ddl::emit(&load(&path), Dialect::Postgres));
        assert!(!scratch.catalog().is_empty());
    }
    let scratch = ScratchPg::new("refs_checked");
    scratch.run(&dbml::ddl::emit(
        &load(&inputs().join("dbml/refs.dbml")),
        Dialect::Postgres,
    ));
    // One-to-one: a unique constraint where the column was not unique yet; many-to-many: a
    // junction table with a foreign key to each side.
    let constraints = scratch.run(
        "select conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) from pg_constraint \
         where contype in ('u', 'f') and connamespace::regnamespace::text not in ('pg_catalog', 'information_schema') \
         order by 1",
    );
    insta::assert_snapshot!("refs_constraints_postgres", constraints);
}

#[test]
fn every_fixture_runs_on_mariadb() {
    if !mysql_available("every_fixture_runs_on_mariadb") {
        return;
    }
    for path in fixtures() {
        let stem = path.file_stem().and_then(|stem| stem.to_str()).expect("stem");
        let mut scratch = ScratchMysql::new(&format!("fx_{stem}"));
        let mut schema = load(&path);
        scratch.rename(&mut schema);
        let mut sql = dbml::ddl::emit(&schema, Dialect::Mysql);
        if stem == "tables" {
            // Arrays are PostgreSQL's, and MariaDB has no expression indexes (MySQL 8 has);
            // the rest of the fixture is portable.
            sql = sql
                .replace(" text[],", " text,")
                .replace("CREATE INDEX `users_expr_idx` ON", "-- MySQL 8 only:");
        }
        if stem == "partials_records" {
            sql = sql.replace(" timestamptz ", " timestamp ");
        }
        scratch.run(&sql);
        assert!(!scratch.catalog().is_empty());
    }
}

/// The OLTP files, as the extract engineer runs them (all four, MySQL dialect, through the
/// binary), create the four service databases on MariaDB; keys, enums and checks hold.
#[test]
fn techmarket_oltp_files_create_working_databases_on_mariadb() {
    if !mysql_available("techmarket_oltp_files_create_working_databases_on_mariadb") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tmk"))
        .current_dir(root)
        .args([
            "ddl",
            "project/auth_mysql.dbml",
            "project/catalog_mysql.dbml",
            "project/orders_mysql.dbml",
            "project/payments_mysql.dbml",
            "--dialect",
            "mysql",
        ])
        .output()
        .expect("run tmk");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    // What the binary printed is what the library emits for the same files.
    let mut schema = dbml::load(
        &["auth", "catalog", "orders", "payments"]
            .iter()
            .map(|service| root.join(format!("project/{service}_mysql.dbml")))
            .collect::<Vec<_>>(),
    )
    .expect("the OLTP files parse");
    assert_eq!(printed, dbml::ddl::emit(&schema, Dialect::Mysql));
    let mut scratch = ScratchMysql::new("oltp");
    scratch.rename(&mut schema);
    scratch.run(&dbml::ddl::emit(&schema, Dialect::Mysql));
    let p = &scratch.prefix;
    let tables = scratch.run(&format!(
        "select concat(table_schema, '.', table_name) from information_schema.tables \
         where table_schema like '{p}\\_%' order by 1"
    ));
    insta::assert_snapshot!("oltp_tables", tables.replace(p, "[db]"));
    scratch.run(&format!(
        "insert into `{p}_orders`.regions (name) values ('Kyiv');
         insert into `{p}_orders`.customers (first_name, last_name, email, region_id) values ('Olena', 'Shevchenko', 'o@example.com', 1);
         insert into `{p}_orders`.employees (first_name, last_name, is_manager, region_id, hired_at) values ('Halyna', 'Ivanenko', true, 1, '2020-01-01');
         insert into `{p}_catalog`.categories (name) values ('Electronics');
         insert into `{p}_catalog`.products (name, category_id, price, cost) values ('Phone X', 1, 799, 520);
         insert into `{p}_orders`.orders (customer_id, employee_id, order_date, region_id, total_amount, status) values (1, 1, '2024-03-02', 1, 799, 'paid');
         insert into `{p}_orders`.order_items (order_id, product_id, quantity, unit_price) values (1, 1, 1, 799);
         insert into `{p}_payments`.payments (order_id, method, paid_at, amount) values (1, 'card', '2024-03-02 10:00:00', 799);
         insert into `{p}_auth`.roles (name) values ('ADMIN'), ('SALES'), ('CUSTOMER'), ('BI_VIEWER');
         insert into `{p}_auth`.users (email, password_hash, role_id, customer_id) values ('o@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 3, 1);"
    ));
    assert_eq!(
        scratch.run(&format!(
            "select status, updated_at is not null from `{p}_orders`.orders"
        )),
        "paid\t1"
    );
    // The domains and keys are enforced by the server.
    for bad in [
        format!(
            "insert into `{p}_orders`.orders (customer_id, order_date, region_id, total_amount, status) values (1, '2024-01-01', 1, 1, 'lost')"
        ),
        format!(
            "insert into `{p}_payments`.payments (order_id, method, paid_at, amount) values (1, 'cheque', now(), 1)"
        ),
        format!(
            "insert into `{p}_orders`.order_items (order_id, product_id, quantity, unit_price) values (1, 1, 0, 1)"
        ),
        format!(
            "insert into `{p}_orders`.order_items (order_id, product_id, quantity, unit_price) values (99, 1, 1, 1)"
        ),
        format!(
            "insert into `{p}_auth`.users (email, password_hash, role_id) values ('x@example.com', 'plain-text', 1)"
        ),
    ] {
        let output = std::process::Command::new("mysql")
            .args([
                "-h",
                "127.0.0.1",
                "-u",
                "root",
                "-e",
                &format!("set sql_mode = 'STRICT_ALL_TABLES'; {bad}"),
            ])
            .output()
            .expect("run mysql");
        assert!(!output.status.success(), "MariaDB accepted: {bad}");
    }
}

#[test]
fn diff_migrates_old_to_new_on_postgres() {
    let old = load(&inputs().join("dbml_diff/old.dbml"));
    let new = load(&inputs().join("dbml_diff/new.dbml"));
    let migrated = ScratchPg::new("diff_migrated");
    migrated.run(&dbml::ddl::emit(&old, Dialect::Postgres));
    migrated.run("insert into customers (name) values ('Olena'); insert into orders (id, customer_id, kind) values (1, 1, 'x')");
    let diff = dbml::diff::emit(&old, &new, Dialect::Postgres);
    insta::assert_snapshot!("diff_postgres", diff);
    // The customer has no email yet: give it one before NOT NULL applies, as a migration would.
    migrated.run("update customers set email = 'olena@example.com'");
    migrated.run(&diff);
    let direct = ScratchPg::new("diff_direct");
    direct.run(&dbml::ddl::emit(&new, Dialect::Postgres));
    assert_eq!(migrated.catalog(), direct.catalog());
    // The data survived.
    assert_eq!(
        migrated.run("select name, email from customers"),
        "Olena|olena@example.com"
    );
    // And the diff of a schema with itself is empty.
    assert_eq!(dbml::diff::emit(&new, &new, Dialect::Postgres), "");
}

#[test]
fn diff_migrates_old_to_new_on_mariadb() {
    if !mysql_available("diff_migrates_old_to_new_on_mariadb") {
        return;
    }
    let old = load(&inputs().join("dbml_diff/old.dbml"));
    let new = load(&inputs().join("dbml_diff/new.dbml"));
    let migrated = ScratchMysql::new("diff_m");
    migrated.run(&dbml::ddl::emit(&old, Dialect::Mysql));
    let diff = dbml::diff::emit(&old, &new, Dialect::Mysql);
    insta::assert_snapshot!("diff_mysql", diff);
    migrated.run(&diff);
    let direct = ScratchMysql::new("diff_d");
    direct.run(&dbml::ddl::emit(&new, Dialect::Mysql));
    assert_eq!(
        migrated.catalog().replace(&migrated.prefix, "[db]"),
        direct.catalog().replace(&direct.prefix, "[db]")
    );
}

const BROKEN_AT_THE_END: &str =
    "Table ok_table {\n  id int [pk]\n}\n\nTable broken {\n  id no_such_type\n}\n";

/// `--apply` runs everything in one transaction on the profile's target: a failing statement
/// leaves nothing behind; a good file creates its tables.
#[test]
fn apply_is_one_transaction_on_the_target() {
    let project = TestProject::new("ddl_apply", &[("broken.dbml", BROKEN_AT_THE_END)]);
    let schema = project.schema.clone();
    project.write(
        "good.dbml",
        &format!(
            "Table {schema}.customers {{\n  id int [pk, increment]\n  name text [not null]\n}}\n\nTable {schema}.orders {{\n  id int [pk]\n  customer_id int [ref: > {schema}.customers.id]\n}}\n"
        ),
    );
    let failed = project.tmk(&["ddl", "broken.dbml", "--apply"]);
    assert_exit(&failed, 1);
    assert!(failed.stderr.contains("no_such_type"), "{}", failed.stderr);
    assert_eq!(
        project.query("select count(*) from pg_class where relname in ('ok_table', 'broken')"),
        "0"
    );
    let applied = project.tmk(&["ddl", "good.dbml", "--apply"]);
    assert_ok(&applied);
    assert!(
        applied.stdout.contains("Applied 4 statement(s) to target `dev`"),
        "{}",
        applied.stdout
    );
    assert_eq!(
        project.query(&format!(
            "select conname from pg_constraint where conrelid = '{schema}.orders'::regclass and contype = 'f'"
        )),
        "orders_customer_id_fkey"
    );
}

/// Bad DBML stops `tmk ddl` with exit code 2 and the file, line and column.
#[test]
fn bad_dbml_exits_2_naming_the_place() {
    let project = TestProject::new("ddl_bad", &[("bad.dbml", "Table a {\n  id int [pk, uniqe]\n}\n")]);
    let run = project.tmk(&["ddl", "bad.dbml"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("bad_dbml", run.stderr);
    let missing = project.tmk(&["ddl", "missing.dbml"]);
    assert_exit(&missing, 2);
    assert!(
        missing.stderr.contains("cannot read `missing.dbml`"),
        "{}",
        missing.stderr
    );
}

/// The warehouse file creates the star schema on PostgreSQL with its keys.
#[test]
fn the_dwh_file_creates_the_star_schema_on_postgres() {
    let scratch = ScratchPg::new("dwh");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("project/dwh_postgres.dbml");
    scratch.run(&dbml::ddl::emit(&load(&path), Dialect::Postgres));
    let foreign_keys = scratch.run(
        "select conrelid::regclass || ' -> ' || confrelid::regclass from pg_constraint \
         where contype = 'f' order by 1",
    );
    insta::assert_snapshot!("dwh_foreign_keys", foreign_keys);
}

/// `--apply --dialect mysql --url` runs the DDL on the server statement by statement; a failure
/// names the statement and how many ran before it; without `--url` it is a usage error.
#[test]
fn apply_runs_mysql_ddl_on_the_url() {
    if !mysql_available("apply_runs_mysql_ddl_on_the_url") {
        return;
    }
    let database = format!("t{}_apply", std::process::id());
    let project = TestProject::new(
        "ddl_apply_mysql",
        &[(
            "shop.dbml",
            &format!(
                "Table {database}.customers {{\n  id int [pk, increment]\n  name varchar(50) [not null]\n}}\n\n\
                 Table {database}.orders {{\n  id int [pk]\n  customer_id int [ref: > {database}.customers.id]\n}}\n"
            ),
        )],
    );
    project.write(
        "broken.dbml",
        &format!("Table {database}.ok_table {{\n  id int [pk]\n}}\n\nTable {database}.broken {{\n  id no_such_type\n}}\n"),
    );
    mysql(&format!("drop database if exists `{database}`"));
    let missing_url = project.tmk(&["ddl", "shop.dbml", "--dialect", "mysql", "--apply"]);
    assert_exit(&missing_url, 2);
    assert!(
        missing_url.stderr.contains("needs `--url mysql://…`"),
        "{}",
        missing_url.stderr
    );
    let url = "mysql://root@127.0.0.1:3306";
    let applied = project.tmk(&["ddl", "shop.dbml", "--dialect", "mysql", "--apply", "--url", url]);
    assert_ok(&applied);
    assert!(
        applied
            .stdout
            .contains("Applied 4 statement(s) to mysql://root@127.0.0.1:3306."),
        "{}",
        applied.stdout
    );
    assert_eq!(
        mysql(&format!(
            "select constraint_name from information_schema.referential_constraints where constraint_schema = '{database}'"
        )),
        "orders_customer_id_fkey"
    );
    let failed = project.tmk(&[
        "ddl",
        "broken.dbml",
        "--dialect",
        "mysql",
        "--apply",
        "--url",
        url,
    ]);
    assert_ne!(failed.code, 0);
    assert!(
        failed
            .stderr
            .contains("statement 3 of 3; the 2 before it were applied"),
        "{}",
        failed.stderr
    );
    mysql(&format!(
        "set foreign_key_checks = 0; drop database if exists `{database}`"
    ));
}
