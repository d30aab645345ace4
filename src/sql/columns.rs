//! The columns a query returns, read from its outermost SELECT (the left-most one of a
//! UNION): every item's alias, or the column name of a bare column reference. None whenever
//! that cannot be known without the database — a `*`, an unnamed expression, SQL that does not
//! parse — so callers never guess.

use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// A returned column's name and whether it was quoted (quoted names are case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The name as written.
    pub name: String,
    /// Written in double quotes.
    pub quoted: bool,
}

impl OutputColumn {
    /// Whether a column written `reference` (unquoted, so case-insensitive) names this one.
    pub fn is_named(&self, reference: &str) -> bool {
        if self.quoted {
            self.name == reference
        } else {
            self.name.eq_ignore_ascii_case(reference)
        }
    }
}

/// The columns `sql` returns, in order, when its text alone tells.
pub fn output_columns(sql: &str) -> Option<Vec<OutputColumn>> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return None;
    };
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(inner) => body = inner.body.as_ref(),
            SetExpr::Select(select) => {
                return select.projection.iter().map(item_column).collect();
            }
            _ => return None,
        }
    }
}

fn item_column(item: &SelectItem) -> Option<OutputColumn> {
    let ident = match item {
        SelectItem::ExprWithAlias { alias, .. } => alias,
        SelectItem::UnnamedExpr(Expr::Identifier(ident)) => ident,
        SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last()?,
        _ => return None,
    };
    Some(OutputColumn {
        name: ident.value.clone(),
        quoted: ident.quote_style.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Option<Vec<String>> {
        output_columns(sql).map(|columns| columns.into_iter().map(|column| column.name).collect())
    }

    #[test]
    fn aliases_and_column_references_name_the_columns() {
        assert_eq!(
            names(
                "with x as (select 1 as a) select o.id, amount as total, \"Mixed\" from x join \"db\".\"s\".\"o\" o on true"
            ),
            Some(vec!["id".to_string(), "total".to_string(), "Mixed".to_string()])
        );
        assert_eq!(
            names("select a from t union all select b from u"),
            Some(vec!["a".to_string()])
        );
        let quoted = output_columns("select \"Mixed\" from t").unwrap_or_default();
        assert!(quoted[0].is_named("Mixed") && !quoted[0].is_named("mixed"));
        let plain = output_columns("select Amount from t").unwrap_or_default();
        assert!(plain[0].is_named("amount"));
    }

    #[test]
    fn stars_unnamed_expressions_and_bad_sql_are_unknown() {
        assert_eq!(names("select * from t"), None);
        assert_eq!(names("select t.*, 1 as x from t"), None);
        assert_eq!(names("select count(*) from t"), None);
        assert_eq!(names("select (1 from t"), None);
    }
}
