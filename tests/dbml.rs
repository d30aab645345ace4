//! DBML parser and DDL emitters without a database: every fixture under `tests/inputs/dbml`
//! becomes PostgreSQL and MySQL DDL snapshots, every fixture under `tests/inputs/dbml_errors`
//! an error snapshot (message, file:line:col excerpt, hint), and the project's DBML files
//! their DDL.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tmk::dbml::{self, ddl::Dialect};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn short(path: &Path) -> PathBuf {
    PathBuf::from(path.file_name().expect("a file name"))
}

#[test]
fn fixtures_make_ddl_for_both_dialects() {
    insta::glob!("inputs/dbml/*.dbml", |path| {
        let schema =
            dbml::parse(&short(path), &read(path)).unwrap_or_else(|error| panic!("{}", error.render(false)));
        insta::assert_snapshot!("postgres", dbml::ddl::emit(&schema, Dialect::Postgres));
        insta::assert_snapshot!("mysql", dbml::ddl::emit(&schema, Dialect::Mysql));
    });
}

#[test]
fn errors_name_file_line_and_column() {
    insta::glob!("inputs/dbml_errors/*.dbml", |path| {
        let error = match dbml::parse(&short(path), &read(path)) {
            Ok(_) => panic!("{} parsed without an error", path.display()),
            Err(error) => error,
        };
        let location = error.location.as_ref().expect("the error has a location");
        assert_eq!(location.path, short(path));
        insta::assert_snapshot!(format!("{}\n\n{}", error.one_line(), error.render(false)));
    });
}

/// The OLTP files as the extract engineer uses them: all four at once, MySQL dialect.
#[test]
fn techmarket_oltp_ddl() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("project");
    let files: Vec<(PathBuf, Arc<str>)> = ["auth", "catalog", "orders", "payments"]
        .iter()
        .map(|service| {
            let path = root.join(format!("{service}_mysql.dbml"));
            (short(&path), Arc::from(read(&path)))
        })
        .collect();
    let schema = dbml::parse_all(&files).unwrap_or_else(|error| panic!("{}", error.render(false)));
    let tables: Vec<String> = schema.tables.iter().map(|table| table.qualified()).collect();
    assert_eq!(
        tables,
        [
            "auth.roles",
            "auth.users",
            "catalog.categories",
            "catalog.products",
            "orders.regions",
            "orders.customers",
            "orders.employees",
            "orders.orders",
            "orders.order_items",
            "payments.payments"
        ]
    );
    insta::assert_snapshot!("oltp_mysql", dbml::ddl::emit(&schema, Dialect::Mysql));
}

/// A ref across files fails, naming the file, when the other file is not given.
#[test]
fn a_ref_into_a_missing_file_names_the_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("project/payments_mysql.dbml");
    let error = dbml::parse(&short(&path), &read(&path)).expect_err("an error");
    assert_eq!(
        error.one_line(),
        "payments_mysql.dbml:17:34: ref names table `orders.orders`, which is not declared"
    );
}
