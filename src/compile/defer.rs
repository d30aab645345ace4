//! `--defer`: which nodes that a command does not build read an earlier run's relations
//! instead of their own, as dbt defers: a change is built in a CI or development schema
//! against production's tables, without building its parents there first. Sets what refs to
//! those nodes render. (Not to be confused with nodes whose Jinja queries the database, which
//! are compiled just before they run: `Manifest::compile_deferred`.) Pure: the earlier run's
//! relations and which relations exist are given.

use std::collections::HashSet;
use std::sync::Arc;

use super::Manifest;
use super::node::{DeferRelation, Materialization, Relation};

/// Which nodes a command defers, given each node's relation in the earlier run.
pub struct DeferRule<'a> {
    /// `--favor-state`: an unselected node is deferred even when the target has its relation.
    pub favor_state: bool,
    /// The nodes the command builds: never deferred, they exist by the time they are read.
    pub built: &'a HashSet<usize>,
    /// The selected nodes.
    pub selected: &'a HashSet<usize>,
}

impl DeferRule<'_> {
    /// Whether node `index`, whose own relation exists in the target or not (`exists`), reads
    /// its earlier relation: dbt's rule (favored state and unselected, or missing), for a node
    /// this command does not build.
    fn defers(&self, index: usize, exists: bool) -> bool {
        !self.built.contains(&index) && ((self.favor_state && !self.selected.contains(&index)) || !exists)
    }
}

impl Manifest {
    /// Give each node its relation in the earlier run (`earlier`, by node index; None where
    /// it had none to read: ephemeral, a test, absent) as its `defer_relation`, as dbt does,
    /// and defer those `rule` defers, given which of the nodes' own relations `exists`: refs
    /// to them then render the earlier relation. Returns the deferred nodes' indices.
    pub fn defer(
        &mut self,
        earlier: Vec<Option<DeferRelation>>,
        rule: &DeferRule,
        exists: impl Fn(&Relation) -> bool,
    ) -> Vec<usize> {
        let mut lookup = (*self.lookup).clone();
        let mut deferred = Vec::new();
        for (index, earlier) in earlier.into_iter().enumerate() {
            let node = &mut self.nodes[index];
            let Some(earlier) = earlier else { continue };
            let earlier = Arc::new(earlier);
            node.defer_relation = Some(earlier.clone());
            let Some(own) = &node.relation else { continue };
            if node.materialized == Materialization::Ephemeral
                || earlier.relation == *own
                || !rule.defers(index, exists(own))
            {
                continue;
            }
            if let Some(target) = lookup.refs.get_mut(&node.name) {
                target.relation = Some(earlier.relation.clone());
            }
            if let Some(event_time) = lookup.event_times.get(own).cloned() {
                lookup.event_times.insert(earlier.relation.clone(), event_time);
            }
            node.deferred = true;
            deferred.push(index);
        }
        self.lookup = Arc::new(lookup);
        deferred
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_deferred_when_missing_or_unselected_with_favor_state_and_never_when_built() {
        let built = HashSet::from([0]);
        let selected = HashSet::from([0, 1]);
        let rule = |favor_state| DeferRule {
            favor_state,
            built: &built,
            selected: &selected,
        };
        // Built by the command: never, even when missing.
        assert!(!rule(false).defers(0, false));
        assert!(!rule(true).defers(0, false));
        // Selected, not built (a test run): only when missing.
        assert!(rule(false).defers(1, false));
        assert!(!rule(false).defers(1, true));
        assert!(!rule(true).defers(1, true));
        // Unselected: when missing, or always with --favor-state.
        assert!(rule(false).defers(2, false));
        assert!(!rule(false).defers(2, true));
        assert!(rule(true).defers(2, true));
    }
}
