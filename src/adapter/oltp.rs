//! Writing TechMarket's generated OLTP data (`tmk generate`) into MySQL/MariaDB (one database
//! per service, filled with multi-row INSERTs) or PostgreSQL (one schema per service, filled
//! with COPY), reading the state a change batch starts from, and applying its updates. Names
//! get the caller's prefix (`t1_` → `t1_orders`). It must not decide what the rows are:
//! `generate` makes them.

use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Connection, MySqlConnection, PgConnection, Row};

use super::mysql::{self, MySqlSource};
use super::source::{CHUNK_BYTES, ValueKind, push_value};
use crate::compile::node::quote_identifier;
use crate::error::{Error, ErrorKind, Result};
use crate::generate::{Change, SERVICES, State, TableData};

/// Rows per INSERT statement into MySQL.
const INSERT_ROWS: usize = 2_000;

/// A database the OLTP data goes into.
pub enum OltpDatabase {
    /// MySQL or MariaDB.
    MySql(MySqlConnection),
    /// PostgreSQL.
    Postgres(PgConnection),
}

impl OltpDatabase {
    /// Connect to a MySQL server (`shown` is the URL without its password).
    pub async fn mysql(url: &str, shown: &str) -> Result<OltpDatabase> {
        let mut connection = MySqlSource::connect(url, shown).await?.into_connection();
        // The generated rows are consistent: checking each key on load only slows it down.
        run_mysql(&mut connection, "set foreign_key_checks = 0, unique_checks = 0").await?;
        Ok(OltpDatabase::MySql(connection))
    }

    /// Connect to a PostgreSQL database.
    pub async fn postgres(options: &sqlx::postgres::PgConnectOptions, shown: &str) -> Result<OltpDatabase> {
        let connection = PgConnection::connect_with(options).await.map_err(|error| {
            Error::new(
                ErrorKind::Connection,
                format!("cannot connect to PostgreSQL at {shown}"),
            )
            .detail(error.to_string())
        })?;
        Ok(OltpDatabase::Postgres(connection))
    }

    /// `service`.`table` with the prefix, quoted for this database.
    fn name(&self, prefix: &str, service: &str, table: &str) -> String {
        let schema = format!("{prefix}{service}");
        match self {
            OltpDatabase::MySql(_) => format!("{}.{}", mysql::quote(&schema), mysql::quote(table)),
            OltpDatabase::Postgres(_) => format!("{}.{}", quote_identifier(&schema), quote_identifier(table)),
        }
    }

    /// Run statements (no rows back).
    async fn run(&mut self, sql: &str) -> Result<u64> {
        match self {
            OltpDatabase::MySql(connection) => run_mysql(connection, sql).await,
            OltpDatabase::Postgres(connection) => sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
                .execute(&mut *connection)
                .await
                .map(|done| done.rows_affected())
                .map_err(|error| super::postgres::statement_error(&error, sql, None, 0)),
        }
    }

    /// Start the transaction the rows are written in (one commit instead of one per statement;
    /// a failed run leaves no half-written batch).
    pub async fn begin(&mut self) -> Result<()> {
        self.run("begin").await.map(|_| ())
    }

    /// Commit what was written since [`OltpDatabase::begin`] (or since the tables were created).
    pub async fn commit(&mut self) -> Result<()> {
        self.run("commit").await.map(|_| ())
    }

    /// Drop the services' databases (MySQL) or schemas (PostgreSQL) with `prefix` and create
    /// them again with `ddl`, in a transaction that stays open for the rows (on MySQL, where
    /// DDL commits by itself, it starts after the DDL); [`OltpDatabase::commit`] ends it.
    pub async fn create_tables(&mut self, prefix: &str, ddl: &str) -> Result<()> {
        if matches!(self, OltpDatabase::Postgres(_)) {
            self.begin().await?;
        }
        for service in SERVICES {
            let name = format!("{prefix}{service}");
            let drop = match self {
                OltpDatabase::MySql(_) => format!("drop database if exists {}", mysql::quote(&name)),
                OltpDatabase::Postgres(_) => {
                    format!("drop schema if exists {} cascade", quote_identifier(&name))
                }
            };
            self.run(&drop).await?;
        }
        self.run(ddl).await?;
        if matches!(self, OltpDatabase::MySql(_)) {
            self.begin().await?;
        }
        Ok(())
    }

    /// Append the rows of `data`; returns how many.
    pub async fn write(&mut self, prefix: &str, data: TableData) -> Result<u64> {
        let name = self.name(prefix, data.service, data.table);
        match self {
            OltpDatabase::MySql(connection) => {
                let columns: Vec<String> = data.columns.iter().map(|column| mysql::quote(column)).collect();
                let head = format!("insert into {name} ({}) values ", columns.join(", "));
                let mut written = 0;
                let mut rows = data.rows.peekable();
                while rows.peek().is_some() {
                    let mut sql = head.clone();
                    for (index, row) in rows.by_ref().take(INSERT_ROWS).enumerate() {
                        if index > 0 {
                            sql.push(',');
                        }
                        sql.push('(');
                        for (position, value) in row.iter().enumerate() {
                            if position > 0 {
                                sql.push(',');
                            }
                            match value {
                                Some(value) => sql.push_str(&mysql::literal(value)),
                                None => sql.push_str("null"),
                            }
                        }
                        sql.push(')');
                    }
                    written += run_mysql(connection, &sql).await?;
                }
                Ok(written)
            }
            OltpDatabase::Postgres(connection) => {
                let columns: Vec<String> = data
                    .columns
                    .iter()
                    .map(|column| quote_identifier(column))
                    .collect();
                let copy = format!("copy {name} ({}) from stdin", columns.join(", "));
                let failed = |error: sqlx::Error| super::postgres::statement_error(&error, &copy, None, 0);
                let mut writer = connection.copy_in_raw(&copy).await.map_err(failed)?;
                let mut buffer = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8);
                for row in data.rows {
                    for (position, value) in row.iter().enumerate() {
                        if position > 0 {
                            buffer.push(b'\t');
                        }
                        push_value(&mut buffer, ValueKind::Text, value.as_deref().map(str::as_bytes));
                    }
                    buffer.push(b'\n');
                    if buffer.len() >= CHUNK_BYTES {
                        let full = std::mem::take(&mut buffer);
                        if let Err(error) = writer.send(full).await {
                            let _ = writer.abort("tmk: writing generated rows failed").await;
                            return Err(failed(error));
                        }
                    }
                }
                if !buffer.is_empty()
                    && let Err(error) = writer.send(buffer).await
                {
                    let _ = writer.abort("tmk: writing generated rows failed").await;
                    return Err(failed(error));
                }
                writer.finish().await.map_err(failed)
            }
        }
    }

    /// One value as text (None for NULL).
    async fn text(&mut self, sql: &str) -> Result<Option<String>> {
        match self {
            OltpDatabase::MySql(connection) => {
                let mut rows = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).fetch(&mut *connection);
                let row = rows
                    .try_next()
                    .await
                    .map_err(|error| mysql::source_error(&error, sql))?;
                Ok(row.and_then(|row| mysql::text_value(&row, 0)))
            }
            OltpDatabase::Postgres(connection) => {
                let row = sqlx::query(AssertSqlSafe(sql.to_string()))
                    .fetch_optional(&mut *connection)
                    .await
                    .map_err(|error| super::postgres::statement_error(&error, sql, None, 0))?;
                Ok(row.and_then(|row| row.get::<Option<String>, _>(0)))
            }
        }
    }

    /// What the data looks like now, for `--changes`.
    pub async fn state(&mut self, prefix: &str) -> Result<State> {
        let is_mysql = matches!(self, OltpDatabase::MySql(_));
        let cast = |expression: String| {
            if is_mysql {
                format!("select cast({expression} as char)")
            } else {
                format!("select ({expression})::text")
            }
        };
        let customers = self.name(prefix, "orders", "customers");
        let products = self.name(prefix, "catalog", "products");
        let orders = self.name(prefix, "orders", "orders");
        let items = self.name(prefix, "orders", "order_items");
        let payments = self.name(prefix, "payments", "payments");
        let queries = [
            cast(format!("(select count(*) from {customers})")),
            cast(format!("(select count(*) from {products})")),
            cast(format!("(select coalesce(max(order_id), 0) from {orders})")),
            cast(format!("(select coalesce(max(order_item_id), 0) from {items})")),
            cast(format!("(select coalesce(max(payment_id), 0) from {payments})")),
        ];
        let mut numbers = Vec::new();
        for sql in &queries {
            let value = self.text(sql).await?.unwrap_or_default();
            numbers.push(value.trim().parse::<i64>().unwrap_or(0));
        }
        if numbers[0] == 0 || numbers[1] == 0 || numbers[2] == 0 {
            return Err(
                Error::new(ErrorKind::Usage, "there is no generated data to change")
                    .hint("run `tmk generate` without --changes first, with the same --into and --prefix"),
            );
        }
        let latest = cast(format!(
            "(select max(updated_at) from (select max(updated_at) as updated_at from {orders} union all select max(updated_at) from {products}) as latest)"
        ));
        let last_update = self
            .text(&latest)
            .await?
            .and_then(|text| {
                chrono::NaiveDateTime::parse_from_str(text.get(..19).unwrap_or(&text), "%Y-%m-%d %H:%M:%S")
                    .ok()
            })
            .unwrap_or_default();
        Ok(State {
            customers: numbers[0],
            products: numbers[1],
            max_order: numbers[2],
            max_item: numbers[3],
            max_payment: numbers[4],
            last_update,
        })
    }

    /// Apply one change; returns the rows it updated.
    pub async fn apply(&mut self, prefix: &str, change: &Change) -> Result<u64> {
        let list = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        match change {
            Change::AdvanceStatus { orders, updated_at } => {
                let table = self.name(prefix, "orders", "orders");
                let mut updated = 0;
                // Paid orders ship first, so an order moves one step only.
                for (from, to) in [("paid", "shipped"), ("new", "paid")] {
                    updated += self
                        .run(&format!(
                            "update {table} set status = '{to}', updated_at = '{updated_at}' where order_id in ({}) and status = '{from}'",
                            list(orders)
                        ))
                        .await?;
                }
                Ok(updated)
            }
            Change::RaisePrices {
                products,
                percent,
                updated_at,
            } => {
                let table = self.name(prefix, "catalog", "products");
                self.run(&format!(
                    "update {table} set price = round(price * {} / 100, 2), updated_at = '{updated_at}' where product_id in ({})",
                    100 + percent,
                    list(products)
                ))
                .await
                .map(|_| products.len() as u64)
            }
        }
    }

    /// Close the connection.
    pub async fn close(self) {
        match self {
            OltpDatabase::MySql(connection) => {
                let _ = connection.close().await;
            }
            OltpDatabase::Postgres(connection) => {
                let _ = connection.close().await;
            }
        }
    }
}

async fn run_mysql(connection: &mut MySqlConnection, sql: &str) -> Result<u64> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut *connection)
        .await
        .map(|done| done.rows_affected())
        .map_err(|error| mysql::source_error(&error, sql))
}
