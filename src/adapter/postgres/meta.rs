//! Schema `tmk_meta`: the tables tmk keeps about its own runs in the target database — `runs`
//! and `node_runs` (the audit trail, written by `audit`), `test_results` (each test's failures
//! per run, for trends) and `load_watermarks` (models' high-water marks, kept by `watermark`). It owns their definitions and creates them once,
//! concurrent runs taking turns; it must not write rows.

use sqlx::{Connection, PgConnection};

use super::statement_error;
use crate::error::Result;

/// Serialises the creation of the metadata tables between concurrent runs ("tmk_meta").
const SCHEMA_LOCK: i64 = 0x746d_6b5f_6d65_7461;

const CREATE_TABLES: &str = "
create schema if not exists tmk_meta;
create table if not exists tmk_meta.runs (
    run_id text primary key,
    command text not null,
    selection text,
    db_user text not null,
    os_user text,
    target text not null,
    target_schema text not null,
    started_at timestamptz not null,
    ended_at timestamptz,
    status text not null check (status in ('running', 'success', 'error', 'cancelled'))
);
create table if not exists tmk_meta.node_runs (
    run_id text not null references tmk_meta.runs (run_id) on delete cascade,
    unique_id text not null,
    resource_type text not null,
    materialization text not null,
    status text not null,
    started_at timestamptz not null,
    duration_seconds double precision not null,
    rows_affected bigint,
    retries integer not null default 0,
    error_message text,
    primary key (run_id, unique_id)
);
create table if not exists tmk_meta.load_watermarks (
    relation text primary key,
    model text not null,
    column_name text not null,
    value text not null,
    data_type text not null,
    updated_at timestamptz not null default now()
);
create table if not exists tmk_meta.test_results (
    run_id text not null references tmk_meta.runs (run_id) on delete cascade,
    unique_id text not null,
    status text not null,
    failures bigint,
    duration_seconds double precision not null,
    recorded_at timestamptz not null,
    primary key (run_id, unique_id)
);
create index if not exists test_results_by_test on tmk_meta.test_results (unique_id, recorded_at desc);";

/// Create schema `tmk_meta` and its tables unless they exist; concurrent runs take turns.
pub(super) async fn ensure_tables(connection: &mut PgConnection) -> Result<()> {
    let exists = "select to_regclass('tmk_meta.runs') is not null and to_regclass('tmk_meta.node_runs') is not null \
         and to_regclass('tmk_meta.load_watermarks') is not null and to_regclass('tmk_meta.test_results') is not null";
    let (present,): (bool,) = sqlx::query_as(exists)
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, exists, None, 0))?;
    if present {
        // Also spares users who may write to tmk_meta but not create schemas.
        return Ok(());
    }
    let mut transaction = connection
        .begin()
        .await
        .map_err(|error| statement_error(&error, "begin", None, 0))?;
    let lock = format!("select pg_advisory_xact_lock({SCHEMA_LOCK})");
    for sql in [lock.as_str(), CREATE_TABLES] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut *transaction)
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
    }
    transaction
        .commit()
        .await
        .map_err(|error| statement_error(&error, "commit", None, 0))
}
