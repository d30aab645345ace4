//! Parsing a model's compiled SQL (sqlparser, PostgreSQL dialect). A parse failure keeps
//! sqlparser's message and the position it names in the compiled SQL. Pure text work.

use sqlparser::ast::{Query, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// A model's compiled SQL as parsed.
#[derive(Debug)]
pub enum Parsed {
    /// One query (SELECT, WITH, VALUES, a set operation).
    Query(Box<Query>),
    /// Something else (several statements, DDL, nothing): not analysed.
    Other,
    /// sqlparser could not read it.
    Failed(SyntaxError),
}

/// Why sqlparser could not read some SQL, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// sqlparser's message, its position removed.
    pub message: String,
    /// 1-based line in the compiled SQL (its end when sqlparser named no position).
    pub line: usize,
    /// 1-based column (characters) in the compiled SQL.
    pub column: usize,
}

/// Parse compiled SQL.
pub fn parse(sql: &str) -> Parsed {
    match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(mut statements) => match (statements.pop(), statements.is_empty()) {
            (Some(Statement::Query(query)), true) => Parsed::Query(query),
            _ => Parsed::Other,
        },
        Err(error) => {
            let mut error = syntax_error(&error.to_string());
            if error.line == 0 {
                // sqlparser names no position when the SQL ends too early: point at its end.
                let trimmed = sql.trim_end();
                error.line = trimmed.lines().count().max(1);
                error.column = trimmed.lines().last().map_or(0, |line| line.chars().count()) + 1;
            }
            Parsed::Failed(error)
        }
    }
}

/// Split sqlparser's "sql parser error: <message> at Line: L, Column: C".
fn syntax_error(text: &str) -> SyntaxError {
    let text = text.strip_prefix("sql parser error: ").unwrap_or(text);
    let Some((message, position)) = text.rsplit_once(" at Line: ") else {
        return SyntaxError {
            message: text.to_string(),
            line: 0,
            column: 0,
        };
    };
    let (line, column) = position.split_once(", Column: ").unwrap_or((position, "0"));
    SyntaxError {
        message: message.to_string(),
        line: line.trim().parse().unwrap_or(0),
        column: column.trim().parse().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_parses_and_a_syntax_error_names_its_position() {
        assert!(matches!(parse("select 1 as a"), Parsed::Query(_)));
        assert!(matches!(parse("select 1; select 2"), Parsed::Other));
        let Parsed::Failed(error) = parse("select a\n  from t where\n") else {
            panic!("expected a syntax error");
        };
        assert_eq!((error.line, error.column), (2, 15));
        assert!(
            error.message.starts_with("Expected: an expression"),
            "{}",
            error.message
        );
        let Parsed::Failed(error) = parse("select a\n  from t order by order by") else {
            panic!("expected a syntax error");
        };
        assert_eq!((error.line, error.column), (2, 25));
    }
}
