//! One run per target at a time: a session-level advisory lock keyed by the target's database
//! and schema, taken on a dedicated connection before a run changes anything. PostgreSQL
//! releases it when that session ends, so a crashed or killed tmk never leaves it behind. A
//! second run waits up to its timeout, then fails naming who holds the lock and since when.
//! It must not build anything; commands decide when to lock.

use std::time::{Duration, Instant};

use md5::Digest;
use sqlx::{Connection, PgConnection, Row};

use super::{Postgres, statement_error};
use crate::error::{Error, ErrorKind, Result};

/// The held lock; released by `release` or when dropped (its session ends).
pub struct RunLock {
    connection: PgConnection,
    key: i64,
}

impl RunLock {
    /// Release the lock and close its session.
    pub async fn release(mut self) {
        let _ = sqlx::query("select pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.connection)
            .await;
        let _ = self.connection.close().await;
    }
}

/// The lock key of a target: positive 63 bits of md5(database, schema).
fn lock_key(database: &str, schema: &str) -> i64 {
    let digest = md5::Md5::digest(format!("tmk run lock:{database}:{schema}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes) & i64::MAX
}

impl Postgres {
    /// Take the run lock of this target, waiting up to `timeout`.
    pub async fn lock_target(&self, timeout: Duration) -> Result<RunLock> {
        let target = self.target();
        let key = lock_key(&target.dbname, &target.schema);
        let mut connection = self.dedicated_connection().await?;
        let started = Instant::now();
        loop {
            let row = sqlx::query("select pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut connection)
                .await
                .map_err(|error| statement_error(&error, "select pg_try_advisory_lock($1)", None, 0))?;
            if row.get::<bool, _>(0) {
                return Ok(RunLock { connection, key });
            }
            if started.elapsed() >= timeout {
                let holder = describe_holder(&mut connection, key).await;
                return Err(Error::new(
                    ErrorKind::Connection,
                    format!(
                        "another run is changing target `{}` (schema `{}`): {holder}",
                        target.name, target.schema
                    ),
                )
                .detail(format!("waited {} s for it to finish", timeout.as_secs()))
                .hint("wait for that run to end, or pass a longer --lock-timeout"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// "held by `tmk (pid 123)` (user root, PostgreSQL pid 456) since 2026-11-21 14:00:00 UTC".
async fn describe_holder(connection: &mut PgConnection, key: i64) -> String {
    let sql = "select coalesce(a.application_name, ''), coalesce(a.usename::text, ''), a.pid, \
               to_char(a.backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') \
               from pg_locks l join pg_stat_activity a on a.pid = l.pid \
               where l.locktype = 'advisory' and l.granted \
               and ((l.classid::bigint << 32) | l.objid::bigint) = $1 limit 1";
    match sqlx::query(sql).bind(key).fetch_optional(&mut *connection).await {
        Ok(Some(row)) => format!(
            "held by `{}` (user {}, PostgreSQL pid {}) since {} UTC",
            row.get::<String, _>(0),
            row.get::<String, _>(1),
            row.get::<i32, _>(2),
            row.get::<String, _>(3)
        ),
        _ => "held by another session".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn lock_keys_are_positive_and_differ_by_schema() {
        let (a, b) = (lock_key("db", "analytics"), lock_key("db", "staging"));
        assert!(a > 0 && b > 0);
        assert_ne!(a, b);
        assert_eq!(a, lock_key("db", "analytics"));
    }
}
