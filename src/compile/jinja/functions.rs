//! dbt's Jinja functions that need no database: `ref`, `source`, `config` (callable, `.get`,
//! `.require`), `var`, `env_var`, `is_incremental`, `log`, `print`, `return`, `exceptions`,
//! `doc`, `fromjson`/`tojson`/`fromyaml`/`toyaml`, `zip`, `set`, `local_md5` and `modules`
//! (`datetime`, `re`). Each reads the render context and writes only to `Captured`.

use crate::compile::jinja::context::FromSerde;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Rest, Value};
use minijinja::{Environment, Error as JinjaError, State};

use super::context::{Lookup, RefCall, RenderContext, captured, jinja_error, render_context};
use super::relation::RelationValue;
use crate::compile::config::{self, ConfigMap};
use crate::compile::node::Relation;

/// Register every function of this module on `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("ref", ref_function);
    env.add_function("source", source_function);
    env.add_global("config", Value::from_object(ConfigObject));
    env.add_function("var", var_function);
    env.add_function("env_var", env_var_function);
    env.add_function("is_incremental", is_incremental_function);
    env.add_function("log", log_function);
    env.add_function("print", print_function);
    env.add_function("return", return_function);
    env.add_global("exceptions", Value::from_object(Exceptions));
    env.add_function("doc", doc_function);
    env.add_function("fromjson", fromjson_function);
    env.add_function("tojson", tojson_function);
    env.add_function("fromyaml", fromyaml_function);
    env.add_function("toyaml", tojson_function);
    env.add_function("zip", zip_function);
    env.add_function("set", set_function);
    env.add_function("local_md5", local_md5_function);
    env.add_global("modules", super::modules::modules_value());
    env.add_function("should_store_failures", should_store_failures_function);
    env.add_function("get_where_subquery", get_where_subquery_function);
    env.add_function("watermark", watermark_function);
}

/// tmk's `watermark(default)`: the model's stored high-water mark as a typed SQL literal;
/// before any is stored, `default` (SQL, pasted as written) or `null`. The model must set
/// `watermark: <column>`; while parsing, the config may not be known yet, so it is not checked.
fn watermark_function(state: &State, default: Option<String>) -> Result<Value, JinjaError> {
    let context = render_context(state)?;
    if context.execute && config::as_string_list(context.node_config.get("watermark")).is_empty() {
        return Err(jinja_error(
            "`watermark()` needs the model to set `watermark: <column>` in its config\nhint: add `{{ config(watermark='updated_at') }}` naming the column whose greatest loaded value tmk keeps",
        ));
    }
    Ok(Value::from(match &context.watermark {
        Some(stored) => stored.literal(),
        None => default.unwrap_or_else(|| "null".to_string()),
    }))
}

/// dbt's `should_store_failures()`: whether this test keeps its failing rows.
fn should_store_failures_function(state: &State) -> Result<bool, JinjaError> {
    let context = render_context(state)?;
    Ok(config::store_failures_as(&context.node_config).is_some())
}

/// dbt's `get_where_subquery`: the relation, or `(select * from it where ..) dbt_subquery` when
/// the test has a `where` config.
fn get_where_subquery_function(state: &State, relation: Value) -> Result<Value, JinjaError> {
    let context = render_context(state)?;
    match context
        .node_config
        .get("where")
        .and_then(serde_json::Value::as_str)
    {
        Some(condition) => Ok(Value::from(format!(
            "(select * from {relation} where {condition}) dbt_subquery"
        ))),
        None => Ok(relation),
    }
}

fn ref_function(state: &mut State, args: Rest<String>, kwargs: Kwargs) -> Result<Value, JinjaError> {
    let version: Option<Value> = kwargs.get("v").or_else(|_| kwargs.get("version")).ok();
    let (package, name) = match args.0.as_slice() {
        [name] => (None, name.clone()),
        [package, name] => (Some(package.clone()), name.clone()),
        _ => {
            return Err(jinja_error(
                "ref() takes a model name, or a package and a model name",
            ));
        }
    };
    let context = render_context(state)?;
    captured(state).refs.push(RefCall {
        package,
        name: name.clone(),
        version: version.map(|value| value.to_string()),
    });
    let Some(lookup) = &context.lookup else {
        // While parsing, refs point into the target schema, as in dbt.
        return Ok(RelationValue::value(
            Relation {
                database: context.target.database.clone(),
                schema: context.target.schema.clone(),
                identifier: name,
            },
            None,
        ));
    };
    let target = lookup
        .refs
        .get(&name)
        .ok_or_else(|| jinja_error(format!("`ref('{name}')` names no model, seed or snapshot")))?;
    Ok(match (&target.cte_name, &target.relation) {
        (Some(cte), _) => RelationValue::cte(&name, cte.clone()),
        (None, Some(relation)) => relation_in_batch(&context, lookup, relation),
        (None, None) => return Err(jinja_error(format!("`ref('{name}')` has no relation"))),
    })
}

/// A ref'd or source relation: inside a microbatch batch, only the batch's rows of a relation
/// that sets `event_time`.
fn relation_in_batch(context: &RenderContext, lookup: &Lookup, relation: &Relation) -> Value {
    match (&context.batch, lookup.event_times.get(relation)) {
        (Some(batch), Some(event_time)) => {
            RelationValue::filtered(relation.clone(), batch.condition(event_time))
        }
        _ => RelationValue::value(relation.clone(), None),
    }
}

fn source_function(state: &mut State, source: String, table: String) -> Result<Value, JinjaError> {
    let context = render_context(state)?;
    captured(state).sources.push((source.clone(), table.clone()));
    let Some(lookup) = &context.lookup else {
        return Ok(RelationValue::value(
            Relation {
                database: context.target.database.clone(),
                schema: source,
                identifier: table,
            },
            None,
        ));
    };
    lookup
        .sources
        .get(&(source.clone(), table.clone()))
        .map(|relation| relation_in_batch(&context, lookup, relation))
        .ok_or_else(|| jinja_error(format!("`source('{source}', '{table}')` names no source table")))
}

/// `config`: callable to set configs, with `.get` and `.require`.
#[derive(Debug)]
struct ConfigObject;

impl Object for ConfigObject {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, JinjaError> {
        let mut layer = ConfigMap::new();
        for arg in args {
            let json = serde_json::to_value(arg).map_err(|error| jinja_error(error.to_string()))?;
            if let serde_json::Value::Object(map) = json {
                for (key, value) in map {
                    if let Err(hint) = config::check_key(&key) {
                        let hint = if hint.is_empty() {
                            String::new()
                        } else {
                            format!("\nhint: {hint}")
                        };
                        return Err(jinja_error(format!(
                            "unknown config key `{key}` in config(){hint}"
                        )));
                    }
                    layer.insert(key, value);
                }
            } else {
                return Err(jinja_error("config() takes keyword arguments"));
            }
        }
        config::validate_values(&layer).map_err(jinja_error)?;
        config::merge_into(&mut captured(state).config, &layer);
        Ok(Value::from(""))
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, JinjaError> {
        let (key, default): (String, Option<Value>) = minijinja::value::from_args(args)?;
        let context = render_context(state)?;
        let found = captured(state)
            .config
            .get(&key)
            .or_else(|| context.node_config.get(&key))
            .map(|value| Value::from(minijinja::value::Serde(value)));
        match method {
            "get" => Ok(found.or(default).unwrap_or(Value::from(()))),
            "require" => found.ok_or_else(|| jinja_error(format!("config `{key}` is required"))),
            _ => Err(JinjaError::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }
}

fn var_function(state: &State, name: String, default: Option<Value>) -> Result<Value, JinjaError> {
    let context = render_context(state)?;
    match (context.vars.get(&name), default) {
        (Some(value), _) => Ok(Value::from_serde(value)),
        (None, Some(default)) => Ok(default),
        (None, None) => Err(jinja_error(format!(
            "required var `{name}` not found in the project's vars or --vars\nhint: add it under `vars:` in dbt_project.yml or pass --vars '{{{name}: ...}}'"
        ))),
    }
}

pub(super) fn env_var_function(name: String, default: Option<Value>) -> Result<Value, JinjaError> {
    match (std::env::var(&name), default) {
        (Ok(value), _) => Ok(Value::from(value)),
        (Err(_), Some(default)) => Ok(default),
        (Err(_), None) => Err(jinja_error(format!(
            "environment variable `{name}` is not set and env_var() has no default"
        ))),
    }
}

fn is_incremental_function(state: &State) -> Result<bool, JinjaError> {
    Ok(render_context(state)?.is_incremental)
}

fn log_function(state: &mut State, message: Value, info: Option<bool>) -> Result<String, JinjaError> {
    let context = render_context(state)?;
    if context.execute && info.unwrap_or(false) {
        captured(state).logs.push(message.to_string());
    }
    Ok(String::new())
}

fn print_function(state: &mut State, message: Value) -> Result<String, JinjaError> {
    if render_context(state)?.execute {
        captured(state).logs.push(message.to_string());
    }
    Ok(String::new())
}

fn return_function(state: &mut State, value: Value) -> Result<String, JinjaError> {
    let slot = captured(state)
        .returns
        .last_mut()
        .ok_or_else(|| jinja_error("return() can only be used inside a macro"))?;
    if slot.is_none() {
        *slot = Some(value);
    }
    Ok(String::new())
}

/// `exceptions.raise_compiler_error`, `exceptions.warn`, ...
#[derive(Debug)]
struct Exceptions;

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, JinjaError> {
        let message = args.first().map(Value::to_string).unwrap_or_default();
        match method {
            "raise_compiler_error" | "raise_not_implemented" | "raise_fail_fast_error" => {
                Err(jinja_error(message))
            }
            "warn" => {
                if render_context(state)?.execute {
                    captured(state).logs.push(format!("warning: {message}"));
                }
                Ok(Value::from(""))
            }
            _ => Err(JinjaError::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }
}

fn doc_function(state: &State, name: String) -> Result<String, JinjaError> {
    let context = render_context(state)?;
    context
        .docs
        .get(&name)
        .cloned()
        .ok_or_else(|| jinja_error(format!("doc block `{name}` not found")))
}

fn fromjson_function(text: String, default: Option<Value>) -> Result<Value, JinjaError> {
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => Ok(Value::from_serde(value)),
        Err(error) => default.ok_or_else(|| jinja_error(format!("fromjson: {error}"))),
    }
}

fn tojson_function(value: Value) -> Result<String, JinjaError> {
    serde_json::to_string(&value).map_err(|error| jinja_error(error.to_string()))
}

fn fromyaml_function(text: String) -> Result<Value, JinjaError> {
    serde_saphyr::from_str::<crate::project::yaml::Yaml>(&text)
        .map(|yaml| Value::from_serde(yaml.to_json()))
        .map_err(|error| jinja_error(format!("fromyaml: {error}")))
}

fn zip_function(args: Rest<Value>) -> Result<Value, JinjaError> {
    let lists: Vec<Vec<Value>> = args
        .0
        .iter()
        .map(|list| list.try_iter().map(Iterator::collect))
        .collect::<Result<_, _>>()?;
    let length = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..length)
            .map(|index| Value::from(lists.iter().map(|list| list[index].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

fn set_function(items: Value) -> Result<Value, JinjaError> {
    let mut unique: Vec<Value> = Vec::new();
    for item in items.try_iter()? {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    Ok(Value::from(unique))
}

fn local_md5_function(text: String) -> String {
    use md5::{Digest, Md5};
    format!("{:x}", Md5::digest(text.as_bytes()))
}
