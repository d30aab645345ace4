//! DBML (dbml.dbdiagram.io): a pure parser for the whole language and DDL emitters for
//! PostgreSQL and MySQL. `lexer` → `parser` (one file → [`Schema`]) → `resolve` (files merged,
//! table partials injected, aliases and refs checked) → `ddl` (CREATE statements) and `diff`
//! (ALTER statements between two versions). It must not touch a database; reading files goes
//! through `crate::fs`.
//!
//! The library API other commands use: [`load`] (files → resolved schema), [`parse`] (one text
//! → resolved schema), [`ddl::emit`] and [`diff::emit`].

pub mod ddl;
pub mod diff;
mod lexer;
mod parser;
mod resolve;
pub mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result, SourceLocation};

/// A DBML file: its path as shown to the user and its text (for error excerpts).
#[derive(Debug)]
pub struct SourceFile {
    /// The path, as shown.
    pub path: PathBuf,
    /// The whole text.
    pub text: Arc<str>,
}

/// Where something was written: file, 1-based line and column.
#[derive(Debug, Clone)]
pub struct Loc {
    /// The file.
    pub file: Arc<SourceFile>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Characters to highlight.
    pub length: usize,
}

impl Loc {
    /// The location for an error excerpt.
    pub fn source_location(&self) -> SourceLocation {
        SourceLocation::new(&self.file.path, self.line, self.column)
            .with_length(self.length)
            .with_text(self.file.text.clone())
    }

    /// `file:line:col`, for messages.
    pub fn describe(&self) -> String {
        format!("{}:{}:{}", self.file.path.display(), self.line, self.column)
    }

    /// A project error at this location.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::project_at(message, self.source_location())
    }
}

/// A whole DBML document, or several merged.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The `Project` block, when there is one (the first one when files are merged).
    pub project: Option<Project>,
    /// Tables, in the order written.
    pub tables: Vec<Table>,
    /// Enums, in the order written.
    pub enums: Vec<Enum>,
    /// Relations: `Ref` blocks and inline `ref:` settings, in the order written.
    pub refs: Vec<Ref>,
    /// `TableGroup` blocks (documentation only).
    pub table_groups: Vec<TableGroup>,
    /// Sticky notes (`Note name { '…' }`; documentation only).
    pub notes: Vec<StickyNote>,
    /// `TablePartial` blocks; injected into tables by `resolve`.
    pub partials: Vec<Table>,
    /// `Records` blocks: rows to insert.
    pub records: Vec<Records>,
}

impl Schema {
    /// The table `schema.name` (`public` when no schema is given), by name or alias.
    pub fn table(&self, qualified: &str) -> Option<&Table> {
        let (schema, name) = match qualified.split_once('.') {
            Some((schema, name)) => (schema, name),
            None => (DEFAULT_SCHEMA, qualified),
        };
        self.tables
            .iter()
            .find(|table| table.schema() == schema && table.name == name)
    }

    /// The enum named by a column type, when the type is one.
    pub fn enum_of(&self, data_type: &types::DataType) -> Option<&Enum> {
        let schema = data_type.schema.as_deref().unwrap_or(DEFAULT_SCHEMA);
        self.enums
            .iter()
            .find(|item| item.schema() == schema && item.name == data_type.name)
    }
}

/// The schema of names written without one.
pub const DEFAULT_SCHEMA: &str = "public";

/// `Project name { database_type: '…' Note: '…' }`.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its name, when given.
    pub name: Option<String>,
    /// `key: value` pairs (`database_type`, …).
    pub settings: Vec<(String, String)>,
    /// Its note.
    pub note: Option<String>,
}

/// A table (or a table partial).
#[derive(Debug, Clone)]
pub struct Table {
    /// The schema, when written.
    pub schema: Option<String>,
    /// The name.
    pub name: String,
    /// The alias (`as U`).
    pub alias: Option<String>,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Indexes in order.
    pub indexes: Vec<Index>,
    /// Table checks.
    pub checks: Vec<Check>,
    /// The table note.
    pub note: Option<String>,
    /// `headercolor` and other display settings, ignored by DDL.
    pub header_color: Option<String>,
    /// `~partial` injections in body order: (position among columns, partial name, where).
    pub injections: Vec<(usize, String, Loc)>,
    /// Where the table's name is written.
    pub loc: Loc,
}

impl Table {
    /// The schema, `public` when none is written.
    pub fn schema(&self) -> &str {
        self.schema.as_deref().unwrap_or(DEFAULT_SCHEMA)
    }

    /// `schema.name` (`name` alone in the default schema).
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// The primary key columns: a `pk` index, else the columns marked `pk`.
    pub fn primary_key(&self) -> Vec<String> {
        if let Some(index) = self.indexes.iter().find(|index| index.primary_key) {
            return index
                .columns
                .iter()
                .filter_map(|part| match part {
                    IndexPart::Column(name) => Some(name.clone()),
                    IndexPart::Expression(_) => None,
                })
                .collect();
        }
        self.columns
            .iter()
            .filter(|column| column.primary_key)
            .map(|column| column.name.clone())
            .collect()
    }

    /// Whether `columns` already are unique: the primary key, a unique column, or a unique
    /// index on exactly those columns.
    pub fn is_unique(&self, columns: &[String]) -> bool {
        let same = |other: &[String]| {
            let mut a: Vec<&String> = other.iter().collect();
            let mut b: Vec<&String> = columns.iter().collect();
            a.sort();
            b.sort();
            a == b
        };
        if same(&self.primary_key()) {
            return true;
        }
        if let [single] = columns
            && self
                .column(single)
                .is_some_and(|column| column.unique || column.primary_key)
        {
            return true;
        }
        self.indexes.iter().filter(|index| index.unique).any(|index| {
            let names: Vec<String> = index
                .columns
                .iter()
                .filter_map(|part| match part {
                    IndexPart::Column(name) => Some(name.clone()),
                    IndexPart::Expression(_) => None,
                })
                .collect();
            names.len() == index.columns.len() && same(&names)
        })
    }
}

/// A column.
#[derive(Debug, Clone)]
pub struct Column {
    /// The name.
    pub name: String,
    /// The type as written.
    pub data_type: types::DataType,
    /// `pk`.
    pub primary_key: bool,
    /// `not null` (true), `null` (false), or nothing.
    pub not_null: Option<bool>,
    /// `unique`.
    pub unique: bool,
    /// `increment`.
    pub increment: bool,
    /// `default: …`.
    pub default: Option<Value>,
    /// `note: '…'`.
    pub note: Option<String>,
    /// `check: \`…\``, possibly several.
    pub checks: Vec<String>,
    /// Where the column's name is written.
    pub loc: Loc,
}

impl Column {
    /// Whether the column may hold NULL (a primary key never does).
    pub fn nullable(&self) -> bool {
        !self.primary_key && self.not_null != Some(true)
    }
}

/// A literal value: a column default or a record's field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number as written (possibly negative).
    Number(String),
    /// A string literal.
    String(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A backtick expression.
    Expression(String),
}

/// An index.
#[derive(Debug, Clone)]
pub struct Index {
    /// Columns and expressions, in order.
    pub columns: Vec<IndexPart>,
    /// `unique`.
    pub unique: bool,
    /// `pk`: the table's primary key.
    pub primary_key: bool,
    /// `name: '…'`.
    pub name: Option<String>,
    /// `type: btree|hash|gin|…`.
    pub method: Option<String>,
    /// `note: '…'`.
    pub note: Option<String>,
    /// Where it is written.
    pub loc: Loc,
}

/// One part of an index.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexPart {
    /// A column name.
    Column(String),
    /// A backtick expression.
    Expression(String),
}

/// A table check.
#[derive(Debug, Clone)]
pub struct Check {
    /// The expression.
    pub expression: String,
    /// `name: '…'`.
    pub name: Option<String>,
    /// Where it is written.
    pub loc: Loc,
}

/// The relation of a ref, read left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `<`: one (left) to many (right).
    OneToMany,
    /// `>`: many (left) to one (right).
    ManyToOne,
    /// `-`: one to one.
    OneToOne,
    /// `<>`: many to many.
    ManyToMany,
}

impl Relation {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Relation::OneToMany => "<",
            Relation::ManyToOne => ">",
            Relation::OneToOne => "-",
            Relation::ManyToMany => "<>",
        }
    }
}

/// One side of a ref: a table and its columns.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The schema, when written (after `resolve`, the table's schema as declared).
    pub schema: Option<String>,
    /// The table (after `resolve`, its real name, never an alias).
    pub table: String,
    /// The columns (several for a composite ref).
    pub columns: Vec<String>,
    /// Where it is written.
    pub loc: Loc,
}

impl Endpoint {
    /// `schema.table` (`table` alone in the default schema).
    pub fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.table),
            None => self.table.clone(),
        }
    }
}

/// A relation between two tables.
#[derive(Debug, Clone)]
pub struct Ref {
    /// Its name, when given (used as the foreign key's name).
    pub name: Option<String>,
    /// The left side.
    pub left: Endpoint,
    /// The relation.
    pub relation: Relation,
    /// The right side.
    pub right: Endpoint,
    /// `delete: cascade|restrict|set null|set default|no action`.
    pub on_delete: Option<String>,
    /// `update: …`.
    pub on_update: Option<String>,
    /// Where it is written.
    pub loc: Loc,
}

impl Ref {
    /// The foreign key this ref makes, as (referencing side, referenced side); none for a
    /// many-to-many ref (that makes a junction table).
    pub fn foreign_key(&self) -> Option<(&Endpoint, &Endpoint)> {
        match self.relation {
            Relation::ManyToOne | Relation::OneToOne => Some((&self.left, &self.right)),
            Relation::OneToMany => Some((&self.right, &self.left)),
            Relation::ManyToMany => None,
        }
    }
}

/// An enum type.
#[derive(Debug, Clone)]
pub struct Enum {
    /// The schema, when written.
    pub schema: Option<String>,
    /// The name.
    pub name: String,
    /// Values with their notes.
    pub values: Vec<(String, Option<String>)>,
    /// Where it is written.
    pub loc: Loc,
}

impl Enum {
    /// The schema, `public` when none is written.
    pub fn schema(&self) -> &str {
        self.schema.as_deref().unwrap_or(DEFAULT_SCHEMA)
    }
}

/// `TableGroup name { tables }`.
#[derive(Debug, Clone)]
pub struct TableGroup {
    /// The name.
    pub name: String,
    /// Member tables as written (`schema.table` or `table`).
    pub tables: Vec<String>,
    /// The note.
    pub note: Option<String>,
}

/// A sticky note.
#[derive(Debug, Clone)]
pub struct StickyNote {
    /// The name.
    pub name: String,
    /// The text.
    pub text: String,
}

/// `Records table(columns) { rows }`.
#[derive(Debug, Clone)]
pub struct Records {
    /// The table's schema, when written.
    pub schema: Option<String>,
    /// The table.
    pub table: String,
    /// The columns (all the table's columns, in order, when none are listed).
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
    /// Where it is written.
    pub loc: Loc,
}

/// Parse and resolve one DBML text (refs must point into it).
pub fn parse(path: &Path, text: &str) -> Result<Schema> {
    parse_all(&[(path.to_path_buf(), Arc::from(text))])
}

/// Parse several DBML texts and resolve them as one schema (refs may cross files).
pub fn parse_all(files: &[(PathBuf, Arc<str>)]) -> Result<Schema> {
    let mut documents = Vec::with_capacity(files.len());
    for (path, text) in files {
        let file = Arc::new(SourceFile {
            path: path.clone(),
            text: text.clone(),
        });
        documents.push(parser::parse(file)?);
    }
    resolve::resolve(documents)
}

/// Read, parse and resolve DBML files as one schema.
pub fn load(paths: &[PathBuf]) -> Result<Schema> {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        files.push((path.clone(), crate::fs::read_text(path)?));
    }
    parse_all(&files)
}
