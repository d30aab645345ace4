//! The relation object templates get from `ref`, `source` and `this`: renders as
//! `"db"."schema"."name"` (or the CTE name of an ephemeral model) and exposes dbt's attributes
//! (`database`, `schema`, `identifier`, `name`, `table`, `type`) and a few methods
//! (`include`, `render`, `quote`, `incorporate`). It must not look anything up.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Error as JinjaError, State};

use crate::compile::node::Relation;

/// A relation as a Jinja value.
#[derive(Debug, Clone)]
pub struct RelationValue {
    /// The relation (a CTE has its name as identifier and no schema).
    pub relation: Relation,
    /// For ephemeral models: the CTE name it renders as.
    pub cte_name: Option<String>,
    /// `table`, `view`, `cte` or unknown.
    pub kind: Option<String>,
    /// A condition on its rows (a microbatch model's batch): renders as a filtered subquery.
    pub filter: Option<String>,
}

impl RelationValue {
    /// Wrap a relation.
    pub fn value(relation: Relation, kind: Option<String>) -> Value {
        Value::from_object(RelationValue {
            relation,
            cte_name: None,
            kind,
            filter: None,
        })
    }

    /// A relation whose rows are filtered by `condition`, as dbt renders an upstream model or
    /// source inside a microbatch batch: `(select * from .. where ..) _dbt_et_filter_subq_x`.
    pub fn filtered(relation: Relation, condition: String) -> Value {
        Value::from_object(RelationValue {
            relation,
            cte_name: None,
            kind: None,
            filter: Some(condition),
        })
    }

    /// A CTE reference for an ephemeral model.
    pub fn cte(name: &str, cte_name: String) -> Value {
        Value::from_object(RelationValue {
            relation: Relation {
                database: String::new(),
                schema: String::new(),
                identifier: name.to_string(),
            },
            cte_name: Some(cte_name),
            kind: Some("cte".to_string()),
            filter: None,
        })
    }

    fn rendered(&self) -> String {
        match (&self.cte_name, &self.filter) {
            (Some(cte), _) => cte.clone(),
            (None, Some(condition)) => format!(
                "(select * from {} where {condition}) _dbt_et_filter_subq_{}",
                self.relation.render(),
                self.relation.identifier
            ),
            (None, None) => self.relation.render(),
        }
    }
}

impl Object for RelationValue {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let relation = &self.relation;
        Some(match key.as_str()? {
            "database" => Value::from(relation.database.clone()),
            "schema" => Value::from(relation.schema.clone()),
            "identifier" | "name" | "table" => Value::from(relation.identifier.clone()),
            "type" => Value::from(self.kind.clone()),
            "is_table" => Value::from(self.kind.as_deref() == Some("table")),
            "is_view" => Value::from(self.kind.as_deref() == Some("view")),
            "is_cte" => Value::from(self.cte_name.is_some()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["database", "schema", "identifier", "name", "table", "type"])
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, JinjaError> {
        match method {
            "include" | "incorporate" | "quote" => Ok(Value::from_dyn_object(self.clone())),
            "render" => Ok(Value::from(self.rendered())),
            _ => Err(JinjaError::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.rendered())
    }
}
