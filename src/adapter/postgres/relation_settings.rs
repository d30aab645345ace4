//! Applying a relation's grants, indexes and row security policies (`RelationSettings`) in the
//! transaction that puts the relation in place, so readers never see it without them. A table
//! that is rebuilt gets its indexes under temporary names on the new table before the swap (the
//! long part, off the swap's locks) and renamed in the swap. A `grants` config owns the
//! relation's grants (those it does not name are revoked, as dbt does when a relation is kept;
//! without one they are left alone, also as dbt) and the config owns its policies; indexes are
//! only ever added. A model's DBML primary key is built on the new table
//! under a temporary name and renamed in the swap, its foreign keys are built with it; a kept
//! table gets those it lacks. It must not decide what to build.

use sqlx::{PgConnection, Row};

use super::materialize::{BuildOutcome, run};
use super::{short_hash, statement_error};
use crate::compile::node::{Relation, quote_identifier};
use crate::compile::relation_settings::{ForeignKeySpec, IndexSpec, RelationSettings, RowPolicy};
use crate::error::Result;

/// PostgreSQL's limit on identifier length (bytes).
const MAX_IDENTIFIER: usize = 63;

/// The index's name: `<table>_<columns>_idx` (`_key` when unique), as PostgreSQL names its own,
/// shortened with a hash when longer than PostgreSQL allows.
pub fn index_name(relation: &Relation, index: &IndexSpec) -> String {
    let mut columns = String::new();
    for character in index.columns.join("_").chars() {
        let character = if character.is_ascii_alphanumeric() {
            character.to_ascii_lowercase()
        } else {
            '_'
        };
        if character != '_' || !columns.ends_with('_') {
            columns.push(character);
        }
    }
    let ending = if index.unique { "key" } else { "idx" };
    let name = format!("{}_{}_{ending}", relation.identifier, columns.trim_matches('_'));
    if name.len() <= MAX_IDENTIFIER {
        return name;
    }
    let hash = short_hash(&name, 12);
    let mut base = name;
    while base.len() + hash.len() + 1 > MAX_IDENTIFIER {
        base.pop();
    }
    format!("{base}_{hash}")
}

/// The name an index has on the new table until the swap renames it to `index_name`.
fn temporary_index_name(relation: &Relation, index: &IndexSpec) -> String {
    format!(
        "tmk_new_{}",
        short_hash(
            &format!("{}.{}", relation.schema, index_name(relation, index)),
            12
        )
    )
}

fn create_index(table: &Relation, name: &str, index: &IndexSpec, if_not_exists: bool) -> String {
    format!(
        "create {}index {}{} on {}{} ({})",
        if index.unique { "unique " } else { "" },
        if if_not_exists { "if not exists " } else { "" },
        quote_identifier(name),
        table.render(),
        index
            .method
            .as_deref()
            .map(|method| format!(" using {method}"))
            .unwrap_or_default(),
        index.columns.join(", ")
    )
}

/// Build the indexes on `new_table` (the rebuilt `relation` under its temporary name).
pub async fn index_new_table(
    connection: &mut PgConnection,
    relation: &Relation,
    new_table: &Relation,
    settings: &RelationSettings,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    for index in &settings.indexes {
        let name = temporary_index_name(relation, index);
        run(
            connection,
            &create_index(new_table, &name, index, false),
            None,
            0,
            outcome,
        )
        .await?;
    }
    if !settings.primary_key.is_empty() {
        let key = add_primary_key(new_table, &temporary_key_name(relation), &settings.primary_key);
        run(connection, &key, None, 0, outcome).await?;
    }
    for key in &settings.foreign_keys {
        let mut key = key.clone();
        if key.references == relation.render() {
            // A key to the table itself (a hierarchy) points at the new table.
            key.references = new_table.render();
        }
        run(connection, &add_foreign_key(new_table, &key), None, 0, outcome).await?;
    }
    Ok(())
}

/// The primary key's name: `<table>_pkey`, as PostgreSQL names its own.
fn key_name(relation: &Relation) -> String {
    let mut name = format!("{}_pkey", relation.identifier);
    while name.len() > MAX_IDENTIFIER {
        name.remove(name.len() - 6);
    }
    name
}

/// The primary key's name on the new table until the swap renames it (its index name must not
/// clash with the old table's).
fn temporary_key_name(relation: &Relation) -> String {
    format!(
        "tmk_new_{}",
        short_hash(&format!("{}.{}", relation.schema, key_name(relation)), 12)
    )
}

fn add_primary_key(table: &Relation, name: &str, columns: &[String]) -> String {
    let columns: Vec<String> = columns.iter().map(|column| quote_identifier(column)).collect();
    format!(
        "alter table {} add constraint {} primary key ({})",
        table.render(),
        quote_identifier(name),
        columns.join(", ")
    )
}

fn add_foreign_key(table: &Relation, key: &ForeignKeySpec) -> String {
    let list = |columns: &[String]| {
        columns
            .iter()
            .map(|column| quote_identifier(column))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut statement = format!(
        "alter table {} add constraint {} foreign key ({}) references {} ({})",
        table.render(),
        quote_identifier(&key.name),
        list(&key.columns),
        key.references,
        list(&key.referenced_columns)
    );
    if let Some(action) = &key.on_delete {
        statement.push_str(&format!(" on delete {action}"));
    }
    if let Some(action) = &key.on_update {
        statement.push_str(&format!(" on update {action}"));
    }
    statement
}

/// Give `relation` its primary and foreign keys: rename the key `index_new_table` built (when
/// it was just swapped in; its foreign keys came with it), else add those it lacks (a table
/// kept by an incremental run keeps its keys).
async fn apply_keys(
    connection: &mut PgConnection,
    relation: &Relation,
    settings: &RelationSettings,
    swapped_in: bool,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    if settings.primary_key.is_empty() && settings.foreign_keys.is_empty() {
        return Ok(());
    }
    if swapped_in {
        if !settings.primary_key.is_empty() {
            let rename = format!(
                "alter table {} rename constraint {} to {}",
                relation.render(),
                quote_identifier(&temporary_key_name(relation)),
                quote_identifier(&key_name(relation))
            );
            run(connection, &rename, None, 0, outcome).await?;
        }
        return Ok(());
    }
    let query = "select conname, contype::text from pg_constraint where conrelid = $1::regclass";
    let existing: Vec<(String, String)> = sqlx::query_as(query)
        .bind(relation.render())
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, query, None, 0))?;
    if !settings.primary_key.is_empty() && !existing.iter().any(|(_, kind)| kind == "p") {
        let key = add_primary_key(relation, &key_name(relation), &settings.primary_key);
        run(connection, &key, None, 0, outcome).await?;
    }
    for key in &settings.foreign_keys {
        if !existing.iter().any(|(name, _)| *name == key.name) {
            run(connection, &add_foreign_key(relation, key), None, 0, outcome).await?;
        }
    }
    Ok(())
}

/// Give `relation` its settings: rename the indexes `index_new_table` built (when it was just
/// swapped in), add the missing ones, grant and revoke to match `grants`, and replace its
/// policies with the configured ones.
pub async fn apply(
    connection: &mut PgConnection,
    relation: &Relation,
    settings: &RelationSettings,
    swapped_in: bool,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    for index in &settings.indexes {
        let name = index_name(relation, index);
        let statement = if swapped_in {
            format!(
                "alter index {}.{} rename to {}",
                quote_identifier(&relation.schema),
                quote_identifier(&temporary_index_name(relation, index)),
                quote_identifier(&name)
            )
        } else {
            create_index(relation, &name, index, true)
        };
        run(connection, &statement, None, 0, outcome).await?;
    }
    apply_keys(connection, relation, settings, swapped_in, outcome).await?;
    apply_grants(connection, relation, settings, swapped_in, outcome).await?;
    // A table just swapped in is new: it has no policies to drop.
    if swapped_in && settings.policies.is_empty() {
        return Ok(());
    }
    apply_policies(connection, relation, &settings.policies, outcome).await
}

/// The privileges others hold on `relation` that the current role granted.
async fn current_grants(connection: &mut PgConnection, relation: &Relation) -> Result<Vec<(String, String)>> {
    let query = "select lower(privilege_type) as privilege, grantee
         from information_schema.role_table_grants
         where table_schema = $1 and table_name = $2
           and grantor = current_role and grantee <> current_role";
    let rows = sqlx::query(query)
        .bind(&relation.schema)
        .bind(&relation.identifier)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, query, None, 0))?;
    Ok(rows
        .iter()
        .map(|row| (row.get("privilege"), row.get("grantee")))
        .collect())
}

async fn apply_grants(
    connection: &mut PgConnection,
    relation: &Relation,
    settings: &RelationSettings,
    swapped_in: bool,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    // As dbt: without a `grants` config the relation's grants are left alone; a relation just
    // swapped in is new and holds none.
    if settings.grants.is_empty() {
        return Ok(());
    }
    let held = if swapped_in {
        Vec::new()
    } else {
        current_grants(connection, relation).await?
    };
    let wanted = |privilege: &str, grantee: &str| {
        settings.grants.iter().any(|grant| {
            (grant.privilege == privilege || grant.privilege == "all")
                && grant
                    .grantees
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(grantee))
        })
    };
    for (privilege, grantee) in &held {
        if !wanted(privilege, grantee) {
            let revoke = format!(
                "revoke {privilege} on {} from {}",
                relation.render(),
                quote_identifier(grantee)
            );
            run(connection, &revoke, None, 0, outcome).await?;
        }
    }
    for grant in &settings.grants {
        let missing: Vec<String> = grant
            .grantees
            .iter()
            .filter(|grantee| {
                !held.iter().any(|(privilege, holder)| {
                    (grant.privilege == "all" || *privilege == grant.privilege)
                        && holder.eq_ignore_ascii_case(grantee)
                })
            })
            .map(|grantee| grantee_sql(grantee))
            .collect();
        if !missing.is_empty() {
            let statement = format!(
                "grant {} on {} to {}",
                grant.privilege,
                relation.render(),
                missing.join(", ")
            );
            run(connection, &statement, None, 0, outcome).await?;
        }
    }
    Ok(())
}

/// A role as written in a grant or policy: `public` stays a keyword, others are quoted.
fn grantee_sql(role: &str) -> String {
    if role.eq_ignore_ascii_case("public") {
        "public".to_string()
    } else {
        quote_identifier(role)
    }
}

/// Drop the relation's policies and create the configured ones; row-level security is on
/// exactly when there are policies.
async fn apply_policies(
    connection: &mut PgConnection,
    relation: &Relation,
    policies: &[RowPolicy],
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let query = "select policyname::text from pg_policies where schemaname = $1 and tablename = $2";
    let existing: Vec<String> = sqlx::query_scalar(query)
        .bind(&relation.schema)
        .bind(&relation.identifier)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, query, None, 0))?;
    if existing.is_empty() && policies.is_empty() {
        return Ok(());
    }
    for name in &existing {
        let drop = format!("drop policy {} on {}", quote_identifier(name), relation.render());
        run(connection, &drop, None, 0, outcome).await?;
    }
    let switch = if policies.is_empty() { "disable" } else { "enable" };
    let toggle = format!("alter table {} {switch} row level security", relation.render());
    run(connection, &toggle, None, 0, outcome).await?;
    for policy in policies {
        let roles = if policy.roles.is_empty() {
            "public".to_string()
        } else {
            policy
                .roles
                .iter()
                .map(|role| grantee_sql(role))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let create = format!(
            "create policy {} on {} for {} to {roles} using ({})",
            quote_identifier(&policy.name),
            relation.render(),
            policy.command,
            policy.using
        );
        run(connection, &create, None, 0, outcome).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(identifier: &str) -> Relation {
        Relation {
            database: "db".into(),
            schema: "dwh".into(),
            identifier: identifier.into(),
        }
    }

    fn index(columns: &[&str], unique: bool) -> IndexSpec {
        IndexSpec {
            columns: columns.iter().map(ToString::to_string).collect(),
            unique,
            method: None,
        }
    }

    #[test]
    fn index_names_read_like_postgres_own_and_fit_its_limit() {
        let fact = relation("fact_sales");
        assert_eq!(
            index_name(&fact, &index(&["date_key"], false)),
            "fact_sales_date_key_idx"
        );
        assert_eq!(
            index_name(&fact, &index(&["order_id", "order_item_id"], true)),
            "fact_sales_order_id_order_item_id_key"
        );
        assert_eq!(
            index_name(&fact, &index(&["lower(email)"], false)),
            "fact_sales_lower_email_idx"
        );
        let long = index_name(&relation(&"x".repeat(60)), &index(&["a_long_column"], false));
        assert_eq!(long.len(), MAX_IDENTIFIER);
        assert_ne!(
            long,
            index_name(&relation(&"x".repeat(60)), &index(&["another_column"], false))
        );
    }

    #[test]
    fn create_index_pastes_columns_and_method() {
        let spec = IndexSpec {
            columns: vec!["order_date".into()],
            unique: false,
            method: Some("brin".into()),
        };
        assert_eq!(
            create_index(&relation("t"), "t_order_date_idx", &spec, true),
            r#"create index if not exists "t_order_date_idx" on "db"."dwh"."t" using brin (order_date)"#
        );
    }
}
