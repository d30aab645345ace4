//! DDL from a resolved [`Schema`], for PostgreSQL or MySQL/MariaDB, in the order `dbml2sql`
//! uses: schemas, enum types, tables (junction tables of many-to-many refs included), indexes,
//! comments, records, then unique constraints of one-to-one refs and foreign keys. Index,
//! unique and foreign-key names are always written (`{table}_{columns}_idx|_key|_fkey`, as
//! PostgreSQL would name them) so that `diff` can drop them again. It must not run anything.

use super::types::DataType;
use super::{Column, Endpoint, IndexPart, Ref, Relation, Schema, Table, Value};

/// The SQL dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL 8 / MariaDB 10.11.
    Mysql,
}

/// How the emitter names tables: `(schema as written, table) → SQL name`. The default quotes
/// both; the build uses another to point at the model's relation.
pub type TableNamer<'a> = &'a dyn Fn(Option<&str>, &str) -> String;

/// The longest identifier both dialects accept (PostgreSQL: 63 bytes, MySQL: 64 characters).
const MAX_IDENTIFIER: usize = 63;

/// Quote an identifier.
pub fn ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
    }
}

/// A string literal.
pub fn literal(dialect: Dialect, text: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("'{}'", text.replace('\'', "''")),
        Dialect::Mysql => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
    }
}

/// `"schema"."table"`, or `"table"` in the default schema.
pub fn table_name(dialect: Dialect, schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(schema) => format!("{}.{}", ident(dialect, schema), ident(dialect, table)),
        None => ident(dialect, table),
    }
}

/// Cut a generated name to the identifier limit (on a character boundary).
fn limit(name: String) -> String {
    if name.len() <= MAX_IDENTIFIER {
        return name;
    }
    let mut cut = MAX_IDENTIFIER;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    name[..cut].to_string()
}

/// The name of an index: its own, or `{table}_{columns}_idx` (`expr` for an expression).
pub fn index_name(table: &Table, index: &super::Index) -> String {
    if let Some(name) = &index.name {
        return name.clone();
    }
    let parts: Vec<&str> = index
        .columns
        .iter()
        .map(|part| match part {
            IndexPart::Column(name) => name.as_str(),
            IndexPart::Expression(_) => "expr",
        })
        .collect();
    limit(format!("{}_{}_idx", table.name, parts.join("_")))
}

/// The name of the foreign key a ref makes on `from`: the ref's own name, else
/// `{table}_{columns}_fkey`.
pub fn foreign_key_name(reference: &Ref, from: &Endpoint) -> String {
    match &reference.name {
        Some(name) => name.clone(),
        None => limit(format!("{}_{}_fkey", from.table, from.columns.join("_"))),
    }
}

/// The name of the unique constraint a one-to-one ref adds: `{table}_{columns}_key`.
pub fn unique_name(from: &Endpoint) -> String {
    limit(format!("{}_{}_key", from.table, from.columns.join("_")))
}

/// The SQL spelling of a column's type.
pub fn type_sql(schema: &Schema, dialect: Dialect, data_type: &DataType) -> String {
    if let Some(item) = schema.enum_of(data_type) {
        return match dialect {
            Dialect::Postgres => table_name(dialect, item.schema.as_deref(), &item.name),
            Dialect::Mysql => {
                let values: Vec<String> = item
                    .values
                    .iter()
                    .map(|(value, _)| literal(dialect, value))
                    .collect();
                format!("ENUM ({})", values.join(", "))
            }
        };
    }
    let varchar = ["varchar", "character varying"]
        .iter()
        .any(|name| data_type.name.eq_ignore_ascii_case(name));
    if dialect == Dialect::Mysql && data_type.args.is_none() && varchar && !data_type.array {
        return "varchar(255)".to_string();
    }
    data_type.to_string()
}

/// Whether a default expression must stay bare in MySQL (`CURRENT_TIMESTAMP`, `now()`): those
/// are the only expressions MySQL 5.7-style `DEFAULT` accepts without parentheses, and the
/// form every MySQL and MariaDB version accepts for temporal columns.
fn bare_temporal(expression: &str) -> bool {
    let lower = expression.trim().to_ascii_lowercase();
    let name = lower.split('(').next().unwrap_or_default().trim();
    let args_ok = match lower.split_once('(') {
        Some((_, rest)) => rest
            .trim_end_matches(')')
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit()),
        None => true,
    };
    args_ok
        && matches!(
            name,
            "current_timestamp" | "now" | "localtimestamp" | "localtime" | "current_date" | "curdate"
        )
}

/// A value as SQL: a default or a record field.
pub fn value_sql(dialect: Dialect, value: &Value, as_default: bool) -> String {
    match value {
        Value::Number(number) => number.clone(),
        Value::String(text) => literal(dialect, text),
        Value::Bool(true) => "TRUE".to_string(),
        Value::Bool(false) => "FALSE".to_string(),
        Value::Null => "NULL".to_string(),
        Value::Expression(expression)
            if as_default && !(dialect == Dialect::Mysql && bare_temporal(expression)) =>
        {
            format!("({expression})")
        }
        Value::Expression(expression) => expression.clone(),
    }
}

/// A column's definition inside `CREATE TABLE` (or after `ADD COLUMN`). `inline_key` puts
/// `PRIMARY KEY` on the column (a single-column key).
pub fn column_sql(schema: &Schema, dialect: Dialect, column: &Column, inline_key: bool) -> String {
    let mut out = format!(
        "{} {}",
        ident(dialect, &column.name),
        type_sql(schema, dialect, &column.data_type)
    );
    if column.increment {
        out.push_str(match dialect {
            Dialect::Postgres => " GENERATED BY DEFAULT AS IDENTITY",
            Dialect::Mysql => " AUTO_INCREMENT",
        });
    }
    if column.not_null == Some(true) && !(inline_key && column.primary_key) {
        out.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        out.push_str(" DEFAULT ");
        out.push_str(&value_sql(dialect, default, true));
    }
    if column.unique && !column.primary_key {
        out.push_str(" UNIQUE");
    }
    if inline_key && column.primary_key {
        out.push_str(" PRIMARY KEY");
    }
    if dialect == Dialect::Mysql
        && let Some(note) = &column.note
    {
        out.push_str(" COMMENT ");
        out.push_str(&literal(dialect, note));
    }
    for check in &column.checks {
        out.push_str(&format!(" CHECK ({check})"));
    }
    out
}

/// `CREATE TABLE …` for one table.
pub fn create_table(schema: &Schema, dialect: Dialect, table: &Table, name: &str) -> String {
    let key = table.primary_key();
    let inline_key = key.len() == 1 && !table.indexes.iter().any(|index| index.primary_key);
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|column| format!("  {}", column_sql(schema, dialect, column, inline_key)))
        .collect();
    if !inline_key && !key.is_empty() {
        lines.push(format!("  PRIMARY KEY ({})", column_list(dialect, &key)));
    }
    for check in &table.checks {
        lines.push(match &check.name {
            Some(check_name) => format!(
                "  CONSTRAINT {} CHECK ({})",
                ident(dialect, check_name),
                check.expression
            ),
            None => format!("  CHECK ({})", check.expression),
        });
    }
    format!("CREATE TABLE {name} (\n{}\n);", lines.join(",\n"))
}

/// `"a", "b"`.
pub fn column_list(dialect: Dialect, columns: &[String]) -> String {
    columns
        .iter()
        .map(|column| ident(dialect, column))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CREATE [UNIQUE] INDEX …` for each index of a table that is not its primary key.
pub fn create_indexes(dialect: Dialect, table: &Table, name: &str) -> Vec<String> {
    table
        .indexes
        .iter()
        .filter(|index| !index.primary_key)
        .map(|index| create_index(dialect, table, index, name))
        .collect()
}

/// `CREATE [UNIQUE] INDEX …` for one index.
pub fn create_index(dialect: Dialect, table: &Table, index: &super::Index, name: &str) -> String {
    let parts: Vec<String> = index
        .columns
        .iter()
        .map(|part| match part {
            IndexPart::Column(column) => ident(dialect, column),
            IndexPart::Expression(expression) => format!("({expression})"),
        })
        .collect();
    let unique = if index.unique { "UNIQUE " } else { "" };
    let index_name = ident(dialect, &index_name(table, index));
    match (dialect, &index.method) {
        (Dialect::Postgres, Some(method)) => format!(
            "CREATE {unique}INDEX {index_name} ON {name} USING {} ({});",
            method.to_ascii_uppercase(),
            parts.join(", ")
        ),
        (Dialect::Mysql, Some(method)) => format!(
            "CREATE {unique}INDEX {index_name} ON {name} ({}) USING {};",
            parts.join(", "),
            method.to_ascii_uppercase()
        ),
        (_, None) => format!(
            "CREATE {unique}INDEX {index_name} ON {name} ({});",
            parts.join(", ")
        ),
    }
}

/// Comments on the table and its columns (PostgreSQL: `COMMENT ON`; MySQL: the table's
/// comment, its columns' are inline).
pub fn comments(dialect: Dialect, table: &Table, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(note) = &table.note {
        out.push(match dialect {
            Dialect::Postgres => format!("COMMENT ON TABLE {name} IS {};", literal(dialect, note)),
            Dialect::Mysql => format!("ALTER TABLE {name} COMMENT = {};", literal(dialect, note)),
        });
    }
    if dialect == Dialect::Postgres {
        for column in &table.columns {
            if let Some(note) = &column.note {
                out.push(format!(
                    "COMMENT ON COLUMN {name}.{} IS {};",
                    ident(dialect, &column.name),
                    literal(dialect, note)
                ));
            }
        }
    }
    out
}

/// `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY …` from `from` to `to`.
pub fn foreign_key(
    dialect: Dialect,
    reference: &Ref,
    from: &Endpoint,
    to: &Endpoint,
    namer: TableNamer,
) -> String {
    let mut out = format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        namer(from.schema.as_deref(), &from.table),
        ident(dialect, &foreign_key_name(reference, from)),
        column_list(dialect, &from.columns),
        namer(to.schema.as_deref(), &to.table),
        column_list(dialect, &to.columns)
    );
    if let Some(action) = &reference.on_delete {
        out.push_str(&format!(" ON DELETE {}", action.to_ascii_uppercase()));
    }
    if let Some(action) = &reference.on_update {
        out.push_str(&format!(" ON UPDATE {}", action.to_ascii_uppercase()));
    }
    out.push(';');
    out
}

/// The statements a ref makes: for one-to-one, a unique constraint on the referencing columns
/// (unless they are unique already) and the foreign key; for one-to-many, the foreign key.
/// Many-to-many refs make a junction table (see [`junction_table`]).
pub fn ref_statements(schema: &Schema, dialect: Dialect, reference: &Ref, namer: TableNamer) -> Vec<String> {
    let Some((from, to)) = reference.foreign_key() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if reference.relation == Relation::OneToOne
        && !schema
            .table(&from.qualified())
            .is_some_and(|table| table.is_unique(&from.columns))
    {
        out.push(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({});",
            namer(from.schema.as_deref(), &from.table),
            ident(dialect, &unique_name(from)),
            column_list(dialect, &from.columns)
        ));
    }
    out.push(foreign_key(dialect, reference, from, to, namer));
    out
}

/// The junction table of a many-to-many ref: `{left}_{right}` in the left table's schema,
/// with a column per referenced column (`{table}_{column}`, of its type), both sides as the
/// primary key, and a ref from each side to its table.
pub fn junction_table(schema: &Schema, reference: &Ref) -> Option<(Table, Vec<Ref>)> {
    if reference.relation != Relation::ManyToMany {
        return None;
    }
    let name = format!("{}_{}", reference.left.table, reference.right.table);
    let mut columns = Vec::new();
    let mut refs = Vec::new();
    for side in [&reference.left, &reference.right] {
        let table = schema.table(&side.qualified())?;
        let mut own = Vec::new();
        for column_name in &side.columns {
            let referenced = table.column(column_name)?;
            let column = Column {
                name: format!("{}_{}", side.table, column_name),
                data_type: referenced.data_type.clone(),
                primary_key: true,
                not_null: Some(true),
                unique: false,
                increment: false,
                default: None,
                note: None,
                checks: Vec::new(),
                loc: reference.loc.clone(),
            };
            own.push(column.name.clone());
            columns.push(column);
        }
        refs.push(Ref {
            name: None,
            left: Endpoint {
                schema: reference.left.schema.clone(),
                table: name.clone(),
                columns: own,
                loc: reference.loc.clone(),
            },
            relation: Relation::ManyToOne,
            right: side.clone(),
            on_delete: reference.on_delete.clone(),
            on_update: reference.on_update.clone(),
            loc: reference.loc.clone(),
        });
    }
    let table = Table {
        schema: reference.left.schema.clone(),
        name,
        alias: None,
        columns,
        indexes: Vec::new(),
        checks: Vec::new(),
        note: None,
        header_color: None,
        injections: Vec::new(),
        loc: reference.loc.clone(),
    };
    Some((table, refs))
}

/// The schema with the junction tables of its many-to-many refs added as tables and their refs
/// added as many-to-one refs (a table of that name declared already is left alone).
pub fn expand_many_to_many(schema: &Schema) -> Schema {
    let mut expanded = schema.clone();
    for reference in &schema.refs {
        if let Some((table, refs)) = junction_table(schema, reference)
            && expanded.table(&table.qualified()).is_none()
        {
            expanded.tables.push(table);
            expanded.refs.extend(refs);
        }
    }
    expanded
        .refs
        .retain(|reference| reference.relation != Relation::ManyToMany);
    expanded
}

/// The schemas to create, in order of first use (PostgreSQL's `public` exists already).
fn schemas(schema: &Schema) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let named = schema
        .enums
        .iter()
        .filter_map(|item| item.schema.as_deref())
        .chain(schema.tables.iter().filter_map(|table| table.schema.as_deref()));
    for name in named {
        if name != super::DEFAULT_SCHEMA && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `INSERT INTO … VALUES …` for each `Records` block.
fn inserts(dialect: Dialect, schema: &Schema) -> Vec<String> {
    schema
        .records
        .iter()
        .filter(|records| !records.rows.is_empty())
        .map(|records| {
            let rows: Vec<String> = records
                .rows
                .iter()
                .map(|row| {
                    let values: Vec<String> =
                        row.iter().map(|value| value_sql(dialect, value, false)).collect();
                    format!("  ({})", values.join(", "))
                })
                .collect();
            format!(
                "INSERT INTO {} ({}) VALUES\n{};",
                table_name(dialect, records.schema.as_deref(), &records.table),
                column_list(dialect, &records.columns),
                rows.join(",\n")
            )
        })
        .collect()
}

/// `CREATE TYPE … AS ENUM` for PostgreSQL.
pub fn create_enum(item: &super::Enum) -> String {
    let values: Vec<String> = item
        .values
        .iter()
        .map(|(value, _)| format!("  {}", literal(Dialect::Postgres, value)))
        .collect();
    format!(
        "CREATE TYPE {} AS ENUM (\n{}\n);",
        table_name(Dialect::Postgres, item.schema.as_deref(), &item.name),
        values.join(",\n")
    )
}

/// The whole DDL of a schema, statements separated by blank lines.
pub fn emit(schema: &Schema, dialect: Dialect) -> String {
    join(&statements(schema, dialect))
}

/// Statements separated by blank lines, with a final line break (empty for none).
pub fn join(statements: &[String]) -> String {
    if statements.is_empty() {
        return String::new();
    }
    let mut out = statements.join("\n\n");
    out.push('\n');
    out
}

/// The statements of a schema's DDL, in order.
pub fn statements(schema: &Schema, dialect: Dialect) -> Vec<String> {
    let schema = &expand_many_to_many(schema);
    let namer = |schema: Option<&str>, table: &str| table_name(dialect, schema, table);
    let mut statements = Vec::new();
    for name in schemas(schema) {
        statements.push(format!("CREATE SCHEMA IF NOT EXISTS {};", ident(dialect, name)));
    }
    if dialect == Dialect::Postgres {
        statements.extend(schema.enums.iter().map(create_enum));
    }
    for table in &schema.tables {
        statements.push(create_table(
            schema,
            dialect,
            table,
            &namer(table.schema.as_deref(), &table.name),
        ));
    }
    for table in &schema.tables {
        statements.extend(create_indexes(
            dialect,
            table,
            &namer(table.schema.as_deref(), &table.name),
        ));
    }
    for table in &schema.tables {
        statements.extend(comments(
            dialect,
            table,
            &namer(table.schema.as_deref(), &table.name),
        ));
    }
    statements.extend(inserts(dialect, schema));
    for reference in &schema.refs {
        statements.extend(ref_statements(schema, dialect, reference, &namer));
    }
    statements
}
