//! Column-level lineage of compiled SELECTs: for each output column, the upstream columns
//! (of models, sources, seeds, snapshots) it is computed from, through CTEs, subqueries, joins,
//! aliases, aggregates, window functions, CASE and set operations; `*` and `t.*` expanded from
//! the columns known for upstream nodes (a column joined on with USING or NATURAL once, as
//! PostgreSQL returns it: `join`). What the text cannot tell is marked unresolved, never
//! guessed. While it reads a query it also finds relations that are not the project's (named
//! in SQL instead of through ref()/source()) and columns an upstream node does not have.
//! Pure: the caller says which relation is which node and which columns a node has (from its
//! own lineage, a seed, a contract, DBML or the database catalog); it must not render Jinja or
//! reach a database.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

mod join;

use serde::{Deserialize, Serialize};
use sqlparser::ast::{
    Expr, Function, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, TableAlias, TableFactor, TableWithJoins, Visit, Visitor,
};

/// Column lineage of a whole project: per node unique_id, its output columns in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectLineage {
    /// Every node whose columns are known or whose SQL was read, by unique_id.
    pub nodes: BTreeMap<String, NodeLineage>,
}

/// The output columns of one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeLineage {
    /// Its columns, in order.
    pub columns: Vec<ColumnLineage>,
    /// False when some output columns are unknown (a `*` over a relation whose columns are not
    /// known, SQL tmk could not read): `columns` is then only what is known.
    pub complete: bool,
}

/// Where one output column comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnLineage {
    /// The column's name as PostgreSQL returns it (unquoted names folded to lower case).
    pub name: String,
    /// The upstream columns it is computed from, sorted.
    pub upstream: Vec<ColumnRef>,
    /// False when some column it reads could not be traced to a relation (`upstream` is then
    /// what could be traced).
    pub resolved: bool,
    /// How it is computed from `upstream`.
    pub transform: Transform,
}

/// A column of a node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ColumnRef {
    /// unique_id of a model, source, seed or snapshot.
    pub node: String,
    /// The column's name.
    pub column: String,
}

/// How an output column is computed, from the plainest to the most involved; a column built
/// from others through several steps gets the most involved one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// A column stored in a seed, a source or a table whose SQL tmk does not read.
    Stored,
    /// No column: a literal, a function of nothing (`now()`), `count(*)`.
    Constant,
    /// An upstream column passed through, perhaps renamed (or unioned with others).
    Identity,
    /// Computed by an expression (arithmetic, functions, CASE, casts...).
    Expression,
    /// Computed by an aggregate function.
    Aggregate,
    /// Computed by a window function.
    Window,
}

/// A position in the compiled SQL (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Line.
    pub line: usize,
    /// Column (in characters).
    pub column: usize,
}

/// Something wrong that the SQL text alone shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Finding {
    /// A relation that is neither a CTE nor one of the project's relations.
    UnknownRelation {
        /// The name as written.
        name: String,
        /// Where.
        at: Position,
    },
    /// A column an upstream node, whose columns are known, does not have.
    UnknownColumn {
        /// The upstream node's unique_id.
        node: String,
        /// The column as written.
        column: String,
        /// The node's columns.
        known: Vec<String>,
        /// Where.
        at: Position,
    },
}

/// What lineage needs to know about the rest of the project.
pub trait Upstream {
    /// The node a relation named in SQL stands for (`name`: its parts, folded as PostgreSQL
    /// folds them), or None when it is not one of the project's.
    fn relation(&self, name: &[String]) -> Option<String>;
    /// The columns of node `node`, in order, when known.
    fn columns(&self, node: &str) -> Option<Vec<String>>;
}

/// The lineage of a query's output columns, and what looked wrong in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analysis {
    /// The output columns.
    pub lineage: NodeLineage,
    /// Problems found, in the order met.
    pub findings: Vec<Finding>,
}

/// Analyse one query.
pub fn analyse(query: &Query, upstream: &dyn Upstream) -> Analysis {
    let mut analyser = Analyser {
        upstream,
        findings: Vec::new(),
    };
    let shape = analyser.query(query, &Env::default(), &[]);
    let columns = shape
        .columns
        .into_iter()
        .map(|column| ColumnLineage {
            name: column.name,
            upstream: column.upstream.into_iter().collect(),
            resolved: column.resolved,
            transform: column.transform,
        })
        .collect();
    let mut findings = analyser.findings;
    findings.sort_by_key(|finding| match finding {
        Finding::UnknownRelation { at, .. } | Finding::UnknownColumn { at, .. } => (at.line, at.column),
    });
    Analysis {
        lineage: NodeLineage {
            columns,
            complete: shape.complete,
        },
        findings,
    }
}

/// The lineage of a node whose SQL is not read (a seed, a source, a contract's columns): every
/// column stored.
pub fn stored(columns: &[String]) -> NodeLineage {
    NodeLineage {
        columns: columns
            .iter()
            .map(|name| ColumnLineage {
                name: name.clone(),
                upstream: Vec::new(),
                resolved: true,
                transform: Transform::Stored,
            })
            .collect(),
        complete: true,
    }
}

/// An identifier as PostgreSQL reads it: unquoted names fold to lower case.
pub fn fold(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// The identifier parts of a name, folded.
pub fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => fold(ident),
            ObjectNamePart::Function(function) => function.name.value.clone(),
        })
        .collect()
}

/// An output column while the query is read.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    upstream: BTreeSet<ColumnRef>,
    resolved: bool,
    transform: Transform,
}

/// The columns a query or relation returns.
#[derive(Debug, Clone, Default)]
struct Shape {
    columns: Vec<Column>,
    complete: bool,
    /// When the shape is incomplete only because one node's unknown columns pass through it
    /// (`select * from <node>`), that node: a column not in `columns` is that node's.
    star_of: Option<String>,
}

impl Shape {
    /// A shape with all its columns known.
    fn known(columns: Vec<Column>) -> Shape {
        Shape {
            columns,
            complete: true,
            star_of: None,
        }
    }

    fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// Add another shape's columns but `hidden` ones (a `*` over it).
    fn extend(&mut self, other: &Shape, hidden: &BTreeSet<String>) {
        let shown = other
            .columns
            .iter()
            .filter(|column| !hidden.contains(&column.name));
        self.columns.extend(shown.cloned());
        self.absorb(other.complete, other.star_of.clone());
    }

    /// Record that some columns are unknown (`star_of`: the node they all come from).
    fn absorb(&mut self, complete: bool, star_of: Option<String>) {
        if complete {
            return;
        }
        if self.complete {
            self.complete = false;
            self.star_of = star_of;
        } else {
            self.star_of = None;
        }
    }
}

/// A relation in a FROM clause.
#[derive(Debug)]
struct Source {
    /// The name it is referred to by (its alias, or its name's last part); empty for the
    /// columns a `JOIN ... USING`/`NATURAL JOIN` merges, which no qualifier reaches.
    alias: String,
    /// The project node it is, when it is one.
    node: Option<String>,
    shape: Shape,
    /// Its columns merged into one by `USING`/`NATURAL`: reached only through its alias, and
    /// left out of `*`.
    hidden: BTreeSet<String>,
}

impl Source {
    fn new(alias: String, node: Option<String>, shape: Shape) -> Source {
        Source {
            alias,
            node,
            shape,
            hidden: BTreeSet::new(),
        }
    }

    /// Its column `name`: any of its columns through its alias (`qualified`), else only those
    /// not merged away.
    fn column(&self, name: &str, qualified: bool) -> Option<&Column> {
        if !qualified && self.hidden.contains(name) {
            return None;
        }
        self.shape.find(name)
    }

    /// Whether it may have column `name` among the columns that are not known.
    fn may_have(&self, name: &str, qualified: bool) -> bool {
        !self.shape.complete && self.shape.find(name).is_none() && (qualified || !self.hidden.contains(name))
    }
}

/// What looking a column up in some relations found.
enum Lookup<'s> {
    /// No relation to look in.
    Nowhere,
    /// The one column of that name.
    Found(Column),
    /// Every relation's columns are known and none has it: the relation, when there was one.
    Absent(Option<&'s Source>),
    /// Ambiguous, or perhaps among a relation's unknown columns.
    Unknown,
}

/// The CTEs visible at a point, innermost last.
#[derive(Debug, Default, Clone)]
struct Env {
    ctes: Vec<(String, Shape)>,
}

impl Env {
    fn cte(&self, name: &str) -> Option<&Shape> {
        self.ctes
            .iter()
            .rev()
            .find(|(cte, _)| cte == name)
            .map(|(_, shape)| shape)
    }
}

/// The columns an expression reads, and how.
#[derive(Debug, Default)]
struct Reads {
    upstream: BTreeSet<ColumnRef>,
    resolved: bool,
    transform: Option<Transform>,
}

impl Reads {
    fn add(&mut self, column: &Column) {
        self.upstream.extend(column.upstream.iter().cloned());
        self.resolved &= column.resolved;
        self.raise(column.transform);
    }

    fn raise(&mut self, transform: Transform) {
        if self.transform.is_none_or(|current| current < transform) {
            self.transform = Some(transform);
        }
    }
}

struct Analyser<'u> {
    upstream: &'u dyn Upstream,
    findings: Vec<Finding>,
}

/// Schemas of PostgreSQL's own catalogs: reading them is not a hard-coded project relation.
const SYSTEM_SCHEMAS: [&str; 2] = ["pg_catalog", "information_schema"];

impl Analyser<'_> {
    /// A query, seeing `env`'s CTEs and the relations of the enclosing queries (`outer`,
    /// innermost last) for correlated references.
    fn query(&mut self, query: &Query, env: &Env, outer: &[&[Source]]) -> Shape {
        let mut env = env.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = fold(&cte.alias.name);
                if with.recursive {
                    // The anchor (left of the UNION) names the columns the recursion reads.
                    let anchor = match cte.query.body.as_ref() {
                        SetExpr::SetOperation { left, .. } => {
                            let mut quiet = Analyser {
                                upstream: self.upstream,
                                findings: Vec::new(),
                            };
                            quiet.set_expr(left, &env, outer)
                        }
                        _ => Shape::default(),
                    };
                    env.ctes.push((name.clone(), anchor));
                }
                let shape = rename(self.query(&cte.query, &env, outer), &cte.alias);
                env.ctes.push((name, shape));
            }
        }
        self.set_expr(&query.body, &env, outer)
    }

    fn set_expr(&mut self, body: &SetExpr, env: &Env, outer: &[&[Source]]) -> Shape {
        match body {
            SetExpr::Select(select) => self.select(select, env, outer),
            SetExpr::Query(query) => self.query(query, env, outer),
            SetExpr::SetOperation { left, right, .. } => {
                let left = self.set_expr(left, env, outer);
                let right = self.set_expr(right, env, outer);
                union(left, right)
            }
            SetExpr::Values(values) => {
                let width = values.rows.first().map_or(0, |row| row.len());
                let columns = (1..=width)
                    .map(|index| {
                        let mut reads = Reads {
                            resolved: true,
                            ..Reads::default()
                        };
                        for row in &values.rows {
                            if let Some(expr) = row.get(index - 1) {
                                self.expr(expr, env, &[], outer, &mut reads);
                            }
                        }
                        column_from(format!("column{index}"), reads)
                    })
                    .collect();
                Shape::known(columns)
            }
            _ => Shape::default(),
        }
    }

    fn select(&mut self, select: &Select, env: &Env, outer: &[&[Source]]) -> Shape {
        let mut sources = Vec::new();
        for table in &select.from {
            self.table_with_joins(table, env, outer, &mut sources);
        }
        // Conditions are read for their findings only.
        for table in &select.from {
            for join in &table.joins {
                self.condition(&join.join_operator, env, &sources, outer);
            }
        }
        if let Some(selection) = &select.selection {
            self.condition(selection, env, &sources, outer);
        }
        if let Some(having) = &select.having {
            self.condition(having, env, &sources, outer);
        }
        let mut shape = Shape::known(Vec::new());
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    let column = self.output(default_name(expr), expr, env, &sources, outer);
                    shape.columns.push(column);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let column = self.output(fold(alias), expr, env, &sources, outer);
                    shape.columns.push(column);
                }
                SelectItem::Wildcard(_) => {
                    for source in &sources {
                        shape.extend(&source.shape, &source.hidden);
                    }
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                    let alias = name_parts(name).pop().unwrap_or_default();
                    match sources.iter().find(|source| source.alias == alias) {
                        Some(source) => shape.extend(&source.shape, &BTreeSet::new()),
                        None => shape.absorb(false, None),
                    }
                }
                _ => shape.absorb(false, None),
            }
        }
        shape
    }

    /// An output column computed by `expr`.
    fn output(
        &mut self,
        name: String,
        expr: &Expr,
        env: &Env,
        sources: &[Source],
        outer: &[&[Source]],
    ) -> Column {
        let mut reads = Reads {
            resolved: true,
            ..Reads::default()
        };
        self.expr(expr, env, sources, outer, &mut reads);
        let bare = matches!(
            expr,
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Nested(_)
        );
        if bare {
            if reads.transform.is_none() {
                reads.raise(Transform::Identity);
            }
        } else if !reads.upstream.is_empty() || !reads.resolved {
            reads.raise(Transform::Expression);
        }
        column_from(name, reads)
    }

    /// Read a condition (or any expression outside the projection) for its findings.
    fn condition<V: Visit>(&mut self, node: &V, env: &Env, sources: &[Source], outer: &[&[Source]]) {
        let mut reads = Reads::default();
        self.expr(node, env, sources, outer, &mut reads);
    }

    fn expr<V: Visit>(
        &mut self,
        node: &V,
        env: &Env,
        sources: &[Source],
        outer: &[&[Source]],
        reads: &mut Reads,
    ) {
        let mut visitor = ExprVisitor {
            analyser: self,
            env,
            sources,
            outer,
            reads,
            depth: 0,
        };
        let _ = node.visit(&mut visitor);
    }

    fn table_with_joins(
        &mut self,
        table: &TableWithJoins,
        env: &Env,
        outer: &[&[Source]],
        sources: &mut Vec<Source>,
    ) {
        let start = sources.len();
        self.table_factor(&table.relation, env, outer, sources);
        for join in &table.joins {
            let right = sources.len();
            self.table_factor(&join.relation, env, outer, sources);
            self.merge_join_columns(&join.join_operator, sources, start, right);
        }
    }

    fn table_factor(
        &mut self,
        factor: &TableFactor,
        env: &Env,
        outer: &[&[Source]],
        sources: &mut Vec<Source>,
    ) {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let parts = name_parts(name);
                let default_alias = parts.last().cloned().unwrap_or_default();
                let (node, shape) = match (parts.as_slice(), env.cte(&default_alias)) {
                    ([_], Some(shape)) => (None, shape.clone()),
                    _ => self.relation(name, &parts),
                };
                let shape = match alias {
                    Some(alias) => rename(shape, alias),
                    None => shape,
                };
                let alias = alias.as_ref().map_or(default_alias, |alias| fold(&alias.name));
                sources.push(Source::new(alias, node, shape));
            }
            TableFactor::Table {
                args: Some(args),
                alias: Some(alias),
                ..
            } => {
                // A set-returning function: its columns are computed from its arguments. Without
                // a column list, a scalar function's one column is named after the alias (a
                // function returning rows may have more: the shape stays incomplete).
                let mut reads = Reads {
                    resolved: true,
                    ..Reads::default()
                };
                self.expr(args, env, sources, outer, &mut reads);
                reads.raise(Transform::Expression);
                let names: Vec<String> = if alias.columns.is_empty() {
                    vec![fold(&alias.name)]
                } else {
                    alias.columns.iter().map(|column| fold(&column.name)).collect()
                };
                let columns = names
                    .into_iter()
                    .map(|name| Column {
                        name,
                        upstream: reads.upstream.clone(),
                        resolved: reads.resolved,
                        transform: Transform::Expression,
                    })
                    .collect();
                let shape = Shape {
                    columns,
                    complete: !alias.columns.is_empty(),
                    star_of: None,
                };
                sources.push(Source::new(fold(&alias.name), None, shape));
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let mut scopes: Vec<&[Source]> = outer.to_vec();
                scopes.push(sources.as_slice());
                let shape = self.query(subquery, env, &scopes);
                let (alias, shape) = match alias {
                    Some(alias) => (fold(&alias.name), rename(shape, alias)),
                    None => (String::new(), shape),
                };
                sources.push(Source::new(alias, None, shape));
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                self.table_with_joins(table_with_joins, env, outer, sources);
                for join in &table_with_joins.joins {
                    self.condition(&join.join_operator, env, sources, outer);
                }
            }
            other => {
                // Table functions, UNNEST, JSON_TABLE...: columns unknown.
                let alias = table_factor_alias(other);
                sources.push(Source::new(
                    alias.map(|alias| fold(&alias.name)).unwrap_or_default(),
                    None,
                    alias.map_or_else(Shape::default, |alias| rename(Shape::default(), alias)),
                ));
            }
        }
    }

    /// A relation that is not a CTE: a project node (its columns when known), or a finding.
    fn relation(&mut self, name: &ObjectName, parts: &[String]) -> (Option<String>, Shape) {
        match self.upstream.relation(parts) {
            Some(node) => {
                let shape = match self.upstream.columns(&node) {
                    Some(columns) => Shape::known(
                        columns
                            .into_iter()
                            .map(|column| Column {
                                upstream: BTreeSet::from([ColumnRef {
                                    node: node.clone(),
                                    column: column.clone(),
                                }]),
                                name: column,
                                resolved: true,
                                transform: Transform::Identity,
                            })
                            .collect(),
                    ),
                    None => Shape {
                        star_of: Some(node.clone()),
                        ..Shape::default()
                    },
                };
                (Some(node), shape)
            }
            None => {
                let system = parts.len() > 1 && SYSTEM_SCHEMAS.contains(&parts[parts.len() - 2].as_str());
                if !system {
                    self.findings.push(Finding::UnknownRelation {
                        name: name.to_string(),
                        at: name_position(name),
                    });
                }
                (None, Shape::default())
            }
        }
    }

    /// The column a reference (`c`, `t.c`, `s.t.c`) reads, looked up in `sources` and then the
    /// enclosing queries' relations. None when it cannot be traced; a finding when the one
    /// project relation it can be read from does not have it.
    fn reference(&mut self, parts: &[Ident], sources: &[Source], outer: &[&[Source]]) -> Option<Column> {
        let (column_ident, qualifier) = parts.split_last()?;
        let column = fold(column_ident);
        let qualifier = qualifier.last().map(fold);
        let mut missing: Option<&Source> = None;
        let scopes = std::iter::once(sources).chain(outer.iter().rev().copied());
        for scope in scopes {
            match lookup(scope, qualifier.as_deref(), &column) {
                Lookup::Nowhere => {}
                Lookup::Found(found) => return Some(found),
                Lookup::Unknown => return None,
                Lookup::Absent(source) => {
                    missing = missing.or(source);
                    if qualifier.is_some() {
                        break;
                    }
                }
            }
        }
        self.missing_column(missing, column_ident);
        None
    }

    /// A finding when `source`, a project node whose columns are all known, lacks `column`.
    fn missing_column(&mut self, source: Option<&Source>, column: &Ident) {
        if let Some(Source {
            node: Some(node),
            shape,
            ..
        }) = source
        {
            self.findings.push(Finding::UnknownColumn {
                node: node.clone(),
                column: column.value.clone(),
                known: shape.columns.iter().map(|known| known.name.clone()).collect(),
                at: position(column),
            });
        }
    }
}

/// Column `column` in the relations of one scope (those named `qualifier`, when given).
fn lookup<'s>(scope: &'s [Source], qualifier: Option<&str>, column: &str) -> Lookup<'s> {
    let qualified = qualifier.is_some();
    let candidates: Vec<&Source> = scope
        .iter()
        .filter(|source| qualifier.is_none_or(|alias| source.alias == alias))
        .collect();
    if candidates.is_empty() {
        return Lookup::Nowhere;
    }
    let found: Vec<&Column> = candidates
        .iter()
        .filter_map(|source| source.column(column, qualified))
        .collect();
    let unknown: Vec<&Source> = candidates
        .iter()
        .copied()
        .filter(|source| source.may_have(column, qualified))
        .collect();
    match (found.as_slice(), unknown.as_slice()) {
        ([one], []) => Lookup::Found((*one).clone()),
        ([], []) => Lookup::Absent((candidates.len() == 1).then(|| candidates[0])),
        // The only relation it can come from, whose columns are not all known.
        ([], [source]) => match &source.shape.star_of {
            Some(node) => Lookup::Found(Column {
                name: column.to_string(),
                upstream: BTreeSet::from([ColumnRef {
                    node: node.clone(),
                    column: column.to_string(),
                }]),
                resolved: true,
                transform: Transform::Identity,
            }),
            None => Lookup::Unknown,
        },
        // Ambiguous, or perhaps in a relation whose columns are not known.
        _ => Lookup::Unknown,
    }
}

/// Walks one expression (not into its subqueries, which are read as queries of their own).
struct ExprVisitor<'a, 'u> {
    analyser: &'a mut Analyser<'u>,
    env: &'a Env,
    sources: &'a [Source],
    outer: &'a [&'a [Source]],
    reads: &'a mut Reads,
    depth: usize,
}

impl Visitor for ExprVisitor<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if self.depth == 0 {
            let mut scopes: Vec<&[Source]> = self.outer.to_vec();
            scopes.push(self.sources);
            let shape = self.analyser.query(query, self.env, &scopes);
            for column in &shape.columns {
                self.reads.add(column);
            }
            self.reads.raise(Transform::Expression);
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match expr {
            Expr::Identifier(ident) => self.read(std::slice::from_ref(ident)),
            Expr::CompoundIdentifier(parts) => self.read(parts),
            Expr::Function(function) if function.over.is_some() => self.reads.raise(Transform::Window),
            Expr::Function(function) if is_aggregate(function) => self.reads.raise(Transform::Aggregate),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

impl ExprVisitor<'_, '_> {
    fn read(&mut self, parts: &[Ident]) {
        match self.analyser.reference(parts, self.sources, self.outer) {
            Some(column) => self.reads.add(&column),
            None => self.reads.resolved = false,
        }
    }
}

/// PostgreSQL's aggregate functions (and any call with FILTER or WITHIN GROUP).
fn is_aggregate(function: &Function) -> bool {
    const AGGREGATES: [&str; 40] = [
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "array_agg",
        "string_agg",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
        "bit_xor",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "jsonb_object_agg",
        "json_agg_strict",
        "jsonb_agg_strict",
        "xmlagg",
        "stddev",
        "stddev_pop",
        "stddev_samp",
        "variance",
        "var_pop",
        "var_samp",
        "corr",
        "covar_pop",
        "covar_samp",
        "regr_slope",
        "regr_intercept",
        "regr_count",
        "regr_r2",
        "mode",
        "percentile_cont",
        "percentile_disc",
        "range_agg",
        "range_intersect_agg",
        "any_value",
        "listagg",
    ];
    if function.filter.is_some() || !function.within_group.is_empty() {
        return true;
    }
    if let FunctionArguments::List(list) = &function.args
        && list.duplicate_treatment.is_some()
    {
        return true;
    }
    let name = name_parts(&function.name).pop().unwrap_or_default();
    AGGREGATES.contains(&name.as_str())
}

/// The name PostgreSQL gives an unaliased output column.
fn default_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => fold(ident),
        Expr::CompoundIdentifier(parts) => parts.last().map(fold).unwrap_or_default(),
        Expr::Function(function) => name_parts(&function.name).pop().unwrap_or_default(),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => default_name(expr),
        Expr::Case { .. } => "case".to_string(),
        _ => "?column?".to_string(),
    }
}

fn column_from(name: String, reads: Reads) -> Column {
    Column {
        name,
        upstream: reads.upstream,
        resolved: reads.resolved,
        transform: reads.transform.unwrap_or(Transform::Constant),
    }
}

/// Columns renamed by an alias's column list (`t(a, b)`).
fn rename(mut shape: Shape, alias: &TableAlias) -> Shape {
    for (column, renamed) in shape.columns.iter_mut().zip(&alias.columns) {
        column.name = fold(&renamed.name);
    }
    if alias.columns.len() > shape.columns.len() && !shape.complete {
        // Names for columns whose lineage is unknown.
        for renamed in &alias.columns[shape.columns.len()..] {
            shape.columns.push(Column {
                name: fold(&renamed.name),
                upstream: BTreeSet::new(),
                resolved: false,
                transform: Transform::Expression,
            });
        }
        shape.complete = true;
    }
    shape
}

/// Columns of a set operation, by position: the left side names them.
fn union(left: Shape, right: Shape) -> Shape {
    let complete = left.complete && right.complete && left.columns.len() == right.columns.len();
    let columns = left
        .columns
        .into_iter()
        .enumerate()
        .map(|(index, mut column)| {
            match right.columns.get(index).filter(|_| complete) {
                Some(other) => {
                    column.upstream.extend(other.upstream.iter().cloned());
                    column.resolved &= other.resolved;
                    column.transform = column.transform.max(other.transform);
                }
                None => column.resolved = false,
            }
            column
        })
        .collect();
    Shape {
        columns,
        complete,
        star_of: None,
    }
}

fn table_factor_alias(factor: &TableFactor) -> Option<&TableAlias> {
    match factor {
        TableFactor::Table { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::JsonTable { alias, .. } => alias.as_ref(),
        _ => None,
    }
}

fn position(ident: &Ident) -> Position {
    Position {
        line: usize::try_from(ident.span.start.line).unwrap_or(0),
        column: usize::try_from(ident.span.start.column).unwrap_or(0),
    }
}

fn name_position(name: &ObjectName) -> Position {
    match name.0.first() {
        Some(ObjectNamePart::Identifier(ident)) => position(ident),
        _ => Position { line: 0, column: 0 },
    }
}
