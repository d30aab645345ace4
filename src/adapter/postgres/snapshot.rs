//! Snapshots (SCD type 2) on PostgreSQL, in one transaction per run. The first run creates the
//! table from the query plus dbt's meta columns; later runs add the query's new columns, find
//! the new and changed rows with one join against the current versions, close the versions they
//! replace, insert the new versions, and handle keys gone from the source by `hard_deletes`.
//! Column names and values (`dbt_scd_id` = md5 of key and time) are dbt's, so SQL written
//! against dbt snapshots works unchanged. It must not decide when a snapshot runs.

use sqlx::PgConnection;

use super::Postgres;
use super::catalog::typed_columns;
use super::materialize::{BuildOutcome, BuildRequest, commit, relation_kind, run, run_all};
use super::relation_settings;
use crate::compile::node::quote_identifier;
use crate::compile::snapshot::{CheckColumns, HardDeletes, SnapshotSpec, SnapshotStrategy};
use crate::error::{Error, ErrorKind, Result};

/// dbt's `snapshot_get_time()` on PostgreSQL: the transaction's start, without time zone.
const NOW: &str = "now()::timestamp without time zone";
const SHAPE_TABLE: &str = "\"tmk_snapshot_shape\"";
const CHANGES_TABLE: &str = "\"tmk_snapshot_changes\"";
const DELETES_TABLE: &str = "\"tmk_snapshot_deletes\"";

/// The SQL of one snapshot: its spec and names, rendered into statements.
struct SnapshotSql<'a> {
    spec: &'a SnapshotSpec,
    target: String,
}

impl SnapshotSql<'_> {
    /// The expression that stamps a new version (`updated_at`, or the run's time).
    fn version_time(&self) -> &str {
        match &self.spec.strategy {
            SnapshotStrategy::Timestamp { updated_at } => updated_at,
            SnapshotStrategy::Check { updated_at, .. } => updated_at.as_deref().unwrap_or(NOW),
        }
    }

    /// dbt's `snapshot_hash_arguments`: md5 of the arguments cast to text, joined by `|`.
    fn hash(arguments: &[String]) -> String {
        let parts: Vec<String> = arguments
            .iter()
            .map(|argument| format!("coalesce(cast({argument} as varchar ), '')"))
            .collect();
        format!("md5({})", parts.join(" || '|' || "))
    }

    /// The condition that a row of `alias` is a current version.
    fn is_current(&self, alias: &str) -> String {
        let valid_to = format!("{alias}.{}", quote_identifier(&self.spec.meta.valid_to));
        match &self.spec.valid_to_current {
            None => format!("{valid_to} is null"),
            Some(current) => format!("({valid_to} is null or {valid_to} = {current})"),
        }
    }

    /// `tmk_key_1`.. aliases of the key expressions.
    fn key_aliases(&self) -> Vec<String> {
        (1..=self.spec.unique_key.len())
            .map(|index| format!("tmk_key_{index}"))
            .collect()
    }

    fn keys_selected(&self) -> String {
        self.spec
            .unique_key
            .iter()
            .zip(self.key_aliases())
            .map(|(key, alias)| format!("{key} as {alias}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn keys_match(&self, left: &str, right: &str) -> String {
        self.key_aliases()
            .iter()
            .map(|alias| format!("{left}.{alias} = {right}.{alias}"))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The first run: the query's rows, each the current version since its time.
    fn create(&self, sql: &str) -> (String, usize) {
        let meta = &self.spec.meta;
        let time = self.version_time();
        let mut arguments = self.spec.unique_key.clone();
        arguments.push(time.to_string());
        let valid_to = match &self.spec.valid_to_current {
            None => format!("nullif({time}, {time})"),
            Some(current) => format!("coalesce(nullif({time}, {time}), {current})"),
        };
        let mut columns = vec![
            format!("{} as {}", Self::hash(&arguments), quote_identifier(&meta.scd_id)),
            format!("{time} as {}", quote_identifier(&meta.updated_at)),
            format!("{time} as {}", quote_identifier(&meta.valid_from)),
            format!("{valid_to} as {}", quote_identifier(&meta.valid_to)),
        ];
        if self.spec.hard_deletes == HardDeletes::NewRecord {
            columns.push(format!("'False'::text as {}", quote_identifier(&meta.is_deleted)));
        }
        let prefix = format!(
            "create table {} as (\n    select *,\n        {}\n    from (\n",
            self.target,
            columns.join(",\n        ")
        );
        let statement = format!("{prefix}{sql}\n    ) sbq\n)");
        (statement, prefix.chars().count())
    }

    /// The query's columns, computed without running it.
    fn shape(&self, sql: &str) -> (String, usize) {
        let prefix = format!("create temporary table {SHAPE_TABLE} on commit drop as\nselect * from (\n");
        (
            format!("{prefix}{sql}\n) as tmk_source limit 0"),
            prefix.chars().count(),
        )
    }

    /// The new versions: source rows with no current version, or whose current version
    /// changed; each names the current version it replaces (`tmk_replaces`).
    fn changes(&self, sql: &str, source_columns: &[String], check_columns: &[String]) -> (String, usize) {
        let meta = &self.spec.meta;
        let new_record = self.spec.hard_deletes == HardDeletes::NewRecord;
        let prefix = format!(
            "create temporary table {CHANGES_TABLE} on commit drop as\nwith source_data as (\n    select *, {}, {} as tmk_version_time\n    from (\n",
            self.keys_selected(),
            self.version_time()
        );
        let mut current_columns = vec![
            self.keys_selected(),
            format!("{} as tmk_scd_id", quote_identifier(&meta.scd_id)),
            format!("{} as tmk_valid_from", quote_identifier(&meta.valid_from)),
        ];
        current_columns.extend(check_columns.iter().map(|column| quote_identifier(column)));
        if new_record {
            current_columns.push(format!(
                "{} as tmk_is_deleted",
                quote_identifier(&meta.is_deleted)
            ));
        }
        let mut key_hash: Vec<String> = self
            .key_aliases()
            .iter()
            .map(|alias| format!("source_data.{alias}"))
            .collect();
        key_hash.push("source_data.tmk_version_time".to_string());
        let mut selected: Vec<String> = source_columns
            .iter()
            .map(|column| format!("source_data.{}", quote_identifier(column)))
            .collect();
        selected.push(format!(
            "{} as {}",
            Self::hash(&key_hash),
            quote_identifier(&meta.scd_id)
        ));
        selected.push(format!(
            "source_data.tmk_version_time as {}",
            quote_identifier(&meta.updated_at)
        ));
        selected.push(format!(
            "source_data.tmk_version_time as {}",
            quote_identifier(&meta.valid_from)
        ));
        if let Some(current) = &self.spec.valid_to_current {
            selected.push(format!("{current} as {}", quote_identifier(&meta.valid_to)));
        }
        if new_record {
            selected.push(format!("'False'::text as {}", quote_identifier(&meta.is_deleted)));
        }
        selected.push("current_data.tmk_scd_id as tmk_replaces".to_string());
        let changed = match &self.spec.strategy {
            SnapshotStrategy::Timestamp { .. } => {
                "current_data.tmk_valid_from < source_data.tmk_version_time".to_string()
            }
            SnapshotStrategy::Check { .. } => check_columns
                .iter()
                .map(|column| {
                    let column = quote_identifier(column);
                    format!("source_data.{column} is distinct from current_data.{column}")
                })
                .collect::<Vec<_>>()
                .join("\n    or "),
        };
        let changed = if changed.is_empty() {
            "false".to_string()
        } else {
            changed
        };
        let revived = if new_record {
            "\n    or current_data.tmk_is_deleted = 'True'"
        } else {
            ""
        };
        let statement = format!(
            "{prefix}{sql}\n    ) as tmk_source\n),\ncurrent_data as (\n    select {}\n    from {} as tmk_target\n    where {}\n)\nselect {}\nfrom source_data\nleft join current_data on {}\nwhere current_data.tmk_scd_id is null\n    or {changed}{revived}",
            current_columns.join(", "),
            self.target,
            self.is_current("tmk_target"),
            selected.join(",\n    "),
            self.keys_match("source_data", "current_data"),
        );
        (statement, prefix.chars().count())
    }

    /// Close the current versions that the new ones replace.
    fn close_replaced(&self) -> String {
        let meta = &self.spec.meta;
        format!(
            "update {} as tmk_target\nset {} = tmk_changes.{}\nfrom {CHANGES_TABLE} as tmk_changes\nwhere tmk_target.{} = tmk_changes.tmk_replaces\n    and {}",
            self.target,
            quote_identifier(&meta.valid_to),
            quote_identifier(&meta.valid_from),
            quote_identifier(&meta.scd_id),
            self.is_current("tmk_target")
        )
    }

    /// The columns a new version is inserted with: the query's, then the meta columns.
    fn inserted_columns(&self, source_columns: &[String]) -> Vec<String> {
        let meta = &self.spec.meta;
        let mut columns: Vec<String> = source_columns
            .iter()
            .map(|column| quote_identifier(column))
            .collect();
        columns.extend([&meta.scd_id, &meta.updated_at, &meta.valid_from].map(|name| quote_identifier(name)));
        if self.spec.valid_to_current.is_some() {
            columns.push(quote_identifier(&meta.valid_to));
        }
        if self.spec.hard_deletes == HardDeletes::NewRecord {
            columns.push(quote_identifier(&meta.is_deleted));
        }
        columns
    }

    fn insert_changes(&self, source_columns: &[String]) -> String {
        let columns = self.inserted_columns(source_columns).join(", ");
        format!(
            "insert into {} ({columns})\nselect {columns} from {CHANGES_TABLE}",
            self.target
        )
    }

    /// Current versions whose key the query no longer returns (deletion records excluded).
    fn deletes(&self, sql: &str) -> (String, usize) {
        let prefix = format!(
            "create temporary table {DELETES_TABLE} on commit drop as\nwith source_keys as (\n    select {}\n    from (\n",
            self.keys_selected()
        );
        let not_deleted = if self.spec.hard_deletes == HardDeletes::NewRecord {
            format!(
                " and tmk_target.{} is distinct from 'True'",
                quote_identifier(&self.spec.meta.is_deleted)
            )
        } else {
            String::new()
        };
        let statement = format!(
            "{prefix}{sql}\n    ) as tmk_source\n),\ncurrent_data as (\n    select *, {}\n    from {} as tmk_target\n    where {}{not_deleted}\n)\nselect * from current_data\nwhere not exists (select from source_keys where {})",
            self.keys_selected(),
            self.target,
            self.is_current("tmk_target"),
            self.keys_match("source_keys", "current_data"),
        );
        (statement, prefix.chars().count())
    }

    /// Close the versions of deleted keys at the run's time.
    fn close_deleted(&self) -> String {
        let meta = &self.spec.meta;
        format!(
            "update {} as tmk_target\nset {} = {NOW}\nfrom {DELETES_TABLE} as tmk_deleted\nwhere tmk_target.{} = tmk_deleted.{}\n    and {}",
            self.target,
            quote_identifier(&meta.valid_to),
            quote_identifier(&meta.scd_id),
            quote_identifier(&meta.scd_id),
            self.is_current("tmk_target")
        )
    }

    /// `hard_deletes: new_record`: a current version marking each deleted key.
    fn insert_deletion_records(&self, data_columns: &[String]) -> String {
        let mut key_hash: Vec<String> = self.key_aliases();
        key_hash.push(NOW.to_string());
        let mut values: Vec<String> = data_columns
            .iter()
            .map(|column| quote_identifier(column))
            .collect();
        values.extend([Self::hash(&key_hash), NOW.to_string(), NOW.to_string()]);
        if let Some(current) = &self.spec.valid_to_current {
            values.push(current.clone());
        }
        values.push("'True'".to_string());
        format!(
            "insert into {} ({})\nselect {} from {DELETES_TABLE}",
            self.target,
            self.inserted_columns(data_columns).join(", "),
            values.join(", ")
        )
    }
}

impl Postgres {
    /// Run a snapshot: create its table on the first run, else record the query's changes as
    /// new versions; one transaction with the snapshot's hooks.
    pub async fn run_snapshot(
        &self,
        request: &BuildRequest<'_>,
        spec: &SnapshotSpec,
    ) -> Result<BuildOutcome> {
        let snapshot = SnapshotSql {
            spec,
            target: request.relation.render(),
        };
        let mut transaction = self.begin().await?;
        let mut outcome = BuildOutcome::default();
        run_all(&mut transaction, request.pre_hooks, &mut outcome).await?;
        match relation_kind(&mut transaction, request.relation)
            .await?
            .as_deref()
        {
            None => {
                let (create, offset) = snapshot.create(request.sql);
                let rows = run(
                    &mut transaction,
                    &create,
                    Some(request.origin),
                    offset,
                    &mut outcome,
                )
                .await?;
                outcome.rows_affected = Some(rows);
            }
            Some("table") => {
                let rows = record_changes(&mut transaction, &snapshot, request, &mut outcome).await?;
                outcome.rows_affected = Some(rows);
            }
            Some(kind) => {
                return Err(Error::new(
                    ErrorKind::Database,
                    format!(
                        "snapshot `{}` would write into `{}`, which is a {kind}; a snapshot needs a table",
                        request.relation.identifier,
                        request.relation.render()
                    ),
                )
                .hint("drop it, or give the snapshot another name or schema"));
            }
        }
        relation_settings::apply(
            &mut transaction,
            request.relation,
            request.settings,
            false,
            &mut outcome,
        )
        .await?;
        run_all(&mut transaction, request.post_hooks, &mut outcome).await?;
        commit(transaction).await?;
        Ok(outcome)
    }
}

/// Add the query's new columns, then its changes and deletions; the number of rows written.
async fn record_changes(
    connection: &mut PgConnection,
    snapshot: &SnapshotSql<'_>,
    request: &BuildRequest<'_>,
    outcome: &mut BuildOutcome,
) -> Result<u64> {
    let spec = snapshot.spec;
    let (shape, offset) = snapshot.shape(request.sql);
    run(connection, &shape, Some(request.origin), offset, outcome).await?;
    let source = typed_columns(&mut *connection, SHAPE_TABLE).await?;
    let existing = typed_columns(&mut *connection, &snapshot.target).await?;
    let has = |name: &str| existing.iter().any(|(existing, _)| existing == name);
    let meta = &spec.meta;
    let mut added: Vec<(String, String)> = source.iter().filter(|(name, _)| !has(name)).cloned().collect();
    if spec.hard_deletes == HardDeletes::NewRecord && !has(&meta.is_deleted) {
        added.push((meta.is_deleted.clone(), "text".to_string()));
    }
    for (name, data_type) in &added {
        let alter = format!(
            "alter table {} add column {} {data_type}",
            snapshot.target,
            quote_identifier(name)
        );
        run(connection, &alter, None, 0, outcome).await?;
    }
    let source_columns: Vec<String> = source.into_iter().map(|(name, _)| name).collect();
    let check_columns: Vec<String> = match &spec.strategy {
        SnapshotStrategy::Check {
            columns: CheckColumns::Listed(columns),
            ..
        } => columns.clone(),
        SnapshotStrategy::Check {
            columns: CheckColumns::All,
            ..
        } => source_columns.clone(),
        SnapshotStrategy::Timestamp { .. } => Vec::new(),
    };
    if let Some(missing) = check_columns
        .iter()
        .find(|column| !source_columns.contains(column))
    {
        return Err(Error::new(
            ErrorKind::Database,
            format!("`check_cols` names `{missing}`, which the snapshot's query does not return"),
        )
        .detail(format!("the query returns: {}", source_columns.join(", "))));
    }
    let (changes, offset) = snapshot.changes(request.sql, &source_columns, &check_columns);
    run(connection, &changes, Some(request.origin), offset, outcome).await?;
    run(connection, &format!("analyze {CHANGES_TABLE}"), None, 0, outcome).await?;
    run(connection, &snapshot.close_replaced(), None, 0, outcome).await?;
    let mut written = run(
        connection,
        &snapshot.insert_changes(&source_columns),
        None,
        0,
        outcome,
    )
    .await?;
    if spec.hard_deletes != HardDeletes::Ignore {
        let (deletes, offset) = snapshot.deletes(request.sql);
        run(connection, &deletes, Some(request.origin), offset, outcome).await?;
        written += run(connection, &snapshot.close_deleted(), None, 0, outcome).await?;
        if spec.hard_deletes == HardDeletes::NewRecord {
            let meta_names = [
                &meta.scd_id,
                &meta.updated_at,
                &meta.valid_from,
                &meta.valid_to,
                &meta.is_deleted,
            ];
            let data_columns: Vec<String> = typed_columns(&mut *connection, &snapshot.target)
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .filter(|name| !meta_names.contains(&name))
                .collect();
            run(
                connection,
                &snapshot.insert_deletion_records(&data_columns),
                None,
                0,
                outcome,
            )
            .await?;
        }
    }
    Ok(written)
}
