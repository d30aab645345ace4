//! Whether one selector term's method matches one node, the way dbt's
//! selector methods decide it (fnmatch-style globs, fqn prefixes, path
//! prefixes, config values).
//!
//! This file owns per-node matching only. It must not walk the graph or
//! combine terms (that is `selector.rs`), nor parse syntax (`criterion.rs`).

use serde_json::Value;

use super::criterion::{Criterion, Method, SourcePattern, StateSelector, TestKind};
use super::selector::{SelectableNode, StateChange};

/// Whether `criterion`'s method and value (graph operators aside) match `node`.
pub(super) fn matches(criterion: &Criterion, node: &SelectableNode) -> bool {
    let value = criterion.value.as_str();
    match &criterion.method {
        Method::Fqn => !is_source(node) && fqn_matches(value, node.fqn),
        Method::Tag => node.tags.iter().any(|tag| glob_matches(value, tag)),
        Method::Path => path_matches(value, node.path),
        Method::File => file_matches(value, node.path),
        Method::Package => glob_matches(value, node.package),
        Method::Config(keys) => config_matches(node, keys, value),
        Method::ResourceType => node.resource_type == value,
        Method::Source(pattern) => source_matches(pattern, node),
        Method::TestType(kind) => test_type_matches(*kind, node),
        Method::TestName => is_test(node) && node.test_name.is_some_and(|name| glob_matches(value, name)),
        Method::Group => {
            !is_source(node) && config_string(node, "group").is_some_and(|g| glob_matches(value, g))
        }
        Method::Access => {
            node.resource_type == "model" && config_string(node, "access").unwrap_or("protected") == value
        }
        Method::State(selector) => node.state.is_some_and(|state| state_matches(*selector, state)),
        Method::Result => node.previous_status == Some(value),
        Method::Absent => false,
    }
}

/// dbt's state method: how the node compares with the `--state` manifest.
fn state_matches(selector: StateSelector, state: StateChange) -> bool {
    match selector {
        StateSelector::New => state.new,
        StateSelector::Old => !state.new,
        StateSelector::Modified(None) => state.is_modified(),
        StateSelector::Modified(Some(part)) => state.is_changed(part),
        StateSelector::Unmodified => !state.is_modified(),
    }
}

/// Whether `node` is a data test (generic or singular) or a unit test.
pub(super) fn is_test(node: &SelectableNode) -> bool {
    matches!(node.resource_type, "test" | "unit_test")
}

/// Whether `node` is a source table.
pub(super) fn is_source(node: &SelectableNode) -> bool {
    node.resource_type == "source"
}

/// dbt's fqn method: the node's name, or a dotted prefix of its fqn, with or
/// without the package in front.
fn fqn_matches(selector: &str, fqn: &[String]) -> bool {
    let unscoped = fqn.split_first().map_or(&[][..], |(_, rest)| rest);
    fqn_selects(fqn, selector) || fqn_selects(unscoped, selector)
}

/// dbt's `is_selected_node` for unversioned nodes.
fn fqn_selects(fqn: &[String], selector: &str) -> bool {
    let Some(leaf) = fqn.last() else {
        return false;
    };
    if leaf == selector {
        return true;
    }
    let flat: Vec<&str> = fqn.iter().flat_map(|segment| segment.split('.')).collect();
    let parts: Vec<&str> = selector.split('.').collect();
    if flat.len() < parts.len() {
        return false;
    }
    for (index, part) in parts.iter().enumerate() {
        if part.contains(['*', '?', '[', ']']) {
            // dbt 1.11: the wildcard part globs the rest of the fqn; a bare
            // wildcard (no dot) may instead glob just the node's name.
            return glob_matches(&parts[index..].join("."), &flat[index..].join("."))
                || (!selector.contains('.') && glob_matches(selector, leaf));
        }
        if flat[index] != *part {
            return false;
        }
    }
    true
}

/// dbt's path method: the node's file, or any folder above it, matches the
/// glob. Leading `./` and trailing `/` are ignored; `.` is the project root.
fn path_matches(selector: &str, path: &str) -> bool {
    let selector = normalize_path(selector);
    if selector.is_empty() {
        return true;
    }
    let pattern: Vec<&str> = selector.split('/').collect();
    let segments: Vec<&str> = normalize_path(path).split('/').collect();
    (1..=segments.len()).any(|length| segments_match(&pattern, &segments[..length]))
}

fn normalize_path(path: &str) -> &str {
    let mut path = path.trim_end_matches('/');
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if path == "." { "" } else { path }
}

/// pathlib-style glob over path segments: `**` spans any number of folders,
/// other segments are fnmatch globs on one folder or file name.
fn segments_match(pattern: &[&str], segments: &[&str]) -> bool {
    match pattern.split_first() {
        None => segments.is_empty(),
        Some((&"**", rest)) => (0..=segments.len()).any(|skip| segments_match(rest, &segments[skip..])),
        Some((first, rest)) => segments.split_first().is_some_and(|(segment, remaining)| {
            glob_matches(first, segment) && segments_match(rest, remaining)
        }),
    }
}

/// dbt's file method: the file name, with or without its extension.
fn file_matches(selector: &str, path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    glob_matches(selector, name) || glob_matches(selector, file_stem(name))
}

/// The name without its last extension; a leading dot is not an extension.
fn file_stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

fn source_matches(pattern: &SourcePattern, node: &SelectableNode) -> bool {
    is_source(node)
        && glob_matches(&pattern.package, node.package)
        && node
            .source_name
            .is_some_and(|source| glob_matches(&pattern.source, source))
        && glob_matches(&pattern.table, node.name)
}

fn test_type_matches(kind: TestKind, node: &SelectableNode) -> bool {
    if node.resource_type != "test" {
        return false;
    }
    match kind {
        TestKind::Generic => node.test_type == Some("generic"),
        TestKind::Singular => node.test_type == Some("singular"),
        TestKind::Data => matches!(node.test_type, Some("generic" | "singular")),
        TestKind::Unit => false,
    }
}

fn config_string<'a>(node: &SelectableNode<'a>, key: &str) -> Option<&'a str> {
    node.config.get(key).and_then(Value::as_str)
}

/// dbt's config method: follow the key path, then compare the value (or any
/// element of a list) as text; booleans match `true`/`false` in any case, and
/// `severity` compares case-insensitively.
fn config_matches(node: &SelectableNode, keys: &[String], wanted: &str) -> bool {
    let Some((first, rest)) = keys.split_first() else {
        return false;
    };
    let mut value = node.config.get(first.as_str());
    for key in rest {
        value = value.and_then(|inner| inner.get(key.as_str()));
    }
    let case_insensitive = keys.len() == 1 && first == "severity";
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .any(|item| scalar_matches(item, wanted, case_insensitive)),
        Some(scalar) => scalar_matches(scalar, wanted, case_insensitive),
        None => false,
    }
}

fn scalar_matches(value: &Value, wanted: &str, case_insensitive: bool) -> bool {
    match value {
        Value::String(text) if case_insensitive => text.eq_ignore_ascii_case(wanted),
        Value::String(text) => text == wanted,
        Value::Bool(flag) => wanted.eq_ignore_ascii_case(if *flag { "true" } else { "false" }),
        Value::Number(number) => number.to_string() == wanted,
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

/// One element of a compiled glob.
#[derive(Debug, PartialEq)]
enum GlobToken {
    Literal(char),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Python's `fnmatch.fnmatchcase`: `*`, `?`, `[abc]`, `[a-z]`, `[!abc]`;
/// an unclosed `[` is a literal. Case-sensitive, and `*` crosses `.` and `/`.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let tokens = compile_glob(pattern);
    let text: Vec<char> = text.chars().collect();
    let (mut token_index, mut text_index) = (0, 0);
    let mut last_run: Option<(usize, usize)> = None;
    while text_index < text.len() {
        match tokens.get(token_index) {
            Some(GlobToken::AnyRun) => {
                last_run = Some((token_index, text_index));
                token_index += 1;
            }
            Some(token) if token_accepts(token, text[text_index]) => {
                token_index += 1;
                text_index += 1;
            }
            _ => match last_run {
                Some((run_token, run_text)) => {
                    last_run = Some((run_token, run_text + 1));
                    token_index = run_token + 1;
                    text_index = run_text + 1;
                }
                None => return false,
            },
        }
    }
    tokens[token_index..]
        .iter()
        .all(|token| *token == GlobToken::AnyRun)
}

fn token_accepts(token: &GlobToken, c: char) -> bool {
    match token {
        GlobToken::Literal(literal) => *literal == c,
        GlobToken::AnyChar => true,
        GlobToken::AnyRun => false,
        GlobToken::Class { negated, ranges } => {
            ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
        }
    }
}

fn compile_glob(pattern: &str) -> Vec<GlobToken> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let token = match chars[index] {
            '*' => GlobToken::AnyRun,
            '?' => GlobToken::AnyChar,
            '[' => match compile_class(&chars, index) {
                Some((class, end)) => {
                    index = end;
                    class
                }
                None => GlobToken::Literal('['),
            },
            literal => GlobToken::Literal(literal),
        };
        if !(token == GlobToken::AnyRun && tokens.last() == Some(&GlobToken::AnyRun)) {
            tokens.push(token);
        }
        index += 1;
    }
    tokens
}

/// The class opening at `chars[open]` (`[`), and the index of its `]`;
/// `None` when it never closes. A `]` right after `[` or `[!` is literal.
fn compile_class(chars: &[char], open: usize) -> Option<(GlobToken, usize)> {
    let mut index = open + 1;
    let negated = chars.get(index) == Some(&'!');
    if negated {
        index += 1;
    }
    let first = index;
    let mut ranges = Vec::new();
    while let Some(&c) = chars.get(index) {
        if c == ']' && index > first {
            return Some((GlobToken::Class { negated, ranges }, index));
        }
        match (chars.get(index + 1), chars.get(index + 2)) {
            (Some('-'), Some(&high)) if high != ']' => {
                ranges.push((c, high));
                index += 3;
            }
            _ => {
                ranges.push((c, c));
                index += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn glob_supports_fnmatch_syntax() {
        assert!(glob_matches("stg_*", "stg_orders"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("pii*", "pii"));
        assert!(glob_matches("st?_o*s", "stg_orders"));
        assert!(glob_matches("[sx]tg_*", "stg_orders"));
        assert!(glob_matches("[!x]tg_*", "stg_orders"));
        assert!(!glob_matches("[!s]tg_*", "stg_orders"));
        assert!(glob_matches("v[0-9]", "v7"));
        assert!(!glob_matches("v[0-9]", "vx"));
        assert!(glob_matches("a[]]b", "a]b"));
        assert!(glob_matches("a[b", "a[b"));
        assert!(glob_matches("*.*.orders", "shop.staging.orders"));
        assert!(!glob_matches("stg_*", "xstg_orders"));
        assert!(!glob_matches("Stg_*", "stg_orders"));
        assert!(glob_matches("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaab"));
        assert!(!glob_matches("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn fqn_matches_name_prefix_and_unscoped_prefix() {
        let fqn = strings(&["shop", "staging", "stg_orders"]);
        assert!(fqn_matches("stg_orders", &fqn));
        assert!(fqn_matches("shop", &fqn));
        assert!(fqn_matches("shop.staging", &fqn));
        assert!(fqn_matches("staging", &fqn));
        assert!(fqn_matches("staging.stg_orders", &fqn));
        assert!(fqn_matches("shop.staging.stg_orders", &fqn));
        assert!(!fqn_matches("orders", &fqn));
        assert!(!fqn_matches("shop.marts", &fqn));
        assert!(!fqn_matches("shop.staging.stg_orders.extra", &fqn));
    }

    #[test]
    fn fqn_wildcards_match_the_rest_or_the_leaf() {
        let fqn = strings(&["shop", "staging", "stg_orders"]);
        assert!(fqn_matches("*", &fqn));
        assert!(fqn_matches("shop.*", &fqn));
        assert!(fqn_matches("stg_*", &fqn), "bare wildcard matches the leaf");
        assert!(fqn_matches("*.stg_orders", &fqn));
        assert!(fqn_matches("shop.stag*", &fqn));
        assert!(!fqn_matches("marts.*", &fqn));
        assert!(!fqn_matches("x.stg_*", &fqn));
    }

    #[test]
    fn dots_inside_fqn_segments_are_separators() {
        let fqn = strings(&["shop", "staging", "orders.v2"]);
        assert!(fqn_matches("staging.orders.v2", &fqn));
        assert!(fqn_matches("orders.v2", &fqn));
    }

    #[test]
    fn path_matches_files_and_folders() {
        let path = "models/staging/stg_orders.sql";
        assert!(path_matches("models/staging", path));
        assert!(path_matches("models/staging/", path));
        assert!(path_matches("./models", path));
        assert!(path_matches("models/staging/stg_orders.sql", path));
        assert!(path_matches("models/*/stg_*.sql", path));
        assert!(path_matches("**/stg_orders.sql", path));
        assert!(path_matches(".", path));
        assert!(!path_matches("models/stag", path));
        assert!(!path_matches("staging", path));
        assert!(!path_matches("models/staging/stg_orders", path));
    }

    #[test]
    fn file_matches_name_with_or_without_extension() {
        let path = "models/staging/stg_orders.sql";
        assert!(file_matches("stg_orders.sql", path));
        assert!(file_matches("stg_orders", path));
        assert!(file_matches("stg_*", path));
        assert!(!file_matches("staging", path));
        assert_eq!(file_stem(".hidden"), ".hidden");
        assert_eq!(file_stem("a.tar.gz"), "a.tar");
    }
}
