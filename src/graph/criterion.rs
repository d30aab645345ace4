//! One selector term, `[@][N+]method:value[+N]`: its syntax tree, its parser
//! and its canonical text.
//!
//! This file owns dbt's term grammar and every syntax error it can raise, with
//! the column of the offending character. It must not look at nodes or at the
//! graph: matching a term against a node lives in `matching.rs`, and combining
//! terms into a selection lives in `selector.rs`.

use std::fmt;

use super::selector::SelectorError;

/// How many generations a `+` operator reaches; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Depth(pub(super) Option<usize>);

/// Which kind of test `test_type:` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TestKind {
    /// `generic` (or the old `schema`): tests generated from a generic test in YAML.
    Generic,
    /// `singular`: a SQL file under `tests/`.
    Singular,
    /// The old `data`: generic and singular tests alike, as dbt 1.11 reads it.
    Data,
    /// `unit`: unit tests, which tmk's node list never holds.
    Unit,
}

/// The glob parts of a `source:` value; parts left out are `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SourcePattern {
    /// Glob on the package that defines the source.
    pub(super) package: String,
    /// Glob on the source's name (`sources: - name:`).
    pub(super) source: String,
    /// Glob on the table's name.
    pub(super) table: String,
}

/// What `state:` asks of a node compared with the artifacts given with `--state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StateSelector {
    /// `new`: not in the earlier manifest.
    New,
    /// `old`: in the earlier manifest.
    Old,
    /// `modified`: new, or any part below changed; `modified.<part>`: that part changed.
    Modified(Option<ModifiedPart>),
    /// `unmodified`: in the earlier manifest and no part changed.
    Unmodified,
}

/// A part of a node `state:modified.<part>` compares, as dbt does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModifiedPart {
    /// `body`: the file's checksum (a model's SQL, a seed's CSV, a test's definition).
    Body,
    /// `configs`: the config as manifest.json shows it.
    Configs,
    /// `relation`: the database, schema or alias the project configures.
    Relation,
    /// `persisted_descriptions`: descriptions persisted to the database (tmk persists none).
    PersistedDescriptions,
    /// `contract`: the model's contract.
    Contract,
    /// `macros`: a macro the node calls, directly or through other macros.
    Macros,
}

impl ModifiedPart {
    /// Every part, in dbt's order.
    pub const ALL: [ModifiedPart; 6] = [
        ModifiedPart::Body,
        ModifiedPart::Configs,
        ModifiedPart::Relation,
        ModifiedPart::PersistedDescriptions,
        ModifiedPart::Contract,
        ModifiedPart::Macros,
    ];

    /// The part's name after `modified.`.
    pub fn name(self) -> &'static str {
        match self {
            ModifiedPart::Body => "body",
            ModifiedPart::Configs => "configs",
            ModifiedPart::Relation => "relation",
            ModifiedPart::PersistedDescriptions => "persisted_descriptions",
            ModifiedPart::Contract => "contract",
            ModifiedPart::Macros => "macros",
        }
    }
}

/// The values of `state:`.
const STATE_VALUES: [&str; 10] = [
    "new",
    "old",
    "modified",
    "unmodified",
    "modified.body",
    "modified.configs",
    "modified.relation",
    "modified.persisted_descriptions",
    "modified.contract",
    "modified.macros",
];

/// The statuses `result:` can ask for, as run_results.json writes them.
const RESULT_STATUSES: [&str; 7] = ["success", "error", "skipped", "pass", "fail", "warn", "no-op"];

/// What a term matches on, its value already interpreted where that can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Method {
    /// `fqn:`, and bare values without `/` or a file extension.
    Fqn,
    /// `tag:`.
    Tag,
    /// `path:`, and bare values containing `/`.
    Path,
    /// `file:`, and bare values ending in `.sql`, `.py` or `.csv`.
    File,
    /// `package:`.
    Package,
    /// `config.<key>[.<key>...]:`, holding the key path.
    Config(Vec<String>),
    /// `resource_type:`, its value checked against dbt's resource types.
    ResourceType,
    /// `source:`.
    Source(SourcePattern),
    /// `test_type:`.
    TestType(TestKind),
    /// `test_name:`.
    TestName,
    /// `group:`, read from the node's `group` config.
    Group,
    /// `access:`, read from a model's `access` config.
    Access,
    /// `state:`, against the artifacts given with `--state`.
    State(StateSelector),
    /// `result:`, the node's status in the `--state` directory's run_results.json.
    Result,
    /// A kind of node tmk never has (`exposure:`, `metric:`, ...): matches nothing.
    Absent,
}

/// One parsed term of a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Criterion {
    /// A leading `@`: the matches, their descendants and all their ancestors.
    pub(super) childrens_parents: bool,
    /// A leading `N+`.
    pub(super) parents: Option<Depth>,
    /// A trailing `+N`.
    pub(super) children: Option<Depth>,
    /// The method as canonical text (`tag`, `config.materialized`), also for bare values.
    pub(super) method_text: String,
    /// The method, interpreted.
    pub(super) method: Method,
    /// The value after the `:` (or the bare value), as written.
    pub(super) value: String,
}

impl Criterion {
    /// Parse `term`, which starts at char `offset` of `argument`.
    /// `with_state`: whether `--state` was given (`state:` and `result:` need it).
    pub(super) fn parse(
        argument: &str,
        term: &str,
        offset: usize,
        with_state: bool,
    ) -> Result<Criterion, SelectorError> {
        TermParser {
            argument,
            term,
            chars: term.chars().collect(),
            offset,
            with_state,
        }
        .parse()
    }

    /// The term dbt selects with when `--select` is not given: `fqn:*`,
    /// every node except sources.
    pub(super) fn every_node_but_sources() -> Criterion {
        Criterion {
            childrens_parents: false,
            parents: None,
            children: None,
            method_text: Keyword::Fqn.name().to_string(),
            method: Method::Fqn,
            value: "*".to_string(),
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.childrens_parents {
            formatter.write_str("@")?;
        }
        if let Some(Depth(depth)) = self.parents {
            write_depth(formatter, depth)?;
            formatter.write_str("+")?;
        }
        write!(formatter, "{}:{}", self.method_text, self.value)?;
        if let Some(Depth(depth)) = self.children {
            formatter.write_str("+")?;
            write_depth(formatter, depth)?;
        }
        Ok(())
    }
}

/// Write a depth limit, or nothing for an unlimited one.
fn write_depth(formatter: &mut fmt::Formatter<'_>, depth: Option<usize>) -> fmt::Result {
    match depth {
        Some(generations) => write!(formatter, "{generations}"),
        None => Ok(()),
    }
}

/// Every method name dbt knows that tmk evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Fqn,
    Tag,
    Path,
    File,
    Package,
    Config,
    ResourceType,
    Source,
    TestType,
    TestName,
    Group,
    Access,
    Exposure,
    Metric,
    SemanticModel,
    SavedQuery,
    UnitTest,
    State,
    Result,
}

impl Keyword {
    const ALL: [Keyword; 19] = [
        Keyword::Fqn,
        Keyword::Tag,
        Keyword::Path,
        Keyword::File,
        Keyword::Package,
        Keyword::Config,
        Keyword::ResourceType,
        Keyword::Source,
        Keyword::TestType,
        Keyword::TestName,
        Keyword::Group,
        Keyword::Access,
        Keyword::Exposure,
        Keyword::Metric,
        Keyword::SemanticModel,
        Keyword::SavedQuery,
        Keyword::UnitTest,
        Keyword::State,
        Keyword::Result,
    ];

    fn name(self) -> &'static str {
        match self {
            Keyword::Fqn => "fqn",
            Keyword::Tag => "tag",
            Keyword::Path => "path",
            Keyword::File => "file",
            Keyword::Package => "package",
            Keyword::Config => "config",
            Keyword::ResourceType => "resource_type",
            Keyword::Source => "source",
            Keyword::TestType => "test_type",
            Keyword::TestName => "test_name",
            Keyword::Group => "group",
            Keyword::Access => "access",
            Keyword::Exposure => "exposure",
            Keyword::Metric => "metric",
            Keyword::SemanticModel => "semantic_model",
            Keyword::SavedQuery => "saved_query",
            Keyword::UnitTest => "unit_test",
            Keyword::State => "state",
            Keyword::Result => "result",
        }
    }

    fn from_name(name: &str) -> Option<Keyword> {
        Keyword::ALL.into_iter().find(|keyword| keyword.name() == name)
    }
}

/// dbt methods that compare against artifacts of an earlier run, given with `--state`.
const STATE_METHODS: [&str; 3] = ["state", "result", "source_status"];

/// The one of them tmk does not have: it compares sources.json files.
const SOURCE_STATUS_METHOD: &str = "source_status";

/// dbt's method for model versions, which tmk does not have.
const VERSION_METHOD: &str = "version";

/// dbt's resource types, the valid values of `resource_type:`.
const RESOURCE_TYPES: [&str; 19] = [
    "model",
    "analysis",
    "test",
    "snapshot",
    "operation",
    "seed",
    "rpc",
    "sql_operation",
    "doc",
    "source",
    "macro",
    "exposure",
    "metric",
    "group",
    "saved_query",
    "semantic_model",
    "unit_test",
    "fixture",
    "function",
];

/// Every method name dbt accepts, for hints.
fn all_method_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Keyword::ALL.iter().map(|k| k.name()).collect();
    names.push(SOURCE_STATUS_METHOD);
    names.push(VERSION_METHOD);
    names
}

/// A method written before the `:`, checked but not yet given its value.
struct MethodSpec {
    keyword: Keyword,
    config_keys: Vec<String>,
}

impl MethodSpec {
    fn text(&self) -> String {
        std::iter::once(self.keyword.name().to_string())
            .chain(self.config_keys.iter().cloned())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Parses one term; indices are char positions in the term.
struct TermParser<'a> {
    argument: &'a str,
    term: &'a str,
    chars: Vec<char>,
    offset: usize,
    with_state: bool,
}

impl TermParser<'_> {
    fn parse(&self) -> Result<Criterion, SelectorError> {
        let childrens_parents = self.chars.first() == Some(&'@');
        let (parents, body_start) = self.leading_operator(usize::from(childrens_parents))?;
        let (children, body_end) = self.trailing_operator(body_start)?;
        if childrens_parents {
            self.check_at_stands_alone(parents, children, body_end)?;
        }
        let (spec, value_start) = self.method_spec(body_start, body_end)?;
        let value = self.value(value_start, body_end, spec.as_ref())?;
        let (method_text, method) = match spec {
            Some(spec) => (spec.text(), self.interpret(spec, &value, value_start)?),
            None => default_method(&value),
        };
        Ok(Criterion {
            childrens_parents,
            parents,
            children,
            method_text,
            method,
            value,
        })
    }

    fn error(&self, index: usize, message: String, hint: Option<String>) -> SelectorError {
        SelectorError {
            argument: self.argument.to_string(),
            column: self.offset + index + 1,
            message,
            hint,
        }
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars[start..end].iter().collect()
    }

    fn digits_end(&self, start: usize) -> usize {
        let count = self.chars[start..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        start + count
    }

    /// `[N]+` at `start`: the depth and where the rest of the term begins.
    fn leading_operator(&self, start: usize) -> Result<(Option<Depth>, usize), SelectorError> {
        let digits_end = self.digits_end(start);
        if self.chars.get(digits_end) != Some(&'+') {
            return Ok((None, start));
        }
        let depth = self.depth(start, digits_end)?;
        let after = digits_end + 1;
        if self.chars.get(after) == Some(&'+') {
            return Err(self.error(
                after,
                format!(
                    "unexpected `+` in `{}`: a term takes at most one leading `+`",
                    self.term
                ),
                Some("write `+m` for all ancestors or `N+m` for N generations".to_string()),
            ));
        }
        Ok((Some(depth), after))
    }

    /// `+[N]` at the end of the term, not before `start`: the depth and where
    /// the value ends.
    fn trailing_operator(&self, start: usize) -> Result<(Option<Depth>, usize), SelectorError> {
        let end = self.chars.len();
        let mut digits_start = end;
        while digits_start > start && self.chars[digits_start - 1].is_ascii_digit() {
            digits_start -= 1;
        }
        if digits_start == start || self.chars[digits_start - 1] != '+' {
            return Ok((None, end));
        }
        let plus = digits_start - 1;
        let depth = self.depth(digits_start, end)?;
        if plus > start && self.chars[plus - 1] == '+' {
            return Err(self.error(
                plus,
                format!(
                    "unexpected `+` in `{}`: a term takes at most one trailing `+`",
                    self.term
                ),
                Some("write `m+` for all descendants or `m+N` for N generations".to_string()),
            ));
        }
        Ok((Some(depth), plus))
    }

    fn depth(&self, start: usize, end: usize) -> Result<Depth, SelectorError> {
        if start == end {
            return Ok(Depth(None));
        }
        let digits = self.text(start, end);
        match digits.parse::<usize>() {
            Ok(generations) => Ok(Depth(Some(generations))),
            Err(_) => Err(self.error(
                start,
                format!("depth `{digits}` in `{}` is too large", self.term),
                Some("leave the number out to follow every generation".to_string()),
            )),
        }
    }

    /// dbt refuses `@` next to a `+`: `@m` already reaches that far.
    fn check_at_stands_alone(
        &self,
        parents: Option<Depth>,
        children: Option<Depth>,
        trailing_plus: usize,
    ) -> Result<(), SelectorError> {
        if parents.is_some() {
            return Err(self.error(
                1,
                format!("`@` cannot be combined with a leading `+` in `{}`", self.term),
                Some(
                    "`@m` already selects every ancestor of m and of its descendants; drop the `+`"
                        .to_string(),
                ),
            ));
        }
        if children.is_some() {
            return Err(self.error(
                trailing_plus,
                format!("`@` cannot be combined with a trailing `+` in `{}`", self.term),
                Some("`@m` already selects every descendant of m; drop the `+`".to_string()),
            ));
        }
        Ok(())
    }

    /// The `method:` prefix, if the body has one, and where the value starts.
    fn method_spec(&self, start: usize, end: usize) -> Result<(Option<MethodSpec>, usize), SelectorError> {
        let Some(colon) = (start..end).find(|&index| self.chars[index] == ':') else {
            return Ok((None, start));
        };
        let written = self.text(start, colon);
        if written.is_empty() {
            return Err(self.error(
                colon,
                format!("missing selector method before `:` in `{}`", self.term),
                Some("write `method:value`, e.g. `tag:nightly`".to_string()),
            ));
        }
        if !written
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            // Not a method: the value check reports the first stray character.
            return Ok((None, start));
        }
        let (name, keys) = match written.split_once('.') {
            Some((name, keys)) => (name, Some(keys)),
            None => (written.as_str(), None),
        };
        let keyword = self.keyword(name, start)?;
        let config_keys = self.config_keys(keyword, keys, start + name.chars().count())?;
        Ok((Some(MethodSpec { keyword, config_keys }), colon + 1))
    }

    fn keyword(&self, name: &str, index: usize) -> Result<Keyword, SelectorError> {
        let (message, hint) = if name == SOURCE_STATUS_METHOD {
            (
                format!(
                    "selector method `{name}` in `{}` is not supported: tmk does not compare sources.json files",
                    self.term
                ),
                "select the sources' models by name, or `state:modified` for changed ones".to_string(),
            )
        } else if STATE_METHODS.contains(&name) && !self.with_state {
            (
                format!("selector method `{name}` in `{}` requires --state", self.term),
                "it compares against the artifacts of an earlier run: give their directory with \
                 `--state DIR` (e.g. the target/ of the production run)"
                    .to_string(),
            )
        } else if let Some(keyword) = Keyword::from_name(name) {
            return Ok(keyword);
        } else if name == VERSION_METHOD {
            (
                format!(
                    "selector method `{name}` in `{}` is not supported: tmk has no model versions",
                    self.term
                ),
                "select the model by name instead".to_string(),
            )
        } else {
            (
                format!("unknown selector method `{name}` in `{}`", self.term),
                suggestion_hint(name, &all_method_names(), "valid methods"),
            )
        };
        Err(self.error(index, message, Some(hint)))
    }

    /// The `.key` path after the method name: required by `config`, refused elsewhere.
    fn config_keys(
        &self,
        keyword: Keyword,
        keys: Option<&str>,
        index: usize,
    ) -> Result<Vec<String>, SelectorError> {
        let config_hint =
            || Some("write `config.<key>:<value>`, e.g. `config.materialized:table`".to_string());
        match (keyword, keys) {
            (Keyword::Config, None) => Err(self.error(
                index,
                format!("missing config key in `{}`", self.term),
                config_hint(),
            )),
            (Keyword::Config, Some(keys)) => {
                let keys: Vec<String> = keys.split('.').map(str::to_string).collect();
                if keys.iter().any(String::is_empty) {
                    return Err(self.error(
                        index,
                        format!("empty config key in `{}`", self.term),
                        config_hint(),
                    ));
                }
                Ok(keys)
            }
            (_, None) => Ok(Vec::new()),
            (keyword, Some(_)) => Err(self.error(
                index,
                format!(
                    "selector method `{}` in `{}` takes no `.` argument",
                    keyword.name(),
                    self.term
                ),
                Some(format!("write `{}:<value>`", keyword.name())),
            )),
        }
    }

    /// The value between the method (or operators) and the trailing operator.
    fn value(&self, start: usize, end: usize, spec: Option<&MethodSpec>) -> Result<String, SelectorError> {
        if start == end {
            let message = match spec {
                Some(spec) => format!("missing value after `{}:` in `{}`", spec.text(), self.term),
                None => format!("missing node name in `{}`", self.term),
            };
            return Err(self.error(start, message, None));
        }
        if let Some(index) = (start..end).find(|&index| is_stray(self.chars[index])) {
            let stray = self.chars[index];
            return Err(self.error(
                index,
                format!("unexpected character `{stray}` in `{}`", self.term),
                stray_hint(stray),
            ));
        }
        Ok(self.text(start, end))
    }

    /// Give an explicit method its value, checking values that have a fixed set.
    fn interpret(&self, spec: MethodSpec, value: &str, value_start: usize) -> Result<Method, SelectorError> {
        Ok(match spec.keyword {
            Keyword::Fqn => Method::Fqn,
            Keyword::Tag => Method::Tag,
            Keyword::Path => Method::Path,
            Keyword::File => Method::File,
            Keyword::Package => Method::Package,
            Keyword::Config => Method::Config(spec.config_keys),
            Keyword::ResourceType => self.resource_type(value, value_start)?,
            Keyword::Source => Method::Source(self.source_pattern(value, value_start)?),
            Keyword::TestType => Method::TestType(self.test_kind(value, value_start)?),
            Keyword::TestName => Method::TestName,
            Keyword::Group => Method::Group,
            Keyword::Access => Method::Access,
            Keyword::State => Method::State(self.state_selector(value, value_start)?),
            Keyword::Result => self.result_status(value, value_start)?,
            Keyword::Exposure
            | Keyword::Metric
            | Keyword::SemanticModel
            | Keyword::SavedQuery
            | Keyword::UnitTest => Method::Absent,
        })
    }

    fn state_selector(&self, value: &str, index: usize) -> Result<StateSelector, SelectorError> {
        let selector = match value {
            "new" => Some(StateSelector::New),
            "old" => Some(StateSelector::Old),
            "modified" => Some(StateSelector::Modified(None)),
            "unmodified" => Some(StateSelector::Unmodified),
            _ => value.strip_prefix("modified.").and_then(|part| {
                ModifiedPart::ALL
                    .into_iter()
                    .find(|candidate| candidate.name() == part)
                    .map(|part| StateSelector::Modified(Some(part)))
            }),
        };
        selector.ok_or_else(|| {
            self.error(
                index,
                format!("unknown state `{value}` in `{}`", self.term),
                Some(suggestion_hint(value, &STATE_VALUES, "valid states")),
            )
        })
    }

    fn result_status(&self, value: &str, index: usize) -> Result<Method, SelectorError> {
        if RESULT_STATUSES.contains(&value) {
            return Ok(Method::Result);
        }
        Err(self.error(
            index,
            format!("unknown result status `{value}` in `{}`", self.term),
            Some(suggestion_hint(value, &RESULT_STATUSES, "valid statuses")),
        ))
    }

    fn resource_type(&self, value: &str, index: usize) -> Result<Method, SelectorError> {
        if RESOURCE_TYPES.contains(&value) {
            return Ok(Method::ResourceType);
        }
        Err(self.error(
            index,
            format!("unknown resource type `{value}` in `{}`", self.term),
            Some(suggestion_hint(value, &RESOURCE_TYPES, "valid resource types")),
        ))
    }

    fn source_pattern(&self, value: &str, index: usize) -> Result<SourcePattern, SelectorError> {
        let parts: Vec<&str> = value.split('.').collect();
        let (package, source, table) = match parts.as_slice() {
            [source] => ("*", *source, "*"),
            [source, table] => ("*", *source, *table),
            [package, source, table] => (*package, *source, *table),
            _ => {
                return Err(self.error(
                    index,
                    format!(
                        "source selector `{value}` in `{}` has too many `.` parts",
                        self.term
                    ),
                    Some(
                        "write `source:<source>`, `source:<source>.<table>` or \
                         `source:<package>.<source>.<table>`"
                            .to_string(),
                    ),
                ));
            }
        };
        Ok(SourcePattern {
            package: package.to_string(),
            source: source.to_string(),
            table: table.to_string(),
        })
    }

    fn test_kind(&self, value: &str, index: usize) -> Result<TestKind, SelectorError> {
        match value {
            "generic" | "schema" => Ok(TestKind::Generic),
            "singular" => Ok(TestKind::Singular),
            "data" => Ok(TestKind::Data),
            "unit" => Ok(TestKind::Unit),
            _ => Err(self.error(
                index,
                format!("unknown test type `{value}` in `{}`", self.term),
                Some("expected `generic`, `singular`, `unit` or `data`".to_string()),
            )),
        }
    }
}

/// dbt's method for a bare value: `path` if it has a `/`, `file` if it ends
/// in a model or seed extension, `fqn` otherwise.
fn default_method(value: &str) -> (String, Method) {
    let lowered = value.to_lowercase();
    let (keyword, method) = if value.contains('/') {
        (Keyword::Path, Method::Path)
    } else if [".sql", ".py", ".csv"].iter().any(|ext| lowered.ends_with(ext)) {
        (Keyword::File, Method::File)
    } else {
        (Keyword::Fqn, Method::Fqn)
    };
    (keyword.name().to_string(), method)
}

/// Characters that cannot be part of a selector value.
fn is_stray(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '+' | '@' | ':' | ',' | '(' | ')' | '"' | '\'' | '`' | ';' | '|' | '<' | '>' | '{' | '}' | '\\'
        )
}

fn stray_hint(stray: char) -> Option<String> {
    let hint = match stray {
        '+' => "graph operators go at the start (`+m`, `2+m`) or the end (`m+`, `m+2`) of a term",
        '@' => "`@` goes first, as in `@m`",
        ':' => "a term has at most one `method:` prefix, made of letters, digits, `_` and `.`",
        '"' | '\'' | '`' => "quotes belong to the shell; this one reached tmk inside the selector",
        _ => return None,
    };
    Some(hint.to_string())
}

/// "did you mean `x`?" when one candidate is close to `wanted`, then the full list.
fn suggestion_hint(wanted: &str, candidates: &[&str], label: &str) -> String {
    let list = candidates
        .iter()
        .map(|candidate| format!("`{candidate}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest(wanted, candidates) {
        Some(best) => format!("did you mean `{best}`? {label}: {list}"),
        None => format!("{label}: {list}"),
    }
}

/// The candidate nearest to `wanted` by edit distance, if it is near enough
/// to be a plausible typo (or one is a prefix of the other).
fn closest<'a>(wanted: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let tolerance = (wanted.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(wanted, candidate), *candidate))
        .filter(|(distance, candidate)| {
            *distance <= tolerance || (wanted.len() >= 3 && candidate.starts_with(wanted))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_char) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(term: &str) -> Criterion {
        match Criterion::parse(term, term, 0, false) {
            Ok(criterion) => criterion,
            Err(error) => panic!("`{term}` failed: {} (column {})", error.message, error.column),
        }
    }

    fn parse_error(term: &str) -> SelectorError {
        match Criterion::parse(term, term, 0, false) {
            Ok(criterion) => panic!("`{term}` parsed as {criterion:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn bare_values_pick_dbt_default_methods() {
        assert_eq!(parse("stg_orders").method, Method::Fqn);
        assert_eq!(parse("jaffle_shop.staging").method, Method::Fqn);
        assert_eq!(parse("models/staging").method, Method::Path);
        assert_eq!(parse("stg_orders.sql").method, Method::File);
        assert_eq!(parse("raw_customers.CSV").method, Method::File);
        assert_eq!(parse("stg_orders").method_text, "fqn");
    }

    #[test]
    fn graph_operators_and_depths_are_parsed() {
        let criterion = parse("2+tag:nightly+3");
        assert_eq!(criterion.parents, Some(Depth(Some(2))));
        assert_eq!(criterion.children, Some(Depth(Some(3))));
        assert_eq!(criterion.method, Method::Tag);
        assert_eq!(criterion.value, "nightly");
        let criterion = parse("+orders+");
        assert_eq!(criterion.parents, Some(Depth(None)));
        assert_eq!(criterion.children, Some(Depth(None)));
        let criterion = parse("@orders");
        assert!(criterion.childrens_parents);
        assert_eq!(criterion.parents, None);
    }

    #[test]
    fn digits_without_plus_belong_to_the_name() {
        let criterion = parse("2orders3");
        assert_eq!(criterion.value, "2orders3");
        assert_eq!((criterion.parents, criterion.children), (None, None));
    }

    #[test]
    fn config_keys_are_kept_in_order() {
        let criterion = parse("config.meta.owner:ann");
        assert_eq!(
            criterion.method,
            Method::Config(vec!["meta".to_string(), "owner".to_string()])
        );
        assert_eq!(criterion.method_text, "config.meta.owner");
    }

    #[test]
    fn source_values_fill_missing_parts_with_wildcards() {
        let pattern = |term: &str| match parse(term).method {
            Method::Source(pattern) => (pattern.package, pattern.source, pattern.table),
            other => panic!("{other:?}"),
        };
        let owned = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(pattern("source:raw"), owned("*", "raw", "*"));
        assert_eq!(pattern("source:raw.orders"), owned("*", "raw", "orders"));
        assert_eq!(pattern("source:shop.raw.orders"), owned("shop", "raw", "orders"));
    }

    #[test]
    fn test_types_accept_dbt_aliases() {
        assert_eq!(
            parse("test_type:schema").method,
            Method::TestType(TestKind::Generic)
        );
        assert_eq!(parse("test_type:data").method, Method::TestType(TestKind::Data));
        assert_eq!(parse("test_type:unit").method, Method::TestType(TestKind::Unit));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(parse("2+stg_orders+1").to_string(), "2+fqn:stg_orders+1");
        assert_eq!(parse("@models/staging").to_string(), "@path:models/staging");
        assert_eq!(
            parse("config.materialized:table+").to_string(),
            "config.materialized:table+"
        );
    }

    #[test]
    fn unknown_method_suggests_the_closest() {
        let error = parse_error("tagg:nightly");
        assert_eq!(error.message, "unknown selector method `tagg` in `tagg:nightly`");
        assert_eq!(error.column, 1);
        let hint = error.hint.unwrap_or_default();
        assert!(hint.starts_with("did you mean `tag`?"), "{hint}");
        assert!(hint.contains("`resource_type`"), "{hint}");
    }

    #[test]
    fn unknown_method_far_from_all_lists_them_only() {
        let hint = parse_error("+xyzzy:1").hint.unwrap_or_default();
        assert!(hint.starts_with("valid methods: `fqn`"), "{hint}");
        assert_eq!(parse_error("+xyzzy:1").column, 2);
    }

    #[test]
    fn doubled_plus_is_refused_at_the_extra_plus() {
        let error = parse_error("++orders");
        assert_eq!(error.column, 2);
        assert!(error.message.contains("`++orders`"), "{}", error.message);
        let error = parse_error("+orders++");
        assert_eq!(error.column, 9);
        assert!(error.message.contains("trailing"), "{}", error.message);
    }

    #[test]
    fn at_with_plus_is_refused() {
        let error = parse_error("@+orders");
        assert_eq!(error.column, 2);
        assert_eq!(
            error.message,
            "`@` cannot be combined with a leading `+` in `@+orders`"
        );
        let error = parse_error("@orders+");
        assert_eq!(error.column, 8);
    }

    #[test]
    fn huge_depth_is_refused() {
        let error = parse_error("orders+99999999999999999999999");
        assert_eq!(error.column, 8);
        assert!(error.message.contains("`99999999999999999999999`"));
    }

    #[test]
    fn stray_characters_are_pointed_at() {
        let error = parse_error("tag:nightly)");
        assert_eq!(
            (error.column, error.message.as_str()),
            (12, "unexpected character `)` in `tag:nightly)`")
        );
        assert_eq!(parse_error("a+b").column, 2);
        assert_eq!(parse_error("+@orders").column, 2);
        assert_eq!(parse_error("tag:a:b").column, 6);
        assert!(parse_error("\"orders\"").hint.is_some());
        assert_eq!(parse_error("models/x:y").column, 9);
    }

    #[test]
    fn missing_parts_are_reported() {
        assert_eq!(
            parse_error("tag:").message,
            "missing value after `tag:` in `tag:`"
        );
        assert_eq!(parse_error("+").message, "missing node name in `+`");
        assert_eq!(
            parse_error(":x").message,
            "missing selector method before `:` in `:x`"
        );
        assert_eq!(
            parse_error("config:table").message,
            "missing config key in `config:table`"
        );
        assert_eq!(parse_error("config..a:b").column, 7);
        assert!(parse_error("tag.x:y").message.contains("takes no `.` argument"));
    }

    #[test]
    fn state_methods_need_state() {
        let error = parse_error("state:modified+");
        assert_eq!(
            error.message,
            "selector method `state` in `state:modified+` requires --state"
        );
        assert!(error.hint.is_some());
        assert!(parse_error("result:error").message.contains("requires --state"));
        assert!(parse_error("version:latest").message.contains("not supported"));
    }

    #[test]
    fn fixed_value_sets_are_checked() {
        let error = parse_error("resource_type:modle");
        assert_eq!(error.column, 15);
        assert!(
            error
                .hint
                .unwrap_or_default()
                .starts_with("did you mean `model`?")
        );
        assert!(parse_error("test_type:weird").message.contains("`weird`"));
        assert!(parse_error("source:a.b.c.d").message.contains("too many"));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("tag", "tag"), 0);
        assert_eq!(edit_distance("tagg", "tag"), 1);
        assert_eq!(edit_distance("pth", "path"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
