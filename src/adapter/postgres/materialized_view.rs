//! Materialized views: created on the first build; later builds refresh them when their query
//! is unchanged (as dbt does) and, unlike dbt, notice a changed query and replace the view the
//! careful way (built under a temporary name and swapped in, dependent views kept) instead of
//! refreshing the old definition. `--full-refresh` always replaces. It must not decide when a
//! model runs.

use super::Postgres;
use super::materialize::{BuildOutcome, BuildRequest, RelationKind, commit, relation_kind, run, run_all};
use super::relation_settings;
use crate::error::Result;

/// Name of the throw-away view a build compares definitions with.
const PROBE_SUFFIX: &str = "__tmk_probe";

impl Postgres {
    /// Build a materialized view model; the verb for its result line is `REFRESH` when the
    /// existing view was refreshed, else `SELECT`.
    pub async fn build_materialized_view(
        &self,
        request: &BuildRequest<'_>,
        full_refresh: bool,
    ) -> Result<(BuildOutcome, &'static str)> {
        if !full_refresh && let Some(outcome) = self.refresh_if_unchanged(request).await? {
            return Ok((outcome, "REFRESH"));
        }
        let outcome = self
            .build_relation(request, RelationKind::MaterializedView)
            .await?;
        Ok((outcome, "SELECT"))
    }

    /// Refresh the existing materialized view when the model's query is the one it was built
    /// from (compared as PostgreSQL deparses both); None when it must be replaced.
    async fn refresh_if_unchanged(&self, request: &BuildRequest<'_>) -> Result<Option<BuildOutcome>> {
        let relation = request.relation;
        let mut transaction = self.begin().await?;
        if relation_kind(&mut transaction, relation).await?.as_deref() != Some("materialized_view") {
            return Ok(None);
        }
        let mut outcome = BuildOutcome::default();
        let probe = relation.with_identifier(format!("{}{PROBE_SUFFIX}", relation.identifier));
        let prefix = format!("create materialized view {} as (\n", probe.render());
        let create = format!("{prefix}{}\n) with no data", request.sql);
        run(
            &mut transaction,
            &create,
            Some(request.origin),
            prefix.chars().count(),
            &mut outcome,
        )
        .await?;
        let compare = "select pg_get_viewdef(to_regclass($1)) = pg_get_viewdef(to_regclass($2))";
        let (same,): (Option<bool>,) = sqlx::query_as(compare)
            .bind(relation.render())
            .bind(probe.render())
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| super::statement_error(&error, compare, None, 0))?;
        if same != Some(true) {
            // Dropped with the rolled-back transaction.
            return Ok(None);
        }
        let drop_probe = format!("drop materialized view {}", probe.render());
        run(&mut transaction, &drop_probe, None, 0, &mut outcome).await?;
        run_all(&mut transaction, request.pre_hooks, &mut outcome).await?;
        let refresh = format!("refresh materialized view {}", relation.render());
        run(&mut transaction, &refresh, None, 0, &mut outcome).await?;
        relation_settings::apply(&mut transaction, relation, request.settings, false, &mut outcome).await?;
        run_all(&mut transaction, request.post_hooks, &mut outcome).await?;
        commit(transaction).await?;
        Ok(Some(outcome))
    }
}
