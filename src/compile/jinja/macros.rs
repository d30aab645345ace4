//! Macros, dbt-style: every macro of every file is callable by name from any template, and
//! `return(x)` makes a macro call evaluate to `x`. All macro files (tmk's built-in test macros
//! first, then the project's) are joined into one module template, each `{% macro name %}`
//! renamed `tmk_macro__name` (and `{% test name %}` blocks turned into `test_name` macros). Each
//! render imports the module and registers the macro values in `Captured`; a Rust function
//! under each real name calls the registered macro and applies `return`. This module owns that
//! scheme, the line map from the joined module back to the macro files, and each macro's
//! parameters as written (so a generic test's arguments are checked before rendering). It must
//! not read files.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::value::{Object, Rest, Value};
use minijinja::{Environment, Error as JinjaError, State};

use super::context::{captured, jinja_error};
use crate::error::{Error, ErrorKind, Result, SourceLocation};
use crate::project::ProjectFile;

/// The name of the joined macro module template.
pub const MODULE_NAME: &str = "__tmk_macros__";
const PREFIX: &str = "tmk_macro__";
const BUILTIN_MACROS: &str = include_str!("builtin_macros.sql");
const BUILTIN_PATH: &str = "<tmk built-in macros>";

/// One file's part of the joined module.
#[derive(Debug, Clone)]
struct Segment {
    path: String,
    first_line: usize,
    line_count: usize,
    text: Arc<str>,
}

/// One parameter of a macro as written: `name` or `name=default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The parameter's name.
    pub name: String,
    /// It has no default: a call must give it.
    pub required: bool,
}

/// What a macro's definition says about calling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The parameters, in order.
    pub parameters: Vec<Parameter>,
    /// Defined by tmk's built-in macros (not by the project).
    pub builtin: bool,
}

/// A macro definition found in a file: its name, line and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Defined {
    name: String,
    line: usize,
    parameters: Vec<Parameter>,
}

/// The joined macro module and what it defines.
#[derive(Debug, Clone)]
pub struct MacroModule {
    /// The module's template source.
    pub source: String,
    /// Every macro name, sorted (without the internal prefix).
    pub names: Vec<String>,
    /// Macro name → the file that defines it (for artifacts).
    pub origins: Vec<(String, String)>,
    /// Macro name → its signature (a project's macro replaces a built-in one of that name).
    signatures: HashMap<String, Signature>,
    segments: Vec<Segment>,
    name_set: std::collections::HashSet<String>,
    /// The prefix importing every macro (templates that call `adapter.dispatch`).
    prefix: String,
    /// Macro name → the macros its body mentions (and their `postgres__`/`default__`
    /// implementations, which `adapter.dispatch` picks by name).
    uses: HashMap<String, Vec<String>>,
}

impl MacroModule {
    /// Join the built-in macros and the project's macro files.
    pub fn assemble(files: &[ProjectFile]) -> Result<MacroModule> {
        let mut module = MacroModule {
            source: String::new(),
            names: Vec::new(),
            origins: Vec::new(),
            signatures: HashMap::new(),
            segments: Vec::new(),
            name_set: Default::default(),
            prefix: String::new(),
            uses: HashMap::new(),
        };
        let mut project_names = BTreeSet::new();
        module.append(BUILTIN_PATH, Arc::from(BUILTIN_MACROS), &mut BTreeSet::new())?;
        for file in files {
            module.append(&file.relative_path, file.text.clone(), &mut project_names)?;
        }
        module.names.sort();
        module.names.dedup();
        module.name_set = module.names.iter().cloned().collect();
        module.prefix = import_prefix(module.names.iter());
        module.uses = module.macro_uses();
        Ok(module)
    }

    /// Each macro's body (in the joined module) → the macro names it mentions.
    fn macro_uses(&self) -> HashMap<String, Vec<String>> {
        let starts: Vec<(usize, String)> = self
            .source
            .match_indices(PREFIX)
            .filter(|(start, _)| self.source[..*start].trim_end().ends_with("macro"))
            .map(|(start, _)| {
                let name: String = self.source[start + PREFIX.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                (start, name)
            })
            .collect();
        let mut uses = HashMap::new();
        for (position, (start, name)) in starts.iter().enumerate() {
            let end = starts
                .get(position + 1)
                .map_or(self.source.len(), |(next, _)| *next);
            let body = &self.source[start + PREFIX.len() + name.len()..end];
            let mut used = self.with_implementations(self.mentioned(body));
            used.retain(|used| used != name);
            uses.entry(name.clone()).or_insert_with(Vec::new).extend(used);
        }
        uses
    }

    /// `names` and, for each, the `postgres__`/`default__` macros `adapter.dispatch` would pick.
    fn with_implementations(&self, names: Vec<String>) -> Vec<String> {
        let mut all = Vec::with_capacity(names.len());
        for name in names {
            for candidate in [format!("postgres__{name}"), format!("default__{name}")] {
                if self.name_set.contains(&candidate) {
                    all.push(candidate);
                }
            }
            all.push(name);
        }
        all
    }

    fn append(&mut self, path: &str, text: Arc<str>, seen: &mut BTreeSet<String>) -> Result<()> {
        let (renamed, defined) = rename_macros(&text);
        for Defined {
            name,
            line,
            parameters,
        } in defined
        {
            if !seen.insert(name.clone()) {
                let location = SourceLocation::new(path, line, 1).with_text(text.clone());
                return Err(
                    Error::new(ErrorKind::Project, format!("macro `{name}` is defined twice"))
                        .at(location)
                        .hint("macro names are global, as in dbt: rename one of them"),
                );
            }
            self.origins.push((name.clone(), path.to_string()));
            let builtin = path == BUILTIN_PATH;
            self.signatures
                .insert(name.clone(), Signature { parameters, builtin });
            self.names.push(name);
        }
        let first_line = self.source.matches('\n').count() + 1;
        let line_count = renamed.matches('\n').count() + 1;
        self.source.push_str(&renamed);
        self.source.push('\n');
        self.segments.push(Segment {
            path: path.to_string(),
            first_line,
            line_count,
            text,
        });
        Ok(())
    }

    /// The signature of macro `name`, if it is defined.
    pub fn signature(&self, name: &str) -> Option<&Signature> {
        self.signatures.get(name)
    }

    /// Whether data test `name` is tmk's built-in one: the project defines neither `test_name`
    /// nor an implementation it dispatches to (`default__test_name`, `postgres__test_name`).
    pub fn builtin_test(&self, name: &str) -> bool {
        let builtin = |prefix: &str| {
            self.signature(&format!("{prefix}test_{name}"))
                .map(|signature| signature.builtin)
        };
        builtin("") == Some(true)
            && builtin("default__") != Some(false)
            && builtin("postgres__") != Some(false)
    }

    /// The first line of a template that uses macros: import the macros it mentions, and
    /// those they use in turn, and register them. Templates that mention no macro get no prefix,
    /// which keeps rendering the many plain models cheap; one that calls `adapter.dispatch`
    /// imports every macro (it may pick any by name).
    pub fn prefix_for(&self, text: &str) -> String {
        if self.prefix.is_empty() {
            return String::new();
        }
        if text.contains("dispatch") {
            return self.prefix.clone();
        }
        let needed = self.called(text);
        if needed.is_empty() {
            String::new()
        } else {
            import_prefix(needed.iter())
        }
    }

    /// The macros `text` mentions and those they mention in turn (with the `postgres__`/
    /// `default__` implementations `adapter.dispatch` would pick), by name: what its
    /// rendering may call.
    pub fn called(&self, text: &str) -> BTreeSet<String> {
        let mut needed: BTreeSet<String> = BTreeSet::new();
        let mut pending = self.with_implementations(self.mentioned(text));
        while let Some(name) = pending.pop() {
            if needed.insert(name.clone())
                && let Some(used) = self.uses.get(&name)
            {
                pending.extend(used.iter().cloned());
            }
        }
        needed
    }

    /// The macro names `text` mentions, in order of first mention.
    fn mentioned(&self, text: &str) -> Vec<String> {
        let bytes = text.as_bytes();
        let mut found: Vec<String> = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index].is_ascii_alphabetic() || bytes[index] == b'_' {
                let start = index;
                while index < bytes.len() && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_') {
                    index += 1;
                }
                let word = &text[start..index];
                if self.name_set.contains(word) && !found.iter().any(|name| name == word) {
                    found.push(word.to_string());
                }
            } else {
                index += 1;
            }
        }
        found
    }

    /// Map a line of the joined module to the macro file and line it came from.
    pub fn locate(&self, line: usize, column: usize) -> SourceLocation {
        self.segments
            .iter()
            .find(|segment| line >= segment.first_line && line < segment.first_line + segment.line_count)
            .map(|segment| {
                SourceLocation::new(&segment.path, line - segment.first_line + 1, column)
                    .with_text(segment.text.clone())
            })
            .unwrap_or_else(|| SourceLocation::new(MODULE_NAME, line, column))
    }

    /// The name of the macro whose body holds `line` of the joined module, if any.
    pub fn enclosing_macro(&self, line: usize) -> Option<String> {
        let before: Vec<&str> = self.source.lines().take(line).collect();
        before.iter().rev().find_map(|text| {
            let start = text.rfind(PREFIX)?;
            let name = &text[start + PREFIX.len()..];
            let end = name
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(name.len());
            Some(name[..end].to_string())
        })
    }

    /// Register the module template, `__tmk_register` and one wrapper function per macro.
    pub fn register(&self, env: &mut Environment<'static>) -> Result<()> {
        env.add_function("__tmk_register", register_macros);
        for name in &self.names {
            env.add_global(name.clone(), macro_reference(name.clone()));
        }
        env.add_template_owned(MODULE_NAME, self.source.clone())
            .map_err(|error| {
                let location = error.line().map(|line| self.locate(line, 1));
                let mut tmk_error = Error::new(
                    ErrorKind::Compilation,
                    format!(
                        "macro syntax error: {}",
                        error.detail().unwrap_or("invalid template")
                    ),
                );
                if let Some(location) = location {
                    tmk_error = tmk_error.at(location);
                }
                tmk_error
            })
    }
}

/// `{% from module import tmk_macro__a, .. %}{{ __tmk_register(tmk_macro__a, ..) }}` for `names`.
fn import_prefix<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let internal: Vec<String> = names.map(|name| format!("{PREFIX}{name}")).collect();
    if internal.is_empty() {
        return String::new();
    }
    let list = internal.join(", ");
    format!("{{% from '{MODULE_NAME}' import {list} %}}{{{{ __tmk_register({list}) }}}}")
}

fn register_macros(state: &mut State, macros: Rest<Value>) -> Result<String, JinjaError> {
    let registry = &mut captured(state).macros;
    for value in macros.0 {
        let name = value
            .get_attr("name")
            .ok()
            .and_then(|name| name.as_str().map(str::to_string))
            .unwrap_or_default();
        if let Some(name) = name.strip_prefix(PREFIX) {
            registry.insert(name.to_string(), value);
        }
    }
    Ok(String::new())
}

/// Call the macro `name` with `args`, returning its `return()` value or its output.
pub fn call_macro(state: &mut State, name: &str, args: &[Value]) -> Result<Value, JinjaError> {
    let macro_value = captured(state)
        .macros
        .get(name)
        .cloned()
        .ok_or_else(|| jinja_error(format!("macro `{name}` is not available here")))?;
    captured(state).returns.push(None);
    let output = macro_value.call(state, args);
    let returned = captured(state).returns.pop().flatten();
    let output = output?;
    Ok(returned.unwrap_or(output))
}

/// A callable value that calls the macro `name` (what `adapter.dispatch` returns).
pub fn macro_reference(name: String) -> Value {
    Value::from_object(MacroReference { name })
}

#[derive(Debug)]
struct MacroReference {
    name: String,
}

impl Object for MacroReference {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, JinjaError> {
        call_macro(state, &self.name, args)
    }
}

/// Rename `{% macro name(` to the internal name and `{% test name(` .. `{% endtest %}` to a
/// `test_name` macro, keeping every line where it was. Returns the new text and the defined
/// macros with their lines and parameters.
fn rename_macros(text: &str) -> (String, Vec<Defined>) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut defined = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let body_offset = 2 + usize::from(tag[2..].starts_with('-'));
        let after_open = &tag[body_offset..];
        let trimmed = after_open.trim_start();
        let leading = &after_open[..after_open.len() - trimmed.len()];
        let keyword_len = trimmed
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(trimmed.len());
        let keyword = &trimmed[..keyword_len];
        let line = text[..text.len() - rest.len() + start].matches('\n').count() + 1;
        out.push_str(&tag[..body_offset]);
        out.push_str(leading);
        let after_keyword = &trimmed[keyword_len..];
        match keyword {
            "macro" | "test" => {
                let name_part = after_keyword.trim_start();
                let spaces = &after_keyword[..after_keyword.len() - name_part.len()];
                let name_len = name_part
                    .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .unwrap_or(name_part.len());
                let name = &name_part[..name_len];
                let full_name = if keyword == "test" {
                    format!("test_{name}")
                } else {
                    name.to_string()
                };
                out.push_str("macro");
                out.push_str(spaces);
                out.push_str(PREFIX);
                out.push_str(&full_name);
                rest = &name_part[name_len..];
                defined.push(Defined {
                    name: full_name,
                    line,
                    parameters: parameters(rest),
                });
            }
            "endtest" => {
                out.push_str("endmacro");
                rest = after_keyword;
            }
            _ => {
                out.push_str(keyword);
                rest = after_keyword;
            }
        }
    }
    out.push_str(rest);
    (out, defined)
}

/// The parameters of a definition whose text (after the macro's name) is `(a, b=1) %}..`:
/// the list is split at top-level commas, skipping brackets and quoted strings.
fn parameters(after_name: &str) -> Vec<Parameter> {
    let Some(list) = after_name.trim_start().strip_prefix('(') else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote = None;
    let mut start = 0;
    for (index, character) in list.char_indices() {
        match (quote, character) {
            (Some(open), _) if character == open => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(character),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')') if depth == 0 => {
                parts.push(&list[start..index]);
                break;
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                parts.push(&list[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((name, _)) => Parameter {
                name: name.trim().to_string(),
                required: false,
            },
            None => Parameter {
                name: part.to_string(),
                required: true,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{MacroModule, Parameter, parameters, rename_macros};
    use crate::project::ProjectFile;

    #[test]
    fn a_template_imports_the_macros_it_mentions_and_what_they_use() {
        let file = ProjectFile {
            relative_path: "macros/m.sql".to_string(),
            stem: "m".to_string(),
            folders: Vec::new(),
            text: "{% macro cents(x) %}{{ money(x) }} * 100{% endmacro %}\n{% macro money(x) %}round({{ x }}, 2){% endmacro %}\n{% macro unused() %}1{% endmacro %}".into(),
        };
        let module = MacroModule::assemble(&[file]).expect("macros");
        let prefix = module.prefix_for("select {{ cents('price') }} from t");
        assert!(
            prefix.contains("import tmk_macro__cents, tmk_macro__money %}"),
            "{prefix}"
        );
        assert!(!prefix.contains("unused"));
        assert_eq!(module.prefix_for("select 1"), "");
        // A built-in test macro brings its `default__` implementation, which dispatch picks.
        let test = module.prefix_for("{{ test_not_null(model, 'id') }}");
        assert!(
            test.contains("tmk_macro__default__test_not_null") && !test.contains("tmk_macro__cents"),
            "{test}"
        );
        // adapter.dispatch may pick any macro by name: everything is imported.
        assert!(
            module
                .prefix_for("{{ adapter.dispatch('x')() }}")
                .contains("tmk_macro__unused")
        );
    }

    #[test]
    fn macros_and_test_blocks_are_renamed_in_place() {
        let (text, names) = rename_macros(
            "{% macro a(x) %}\n{{ x }}{% endmacro %}\n{%- test positive(model, column_name) -%}\nselect 1\n{%- endtest %}",
        );
        assert_eq!(
            text,
            "{% macro tmk_macro__a(x) %}\n{{ x }}{% endmacro %}\n{%- macro tmk_macro__test_positive(model, column_name) -%}\nselect 1\n{%- endmacro %}"
        );
        let names: Vec<(&str, usize)> = names
            .iter()
            .map(|defined| (defined.name.as_str(), defined.line))
            .collect();
        assert_eq!(names, vec![("a", 1), ("test_positive", 3)]);
    }

    #[test]
    fn parameters_are_read_with_their_defaults() {
        let required = |name: &str| Parameter {
            name: name.to_string(),
            required: true,
        };
        let optional = |name: &str| Parameter {
            name: name.to_string(),
            required: false,
        };
        assert_eq!(
            parameters("(\n    model, column_name, values=['a, b', \"(c)\"], quote=true,\n) %}\nselect 1"),
            vec![
                required("model"),
                required("column_name"),
                optional("values"),
                optional("quote")
            ]
        );
        assert_eq!(
            parameters(" (model, args={'x': f(1, 2)}, y = none) -%}"),
            vec![required("model"), optional("args"), optional("y")]
        );
        assert_eq!(parameters("() %}"), vec![]);
        assert_eq!(parameters(" %}"), vec![]);
    }
}
