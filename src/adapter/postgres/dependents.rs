//! Views that depend on a relation being replaced. dbt drops the old relation with CASCADE and
//! silently loses them (dbt-core #2185); tmk captures each dependent view or materialized view
//! (definition, options, owner, comments, grants, indexes), lets the replace drop them, and
//! recreates them in the same transaction against the new relation. If one cannot be recreated
//! (a column it needs is gone), the whole replace rolls back and the error names it.
//! It must not open, commit or roll back transactions: it works on the connection `materialize`
//! hands it, inside that transaction.

use sqlx::{PgConnection, Row};

use super::quote_literal;
use super::statement_error;
use crate::compile::node::{Relation, quote_identifier};
use crate::error::{Error, ErrorKind, Result};

/// A captured dependent view, with everything needed to recreate it.
#[derive(Debug, Clone)]
pub struct DependentView {
    /// `"schema"."name"`.
    pub qualified_name: String,
    /// The statements that recreate it, in order.
    pub statements: Vec<String>,
    /// `view` or `materialized view`.
    pub object: &'static str,
}

const CAPTURE: &str = r#"
with recursive dependents(oid, depth) as (
    select r.ev_class, 1
    from pg_depend d join pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
      and d.refobjid = to_regclass($1) and r.ev_class <> to_regclass($1)
    union
    select r.ev_class, dependents.depth + 1
    from dependents
    join pg_depend d on d.refobjid = dependents.oid and d.refclassid = 'pg_class'::regclass
                    and d.classid = 'pg_rewrite'::regclass
    join pg_rewrite r on r.oid = d.objid
    where r.ev_class <> dependents.oid and dependents.depth < 100
)
select format('%I.%I', n.nspname, c.relname) as qualified_name,
       c.relkind::text as kind,
       pg_get_viewdef(c.oid) as definition,
       coalesce(array_to_string(c.reloptions, ', '), '') as options,
       nullif(pg_get_userbyid(c.relowner)::text, current_user::text) as owner,
       obj_description(c.oid, 'pg_class') as comment,
       coalesce((select array_agg(format('comment on column %s.%I is %L', format('%I.%I', n.nspname, c.relname), a.attname, col_description(c.oid, a.attnum)))
                 from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and col_description(c.oid, a.attnum) is not null), '{}') as column_comments,
       coalesce((select array_agg(format('grant %s on %s to %s%s', acl.privilege_type, format('%I.%I', n.nspname, c.relname),
                                         case when acl.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(acl.grantee)) end,
                                         case when acl.is_grantable then ' with grant option' else '' end))
                 from aclexplode(c.relacl) acl where acl.grantee <> c.relowner), '{}') as grants,
       coalesce((select array_agg(pg_get_indexdef(i.indexrelid)) from pg_index i where i.indrelid = c.oid), '{}') as indexes,
       max(dependents.depth) as depth
from dependents join pg_class c on c.oid = dependents.oid join pg_namespace n on n.oid = c.relnamespace
group by c.oid, n.nspname, c.relname, c.relkind, c.reloptions, c.relowner, c.relacl
order by max(dependents.depth), 1
"#;

/// Capture the views that depend on `relation`, fully qualified (search_path set to
/// pg_catalog for the capture so definitions name every schema).
pub async fn capture(connection: &mut PgConnection, relation: &Relation) -> Result<Vec<DependentView>> {
    let qualified = format!(
        "{}.{}",
        quote_identifier(&relation.schema),
        quote_identifier(&relation.identifier)
    );
    let previous: (String,) = sqlx::query_as("select current_setting('search_path')")
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, "select current_setting('search_path')", None, 0))?;
    sqlx::query("select set_config('search_path', 'pg_catalog', true)")
        .execute(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, "set search_path", None, 0))?;
    // On failure the transaction is aborted: report this error, not the next statement's.
    let rows = sqlx::query(CAPTURE)
        .bind(&qualified)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, CAPTURE, None, 0))?;
    sqlx::query("select set_config('search_path', $1, true)")
        .bind(&previous.0)
        .execute(&mut *connection)
        .await
        .map_err(|error| statement_error(&error, "set search_path", None, 0))?;
    Ok(rows.iter().map(dependent_from_row).collect())
}

fn dependent_from_row(row: &sqlx::postgres::PgRow) -> DependentView {
    let qualified_name: String = row.get("qualified_name");
    let kind: String = row.get("kind");
    let definition: String = row.get("definition");
    let options: String = row.get("options");
    let owner: Option<String> = row.get("owner");
    let comment: Option<String> = row.get("comment");
    let column_comments: Vec<String> = row.get("column_comments");
    let grants: Vec<String> = row.get("grants");
    let indexes: Vec<String> = row.get("indexes");
    let materialized = kind == "m";
    let with_options = if options.is_empty() {
        String::new()
    } else {
        format!(" with ({options})")
    };
    let definition = definition.trim_end().trim_end_matches(';');
    let mut statements = vec![if materialized {
        format!("create materialized view {qualified_name}{with_options} as {definition}")
    } else {
        format!("create view {qualified_name}{with_options} as {definition}")
    }];
    statements.extend(indexes);
    let object = if materialized { "materialized view" } else { "view" };
    if let Some(owner) = owner {
        statements.push(format!(
            "alter {object} {qualified_name} owner to {}",
            quote_identifier(&owner)
        ));
    }
    if let Some(comment) = comment {
        statements.push(format!(
            "comment on {object} {qualified_name} is {}",
            quote_literal(&comment)
        ));
    }
    statements.extend(column_comments);
    statements.extend(grants);
    DependentView {
        qualified_name,
        statements,
        object,
    }
}

/// Recreate captured views in order; the first failure names the view and rolls back.
pub async fn recreate(
    connection: &mut PgConnection,
    relation: &Relation,
    views: &[DependentView],
) -> Result<()> {
    for view in views {
        for statement in &view.statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut *connection)
                .await
                .map_err(|error| {
                    let cause = statement_error(&error, statement, None, 0);
                    Error::new(
                        ErrorKind::Database,
                        format!(
                            "the view {} depends on {} and cannot be recreated on its new version: {}",
                            view.qualified_name,
                            relation.render(),
                            cause.message
                        ),
                    )
                    .detail("nothing was changed: the old relation and its dependent views are kept")
                    .hint(format!(
                        "change or drop {} first, or keep the columns it uses",
                        view.qualified_name
                    ))
                })?;
        }
    }
    Ok(())
}

/// Drop captured views (before a change they would block, such as a column type change);
/// `recreate` brings them back afterwards.
pub async fn drop_all(connection: &mut PgConnection, views: &[DependentView]) -> Result<()> {
    for view in views {
        let statement = format!("drop {} if exists {} cascade", view.object, view.qualified_name);
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut *connection)
            .await
            .map_err(|error| statement_error(&error, &statement, None, 0))?;
    }
    Ok(())
}
