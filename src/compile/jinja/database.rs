//! The Jinja functions that reach the database through `JinjaDatabase`: `run_query`,
//! `{% call statement(..) %}` + `load_result`, and the `adapter` object (`dispatch`,
//! `get_relation`, `get_columns_in_relation`, `quote`, `type`). While parsing (`execute` is
//! false) they return empty results, as in dbt. `adapter.dispatch` needs no database: it resolves
//! `postgres__name`, then `default__name`, among the project's macros. It must not reach the
//! database any other way: no sqlx, no adapter types, only the `JinjaDatabase` trait.

use crate::compile::jinja::context::FromSerde;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, Error as JinjaError, State};

use super::context::{JinjaDatabase, QueryTable, RenderContext, captured, jinja_error, render_context};
use super::relation::RelationValue;
use crate::compile::node::{Relation, quote_identifier};

/// Register `run_query`, `statement`, `load_result` and `adapter`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("run_query", run_query_function);
    env.add_function("statement", statement_function);
    env.add_function("load_result", load_result_function);
    env.add_global("adapter", Value::from_object(AdapterObject));
}

fn database(state: &mut State) -> Result<Option<Arc<dyn JinjaDatabase>>, JinjaError> {
    let context: Arc<RenderContext> = render_context(state)?;
    captured(state).used_database = true;
    if !context.execute {
        return Ok(None);
    }
    context
        .database
        .clone()
        .map(Some)
        .ok_or_else(|| jinja_error("this template queries the database, but no database is configured"))
}

fn run_query_function(state: &mut State, sql: String) -> Result<Value, JinjaError> {
    let Some(database) = database(state)? else {
        return Ok(Value::from(()));
    };
    let table = database.query(&sql).map_err(jinja_error)?;
    Ok(table_value(table))
}

fn statement_function(state: &mut State, name: Option<String>, kwargs: Kwargs) -> Result<String, JinjaError> {
    let fetch_result: bool = kwargs.get::<Option<bool>>("fetch_result")?.unwrap_or(false);
    let caller: Value = kwargs.get("caller")?;
    for unused in ["auto_begin", "language"] {
        let _: Option<Value> = kwargs.get(unused)?;
    }
    kwargs.assert_all_used()?;
    let sql = caller.call(state, &[])?.to_string();
    let Some(database) = database(state)? else {
        return Ok(String::new());
    };
    let table = database.query(&sql).map_err(jinja_error)?;
    if let Some(name) = name {
        let rows_affected = table.rows_affected;
        let data = if fetch_result {
            table_value(table.clone())
        } else {
            Value::from(())
        };
        let result = Value::from_pairs([
            (
                "response",
                Value::from_pairs([
                    ("rows_affected", Value::from(rows_affected)),
                    ("code", Value::from("SELECT")),
                ]),
            ),
            (
                "data",
                if fetch_result {
                    rows_value(&table)
                } else {
                    Value::from(Vec::<Value>::new())
                },
            ),
            ("table", data),
        ]);
        captured(state).statements.insert(name, result);
    }
    Ok(String::new())
}

fn load_result_function(state: &mut State, name: String) -> Value {
    captured(state)
        .statements
        .get(&name)
        .cloned()
        .unwrap_or(Value::from(()))
}

fn rows_value(table: &QueryTable) -> Value {
    Value::from(
        table
            .rows
            .iter()
            .map(|row| {
                Value::from(
                    row.iter()
                        .map(|value| Value::from(minijinja::value::Serde(value)))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    )
}

/// An agate-like table: `.rows`, `.columns` (each with `.name` and `.values()`),
/// `.column_names`, indexing by row, iteration over rows.
fn table_value(table: QueryTable) -> Value {
    Value::from_object(TableValue { table })
}

#[derive(Debug)]
struct TableValue {
    table: QueryTable,
}

impl Object for TableValue {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(index) = key.as_usize() {
            return self.table.rows.get(index).map(|row| {
                Value::from(
                    row.iter()
                        .map(|value| Value::from(minijinja::value::Serde(value)))
                        .collect::<Vec<_>>(),
                )
            });
        }
        match key.as_str()? {
            "rows" => Some(rows_value(&self.table)),
            "column_names" => Some(Value::from(self.table.column_names.clone())),
            "columns" => Some(Value::from(
                self.table
                    .column_names
                    .iter()
                    .enumerate()
                    .map(|(index, name)| {
                        let values: Vec<Value> = self
                            .table
                            .rows
                            .iter()
                            .map(|row| Value::from_serde(&row[index]))
                            .collect();
                        Value::from_pairs([
                            ("name", Value::from(name.clone())),
                            ("values", Value::from(values)),
                        ])
                    })
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.table.rows.len())
    }

    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }
}

/// The `adapter` object.
#[derive(Debug)]
struct AdapterObject;

impl Object for AdapterObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "type").then(|| Value::from("postgres"))
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, JinjaError> {
        match method {
            "dispatch" => dispatch(state, args),
            "quote" => {
                let (name,): (String,) = minijinja::value::from_args(args)?;
                Ok(Value::from(quote_identifier(&name)))
            }
            "type" => Ok(Value::from("postgres")),
            "get_relation" => get_relation(state, args),
            "get_columns_in_relation" => get_columns(state, args),
            _ => Err(jinja_error(format!("`adapter.{method}` is not supported by tmk"))),
        }
    }
}

fn dispatch(state: &mut State, args: &[Value]) -> Result<Value, JinjaError> {
    let (name, _namespace, kwargs): (String, Option<String>, Option<Kwargs>) =
        minijinja::value::from_args(args)?;
    drop(kwargs);
    let macros = &captured(state).macros;
    // As dbt: the adapter's implementation, then the default one; never the bare name (a
    // macro that dispatches to itself would recurse).
    let candidates = [format!("postgres__{name}"), format!("default__{name}")];
    let found = candidates
        .into_iter()
        .find(|candidate| macros.contains_key(candidate))
        .ok_or_else(|| {
            jinja_error(format!(
                "adapter.dispatch found no `postgres__{name}` or `default__{name}` macro"
            ))
        })?;
    Ok(super::macros::macro_reference(found))
}

fn relation_arg(args: &[Value]) -> Result<Relation, JinjaError> {
    let relation = args
        .first()
        .and_then(|value| value.downcast_object::<RelationValue>())
        .ok_or_else(|| jinja_error("expected a relation"))?;
    Ok(relation.relation.clone())
}

fn get_relation(state: &mut State, args: &[Value]) -> Result<Value, JinjaError> {
    let (database_name, schema, identifier): (String, String, String) = minijinja::value::from_args(args)?;
    let Some(database) = database(state)? else {
        return Ok(Value::from(()));
    };
    let relation = Relation {
        database: database_name,
        schema,
        identifier,
    };
    match database.relation_kind(&relation).map_err(jinja_error)? {
        Some(kind) => Ok(RelationValue::value(relation, Some(kind))),
        None => Ok(Value::from(())),
    }
}

fn get_columns(state: &mut State, args: &[Value]) -> Result<Value, JinjaError> {
    let relation = relation_arg(args)?;
    let Some(database) = database(state)? else {
        return Ok(Value::from(Vec::<Value>::new()));
    };
    let columns = database.columns(&relation).map_err(jinja_error)?;
    Ok(Value::from(
        columns
            .into_iter()
            .map(|(name, data_type)| {
                Value::from_pairs([
                    ("name", Value::from(name.clone())),
                    ("column", Value::from(name.clone())),
                    ("quoted", Value::from(quote_identifier(&name))),
                    ("data_type", Value::from(data_type.clone())),
                    ("dtype", Value::from(data_type)),
                ])
            })
            .collect::<Vec<_>>(),
    ))
}
