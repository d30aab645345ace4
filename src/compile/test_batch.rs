//! One scan per table: the generic tests of a run that check the same relation row by row
//! (not_null, accepted_values, accepted_range, expression_is_true) are combined into one query
//! that counts each test's failures with `count(*) filter (where ..)` (accepted_values: the
//! distinct bad values, as dbt counts them), instead of one query per test (dbt-core #4346).
//! Each test's count, `limit`, `warn_if` and `error_if` are applied exactly as if it ran alone.
//! Pure: the plan holds the batches, the adapter runs them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Manifest;
use super::node::{Node, Relation, TestedRelation};
use super::quarantine::failing_condition;

/// One test of a batch: its node and the aggregate that counts its failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchedTest {
    /// The test's node index.
    pub node: usize,
    /// `count(*) filter (where ..)` or `count(distinct ..) filter (where ..)`.
    pub count: String,
    /// The test's `limit`: its failures are at most this many.
    pub limit: Option<i64>,
    /// `warn_if`, a comparison like `!= 0`.
    pub warn_if: String,
    /// `error_if`.
    pub error_if: String,
}

/// The tests of one relation, answered by one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBatch {
    /// The relation they check.
    pub relation: Relation,
    /// The tests, in plan order.
    pub tests: Vec<BatchedTest>,
}

impl TestBatch {
    /// The query: per test, its failures as text and whether they warn and error.
    pub fn sql(&self) -> String {
        let counts: Vec<String> = self
            .tests
            .iter()
            .enumerate()
            .map(|(position, test)| format!("{} as tmk_count_{position}", test.count))
            .collect();
        let outputs: Vec<String> = self
            .tests
            .iter()
            .enumerate()
            .map(|(position, test)| {
                let failures = match test.limit {
                    Some(limit) => format!("least(tmk_count_{position}, {limit})"),
                    None => format!("tmk_count_{position}"),
                };
                format!(
                    "{failures}::text, {failures} {}, {failures} {}",
                    test.warn_if, test.error_if
                )
            })
            .collect();
        format!(
            "select {}\nfrom (\n    select\n        {}\n    from {}\n) as tmk_counts",
            outputs.join(",\n    "),
            counts.join(",\n        "),
            self.relation.render()
        )
    }
}

/// The batches for the planned tests `tests` (node indices): tests that can be combined,
/// grouped by relation; a relation with a single such test keeps its own query.
pub fn batches(manifest: &Manifest, tests: &[usize]) -> Vec<TestBatch> {
    let mut by_relation: BTreeMap<Relation, Vec<BatchedTest>> = BTreeMap::new();
    for &index in tests {
        if let Some((relation, test)) = batched(manifest, index) {
            by_relation.entry(relation).or_default().push(test);
        }
    }
    by_relation
        .into_iter()
        .filter(|(_, tests)| tests.len() > 1)
        .map(|(relation, tests)| TestBatch { relation, tests })
        .collect()
}

/// The test at `index` as a batch member, when it can be one.
fn batched(manifest: &Manifest, index: usize) -> Option<(Relation, BatchedTest)> {
    let node = &manifest.nodes[index];
    let test = node.test.as_ref()?;
    if node.needs_database || node.compile_error.is_some() || !plain_counting(node) {
        return None;
    }
    if !matches!(test.namespace.as_deref(), None | Some("dbt") | Some("dbt_utils")) {
        return None;
    }
    let relation = match &test.tested {
        TestedRelation::Node(_) => manifest.nodes[test.attached_node?].relation.clone()?,
        TestedRelation::Source(source, table) => manifest
            .lookup
            .sources
            .get(&(source.clone(), table.clone()))?
            .clone(),
    };
    let condition = match test.name.as_str() {
        "not_null" | "accepted_values" | "accepted_range" | "expression_is_true" => {
            failing_condition(manifest, node)?
        }
        _ => return None,
    };
    let count = match (test.name.as_str(), test.column_name.as_deref()) {
        // dbt's accepted_values returns one row per bad value.
        ("accepted_values", Some(column)) => format!("count(distinct {column}) filter (where {condition})"),
        _ => format!("count(*) filter (where {condition})"),
    };
    let text = |key: &str| {
        node.config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("!= 0")
            .to_string()
    };
    Some((
        relation,
        BatchedTest {
            node: index,
            count,
            limit: node.config.get("limit").and_then(Value::as_i64),
            warn_if: text("warn_if"),
            error_if: text("error_if"),
        },
    ))
}

/// Whether the test's result is dbt's plain count of failing rows (no `fail_calc`, nothing
/// stored).
fn plain_counting(node: &Node) -> bool {
    let fail_calc = node
        .config
        .get("fail_calc")
        .and_then(Value::as_str)
        .unwrap_or("count(*)");
    let stores = node
        .config
        .get("store_failures")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || node
            .config
            .get("store_failures_as")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind != "ephemeral");
    fail_calc.trim() == "count(*)" && !stores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_counts_each_test_and_applies_its_limit_and_thresholds() {
        let batch = TestBatch {
            relation: Relation {
                database: "db".into(),
                schema: "s".into(),
                identifier: "orders".into(),
            },
            tests: vec![
                BatchedTest {
                    node: 3,
                    count: "count(*) filter (where id is null)".into(),
                    limit: None,
                    warn_if: "!= 0".into(),
                    error_if: "!= 0".into(),
                },
                BatchedTest {
                    node: 4,
                    count: "count(distinct status) filter (where status not in ('paid'))".into(),
                    limit: Some(5),
                    warn_if: "> 1".into(),
                    error_if: ">= 10".into(),
                },
            ],
        };
        assert_eq!(
            batch.sql(),
            "select tmk_count_0::text, tmk_count_0 != 0, tmk_count_0 != 0,\n    least(tmk_count_1, 5)::text, least(tmk_count_1, 5) > 1, least(tmk_count_1, 5) >= 10\nfrom (\n    select\n        count(*) filter (where id is null) as tmk_count_0,\n        count(distinct status) filter (where status not in ('paid')) as tmk_count_1\n    from \"db\".\"s\".\"orders\"\n) as tmk_counts"
        );
    }
}
