//! The columns `JOIN ... USING (..)` and `NATURAL JOIN` join on, as PostgreSQL returns them:
//! once, before the joined relations' other columns, in `*` and in unqualified references.
//! The merged column is the left relation's (the right one's for a RIGHT JOIN, computed from
//! both for a FULL JOIN, where it is their coalesce); each relation's own column stays
//! reachable through its alias (`a.*`, `a.id`). A NATURAL JOIN merges the columns both sides
//! are known to have: with a side whose columns are not all known, what it would also merge
//! stays unknown. Pure, like the rest of lineage.

use sqlparser::ast::{Ident, JoinConstraint, JoinOperator, ObjectNamePart};

use super::{Analyser, Column, Lookup, Reads, Shape, Source, Transform, fold, lookup};

/// Which relation a merged column's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Both,
}

impl Analyser<'_> {
    /// Merge the columns a join on `sources[start..right]` (its left side) and `sources[right..]`
    /// (its right side) joins on with USING or NATURAL: they are hidden in both sides and
    /// listed once, first, by a relation no qualifier reaches.
    pub(super) fn merge_join_columns(
        &mut self,
        operator: &JoinOperator,
        sources: &mut Vec<Source>,
        start: usize,
        right: usize,
    ) {
        let Some((constraint, side)) = constraint(operator) else {
            return;
        };
        let names: Vec<(String, Option<&Ident>)> = match constraint {
            JoinConstraint::Using(names) => names
                .iter()
                .filter_map(|name| match name.0.last() {
                    Some(ObjectNamePart::Identifier(ident)) => Some((fold(ident), Some(ident))),
                    _ => None,
                })
                .collect(),
            JoinConstraint::Natural => common_columns(&sources[start..right], &sources[right..])
                .into_iter()
                .map(|name| (name, None))
                .collect(),
            JoinConstraint::On(_) | JoinConstraint::None => return,
        };
        let mut merged = Vec::with_capacity(names.len());
        for (name, written) in names {
            let left_column = self.side_column(&sources[start..right], &name, written);
            let right_column = self.side_column(&sources[right..], &name, written);
            let parts = match side {
                Side::Left => vec![left_column],
                Side::Right => vec![right_column],
                Side::Both => vec![left_column, right_column],
            };
            merged.push(merge(name.clone(), &parts, side));
            for source in &mut sources[start..] {
                if source.column(&name, false).is_some() || source.may_have(&name, false) {
                    source.hidden.insert(name.clone());
                }
            }
        }
        sources.insert(start, Source::new(String::new(), None, Shape::known(merged)));
    }

    /// Column `name` of one side of a join; a finding (at `written`, the name in USING) when
    /// that side is one project relation whose columns are known and lack it.
    fn side_column(&mut self, side: &[Source], name: &str, written: Option<&Ident>) -> Option<Column> {
        match lookup(side, None, name) {
            Lookup::Found(column) => Some(column),
            Lookup::Absent(source) => {
                if let Some(written) = written {
                    self.missing_column(source, written);
                }
                None
            }
            Lookup::Nowhere | Lookup::Unknown => None,
        }
    }
}

/// The constraint of a join PostgreSQL can merge columns on, and which side the merged
/// columns come from.
fn constraint(operator: &JoinOperator) -> Option<(&JoinConstraint, Side)> {
    match operator {
        JoinOperator::Join(constraint)
        | JoinOperator::Inner(constraint)
        | JoinOperator::Left(constraint)
        | JoinOperator::LeftOuter(constraint) => Some((constraint, Side::Left)),
        JoinOperator::Right(constraint) | JoinOperator::RightOuter(constraint) => {
            Some((constraint, Side::Right))
        }
        JoinOperator::FullOuter(constraint) => Some((constraint, Side::Both)),
        _ => None,
    }
}

/// The column names both sides of a NATURAL JOIN are known to have, in the left side's order.
fn common_columns(left: &[Source], right: &[Source]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for source in left {
        for column in &source.shape.columns {
            let shared = source.column(&column.name, false).is_some()
                && right
                    .iter()
                    .any(|other| other.column(&column.name, false).is_some());
            if shared && !names.contains(&column.name) {
                names.push(column.name.clone());
            }
        }
    }
    names
}

/// A merged column from its sides' columns (None: a side where it could not be traced).
fn merge(name: String, parts: &[Option<Column>], side: Side) -> Column {
    let mut reads = Reads {
        resolved: true,
        ..Reads::default()
    };
    for part in parts {
        match part {
            Some(column) => reads.add(column),
            None => reads.resolved = false,
        }
    }
    if side == Side::Both {
        // coalesce(left, right)
        reads.raise(Transform::Expression);
    }
    Column {
        name,
        upstream: reads.upstream,
        resolved: reads.resolved,
        transform: reads.transform.unwrap_or(Transform::Identity),
    }
}
