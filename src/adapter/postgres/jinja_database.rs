//! `JinjaDatabase` for PostgreSQL: lets Jinja (run_query, statement, adapter introspection)
//! reach the database from the rayon threads that render, by blocking on the tokio runtime.
//! Must never be called from a tokio worker thread. It must not write SQL of its own: each call
//! forwards to a query in `catalog`.

use tokio::runtime::Handle;

use super::Postgres;
use crate::compile::jinja::context::{JinjaDatabase, QueryTable};
use crate::compile::node::Relation;

/// A Postgres handle usable from synchronous Jinja functions.
pub struct JinjaPostgres {
    postgres: Postgres,
    runtime: Handle,
}

impl JinjaPostgres {
    /// Wrap a connected target and the runtime it runs on.
    pub fn new(postgres: Postgres, runtime: Handle) -> JinjaPostgres {
        JinjaPostgres { postgres, runtime }
    }
}

impl JinjaDatabase for JinjaPostgres {
    fn query(&self, sql: &str) -> Result<QueryTable, String> {
        self.runtime
            .block_on(self.postgres.fetch_table(sql))
            .map_err(|error| error.summary())
    }

    fn columns(&self, relation: &Relation) -> Result<Vec<(String, String)>, String> {
        self.runtime
            .block_on(self.postgres.columns(relation))
            .map_err(|error| error.summary())
    }

    fn relation_kind(&self, relation: &Relation) -> Result<Option<String>, String> {
        self.runtime
            .block_on(self.postgres.relation_kind(relation))
            .map_err(|error| error.summary())
    }
}
