//! Quarantine (`quarantine: true` on a table or incremental model): the row-level tests
//! attached to the model — not_null, accepted_values, accepted_range, expression_is_true,
//! relationships — turned into conditions that pick each failing row, so the build can move
//! those rows to `<schema>_quarantine.<model>` (with the failed check's name) and keep only
//! the clean ones. Pure: the adapter runs the statements.

use serde_json::Value;

use super::Manifest;
use super::contract::{ForeignTarget, foreign_target};
use super::node::{Node, Relation};

/// One check of a quarantined model: its name and the condition its failing rows meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineCheck {
    /// The test's name (`not_null_orders_amount`).
    pub name: String,
    /// A condition on the model's rows (columns unqualified) true for failing rows.
    pub failing: String,
}

/// The checks of the model at `index` that quarantine can apply: its row-level generic tests.
/// Tests of other kinds (unique, custom) still run after the build as usual.
pub fn checks(manifest: &Manifest, index: usize) -> Vec<QuarantineCheck> {
    manifest
        .nodes
        .iter()
        .filter(|node| {
            node.test
                .as_ref()
                .is_some_and(|test| test.attached_node == Some(index))
        })
        .filter(|node| node.config.get("enabled").and_then(Value::as_bool) != Some(false))
        .filter_map(|node| {
            Some(QuarantineCheck {
                name: node.name.clone(),
                failing: failing_condition(manifest, node)?,
            })
        })
        .collect()
}

/// The condition of a test's failing rows, when it is a row-level test (its `where` included).
pub(super) fn failing_condition(manifest: &Manifest, test_node: &Node) -> Option<String> {
    let test = test_node.test.as_ref()?;
    let argument = |key: &str| test.kwargs.get(key);
    let column = test.column_name.as_deref();
    let condition = match (test.name.as_str(), column) {
        ("not_null", Some(column)) => format!("{column} is null"),
        ("accepted_values", Some(column)) => {
            let quote = argument("quote").and_then(Value::as_bool).unwrap_or(true);
            let values: Vec<String> = argument("values")?
                .as_array()?
                .iter()
                .map(|value| literal(value, quote))
                .collect();
            format!("{column} is not null and {column} not in ({})", values.join(", "))
        }
        ("accepted_range", Some(column)) => {
            let inclusive = argument("inclusive").and_then(Value::as_bool).unwrap_or(true);
            let (low, high) = if inclusive { (">=", "<=") } else { (">", "<") };
            let mut bounds = Vec::new();
            if let Some(min) = argument("min_value").filter(|value| !value.is_null()) {
                bounds.push(format!("{column} {low} {}", literal(min, false)));
            }
            if let Some(max) = argument("max_value").filter(|value| !value.is_null()) {
                bounds.push(format!("{column} {high} {}", literal(max, false)));
            }
            if bounds.is_empty() {
                return None;
            }
            format!("{column} is not null and not ({})", bounds.join(" and "))
        }
        ("expression_is_true", _) => {
            let expression = argument("expression")?.as_str()?;
            let expression = match column {
                Some(column) => format!("{column} {expression}"),
                None => expression.to_string(),
            };
            format!("not ({expression})")
        }
        ("relationships", Some(column)) => {
            let parent = resolve(manifest, argument("to")?.as_str()?)?;
            let field = argument("field")?.as_str()?;
            format!(
                "{column} is not null and not exists (select from {} as tmk_parent where tmk_parent.{field} = {column})",
                parent.render()
            )
        }
        _ => return None,
    };
    // A test's `where` limits the rows it checks.
    Some(match test_node.config.get("where").and_then(Value::as_str) {
        Some(condition_where) => format!("({condition_where}) and ({condition})"),
        None => condition,
    })
}

fn resolve(manifest: &Manifest, to: &str) -> Option<Relation> {
    match foreign_target(to) {
        ForeignTarget::Ref(name) => manifest.lookup.refs.get(name)?.relation.clone(),
        ForeignTarget::Source(source, table) => manifest
            .lookup
            .sources
            .get(&(source.to_string(), table.to_string()))
            .cloned(),
        ForeignTarget::Written(_) => None,
    }
}

/// A YAML value as a SQL literal (strings quoted when `quote`).
fn literal(value: &Value, quote: bool) -> String {
    match value {
        Value::String(text) if quote => format!("'{}'", text.replace('\'', "''")),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_quote_strings_only_when_asked() {
        assert_eq!(literal(&json!("it's"), true), "'it''s'");
        assert_eq!(literal(&json!("1"), false), "1");
        assert_eq!(literal(&json!(2.5), true), "2.5");
    }
}
