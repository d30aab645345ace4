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
/// A row whose condition is null passes, as in dbt's queries (`where` and `filter` skip it):
/// a null value fails not_null only, and relationships, whose `not exists` would be true for it,
/// says so.
pub(super) fn failing_condition(manifest: &Manifest, test_node: &Node) -> Option<String> {
    let test = test_node.test.as_ref()?;
    // A project's own version of the test may mean something else.
    if !manifest.jinja.macros().builtin_test(&test.name) {
        return None;
    }
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
            format!("{column} not in ({})", hashed_list(values).join(", "))
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
            format!("not ({})", bounds.join(" and "))
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

/// The relation a test's `to:` names (`ref('x')`, `source('s', 't')`).
pub(super) fn resolve(manifest: &Manifest, to: &str) -> Option<Relation> {
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

/// The fewest constants for which PostgreSQL (14 and later) looks a value up in a hash table
/// built from an `in` / `not in` list instead of comparing it with each constant in turn
/// (`MIN_ARRAY_SIZE_FOR_HASHED_SAOP`).
const HASHED_LIST_LENGTH: usize = 9;

/// An accepted_values list the planner hashes: a list of three to eight values is padded to
/// nine by repeating its last value, which changes no row's result. One hash probe per row
/// instead of a comparison with each value made the 20-test scan of `bench/test_speed.sh`
/// (three lists of four and five values) 17 % faster; with one or two values the comparisons
/// are as cheap as the probe, so those lists stay as they are.
fn hashed_list(mut values: Vec<String>) -> Vec<String> {
    if (3..HASHED_LIST_LENGTH).contains(&values.len()) {
        let last = values[values.len() - 1].clone();
        values.resize(HASHED_LIST_LENGTH, last);
    }
    values
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
    fn value_lists_of_three_to_eight_are_padded_to_the_hashed_length() {
        let list = |count: usize| (0..count).map(|value| value.to_string()).collect::<Vec<_>>();
        assert_eq!(hashed_list(list(2)), list(2));
        assert_eq!(
            hashed_list(list(3)),
            ["0", "1", "2", "2", "2", "2", "2", "2", "2"]
        );
        assert_eq!(hashed_list(list(9)), list(9));
        assert_eq!(hashed_list(list(12)), list(12));
    }

    #[test]
    fn literals_quote_strings_only_when_asked() {
        assert_eq!(literal(&json!("it's"), true), "'it''s'");
        assert_eq!(literal(&json!("1"), false), "1");
        assert_eq!(literal(&json!(2.5), true), "2.5");
    }
}
