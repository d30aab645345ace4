//! Reading the catalog for a test's guarantee (see `compile::test_guarantee`): the `NOT NULL`,
//! unique index or foreign key that makes a test's failing rows none, if the relation has it
//! now. Only what PostgreSQL enforces on every row counts, so nothing is guaranteed for:
//! - a relation that is not a plain or partitioned table of this database, that has
//!   inheritance children (their rows are in its queries, not under its keys) or foreign-table
//!   partitions (PostgreSQL does not check their rows), or that tmk's role cannot read;
//! - a column name the test's query would not read as written (a keyword, say);
//! - a unique index with a predicate, an expression, more than one column, another collation
//!   or a non-default operator class than the test's `group by` compares with;
//! - a foreign key that is not validated, is inherited from another table's key or is a copy
//!   for one partition of its target, links columns of different types (the key's equality
//!   may not be the test's `=`), has any trigger disabled or firing only on replicas, or
//!   whose target has row security on (the test's query would not see every parent row).
//!
//! What the catalog cannot show is said in the README: rows written while a key's triggers
//! were disabled, or with `session_replication_role = replica`. It only reads.

use super::materialize::TestOutcome;
use super::{Postgres, statement_error};
use crate::compile::config::{ConfigExt, ConfigMap};
use crate::compile::test_batch::{DEFAULT_THRESHOLD, thresholds_sql};
use crate::compile::test_guarantee::Guarantee;
use crate::error::{Error, ErrorKind, Result};

/// The relation `$2.$3` of database `$1` when every row the test reads is its own or a
/// partition's, under PostgreSQL's checks, and readable by tmk's role.
const OWN_ROWS: &str = "(select r.oid from pg_class r
      where r.oid = to_regclass(format('%I.%I', $2::text, $3::text)) and current_database() = $1
        and r.relkind in ('r', 'p') and has_table_privilege(r.oid, 'select')
        and not exists (select from pg_inherits where inhparent = r.oid and r.relkind = 'r')
        and not exists (select from pg_partition_tree(r.oid) tree
                        join pg_class part on part.oid = tree.relid where part.relkind = 'f'))";

/// The test's column `$4`, which its query reads as written (no keyword, no quotes needed).
const PLAIN_COLUMN: &str = "quote_ident($4) = $4";

/// What proves that column `$4` is never null: its `NOT NULL`, validated (PostgreSQL 18 can add
/// one `NOT VALID`).
fn not_null_sql() -> String {
    format!(
        "select 'NOT NULL' from pg_attribute a
         where a.attrelid = {OWN_ROWS} and a.attname = $4 and {PLAIN_COLUMN}
           and a.attnotnull and not a.attisdropped
           and not exists (select from pg_constraint n where n.conrelid = a.attrelid
                           and n.contype = 'n' and n.conkey = array[a.attnum] and not n.convalidated)"
    )
}

/// What proves that column `$4` holds no value twice: a valid unique index on exactly that
/// column, over all rows, comparing as the test's `group by` does.
fn unique_sql() -> String {
    format!(
        "select 'unique index ' || (select relname from pg_class where oid = i.indexrelid)
         from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         join pg_opclass o on o.oid = i.indclass[0]
         where i.indrelid = {OWN_ROWS} and a.attname = $4 and {PLAIN_COLUMN}
           and i.indisunique and i.indisvalid and i.indisready and i.indislive
           and i.indnkeyatts = 1 and i.indexprs is null and i.indpred is null
           and i.indcollation[0] = a.attcollation and o.opcdefault
         order by 1 limit 1"
    )
}

/// What proves that every non-null `$4` is a `$5.$6.$7`: a validated key declared on the tested
/// table from exactly that column to exactly that one, of the same type, all of whose
/// triggers fire, into a table whose rows the test's query all sees.
fn foreign_key_sql() -> String {
    format!(
        "select 'foreign key ' || c.conname
         from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
         join pg_attribute p on p.attrelid = c.confrelid and p.attnum = c.confkey[1]
         where c.contype = 'f' and c.convalidated and c.conparentid = 0
           and cardinality(c.conkey) = 1
           and c.conrelid = {OWN_ROWS} and a.attname = $4 and {PLAIN_COLUMN}
           and c.confrelid = to_regclass(format('%I.%I', $5::text, $6::text))
           and p.attname = $7 and quote_ident($7) = $7
           and a.atttypid = p.atttypid and a.attcollation = p.attcollation
           and not row_security_active(c.confrelid)
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
            .bind(&relation.database)
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
        let threshold = |key: &str| config.text(key).unwrap_or(DEFAULT_THRESHOLD);
        let sql = thresholds_sql(&[(0, threshold("warn_if"), threshold("error_if"))]);
        let statement = format!("-- no failing rows: {proof}\n{sql}");
        let outcomes = self.threshold_outcomes(&sql, 1, &statement).await?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Database, format!("`{sql}` returned no thresholds")))
    }
}
