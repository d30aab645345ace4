//! The DBML parser: tokens of one file → an unresolved [`Schema`] (names as written, refs not
//! yet checked). Recursive descent over the grammar of dbml.dbdiagram.io: `Project`, `Table`
//! (schema, alias, settings, columns, `Note`, `indexes`, `checks`, `~partial`, `records`),
//! `TablePartial`, `Enum`, `Ref` (short, long and inline; composite; actions), `TableGroup`,
//! sticky `Note`s and `Records`. Every error names the file, line and column. It must not
//! resolve names across tables: `resolve` does.

use std::sync::Arc;

use super::lexer::{self, Tok, Token};
use super::types::DataType;
use super::{
    Check, Column, Endpoint, Enum, Index, IndexPart, Loc, Project, Records, Ref, Relation, Schema,
    SourceFile, StickyNote, Table, TableGroup, Value,
};
use crate::error::{Error, Result, SourceLocation, did_you_mean};

/// A setting inside `[...]`: its key (lower case, words joined by one blank) and value.
struct Setting {
    key: String,
    value: Option<SettingValue>,
    loc: Loc,
}

/// The value of a setting.
enum SettingValue {
    /// A string.
    Str(String),
    /// A number (possibly negative).
    Number(String),
    /// A backtick expression.
    Expr(String),
    /// One or more bare words (`set null`, `btree`, `true`).
    Words(String),
    /// A colour.
    Color(String),
    /// `ref: > table.column`.
    Ref(Relation, Endpoint),
}

impl SettingValue {
    fn describe(&self) -> &'static str {
        match self {
            SettingValue::Str(_) => "a string",
            SettingValue::Number(_) => "a number",
            SettingValue::Expr(_) => "an expression",
            SettingValue::Words(_) => "a word",
            SettingValue::Color(_) => "a colour",
            SettingValue::Ref(..) => "a relation",
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    file: Arc<SourceFile>,
}

/// Parse one file.
pub fn parse(file: Arc<SourceFile>) -> Result<Schema> {
    let tokens = lexer::tokenize(&file.text).map_err(|error| {
        Error::project_at(
            error.message,
            SourceLocation::new(&file.path, error.line, error.column).with_text(file.text.clone()),
        )
    })?;
    let mut parser = Parser {
        tokens,
        position: 0,
        file,
    };
    parser.document()
}

const TOP_LEVEL: [&str; 8] = [
    "Project",
    "Table",
    "TablePartial",
    "Enum",
    "Ref",
    "Note",
    "TableGroup",
    "Records",
];

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.position.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.position + ahead).min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.position < self.tokens.len() {
            self.position += 1;
        }
        token
    }

    fn loc(&self, token: &Token) -> Loc {
        Loc {
            file: self.file.clone(),
            line: token.line,
            column: token.column,
            length: token.length,
        }
    }

    fn error_at(&self, token: &Token, message: impl Into<String>) -> Error {
        self.loc(token).error(message)
    }

    fn unexpected(&self, token: &Token, expected: &str) -> Error {
        self.error_at(
            token,
            format!("expected {expected}, found {}", token.tok.describe()),
        )
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char) -> Result<Token> {
        if self.is_punct(c) {
            Ok(self.next())
        } else {
            Err(self.unexpected(self.peek(), &format!("`{c}`")))
        }
    }

    fn is_word(&self, token: &Token, word: &str) -> bool {
        matches!(&token.tok, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// A name: a bare word or a double-quoted name.
    fn name(&mut self, what: &str) -> Result<(String, Token)> {
        let token = self.next();
        match &token.tok {
            Tok::Word(word) => Ok((word.clone(), token)),
            Tok::Quoted(name) => Ok((name.clone(), token)),
            _ => Err(self.unexpected(&token, what)),
        }
    }

    /// `name` or `schema.name`.
    fn qualified_name(&mut self, what: &str) -> Result<(Option<String>, String, Token)> {
        let (first, token) = self.name(what)?;
        if self.is_punct('.') && !self.peek().newline_before {
            self.next();
            let (second, _) = self.name(what)?;
            Ok((Some(first), second, token))
        } else {
            Ok((None, first, token))
        }
    }

    /// A string token's text.
    fn string(&mut self, what: &str) -> Result<String> {
        let token = self.next();
        match token.tok {
            Tok::Str(text) => Ok(text),
            _ => Err(self.unexpected(&token, what)),
        }
    }

    /// The end of a line-based item: the next token starts a new line or closes the block.
    fn end_of_line(&self, what: &str) -> Result<()> {
        let token = self.peek();
        if token.newline_before || token.tok == Tok::Punct('}') {
            Ok(())
        } else {
            Err(self
                .error_at(
                    token,
                    format!(
                        "expected the end of the line after {what}, found {}",
                        token.tok.describe()
                    ),
                )
                .hint("each column, index, value and table name goes on its own line"))
        }
    }

    fn document(&mut self) -> Result<Schema> {
        let mut schema = Schema::default();
        loop {
            let token = self.peek().clone();
            let (keyword, written) = match &token.tok {
                Tok::Eof => return Ok(schema),
                Tok::Word(word) => (word.to_ascii_lowercase(), word.clone()),
                _ => {
                    return Err(self.unexpected(
                        &token,
                        "`Table`, `Ref`, `Enum`, `Project` or another DBML element",
                    ));
                }
            };
            self.next();
            match keyword.as_str() {
                "project" => {
                    let project = self.project()?;
                    schema.project.get_or_insert(project);
                }
                "table" => schema
                    .tables
                    .push(self.table(&token, &mut schema.refs, &mut schema.records)?),
                "tablepartial" => {
                    schema
                        .partials
                        .push(self.table(&token, &mut schema.refs, &mut schema.records)?)
                }
                "enum" => schema.enums.push(self.enumeration()?),
                "ref" => schema.refs.push(self.reference(&token)?),
                "note" => schema.notes.push(self.sticky_note()?),
                "tablegroup" => schema.table_groups.push(self.table_group()?),
                "records" => schema.records.push(self.records(None)?),
                _ => {
                    return Err(self
                        .error_at(&token, format!("unknown DBML element `{written}`"))
                        .hint(
                            did_you_mean(&written, TOP_LEVEL)
                                .unwrap_or_else(|| format!("elements are: {}", TOP_LEVEL.join(", "))),
                        ));
                }
            }
        }
    }

    fn project(&mut self) -> Result<Project> {
        let name = if self.is_punct('{') {
            None
        } else {
            Some(self.name("a project name")?.0)
        };
        self.expect_punct('{')?;
        let mut project = Project {
            name,
            settings: Vec::new(),
            note: None,
        };
        while !self.eat_punct('}') {
            let (key, token) = self.name("a project setting like `database_type: 'PostgreSQL'`")?;
            if key.eq_ignore_ascii_case("note") {
                project.note = Some(self.note_body()?);
                continue;
            }
            self.expect_punct(':')?;
            let value = self.next();
            let value = match value.tok {
                Tok::Str(text) | Tok::Word(text) | Tok::Quoted(text) | Tok::Number(text) => text,
                _ => return Err(self.unexpected(&value, "a value")),
            };
            let _ = token;
            project.settings.push((key, value));
        }
        Ok(project)
    }

    /// After `Note`: `: 'text'` or `{ 'text' }`.
    fn note_body(&mut self) -> Result<String> {
        if self.eat_punct(':') {
            return self.string("a note string");
        }
        self.expect_punct('{')?;
        let text = self.string("a note string")?;
        self.expect_punct('}')?;
        Ok(text)
    }

    fn sticky_note(&mut self) -> Result<StickyNote> {
        let (name, _) = self.name("a note name")?;
        self.expect_punct('{')?;
        let text = self.string("a note string")?;
        self.expect_punct('}')?;
        Ok(StickyNote { name, text })
    }

    fn table(&mut self, keyword: &Token, refs: &mut Vec<Ref>, records: &mut Vec<Records>) -> Result<Table> {
        let (schema, name, name_token) = self.qualified_name("a table name")?;
        let alias = if self.is_word(&self.peek().clone(), "as") {
            self.next();
            Some(self.name("an alias")?.0)
        } else {
            None
        };
        let mut table = Table {
            schema,
            name,
            alias,
            columns: Vec::new(),
            indexes: Vec::new(),
            checks: Vec::new(),
            note: None,
            header_color: None,
            injections: Vec::new(),
            loc: self.loc(&name_token),
        };
        let _ = keyword;
        if self.is_punct('[') {
            for setting in self.settings()? {
                match setting.key.as_str() {
                    "headercolor" => table.header_color = Some(self.text_value(&setting)?),
                    "note" => table.note = Some(self.text_value(&setting)?),
                    _ => return Err(self.unknown_setting(&setting, &["headercolor", "note"])),
                }
            }
        }
        self.expect_punct('{')?;
        loop {
            let token = self.peek().clone();
            if self.eat_punct('}') {
                return Ok(table);
            }
            if token.tok == Tok::Eof {
                return Err(self.unexpected(&token, "`}` closing the table"));
            }
            let after = self.peek_at(1).tok.clone();
            let block_opens = after == Tok::Punct('{');
            if self.is_word(&token, "note") && (after == Tok::Punct(':') || block_opens) {
                self.next();
                table.note = Some(self.note_body()?);
            } else if self.is_word(&token, "indexes") && block_opens {
                self.next();
                self.indexes(&mut table)?;
            } else if self.is_word(&token, "checks") && block_opens {
                self.next();
                self.checks(&mut table)?;
            } else if self.is_word(&token, "records") && (block_opens || after == Tok::Punct('(')) {
                self.next();
                records.push(self.records(Some(&table))?);
            } else if self.eat_punct('~') {
                let (partial, partial_token) = self.name("a table partial's name")?;
                let loc = self.loc(&partial_token);
                table.injections.push((table.columns.len(), partial, loc));
                self.end_of_line("a partial")?;
            } else {
                let column = self.column(&table, refs)?;
                table.columns.push(column);
            }
        }
    }

    fn column(&mut self, table: &Table, refs: &mut Vec<Ref>) -> Result<Column> {
        let (name, name_token) = self.name("a column name")?;
        if self.peek().newline_before || self.is_punct('}') {
            return Err(self
                .error_at(&name_token, format!("column `{name}` has no type"))
                .hint("write the type after the name, e.g. `id integer [pk]`"));
        }
        let data_type = self.data_type()?;
        let loc = self.loc(&name_token);
        let mut column = Column {
            name: name.clone(),
            data_type,
            primary_key: false,
            not_null: None,
            unique: false,
            increment: false,
            default: None,
            note: None,
            checks: Vec::new(),
            loc: loc.clone(),
        };
        if self.is_punct('[') && !self.peek().newline_before {
            for setting in self.settings()? {
                match (setting.key.as_str(), setting.value) {
                    ("pk" | "primary key", None) => column.primary_key = true,
                    ("not null", None) => column.not_null = Some(true),
                    ("null", None) => column.not_null = Some(false),
                    ("unique", None) => column.unique = true,
                    ("increment", None) => column.increment = true,
                    ("default", Some(value)) => {
                        column.default = Some(match value {
                            SettingValue::Str(text) => Value::String(text),
                            SettingValue::Number(number) => Value::Number(number),
                            SettingValue::Expr(expression) => Value::Expression(expression),
                            SettingValue::Words(word) if word.eq_ignore_ascii_case("true") => {
                                Value::Bool(true)
                            }
                            SettingValue::Words(word) if word.eq_ignore_ascii_case("false") => {
                                Value::Bool(false)
                            }
                            SettingValue::Words(word) if word.eq_ignore_ascii_case("null") => Value::Null,
                            other => {
                                return Err(setting
                                    .loc
                                    .error(format!("`default` cannot be {}", other.describe()))
                                    .hint("use a number, a 'string', true, false, null or a `backtick expression`"));
                            }
                        })
                    }
                    ("note", Some(SettingValue::Str(text))) => column.note = Some(text),
                    ("check", Some(SettingValue::Expr(expression))) => column.checks.push(expression),
                    ("ref", Some(SettingValue::Ref(relation, right))) => refs.push(Ref {
                        name: None,
                        left: Endpoint {
                            schema: table.schema.clone(),
                            table: table.name.clone(),
                            columns: vec![name.clone()],
                            loc: loc.clone(),
                        },
                        relation,
                        right,
                        on_delete: None,
                        on_update: None,
                        loc: setting.loc.clone(),
                    }),
                    (
                        key @ ("pk" | "primary key" | "not null" | "null" | "unique" | "increment"),
                        Some(_),
                    ) => {
                        return Err(setting
                            .loc
                            .error(format!("column setting `{key}` takes no value")));
                    }
                    (key @ ("default" | "note" | "check" | "ref"), value) => {
                        let expected = match key {
                            "note" => "a 'string'",
                            "check" => "a `backtick expression`",
                            "ref" => "a relation like `> table.column`",
                            _ => "a value",
                        };
                        let found = value.map_or("nothing", |value| value.describe());
                        return Err(setting
                            .loc
                            .error(format!("column setting `{key}` needs {expected}, found {found}")));
                    }
                    (key, _) => {
                        return Err(unknown_setting(
                            key,
                            &setting.loc,
                            &[
                                "pk",
                                "primary key",
                                "not null",
                                "null",
                                "unique",
                                "increment",
                                "default",
                                "note",
                                "check",
                                "ref",
                            ],
                        ));
                    }
                }
            }
        }
        self.end_of_line(&format!("column `{name}`"))?;
        Ok(column)
    }

    /// `type`, `schema.type`, `type(args)`, `type[]`, `"multi word type"`.
    fn data_type(&mut self) -> Result<DataType> {
        let (first, _) = self.name("a column type")?;
        let (schema, name) = if self.is_punct('.') {
            self.next();
            (Some(first), self.name("a type name")?.0)
        } else {
            (None, first)
        };
        let mut args = None;
        if self.is_punct('(') {
            let open = self.next();
            let mut text = String::new();
            loop {
                let token = self.next();
                match token.tok {
                    Tok::Punct(')') => break,
                    Tok::Number(number) | Tok::Word(number) => text.push_str(&number),
                    Tok::Str(value) => {
                        text.push('\'');
                        text.push_str(&value.replace('\'', "''"));
                        text.push('\'');
                    }
                    Tok::Punct(c @ (',' | '-')) => text.push(c),
                    Tok::Eof => return Err(self.unexpected(&open, "`)` closing the type's arguments")),
                    _ => return Err(self.unexpected(&token, "a type argument")),
                }
            }
            args = Some(text);
        }
        let mut array = false;
        while self.is_punct('[') && self.peek_at(1).tok == Tok::Punct(']') {
            self.next();
            self.next();
            array = true;
        }
        Ok(DataType {
            schema,
            name,
            args,
            array,
        })
    }

    /// `[key, key: value, …]`.
    fn settings(&mut self) -> Result<Vec<Setting>> {
        self.expect_punct('[')?;
        let mut settings = Vec::new();
        loop {
            let first = self.peek().clone();
            let mut words = Vec::new();
            while let Tok::Word(word) = &self.peek().tok {
                words.push(word.to_ascii_lowercase());
                self.next();
            }
            if words.is_empty() {
                return Err(self.unexpected(&first, "a setting name"));
            }
            let key = words.join(" ");
            let loc = Loc {
                length: key.chars().count(),
                ..self.loc(&first)
            };
            let value = if self.eat_punct(':') {
                Some(self.setting_value(&key)?)
            } else {
                None
            };
            settings.push(Setting { key, value, loc });
            if self.eat_punct(']') {
                return Ok(settings);
            }
            if !self.eat_punct(',') {
                return Err(self.unexpected(self.peek(), "`,` or `]`"));
            }
        }
    }

    /// `<`, `>`, `-` or `<>`.
    fn relation_operator(&mut self) -> Result<Relation> {
        let op = self.next();
        match op.tok {
            Tok::Punct('<') => Ok(Relation::OneToMany),
            Tok::Punct('>') => Ok(Relation::ManyToOne),
            Tok::Punct('-') => Ok(Relation::OneToOne),
            Tok::ManyToMany => Ok(Relation::ManyToMany),
            _ => Err(self.unexpected(&op, "a relation `<`, `>`, `-` or `<>`")),
        }
    }

    /// After a `-`: the number it negates.
    fn negative_number(&mut self, minus: &Token) -> Result<String> {
        match self.next().tok {
            Tok::Number(number) => Ok(format!("-{number}")),
            _ => Err(self.unexpected(minus, "a value")),
        }
    }

    fn setting_value(&mut self, key: &str) -> Result<SettingValue> {
        if key == "ref" {
            let relation = self.relation_operator()?;
            let endpoint = self.endpoint()?;
            if endpoint.columns.len() != 1 {
                return Err(endpoint.loc.error("an inline ref names exactly one column"));
            }
            return Ok(SettingValue::Ref(relation, endpoint));
        }
        let token = self.next();
        Ok(match token.tok {
            Tok::Str(text) => SettingValue::Str(text),
            Tok::Number(number) => SettingValue::Number(number),
            Tok::Expr(expression) => SettingValue::Expr(expression),
            Tok::Color(color) => SettingValue::Color(color),
            Tok::Punct('-') => SettingValue::Number(self.negative_number(&token)?),
            Tok::Word(word) => {
                let mut words = vec![word];
                while let Tok::Word(word) = &self.peek().tok {
                    words.push(word.clone());
                    self.next();
                }
                SettingValue::Words(words.join(" "))
            }
            _ => return Err(self.unexpected(&token, "a value")),
        })
    }

    /// A setting's text: a string, words or a colour.
    fn text_value(&self, setting: &Setting) -> Result<String> {
        match &setting.value {
            Some(SettingValue::Str(text) | SettingValue::Words(text) | SettingValue::Color(text)) => {
                Ok(text.clone())
            }
            _ => Err(setting
                .loc
                .error(format!("setting `{}` needs a value", setting.key))),
        }
    }

    fn unknown_setting(&self, setting: &Setting, known: &[&str]) -> Error {
        unknown_setting(&setting.key, &setting.loc, known)
    }

    /// After `(`: `a, b)`.
    fn column_names(&mut self) -> Result<Vec<String>> {
        let mut columns = Vec::new();
        loop {
            columns.push(self.name("a column name")?.0);
            if self.eat_punct(')') {
                return Ok(columns);
            }
            self.expect_punct(',')?;
        }
    }

    /// `table.column`, `schema.table.column`, `table.(a, b)`, `schema.table.(a, b)`.
    fn endpoint(&mut self) -> Result<Endpoint> {
        let start = self.peek().clone();
        let mut parts = vec![self.name("a table name")?.0];
        let mut columns = Vec::new();
        while self.eat_punct('.') {
            if self.eat_punct('(') {
                columns = self.column_names()?;
                break;
            }
            parts.push(self.name("a name")?.0);
        }
        if columns.is_empty() {
            if parts.len() < 2 {
                return Err(self
                    .error_at(&start, format!("`{}` names no column", parts.join(".")))
                    .hint("a ref endpoint is `table.column`, `schema.table.column` or `table.(a, b)`"));
            }
            columns.push(parts.pop().unwrap_or_default());
        }
        let (schema, table) = match parts.as_slice() {
            [table] => (None, table.clone()),
            [schema, table] => (Some(schema.clone()), table.clone()),
            _ => {
                return Err(self
                    .error_at(&start, format!("`{}` has too many parts", parts.join(".")))
                    .hint("a ref endpoint is `table.column`, `schema.table.column` or `table.(a, b)`"));
            }
        };
        let length = self.tokens[self.position - 1].column.saturating_sub(start.column) + 1;
        Ok(Endpoint {
            schema,
            table,
            columns,
            loc: Loc {
                length: if self.tokens[self.position - 1].line == start.line {
                    length
                } else {
                    start.length
                },
                ..self.loc(&start)
            },
        })
    }

    /// After `Ref`: `[name] : rel` or `[name] { rel }`.
    fn reference(&mut self, keyword: &Token) -> Result<Ref> {
        let name = match self.peek().tok {
            Tok::Word(_) | Tok::Quoted(_) => Some(self.name("a ref name")?.0),
            _ => None,
        };
        let mut reference = if self.eat_punct(':') {
            self.relation(keyword, name)?
        } else {
            self.expect_punct('{')
                .map_err(|error| error.hint("write `Ref: a.id < b.a_id` or `Ref name { … }`"))?;
            let reference = self.relation(keyword, name)?;
            self.expect_punct('}')?;
            reference
        };
        reference.loc = self.loc(keyword);
        Ok(reference)
    }

    fn relation(&mut self, keyword: &Token, name: Option<String>) -> Result<Ref> {
        let left = self.endpoint()?;
        let relation = self.relation_operator()?;
        let right = self.endpoint()?;
        if left.columns.len() != right.columns.len() {
            return Err(right.loc.error(format!(
                "this ref relates {} column(s) to {}",
                left.columns.len(),
                right.columns.len()
            )));
        }
        let mut reference = Ref {
            name,
            left,
            relation,
            right,
            on_delete: None,
            on_update: None,
            loc: self.loc(keyword),
        };
        if self.is_punct('[') && !self.peek().newline_before {
            for setting in self.settings()? {
                match setting.key.as_str() {
                    "delete" => reference.on_delete = Some(self.action(&setting)?),
                    "update" => reference.on_update = Some(self.action(&setting)?),
                    "color" => {}
                    _ => return Err(self.unknown_setting(&setting, &["delete", "update", "color"])),
                }
            }
        }
        Ok(reference)
    }

    fn action(&self, setting: &Setting) -> Result<String> {
        const ACTIONS: [&str; 5] = ["cascade", "restrict", "set null", "set default", "no action"];
        let text = self.text_value(setting)?.to_ascii_lowercase();
        if ACTIONS.contains(&text.as_str()) {
            Ok(text)
        } else {
            Err(setting
                .loc
                .error(format!("`{text}` is not a referential action"))
                .hint(format!("use one of: {}", ACTIONS.join(", "))))
        }
    }

    fn indexes(&mut self, table: &mut Table) -> Result<()> {
        self.expect_punct('{')?;
        while !self.eat_punct('}') {
            let start = self.peek().clone();
            let mut columns = Vec::new();
            if self.eat_punct('(') {
                loop {
                    columns.push(self.index_part()?);
                    if self.eat_punct(')') {
                        break;
                    }
                    self.expect_punct(',')?;
                }
            } else {
                columns.push(self.index_part()?);
            }
            let mut index = Index {
                columns,
                unique: false,
                primary_key: false,
                name: None,
                method: None,
                note: None,
                loc: self.loc(&start),
            };
            if self.is_punct('[') && !self.peek().newline_before {
                for setting in self.settings()? {
                    match (setting.key.as_str(), &setting.value) {
                        ("unique", None) => index.unique = true,
                        ("pk", None) => index.primary_key = true,
                        ("name", Some(_)) => index.name = Some(self.text_value(&setting)?),
                        ("type", Some(_)) => {
                            index.method = Some(self.text_value(&setting)?.to_ascii_lowercase())
                        }
                        ("note", Some(_)) => index.note = Some(self.text_value(&setting)?),
                        _ => {
                            return Err(
                                self.unknown_setting(&setting, &["unique", "pk", "name", "type", "note"])
                            );
                        }
                    }
                }
            }
            self.end_of_line("an index")?;
            table.indexes.push(index);
        }
        Ok(())
    }

    fn index_part(&mut self) -> Result<IndexPart> {
        let token = self.next();
        match token.tok {
            Tok::Word(name) | Tok::Quoted(name) => Ok(IndexPart::Column(name)),
            Tok::Expr(expression) => Ok(IndexPart::Expression(expression)),
            _ => Err(self.unexpected(&token, "a column name or a `backtick expression`")),
        }
    }

    fn checks(&mut self, table: &mut Table) -> Result<()> {
        self.expect_punct('{')?;
        while !self.eat_punct('}') {
            let token = self.next();
            let Tok::Expr(expression) = token.tok.clone() else {
                return Err(self.unexpected(&token, "a check `backtick expression`"));
            };
            let mut check = Check {
                expression,
                name: None,
                loc: self.loc(&token),
            };
            if self.is_punct('[') && !self.peek().newline_before {
                for setting in self.settings()? {
                    match setting.key.as_str() {
                        "name" => check.name = Some(self.text_value(&setting)?),
                        _ => return Err(self.unknown_setting(&setting, &["name"])),
                    }
                }
            }
            self.end_of_line("a check")?;
            table.checks.push(check);
        }
        Ok(())
    }

    fn enumeration(&mut self) -> Result<Enum> {
        let (schema, name, token) = self.qualified_name("an enum name")?;
        self.expect_punct('{')?;
        let mut values = Vec::new();
        while !self.eat_punct('}') {
            let (value, _) = self.name("an enum value")?;
            let mut note = None;
            if self.is_punct('[') && !self.peek().newline_before {
                for setting in self.settings()? {
                    match setting.key.as_str() {
                        "note" => note = Some(self.text_value(&setting)?),
                        _ => return Err(self.unknown_setting(&setting, &["note"])),
                    }
                }
            }
            self.end_of_line("an enum value")?;
            values.push((value, note));
        }
        if values.is_empty() {
            return Err(self.error_at(&token, format!("enum `{name}` has no values")));
        }
        Ok(Enum {
            schema,
            name,
            values,
            loc: self.loc(&token),
        })
    }

    fn table_group(&mut self) -> Result<TableGroup> {
        let (name, _) = self.name("a table group name")?;
        let mut group = TableGroup {
            name,
            tables: Vec::new(),
            note: None,
        };
        if self.is_punct('[') {
            for setting in self.settings()? {
                match setting.key.as_str() {
                    "note" => group.note = Some(self.text_value(&setting)?),
                    "color" => {}
                    _ => return Err(self.unknown_setting(&setting, &["color", "note"])),
                }
            }
        }
        self.expect_punct('{')?;
        while !self.eat_punct('}') {
            let token = self.peek().clone();
            if self.is_word(&token, "note") && matches!(self.peek_at(1).tok, Tok::Punct(':' | '{')) {
                self.next();
                group.note = Some(self.note_body()?);
                continue;
            }
            let (schema, table, _) = self.qualified_name("a table name")?;
            self.end_of_line("a table name")?;
            group.tables.push(match schema {
                Some(schema) => format!("{schema}.{table}"),
                None => table,
            });
        }
        Ok(group)
    }

    /// `Records table(columns) { rows }`, or inside a table `records (columns) { rows }`.
    fn records(&mut self, table: Option<&Table>) -> Result<Records> {
        let start = self.peek().clone();
        let (schema, name) = match table {
            Some(table) => (table.schema.clone(), table.name.clone()),
            None => {
                let (schema, name, _) = self.qualified_name("a table name")?;
                (schema, name)
            }
        };
        let columns = if self.eat_punct('(') {
            self.column_names()?
        } else {
            Vec::new()
        };
        self.expect_punct('{')?;
        let mut rows = Vec::new();
        while !self.eat_punct('}') {
            let mut row = vec![self.record_value()?];
            while self.eat_punct(',') {
                row.push(self.record_value()?);
            }
            self.end_of_line("a record")?;
            rows.push(row);
        }
        Ok(Records {
            schema,
            table: name,
            columns,
            rows,
            loc: self.loc(&start),
        })
    }

    fn record_value(&mut self) -> Result<Value> {
        let token = self.next();
        Ok(match token.tok {
            Tok::Str(text) => Value::String(text),
            Tok::Number(number) => Value::Number(number),
            Tok::Expr(expression) => Value::Expression(expression),
            Tok::Punct('-') => Value::Number(self.negative_number(&token)?),
            Tok::Word(word) if word.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(word) if word.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(word) if word.eq_ignore_ascii_case("null") => Value::Null,
            _ => {
                return Err(self.unexpected(
                    &token,
                    "a value (number, 'string', true, false, null or `expression`)",
                ));
            }
        })
    }
}

/// An error for a setting that is not known here, with the closest known one as a hint.
fn unknown_setting(key: &str, loc: &Loc, known: &[&str]) -> Error {
    loc.error(format!("unknown setting `{key}`")).hint(
        did_you_mean(key, known.iter().copied())
            .unwrap_or_else(|| format!("settings here are: {}", known.join(", "))),
    )
}
