//! The statements that migrate a database built from one DBML schema to another: new schemas
//! and enum types (and enum values), tables created and dropped, columns added, dropped and
//! changed (type, nullability, default, identity, uniqueness, comment), primary keys, indexes
//! and foreign keys added, dropped or redefined, table and column comments. Order: what goes
//! away first (foreign keys, indexes, tables, columns), then what is new. Names follow
//! [`super::ddl`], so a database created by `tmk ddl` OLD migrates to exactly what `tmk ddl` NEW
//! creates. It must not run anything.

use std::collections::HashMap;

use super::ddl::{self, Dialect, column_list, ident, literal, table_name};
use super::{Column, Enum, Schema, Table};

/// A foreign key or the unique constraint of a one-to-one ref, identified by the statement that
/// creates it.
struct Constraint {
    /// The table it lives on (SQL name).
    table: String,
    /// Its name.
    name: String,
    /// Whether it is a foreign key (else a unique constraint).
    foreign: bool,
    /// The statement that creates it.
    create: String,
}

fn constraints(schema: &Schema, dialect: Dialect) -> Vec<Constraint> {
    let namer = |schema: Option<&str>, table: &str| table_name(dialect, schema, table);
    let mut out = Vec::new();
    for reference in &schema.refs {
        let Some((from, _)) = reference.foreign_key() else {
            continue;
        };
        for create in ddl::ref_statements(schema, dialect, reference, &namer) {
            let foreign = create.contains(" FOREIGN KEY ");
            out.push(Constraint {
                table: namer(from.schema.as_deref(), &from.table),
                name: if foreign {
                    ddl::foreign_key_name(reference, from)
                } else {
                    ddl::unique_name(from)
                },
                foreign,
                create,
            });
        }
    }
    out
}

fn drop_constraint(dialect: Dialect, constraint: &Constraint) -> String {
    let name = ident(dialect, &constraint.name);
    match (dialect, constraint.foreign) {
        (Dialect::Postgres, _) => format!("ALTER TABLE {} DROP CONSTRAINT {name};", constraint.table),
        (Dialect::Mysql, true) => format!("ALTER TABLE {} DROP FOREIGN KEY {name};", constraint.table),
        (Dialect::Mysql, false) => format!("ALTER TABLE {} DROP INDEX {name};", constraint.table),
    }
}

/// The identity of a table: (schema, name).
fn key(table: &Table) -> (String, String) {
    (table.schema().to_string(), table.name.clone())
}

fn sql_name(dialect: Dialect, table: &Table) -> String {
    table_name(dialect, table.schema.as_deref(), &table.name)
}

/// Indexes of a table that are not its primary key, by name, with their create statement.
fn indexes(dialect: Dialect, table: &Table) -> Vec<(String, String)> {
    let name = sql_name(dialect, table);
    table
        .indexes
        .iter()
        .filter(|index| !index.primary_key)
        .map(|index| {
            (
                ddl::index_name(table, index),
                ddl::create_index(dialect, table, index, &name),
            )
        })
        .collect()
}

fn drop_index(dialect: Dialect, table: &Table, index: &str) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "DROP INDEX {};",
            table_name(dialect, table.schema.as_deref(), index)
        ),
        Dialect::Mysql => format!(
            "DROP INDEX {} ON {};",
            ident(dialect, index),
            sql_name(dialect, table)
        ),
    }
}

/// The SQL that differs between two definitions of one column, as PostgreSQL `ALTER COLUMN`
/// actions or one MySQL `MODIFY COLUMN`.
fn column_changes(
    dialect: Dialect,
    (old_schema, old): (&Schema, &Column),
    (new_schema, new): (&Schema, &Column),
    table: &Table,
) -> Vec<String> {
    let name = sql_name(dialect, table);
    let column = ident(dialect, &new.name);
    let old_type = ddl::type_sql(old_schema, dialect, &old.data_type);
    let new_type = ddl::type_sql(new_schema, dialect, &new.data_type);
    let old_default = old
        .default
        .as_ref()
        .map(|value| ddl::value_sql(dialect, value, true));
    let new_default = new
        .default
        .as_ref()
        .map(|value| ddl::value_sql(dialect, value, true));
    let mut out = Vec::new();
    if dialect == Dialect::Mysql {
        let changed = old_type != new_type
            || old.nullable() != new.nullable()
            || old_default != new_default
            || old.increment != new.increment
            || old.note != new.note
            || old.checks != new.checks;
        if changed {
            let mut definition = new.clone();
            definition.unique = false;
            definition.primary_key = false;
            if !new.nullable() {
                definition.not_null = Some(true);
            }
            out.push(format!(
                "ALTER TABLE {name} MODIFY COLUMN {};",
                ddl::column_sql(new_schema, dialect, &definition, false)
            ));
        }
    } else {
        let types_differ = old_type != new_type
            && old.data_type.postgres_canonical() != new.data_type.postgres_canonical()
            || old_schema.enum_of(&old.data_type).is_some() != new_schema.enum_of(&new.data_type).is_some();
        if old.increment && !new.increment {
            out.push(format!("ALTER TABLE {name} ALTER COLUMN {column} DROP IDENTITY;"));
        }
        if types_differ {
            if old_default.is_some() {
                out.push(format!("ALTER TABLE {name} ALTER COLUMN {column} DROP DEFAULT;"));
            }
            let via_text = if new_schema.enum_of(&new.data_type).is_some() {
                "::text"
            } else {
                ""
            };
            out.push(format!(
                "ALTER TABLE {name} ALTER COLUMN {column} TYPE {new_type} USING {column}{via_text}::{new_type};"
            ));
        }
        if old.nullable() != new.nullable() {
            let action = if new.nullable() { "DROP" } else { "SET" };
            out.push(format!(
                "ALTER TABLE {name} ALTER COLUMN {column} {action} NOT NULL;"
            ));
        }
        if old_default != new_default || (types_differ && new_default.is_some()) {
            out.push(match &new_default {
                Some(default) => format!("ALTER TABLE {name} ALTER COLUMN {column} SET DEFAULT {default};"),
                None => format!("ALTER TABLE {name} ALTER COLUMN {column} DROP DEFAULT;"),
            });
        }
        if new.increment && !old.increment {
            out.push(format!(
                "ALTER TABLE {name} ALTER COLUMN {column} ADD GENERATED BY DEFAULT AS IDENTITY;"
            ));
        }
        if old.note != new.note {
            out.push(format!(
                "COMMENT ON COLUMN {name}.{column} IS {};",
                new.note
                    .as_deref()
                    .map_or("NULL".to_string(), |note| literal(dialect, note))
            ));
        }
        for check in new.checks.iter().filter(|check| !old.checks.contains(check)) {
            out.push(format!("ALTER TABLE {name} ADD CHECK ({check});"));
        }
    }
    let old_unique = old.unique && !old.primary_key;
    let new_unique = new.unique && !new.primary_key;
    if old_unique != new_unique {
        // PostgreSQL names an inline UNIQUE `{table}_{column}_key`; MySQL names its index after
        // the column.
        let constraint = match dialect {
            Dialect::Postgres => format!("{}_{}_key", table.name, new.name),
            Dialect::Mysql => new.name.clone(),
        };
        let constraint = ident(dialect, &constraint);
        out.push(match (dialect, new_unique) {
            (_, true) => format!("ALTER TABLE {name} ADD CONSTRAINT {constraint} UNIQUE ({column});"),
            (Dialect::Postgres, false) => format!("ALTER TABLE {name} DROP CONSTRAINT {constraint};"),
            (Dialect::Mysql, false) => format!("ALTER TABLE {name} DROP INDEX {constraint};"),
        });
    }
    out
}

/// Changes inside a table present in both versions.
fn table_changes(
    dialect: Dialect,
    old_schema: &Schema,
    old: &Table,
    new_schema: &Schema,
    new: &Table,
) -> Vec<String> {
    let name = sql_name(dialect, new);
    let mut out = Vec::new();
    let old_key = old.primary_key();
    let new_key = new.primary_key();
    if old_key != new_key && !old_key.is_empty() {
        out.push(match dialect {
            Dialect::Postgres => format!(
                "ALTER TABLE {name} DROP CONSTRAINT {};",
                ident(dialect, &format!("{}_pkey", new.name))
            ),
            Dialect::Mysql => format!("ALTER TABLE {name} DROP PRIMARY KEY;"),
        });
    }
    for column in &old.columns {
        if new.column(&column.name).is_none() {
            out.push(format!(
                "ALTER TABLE {name} DROP COLUMN {};",
                ident(dialect, &column.name)
            ));
        }
    }
    for column in &new.columns {
        match old.column(&column.name) {
            None => {
                let mut definition = column.clone();
                definition.primary_key = false;
                if column.primary_key {
                    definition.not_null = Some(true);
                }
                out.push(format!(
                    "ALTER TABLE {name} ADD COLUMN {};",
                    ddl::column_sql(new_schema, dialect, &definition, false)
                ));
                if dialect == Dialect::Postgres
                    && let Some(note) = &column.note
                {
                    out.push(format!(
                        "COMMENT ON COLUMN {name}.{} IS {};",
                        ident(dialect, &column.name),
                        literal(dialect, note)
                    ));
                }
            }
            Some(previous) => out.extend(column_changes(
                dialect,
                (old_schema, previous),
                (new_schema, column),
                new,
            )),
        }
    }
    if old_key != new_key && !new_key.is_empty() {
        out.push(format!(
            "ALTER TABLE {name} ADD PRIMARY KEY ({});",
            column_list(dialect, &new_key)
        ));
    }
    for check in &old.checks {
        if let Some(check_name) = &check.name
            && !new
                .checks
                .iter()
                .any(|other| other.name.as_ref() == Some(check_name))
        {
            out.push(match dialect {
                Dialect::Postgres => format!(
                    "ALTER TABLE {name} DROP CONSTRAINT {};",
                    ident(dialect, check_name)
                ),
                Dialect::Mysql => format!("ALTER TABLE {name} DROP CHECK {};", ident(dialect, check_name)),
            });
        }
    }
    for check in &new.checks {
        let known = old.checks.iter().any(|other| {
            other.name == check.name && (check.name.is_some() || other.expression == check.expression)
        });
        if !known {
            out.push(match &check.name {
                Some(check_name) => format!(
                    "ALTER TABLE {name} ADD CONSTRAINT {} CHECK ({});",
                    ident(dialect, check_name),
                    check.expression
                ),
                None => format!("ALTER TABLE {name} ADD CHECK ({});", check.expression),
            });
        }
    }
    if old.note != new.note {
        let note = new.note.as_deref().map_or_else(
            || match dialect {
                Dialect::Postgres => "NULL".to_string(),
                Dialect::Mysql => "''".to_string(),
            },
            |note| literal(dialect, note),
        );
        out.push(match dialect {
            Dialect::Postgres => format!("COMMENT ON TABLE {name} IS {note};"),
            Dialect::Mysql => format!("ALTER TABLE {name} COMMENT = {note};"),
        });
    }
    out
}

/// PostgreSQL: new enum types, and values added to existing ones (`ADD VALUE`); an enum that
/// lost values is recreated and its columns converted through text.
fn enum_changes(old: &Schema, new: &Schema, tables: &[(&Table, &Table)]) -> (Vec<String>, Vec<String>) {
    let mut before = Vec::new();
    let mut after = Vec::new();
    let same = |a: &Enum, b: &Enum| a.schema() == b.schema() && a.name == b.name;
    for item in &new.enums {
        let Some(previous) = old.enums.iter().find(|other| same(other, item)) else {
            before.push(ddl::create_enum(item));
            continue;
        };
        let old_values: Vec<&String> = previous.values.iter().map(|(value, _)| value).collect();
        let new_values: Vec<&String> = item.values.iter().map(|(value, _)| value).collect();
        if old_values == new_values {
            continue;
        }
        let type_name = table_name(Dialect::Postgres, item.schema.as_deref(), &item.name);
        if old_values.iter().all(|value| new_values.contains(value)) {
            let mut previous_value: Option<&String> = None;
            for value in &new_values {
                if !old_values.contains(value) {
                    let position = match previous_value {
                        Some(previous_value) => {
                            format!(" AFTER {}", literal(Dialect::Postgres, previous_value))
                        }
                        None => old_values
                            .first()
                            .map(|first| format!(" BEFORE {}", literal(Dialect::Postgres, first)))
                            .unwrap_or_default(),
                    };
                    before.push(format!(
                        "ALTER TYPE {type_name} ADD VALUE {}{position};",
                        literal(Dialect::Postgres, value)
                    ));
                }
                previous_value = Some(value);
            }
            continue;
        }
        let old_name = format!("{}__old", item.name);
        before.push(format!(
            "ALTER TYPE {type_name} RENAME TO {};",
            ident(Dialect::Postgres, &old_name)
        ));
        before.push(ddl::create_enum(item));
        for (old_table, table) in tables {
            for column in table.columns.iter().filter(|column| {
                new.enum_of(&column.data_type)
                    .is_some_and(|other| same(other, item))
                    && old_table
                        .column(&column.name)
                        .and_then(|previous| old.enum_of(&previous.data_type))
                        .is_some_and(|other| same(other, item))
            }) {
                let name = sql_name(Dialect::Postgres, table);
                let quoted = ident(Dialect::Postgres, &column.name);
                if column.default.is_some() {
                    before.push(format!("ALTER TABLE {name} ALTER COLUMN {quoted} DROP DEFAULT;"));
                }
                before.push(format!(
                    "ALTER TABLE {name} ALTER COLUMN {quoted} TYPE {type_name} USING {quoted}::text::{type_name};"
                ));
                let previous_default = old_table
                    .column(&column.name)
                    .and_then(|previous| previous.default.as_ref());
                if let Some(default) = column
                    .default
                    .as_ref()
                    .filter(|default| Some(*default) == previous_default)
                {
                    before.push(format!(
                        "ALTER TABLE {name} ALTER COLUMN {quoted} SET DEFAULT {};",
                        ddl::value_sql(Dialect::Postgres, default, true)
                    ));
                }
            }
        }
        before.push(format!(
            "DROP TYPE {};",
            table_name(Dialect::Postgres, item.schema.as_deref(), &old_name)
        ));
    }
    for item in &old.enums {
        if !new.enums.iter().any(|other| same(other, item)) {
            after.push(format!(
                "DROP TYPE {};",
                table_name(Dialect::Postgres, item.schema.as_deref(), &item.name)
            ));
        }
    }
    (before, after)
}

/// The statements migrating `old` to `new`, separated by blank lines (empty when equal).
pub fn emit(old: &Schema, new: &Schema, dialect: Dialect) -> String {
    ddl::join(&statements(old, new, dialect))
}

/// The statements migrating `old` to `new`, in order (none when equal).
pub fn statements(old: &Schema, new: &Schema, dialect: Dialect) -> Vec<String> {
    let old = &ddl::expand_many_to_many(old);
    let new = &ddl::expand_many_to_many(new);
    let mut statements = Vec::new();
    let old_tables: HashMap<(String, String), &Table> =
        old.tables.iter().map(|table| (key(table), table)).collect();
    let new_tables: HashMap<(String, String), &Table> =
        new.tables.iter().map(|table| (key(table), table)).collect();

    // What goes away: foreign keys and unique constraints, then indexes, then tables.
    let old_constraints = constraints(old, dialect);
    let new_constraints = constraints(new, dialect);
    for constraint in &old_constraints {
        if !new_constraints
            .iter()
            .any(|other| other.create == constraint.create)
        {
            statements.push(drop_constraint(dialect, constraint));
        }
    }
    for table in &old.tables {
        let Some(new_table) = new_tables.get(&key(table)) else {
            continue;
        };
        let new_indexes = indexes(dialect, new_table);
        for (name, create) in indexes(dialect, table) {
            if !new_indexes.iter().any(|(_, other)| *other == create) {
                statements.push(drop_index(dialect, table, &name));
            }
        }
    }
    for table in &old.tables {
        if !new_tables.contains_key(&key(table)) {
            statements.push(format!("DROP TABLE {};", sql_name(dialect, table)));
        }
    }

    // What is new or changed.
    let mut schemas_known: Vec<&str> = old
        .tables
        .iter()
        .filter_map(|table| table.schema.as_deref())
        .chain(old.enums.iter().filter_map(|item| item.schema.as_deref()))
        .collect();
    let new_schemas = new
        .tables
        .iter()
        .filter_map(|table| table.schema.as_deref())
        .chain(new.enums.iter().filter_map(|item| item.schema.as_deref()));
    for schema in new_schemas {
        if schema != super::DEFAULT_SCHEMA && !schemas_known.contains(&schema) {
            statements.push(format!("CREATE SCHEMA IF NOT EXISTS {};", ident(dialect, schema)));
            schemas_known.push(schema);
        }
    }
    let kept: Vec<(&Table, &Table)> = new
        .tables
        .iter()
        .filter_map(|table| old_tables.get(&key(table)).map(|previous| (*previous, table)))
        .collect();
    let (enum_before, enum_after) = if dialect == Dialect::Postgres {
        enum_changes(old, new, &kept)
    } else {
        (Vec::new(), Vec::new())
    };
    statements.extend(enum_before);
    for table in &new.tables {
        let name = sql_name(dialect, table);
        match old_tables.get(&key(table)) {
            None => {
                statements.push(ddl::create_table(new, dialect, table, &name));
                statements.extend(ddl::create_indexes(dialect, table, &name));
                statements.extend(ddl::comments(dialect, table, &name));
            }
            Some(previous) => {
                statements.extend(table_changes(dialect, old, previous, new, table));
                let old_indexes = indexes(dialect, previous);
                for (_, create) in indexes(dialect, table) {
                    if !old_indexes.iter().any(|(_, other)| *other == create) {
                        statements.push(create);
                    }
                }
            }
        }
    }
    statements.extend(enum_after);
    for constraint in &new_constraints {
        if !old_constraints
            .iter()
            .any(|other| other.create == constraint.create)
        {
            statements.push(constraint.create.clone());
        }
    }
    statements
}
