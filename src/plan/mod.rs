//! The execution plan: plain data saying which nodes run, as which kind of step, and which
//! steps each one waits for. `build` interleaves seeds, models and tests in DAG order, and a
//! node waits for its parents' tests; `run`, `seed` and `test` take their own resource types.
//! Waits go through nodes that are not in the plan (ephemeral or unselected models) to the
//! nearest planned ancestors. It can be printed and tested without a database. It must not
//! render, connect or run anything: `execute` walks the plan.

use std::collections::HashMap;

use crate::compile::Manifest;
use crate::compile::node::{Materialization, ResourceType};
use crate::compile::test_batch::{self, TestBatch};

/// Which command the plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// Seeds, models, snapshots and tests together.
    Build,
    /// Models only.
    Run,
    /// Seeds only.
    Seed,
    /// Tests only.
    Test,
    /// Snapshots only.
    Snapshot,
    /// Source freshness checks only (`tmk source freshness`).
    Freshness,
    /// Extracts of `loader: tmk` sources only (`tmk extract`).
    Extract,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAction {
    /// Build a model (view, table, ...).
    Model(Materialization),
    /// Load a seed.
    Seed,
    /// Build a snapshot.
    Snapshot,
    /// Run a data test.
    Test,
    /// Check a source table's freshness.
    Freshness,
    /// Copy a `loader: tmk` source table's new and changed rows into the target.
    Extract,
}

impl StepAction {
    /// A short word for output (`view`, `table`, `seed`, `test`).
    pub fn describe(self) -> &'static str {
        match self {
            StepAction::Model(materialization) => materialization.as_str(),
            StepAction::Seed => "seed",
            StepAction::Snapshot => "snapshot",
            StepAction::Test => "test",
            StepAction::Freshness => "freshness",
            StepAction::Extract => "extract",
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The node (index into the manifest's nodes).
    pub node: usize,
    /// What to do.
    pub action: StepAction,
    /// Steps (indices into `Plan::steps`) that must finish first.
    pub waits_for: Vec<usize>,
    /// Rebuild from scratch (`--full-refresh`, unless the node's config says otherwise).
    pub full_refresh: bool,
    /// For a test answered with others of its relation by one query: which batch, and its
    /// place in it.
    pub batch: Option<BatchSlot>,
}

/// A test's place in a batch of [`Plan::test_batches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSlot {
    /// Index into `Plan::test_batches`.
    pub batch: usize,
    /// Index into that batch's tests.
    pub position: usize,
}

/// The steps of a run, in a topological order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
    /// Tests of one relation counted by one query (one scan per table).
    pub test_batches: Vec<TestBatch>,
}

impl Plan {
    /// Plan `kind` over the selected node indices.
    pub fn new(manifest: &Manifest, selected: &[usize], kind: PlanKind, full_refresh: bool) -> Plan {
        let mut is_selected = vec![false; manifest.nodes.len()];
        for &index in selected {
            is_selected[index] = true;
        }
        if kind == PlanKind::Build {
            // A build extracts the `loader: tmk` sources its models and snapshots read, and
            // checks the freshness of the others, first.
            for &index in selected {
                if !matches!(
                    manifest.nodes[index].resource_type,
                    ResourceType::Model | ResourceType::Snapshot
                ) {
                    continue;
                }
                for &parent in &manifest.nodes[index].depends_on {
                    let source = &manifest.nodes[parent];
                    if source.extract.is_some() || source.freshness.is_some() {
                        is_selected[parent] = true;
                    }
                }
            }
        }
        let planned: Vec<(usize, StepAction)> = manifest
            .dag
            .topological_order()
            .into_iter()
            .filter(|&index| is_selected[index])
            .filter_map(|index| action_for(manifest, index, kind).map(|action| (index, action)))
            .collect();
        let step_of: HashMap<usize, usize> = planned
            .iter()
            .enumerate()
            .map(|(step, (node, _))| (*node, step))
            .collect();
        let tests_of = tests_by_parent(manifest, &step_of);
        let position = topological_positions(manifest);
        let mut steps = planned
            .iter()
            .map(|&(node, action)| {
                let mut waits_for = Vec::new();
                let mut downstream = None;
                if kind != PlanKind::Test {
                    for parent in planned_ancestors(manifest, node, &step_of) {
                        waits_for.push(step_of[&parent]);
                        if kind == PlanKind::Build && action != StepAction::Test {
                            for &test_step in tests_of.get(&parent).into_iter().flatten() {
                                let test = planned[test_step].0;
                                if !depends_on_node(manifest, test, node, &position, &mut downstream) {
                                    waits_for.push(test_step);
                                }
                            }
                        }
                    }
                }
                waits_for.sort_unstable();
                waits_for.dedup();
                Step {
                    node,
                    action,
                    waits_for,
                    full_refresh: manifest.nodes[node].full_refresh(full_refresh),
                    batch: None,
                }
            })
            .collect::<Vec<_>>();
        let tests: Vec<usize> = planned
            .iter()
            .filter(|(_, action)| *action == StepAction::Test)
            .map(|(node, _)| *node)
            .collect();
        let test_batches = test_batch::batches(manifest, &tests);
        for (batch, tests) in test_batches.iter().enumerate() {
            for (position, test) in tests.tests.iter().enumerate() {
                steps[step_of[&test.node]].batch = Some(BatchSlot { batch, position });
            }
        }
        Plan { steps, test_batches }
    }

    /// One line per step: `index  action  unique_id  after waits`.
    /// A batched test says which batch (`[batch 1]`); the batches follow, one line each.
    pub fn describe(&self, manifest: &Manifest) -> String {
        let mut lines: Vec<String> = self
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let waits: Vec<String> = step.waits_for.iter().map(|wait| (wait + 1).to_string()).collect();
                format!(
                    "{:>4}  {:<9} {}{}{}",
                    index + 1,
                    step.action.describe(),
                    manifest.nodes[step.node].unique_id,
                    if waits.is_empty() {
                        String::new()
                    } else {
                        format!("  after {}", waits.join(","))
                    },
                    step.batch
                        .map(|slot| format!("  [batch {}]", slot.batch + 1))
                        .unwrap_or_default()
                )
            })
            .collect();
        lines.extend(self.test_batches.iter().enumerate().map(|(index, batch)| {
            format!(
                "batch {}: {} tests of {} in one query",
                index + 1,
                batch.tests.len(),
                batch.relation.render()
            )
        }));
        lines.join("\n")
    }
}

fn action_for(manifest: &Manifest, index: usize, kind: PlanKind) -> Option<StepAction> {
    let node = &manifest.nodes[index];
    let action = match node.resource_type {
        ResourceType::Seed => StepAction::Seed,
        ResourceType::Snapshot => StepAction::Snapshot,
        ResourceType::Test => StepAction::Test,
        // An extracted source is fresh by construction: a build extracts it instead of checking
        // it, while `tmk source freshness` still checks it.
        ResourceType::Source if node.extract.is_some() && kind != PlanKind::Freshness => StepAction::Extract,
        ResourceType::Source if node.freshness.is_some() => StepAction::Freshness,
        ResourceType::Model if node.is_buildable() => StepAction::Model(node.materialized),
        _ => return None,
    };
    let wanted = match kind {
        PlanKind::Build => true,
        PlanKind::Run => matches!(action, StepAction::Model(_)),
        PlanKind::Seed => action == StepAction::Seed,
        PlanKind::Test => action == StepAction::Test,
        PlanKind::Snapshot => action == StepAction::Snapshot,
        PlanKind::Freshness => action == StepAction::Freshness,
        PlanKind::Extract => action == StepAction::Extract,
    };
    wanted.then_some(action)
}

/// Each node's position in the topological order.
fn topological_positions(manifest: &Manifest) -> Vec<usize> {
    let mut position = vec![0; manifest.nodes.len()];
    for (index, node) in manifest.dag.topological_order().into_iter().enumerate() {
        position[node] = index;
    }
    position
}

/// Whether `test` depends on `node` or on anything downstream of it (then `node` must not wait
/// for it: a relationships test from a child to its parent is such a test). Parents earlier in
/// the topological order than `node` cannot be downstream; only otherwise are `node`'s
/// descendants computed, once per node.
fn depends_on_node(
    manifest: &Manifest,
    test: usize,
    node: usize,
    position: &[usize],
    downstream: &mut Option<std::collections::BTreeSet<usize>>,
) -> bool {
    manifest.nodes[test].depends_on.iter().any(|&parent| {
        parent == node
            || (position[parent] > position[node]
                && downstream
                    .get_or_insert_with(|| manifest.dag.descendants(node, None))
                    .contains(&parent))
    })
}

/// For each planned node, the planned tests that depend on it.
fn tests_by_parent(manifest: &Manifest, step_of: &HashMap<usize, usize>) -> HashMap<usize, Vec<usize>> {
    let mut tests: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&node, &step) in step_of {
        if manifest.nodes[node].resource_type == ResourceType::Test {
            for &parent in &manifest.nodes[node].depends_on {
                tests.entry(parent).or_default().push(step);
            }
        }
    }
    tests
}

/// The nearest ancestors of `node` that are in the plan, looking through unplanned nodes.
fn planned_ancestors(manifest: &Manifest, node: usize, step_of: &HashMap<usize, usize>) -> Vec<usize> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::from([node]);
    let mut stack: Vec<usize> = manifest.nodes[node].depends_on.clone();
    while let Some(parent) = stack.pop() {
        if !seen.insert(parent) {
            continue;
        }
        if step_of.contains_key(&parent) {
            found.push(parent);
        } else {
            stack.extend(manifest.nodes[parent].depends_on.iter().copied());
        }
    }
    found
}
