//! The only place that speaks SQL to a database. `postgres` holds the connection pool, the
//! materialisation SQL (atomic replace that keeps dependent views), COPY for seeds, test queries
//! and the catalog queries; it maps database errors to tmk errors located in the compiled SQL.
//! `mysql` reads MySQL/MariaDB tables for extract, `source` is what the readers share, `oltp`
//! writes generated TechMarket data, `mysql_ddl` runs `tmk ddl --apply` on MySQL.
//! A second warehouse later is a second adapter here, not edits elsewhere. It must not decide
//! what runs or when, render Jinja, read files or print: callers hand it compiled SQL and
//! relations.

pub mod mysql;
pub mod mysql_ddl;
pub mod oltp;
pub mod postgres;
pub mod source;
