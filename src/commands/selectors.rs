//! `selectors.yml` (dbt's named selectors) validated into selections for `--selector NAME`
//! and for the selector marked `default: true`: each definition — a string in the `--select`
//! syntax, a `method`/`value` mapping (or `tag: x`) with `parents`, `children`, their depths
//! and `childrens_parents`, `union`/`intersection` lists with `exclude` items, another selector
//! by `method: selector` — becomes a `graph::SelectorExpr`. Errors name the file, line and
//! column. Reads no files: the project holds the YAML.

use crate::error::{Error, Result, did_you_mean};
use crate::graph::{SelectorExpr, parse_selection};
use crate::project::SelectorsFile;
use crate::project::yaml::{Pos, SourceFile, Yaml, YamlEntry};

/// The keys of a selector entry.
const SELECTOR_KEYS: [&str; 4] = ["name", "description", "default", "definition"];

/// The keys of a method mapping besides `method` and `value`.
const METHOD_KEYS: [&str; 8] = [
    "method",
    "value",
    "parents",
    "children",
    "parents_depth",
    "children_depth",
    "childrens_parents",
    "indirect_selection",
];

/// One selector as written: its name, whether it is the default, and its definition.
struct Written<'a> {
    name: String,
    default: bool,
    definition: &'a Yaml,
    definition_pos: Pos,
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
        let list = file
            .content
            .as_map()
            .and_then(|entries| entries.iter().find(|entry| entry.key == "selectors"))
            .ok_or_else(|| {
                source
                    .error(
                        Pos { line: 1, column: 1 },
                        "selectors.yml has no `selectors:` list",
                    )
                    .hint("write `selectors:` with a list of `- name: ..., definition: ...`")
            })?;
        let Yaml::Seq(items) = &list.value else {
            return Err(source.error(list.value_pos, "`selectors:` must be a list of selectors"));
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
                None => false,
                Some(YamlEntry {
                    value: Yaml::Bool(default),
                    ..
                }) => *default,
                Some(entry) => {
                    return Err(source
                        .error(entry.value_pos, "`default` must be `true` or `false`")
                        .hint("tmk does not render Jinja in selectors.yml yet"));
                }
            };
            if default && let Some(other) = written.iter().find(|other| other.default) {
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

    /// Check every definition (an error names the first wrong one).
    pub fn check_all(&self) -> Result<()> {
        for selector in &self.written {
            self.named(&selector.name)?;
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
                .maybe_hint(did_you_mean(
                    name,
                    self.written.iter().map(|selector| selector.name.as_str()),
                )),
                Lookup::Invalid(error) => *error,
            })
    }

    /// The selector marked `default: true`, when there is one.
    pub fn default(&self) -> Result<Option<SelectorExpr>> {
        match self.written.iter().find(|selector| selector.default) {
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
            Yaml::Str(text) => self.terms(text, pos),
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
                Some([only]) if only.key == "exclude" => {
                    let Yaml::Seq(parts) = &only.value else {
                        return Err(source.error(only.value_pos, "`exclude` must be a list of definitions"));
                    };
                    for (part_pos, part) in parts {
                        excluded.push(self.definition(part, *part_pos, stack)?);
                    }
                }
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
        let (method, value, value_pos) = match (shorthand, field("method"), field("value")) {
            // With a `value`, it is a misspelt key, not a method.
            (Some(entry), None, Some(_)) => return Err(unknown_key(source, entry, &METHOD_KEYS)),
            (Some(entry), _, _) => (entry.key.clone(), &entry.value, entry.value_pos),
            (None, Some(method), Some(value)) => match &method.value {
                Yaml::Str(method) => (method.clone(), &value.value, value.value_pos),
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
        if let Some(entry) = field("indirect_selection") {
            return Err(source
                .error(
                    entry.key_pos,
                    "`indirect_selection` inside a selector definition is not supported yet",
                )
                .hint("leave it out and pass --indirect-selection"));
        }
        let value = match value {
            Yaml::Str(text) => text.clone(),
            Yaml::Int(number) => number.to_string(),
            Yaml::Bool(flag) => flag.to_string(),
            _ => return Err(source.error(value_pos, "a method's `value` must be a string")),
        };
        if method == "selector" {
            if stack.contains(&value) {
                return Err(source.error(
                    value_pos,
                    format!(
                        "selector `{value}` includes itself: {} → {value}",
                        stack.join(" → ")
                    ),
                ));
            }
            return self.expression(&value, stack).map_err(|error| match error {
                Lookup::Unknown => source
                    .error(
                        value_pos,
                        format!("selectors.yml has no selector named `{value}`"),
                    )
                    .maybe_hint(did_you_mean(
                        &value,
                        self.written.iter().map(|selector| selector.name.as_str()),
                    )),
                Lookup::Invalid(error) => *error,
            });
        }
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
        let depth = |key: &str| -> Result<Option<i64>> {
            match field(key) {
                None => Ok(None),
                Some(YamlEntry {
                    value: Yaml::Int(depth),
                    ..
                }) if *depth >= 0 => Ok(Some(*depth)),
                Some(entry) => Err(source.error(entry.value_pos, format!("`{key}` must be a whole number"))),
            }
        };
        let mut term = String::new();
        if flag("childrens_parents")? {
            term.push('@');
        }
        match depth("parents_depth")? {
            Some(depth) => term.push_str(&format!("{depth}+")),
            None if flag("parents")? => term.push('+'),
            None => {}
        }
        term.push_str(&format!("{method}:{value}"));
        match depth("children_depth")? {
            Some(depth) => term.push_str(&format!("+{depth}")),
            None if flag("children")? => term.push('+'),
            None => {}
        }
        self.terms(&term, value_pos)
    }

    /// Terms in the `--select` syntax, written at `pos`.
    fn terms(&self, text: &str, pos: Pos) -> Result<SelectorExpr> {
        parse_selection(&[text.to_string()], self.with_state)
            .map(SelectorExpr::Terms)
            .map_err(|error| {
                self.file
                    .source
                    .error(pos, format!("bad selector `{text}`: {}", error.message))
                    .maybe_hint(error.hint)
            })
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
