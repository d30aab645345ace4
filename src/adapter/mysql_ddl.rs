//! Running DDL on MySQL/MariaDB (`tmk ddl --apply --dialect mysql --url …`): statement by
//! statement on one connection. MySQL commits each DDL statement as it runs, so there is no
//! transaction to roll back: a failure says which statement failed and how many ran before it.
//! It must not write the DDL: `dbml::ddl` does.

use sqlx::AssertSqlSafe;

use super::mysql::{self, MySqlSource};
use crate::error::Result;

/// Run `statements` in order on the server at `url` (`shown`: the URL without its password);
/// returns how many ran.
pub async fn run(url: &str, shown: &str, statements: &[String]) -> Result<usize> {
    let mut connection = MySqlSource::connect(url, shown).await?.into_connection();
    for (index, statement) in statements.iter().enumerate() {
        sqlx::raw_sql(AssertSqlSafe(statement.clone()))
            .execute(&mut connection)
            .await
            .map_err(|error| {
                mysql::source_error(&error, statement).detail(format!(
                    "statement {} of {}; the {index} before it were applied (MySQL commits DDL as it runs)",
                    index + 1,
                    statements.len()
                ))
            })?;
    }
    Ok(statements.len())
}
