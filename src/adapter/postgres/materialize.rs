//! Building relations. Views and tables are built under a temporary name and swapped in inside
//! one transaction (readers see the old or the new relation, never none and never a half-built
//! one); dependent views are kept (see `dependents`). Seeds are loaded with COPY into a fresh
//! table that is swapped in the same way. Hooks run inside the model's transactions. Tests run
//! dbt's wrapper query that counts failures; a test that stores its failures first builds its
//! failing rows as a table or view in the audit schema (swapped in like a model) and counts
//! those. It must not decide what to build or when, nor render Jinja: it gets compiled SQL and
//! rendered hooks.

use sqlx::{PgConnection, Row};

use super::contract::{self, DbmlCheck, EnforcedContract};
use super::dependents;
use super::incoming_keys;
use super::partitions;
use super::quarantine::{self, Quarantine};
use super::relation_settings;
use super::schema_change::{self, OnSchemaChange};
use super::watermark::{self, WatermarkColumn};
use super::{Postgres, SqlOrigin, short_hash, statement_error};
use crate::compile::node::{Relation, quote_identifier};
use crate::compile::relation_settings::RelationSettings;
use crate::compile::test_batch::DEFAULT_THRESHOLD;
use crate::error::{Error, ErrorKind, Result};

/// What building a relation did.
#[derive(Debug, Clone, Default)]
pub struct BuildOutcome {
    /// Rows in the new relation when known (tables and seeds), else None.
    pub rows_affected: Option<u64>,
    /// Dependent views that were recreated.
    pub recreated_views: Vec<String>,
    /// The statements that were run (for target/run).
    pub statements: Vec<String>,
}

/// Where a test keeps its failing rows (dbt's `store_failures`).
pub struct StoredFailures<'a> {
    /// The relation in the audit schema, replaced on every run.
    pub relation: &'a Relation,
    /// A table or a view.
    pub kind: RelationKind,
    /// The relation did not exist when the run started.
    pub known_absent: bool,
}

/// What a test query returned.
#[derive(Debug, Clone, Default)]
pub struct TestOutcome {
    /// Number of failing rows (or the fail_calc value, rounded).
    pub failures: i64,
    /// The fail_calc value as PostgreSQL returned it (for messages).
    pub failures_text: String,
    /// warn_if matched.
    pub should_warn: bool,
    /// error_if matched.
    pub should_error: bool,
    /// The statements that stored the failing rows (none when they are not stored).
    pub statements: Vec<String>,
}

/// A model to build: where, from which SQL, and the hooks to run in its transactions.
pub struct BuildRequest<'a> {
    /// The relation to build.
    pub relation: &'a Relation,
    /// The model's compiled SELECT.
    pub sql: &'a str,
    /// Where the SQL came from, to locate database errors.
    pub origin: &'a SqlOrigin,
    /// The relation did not exist when the run started: create it directly.
    pub known_absent: bool,
    /// Statements run first, in the build's transaction (dbt's pre-hooks).
    pub pre_hooks: &'a [String],
    /// Statements run once the new relation is in place, in that transaction (post-hooks).
    pub post_hooks: &'a [String],
    /// The model's watermark, moved in the transaction that commits its rows.
    pub watermark: Option<WatermarkColumn<'a>>,
    /// The model's enforced contract: its query is checked against it before anything changes.
    pub contract: Option<&'a EnforcedContract>,
    /// The model's DBML table: the new rows' columns are checked against it before anything
    /// changes, and its keys come with the table (in `settings`).
    pub dbml: Option<DbmlCheck<'a>>,
    /// The model's quarantine: failing rows move out before anything is swapped in or merged.
    pub quarantine: Option<&'a Quarantine>,
    /// Grants, indexes and row security policies, in place before the relation is visible.
    pub settings: &'a RelationSettings,
}

/// How an incremental model adds its rows to the existing table (dbt's strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrementalStrategy {
    /// Insert the new rows.
    Append,
    /// Delete the rows whose unique key is among the new rows, then insert them.
    DeleteInsert,
    /// PostgreSQL 15 `MERGE` on the unique key: update matched rows, insert the others.
    Merge,
    /// Replace one batch: delete the rows in the batch's time window, insert the new ones.
    Microbatch,
}

/// An incremental model's strategy and its settings.
#[derive(Debug, Clone)]
pub struct Incremental<'a> {
    /// The strategy.
    pub strategy: IncrementalStrategy,
    /// `unique_key`: columns or expressions, pasted as written (as dbt does).
    pub unique_key: &'a [String],
    /// `merge_update_columns`: the columns a merge updates (None: all of them).
    pub update_columns: Option<&'a [String]>,
    /// `merge_exclude_columns`: columns a merge never updates.
    pub exclude_columns: &'a [String],
    /// `incremental_predicates`: extra conditions on the existing rows (`DBT_INTERNAL_DEST`
    /// in merge, the target table in delete+insert).
    pub predicates: &'a [String],
    /// What to do when the model's columns differ from the table's.
    pub on_schema_change: OnSchemaChange,
    /// For a microbatch batch: the condition selecting the batch's rows of the table.
    pub batch_condition: Option<String>,
}

impl Incremental<'_> {
    /// The statements that move rows from `staging` into `target` (whose columns are given).
    fn statements(&self, target: &str, staging: &str, columns: &[String]) -> Vec<String> {
        let column_list = columns
            .iter()
            .map(|column| quote_identifier(column))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("insert into {target} ({column_list}) select {column_list} from {staging}");
        let predicates: String = self
            .predicates
            .iter()
            .map(|predicate| format!(" and ({predicate})"))
            .collect();
        match self.strategy {
            IncrementalStrategy::Append => vec![insert],
            IncrementalStrategy::DeleteInsert if self.unique_key.is_empty() => vec![insert],
            IncrementalStrategy::DeleteInsert => {
                // The same aliases as merge, so `incremental_predicates` read alike in both.
                let matches: Vec<String> = self
                    .unique_key
                    .iter()
                    .map(|key| format!("DBT_INTERNAL_DEST.{key} = DBT_INTERNAL_SOURCE.{key}"))
                    .collect();
                let delete = format!(
                    "delete from {target} as DBT_INTERNAL_DEST using {staging} as DBT_INTERNAL_SOURCE where {}{predicates}",
                    matches.join(" and ")
                );
                vec![delete, insert]
            }
            IncrementalStrategy::Merge => vec![self.merge(target, staging, columns)],
            IncrementalStrategy::Microbatch => {
                let condition = self.batch_condition.as_deref().unwrap_or("false");
                vec![format!("delete from {target} where {condition}"), insert]
            }
        }
    }

    /// dbt-postgres's merge: `on` the unique key (or `false`: insert everything) plus the
    /// predicates; matched rows update the chosen columns, the others are inserted.
    fn merge(&self, target: &str, staging: &str, columns: &[String]) -> String {
        let mut on: Vec<String> = self
            .unique_key
            .iter()
            .map(|key| format!("DBT_INTERNAL_SOURCE.{key} = DBT_INTERNAL_DEST.{key}"))
            .collect();
        if on.is_empty() {
            on.push("false".to_string());
        }
        on.extend(self.predicates.iter().map(|predicate| format!("({predicate})")));
        let updated: Vec<&String> = match self.update_columns {
            Some(chosen) => chosen.iter().collect(),
            None => columns
                .iter()
                .filter(|column| !self.exclude_columns.contains(column))
                .collect(),
        };
        let set = updated
            .iter()
            .map(|column| format!("{0} = DBT_INTERNAL_SOURCE.{0}", quote_identifier(column)))
            .collect::<Vec<_>>()
            .join(", ");
        let column_list = columns
            .iter()
            .map(|column| quote_identifier(column))
            .collect::<Vec<_>>()
            .join(", ");
        let values = columns
            .iter()
            .map(|column| format!("DBT_INTERNAL_SOURCE.{}", quote_identifier(column)))
            .collect::<Vec<_>>()
            .join(", ");
        let when_matched = if set.is_empty() {
            String::new()
        } else {
            format!("\nwhen matched then update set {set}")
        };
        format!(
            "merge into {target} as DBT_INTERNAL_DEST\nusing {staging} as DBT_INTERNAL_SOURCE\non ({}){when_matched}\nwhen not matched then insert ({column_list}) values ({values})",
            on.join(" and ")
        )
    }
}

/// How a relation is created from SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// `create view .. as`.
    View,
    /// `create table .. as`.
    Table,
    /// `create unlogged table .. as`.
    UnloggedTable,
    /// `create materialized view .. as`.
    MaterializedView,
}

impl RelationKind {
    /// A table, logged or not.
    fn is_table(self) -> bool {
        matches!(self, RelationKind::Table | RelationKind::UnloggedTable)
    }

    /// The kind as the catalog names it (`view`, `table`, `materialized_view`).
    fn catalog_kind(self) -> &'static str {
        match self {
            RelationKind::View => "view",
            RelationKind::Table | RelationKind::UnloggedTable => "table",
            RelationKind::MaterializedView => "materialized_view",
        }
    }
}

const TEMP_SUFFIX: &str = "__tmk_tmp";
/// Advisory lock key held while a relation is swapped in (see `swap_in`).
const SWAP_LOCK: i64 = 0x746d_6b5f_7377_6170; // "tmk_swap"
/// SQLSTATE `duplicate_table`.
const DUPLICATE_TABLE: &str = "42P07";

/// `create view|table|unlogged table <relation> as (` for a model's SQL.
fn create_prefix(kind: RelationKind, relation: &Relation) -> String {
    match kind {
        RelationKind::View => format!("create view {} as (\n", relation.render()),
        RelationKind::Table => format!("create table {} as (\n", relation.render()),
        RelationKind::UnloggedTable => format!("create unlogged table {} as (\n", relation.render()),
        RelationKind::MaterializedView => format!("create materialized view {} as (\n", relation.render()),
    }
}
const BACKUP_SUFFIX: &str = "__tmk_backup";

fn suffixed(relation: &Relation, suffix: &str) -> Relation {
    // PostgreSQL truncates identifiers at 63 bytes: a cut name gets a short hash of the full
    // one, so two long names sharing their first bytes never share a temporary name.
    if relation.identifier.len() + suffix.len() <= 63 {
        return relation.with_identifier(format!("{}{suffix}", relation.identifier));
    }
    let hash = short_hash(&relation.identifier, 8);
    let mut base = relation.identifier.clone();
    while base.len() + 9 + suffix.len() > 63 {
        base.pop();
    }
    relation.with_identifier(format!("{base}_{hash}{suffix}"))
}

impl Postgres {
    /// A transaction on a pooled connection (it owns the connection until commit or drop).
    pub(super) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool
            .begin()
            .await
            .map_err(|error| statement_error(&error, "begin", None, 0))
    }

    /// Build the model as a view or table and swap it in atomically.
    pub async fn build_relation(
        &self,
        request: &BuildRequest<'_>,
        kind: RelationKind,
    ) -> Result<BuildOutcome> {
        // With a contract the query is checked first and the table declared: the careful way.
        let partition = request.settings.partition.as_ref().filter(|_| kind.is_table());
        if request.known_absent
            && request.contract.is_none()
            && request.dbml.is_none()
            && request.quarantine.is_none()
            && partition.is_none()
            && let Some(outcome) = self.create_new(request, kind).await?
        {
            return Ok(outcome);
        }
        let relation = request.relation;
        let temporary = suffixed(relation, TEMP_SUFFIX);
        let create_prefix = create_prefix(kind, &temporary);
        let create = format!("{create_prefix}{}\n)", request.sql);
        let mut outcome = BuildOutcome::default();
        // 1. Build the new version under a temporary name and commit it. Building is long and
        //    holds read locks on everything the model reads; it must not keep them while it
        //    waits for its turn to swap, or it could deadlock with a swap of one of those.
        let mut build = self.begin().await?;
        run_all(&mut build, request.pre_hooks, &mut outcome).await?;
        drop_if_exists(&mut build, &temporary, &mut outcome).await?;
        if let Some(enforced) = request.contract {
            let shape = contract::query_shape(&mut build, request.sql, request.origin, &mut outcome).await?;
            contract::check(&mut build, shape, enforced, &mut outcome).await?;
        }
        let rows = match request.contract.filter(|_| kind != RelationKind::View) {
            Some(enforced) => {
                // The declared table, so PostgreSQL enforces the constraints on every row.
                let table = format!("create table {} {}", temporary.render(), enforced.definition);
                run(&mut build, &table, None, 0, &mut outcome).await?;
                let columns = enforced.column_list();
                let prefix = format!(
                    "insert into {} ({columns})\nselect {columns} from (\n",
                    temporary.render()
                );
                let insert = format!("{prefix}{}\n) as model_subq", request.sql);
                run(
                    &mut build,
                    &insert,
                    Some(request.origin),
                    prefix.chars().count(),
                    &mut outcome,
                )
                .await?
            }
            None => match partition {
                Some(spec) => {
                    partitions::create_partitioned(
                        &mut build,
                        relation,
                        &temporary,
                        request.sql,
                        request.origin,
                        spec,
                        &mut outcome,
                    )
                    .await?
                }
                None => {
                    run(
                        &mut build,
                        &create,
                        Some(request.origin),
                        create_prefix.chars().count(),
                        &mut outcome,
                    )
                    .await?
                }
            },
        };
        if let Some(check) = request.dbml {
            contract::check_dbml(&mut build, &temporary.render(), check, &mut outcome).await?;
        }
        if kind != RelationKind::View {
            // `create table as` reports its row count in the command tag: no extra scan.
            let moved = match request.quarantine {
                Some(quarantine) => {
                    quarantine::apply(
                        &mut build,
                        request.relation,
                        &temporary.render(),
                        quarantine,
                        &mut outcome,
                    )
                    .await?
                }
                None => 0,
            };
            outcome.rows_affected = Some(rows.saturating_sub(moved));
            relation_settings::index_new_table(
                &mut build,
                relation,
                &temporary,
                request.settings,
                &mut outcome,
            )
            .await?;
        }
        commit(build).await?;
        // 2. Swap it in: one short transaction that waits for its turn before it locks anything.
        let swapped = self.swap(request, &temporary, &mut outcome).await;
        if swapped.is_err() {
            // The old relation and its views are untouched; only the new version goes (best
            // effort: a leftover is dropped by the next build anyway).
            let _ = self
                .execute(&drop_statement(kind.catalog_kind(), &temporary, true))
                .await;
        }
        swapped.map(|()| outcome)
    }

    /// Swap `temporary` in as the request's relation in one transaction, keeping dependent
    /// views, then run the post-hooks, add back the other tables' foreign keys to it and move
    /// the watermark; a failing hook undoes the swap.
    async fn swap(
        &self,
        request: &BuildRequest<'_>,
        temporary: &Relation,
        outcome: &mut BuildOutcome,
    ) -> Result<()> {
        let relation = request.relation;
        let mut transaction = self.begin().await?;
        take_swap_lock(&mut transaction, outcome).await?;
        let incoming = swap_in(&mut transaction, relation, temporary, outcome).await?;
        if request.settings.partition.is_some() {
            partitions::rename_new_partitions(&mut transaction, relation, outcome).await?;
        }
        relation_settings::apply(&mut transaction, relation, request.settings, true, outcome).await?;
        run_all(&mut transaction, request.post_hooks, outcome).await?;
        // After the post-hooks: one of them may add the key the incoming keys reference.
        incoming_keys::restore(&mut transaction, &incoming, outcome).await?;
        if let Some(watermark) = &request.watermark {
            watermark::advance(&mut transaction, watermark, &relation.render(), false, outcome).await?;
        }
        commit(transaction).await
    }

    /// Create a relation that did not exist when the run started, under its final name, with
    /// its hooks in one transaction (or, without hooks, as one statement, atomic by itself).
    /// None when it exists after all (someone created it meanwhile); the caller then replaces
    /// it the careful way.
    async fn create_new(
        &self,
        request: &BuildRequest<'_>,
        kind: RelationKind,
    ) -> Result<Option<BuildOutcome>> {
        let prefix = create_prefix(kind, request.relation);
        let create = format!("{prefix}{}\n)", request.sql);
        let mut outcome = BuildOutcome::default();
        let hooked = !request.pre_hooks.is_empty()
            || !request.post_hooks.is_empty()
            || request.watermark.is_some()
            || !request.settings.is_empty();
        let mut transaction = if hooked { Some(self.begin().await?) } else { None };
        if let Some(transaction) = transaction.as_mut() {
            run_all(transaction, request.pre_hooks, &mut outcome).await?;
        }
        let created = match transaction.as_mut() {
            Some(transaction) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(create.clone()))
                    .execute(&mut **transaction)
                    .await
            }
            None => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(create.clone()))
                    .execute(&self.pool)
                    .await
            }
        };
        let done = match created {
            Ok(done) => done,
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(DUPLICATE_TABLE) => {
                return Ok(None);
            }
            Err(error) => {
                return Err(statement_error(
                    &error,
                    &create,
                    Some(request.origin),
                    prefix.chars().count(),
                ));
            }
        };
        outcome.statements.push(create);
        outcome.rows_affected = (kind != RelationKind::View).then(|| done.rows_affected());
        if let Some(mut transaction) = transaction {
            relation_settings::apply(
                &mut transaction,
                request.relation,
                request.settings,
                false,
                &mut outcome,
            )
            .await?;
            run_all(&mut transaction, request.post_hooks, &mut outcome).await?;
            if let Some(watermark) = &request.watermark {
                let relation = request.relation.render();
                watermark::advance(&mut transaction, watermark, &relation, false, &mut outcome).await?;
            }
            commit(transaction).await?;
        }
        Ok(Some(outcome))
    }

    /// Add the model's rows to an existing table in one transaction, by `incremental`'s
    /// strategy (dbt's append, delete+insert or merge), with the model's hooks.
    pub async fn insert_incremental(
        &self,
        request: &BuildRequest<'_>,
        incremental: &Incremental<'_>,
    ) -> Result<BuildOutcome> {
        let (relation, sql, origin) = (request.relation, request.sql, request.origin);
        let staging = quote_identifier(&format!("{}__tmk_incr", relation.identifier));
        let create_prefix = format!("create temporary table {staging} on commit drop as (\n");
        let create = format!("{create_prefix}{sql}\n)");
        let mut transaction = self.begin().await?;
        let mut outcome = BuildOutcome::default();
        run_all(&mut transaction, request.pre_hooks, &mut outcome).await?;
        run(
            &mut transaction,
            &create,
            Some(origin),
            create_prefix.chars().count(),
            &mut outcome,
        )
        .await?;
        if let Some(enforced) = request.contract {
            contract::check(&mut transaction, &staging, enforced, &mut outcome).await?;
        }
        if let Some(check) = request.dbml {
            contract::check_dbml(&mut transaction, &staging, check, &mut outcome).await?;
        }
        if let Some(quarantine) = request.quarantine {
            quarantine::apply(&mut transaction, relation, &staging, quarantine, &mut outcome).await?;
        }
        let columns = schema_change::apply(
            &mut transaction,
            relation,
            &staging,
            incremental.on_schema_change,
            &mut outcome,
        )
        .await?;
        if let Some(spec) = &request.settings.partition {
            partitions::add_missing_partitions(&mut transaction, relation, &staging, spec, &mut outcome)
                .await?;
        }
        let statements = incremental.statements(&relation.render(), &staging, &columns);
        let mut rows = 0;
        for statement in &statements {
            rows = run(&mut transaction, statement, None, 0, &mut outcome).await?;
        }
        outcome.rows_affected = Some(rows);
        relation_settings::apply(&mut transaction, relation, request.settings, false, &mut outcome).await?;
        if let Some(watermark) = &request.watermark {
            watermark::advance(&mut transaction, watermark, &staging, true, &mut outcome).await?;
        }
        run_all(&mut transaction, request.post_hooks, &mut outcome).await?;
        commit(transaction).await?;
        Ok(outcome)
    }

    /// Load a seed with COPY into a fresh table and swap it in atomically.
    pub async fn load_seed(
        &self,
        relation: &Relation,
        seed: &crate::seed::SeedTable,
        full_refresh: bool,
        settings: &RelationSettings,
    ) -> Result<BuildOutcome> {
        let temporary = suffixed(relation, TEMP_SUFFIX);
        let columns: Vec<String> = seed
            .columns
            .iter()
            .map(|column| format!("{} {}", quote_identifier(&column.name), column.data_type))
            .collect();
        let create = format!("create table {} ({})", temporary.render(), columns.join(", "));
        let mut transaction = self.begin().await?;
        let mut outcome = BuildOutcome::default();
        drop_if_exists(&mut transaction, &temporary, &mut outcome).await?;
        run(&mut transaction, &create, None, 0, &mut outcome).await?;
        // As dbt: a rerun truncates and reloads the table when its columns are unchanged (the
        // table keeps its grants, comments, indexes and dependent views); otherwise, and with
        // --full-refresh, the new table is swapped in.
        let reload = !full_refresh && same_columns(&mut transaction, relation, &temporary).await?;
        let target = if reload { relation } else { &temporary };
        // Other tables' foreign keys to the seed, dropped for the truncate or the swap and added
        // back once the new rows are in.
        let mut incoming = Vec::new();
        if reload {
            incoming = incoming_keys::capture(&mut transaction, relation).await?;
            incoming_keys::drop(&mut transaction, &incoming, &mut outcome).await?;
            let statements = [
                format!("drop table {}", temporary.render()),
                format!("truncate table {}", relation.render()),
            ];
            run_all(&mut transaction, &statements, &mut outcome).await?;
        }
        let copy = format!(
            "copy {} from stdin with (format csv, null '{}')",
            target.render(),
            crate::seed::COPY_NULL.replace('\'', "''")
        );
        outcome.statements.push(copy.clone());
        let rows = copy_in(&mut transaction, &copy, &seed.copy_data).await?;
        outcome.rows_affected = Some(rows);
        if !reload {
            relation_settings::index_new_table(
                &mut transaction,
                relation,
                &temporary,
                settings,
                &mut outcome,
            )
            .await?;
            take_swap_lock(&mut transaction, &mut outcome).await?;
            incoming = swap_in(&mut transaction, relation, &temporary, &mut outcome).await?;
        }
        incoming_keys::restore(&mut transaction, &incoming, &mut outcome).await?;
        relation_settings::apply(&mut transaction, relation, settings, !reload, &mut outcome).await?;
        commit(transaction).await?;
        Ok(outcome)
    }

    /// Run a test's query wrapped in dbt's failure-counting query; with `stored`, first replace
    /// the stored failing rows (at most `limit` of them) and count those, as dbt does.
    pub async fn run_test(
        &self,
        sql: &str,
        config: &crate::compile::config::ConfigMap,
        origin: &SqlOrigin,
        stored: Option<&StoredFailures<'_>>,
    ) -> Result<TestOutcome> {
        let text = |key: &str, default: &str| {
            config
                .get(key)
                .and_then(|value| value.as_str())
                .unwrap_or(default)
                .to_string()
        };
        let fail_calc = text("fail_calc", "count(*)");
        let warn_if = text("warn_if", DEFAULT_THRESHOLD);
        let error_if = text("error_if", DEFAULT_THRESHOLD);
        let limit = config
            .get("limit")
            .and_then(serde_json::Value::as_i64)
            .map(|limit| format!("\n    limit {limit}"))
            .unwrap_or_default();
        let limited = format!("{sql}{limit}");
        let (tested, origin, statements) = match stored {
            None => (limited, Some(origin), Vec::new()),
            Some(stored) => {
                let request = BuildRequest {
                    relation: stored.relation,
                    sql: &limited,
                    origin,
                    known_absent: stored.known_absent,
                    pre_hooks: &[],
                    post_hooks: &[],
                    watermark: None,
                    contract: None,
                    dbml: None,
                    quarantine: None,
                    settings: &RelationSettings::default(),
                };
                let built = self.build_relation(&request, stored.kind).await?;
                (
                    format!("select * from {}", stored.relation.render()),
                    None,
                    built.statements,
                )
            }
        };
        // failures as text: a fail_calc may be any number type (count, sum, ...).
        let prefix = format!(
            "select\n      ({fail_calc})::text as failures,\n      {fail_calc} {warn_if} as should_warn,\n      {fail_calc} {error_if} as should_error\n    from (\n"
        );
        let wrapped = format!("{prefix}{tested}\n    ) dbt_internal_test");
        // Simple protocol: one round trip, nothing prepared (each test query runs once).
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(wrapped.clone()))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| statement_error(&error, &wrapped, origin, prefix.chars().count()))?;
        let decode_error = |error: sqlx::Error| {
            Error::new(
                ErrorKind::Database,
                format!("cannot read the test's result: {error}"),
            )
            .hint("`fail_calc` must return a number, `warn_if`/`error_if` a comparison like `!= 0`")
        };
        let failures_text: Option<String> = row.try_get(0).map_err(decode_error)?;
        let failures_text = failures_text.unwrap_or_else(|| "0".to_string());
        let failures: f64 = failures_text.parse().map_err(|_| {
            Error::new(
                ErrorKind::Database,
                format!("`fail_calc` returned `{failures_text}`, not a number"),
            )
        })?;
        Ok(TestOutcome {
            failures: failures.round() as i64,
            failures_text,
            should_warn: row
                .try_get::<Option<bool>, _>(1)
                .map_err(decode_error)?
                .unwrap_or(false),
            should_error: row
                .try_get::<Option<bool>, _>(2)
                .map_err(decode_error)?
                .unwrap_or(false),
            statements,
        })
    }
}

/// Commit `transaction`. A connection lost during COMMIT leaves unknown whether it committed,
/// so that error is not transient: running the step again could apply its rows twice.
pub(super) async fn commit(transaction: sqlx::Transaction<'static, sqlx::Postgres>) -> Result<()> {
    transaction.commit().await.map_err(|error| {
        let failed = statement_error(&error, "commit", None, 0);
        if failed.transient && matches!(error, sqlx::Error::Io(_)) {
            let mut failed = failed.detail(
                "the connection was lost during COMMIT: the transaction may or may not have committed",
            );
            failed.transient = false;
            return failed;
        }
        failed
    })
}

/// Run one statement (recorded in the outcome); errors are located through `origin`, whose
/// SQL starts `offset` characters into the statement.
pub(super) async fn run(
    connection: &mut PgConnection,
    sql: &str,
    origin: Option<&SqlOrigin>,
    offset: usize,
    outcome: &mut BuildOutcome,
) -> Result<u64> {
    outcome.statements.push(sql.to_string());
    let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, sql, origin, offset))?;
    Ok(done.rows_affected())
}

/// Whether `existing` is a table with exactly the columns (names and types, in order) of
/// `fresh`; false when it does not exist.
async fn same_columns(connection: &mut PgConnection, existing: &Relation, fresh: &Relation) -> Result<bool> {
    if relation_kind(connection, existing).await?.as_deref() != Some("table") {
        return Ok(false);
    }
    let existing_columns = super::catalog::typed_columns(&mut *connection, &existing.render()).await?;
    let fresh_columns = super::catalog::typed_columns(&mut *connection, &fresh.render()).await?;
    Ok(existing_columns == fresh_columns)
}

/// Run statements in order (hooks); blank ones are skipped.
pub(super) async fn run_all(
    connection: &mut PgConnection,
    statements: &[String],
    outcome: &mut BuildOutcome,
) -> Result<()> {
    for statement in statements.iter().filter(|statement| !statement.trim().is_empty()) {
        run(connection, statement, None, 0, outcome).await?;
    }
    Ok(())
}

/// The kind of `relation`, seen from `connection` (inside its transaction).
pub(super) async fn relation_kind(
    connection: &mut PgConnection,
    relation: &Relation,
) -> Result<Option<String>> {
    super::catalog::kind_of(&mut *connection, relation).await
}

fn drop_statement(kind: &str, relation: &Relation, cascade: bool) -> String {
    let object = match kind {
        "view" => "view",
        "materialized_view" => "materialized view",
        "foreign_table" => "foreign table",
        _ => "table",
    };
    let cascade = if cascade { " cascade" } else { "" };
    format!("drop {object} if exists {}{cascade}", relation.render())
}

async fn drop_if_exists(
    connection: &mut PgConnection,
    relation: &Relation,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    if let Some(kind) = relation_kind(connection, relation).await? {
        run(
            connection,
            &drop_statement(&kind, relation, true),
            None,
            0,
            outcome,
        )
        .await?;
    }
    Ok(())
}

/// Wait for this run's turn to swap (a transaction-level advisory lock, taken before anything
/// else is locked). Swaps of relations that share dependent views would otherwise lock those
/// views and each other's relations in opposite orders (a deadlock), and one could read a
/// view another is recreating. Only the short swap is serialised; building stays parallel.
async fn take_swap_lock(connection: &mut PgConnection, outcome: &mut BuildOutcome) -> Result<()> {
    let lock = format!("select pg_advisory_xact_lock({SWAP_LOCK})");
    run(connection, &lock, None, 0, outcome).await.map(|_| ())
}

/// Rename the old relation away, the new one in, drop the old one and recreate its dependents.
/// Other tables' foreign keys to the old one are dropped with it and returned: the caller adds
/// them back (`incoming_keys::restore`) once the new relation has the key they reference.
async fn swap_in(
    connection: &mut PgConnection,
    relation: &Relation,
    temporary: &Relation,
    outcome: &mut BuildOutcome,
) -> Result<Vec<incoming_keys::IncomingKey>> {
    let rename = |from: &Relation, to: &Relation| {
        format!(
            "alter table {} rename to {}",
            from.render(),
            quote_identifier(&to.identifier)
        )
    };
    let incoming = match relation_kind(connection, relation).await? {
        None => {
            run(connection, &rename(temporary, relation), None, 0, outcome).await?;
            Vec::new()
        }
        Some(kind) => {
            let dependents = dependents::capture(connection, relation).await?;
            let incoming = if kind == "table" {
                incoming_keys::capture(connection, relation).await?
            } else {
                Vec::new()
            };
            incoming_keys::drop(connection, &incoming, outcome).await?;
            let backup = suffixed(relation, BACKUP_SUFFIX);
            drop_if_exists(connection, &backup, outcome).await?;
            let rename_old = if kind == "materialized_view" {
                format!(
                    "alter materialized view {} rename to {}",
                    relation.render(),
                    quote_identifier(&backup.identifier)
                )
            } else {
                rename(relation, &backup)
            };
            run(connection, &rename_old, None, 0, outcome).await?;
            run(connection, &rename(temporary, relation), None, 0, outcome).await?;
            run(
                connection,
                &drop_statement(&kind, &backup, !dependents.is_empty()),
                None,
                0,
                outcome,
            )
            .await?;
            dependents::recreate(connection, relation, &dependents).await?;
            outcome.recreated_views = dependents.into_iter().map(|view| view.qualified_name).collect();
            incoming
        }
    };
    Ok(incoming)
}

async fn copy_in(connection: &mut PgConnection, statement: &str, data: &[u8]) -> Result<u64> {
    let mut copy = connection
        .copy_in_raw(statement)
        .await
        .map_err(|error| statement_error(&error, statement, None, 0))?;
    for chunk in data.chunks(1 << 20) {
        if let Err(error) = copy.send(chunk).await {
            let _ = copy.abort("tmk: sending seed data failed").await;
            return Err(statement_error(&error, statement, None, 0));
        }
    }
    copy.finish()
        .await
        .map_err(|error| statement_error(&error, statement, None, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<String> {
        vec!["id".to_string(), "label".to_string(), "first_seen".to_string()]
    }

    #[test]
    fn merge_updates_all_columns_but_the_excluded_ones() {
        let key = ["id".to_string()];
        let exclude = ["first_seen".to_string()];
        let incremental = Incremental {
            strategy: IncrementalStrategy::Merge,
            unique_key: &key,
            update_columns: None,
            exclude_columns: &exclude,
            predicates: &[],
            on_schema_change: OnSchemaChange::Ignore,
            batch_condition: None,
        };
        assert_eq!(
            incremental.statements("t", "s", &columns()),
            vec![
                "merge into t as DBT_INTERNAL_DEST\nusing s as DBT_INTERNAL_SOURCE\non (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id)\nwhen matched then update set \"id\" = DBT_INTERNAL_SOURCE.\"id\", \"label\" = DBT_INTERNAL_SOURCE.\"label\"\nwhen not matched then insert (\"id\", \"label\", \"first_seen\") values (DBT_INTERNAL_SOURCE.\"id\", DBT_INTERNAL_SOURCE.\"label\", DBT_INTERNAL_SOURCE.\"first_seen\")"
                    .to_string()
            ]
        );
    }

    #[test]
    fn merge_without_a_key_inserts_everything_and_delete_insert_without_one_appends() {
        let merge = Incremental {
            strategy: IncrementalStrategy::Merge,
            unique_key: &[],
            update_columns: Some(&[]),
            exclude_columns: &[],
            predicates: &[],
            on_schema_change: OnSchemaChange::Ignore,
            batch_condition: None,
        };
        assert!(merge.statements("t", "s", &columns())[0].contains("on (false)\nwhen not matched"));
        let delete_insert = Incremental {
            strategy: IncrementalStrategy::DeleteInsert,
            ..merge
        };
        assert_eq!(delete_insert.statements("t", "s", &columns()).len(), 1);
    }

    #[test]
    fn delete_insert_applies_the_predicates_to_the_existing_rows() {
        let key = ["id".to_string()];
        let predicates = ["DBT_INTERNAL_DEST.day > current_date - 3".to_string()];
        let incremental = Incremental {
            strategy: IncrementalStrategy::DeleteInsert,
            unique_key: &key,
            update_columns: None,
            exclude_columns: &[],
            predicates: &predicates,
            on_schema_change: OnSchemaChange::Ignore,
            batch_condition: None,
        };
        assert_eq!(
            incremental.statements("t", "s", &columns())[0],
            "delete from t as DBT_INTERNAL_DEST using s as DBT_INTERNAL_SOURCE where DBT_INTERNAL_DEST.id = DBT_INTERNAL_SOURCE.id and (DBT_INTERNAL_DEST.day > current_date - 3)"
        );
    }
}
