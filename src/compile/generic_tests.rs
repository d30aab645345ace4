//! Generic data tests declared in properties YAML: reading each entry (`- unique`,
//! `- accepted_values: {values: [..]}`, `arguments:`, inline configs, custom `name:`), checking
//! its name (a `dbt_utils.`/`dbt_expectations.` name must be one of the tests tmk builds in for
//! that package) and its arguments against the test macro's parameters, naming it as dbt does
//! (`not_null_orders_order_id`, long names cut to 30 characters plus an md5), and writing the
//! Jinja that calls the test macro. The result is rendered like any other node. It must not
//! run anything.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

use super::config::{self, ConfigMap};
use super::jinja::macros::{MacroModule, Signature};
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
    "trust_constraints",
    "meta",
    "database",
    "schema",
    "alias",
];

/// The tests tmk builds in under the names their packages give them (`dbt_utils.recency`);
/// the same tests answer to their bare names.
const PACKAGE_TESTS: &[(&str, &[&str])] = &[
    (
        "dbt_utils",
        &[
            "unique_combination_of_columns",
            "expression_is_true",
            "accepted_range",
            "relationships_where",
            "recency",
        ],
    ),
    (
        "dbt_expectations",
        &[
            "expect_column_to_exist",
            "expect_column_values_to_be_of_type",
            "expect_table_row_count_to_be_between",
        ],
    ),
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

/// Read one test entry; `macros` holds the test macros (`test_<name>`) it may call.
pub fn read_test(
    file: &SourceFile,
    entry: &Yaml,
    pos: Pos,
    target: &TestTarget,
    column: Option<&str>,
    macros: &MacroModule,
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
    let Some(signature) = macros.signature(&macro_name) else {
        let names = macros.names.iter().filter_map(|name| name.strip_prefix("test_"));
        return Err(file
            .error(pos, format!("unknown data test `{full_test_name}`"))
            .maybe_hint(did_you_mean(&test_name, names))
            .detail("a generic test needs a `{% test name(model, ...) %}` block or a `test_name` macro"));
    };
    check_namespace(namespace.as_deref(), &test_name, signature)
        .map_err(|(message, hint)| file.error(pos, message).hint(hint))?;
    let mut kwargs = Map::new();
    // Where each argument was written, for errors.
    let mut argument_positions: Vec<(String, Pos)> = Vec::new();
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
                        if argument.key == "column_name" {
                            column_name = argument.value.as_str().map(str::to_string);
                            continue;
                        }
                        kwargs.insert(argument.key.clone(), argument.value.to_json());
                        argument_positions.push((argument.key.clone(), argument.key_pos));
                    }
                }
                "description" | "test_name" => {}
                key if CONFIG_ARGS.contains(&key) => {
                    test_config.insert(key.to_string(), field.value.to_json());
                }
                key => {
                    kwargs.insert(key.to_string(), field.value.to_json());
                    argument_positions.push((key.to_string(), field.key_pos));
                }
            }
        }
    }
    check_arguments(
        &full_test_name,
        signature,
        column_name.is_some(),
        &argument_positions,
    )
    .map_err(|(at, message, hint)| file.error(at.unwrap_or(pos), message).hint(hint))?;
    config::validate_values(&test_config).map_err(|message| file.error(arguments_pos, message))?;
    let (short_name, full_name) = match &custom_name {
        Some(name) => (name.clone(), name.clone()),
        None => synthesize_name(
            &test_name,
            namespace.as_deref(),
            target,
            column_name.as_deref(),
            &kwargs,
        ),
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

/// A `dbt_utils.`/`dbt_expectations.` name must be one of the tests tmk builds in for that
/// package, unless the project defines the test itself; other namespaces are not checked.
/// The error is a message and a hint.
fn check_namespace(
    namespace: Option<&str>,
    test_name: &str,
    signature: &Signature,
) -> std::result::Result<(), (String, String)> {
    let Some(namespace) = namespace else {
        return Ok(());
    };
    let Some((_, tests)) = PACKAGE_TESTS.iter().find(|(package, _)| *package == namespace) else {
        return Ok(());
    };
    if tests.contains(&test_name) || !signature.builtin {
        return Ok(());
    }
    let listed: Vec<String> = tests.iter().map(|test| format!("`{test}`")).collect();
    Err((
        format!("tmk has no data test `{namespace}.{test_name}`"),
        format!(
            "tmk builds in these `{namespace}` tests: {}; dbt's own tests take no namespace (`{test_name}`)",
            listed.join(", ")
        ),
    ))
}

/// The arguments given must be parameters of the test macro, and every parameter without a
/// default must be given (`column_name` by the column the test is listed under, or as an
/// argument). The error is where to point (None: the test entry), a message and a hint
/// listing the test's arguments.
fn check_arguments(
    test: &str,
    signature: &Signature,
    has_column: bool,
    given: &[(String, Pos)],
) -> std::result::Result<(), (Option<Pos>, String, String)> {
    let parameters: Vec<&str> = signature
        .parameters
        .iter()
        .map(|parameter| parameter.name.as_str())
        .filter(|name| *name != "model")
        .collect();
    let takes_column = parameters.contains(&"column_name");
    if has_column && !takes_column {
        return Err((
            None,
            format!("data test `{test}` checks a whole model, not a column"),
            format!(
                "list it under the model's `data_tests:`, not a column's; {}",
                arguments_listing(test, signature)
            ),
        ));
    }
    for (name, pos) in given {
        if !parameters.contains(&name.as_str()) {
            let listing = arguments_listing(test, signature);
            let hint = match did_you_mean(name, parameters.iter().copied()) {
                Some(suggestion) => format!("{suggestion} {listing}"),
                None => listing,
            };
            return Err((
                Some(*pos),
                format!("unknown argument `{name}` for data test `{test}`"),
                hint,
            ));
        }
    }
    for parameter in signature.parameters.iter().filter(|parameter| parameter.required) {
        let name = parameter.name.as_str();
        let present = match name {
            "model" => true,
            "column_name" => has_column,
            _ => given.iter().any(|(given, _)| given == name),
        };
        if !present {
            let hint = if name == "column_name" {
                format!(
                    "`{test}` checks a column: list it under the column's `data_tests:`, or give `column_name:`"
                )
            } else {
                arguments_listing(test, signature)
            };
            return Err((
                None,
                format!("data test `{test}` needs the argument `{name}`"),
                hint,
            ));
        }
    }
    Ok(())
}

/// `` `accepted_range` takes `min_value`, `max_value` (optional) `` for hints; the tested model
/// and column are not arguments one writes.
fn arguments_listing(test: &str, signature: &Signature) -> String {
    let written: Vec<String> = signature
        .parameters
        .iter()
        .filter(|parameter| parameter.name != "model" && parameter.name != "column_name")
        .map(|parameter| {
            let optional = if parameter.required { "" } else { " (optional)" };
            format!("`{}`{optional}", parameter.name)
        })
        .collect();
    if written.is_empty() {
        format!("`{test}` takes no arguments")
    } else {
        format!("`{test}` takes {}", written.join(", "))
    }
}

/// dbt's `synthesize_generic_test_names`; a namespaced test's name starts with the namespace.
fn synthesize_name(
    test_name: &str,
    namespace: Option<&str>,
    target: &TestTarget,
    column: Option<&str>,
    kwargs: &Map<String, Value>,
) -> (String, String) {
    let (test_type, target_name) = match target {
        TestTarget::Node(name) => (test_name.to_string(), name.to_string()),
        TestTarget::Source(source, table) => (format!("source_{test_name}"), format!("{source}_{table}")),
    };
    let test_type = match namespace {
        Some(namespace) => format!("{namespace}_{test_type}"),
        None => test_type,
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
    use crate::compile::jinja::macros::Parameter;
    use serde_json::json;

    fn kwargs(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_match_dbt() {
        let target = TestTarget::Node("orders");
        assert_eq!(
            synthesize_name("not_null", None, &target, Some("order_id"), &Map::new()).0,
            "not_null_orders_order_id"
        );
        let relationships = kwargs(json!({"to": "ref('customers')", "field": "customer_id"}));
        assert_eq!(
            synthesize_name(
                "relationships",
                None,
                &target,
                Some("customer_id"),
                &relationships
            )
            .0,
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        let values =
            kwargs(json!({"values": ["placed", "shipped", "completed", "return_pending", "returned"]}));
        let (short, full) = synthesize_name("accepted_values", None, &target, Some("status"), &values);
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
            synthesize_name("unique", None, &target, Some("id"), &Map::new()).0,
            "source_unique_raw_orders_id"
        );
    }

    #[test]
    fn namespaced_names_start_with_the_namespace() {
        let arguments = kwargs(json!({"expression": "amount > 0"}));
        assert_eq!(
            synthesize_name(
                "expression_is_true",
                Some("dbt_utils"),
                &TestTarget::Node("orders"),
                None,
                &arguments
            )
            .0,
            "dbt_utils_expression_is_true_orders_amount_0"
        );
        assert_eq!(
            synthesize_name(
                "recency",
                Some("dbt_utils"),
                &TestTarget::Source("raw", "orders"),
                None,
                &kwargs(json!({"field": "at", "datepart": "hour", "interval": 2}))
            )
            .0,
            "dbt_utils_source_recency_raw_orders_hour__at__2"
        );
    }

    /// `(model, column_name, min_value=none, max_value=none)`, built in unless `builtin` is false.
    fn range_signature(builtin: bool) -> Signature {
        let parameter = |name: &str, required: bool| Parameter {
            name: name.to_string(),
            required,
        };
        Signature {
            parameters: vec![
                parameter("model", true),
                parameter("column_name", true),
                parameter("min_value", false),
                parameter("max_value", false),
            ],
            builtin,
        }
    }

    #[test]
    fn arguments_are_checked_against_the_macro_parameters() {
        let signature = range_signature(true);
        let at = Pos { line: 3, column: 7 };
        let given = |names: &[&str]| -> Vec<(String, Pos)> {
            names.iter().map(|name| (name.to_string(), at)).collect()
        };
        assert!(check_arguments("accepted_range", &signature, true, &given(&["min_value"])).is_ok());
        assert_eq!(
            check_arguments("accepted_range", &signature, true, &given(&["min_valu"])),
            Err((
                Some(at),
                "unknown argument `min_valu` for data test `accepted_range`".to_string(),
                "did you mean `min_value`? `accepted_range` takes `min_value` (optional), `max_value` (optional)"
                    .to_string()
            ))
        );
        let missing_column = check_arguments("accepted_range", &signature, false, &[]);
        assert!(missing_column.is_err_and(|(pos, message, _)| pos.is_none()
            && message == "data test `accepted_range` needs the argument `column_name`"));
        let whole_model = Signature {
            parameters: vec![Parameter {
                name: "model".to_string(),
                required: true,
            }],
            builtin: true,
        };
        assert!(
            check_arguments("not_empty", &whole_model, true, &[])
                .is_err_and(|(_, message, _)| message.contains("checks a whole model"))
        );
    }

    #[test]
    fn package_names_must_name_a_test_of_that_package() {
        assert!(check_namespace(None, "not_null", &range_signature(true)).is_ok());
        assert!(check_namespace(Some("dbt_utils"), "accepted_range", &range_signature(true)).is_ok());
        assert!(
            check_namespace(Some("dbt_utils"), "not_null", &range_signature(true))
                .is_err_and(|(message, _)| message == "tmk has no data test `dbt_utils.not_null`")
        );
        // A project that defines the test itself may call it by any name.
        assert!(check_namespace(Some("dbt_utils"), "not_null", &range_signature(false)).is_ok());
        assert!(check_namespace(Some("my_project"), "not_null", &range_signature(true)).is_ok());
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
