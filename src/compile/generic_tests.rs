//! Generic data tests declared in properties YAML: reading each entry (`- unique`,
//! `- accepted_values: {values: [..]}`, `arguments:`, inline configs, custom `name:`), naming it
//! as dbt does (`not_null_orders_order_id`, long names cut to 30 characters plus an md5), and
//! writing the Jinja that calls the test macro. The result is rendered like any other node.
//! It must not run anything.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

use super::config::{self, ConfigMap};
use crate::error::{Error, Result, did_you_mean};
use crate::project::yaml::{Pos, SourceFile, Yaml};

/// Keys of a test entry that are configs, not arguments (dbt's CONFIG_ARGS).
const CONFIG_ARGS: &[&str] = &[
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "meta",
    "database",
    "schema",
    "alias",
];

/// What a test is attached to.
pub enum TestTarget<'a> {
    /// A model, seed or snapshot, by name.
    Node(&'a str),
    /// A source table.
    Source(&'a str, &'a str),
}

/// A generic test read from YAML, ready to become a node.
#[derive(Debug, Clone)]
pub struct GenericTest {
    /// The node name (dbt's full name; a name over 63 characters gets a shortened `alias`).
    pub name: String,
    /// The test macro's name without `test_` (`not_null`).
    pub test_name: String,
    /// Namespace, for `package.test` names.
    pub namespace: Option<String>,
    /// Arguments without `model`.
    pub kwargs: Map<String, Value>,
    /// The tested column.
    pub column_name: Option<String>,
    /// Config given in the entry.
    pub config: ConfigMap,
    /// The Jinja that renders the test's query.
    pub raw_code: String,
    /// Where the entry was written.
    pub pos: Pos,
}

/// Read one test entry.
pub fn read_test(
    file: &SourceFile,
    entry: &Yaml,
    pos: Pos,
    target: &TestTarget,
    column: Option<&str>,
    known_tests: &[String],
) -> Result<GenericTest> {
    let (full_test_name, arguments, arguments_pos) = match entry {
        Yaml::Str(name) => (name.clone(), None, pos),
        Yaml::Map(entries) if entries.len() == 1 => {
            let only = &entries[0];
            (only.key.clone(), Some(&only.value), only.value_pos)
        }
        _ => {
            return Err(file.error(
                pos,
                "a data test must be a name or a mapping with one key (the test name)",
            ));
        }
    };
    let (namespace, test_name) = match full_test_name.split_once('.') {
        Some((namespace, name)) => (Some(namespace.to_string()), name.to_string()),
        None => (None, full_test_name.clone()),
    };
    let macro_name = format!("test_{test_name}");
    if !known_tests.contains(&macro_name) {
        let names: Vec<&str> = known_tests
            .iter()
            .filter_map(|name| name.strip_prefix("test_"))
            .collect();
        return Err(file
            .error(pos, format!("unknown data test `{full_test_name}`"))
            .maybe_hint(did_you_mean(&test_name, names.iter().copied()))
            .detail("a generic test needs a `{% test name(model, ...) %}` block or a `test_name` macro"));
    }
    let mut kwargs = Map::new();
    let mut test_config = ConfigMap::new();
    let mut custom_name = None;
    let mut column_name = column.map(str::to_string);
    if let Some(arguments) = arguments {
        let fields = match arguments {
            Yaml::Map(fields) => fields.as_slice(),
            Yaml::Null => &[],
            _ => {
                return Err(file.error(
                    arguments_pos,
                    format!("the arguments of `{full_test_name}` must be a mapping"),
                ));
            }
        };
        for field in fields {
            match field.key.as_str() {
                "config" => config::merge_into(
                    &mut test_config,
                    &config::from_yaml_mapping(file, &field.value, field.value_pos)?,
                ),
                "name" => custom_name = field.value.as_str().map(str::to_string),
                "column_name" => column_name = field.value.as_str().map(str::to_string),
                "arguments" => {
                    for argument in field.value.as_map().unwrap_or_default() {
                        kwargs.insert(argument.key.clone(), argument.value.to_json());
                    }
                }
                "description" | "test_name" => {}
                key if CONFIG_ARGS.contains(&key) => {
                    test_config.insert(key.to_string(), field.value.to_json());
                }
                key => {
                    kwargs.insert(key.to_string(), field.value.to_json());
                }
            }
        }
    }
    config::validate_values(&test_config).map_err(|message| file.error(arguments_pos, message))?;
    let (short_name, full_name) = match &custom_name {
        Some(name) => (name.clone(), name.clone()),
        None => synthesize_name(&test_name, target, column_name.as_deref(), &kwargs),
    };
    // dbt keeps the full name; the shortened one (over 63 characters) becomes the alias.
    if short_name != full_name {
        test_config.insert("alias".to_string(), Value::from(short_name));
    }
    let raw_code = test_jinja(&macro_name, target, column_name.as_deref(), &kwargs);
    Ok(GenericTest {
        name: full_name,
        test_name,
        namespace,
        kwargs,
        column_name,
        config: test_config,
        raw_code,
        pos,
    })
}

/// dbt's `synthesize_generic_test_names`.
fn synthesize_name(
    test_name: &str,
    target: &TestTarget,
    column: Option<&str>,
    kwargs: &Map<String, Value>,
) -> (String, String) {
    let (test_type, target_name) = match target {
        TestTarget::Node(name) => (test_name.to_string(), name.to_string()),
        TestTarget::Source(source, table) => (format!("source_{test_name}"), format!("{source}_{table}")),
    };
    let mut arguments: Vec<(String, Value)> = kwargs
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(column) = column {
        arguments.push(("column_name".to_string(), Value::from(column)));
    }
    arguments.sort_by(|left, right| left.0.cmp(&right.0));
    let flat: Vec<String> = arguments
        .iter()
        .flat_map(|(_, value)| match value {
            Value::Object(map) => map.values().map(python_str).collect::<Vec<_>>(),
            Value::Array(items) => items.iter().map(python_str).collect(),
            other => vec![python_str(other)],
        })
        .map(|part| clean_name_part(&part))
        .collect();
    let identifier = format!("{test_type}_{target_name}");
    let full_name = format!("{identifier}_{}", flat.join("__"));
    let short_name = if full_name.len() >= 64 {
        let truncated: String = identifier.chars().take(30).collect();
        format!("{truncated}_{:x}", Md5::digest(full_name.as_bytes()))
    } else {
        full_name.clone()
    };
    (short_name, full_name)
}

/// Python's `str()` of a YAML value, as dbt's names use it.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Null => "None".to_string(),
        Value::Number(number) => number.to_string(),
        other => other.to_string(),
    }
}

/// Replace runs of characters other than `[0-9a-zA-Z_]` by one `_`.
fn clean_name_part(part: &str) -> String {
    let mut cleaned = String::with_capacity(part.len());
    let mut in_run = false;
    for character in part.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            cleaned.push(character);
            in_run = false;
        } else if !in_run {
            cleaned.push('_');
            in_run = true;
        }
    }
    cleaned
}

/// The Jinja that calls the test macro with the tested relation and the arguments.
fn test_jinja(
    macro_name: &str,
    target: &TestTarget,
    column: Option<&str>,
    kwargs: &Map<String, Value>,
) -> String {
    let model = match target {
        TestTarget::Node(name) => format!("get_where_subquery(ref({}))", jinja_literal(&Value::from(*name))),
        TestTarget::Source(source, table) => format!(
            "get_where_subquery(source({}, {}))",
            jinja_literal(&Value::from(*source)),
            jinja_literal(&Value::from(*table))
        ),
    };
    let mut arguments = vec![format!("model={model}")];
    if let Some(column) = column {
        arguments.push(format!("column_name={}", jinja_literal(&Value::from(column))));
    }
    for (key, value) in kwargs {
        arguments.push(format!("{key}={}", argument_expression(value)));
    }
    format!("{{{{ {macro_name}({}) }}}}", arguments.join(", "))
}

/// A string argument that is a `ref(..)` or `source(..)` call is an expression, as in dbt.
fn argument_expression(value: &Value) -> String {
    if let Value::String(text) = value {
        let trimmed = text.trim();
        if (trimmed.starts_with("ref(") || trimmed.starts_with("source(")) && trimmed.ends_with(')') {
            return trimmed.to_string();
        }
    }
    jinja_literal(value)
}

/// A JSON value as a Jinja literal.
fn jinja_literal(value: &Value) -> String {
    match value {
        Value::Null => "none".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => serde_json::to_string(text).unwrap_or_default(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(jinja_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, value)| format!(
                    "{}: {}",
                    jinja_literal(&Value::from(key.as_str())),
                    jinja_literal(value)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The error for properties naming a node that does not exist.
pub fn unknown_node_error(file: &SourceFile, pos: Pos, kind: &str, name: &str, known: &[&str]) -> Error {
    file.error(
        pos,
        format!("properties for {kind} `{name}`, but no {kind} has that name"),
    )
    .maybe_hint(did_you_mean(name, known.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kwargs(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_match_dbt() {
        let target = TestTarget::Node("orders");
        assert_eq!(
            synthesize_name("not_null", &target, Some("order_id"), &Map::new()).0,
            "not_null_orders_order_id"
        );
        let relationships = kwargs(json!({"to": "ref('customers')", "field": "customer_id"}));
        assert_eq!(
            synthesize_name("relationships", &target, Some("customer_id"), &relationships).0,
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        let values =
            kwargs(json!({"values": ["placed", "shipped", "completed", "return_pending", "returned"]}));
        let (short, full) = synthesize_name("accepted_values", &target, Some("status"), &values);
        assert_eq!(
            full,
            "accepted_values_orders_status__placed__shipped__completed__return_pending__returned"
        );
        assert_eq!(
            short,
            format!("accepted_values_orders_{:x}", Md5::digest(full.as_bytes()))
        );
    }

    #[test]
    fn source_tests_are_prefixed() {
        let target = TestTarget::Source("raw", "orders");
        assert_eq!(
            synthesize_name("unique", &target, Some("id"), &Map::new()).0,
            "source_unique_raw_orders_id"
        );
    }

    #[test]
    fn jinja_calls_the_test_macro_with_expressions_for_refs() {
        let arguments = kwargs(json!({"to": "ref('customers')", "field": "id"}));
        assert_eq!(
            test_jinja(
                "test_relationships",
                &TestTarget::Node("orders"),
                Some("customer_id"),
                &arguments
            ),
            "{{ test_relationships(model=get_where_subquery(ref(\"orders\")), column_name=\"customer_id\", to=ref('customers'), field=\"id\") }}"
        );
    }
}
