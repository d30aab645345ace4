//! The dependency graph of a project, keyed by node position.
//!
//! This file owns the petgraph representation and every graph algorithm the
//! rest of tmk needs: cycle detection (with the ordered cycle path),
//! deterministic topological order and depth-limited ancestor/descendant
//! walks. It must not know what a node *is* (names, resource types, configs):
//! that belongs to the project model and to `selector.rs`. No petgraph type
//! may appear in its public interface.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use petgraph::Direction;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// The dependency graph of a project: node indices are positions in the project's node list.
#[derive(Debug, Clone)]
pub struct Dag {
    graph: DiGraph<(), ()>,
}

/// A dependency cycle, found while building a [`Dag`].
#[derive(Debug, thiserror::Error)]
#[error("dependency cycle")]
pub struct CycleError {
    /// The cycle in edge order with its first node repeated at the end:
    /// `[a, b, c, a]` for a→b→c→a, `[a, a]` for a self-edge.
    pub path: Vec<usize>,
}

impl Dag {
    /// Build from node count and edges (parent, child). Duplicate edges are fine (deduplicated).
    ///
    /// A cycle is an error carrying the full ordered cycle path, first node
    /// repeated at the end. When there are several cycles, the one through the
    /// smallest node index that lies on any cycle is reported, starting there.
    ///
    /// # Panics
    /// If an edge names a node `>= node_count`: edges come from the caller's
    /// own node list, so that is a bug in the caller, not bad input.
    pub fn new(node_count: usize, edges: &[(usize, usize)]) -> Result<Dag, CycleError> {
        let unique_edges: BTreeSet<(usize, usize)> = edges.iter().copied().collect();
        let mut graph = DiGraph::with_capacity(node_count, unique_edges.len());
        for _ in 0..node_count {
            graph.add_node(());
        }
        for &(parent, child) in &unique_edges {
            assert!(
                parent < node_count && child < node_count,
                "edge ({parent}, {child}) names a node outside 0..{node_count}"
            );
            graph.add_edge(NodeIndex::new(parent), NodeIndex::new(child), ());
        }
        match find_cycle(&graph) {
            Some(path) => Err(CycleError { path }),
            None => Ok(Dag { graph }),
        }
    }

    /// How many nodes the graph has (edges aside, the `node_count` it was built with).
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// The direct parents of `node`, sorted; empty for a node that does not exist.
    pub fn parents(&self, node: usize) -> Vec<usize> {
        sorted_neighbors(&self.graph, node, Direction::Incoming)
    }

    /// The direct children of `node`, sorted; empty for a node that does not exist.
    pub fn children(&self, node: usize) -> Vec<usize> {
        sorted_neighbors(&self.graph, node, Direction::Outgoing)
    }

    /// Topological order, deterministic: among ready nodes, the smallest index first.
    pub fn topological_order(&self) -> Vec<usize> {
        let mut waiting_parents: Vec<usize> = (0..self.node_count())
            .map(|node| self.parents(node).len())
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> = waiting_parents
            .iter()
            .enumerate()
            .filter(|(_, waiting)| **waiting == 0)
            .map(|(node, _)| Reverse(node))
            .collect();
        let mut order = Vec::with_capacity(self.node_count());
        while let Some(Reverse(node)) = ready.pop() {
            order.push(node);
            for child in self.children(node) {
                waiting_parents[child] -= 1;
                if waiting_parents[child] == 0 {
                    ready.push(Reverse(child));
                }
            }
        }
        order
    }

    /// All ancestors up to `depth` generations (None = unlimited), not including `node`.
    pub fn ancestors(&self, node: usize, depth: Option<usize>) -> BTreeSet<usize> {
        let mut found = self.walk(&BTreeSet::from([node]), Direction::Incoming, depth);
        found.remove(&node);
        found
    }

    /// All descendants up to `depth` generations (None = unlimited), not including `node`.
    pub fn descendants(&self, node: usize, depth: Option<usize>) -> BTreeSet<usize> {
        let mut found = self.walk(&BTreeSet::from([node]), Direction::Outgoing, depth);
        found.remove(&node);
        found
    }

    /// `nodes` together with all their ancestors up to `depth` generations,
    /// in one breadth-first walk however many nodes there are.
    pub(super) fn with_ancestors(&self, nodes: &BTreeSet<usize>, depth: Option<usize>) -> BTreeSet<usize> {
        self.walk(nodes, Direction::Incoming, depth)
    }

    /// `nodes` together with all their descendants up to `depth` generations,
    /// in one breadth-first walk however many nodes there are.
    pub(super) fn with_descendants(&self, nodes: &BTreeSet<usize>, depth: Option<usize>) -> BTreeSet<usize> {
        self.walk(nodes, Direction::Outgoing, depth)
    }

    /// Layered breadth-first walk from every node of `starts` at once; returns
    /// the starts that exist plus everything within `depth` steps of them.
    fn walk(&self, starts: &BTreeSet<usize>, direction: Direction, depth: Option<usize>) -> BTreeSet<usize> {
        let mut seen = vec![false; self.node_count()];
        let mut frontier: Vec<usize> = starts
            .iter()
            .copied()
            .filter(|&node| node < self.node_count())
            .collect();
        for &node in &frontier {
            seen[node] = true;
        }
        let mut generation = 0;
        while !frontier.is_empty() && depth.is_none_or(|limit| generation < limit) {
            let mut next = Vec::new();
            for node in frontier {
                for neighbor in self.graph.neighbors_directed(NodeIndex::new(node), direction) {
                    if !seen[neighbor.index()] {
                        seen[neighbor.index()] = true;
                        next.push(neighbor.index());
                    }
                }
            }
            frontier = next;
            generation += 1;
        }
        seen.iter()
            .enumerate()
            .filter(|(_, reached)| **reached)
            .map(|(node, _)| node)
            .collect()
    }
}

/// Neighbors of `node` in one direction, as sorted positions.
fn sorted_neighbors(graph: &DiGraph<(), ()>, node: usize, direction: Direction) -> Vec<usize> {
    let mut neighbors: Vec<usize> = graph
        .neighbors_directed(NodeIndex::new(node), direction)
        .map(|neighbor| neighbor.index())
        .collect();
    neighbors.sort_unstable();
    neighbors
}

/// The ordered path of one cycle, if the graph has any: the strongly connected
/// component (or self-edge) holding the smallest node index on a cycle,
/// walked from that node.
///
/// Components come from petgraph's Kosaraju rather than its Tarjan, whose
/// recursion overflows the stack on chains thousands of nodes deep.
fn find_cycle(graph: &DiGraph<(), ()>) -> Option<Vec<usize>> {
    let mut cyclic_components: Vec<Vec<usize>> = kosaraju_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1 || graph.contains_edge(component[0], component[0]))
        .map(|component| component.into_iter().map(NodeIndex::index).collect())
        .collect();
    for component in &mut cyclic_components {
        component.sort_unstable();
    }
    cyclic_components.sort_unstable();
    cyclic_components
        .iter()
        .find_map(|component| cycle_through(graph, component))
}

/// A depth-first search inside one strongly connected `component` (sorted)
/// from its smallest node back to it, trying children in index order.
fn cycle_through(graph: &DiGraph<(), ()>, component: &[usize]) -> Option<Vec<usize>> {
    let in_component = |node: &usize| component.binary_search(node).is_ok();
    let children_inside = |node: usize| -> Vec<usize> {
        sorted_neighbors(graph, node, Direction::Outgoing)
            .into_iter()
            .filter(in_component)
            .collect()
    };
    let start = *component.first()?;
    let mut visited = BTreeSet::from([start]);
    let mut path = vec![start];
    let mut pending_children = vec![children_inside(start).into_iter()];
    while let Some(children) = pending_children.last_mut() {
        match children.next() {
            Some(child) if child == start => {
                path.push(start);
                return Some(path);
            }
            Some(child) => {
                if visited.insert(child) {
                    path.push(child);
                    pending_children.push(children_inside(child).into_iter());
                }
            }
            None => {
                pending_children.pop();
                path.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diamond a→b, a→c, b→d, c→d as 0→1, 0→2, 1→3, 2→3.
    fn diamond() -> Dag {
        Dag::new(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]).expect("diamond is acyclic")
    }

    fn set(items: &[usize]) -> BTreeSet<usize> {
        items.iter().copied().collect()
    }

    fn cycle_path(node_count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
        match Dag::new(node_count, edges) {
            Err(cycle) => cycle.path,
            Ok(_) => panic!("expected a cycle in {edges:?}"),
        }
    }

    #[test]
    fn parents_and_children_are_sorted_and_deduplicated() {
        let dag = Dag::new(4, &[(3, 0), (1, 0), (2, 0), (1, 0), (0, 3)]);
        assert!(dag.is_err(), "0→3→0 is a cycle");
        let dag = Dag::new(5, &[(3, 0), (1, 0), (2, 0), (1, 0), (0, 4), (1, 0)]).expect("acyclic");
        assert_eq!(dag.parents(0), vec![1, 2, 3]);
        assert_eq!(dag.children(1), vec![0]);
        assert_eq!(dag.children(0), vec![4]);
        assert_eq!(dag.node_count(), 5);
    }

    #[test]
    fn unknown_nodes_have_no_neighbors() {
        let dag = diamond();
        assert!(dag.parents(99).is_empty());
        assert!(dag.children(99).is_empty());
        assert!(dag.ancestors(99, None).is_empty());
    }

    #[test]
    fn topological_order_prefers_smallest_ready_node() {
        assert_eq!(diamond().topological_order(), vec![0, 1, 2, 3]);
        let dag = Dag::new(5, &[(4, 0), (3, 1), (2, 0)]).expect("acyclic");
        assert_eq!(dag.topological_order(), vec![2, 3, 1, 4, 0]);
    }

    #[test]
    fn topological_order_puts_every_parent_first() {
        let edges = [(5, 2), (5, 0), (4, 0), (4, 1), (2, 3), (3, 1)];
        let dag = Dag::new(6, &edges).expect("acyclic");
        let order = dag.topological_order();
        assert_eq!(order.len(), 6);
        let position = |node: usize| order.iter().position(|&n| n == node);
        for (parent, child) in edges {
            assert!(position(parent) < position(child), "{parent} before {child}");
        }
        assert_eq!(order, vec![4, 5, 0, 2, 3, 1]);
    }

    #[test]
    fn ancestors_and_descendants_respect_depth() {
        let dag = diamond();
        assert_eq!(dag.ancestors(3, None), set(&[0, 1, 2]));
        assert_eq!(dag.ancestors(3, Some(1)), set(&[1, 2]));
        assert_eq!(dag.ancestors(3, Some(0)), set(&[]));
        assert_eq!(dag.descendants(0, None), set(&[1, 2, 3]));
        assert_eq!(dag.descendants(0, Some(1)), set(&[1, 2]));
        assert_eq!(dag.descendants(3, None), set(&[]));
    }

    #[test]
    fn depth_counts_the_shortest_route() {
        // 0→1→2→3 and a shortcut 0→3: 0 is one generation above 3.
        let dag = Dag::new(4, &[(0, 1), (1, 2), (2, 3), (0, 3)]).expect("acyclic");
        assert_eq!(dag.ancestors(3, Some(1)), set(&[0, 2]));
        assert_eq!(dag.ancestors(3, Some(2)), set(&[0, 1, 2]));
    }

    #[test]
    fn set_walks_include_the_starting_nodes() {
        let dag = diamond();
        assert_eq!(dag.with_ancestors(&set(&[1, 2]), None), set(&[0, 1, 2]));
        assert_eq!(dag.with_descendants(&set(&[1, 2]), Some(1)), set(&[1, 2, 3]));
        assert_eq!(dag.with_descendants(&set(&[]), None), set(&[]));
    }

    #[test]
    fn three_cycle_reports_ordered_path() {
        assert_eq!(cycle_path(3, &[(0, 1), (1, 2), (2, 0)]), vec![0, 1, 2, 0]);
    }

    #[test]
    fn cycle_path_follows_edges_not_index_order() {
        // 0→2→1→0: the path must go 0, 2, 1.
        assert_eq!(cycle_path(3, &[(0, 2), (2, 1), (1, 0)]), vec![0, 2, 1, 0]);
    }

    #[test]
    fn cycle_away_from_node_zero_starts_at_its_smallest_node() {
        let edges = [(0, 1), (1, 2), (2, 3), (3, 1), (3, 4)];
        assert_eq!(cycle_path(5, &edges), vec![1, 2, 3, 1]);
    }

    #[test]
    fn cycle_path_is_a_real_cycle_in_a_tangled_component() {
        let edges = [(0, 1), (1, 2), (2, 3), (3, 1), (2, 0), (3, 4), (4, 0)];
        let path = cycle_path(5, &edges);
        assert_eq!(path.first(), Some(&0));
        assert_eq!(path.first(), path.last());
        for step in path.windows(2) {
            assert!(edges.contains(&(step[0], step[1])), "{step:?} is no edge");
        }
        assert_eq!(path, vec![0, 1, 2, 0]);
    }

    #[test]
    fn self_edge_is_a_cycle() {
        assert_eq!(cycle_path(3, &[(0, 1), (2, 2)]), vec![2, 2]);
    }

    #[test]
    fn cycle_error_displays_its_kind() {
        let cycle = CycleError { path: vec![1, 1] };
        assert_eq!(cycle.to_string(), "dependency cycle");
    }

    #[test]
    fn walks_over_ten_thousand_nodes_are_fast() {
        let count = 10_000;
        let mut edges: Vec<(usize, usize)> = (1..count).map(|n| (n - 1, n)).collect();
        edges.extend((2..count).map(|n| (n - 2, n)));
        let started = std::time::Instant::now();
        let dag = Dag::new(count, &edges).expect("acyclic");
        assert_eq!(dag.ancestors(count - 1, None).len(), count - 1);
        assert_eq!(dag.descendants(0, Some(10)).len(), 20);
        assert_eq!(dag.topological_order().len(), count);
        assert!(started.elapsed().as_secs() < 2, "took {:?}", started.elapsed());
    }

    #[test]
    fn ten_thousand_node_cycle_is_walked_without_recursion() {
        let count = 10_000;
        let mut edges: Vec<(usize, usize)> = (1..count).map(|n| (n - 1, n)).collect();
        edges.push((count - 1, 0));
        let path = cycle_path(count, &edges);
        assert_eq!(path.len(), count + 1);
        assert_eq!(path[..3], [0, 1, 2]);
        assert_eq!(path[count - 1..], [count - 1, 0]);
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn edge_outside_the_node_list_is_a_caller_bug() {
        let _ = Dag::new(2, &[(0, 5)]);
    }
}
