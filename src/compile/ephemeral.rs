//! Ephemeral models: never built, injected into each consumer as leading CTEs named
//! `__dbt__cte__<name>`, flattened in dependency order and merged in front of the consumer's own
//! WITH, exactly as dbt's `_inject_ctes_into_sql` does. Pure string work on compiled SQL: it
//! must not render Jinja or reach the database.

/// The CTE name of an ephemeral model.
pub fn cte_name(model: &str) -> String {
    format!("__dbt__cte__{model}")
}

/// Inject `ctes` ((cte name, compiled SQL) in dependency order) into `sql`.
pub fn inject_ctes(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_string();
    }
    let joined = ctes
        .iter()
        .map(|(name, body)| format!(" {name} as (\n{body}\n)"))
        .collect::<Vec<_>>()
        .join(", ");
    let start = first_token_offset(sql);
    if let Some(after_with) = leading_with(sql, start) {
        // with <ctes>, <the model's own ctes>
        format!("{}{joined},{}", &sql[..after_with], &sql[after_with..])
    } else {
        format!("{}with{joined}{}", &sql[..start], &sql[start..])
    }
}

/// Offset of the first token that is not whitespace (comments count as tokens, as in sqlparse).
fn first_token_offset(sql: &str) -> usize {
    sql.len() - sql.trim_start().len()
}

/// When the statement starts with WITH (after whitespace and comments), the offset just after
/// the WITH keyword (and RECURSIVE, if present).
fn leading_with(sql: &str, start: usize) -> Option<usize> {
    let mut offset = skip_whitespace_and_comments(sql, start);
    let rest = &sql[offset..];
    if !starts_with_keyword(rest, "with") {
        return None;
    }
    offset += 4;
    let after = skip_whitespace_and_comments(sql, offset);
    if starts_with_keyword(&sql[after..], "recursive") {
        offset = after + "recursive".len();
    }
    Some(offset)
}

fn starts_with_keyword(text: &str, keyword: &str) -> bool {
    text.get(..keyword.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(keyword))
        && !text[keyword.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn skip_whitespace_and_comments(sql: &str, mut offset: usize) -> usize {
    loop {
        let rest = &sql[offset..];
        let trimmed = rest.trim_start();
        offset += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            offset += trimmed.find('\n').map_or(trimmed.len(), |end| end + 1);
        } else if trimmed.starts_with("/*") {
            offset += trimmed.find("*/").map_or(trimmed.len(), |end| end + 2);
        } else {
            return offset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctes() -> Vec<(String, String)> {
        vec![(cte_name("a"), "select 1 as x".to_string())]
    }

    #[test]
    fn a_select_gets_a_with_clause_like_dbt() {
        assert_eq!(
            inject_ctes("\nselect * from __dbt__cte__a", &ctes()),
            "\nwith __dbt__cte__a as (\nselect 1 as x\n)select * from __dbt__cte__a"
        );
    }

    #[test]
    fn an_existing_with_is_extended() {
        assert_eq!(
            inject_ctes("-- c\nWITH b as (select 2) select * from b", &ctes()),
            "-- c\nWITH __dbt__cte__a as (\nselect 1 as x\n), b as (select 2) select * from b"
        );
    }

    #[test]
    fn a_model_starting_with_multibyte_text_does_not_panic() {
        assert_eq!(
            inject_ctes("–– note\nselect 1", &ctes()),
            "with __dbt__cte__a as (\nselect 1 as x\n)–– note\nselect 1"
        );
    }

    #[test]
    fn a_column_named_with_something_is_not_a_with() {
        assert_eq!(
            inject_ctes("withdrawals", &ctes()),
            "with __dbt__cte__a as (\nselect 1 as x\n)withdrawals"
        );
    }
}
