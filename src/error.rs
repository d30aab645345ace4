//! The one error type of tmk: what went wrong, where (file, line, column, with the source text
//! for an excerpt), why, and an optional hint. Owns the rendering of errors for people (a miette
//! excerpt with a caret, then a separate `hint:` line) and the mapping of errors to exit codes.
//! It must not print: `console` decides where rendered errors go.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What kind of mistake an error is; decides the exit code and the heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad command-line arguments or selector.
    Usage,
    /// A project file (YAML, CSV, SQL) is malformed or invalid.
    Project,
    /// Jinja rendering or SQL compilation failed.
    Compilation,
    /// The dependency graph is invalid (cycle, missing node).
    Graph,
    /// The database could not be reached or configured.
    Connection,
    /// A statement failed in the database while running a node.
    Database,
    /// A file could not be read or written.
    Io,
    /// An embedded PostgreSQL cluster could not be set up.
    Embedded,
}

impl ErrorKind {
    /// The heading printed before the message.
    pub fn heading(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage error",
            ErrorKind::Project => "project error",
            ErrorKind::Compilation => "compilation error",
            ErrorKind::Graph => "graph error",
            ErrorKind::Connection => "connection error",
            ErrorKind::Database => "database error",
            ErrorKind::Io => "file error",
            ErrorKind::Embedded => "embedded postgres error",
        }
    }
}

/// A position in a source file, with the file's text so an excerpt can be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLocation {
    /// The file, as shown to the user (relative to the project when possible).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Length of the highlighted span in characters (at least 1).
    pub length: usize,
    /// The file's text, when known; shared because many errors point into one file.
    pub text: Option<Arc<str>>,
}

impl SourceLocation {
    /// A location without an excerpt.
    pub fn new(path: impl Into<PathBuf>, line: usize, column: usize) -> SourceLocation {
        SourceLocation {
            path: path.into(),
            line: line.max(1),
            column: column.max(1),
            length: 1,
            text: None,
        }
    }

    /// Attach the file text for an excerpt.
    pub fn with_text(mut self, text: Arc<str>) -> SourceLocation {
        self.text = Some(text);
        self
    }

    /// Highlight `length` characters from the column.
    pub fn with_length(mut self, length: usize) -> SourceLocation {
        self.length = length.max(1);
        self
    }

    /// The byte offset of line/column in `text`, clamped to the text.
    fn byte_offset(&self, text: &str) -> usize {
        let mut offset = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            if index + 1 == self.line {
                let column_bytes: usize = line
                    .chars()
                    .take(self.column.saturating_sub(1))
                    .map(char::len_utf8)
                    .sum();
                return offset + column_bytes;
            }
            offset += line.len();
        }
        text.len()
    }
}

/// The error type every layer returns.
#[derive(Debug, Clone)]
pub struct Error {
    /// What kind of mistake this is.
    pub kind: ErrorKind,
    /// One sentence; names in backticks.
    pub message: String,
    /// Where it happened, when known (boxed to keep results small).
    pub location: Option<Box<SourceLocation>>,
    /// Lines of further detail (the database's DETAIL, a cycle path, the cause).
    pub details: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// A fault that may pass when the same work runs again (the connection was lost, a
    /// serialization failure, a deadlock): idempotent steps retry it a few times.
    pub transient: bool,
}

/// The result type used throughout tmk.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            location: None,
            details: Vec::new(),
            hint: None,
            transient: false,
        }
    }

    /// Shorthand for a project error at a location.
    pub fn project_at(message: impl Into<String>, location: SourceLocation) -> Error {
        Error::new(ErrorKind::Project, message).at(location)
    }

    /// Attach the location.
    pub fn at(mut self, location: SourceLocation) -> Error {
        self.location = Some(Box::new(location));
        self
    }

    /// Attach a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Attach a hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Error {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Add a line of detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Error {
        self.details.push(detail.into());
        self
    }

    /// The process exit code for this error: 1 for failures while running nodes, 2 for
    /// everything that stops tmk before or outside the run (as dbt does).
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::Database => 1,
            _ => 2,
        }
    }

    /// A one-line form: `file:line:col: message` (for logs and JSON output).
    pub fn one_line(&self) -> String {
        match &self.location {
            Some(location) => format!(
                "{}:{}:{}: {}",
                location.path.display(),
                location.line,
                location.column,
                self.message
            ),
            None => self.message.clone(),
        }
    }

    /// Render for a person: heading and message, an excerpt with a caret when the source is
    /// known (else `--> file:line:col`), details, then `hint:`.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        let heading = format!("{}: {}", self.kind.heading(), self.message);
        match &self.location {
            Some(location) => match &location.text {
                Some(text) => out.push_str(&render_excerpt(&heading, location, text, color)),
                None => {
                    out.push_str(&heading);
                    out.push_str(&format!(
                        "\n  --> {}:{}:{}",
                        location.path.display(),
                        location.line,
                        location.column
                    ));
                }
            },
            None => out.push_str(&heading),
        }
        let mut out = out.trim_end().to_string();
        self.append_details_and_hint(&mut out, "\n  ");
        out
    }

    /// `file:line:col: message`, the details, and the hint, without an excerpt (for places that
    /// carry errors as text, like Jinja).
    pub fn summary(&self) -> String {
        let mut out = self.one_line();
        self.append_details_and_hint(&mut out, "; ");
        out
    }

    fn append_details_and_hint(&self, out: &mut String, detail_separator: &str) {
        for detail in &self.details {
            out.push_str(detail_separator);
            out.push_str(detail);
        }
        if let Some(hint) = &self.hint {
            out.push_str("\nhint: ");
            out.push_str(hint);
        }
    }
}

/// The miette report for one located error.
#[derive(Debug)]
struct Excerpt {
    heading: String,
    source: miette::NamedSource<String>,
    span: miette::SourceSpan,
    label: String,
}

impl fmt::Display for Excerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.heading)
    }
}

impl std::error::Error for Excerpt {}

impl miette::Diagnostic for Excerpt {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(miette::LabeledSpan::new(
            Some(self.label.clone()),
            self.span.offset(),
            self.span.len(),
        ))))
    }
}

fn render_excerpt(heading: &str, location: &SourceLocation, text: &str, color: bool) -> String {
    let offset = location.byte_offset(text);
    let length_bytes: usize = text[offset..]
        .chars()
        .take_while(|c| *c != '\n')
        .take(location.length)
        .map(char::len_utf8)
        .sum();
    let excerpt = Excerpt {
        heading: heading.to_string(),
        source: miette::NamedSource::new(location.path.display().to_string(), text.to_string()),
        span: (offset, length_bytes).into(),
        label: "here".to_string(),
    };
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, &excerpt).is_err() {
        return format!(
            "{heading}\n  --> {}:{}:{}",
            location.path.display(),
            location.line,
            location.column
        );
    }
    out
}

/// Suggest the closest of `candidates` to `given` (for typos), when one is close enough.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(given, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// A hint "did you mean `x`?" for the closest candidate.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(given, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// Show a path relative to `base` when it lies under it.
pub fn display_path(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}
