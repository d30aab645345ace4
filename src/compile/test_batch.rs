//! One scan per table: the generic tests of a run that check the same relation row by row
//! (not_null, accepted_values, accepted_range, expression_is_true) are combined into one query
//! that counts each test's failing rows with `count(*) filter (where ..)` — an aggregate
//! PostgreSQL runs in parallel — instead of one query per test (dbt-core #4346). dbt counts an
//! accepted_values test's distinct bad values, not its rows: only when it has bad rows is that
//! count taken, by a query of its own. Each test's `limit`, `warn_if` and `error_if` then apply
//! exactly as if it ran alone. Pure: the plan holds the batches, the adapter runs them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Manifest;
use super::config::{ConfigExt, store_failures_as};
use super::node::{Node, Relation, TestMetadata, TestedRelation};
use super::quarantine::failing_condition;

/// One test of a batch: its node and the aggregate that counts its failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchedTest {
    /// The test's node index.
    pub node: usize,
    /// `count(*) filter (where ..)`: its failing rows.
    pub count: String,
    /// When the failures are not the failing rows (accepted_values: distinct bad values), the
    /// query that counts them, run only when there are failing rows.
    pub recount: Option<String>,
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
    /// The one scan: each test's failing rows.
    pub fn count_sql(&self) -> String {
        let counts: Vec<String> = self.tests.iter().map(|test| test.count.clone()).collect();
        format!(
            "select\n    {}\nfrom {}",
            counts.join(",\n    "),
            self.relation.render()
        )
    }

    /// Each test's failures (after `limit`) and whether they warn and error, given its
    /// failures before `limit` (see `thresholds_sql`).
    pub fn threshold_sql(&self, failures: &[i64]) -> String {
        let counts: Vec<(i64, &str, &str)> = self
            .tests
            .iter()
            .zip(failures)
            .map(|(test, failures)| {
                let failures = test.limit.map_or(*failures, |limit| (*failures).min(limit));
                (failures, test.warn_if.as_str(), test.error_if.as_str())
            })
            .collect();
        thresholds_sql(&counts)
    }
}

/// dbt's `warn_if` and `error_if` when a test sets none.
pub const DEFAULT_THRESHOLD: &str = "!= 0";

/// A query of constants, no scan, that applies tests' thresholds to their known failures:
/// for each `(failures, warn_if, error_if)`, three columns — the failures, whether they warn,
/// whether they error.
pub fn thresholds_sql(counts: &[(i64, &str, &str)]) -> String {
    let outputs: Vec<String> = counts
        .iter()
        .map(|(failures, warn_if, error_if)| {
            format!("{failures}::bigint, {failures} {warn_if}, {failures} {error_if}")
        })
        .collect();
    format!("select {}", outputs.join(",\n    "))
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
    let relation = tested_relation(manifest, test)?;
    let condition = match test.name.as_str() {
        "not_null" | "accepted_values" | "accepted_range" | "expression_is_true" => {
            failing_condition(manifest, node)?
        }
        _ => return None,
    };
    let recount = match (test.name.as_str(), test.column_name.as_deref()) {
        // dbt's accepted_values returns one row per bad value.
        ("accepted_values", Some(column)) => Some(format!(
            "select count(distinct {column}) from {} where {condition}",
            relation.render()
        )),
        _ => None,
    };
    let text = |key: &str| {
        node.config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_THRESHOLD)
            .to_string()
    };
    Some((
        relation,
        BatchedTest {
            node: index,
            count: format!("count(*) filter (where {condition})"),
            recount,
            limit: node.config.get("limit").and_then(Value::as_i64),
            warn_if: text("warn_if"),
            error_if: text("error_if"),
        },
    ))
}

/// The relation a test checks: its model's, seed's or snapshot's (the earlier run's, when the
/// node is deferred), or its source table.
pub(super) fn tested_relation(manifest: &Manifest, test: &TestMetadata) -> Option<Relation> {
    match &test.tested {
        TestedRelation::Node(_) => manifest.nodes[test.attached_node?].read_relation().cloned(),
        TestedRelation::Source(source, table) => manifest
            .lookup
            .sources
            .get(&(source.clone(), table.clone()))
            .cloned(),
    }
}

/// Whether the test's result is dbt's plain count of failing rows (no `fail_calc`, nothing
/// stored).
pub(super) fn plain_counting(node: &Node) -> bool {
    let fail_calc = node.config.text("fail_calc").unwrap_or("count(*)");
    fail_calc.trim() == "count(*)" && store_failures_as(&node.config).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scan_counts_rows_and_thresholds_apply_the_limit() {
        let test = |count: &str, limit: Option<i64>, warn_if: &str| BatchedTest {
            node: 0,
            count: count.to_string(),
            recount: None,
            limit,
            warn_if: warn_if.to_string(),
            error_if: "!= 0".to_string(),
        };
        let batch = TestBatch {
            relation: Relation {
                database: "db".into(),
                schema: "s".into(),
                identifier: "orders".into(),
            },
            tests: vec![
                test("count(*) filter (where id is null)", None, "!= 0"),
                test("count(*) filter (where amount < 0)", Some(5), "> 1"),
            ],
        };
        assert_eq!(
            batch.count_sql(),
            "select\n    count(*) filter (where id is null),\n    count(*) filter (where amount < 0)\nfrom \"db\".\"s\".\"orders\""
        );
        assert_eq!(
            batch.threshold_sql(&[0, 9]),
            "select 0::bigint, 0 != 0, 0 != 0,\n    5::bigint, 5 > 1, 5 != 0"
        );
    }
}
