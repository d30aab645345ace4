//! Catalog queries: which relations exist and their columns (one query for all the schemas a
//! run touches, instead of dbt's per-schema relation cache), the kind of one relation, a relation's columns
//! with their types, and every relation of some schemas with columns and comments (catalog.json).
//! Its own queries only read the catalog; it must not create, replace or drop relations
//! (that is `materialize`).

use std::collections::HashMap;

use sqlx::Row;

use super::{Postgres, statement_error};
use crate::compile::node::Relation;
use crate::error::Result;

/// Existing relations and their kinds (`table`, `view`, `materialized_view`, `foreign_table`).
pub type ExistingRelations = HashMap<Relation, String>;

/// Existing relations' column names, in order.
pub type RelationColumns = HashMap<Relation, Vec<String>>;

const KIND: &str = "case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' \
                    when 'm' then 'materialized_view' when 'f' then 'foreign_table' end";

/// The kind of `relation` (`table`, `view`, `materialized_view`, `foreign_table`) through any
/// executor: the pool, or the connection of a transaction in progress.
pub(super) async fn kind_of<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    relation: &Relation,
) -> Result<Option<String>> {
    let sql = format!(
        "select {KIND} from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = $1 and c.relname = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(&relation.schema)
        .bind(&relation.identifier)
        .fetch_optional(executor)
        .await
        .map_err(|error| statement_error(&error, &sql, None, 0))?;
    Ok(row.and_then(|row| row.get::<Option<String>, _>(0)))
}

/// The columns (name, type with modifiers) of the relation named by `qualified` (a quoted,
/// qualified name, or a bare temporary table's), in order; empty when it does not exist.
pub(super) async fn typed_columns<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    qualified: &str,
) -> Result<Vec<(String, String)>> {
    let sql = "select a.attname::text, format_type(a.atttypid, a.atttypmod) from pg_attribute a \
               where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum";
    let rows = sqlx::query(sql)
        .bind(qualified)
        .fetch_all(executor)
        .await
        .map_err(|error| statement_error(&error, sql, None, 0))?;
    Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
}

impl Postgres {
    /// Every table, view and materialized view in `schemas`, with its kind and, when
    /// `with_columns`, its columns (otherwise none are returned), in one query.
    pub async fn existing_relations(
        &self,
        schemas: &[String],
        with_columns: bool,
    ) -> Result<(ExistingRelations, RelationColumns)> {
        let columns = if with_columns {
            "array(select a.attname::text from pg_attribute a \
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum)"
        } else {
            "null::text[]"
        };
        let sql = format!(
            "select current_database()::text, n.nspname::text, c.relname::text, {KIND}, {columns} \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'f')"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(schemas)
            .fetch_all(&self.pool)
            .await
            .map_err(|error| statement_error(&error, &sql, None, 0))?;
        let mut relations = ExistingRelations::new();
        let mut columns = RelationColumns::new();
        for row in rows {
            let relation = Relation {
                database: row.get(0),
                schema: row.get(1),
                identifier: row.get(2),
            };
            if let Some(names) = row.get::<Option<Vec<String>>, _>(4) {
                columns.insert(relation.clone(), names);
            }
            relations.insert(relation, row.get(3));
        }
        Ok((relations, columns))
    }

    /// The kind of `relation`, or None when it does not exist.
    pub async fn relation_kind(&self, relation: &Relation) -> Result<Option<String>> {
        kind_of(&self.pool, relation).await
    }

    /// The columns of `relation` (name, type), in order.
    pub async fn columns(&self, relation: &Relation) -> Result<Vec<(String, String)>> {
        let sql = "select a.attname::text, format_type(a.atttypid, a.atttypmod) \
                   from pg_attribute a join pg_class c on c.oid = a.attrelid \
                   join pg_namespace n on n.oid = c.relnamespace \
                   where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped \
                   order by a.attnum";
        let rows = sqlx::query(sql)
            .bind(&relation.schema)
            .bind(&relation.identifier)
            .fetch_all(&self.pool)
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// The first `limit` rows of a query with every value as PostgreSQL prints it (text, so
    /// `819.00` keeps its scale), for people to read (`tmk show`).
    pub async fn preview(&self, sql: &str, limit: u64) -> Result<crate::compile::jinja::context::QueryTable> {
        let texts = format!(
            "select (select coalesce(json_agg(value), '[]') from json_each_text(to_json(t))) as row\nfrom (\n{sql}\n) as t\nlimit {limit}"
        );
        let mut table = self
            .fetch_table(&format!("select * from (\n{sql}\n) as t limit 0"))
            .await?;
        let rows = self.fetch_table(&texts).await?;
        table.rows = rows
            .rows
            .into_iter()
            .map(|row| match row.into_iter().next() {
                Some(serde_json::Value::Array(values)) => values,
                _ => Vec::new(),
            })
            .collect();
        Ok(table)
    }

    /// Run a query and return its rows as JSON values (for run_query and `tmk show`).
    pub async fn fetch_table(&self, sql: &str) -> Result<crate::compile::jinja::context::QueryTable> {
        use sqlx::{Column, Executor, Statement};
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        let described = (&mut *connection)
            .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
                sql.to_string(),
            )))
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        let column_names: Vec<String> = described
            .columns()
            .iter()
            .map(|column| column.name().to_string())
            .collect();
        if column_names.is_empty() {
            let done = connection
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
                .await
                .map_err(|error| statement_error(&error, sql, None, 0))?;
            return Ok(crate::compile::jinja::context::QueryTable {
                rows_affected: done.rows_affected(),
                ..Default::default()
            });
        }
        // Wrap as JSON so every PostgreSQL type decodes the same way.
        let wrapped = format!("select to_jsonb(t)::text from ({sql}) t");
        let rows = sqlx::query(sqlx::AssertSqlSafe(wrapped.clone()))
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| statement_error(&error, &wrapped, None, 0))?;
        let mut table = crate::compile::jinja::context::QueryTable {
            column_names: column_names.clone(),
            rows: Vec::with_capacity(rows.len()),
            rows_affected: 0,
        };
        for row in rows {
            let text: String = row.get(0);
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&text).map_err(|error| {
                    crate::error::Error::new(
                        crate::error::ErrorKind::Database,
                        format!("cannot read a row of the query's result: {error}"),
                    )
                })?;
            table.rows.push(
                column_names
                    .iter()
                    .map(|name| object.get(name).cloned().unwrap_or(serde_json::Value::Null))
                    .collect(),
            );
        }
        Ok(table)
    }
}

/// One relation as PostgreSQL's catalog describes it, for catalog.json.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogRelation {
    /// `BASE TABLE`, `VIEW`, `MATERIALIZED VIEW` or `FOREIGN TABLE` (dbt-postgres's names).
    pub kind: String,
    /// The relation's comment.
    pub comment: Option<String>,
    /// The owning role.
    pub owner: String,
    /// The columns in order: name, type with modifiers, comment.
    pub columns: Vec<(String, String, Option<String>)>,
}

impl Postgres {
    /// Every relation in `schemas` with its columns, types and comments, in one query.
    pub async fn catalog(&self, schemas: &[String]) -> Result<HashMap<Relation, CatalogRelation>> {
        let sql = "select current_database()::text, n.nspname::text, c.relname::text, \
                   case c.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW' \
                   when 'f' then 'FOREIGN TABLE' else 'BASE TABLE' end, \
                   obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner)::text, \
                   a.attname::text, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum) \
                   from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                   join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped \
                   where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'f') \
                   order by n.nspname, c.relname, a.attnum";
        let rows = sqlx::query(sql)
            .bind(schemas)
            .fetch_all(&self.pool)
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        let mut relations: HashMap<Relation, CatalogRelation> = HashMap::new();
        for row in rows {
            let relation = Relation {
                database: row.get(0),
                schema: row.get(1),
                identifier: row.get(2),
            };
            let entry = relations.entry(relation).or_insert_with(|| CatalogRelation {
                kind: row.get(3),
                comment: row.get(4),
                owner: row.get(5),
                columns: Vec::new(),
            });
            entry.columns.push((row.get(6), row.get(7), row.get(8)));
        }
        Ok(relations)
    }
}
