//! Tests the database may already guarantee: a `not_null` test passes when its column is
//! `NOT NULL`, a `unique` test when a unique index covers exactly its column, a `relationships`
//! test when a validated foreign key links exactly its column to its `to:` and `field:`.
//! PostgreSQL enforces these on every write, so their failing rows are none and the test's
//! query — one full scan, for `unique` a hash of every value, for `relationships` a join — can
//! be skipped with the result it would give. Only dbt's own tests, counted plainly and stored
//! nowhere, with no `where`, qualify; `trust_constraints: false` on a test always runs its
//! query. Pure: the adapter reads the catalog (and judges what it finds there).

use serde_json::Value;

use super::Manifest;
use super::node::Relation;
use super::quarantine::resolve;
use super::test_batch::{plain_counting, tested_relation};

/// What the catalog must show for a test to pass without its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarantee {
    /// The column is `NOT NULL`.
    NotNull {
        /// The tested relation.
        relation: Relation,
        /// Its column, as the catalog names it.
        column: String,
    },
    /// A valid unique index (or primary key) on exactly this column, with its collation.
    Unique {
        /// The tested relation.
        relation: Relation,
        /// Its column.
        column: String,
    },
    /// A validated, enabled foreign key from exactly this column to exactly `parent.field`.
    ForeignKey {
        /// The tested (child) relation.
        relation: Relation,
        /// Its column.
        column: String,
        /// The relation `to:` names.
        parent: Relation,
        /// `field:`, the parent's column.
        field: String,
    },
}

/// The guarantee that would answer the test at `index`, when it is one that may have one.
pub fn guarantee(manifest: &Manifest, index: usize) -> Option<Guarantee> {
    let node = &manifest.nodes[index];
    let test = node.test.as_ref()?;
    // A `where` would be one more thing the query checks (that it compiles, say): rare enough
    // to leave to the query.
    if !plain_counting(node)
        || node.config.get("where").is_some_and(|value| !value.is_null())
        || node.config.get("trust_constraints").and_then(Value::as_bool) == Some(false)
        || !manifest.jinja.macros().builtin_test(&test.name)
    {
        return None;
    }
    let relation = tested_relation(manifest, test)?;
    let column = catalog_name(test.column_name.as_deref()?)?;
    match test.name.as_str() {
        "not_null" => Some(Guarantee::NotNull { relation, column }),
        "unique" => Some(Guarantee::Unique { relation, column }),
        "relationships" => {
            let parent = resolve(manifest, test.kwargs.get("to")?.as_str()?)?;
            // A key cannot link tables of two databases.
            (parent.database == relation.database).then_some(())?;
            Some(Guarantee::ForeignKey {
                relation,
                column,
                parent,
                field: catalog_name(test.kwargs.get("field")?.as_str()?)?,
            })
        }
        _ => None,
    }
}

/// A column as the catalog names it, when the test names a column and not an expression:
/// an unquoted identifier folds to lower case, a quoted one is taken as written. (The catalog
/// query also asks that the name need no quotes: `user`, a keyword, is not the column `user`
/// in the test's query.)
fn catalog_name(written: &str) -> Option<String> {
    let written = written.trim();
    if let Some(quoted) = written.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
        return (!quoted.is_empty() && !quoted.contains('"')).then(|| quoted.to_string());
    }
    let mut characters = written.chars();
    let first = characters.next()?;
    let identifier = (first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || "_$".contains(character));
    identifier.then(|| written.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_columns_have_catalog_names() {
        assert_eq!(catalog_name("Order_ID").as_deref(), Some("order_id"));
        assert_eq!(catalog_name(" \"Order ID\" ").as_deref(), Some("Order ID"));
        assert_eq!(catalog_name("lower(email)"), None);
        assert_eq!(catalog_name("a.b"), None);
        assert_eq!(catalog_name("\"a\"\"b\""), None);
        assert_eq!(catalog_name("1st"), None);
        assert_eq!(catalog_name(""), None);
    }
}
