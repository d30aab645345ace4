//! Column lineage, fixture-driven: each `tests/inputs/lineage/*.sql` starts with comment lines
//! `-- <relation>: <column>, ...` (`?` when its columns are unknown) naming the upstream
//! models it may read; the query's lineage and findings are snapshotted.

use std::collections::HashMap;

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use tmk::sql::lineage::{Upstream, analyse};

/// Upstream models declared by a fixture's header, as `model.shop.<name>`.
struct Fixture {
    columns: HashMap<String, Option<Vec<String>>>,
}

impl Fixture {
    fn read(sql: &str) -> Fixture {
        let mut columns = HashMap::new();
        for line in sql.lines().map_while(|line| line.strip_prefix("-- ")) {
            let Some((name, list)) = line.split_once(':') else {
                continue;
            };
            let list = list.trim();
            let known = (list != "?").then(|| {
                list.split(',')
                    .map(|column| column.trim().trim_matches('"').to_string())
                    .collect()
            });
            columns.insert(format!("model.shop.{}", name.trim()), known);
        }
        Fixture { columns }
    }
}

impl Upstream for Fixture {
    fn relation(&self, name: &[String]) -> Option<String> {
        let id = format!("model.shop.{}", name.last()?);
        self.columns.contains_key(&id).then_some(id)
    }

    fn columns(&self, node: &str) -> Option<Vec<String>> {
        self.columns.get(node).cloned().flatten()
    }
}

#[test]
fn lineage_of_fixtures() {
    insta::glob!("inputs/lineage/*.sql", |path| {
        let sql = tmk::fs::read_text(path).expect("fixture is readable");
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, &sql).expect("fixture parses");
        let [Statement::Query(query)] = statements.as_slice() else {
            panic!("fixture is one query");
        };
        let analysis = analyse(query, &Fixture::read(&sql));
        insta::assert_yaml_snapshot!(analysis);
    });
}
