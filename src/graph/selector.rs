//! Node selection with dbt's `--select` / `--exclude` syntax.
//!
//! This file owns the public selection API: what a selector sees of a node,
//! parsing whole arguments (whitespace is union, `,` is intersection), and
//! evaluation, including dbt's indirect selection of tests with its exact
//! direct/indirect bookkeeping through unions, intersections and exclusion.
//! It must not touch petgraph (only [`Dag`]'s methods), read files, or know
//! how nodes were loaded; one term's grammar is `criterion.rs`, and matching
//! one node is `matching.rs`.

use std::collections::BTreeSet;

use super::criterion::{Criterion, Depth, ModifiedPart};
use super::dag::Dag;
use super::matching::{is_source, is_test, matches};

/// What a selector can see of a node.
#[derive(Debug, Clone, Copy)]
pub struct SelectableNode<'a> {
    /// "stg_orders"; for a source table "orders"; for a test its test name.
    pub name: &'a str,
    /// "model" | "seed" | "snapshot" | "test" | "source" | "analysis" | "operation".
    pub resource_type: &'a str,
    /// Project name, e.g. "jaffle_shop".
    pub package: &'a str,
    /// dbt fqn: `[package, subfolders..., name]`; for sources `[package, source_name, table_name]`.
    pub fqn: &'a [String],
    /// original_file_path relative to the project root, '/'-separated: "models/staging/stg_orders.sql".
    pub path: &'a str,
    /// The node's tags.
    pub tags: &'a [String],
    /// Resolved config: materialized, schema, enabled, ...
    pub config: &'a serde_json::Map<String, serde_json::Value>,
    /// For sources only: the source's name.
    pub source_name: Option<&'a str>,
    /// "generic" | "singular" for tests.
    pub test_type: Option<&'a str>,
    /// For generic tests: "not_null", "unique", ...
    pub test_name: Option<&'a str>,
    /// How the node compares with the artifacts given with `--state` (None without it).
    pub state: Option<StateChange>,
    /// The node's status in the `--state` directory's run_results.json, when it ran there.
    pub previous_status: Option<&'a str>,
}

/// How a node compares with the manifest given with `--state`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateChange {
    /// The node is not in that manifest.
    pub new: bool,
    /// Which parts differ from that manifest's node, by [`ModifiedPart`].
    changed: [bool; ModifiedPart::ALL.len()],
    /// The node's fqn differs (its file moved): modified, though no part is.
    moved: bool,
}

impl StateChange {
    /// A node the earlier manifest does not have: every part counts as changed, as in dbt
    /// (`state:modified.body` selects new nodes too), but `macros` only when `calls_changed_macro`
    /// (dbt looks at the macros alone there).
    pub fn new_node(calls_changed_macro: bool) -> StateChange {
        let mut changed = [true; ModifiedPart::ALL.len()];
        changed[ModifiedPart::Macros as usize] = calls_changed_macro;
        StateChange {
            new: true,
            changed,
            moved: false,
        }
    }

    /// A node the earlier manifest has, with the parts that differ and whether it moved.
    pub fn old_node(changed: impl IntoIterator<Item = ModifiedPart>, moved: bool) -> StateChange {
        let mut state = StateChange {
            moved,
            ..StateChange::default()
        };
        for part in changed {
            state.changed[part as usize] = true;
        }
        state
    }

    /// Whether `part` differs.
    pub fn is_changed(&self, part: ModifiedPart) -> bool {
        self.changed[part as usize]
    }

    /// dbt's `state:modified`: new, moved, or any part differs.
    pub fn is_modified(&self) -> bool {
        self.new || self.moved || self.changed.contains(&true)
    }
}

/// A parsed selection (the union of the --select arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Union of intersections of terms.
    terms: Vec<Vec<Criterion>>,
}

impl Selection {
    /// The selection in canonical form, methods spelled out: `+fqn:d tag:a,config.materialized:table`.
    pub fn describe(&self) -> String {
        self.terms
            .iter()
            .map(|intersection| {
                intersection
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// dbt's default when `--select` is absent, minus sources: `fqn:*`.
    fn every_node_but_sources() -> Selection {
        Selection {
            terms: vec![vec![Criterion::every_node_but_sources()]],
        }
    }
}

/// A selection built of set operations, as a selectors.yml definition writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorExpr {
    /// Terms in the `--select` syntax.
    Terms(Selection),
    /// The nodes of any part.
    Union(Vec<SelectorExpr>),
    /// The nodes of every part.
    Intersection(Vec<SelectorExpr>),
    /// The nodes of the first part that are not in the second.
    Difference(Box<SelectorExpr>, Box<SelectorExpr>),
    /// A part whose tests are picked up by its own indirect selection.
    WithIndirect(IndirectSelection, Box<SelectorExpr>),
}

impl SelectorExpr {
    /// Every term of the expression in canonical form, space-separated (for checks like
    /// "does it compare with `--state`").
    pub fn describe(&self) -> String {
        match self {
            SelectorExpr::Terms(selection) => selection.describe(),
            SelectorExpr::Union(parts) | SelectorExpr::Intersection(parts) => parts
                .iter()
                .map(SelectorExpr::describe)
                .collect::<Vec<_>>()
                .join(" "),
            SelectorExpr::Difference(kept, removed) => format!("{} {}", kept.describe(), removed.describe()),
            SelectorExpr::WithIndirect(_, part) => part.describe(),
        }
    }
}

/// A `--select`/`--exclude` argument that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    /// The whole argument as given (it may hold several terms).
    pub argument: String,
    /// 1-based char column in `argument` of the offending text.
    pub column: usize,
    /// What is wrong, naming the offending text in backticks.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
}

/// How tests attached to selected nodes are picked up (dbt's --indirect-selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndirectSelection {
    /// A test is selected when any of its parents is (dbt's default).
    #[default]
    Eager,
    /// A test is selected when all of its parents are.
    Cautious,
    /// A test is selected when each parent is selected or an ancestor of a selected node.
    Buildable,
    /// Tests are selected only directly.
    Empty,
}

/// Parse `--select`/`--exclude` arguments (each argument may itself contain spaces; split on
/// whitespace). `with_state`: whether `--state` was given, which `state:` and `result:` need.
pub fn parse_selection(args: &[String], with_state: bool) -> Result<Selection, SelectorError> {
    let mut terms = Vec::new();
    for argument in args {
        for (offset, word) in pieces(argument, 0, char::is_whitespace) {
            if !word.is_empty() {
                terms.push(parse_intersection(argument, word, offset, with_state)?);
            }
        }
    }
    Ok(Selection { terms })
}

/// One whitespace-separated word: terms joined by `,`.
fn parse_intersection(
    argument: &str,
    word: &str,
    offset: usize,
    with_state: bool,
) -> Result<Vec<Criterion>, SelectorError> {
    let parts = pieces(word, offset, |c| c == ',');
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .map(|(index, &(part_offset, part))| {
            if part.is_empty() {
                Err(empty_term_error(argument, word, part_offset, index == last))
            } else {
                Criterion::parse(argument, part, part_offset, with_state)
            }
        })
        .collect()
}

/// An empty term between commas, pointing at the comma after it (or before
/// it, when it ends the word).
fn empty_term_error(argument: &str, word: &str, offset: usize, ends_word: bool) -> SelectorError {
    SelectorError {
        argument: argument.to_string(),
        column: if ends_word { offset } else { offset + 1 },
        message: format!("empty selector term in `{word}`: `,` must join two terms"),
        hint: Some("remove the extra `,`".to_string()),
    }
}

/// `text` split at every separator char, each piece with its char offset
/// (counted from `base`); empty pieces are kept.
fn pieces(text: &str, base: usize, is_separator: impl Fn(char) -> bool) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let (mut piece_byte, mut piece_char) = (0, base);
    for (char_index, (byte_index, c)) in text.char_indices().enumerate() {
        if is_separator(c) {
            found.push((piece_char, &text[piece_byte..byte_index]));
            piece_byte = byte_index + c.len_utf8();
            piece_char = base + char_index + 1;
        }
    }
    found.push((piece_char, &text[piece_byte..]));
    found
}

/// Evaluate: start from `select` (None = every node except sources), subtract `exclude`,
/// then apply indirect selection of tests: under Eager (dbt's default) a test whose parents
/// include any selected node is added; Cautious: all of its parents selected; Buildable: all parents
/// selected or ancestors of selected; Empty: no indirect tests. Tests excluded explicitly stay excluded.
/// Returns selected node indices (sorted).
///
/// Exactly as dbt does it, `exclude` takes the same indirect selection as
/// `select`: under Eager, `--exclude d` also removes every test with `d`
/// among its parents.
///
/// `nodes[i]` must describe node `i` of `dag`; a length mismatch is an error.
pub fn select(
    dag: &Dag,
    nodes: &[SelectableNode],
    select: Option<&Selection>,
    exclude: Option<&Selection>,
    indirect: IndirectSelection,
) -> Result<Vec<usize>, SelectorError> {
    let included = SelectorExpr::Terms(select.cloned().unwrap_or_else(Selection::every_node_but_sources));
    let excluded = exclude.map_or_else(
        || SelectorExpr::Union(Vec::new()),
        |selection| SelectorExpr::Terms(selection.clone()),
    );
    let expression = SelectorExpr::Difference(Box::new(included), Box::new(excluded));
    select_defined(dag, nodes, &expression, indirect)
}

/// The nodes `expression` selects (sorted), tests picked up by `indirect` as in [`select`].
pub fn select_defined(
    dag: &Dag,
    nodes: &[SelectableNode],
    expression: &SelectorExpr,
    indirect: IndirectSelection,
) -> Result<Vec<usize>, SelectorError> {
    if dag.node_count() != nodes.len() {
        return Err(SelectorError {
            argument: String::new(),
            column: 1,
            message: format!(
                "the graph has {} nodes but {} selectable nodes were given",
                dag.node_count(),
                nodes.len()
            ),
            hint: None,
        });
    }
    let evaluator = Evaluator {
        dag,
        nodes,
        mode: indirect,
    };
    Ok(evaluator.expression(expression).direct.into_iter().collect())
}

/// dbt's pair of sets for one part of a selection: nodes selected, and tests
/// that may still join once the rest of the selection is known.
#[derive(Debug, Default)]
struct Bundle {
    direct: BTreeSet<usize>,
    indirect: BTreeSet<usize>,
}

#[derive(Debug, Clone, Copy)]
enum SetOperation {
    Union,
    Intersection,
    Difference,
}

impl SetOperation {
    /// Fold the sets left to right; no sets at all give the empty set.
    fn apply(self, sets: Vec<BTreeSet<usize>>) -> BTreeSet<usize> {
        let mut sets = sets.into_iter();
        let Some(first) = sets.next() else {
            return BTreeSet::new();
        };
        sets.fold(first, |acc, set| match self {
            SetOperation::Union => &acc | &set,
            SetOperation::Intersection => &acc & &set,
            SetOperation::Difference => &acc - &set,
        })
    }
}

struct Evaluator<'a> {
    dag: &'a Dag,
    nodes: &'a [SelectableNode<'a>],
    mode: IndirectSelection,
}

impl Evaluator<'_> {
    /// A selector expression, part by part.
    fn expression(&self, expression: &SelectorExpr) -> Bundle {
        let parts = |parts: &[SelectorExpr]| parts.iter().map(|part| self.expression(part)).collect();
        match expression {
            SelectorExpr::Terms(selection) => self.selection(selection),
            SelectorExpr::Union(all) => self.combine(SetOperation::Union, parts(all)),
            SelectorExpr::Intersection(all) => self.combine(SetOperation::Intersection, parts(all)),
            SelectorExpr::Difference(kept, removed) => self.combine(
                SetOperation::Difference,
                vec![self.expression(kept), self.expression(removed)],
            ),
            SelectorExpr::WithIndirect(mode, part) => Evaluator { mode: *mode, ..*self }.expression(part),
        }
    }

    /// A union of intersections.
    fn selection(&self, selection: &Selection) -> Bundle {
        let intersections = selection
            .terms
            .iter()
            .map(|criteria| {
                let bundles = criteria.iter().map(|c| self.criterion(c)).collect();
                self.combine(SetOperation::Intersection, bundles)
            })
            .collect();
        self.combine(SetOperation::Union, intersections)
    }

    /// One term: the matching nodes, their graph neighbours, then their tests.
    fn criterion(&self, criterion: &Criterion) -> Bundle {
        let collected: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&node| matches(criterion, &self.nodes[node]))
            .collect();
        let mut selected = collected.clone();
        if criterion.childrens_parents {
            let downstream = self.dag.with_descendants(&collected, None);
            selected.extend(self.dag.with_ancestors(&downstream, None));
        }
        if let Some(Depth(depth)) = criterion.parents {
            selected.extend(self.dag.with_ancestors(&collected, depth));
        }
        if let Some(Depth(depth)) = criterion.children {
            selected.extend(self.dag.with_descendants(&collected, depth));
        }
        self.expand(selected)
    }

    /// dbt's `expand_selection`: sort the tests hanging off `selected` into
    /// selected now, or pending until more of their parents show up.
    fn expand(&self, selected: BTreeSet<usize>) -> Bundle {
        if self.mode == IndirectSelection::Empty {
            return Bundle {
                direct: selected,
                indirect: BTreeSet::new(),
            };
        }
        let buildable_upstream = if self.mode == IndirectSelection::Buildable {
            let mut upstream = self.dag.with_ancestors(&selected, None);
            upstream.extend((0..self.nodes.len()).filter(|&node| is_source(&self.nodes[node])));
            upstream
        } else {
            BTreeSet::new()
        };
        let mut bundle = Bundle::default();
        for test in self.attached_tests(&selected) {
            let parents = self.dag.parents(test);
            let all_within = |set: &BTreeSet<usize>| parents.iter().all(|p| set.contains(p));
            if self.mode == IndirectSelection::Eager
                || all_within(&selected)
                || (self.mode == IndirectSelection::Buildable && all_within(&buildable_upstream))
            {
                bundle.direct.insert(test);
            } else {
                bundle.indirect.insert(test);
            }
        }
        bundle.direct.extend(selected);
        bundle
    }

    /// Tests that are direct children of any node in `selected`.
    fn attached_tests(&self, selected: &BTreeSet<usize>) -> BTreeSet<usize> {
        selected
            .iter()
            .flat_map(|&node| self.dag.children(node))
            .filter(|&child| is_test(&self.nodes[child]))
            .collect()
    }

    /// Combine parts with a set operation, dbt-style: direct sets combine on
    /// their own, direct-or-pending sets combine alongside, and pending tests
    /// whose parents are now all covered join the direct set.
    fn combine(&self, operation: SetOperation, bundles: Vec<Bundle>) -> Bundle {
        let indirect = operation.apply(
            bundles
                .iter()
                .map(|bundle| &bundle.direct | &bundle.indirect)
                .collect(),
        );
        let direct = operation.apply(bundles.into_iter().map(|bundle| bundle.direct).collect());
        Bundle {
            direct: self.incorporate(direct, &indirect),
            indirect,
        }
    }

    /// dbt's `incorporate_indirect_nodes`.
    fn incorporate(&self, mut direct: BTreeSet<usize>, indirect: &BTreeSet<usize>) -> BTreeSet<usize> {
        let covered = match self.mode {
            IndirectSelection::Cautious => direct.clone(),
            IndirectSelection::Buildable => self.dag.with_ancestors(&direct, None),
            IndirectSelection::Eager | IndirectSelection::Empty => return direct,
        };
        // Only tests are ever pending (indirect but not direct).
        let ready: Vec<usize> = indirect
            .difference(&direct)
            .copied()
            .filter(|&node| is_test(&self.nodes[node]))
            .filter(|&test| self.dag.parents(test).iter().all(|p| covered.contains(p)))
            .collect();
        direct.extend(ready);
        direct
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    /// Owned data behind one [`SelectableNode`].
    struct NodeData {
        name: &'static str,
        resource_type: &'static str,
        package: &'static str,
        fqn: Vec<String>,
        path: &'static str,
        tags: Vec<String>,
        config: Map<String, Value>,
        source_name: Option<&'static str>,
        test_type: Option<&'static str>,
        test_name: Option<&'static str>,
        state: Option<StateChange>,
        previous_status: Option<&'static str>,
    }

    fn node(
        name: &'static str,
        resource_type: &'static str,
        fqn: &[&str],
        path: &'static str,
        tags: &[&str],
        config: Value,
    ) -> NodeData {
        NodeData {
            name,
            resource_type,
            package: "shop",
            fqn: fqn.iter().map(|s| s.to_string()).collect(),
            path,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            config: config.as_object().cloned().unwrap_or_default(),
            source_name: None,
            test_type: None,
            test_name: None,
            state: None,
            previous_status: None,
        }
    }

    /// The diamond a→b, a→c, b→d, c→d fed by source raw.orders, with a
    /// not_null test on d, a relationships test on c and d, a singular test
    /// on d, and a seed in another package.
    ///
    /// 0 a, 1 b, 2 c, 3 d, 4 not_null_d_id, 5 relationships_c_d,
    /// 6 source raw.orders, 7 assert_d_positive, 8 utils seed e.
    struct Project {
        data: Vec<NodeData>,
        dag: Dag,
    }

    impl Project {
        fn new() -> Project {
            let mut data = vec![
                node(
                    "a",
                    "model",
                    &["shop", "staging", "a"],
                    "models/staging/a.sql",
                    &["nightly"],
                    json!({"materialized": "view", "enabled": true, "tags": ["nightly"]}),
                ),
                node(
                    "b",
                    "model",
                    &["shop", "staging", "b"],
                    "models/staging/b.sql",
                    &["nightly", "pii"],
                    json!({"materialized": "table", "meta": {"owner": "ann"}}),
                ),
                node(
                    "c",
                    "model",
                    &["shop", "marts", "c"],
                    "models/marts/c.sql",
                    &["pii_email"],
                    json!({"materialized": "table", "group": "finance", "access": "public"}),
                ),
                node(
                    "d",
                    "model",
                    &["shop", "marts", "d"],
                    "models/marts/d.sql",
                    &[],
                    json!({"materialized": "incremental", "full_refresh": false, "batch": 500}),
                ),
                node(
                    "not_null_d_id",
                    "test",
                    &["shop", "marts", "not_null_d_id"],
                    "models/marts/schema.yml",
                    &[],
                    json!({"severity": "ERROR"}),
                ),
                node(
                    "relationships_c_d",
                    "test",
                    &["shop", "marts", "relationships_c_d"],
                    "models/marts/schema.yml",
                    &[],
                    json!({"severity": "warn"}),
                ),
                node(
                    "orders",
                    "source",
                    &["shop", "raw", "orders"],
                    "models/staging/sources.yml",
                    &["pii"],
                    json!({"enabled": true}),
                ),
                node(
                    "assert_d_positive",
                    "test",
                    &["shop", "assert_d_positive"],
                    "tests/assert_d_positive.sql",
                    &[],
                    json!({"severity": "error"}),
                ),
                node("e", "seed", &["utils", "e"], "seeds/e.csv", &[], json!({})),
            ];
            data[4].test_type = Some("generic");
            data[4].test_name = Some("not_null");
            data[5].test_type = Some("generic");
            data[5].test_name = Some("relationships");
            data[6].source_name = Some("raw");
            data[7].test_type = Some("singular");
            data[8].package = "utils";
            let edges = [
                (6, 0),
                (0, 1),
                (0, 2),
                (1, 3),
                (2, 3),
                (3, 4),
                (2, 5),
                (3, 5),
                (3, 7),
            ];
            let dag = Dag::new(data.len(), &edges).expect("fixture is acyclic");
            Project { data, dag }
        }

        fn nodes(&self) -> Vec<SelectableNode<'_>> {
            self.data
                .iter()
                .map(|data| SelectableNode {
                    name: data.name,
                    resource_type: data.resource_type,
                    package: data.package,
                    fqn: &data.fqn,
                    path: data.path,
                    tags: &data.tags,
                    config: &data.config,
                    source_name: data.source_name,
                    test_type: data.test_type,
                    test_name: data.test_name,
                    state: data.state,
                    previous_status: data.previous_status,
                })
                .collect()
        }

        fn run(&self, select: Option<&str>, exclude: Option<&str>, mode: IndirectSelection) -> Vec<usize> {
            let select = select.map(selection);
            let exclude = exclude.map(selection);
            let nodes = self.nodes();
            super::select(&self.dag, &nodes, select.as_ref(), exclude.as_ref(), mode)
                .expect("selection evaluates")
        }

        fn eager(&self, select: &str) -> Vec<usize> {
            self.run(Some(select), None, IndirectSelection::Eager)
        }
    }

    fn selection(text: &str) -> Selection {
        match parse_selection(&[text.to_string()], true) {
            Ok(selection) => selection,
            Err(error) => panic!("`{text}`: {} at column {}", error.message, error.column),
        }
    }

    fn parse_error(argument: &str) -> SelectorError {
        match parse_selection(&[argument.to_string()], false) {
            Ok(selection) => panic!("`{argument}` parsed as `{}`", selection.describe()),
            Err(error) => error,
        }
    }

    #[test]
    fn selector_expressions_select_as_the_same_flags_do() {
        let project = Project::new();
        let nodes = project.nodes();
        let terms = |text: &str| SelectorExpr::Terms(selection(text));
        for mode in [
            IndirectSelection::Eager,
            IndirectSelection::Cautious,
            IndirectSelection::Buildable,
            IndirectSelection::Empty,
        ] {
            let defined = |expression: &SelectorExpr| {
                select_defined(&project.dag, &nodes, expression, mode).expect("selection evaluates")
            };
            // `union: [a+, {exclude: [d]}]` is `--select a+ --exclude d`.
            let union = SelectorExpr::Difference(
                Box::new(SelectorExpr::Union(vec![terms("a+")])),
                Box::new(SelectorExpr::Union(vec![terms("d")])),
            );
            assert_eq!(defined(&union), project.run(Some("a+"), Some("d"), mode));
            assert!(defined(&union).starts_with(&[0, 1, 2]), "{:?}", defined(&union));
            // `intersection: [a+, +d]` is `a+,+d`; a union of two is `b c`.
            let intersection = SelectorExpr::Intersection(vec![terms("a+"), terms("+d")]);
            assert_eq!(defined(&intersection), project.run(Some("a+,+d"), None, mode));
            let both = SelectorExpr::Union(vec![terms("b"), terms("c")]);
            assert_eq!(defined(&both), project.run(Some("b c"), None, mode));
        }
    }

    #[test]
    fn state_and_result_compare_with_the_earlier_run() {
        let mut project = Project::new();
        for data in &mut project.data {
            data.state = Some(StateChange::old_node([], false));
        }
        project.data[1].state = Some(StateChange::old_node([ModifiedPart::Body], false));
        project.data[2].state = Some(StateChange::old_node(
            [ModifiedPart::Configs, ModifiedPart::Macros],
            false,
        ));
        project.data[7].state = Some(StateChange::old_node([], true));
        project.data[8].state = Some(StateChange::new_node(false));
        project.data[3].previous_status = Some("error");
        project.data[4].previous_status = Some("fail");
        let only = |select: &str| project.run(Some(select), None, IndirectSelection::Empty);
        // 7 moved: modified, though no part changed.
        assert_eq!(only("state:modified"), vec![1, 2, 7, 8]);
        assert_eq!(only("state:new"), vec![8]);
        assert_eq!(only("state:modified.body"), vec![1, 8]);
        assert_eq!(only("state:modified.macros"), vec![2]);
        assert_eq!(only("state:modified.relation"), vec![8]);
        assert_eq!(only("state:old"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(only("state:unmodified"), vec![0, 3, 4, 5, 6]);
        assert_eq!(only("state:modified+"), vec![1, 2, 3, 4, 5, 7, 8]);
        assert_eq!(only("result:error"), vec![3]);
        assert_eq!(only("result:error+ result:fail"), vec![3, 4, 5, 7]);
        assert_eq!(only("state:modified,resource_type:seed"), vec![8]);
        // Eager indirect selection adds the tests of modified models, as dbt does.
        assert_eq!(project.eager("state:modified"), vec![1, 2, 5, 7, 8]);
    }

    #[test]
    fn state_values_are_checked_and_need_state() {
        let error = match parse_selection(&["state:modfied".to_string()], true) {
            Ok(selection) => panic!("parsed as `{}`", selection.describe()),
            Err(error) => error,
        };
        assert_eq!(error.message, "unknown state `modfied` in `state:modfied`");
        assert_eq!(error.column, 7);
        assert!(
            error
                .hint
                .as_deref()
                .is_some_and(|hint| hint.starts_with("did you mean `modified`?"))
        );
        let error = match parse_selection(&["result:erorr".to_string()], true) {
            Ok(selection) => panic!("parsed as `{}`", selection.describe()),
            Err(error) => error,
        };
        assert_eq!(error.message, "unknown result status `erorr` in `result:erorr`");
        assert!(parse_error("result:error").message.contains("requires --state"));
        let error = match parse_selection(&["source_status:fresher".to_string()], true) {
            Ok(selection) => panic!("parsed as `{}`", selection.describe()),
            Err(error) => error,
        };
        assert!(error.message.contains("is not supported"), "{}", error.message);
    }

    #[test]
    fn no_select_means_every_node_but_sources() {
        let project = Project::new();
        let all = project.run(None, None, IndirectSelection::Eager);
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5, 7, 8]);
        assert_eq!(project.eager("*"), all);
    }

    #[test]
    fn names_fqn_prefixes_and_packages() {
        let project = Project::new();
        assert_eq!(project.eager("a"), vec![0]);
        assert_eq!(project.eager("fqn:b"), vec![1]);
        assert_eq!(project.eager("shop.marts"), vec![2, 3, 4, 5, 7]);
        assert_eq!(project.eager("marts.c"), vec![2, 5]);
        assert_eq!(project.eager("shop.staging.*"), vec![0, 1]);
        assert_eq!(project.eager("shop"), vec![0, 1, 2, 3, 4, 5, 7]);
        assert_eq!(project.eager("utils"), vec![8]);
        assert_eq!(project.eager("not_null_*"), vec![4]);
        assert!(project.eager("orders").is_empty(), "fqn never selects sources");
        assert!(project.eager("nothing_here").is_empty());
    }

    #[test]
    fn tests_of_a_selected_model_come_along() {
        let project = Project::new();
        assert_eq!(project.eager("d"), vec![3, 4, 5, 7]);
        assert_eq!(project.eager("c"), vec![2, 5]);
    }

    #[test]
    fn tag_method_globs_and_sees_sources() {
        let project = Project::new();
        assert_eq!(project.eager("tag:nightly"), vec![0, 1]);
        assert_eq!(project.eager("tag:pii"), vec![1, 6]);
        assert_eq!(project.eager("tag:pii*"), vec![1, 2, 5, 6]);
    }

    #[test]
    fn path_and_file_methods() {
        let project = Project::new();
        assert_eq!(project.eager("path:models/staging"), vec![0, 1, 6]);
        assert_eq!(project.eager("path:models/staging/"), vec![0, 1, 6]);
        assert_eq!(project.eager("models/marts"), vec![2, 3, 4, 5, 7]);
        assert_eq!(project.eager("path:models/marts/c.sql"), vec![2, 5]);
        assert_eq!(project.eager("path:tests"), vec![7]);
        assert_eq!(project.eager("file:c.sql"), vec![2, 5]);
        assert_eq!(project.eager("file:c"), vec![2, 5]);
        assert_eq!(project.eager("c.sql"), vec![2, 5]);
        assert_eq!(project.eager("e.csv"), vec![8]);
    }

    #[test]
    fn package_method() {
        let project = Project::new();
        assert_eq!(project.eager("package:utils"), vec![8]);
        assert_eq!(project.eager("package:sh*"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn config_method_compares_as_text() {
        let project = Project::new();
        assert_eq!(project.eager("config.materialized:table"), vec![1, 2, 5]);
        assert_eq!(project.eager("config.materialized:incremental"), vec![3, 4, 5, 7]);
        assert_eq!(project.eager("config.meta.owner:ann"), vec![1]);
        assert_eq!(project.eager("config.tags:nightly"), vec![0]);
        assert_eq!(project.eager("config.enabled:TRUE"), vec![0, 6]);
        assert_eq!(project.eager("config.full_refresh:false"), vec![3, 4, 5, 7]);
        assert_eq!(project.eager("config.batch:500"), vec![3, 4, 5, 7]);
        assert_eq!(project.eager("config.severity:error"), vec![4, 7]);
        assert!(project.eager("config.materialized:TABLE").is_empty());
        assert!(project.eager("config.nope:x").is_empty());
    }

    #[test]
    fn resource_type_source_and_test_methods() {
        let project = Project::new();
        assert_eq!(project.eager("resource_type:test"), vec![4, 5, 7]);
        assert_eq!(project.eager("resource_type:source"), vec![6]);
        assert_eq!(project.eager("resource_type:seed"), vec![8]);
        assert_eq!(project.eager("source:raw"), vec![6]);
        assert_eq!(project.eager("source:raw.orders"), vec![6]);
        assert_eq!(project.eager("source:shop.raw.ord*"), vec![6]);
        assert!(project.eager("source:raw.customers").is_empty());
        assert!(project.eager("source:utils.raw.orders").is_empty());
        assert_eq!(project.eager("test_type:generic"), vec![4, 5]);
        assert_eq!(project.eager("test_type:singular"), vec![7]);
        assert_eq!(project.eager("test_type:data"), vec![4, 5, 7]);
        assert!(project.eager("test_type:unit").is_empty());
        assert_eq!(project.eager("test_name:not_null"), vec![4]);
        assert_eq!(project.eager("test_name:rel*"), vec![5]);
    }

    #[test]
    fn group_access_and_absent_kinds() {
        let project = Project::new();
        assert_eq!(project.eager("group:finance"), vec![2, 5]);
        assert_eq!(project.eager("access:public"), vec![2, 5]);
        assert_eq!(project.eager("access:protected"), vec![0, 1, 3, 4, 5, 7]);
        assert!(project.eager("exposure:weekly_report").is_empty());
        assert!(project.eager("metric:revenue+").is_empty());
    }

    #[test]
    fn graph_operators_with_depths() {
        let project = Project::new();
        assert_eq!(project.eager("+d"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(project.eager("1+d"), vec![1, 2, 3, 4, 5, 7]);
        assert_eq!(project.eager("2+b"), vec![0, 1, 6]);
        assert_eq!(project.eager("a+"), vec![0, 1, 2, 3, 4, 5, 7]);
        assert_eq!(project.eager("a+1"), vec![0, 1, 2, 5]);
        assert_eq!(project.eager("0+a+0"), vec![0]);
        assert_eq!(project.eager("+c+"), vec![0, 2, 3, 4, 5, 6, 7]);
        assert_eq!(project.eager("source:raw+1"), vec![0, 6]);
    }

    #[test]
    fn at_selects_descendants_and_their_ancestors() {
        let project = Project::new();
        assert_eq!(project.eager("@b"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(project.eager("@e"), vec![8]);
        assert_eq!(project.eager("@not_null_d_id"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn commas_intersect_and_spaces_unite() {
        let project = Project::new();
        assert_eq!(project.eager("tag:nightly,config.materialized:table"), vec![1]);
        assert_eq!(project.eager("+d,tag:nightly"), vec![0, 1]);
        assert_eq!(project.eager("a e"), vec![0, 8]);
        let split_args = parse_selection(&["a".to_string(), "  e\tb ".to_string()], false);
        let nodes = project.nodes();
        let chosen = select(
            &project.dag,
            &nodes,
            split_args.as_ref().ok(),
            None,
            IndirectSelection::Eager,
        );
        assert_eq!(chosen, Ok(vec![0, 1, 8]));
    }

    #[test]
    fn exclude_removes_nodes_and_their_tests() {
        let project = Project::new();
        let eager = IndirectSelection::Eager;
        assert_eq!(project.run(None, Some("d"), eager), vec![0, 1, 2, 8]);
        assert_eq!(
            project.run(None, Some("tag:nightly"), eager),
            vec![2, 3, 4, 5, 7, 8]
        );
        assert_eq!(project.run(Some("+d"), Some("a+"), eager), vec![6]);
        assert_eq!(project.run(Some("d"), Some("nothing"), eager), vec![3, 4, 5, 7]);
    }

    #[test]
    fn explicitly_excluded_tests_stay_excluded() {
        let project = Project::new();
        for mode in [
            IndirectSelection::Eager,
            IndirectSelection::Cautious,
            IndirectSelection::Buildable,
            IndirectSelection::Empty,
        ] {
            let chosen = project.run(Some("+d"), Some("not_null_d_id"), mode);
            assert!(!chosen.contains(&4), "{mode:?}: {chosen:?}");
            let chosen = project.run(Some("d"), Some("resource_type:test"), mode);
            assert_eq!(chosen, vec![3], "{mode:?}");
        }
    }

    #[test]
    fn cautious_needs_every_parent() {
        let project = Project::new();
        let cautious = IndirectSelection::Cautious;
        assert_eq!(project.run(Some("d"), None, cautious), vec![3, 4, 7]);
        assert_eq!(project.run(Some("c"), None, cautious), vec![2]);
        assert_eq!(project.run(Some("c d"), None, cautious), vec![2, 3, 4, 5, 7]);
        assert_eq!(
            project.run(Some("c,tag:pii_email d"), None, cautious),
            vec![2, 3, 4, 5, 7]
        );
        // dbt keeps the relationships test here: excluding `d` cautiously
        // only removes tests whose parents are all excluded.
        assert_eq!(project.run(Some("+d"), Some("d"), cautious), vec![0, 1, 2, 5, 6]);
    }

    #[test]
    fn buildable_accepts_parents_upstream_of_the_selection() {
        let project = Project::new();
        let buildable = IndirectSelection::Buildable;
        assert_eq!(project.run(Some("d"), None, buildable), vec![3, 4, 5, 7]);
        assert_eq!(project.run(Some("c"), None, buildable), vec![2]);
        assert_eq!(project.run(Some("b"), None, buildable), vec![1]);
    }

    #[test]
    fn empty_mode_selects_tests_only_directly() {
        let project = Project::new();
        let empty = IndirectSelection::Empty;
        assert_eq!(project.run(Some("d"), None, empty), vec![3]);
        assert_eq!(project.run(Some("d test_name:not_null"), None, empty), vec![3, 4]);
        assert_eq!(project.run(Some("c+"), None, empty), vec![2, 3, 4, 5, 7]);
    }

    #[test]
    fn empty_selection_selects_nothing() {
        let project = Project::new();
        let nothing = parse_selection(&[" ".to_string()], false).expect("blank parses");
        assert_eq!(nothing.describe(), "");
        let nodes = project.nodes();
        let chosen = select(
            &project.dag,
            &nodes,
            Some(&nothing),
            None,
            IndirectSelection::Eager,
        );
        assert_eq!(chosen, Ok(vec![]));
    }

    #[test]
    fn node_list_must_match_the_graph() {
        let project = Project::new();
        let nodes = project.nodes();
        let error = select(&project.dag, &nodes[..3], None, None, IndirectSelection::Eager);
        assert!(error.is_err());
    }

    #[test]
    fn describe_spells_out_methods() {
        let parsed = parse_selection(
            &[
                "+d  tag:nightly,config.materialized:table".to_string(),
                "c.sql @models/x 2+y+3".to_string(),
            ],
            false,
        );
        assert_eq!(
            parsed.map(|selection| selection.describe()),
            Ok(
                "+fqn:d tag:nightly,config.materialized:table file:c.sql @path:models/x 2+fqn:y+3"
                    .to_string()
            )
        );
    }

    #[test]
    fn errors_carry_columns_within_the_argument() {
        let error = parse_error("a tagg:nightly");
        assert_eq!(error.argument, "a tagg:nightly");
        assert_eq!(error.column, 3);
        assert_eq!(error.message, "unknown selector method `tagg` in `tagg:nightly`");
        assert_eq!(
            error.to_string(),
            "unknown selector method `tagg` in `tagg:nightly`"
        );
        assert!(error.hint.unwrap_or_default().starts_with("did you mean `tag`?"));
        assert_eq!(parse_error("a b,é+x").column, 6);
        assert_eq!(parse_error("x ++m").column, 4);
        assert_eq!(parse_error("x +m++").column, 6);
        assert_eq!(parse_error("x,@+m").column, 4);
        assert_eq!(parse_error("m+123456789012345678901234567890").column, 3);
        assert_eq!(parse_error("a tag:b;").column, 8);
    }

    #[test]
    fn empty_terms_around_commas_are_errors() {
        let error = parse_error("a,,b");
        assert_eq!(error.column, 3);
        assert_eq!(
            error.message,
            "empty selector term in `a,,b`: `,` must join two terms"
        );
        assert_eq!(parse_error("x ,a").column, 3);
        assert_eq!(parse_error("a,").column, 2);
        assert_eq!(parse_error("a, b").column, 2);
    }

    #[test]
    fn first_error_wins_across_arguments() {
        let error = parse_selection(&["a".to_string(), "state:modified".to_string()], false);
        let error = error.err().map(|error| (error.argument, error.column));
        assert_eq!(error, Some(("state:modified".to_string(), 1)));
    }

    #[test]
    fn selection_over_ten_thousand_nodes_is_fast() {
        let count = 10_000;
        let fqns: Vec<Vec<String>> = (0..count)
            .map(|n| vec!["shop".to_string(), format!("m{n}")])
            .collect();
        let config = Map::new();
        let nodes: Vec<SelectableNode> = fqns
            .iter()
            .map(|fqn| SelectableNode {
                name: &fqn[1],
                resource_type: "model",
                package: "shop",
                fqn,
                path: "models/m.sql",
                tags: &[],
                config: &config,
                source_name: None,
                test_type: None,
                test_name: None,
                state: None,
                previous_status: None,
            })
            .collect();
        let edges: Vec<(usize, usize)> = (1..count).map(|n| (n / 2, n)).collect();
        let dag = Dag::new(count, &edges).expect("a tree is acyclic");
        let selection = selection("+m9999+ @m5000 m1+3 m7*");
        let started = std::time::Instant::now();
        let chosen =
            select(&dag, &nodes, Some(&selection), None, IndirectSelection::Buildable).expect("evaluates");
        assert!(chosen.contains(&0) && chosen.contains(&9999));
        assert!(started.elapsed().as_secs() < 2, "took {:?}", started.elapsed());
    }
}
