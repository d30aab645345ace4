//! `selectors.yml` (dbt's named selectors) validated into selections for `--selector NAME`
//! and for the selector marked `default: true`: each definition — a string in the `--select`
//! syntax, a `method`/`value` mapping (or `tag: x`) with `parents`, `children`, their depths,
//! `childrens_parents`, `indirect_selection` and `exclude`, `union`/`intersection` lists with
//! `exclude` items, another selector by `method: selector` — becomes a `graph::SelectorExpr`. Errors name the file, line and
//! column. Reads no files: the project holds the YAML.

use crate::error::{Error, Result, did_you_mean};
use crate::graph::{IndirectSelection, SelectorExpr, parse_selection};
use crate::project::SelectorsFile;
use crate::project::yaml::{Pos, SourceFile, Yaml, YamlEntry};

/// The keys of a selector entry.
const SELECTOR_KEYS: [&str; 4] = ["name", "description", "default", "definition"];

/// The keys of a method mapping.
const METHOD_KEYS: [&str; 9] = [
    "method",
    "value",
    "parents",
    "children",
    "parents_depth",
    "children_depth",
    "childrens_parents",
    "indirect_selection",
    "exclude",
];

/// One selector as written: its name, whether it is the default, and its definition.
#[derive(Clone)]
struct Written<'a> {
    name: String,
    default: DefaultFlag,
    definition: &'a Yaml,
    definition_pos: Pos,
}

/// A selector's `default:`.
#[derive(Clone, Copy, PartialEq)]
enum DefaultFlag {
    /// `true`.
    Yes,
    /// `false`, or none.
    No,
    /// Jinja (`"{{ target.name == 'prod' }}"`), written at this position: tmk does not render it.
    Jinja(Pos),
}

/// The named selectors of a project.
pub struct Selectors<'a> {
    file: &'a SelectorsFile,
    written: Vec<Written<'a>>,
    /// Whether `--state` was given (`state:` and `result:` need it).
    with_state: bool,
}

impl<'a> Selectors<'a> {
    /// Read `file`'s selectors (names, defaults, definitions still unchecked).
    pub fn read(file: &'a SelectorsFile, with_state: bool) -> Result<Selectors<'a>> {
        let source = &file.source;
        // An empty file, or an empty `selectors:`, defines none, as in dbt.
        let list = file
            .content
            .as_map()
            .and_then(|entries| entries.iter().find(|entry| entry.key == "selectors"));
        let items = match list.map(|list| (&list.value, list.value_pos)) {
            None | Some((Yaml::Null, _)) => &[][..],
            Some((Yaml::Seq(items), _)) => items.as_slice(),
            Some((_, pos)) => return Err(source.error(pos, "`selectors:` must be a list of selectors")),
        };
        let mut written: Vec<Written> = Vec::new();
        for (pos, item) in items {
            let entries = item.as_map().ok_or_else(|| {
                source.error(*pos, "a selector must be a mapping with `name` and `definition`")
            })?;
            check_keys(source, entries, &SELECTOR_KEYS)?;
            let field = |key: &str| entries.iter().find(|entry| entry.key == key);
            let name = match field("name") {
                Some(YamlEntry {
                    value: Yaml::Str(name),
                    ..
                }) => name.clone(),
                Some(entry) => {
                    return Err(source.error(entry.value_pos, "a selector's `name` must be a string"));
                }
                None => return Err(source.error(*pos, "this selector has no `name`")),
            };
            if written.iter().any(|other| other.name == name) {
                return Err(source.error(*pos, format!("two selectors are named `{name}`")));
            }
            let default = match field("default") {
                None => DefaultFlag::No,
                Some(YamlEntry {
                    value: Yaml::Bool(default),
                    ..
                }) => {
                    if *default {
                        DefaultFlag::Yes
                    } else {
                        DefaultFlag::No
                    }
                }
                Some(YamlEntry {
                    value: Yaml::Str(text),
                    value_pos,
                    ..
                }) if text.contains("{{") => DefaultFlag::Jinja(*value_pos),
                Some(entry) => {
                    return Err(source.error(entry.value_pos, "`default` must be `true` or `false`"));
                }
            };
            if default == DefaultFlag::Yes
                && let Some(other) = written.iter().find(|other| other.default == DefaultFlag::Yes)
            {
                return Err(source.error(
                    *pos,
                    format!("`{name}` and `{}` are both `default: true`", other.name),
                ));
            }
            let definition = field("definition")
                .ok_or_else(|| source.error(*pos, format!("selector `{name}` has no `definition`")))?;
            written.push(Written {
                name,
                default,
                definition: &definition.value,
                definition_pos: definition.value_pos,
            });
        }
        Ok(Selectors {
            file,
            written,
            with_state,
        })
    }

    /// Check every definition (an error names the first wrong one), as dbt does whichever
    /// selector is used; `state:` and `result:` are checked as if `--state` were given, and need
    /// it only in the selector used.
    pub fn check_all(&self) -> Result<()> {
        let with_state = Selectors {
            file: self.file,
            written: self.written.clone(),
            with_state: true,
        };
        for selector in &with_state.written {
            with_state.named(&selector.name)?;
        }
        Ok(())
    }

    /// The selector named `name`, `--selector`'s.
    pub fn named(&self, name: &str) -> Result<SelectorExpr> {
        self.expression(name, &mut Vec::new())
            .map_err(|error| match error {
                Lookup::Unknown => Error::new(
                    crate::error::ErrorKind::Usage,
                    format!("--selector `{name}`: selectors.yml has no selector of that name"),
                )
                .maybe_hint(self.closest_name(name)),
                Lookup::Invalid(error) => *error,
            })
    }

    /// The selector marked `default: true`, when there is one.
    pub fn default(&self) -> Result<Option<SelectorExpr>> {
        for selector in &self.written {
            if let DefaultFlag::Jinja(pos) = selector.default {
                return Err(self
                    .file
                    .source
                    .error(
                        pos,
                        format!(
                            "selector `{}` decides `default` with Jinja, which tmk does not render in selectors.yml yet",
                            selector.name
                        ),
                    )
                    .hint("write `default: true` or `false`, or pass --select or --selector"));
            }
        }
        match self
            .written
            .iter()
            .find(|selector| selector.default == DefaultFlag::Yes)
        {
            Some(selector) => self.named(&selector.name).map(Some),
            None => Ok(None),
        }
    }

    /// Selector `name` as an expression; `stack`: the selectors being expanded, to find cycles.
    fn expression(&self, name: &str, stack: &mut Vec<String>) -> std::result::Result<SelectorExpr, Lookup> {
        let selector = self
            .written
            .iter()
            .find(|selector| selector.name == name)
            .ok_or(Lookup::Unknown)?;
        stack.push(name.to_string());
        let expression = self.definition(selector.definition, selector.definition_pos, stack);
        stack.pop();
        expression.map_err(|error| Lookup::Invalid(Box::new(error)))
    }

    /// One definition (or part of one) written at `pos`.
    fn definition(&self, definition: &Yaml, pos: Pos, stack: &mut Vec<String>) -> Result<SelectorExpr> {
        let source = &self.file.source;
        match definition {
            Yaml::Str(text) => self.terms(text, pos, true),
            Yaml::Map(entries) => match entries.as_slice() {
                [only] if only.key == "union" || only.key == "intersection" => {
                    self.set_operation(&only.key, &only.value, only.value_pos, stack)
                }
                [only] if only.key == "exclude" => Err(source
                    .error(only.key_pos, "`exclude` must be an item of a `union` or `intersection` list")),
                _ => self.method(entries, pos, stack),
            },
            _ => Err(source.error(
                pos,
                "a selector definition must be a string, a `union`/`intersection` list or a `method`/`value` mapping",
            )),
        }
    }

    /// `union: [...]` or `intersection: [...]`, whose `exclude: [...]` items are taken from it.
    fn set_operation(
        &self,
        operation: &str,
        items: &Yaml,
        pos: Pos,
        stack: &mut Vec<String>,
    ) -> Result<SelectorExpr> {
        let source = &self.file.source;
        let Yaml::Seq(items) = items else {
            return Err(source.error(pos, format!("`{operation}` must be a list of definitions")));
        };
        let mut kept = Vec::new();
        let mut excluded = Vec::new();
        for (item_pos, item) in items {
            match item.as_map() {
                Some([only]) if only.key == "exclude" => excluded.extend(self.excluded(only, stack)?),
                _ => kept.push(self.definition(item, *item_pos, stack)?),
            }
        }
        let kept = if operation == "union" {
            SelectorExpr::Union(kept)
        } else {
            SelectorExpr::Intersection(kept)
        };
        Ok(SelectorExpr::Difference(
            Box::new(kept),
            Box::new(SelectorExpr::Union(excluded)),
        ))
    }

    /// A `method`/`value` mapping (or `tag: x`), with graph operators, as one term.
    fn method(&self, entries: &[YamlEntry], pos: Pos, stack: &mut Vec<String>) -> Result<SelectorExpr> {
        let source = &self.file.source;
        let field = |key: &str| entries.iter().find(|entry| entry.key == key);
        // dbt's shorthand: `tag: nightly` is `method: tag, value: nightly`.
        let shorthand = entries
            .iter()
            .find(|entry| !METHOD_KEYS.contains(&entry.key.as_str()) && field("method").is_none());
        let (method, method_pos, value, value_pos) = match (shorthand, field("method"), field("value")) {
            // With a `value`, it is a misspelt key, not a method.
            (Some(entry), None, Some(_)) => return Err(unknown_key(source, entry, &METHOD_KEYS)),
            (Some(entry), _, _) => (entry.key.clone(), entry.key_pos, &entry.value, entry.value_pos),
            (None, Some(method), Some(value)) => match &method.value {
                Yaml::Str(name) => (name.clone(), method.value_pos, &value.value, value.value_pos),
                _ => return Err(source.error(method.value_pos, "`method` must be a string")),
            },
            (None, Some(_), None) => {
                return Err(source.error(pos, "this definition has a `method` but no `value`"));
            }
            (None, None, _) => {
                return Err(source
                    .error(pos, "this definition names no method")
                    .hint("write `method: tag` and `value: nightly`, or `tag: nightly`"));
            }
        };
        check_keys(
            source,
            entries
                .iter()
                .filter(|entry| entry.key != method || field("method").is_some()),
            &METHOD_KEYS,
        )?;
        let value = match value {
            Yaml::Str(text) => text.clone(),
            Yaml::Int(number) => number.to_string(),
            Yaml::Bool(flag) => flag.to_string(),
            _ => return Err(source.error(value_pos, "a method's `value` must be a string")),
        };
        let selected = if method == "selector" {
            self.selector(&value, value_pos, stack)?
        } else {
            let term = self.graph_operators(entries, &format!("{method}:{value}"))?;
            self.terms(&term, method_pos, false)?
        };
        // `indirect_selection` applies to this definition's tests; `exclude` takes from it.
        let selected = match field("indirect_selection") {
            None => selected,
            Some(entry) => {
                let mode = match entry.value.as_str() {
                    Some("eager") => IndirectSelection::Eager,
                    Some("cautious") => IndirectSelection::Cautious,
                    Some("buildable") => IndirectSelection::Buildable,
                    Some("empty") => IndirectSelection::Empty,
                    _ => {
                        return Err(source.error(
                            entry.value_pos,
                            "`indirect_selection` must be eager, cautious, buildable or empty",
                        ));
                    }
                };
                SelectorExpr::WithIndirect(mode, Box::new(selected))
            }
        };
        match field("exclude") {
            None => Ok(selected),
            Some(entry) => Ok(SelectorExpr::Difference(
                Box::new(selected),
                Box::new(SelectorExpr::Union(self.excluded(entry, stack)?)),
            )),
        }
    }

    /// The definitions of an `exclude:` list.
    fn excluded(&self, exclude: &YamlEntry, stack: &mut Vec<String>) -> Result<Vec<SelectorExpr>> {
        let Yaml::Seq(parts) = &exclude.value else {
            return Err(self
                .file
                .source
                .error(exclude.value_pos, "`exclude` must be a list of definitions"));
        };
        parts
            .iter()
            .map(|(pos, part)| self.definition(part, *pos, stack))
            .collect()
    }

    /// The selector `name` that a `method: selector` mapping (its value at `pos`) includes.
    fn selector(&self, name: &str, pos: Pos, stack: &mut Vec<String>) -> Result<SelectorExpr> {
        let source = &self.file.source;
        if stack.iter().any(|included| included == name) {
            return Err(source.error(
                pos,
                format!(
                    "selector `{name}` includes itself: {} → {name}",
                    stack.join(" → ")
                ),
            ));
        }
        self.expression(name, stack).map_err(|error| match error {
            Lookup::Unknown => source
                .error(pos, format!("selectors.yml has no selector named `{name}`"))
                .maybe_hint(self.closest_name(name)),
            Lookup::Invalid(error) => *error,
        })
    }

    /// `criterion` with the graph operators of a method mapping, as dbt reads them: `parents`
    /// and `children` (their depths count only with them; a depth of 0 is no limit) and
    /// `childrens_parents` (which takes in the parents already).
    fn graph_operators(&self, entries: &[YamlEntry], criterion: &str) -> Result<String> {
        let source = &self.file.source;
        let field = |key: &str| entries.iter().find(|entry| entry.key == key);
        let flag = |key: &str| -> Result<bool> {
            match field(key) {
                None => Ok(false),
                Some(YamlEntry {
                    value: Yaml::Bool(flag),
                    ..
                }) => Ok(*flag),
                Some(entry) => {
                    Err(source.error(entry.value_pos, format!("`{key}` must be `true` or `false`")))
                }
            }
        };
        let depth = |key: &str| -> Result<String> {
            match field(key) {
                None => Ok(String::new()),
                Some(YamlEntry {
                    value: Yaml::Int(depth),
                    ..
                }) if *depth >= 0 => Ok(if *depth == 0 {
                    String::new()
                } else {
                    depth.to_string()
                }),
                Some(entry) => Err(source.error(entry.value_pos, format!("`{key}` must be a whole number"))),
            }
        };
        let prefix = if flag("childrens_parents")? {
            "@".to_string()
        } else if flag("parents")? {
            format!("{}+", depth("parents_depth")?)
        } else {
            String::new()
        };
        let suffix = if flag("children")? {
            format!("+{}", depth("children_depth")?)
        } else {
            String::new()
        };
        Ok(format!("{prefix}{criterion}{suffix}"))
    }

    /// Terms in the `--select` syntax, written at `pos`; `as_written`: whether `text` is the
    /// file's own string there (an error then points into it), or built from a mapping.
    fn terms(&self, text: &str, pos: Pos, as_written: bool) -> Result<SelectorExpr> {
        let source = &self.file.source;
        parse_selection(&[text.to_string()], self.with_state)
            .map(SelectorExpr::Terms)
            .map_err(|error| {
                let pos = if as_written {
                    let line = source.text.lines().nth(pos.line.saturating_sub(1)).unwrap_or("");
                    let quoted = line
                        .chars()
                        .nth(pos.column.saturating_sub(1))
                        .is_some_and(|c| c == '\'' || c == '"');
                    Pos {
                        line: pos.line,
                        column: pos.column + usize::from(quoted) + error.column.saturating_sub(1),
                    }
                } else {
                    pos
                };
                let hint = match text.contains("{{") {
                    true => Some("tmk does not render Jinja in selectors.yml yet".to_string()),
                    false => error.hint,
                };
                source
                    .error(pos, format!("bad selector `{text}`: {}", error.message))
                    .maybe_hint(hint)
            })
    }

    /// "did you mean" the selector name closest to `name`.
    fn closest_name(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.written.iter().map(|selector| selector.name.as_str()))
    }
}

/// Why a selector could not be expanded.
enum Lookup {
    /// No selector has the name.
    Unknown,
    /// Its definition is wrong.
    Invalid(Box<Error>),
}

/// An error at the first key of `entries` that is not in `known`.
fn check_keys<'e>(
    source: &SourceFile,
    entries: impl IntoIterator<Item = &'e YamlEntry>,
    known: &[&str],
) -> Result<()> {
    match entries
        .into_iter()
        .find(|entry| !known.contains(&entry.key.as_str()))
    {
        Some(entry) => Err(unknown_key(source, entry, known)),
        None => Ok(()),
    }
}

/// `entry`'s key is none of `known`.
fn unknown_key(source: &SourceFile, entry: &YamlEntry, known: &[&str]) -> Error {
    source
        .error(entry.key_pos, format!("unknown key `{}`", entry.key))
        .maybe_hint(did_you_mean(&entry.key, known.iter().copied()))
}
