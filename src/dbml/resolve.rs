//! Resolution: parsed files → one checked [`Schema`]. Merges the files, injects table partials
//! (`~name`; the table's own columns win), rewrites ref endpoints written with an alias to the
//! table's real schema and name, and checks that every table, column and partial named exists,
//! that tables are not declared twice and that records fit their tables. Every error points at
//! the name as written. It must not emit SQL.

use std::collections::{HashMap, HashSet};

use super::{Endpoint, IndexPart, Ref, Schema, Table};
use crate::error::{Result, did_you_mean};

/// Merge and check parsed documents.
pub fn resolve(documents: Vec<Schema>) -> Result<Schema> {
    let mut schema = Schema::default();
    for document in documents {
        if schema.project.is_none() {
            schema.project = document.project;
        }
        schema.tables.extend(document.tables);
        schema.enums.extend(document.enums);
        schema.refs.extend(document.refs);
        schema.table_groups.extend(document.table_groups);
        schema.notes.extend(document.notes);
        schema.partials.extend(document.partials);
        schema.records.extend(document.records);
    }
    check_duplicates(&schema)?;
    inject_partials(&mut schema)?;
    for table in &schema.tables {
        check_table(table)?;
    }
    let refs = std::mem::take(&mut schema.refs);
    schema.refs = resolve_refs(&schema, refs)?;
    check_records(&mut schema)?;
    Ok(schema)
}

fn check_duplicates(schema: &Schema) -> Result<()> {
    let mut tables: HashMap<(&str, &str), &super::Loc> = HashMap::new();
    for table in &schema.tables {
        if let Some(first) = tables.insert((table.schema(), &table.name), &table.loc) {
            return Err(table
                .loc
                .error(format!("table `{}` is declared twice", table.qualified()))
                .detail(format!("first declared at {}", first.describe())));
        }
    }
    let mut enums: Vec<(&str, &str)> = Vec::new();
    for item in &schema.enums {
        if enums.contains(&(item.schema(), &item.name)) {
            return Err(item.loc.error(format!("enum `{}` is declared twice", item.name)));
        }
        enums.push((item.schema(), &item.name));
    }
    Ok(())
}

/// Copy each injected partial's columns, indexes, checks and note into its tables; refs written
/// inline in a partial are repeated for every table that injects it.
fn inject_partials(schema: &mut Schema) -> Result<()> {
    let mut new_refs = Vec::new();
    for table in &mut schema.tables {
        let injections = std::mem::take(&mut table.injections);
        let own: HashSet<String> = table.columns.iter().map(|column| column.name.clone()).collect();
        let mut offset = 0;
        for (position, name, loc) in injections {
            let Some(partial) = schema.partials.iter().find(|partial| partial.name == name) else {
                return Err(loc
                    .error(format!("table partial `{name}` is not declared"))
                    .maybe_hint(did_you_mean(
                        &name,
                        schema.partials.iter().map(|partial| partial.name.as_str()),
                    )));
            };
            let existing: HashSet<String> = table.columns.iter().map(|column| column.name.clone()).collect();
            let columns: Vec<_> = partial
                .columns
                .iter()
                .filter(|column| !own.contains(&column.name) && !existing.contains(&column.name))
                .cloned()
                .collect();
            let count = columns.len();
            let at = (position + offset).min(table.columns.len());
            table.columns.splice(at..at, columns);
            offset += count;
            table.indexes.extend(partial.indexes.iter().cloned());
            table.checks.extend(partial.checks.iter().cloned());
            if table.note.is_none() {
                table.note = partial.note.clone();
            }
            for reference in &schema.refs {
                if reference.left.schema.is_none() && reference.left.table == partial.name {
                    let mut copy = reference.clone();
                    copy.left.schema = table.schema.clone();
                    copy.left.table = table.name.clone();
                    new_refs.push(copy);
                }
            }
        }
    }
    let partial_names: HashSet<&str> = schema
        .partials
        .iter()
        .map(|partial| partial.name.as_str())
        .collect();
    schema.refs.retain(|reference| {
        !(reference.left.schema.is_none() && partial_names.contains(reference.left.table.as_str()))
    });
    schema.refs.extend(new_refs);
    Ok(())
}

fn check_table(table: &Table) -> Result<()> {
    let mut seen = HashSet::new();
    for column in &table.columns {
        if !seen.insert(column.name.as_str()) {
            return Err(column.loc.error(format!(
                "column `{}` is declared twice in table `{}`",
                column.name,
                table.qualified()
            )));
        }
    }
    let mut primary_keys = 0;
    for index in &table.indexes {
        primary_keys += usize::from(index.primary_key);
        for part in &index.columns {
            if let IndexPart::Column(name) = part
                && table.column(name).is_none()
            {
                return Err(index
                    .loc
                    .error(format!(
                        "index on `{}` names no column `{name}`",
                        table.qualified()
                    ))
                    .maybe_hint(did_you_mean(
                        name,
                        table.columns.iter().map(|column| column.name.as_str()),
                    )));
            }
        }
        if index.primary_key
            && index
                .columns
                .iter()
                .any(|part| matches!(part, IndexPart::Expression(_)))
        {
            return Err(index.loc.error("a primary key cannot hold an expression"));
        }
    }
    if primary_keys > 1 || (primary_keys == 1 && table.columns.iter().any(|column| column.primary_key)) {
        return Err(table
            .loc
            .error(format!(
                "table `{}` declares its primary key twice",
                table.qualified()
            ))
            .hint("mark columns `pk`, or write one `(a, b) [pk]` index, not both"));
    }
    Ok(())
}

/// Find the table an endpoint names, by `schema.table`, `table` (default schema) or alias.
fn find_table<'a>(tables: &'a [Table], endpoint: &Endpoint) -> Option<&'a Table> {
    let wanted_schema = endpoint.schema.as_deref().unwrap_or(super::DEFAULT_SCHEMA);
    tables
        .iter()
        .find(|table| table.schema() == wanted_schema && table.name == endpoint.table)
        .or_else(|| {
            if endpoint.schema.is_some() {
                return None;
            }
            tables
                .iter()
                .find(|table| table.alias.as_deref() == Some(endpoint.table.as_str()))
        })
}

fn resolve_endpoint(schema: &Schema, endpoint: &mut Endpoint) -> Result<()> {
    let Some(table) = find_table(&schema.tables, endpoint) else {
        let names: Vec<String> = schema.tables.iter().map(Table::qualified).collect();
        return Err(endpoint
            .loc
            .error(format!(
                "ref names table `{}`, which is not declared",
                endpoint.qualified()
            ))
            .maybe_hint(did_you_mean(
                &endpoint.qualified(),
                names.iter().map(String::as_str),
            )));
    };
    for column in &endpoint.columns {
        if table.column(column).is_none() {
            return Err(endpoint
                .loc
                .error(format!("table `{}` has no column `{column}`", table.qualified()))
                .maybe_hint(did_you_mean(
                    column,
                    table.columns.iter().map(|c| c.name.as_str()),
                )));
        }
    }
    endpoint.schema = table.schema.clone();
    endpoint.table = table.name.clone();
    Ok(())
}

/// Resolve each ref's endpoints; a ref that relates the same columns as an earlier one (an
/// inline `ref:` repeated by a `Ref` block) is dropped, so one foreign key is made.
fn resolve_refs(schema: &Schema, refs: Vec<Ref>) -> Result<Vec<Ref>> {
    let mut resolved: Vec<Ref> = Vec::with_capacity(refs.len());
    let sides = |reference: &Ref| {
        let (from, to) = reference
            .foreign_key()
            .unwrap_or((&reference.left, &reference.right));
        (
            from.qualified(),
            from.columns.clone(),
            to.qualified(),
            to.columns.clone(),
        )
    };
    let mut seen = HashSet::new();
    for mut reference in refs {
        resolve_endpoint(schema, &mut reference.left)?;
        resolve_endpoint(schema, &mut reference.right)?;
        if seen.insert(sides(&reference)) {
            resolved.push(reference);
        }
    }
    Ok(resolved)
}

fn check_records(schema: &mut Schema) -> Result<()> {
    let tables = &schema.tables;
    for records in &mut schema.records {
        let endpoint = Endpoint {
            schema: records.schema.clone(),
            table: records.table.clone(),
            columns: Vec::new(),
            loc: records.loc.clone(),
        };
        let Some(table) = find_table(tables, &endpoint) else {
            return Err(records.loc.error(format!(
                "records for table `{}`, which is not declared",
                endpoint.qualified()
            )));
        };
        if records.columns.is_empty() {
            records.columns = table.columns.iter().map(|column| column.name.clone()).collect();
        }
        for column in &records.columns {
            if table.column(column).is_none() {
                return Err(records
                    .loc
                    .error(format!("table `{}` has no column `{column}`", table.qualified())));
            }
        }
        if let Some(row) = records.rows.iter().find(|row| row.len() != records.columns.len()) {
            return Err(records.loc.error(format!(
                "a record of `{}` has {} value(s) for {} column(s)",
                table.qualified(),
                row.len(),
                records.columns.len()
            )));
        }
        records.schema = table.schema.clone();
        records.table = table.name.clone();
    }
    Ok(())
}
