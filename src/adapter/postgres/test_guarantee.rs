//! Reading the catalog for a test's guarantee (see `compile::test_guarantee`): the `NOT NULL`,
//! unique index or foreign key that makes a test's failing rows none, if the relation has it
//! now. A relation with inheritance children (not partitions) guarantees nothing: its rows
//! include theirs. A foreign key counts only when it is validated and none of its triggers, on
//! either table or any partition, is disabled or set to fire only on replicas. It only reads.

use sqlx::Row;

use super::materialize::TestOutcome;
use super::{Postgres, statement_error};
use crate::compile::config::{ConfigExt, ConfigMap};
use crate::compile::test_guarantee::Guarantee;
use crate::error::Result;

/// The relation `$1.$2` when every row it reads is its own or a partition's.
const OWN_ROWS: &str = "(select r.oid from pg_class r
      where r.oid = to_regclass(format('%I.%I', $1::text, $2::text))
        and (r.relkind = 'p' or not exists (select from pg_inherits where inhparent = r.oid)))";

/// What proves that `$1.$2`'s column `$3` is never null: its `NOT NULL`.
fn not_null_sql() -> String {
    format!(
        "select 'NOT NULL' from pg_attribute a
         where a.attrelid = {OWN_ROWS} and a.attname = $3 and a.attnotnull and not a.attisdropped"
    )
}

/// What proves that `$1.$2`'s column `$3` holds no value twice: a valid unique index on exactly
/// that column, over all rows, comparing with the column's collation.
fn unique_sql() -> String {
    format!(
        "select 'unique index ' || (select relname from pg_class where oid = i.indexrelid)
         from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indrelid = {OWN_ROWS} and a.attname = $3
           and i.indisunique and i.indisvalid and i.indisready and i.indislive
           and i.indnkeyatts = 1 and i.indexprs is null and i.indpred is null
           and i.indcollation[0] = a.attcollation
         order by 1 limit 1"
    )
}

/// What proves that every non-null `$1.$2.$3` is a `$4.$5.$6`: a validated foreign key from
/// exactly that column to exactly that one, all of whose triggers fire.
fn foreign_key_sql() -> String {
    format!(
        "select 'foreign key ' || c.conname
         from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
         join pg_attribute p on p.attrelid = c.confrelid and p.attnum = c.confkey[1]
         where c.contype = 'f' and c.convalidated and cardinality(c.conkey) = 1
           and c.conrelid = {OWN_ROWS} and a.attname = $3
           and c.confrelid = to_regclass(format('%I.%I', $4::text, $5::text)) and p.attname = $6
           and a.attcollation = p.attcollation
           and not exists (
             with recursive family(oid) as (
               select c.oid
               union all
               select k.oid from pg_constraint k join family on k.conparentid = family.oid)
             select from pg_trigger t join family on t.tgconstraint = family.oid
             where t.tgenabled not in ('O', 'A'))
         order by 1 limit 1"
    )
}

impl Postgres {
    /// What in the catalog guarantees `guarantee` now (`NOT NULL`, `unique index x`,
    /// `foreign key y`), if anything does.
    pub async fn guaranteed_by(&self, guarantee: &Guarantee) -> Result<Option<String>> {
        let (sql, relation, column) = match guarantee {
            Guarantee::NotNull { relation, column } => (not_null_sql(), relation, column),
            Guarantee::Unique { relation, column } => (unique_sql(), relation, column),
            Guarantee::ForeignKey { relation, column, .. } => (foreign_key_sql(), relation, column),
        };
        let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&relation.schema)
            .bind(&relation.identifier)
            .bind(column);
        if let Guarantee::ForeignKey { parent, field, .. } = guarantee {
            query = query.bind(&parent.schema).bind(&parent.identifier).bind(field);
        }
        query
            .fetch_optional(&self.pool)
            .await
            .map_err(|error| statement_error(&error, &sql, None, 0))
    }

    /// The outcome of a test whose failing rows are known to be none: its `warn_if` and
    /// `error_if` applied to 0, as its own query would have.
    pub async fn guaranteed_outcome(&self, config: &ConfigMap, proof: &str) -> Result<TestOutcome> {
        let sql = format!(
            "select 0::bigint {}, 0::bigint {}",
            config.text("warn_if").unwrap_or("!= 0"),
            config.text("error_if").unwrap_or("!= 0")
        );
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| statement_error(&error, &sql, None, 0))?;
        let flag = |index: usize| {
            row.try_get::<Option<bool>, _>(index)
                .map(|flag| flag.unwrap_or(false))
                .map_err(|error| statement_error(&error, &sql, None, 0))
        };
        Ok(TestOutcome {
            failures: 0,
            failures_text: "0".to_string(),
            should_warn: flag(0)?,
            should_error: flag(1)?,
            statements: vec![format!("-- no failing rows: {proof}\n{sql}")],
        })
    }
}
