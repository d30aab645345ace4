//! Models bound to a DBML table (`config(dbml='dwh.fact_sales')`, also `+dbml:` in YAML or the
//! project file): the project's DBML files (`dbml-paths`, default `project/`) are parsed once,
//! when some model names a table, and each bound model gets the table's columns and types (to
//! check the built relation against), its primary key, its indexes and its foreign keys. A
//! foreign key to a table another model is bound to makes that model a parent. Pure: the
//! adapter runs the checks and the DDL.

use std::path::PathBuf;

use crate::compile::relation_settings::{ForeignKeySpec, IndexSpec};
use crate::dbml::{self, IndexPart, Schema, ddl};
use crate::error::Result;
use crate::project::Project;

/// A DBML column as the built relation must have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbmlColumn {
    /// The name.
    pub name: String,
    /// The PostgreSQL type, as the DDL would write it.
    pub data_type: String,
    /// Where the column is declared (`file:line:col`).
    pub declared_at: String,
}

/// A foreign key from a bound model's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbmlForeignKey {
    /// The key, referencing the table as DBML names it (quoted).
    pub key: ForeignKeySpec,
    /// The model bound to the referenced table, when one is: the key then references its
    /// relation.
    pub target_model: Option<String>,
}

/// What a model bound to a DBML table gets from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbmlBinding {
    /// The table as configured (`dwh.fact_sales`).
    pub table: String,
    /// Where the table is declared (`file:line:col`).
    pub declared_at: String,
    /// The columns, in order.
    pub columns: Vec<DbmlColumn>,
    /// The primary key's columns (empty when none).
    pub primary_key: Vec<String>,
    /// The indexes other than the primary key.
    pub indexes: Vec<IndexSpec>,
    /// The foreign keys.
    pub foreign_keys: Vec<DbmlForeignKey>,
}

/// The DBML schema of the project's files, or None when it has none.
pub fn load_schema(project: &Project) -> Result<Option<Schema>> {
    if project.dbml.is_empty() {
        return Ok(None);
    }
    let files: Vec<(PathBuf, std::sync::Arc<str>)> = project
        .dbml
        .iter()
        .map(|file| (PathBuf::from(&file.relative_path), file.text.clone()))
        .collect();
    dbml::parse_all(&files).map(Some)
}

/// The binding of the table `name` (`schema.table`); `model_of` names the model bound to a
/// DBML table (by its qualified name), if any. Err: what is wrong, for the model's location.
pub fn bind(
    schema: &Schema,
    name: &str,
    model_of: &dyn Fn(&str) -> Option<String>,
) -> Result<DbmlBinding, String> {
    let Some(table) = schema.table(name) else {
        let names: Vec<String> = schema.tables.iter().map(dbml::Table::qualified).collect();
        let hint = crate::error::did_you_mean(name, names.iter().map(String::as_str))
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default();
        return Err(format!(
            "`dbml: {name}` names no table of the project's DBML files{hint}"
        ));
    };
    let columns = table
        .columns
        .iter()
        .map(|column| DbmlColumn {
            name: column.name.clone(),
            data_type: ddl::type_sql(schema, ddl::Dialect::Postgres, &column.data_type),
            declared_at: column.loc.describe(),
        })
        .collect();
    let indexes = table
        .indexes
        .iter()
        .filter(|index| !index.primary_key)
        .map(|index| IndexSpec {
            columns: index
                .columns
                .iter()
                .map(|part| match part {
                    IndexPart::Column(column) => ddl::ident(ddl::Dialect::Postgres, column),
                    IndexPart::Expression(expression) => format!("({expression})"),
                })
                .collect(),
            unique: index.unique,
            method: index.method.clone(),
        })
        .chain(
            table
                .columns
                .iter()
                .filter(|column| column.unique && !column.primary_key)
                .map(|column| IndexSpec {
                    columns: vec![ddl::ident(ddl::Dialect::Postgres, &column.name)],
                    unique: true,
                    method: None,
                }),
        )
        .collect();
    let expanded = ddl::expand_many_to_many(schema);
    let foreign_keys = expanded
        .refs
        .iter()
        .filter_map(|reference| {
            let (from, to) = reference.foreign_key()?;
            (from.qualified() == table.qualified()).then(|| DbmlForeignKey {
                key: ForeignKeySpec {
                    name: ddl::foreign_key_name(reference, from),
                    columns: from.columns.clone(),
                    references: ddl::table_name(ddl::Dialect::Postgres, to.schema.as_deref(), &to.table),
                    referenced_columns: to.columns.clone(),
                    on_delete: reference
                        .on_delete
                        .as_ref()
                        .map(|action| action.to_ascii_uppercase()),
                    on_update: reference
                        .on_update
                        .as_ref()
                        .map(|action| action.to_ascii_uppercase()),
                },
                target_model: model_of(&to.qualified()),
            })
        })
        .collect();
    Ok(DbmlBinding {
        table: name.to_string(),
        declared_at: table.loc.describe(),
        columns,
        primary_key: table.primary_key(),
        indexes,
        foreign_keys,
    })
}
