//! Extract/load settings, compile side: what a source with `loader: tmk` says about where its
//! rows come from (`connection`, `remote_schema`) and how they are copied (`watermark`,
//! `primary_key`), validated once with the YAML positions kept for later errors. It must not
//! connect anywhere: `adapter` reads and loads the rows.

use crate::error::{Error, Result, SourceLocation};
use crate::project::properties::{RawSource, RawSourceTable};
use crate::project::yaml::{Pos, SourceFile, Yaml};

use super::parse::pos_of;

/// Where a source's rows are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The target's own database (`connection: target`, or no `connection`).
    Target,
    /// A MySQL or MariaDB server (`mysql://` or `mariadb://`), as a `mysql://` URL.
    MySql(String),
    /// Another PostgreSQL database (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Connection {
    /// The connection for people: the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Connection::Target => "the target's database".to_string(),
            Connection::MySql(url) | Connection::Postgres(url) => redact_password(url),
        }
    }
}

/// `scheme://user:secret@host/..` → `scheme://user:***@host/..`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// A source table tmk copies into the target, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractSpec {
    /// Where the rows come from.
    pub connection: Connection,
    /// The MySQL database or PostgreSQL schema holding the table.
    pub remote_schema: String,
    /// The table's name there.
    pub remote_table: String,
    /// The column whose greatest loaded value is kept (None: reload whole).
    pub watermark: Option<String>,
    /// The key declared in the YAML (None: read from the source's catalog).
    pub primary_key: Option<Vec<String>>,
    /// Columns of the remote table never copied (`exclude_columns`), and dropped from a
    /// loaded table that still has them.
    pub exclude_columns: Vec<String>,
    /// The table's entry in the YAML, for errors about it.
    pub declared_at: SourceLocation,
    /// The `connection` key (or the source's name), for connection errors.
    pub connection_at: SourceLocation,
    /// The `watermark` value, for errors about the column.
    pub watermark_at: Option<SourceLocation>,
    /// The `exclude_columns` value, for errors about its columns.
    pub exclude_at: Option<SourceLocation>,
}

impl ExtractSpec {
    /// Whether the column named `column` is copied (not excluded).
    pub fn copies(&self, column: &str) -> bool {
        !self.exclude_columns.iter().any(|excluded| excluded == column)
    }
}

/// The extract settings of `table` of `source` declared in `file`; None unless the source
/// says `loader: tmk`. Extract keys on another loader's source are errors.
pub fn resolve(file: &SourceFile, source: &RawSource, table: &RawSourceTable) -> Result<Option<ExtractSpec>> {
    let is_tmk = source.loader.as_ref().is_some_and(|loader| loader.value == "tmk");
    if !is_tmk {
        let stray = [
            source
                .connection
                .as_ref()
                .map(|value| ("connection", pos_of(value))),
            source
                .remote_schema
                .as_ref()
                .map(|value| ("remote_schema", pos_of(value))),
            table.watermark.as_ref().map(|value| ("watermark", pos_of(value))),
            table
                .primary_key
                .as_ref()
                .map(|value| ("primary_key", pos_of(value))),
            table
                .exclude_columns
                .as_ref()
                .map(|value| ("exclude_columns", pos_of(value))),
        ];
        if let Some((key, pos)) = stray.into_iter().flatten().next() {
            return Err(file
                .error(
                    pos,
                    format!(
                        "`{key}` applies to sources tmk extracts, and source `{}` has no `loader: tmk`",
                        source.name.value
                    ),
                )
                .hint("add `loader: tmk` to the source to have tmk copy its tables into the target"));
        }
        return Ok(None);
    }
    let connection = match &source.connection {
        None => Connection::Target,
        Some(raw) => parse_connection(file, &render(file, raw)?, pos_of(raw))?,
    };
    let remote_schema = match &source.remote_schema {
        Some(raw) => render(file, raw)?,
        None => source.name.value.clone(),
    };
    let primary_key = table
        .primary_key
        .as_ref()
        .map(|raw| column_list(file, "primary_key", &raw.value, pos_of(raw)))
        .transpose()?;
    let exclude_columns = table
        .exclude_columns
        .as_ref()
        .map(|raw| column_list(file, "exclude_columns", &raw.value, pos_of(raw)))
        .transpose()?
        .unwrap_or_default();
    Ok(Some(ExtractSpec {
        connection,
        remote_schema,
        remote_table: table
            .identifier
            .clone()
            .unwrap_or_else(|| table.name.value.clone()),
        watermark: table.watermark.as_ref().map(|raw| raw.value.clone()),
        primary_key,
        exclude_columns,
        declared_at: file.span(pos_of(&table.name), table.name.value.chars().count()),
        connection_at: match &source.connection {
            Some(raw) => file.span(pos_of(raw), raw.value.chars().count()),
            None => file.span(pos_of(&source.name), source.name.value.chars().count()),
        },
        watermark_at: table
            .watermark
            .as_ref()
            .map(|raw| file.span(pos_of(raw), raw.value.chars().count())),
        exclude_at: table
            .exclude_columns
            .as_ref()
            .map(|raw| file.span(pos_of(raw), 1)),
    }))
}

/// Render a value that may use `env_var` (like profiles.yml).
fn render(file: &SourceFile, raw: &serde_saphyr::Spanned<String>) -> Result<String> {
    if !raw.value.contains("{{") && !raw.value.contains("{%") {
        return Ok(raw.value.trim().to_string());
    }
    super::jinja::render_standalone(&raw.value)
        .map(|text| text.trim().to_string())
        .map_err(|(message, _)| file.error(pos_of(raw), format!("cannot render `{}`: {message}", raw.value)))
}

/// `target`, `mysql://..`, `mariadb://..`, `postgres://..` or `postgresql://..`.
fn parse_connection(file: &SourceFile, text: &str, pos: Pos) -> Result<Connection> {
    Connection::parse(text).ok_or_else(|| {
        file.error(
            pos,
            format!("`connection: {}` is not a database URL", redact_password(text)),
        )
        .hint(CONNECTION_HINT)
    })
}

/// What a connection may be.
pub const CONNECTION_HINT: &str = "use mysql://user:password@host:3306, postgres://user@host:5432/db, or `target` for the target's own database";

impl Connection {
    /// `target` (or nothing), a `mysql://`/`mariadb://` or a `postgres://`/`postgresql://` URL.
    pub fn parse(text: &str) -> Option<Connection> {
        if text.is_empty() || text == "target" {
            return Some(Connection::Target);
        }
        if let Some(rest) = text
            .strip_prefix("mysql://")
            .or_else(|| text.strip_prefix("mariadb://"))
        {
            return Some(Connection::MySql(format!("mysql://{rest}")));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Some(Connection::Postgres(text.to_string()));
        }
        None
    }
}

/// The value of setting `key`: one column name or a list of them.
fn column_list(file: &SourceFile, key: &str, value: &Yaml, pos: Pos) -> Result<Vec<String>> {
    let columns: Option<Vec<String>> = match value {
        Yaml::Str(column) => Some(vec![column.clone()]),
        Yaml::Seq(items) => items
            .iter()
            .map(|(_, item)| item.as_str().map(str::to_string))
            .collect(),
        _ => None,
    };
    match columns {
        Some(columns) if !columns.is_empty() => Ok(columns),
        _ => Err(file.error(
            pos,
            format!("`{key}` must be a column name or a list of column names"),
        )),
    }
}

/// An error about an extracted table located at `location` (its YAML entry), unless it points
/// into the YAML already; a position in a statement is replaced.
pub fn error_at(location: &SourceLocation, error: Error) -> Error {
    match &error.location {
        Some(at) if at.path != std::path::Path::new(STATEMENT) => error,
        _ => error.at(location.clone()),
    }
}

/// Where database errors in statements tmk wrote are located.
const STATEMENT: &str = "<statement>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_when_a_connection_is_shown() {
        assert_eq!(
            Connection::MySql("mysql://root:s3cret@db:3306".to_string()).describe(),
            "mysql://root:***@db:3306"
        );
        assert_eq!(
            Connection::Postgres("postgres://root@db/x".to_string()).describe(),
            "postgres://root@db/x"
        );
    }
}
