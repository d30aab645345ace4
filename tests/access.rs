//! Grants, indexes and row-level security against a real PostgreSQL: dbt's `grants` and
//! `indexes` configs and tmk's `row_security` are in place when the relation appears (also
//! after a swap or an incremental run), grants the config no longer names are revoked, a role
//! that connects sees only the rows its policy allows, and misplaced or malformed settings are
//! errors before anything changes.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_exit, assert_ok, database, psql, psql_as};

/// Login roles for one test (roles are cluster-wide, so their names carry the test's schema),
/// dropped again when the test ends.
struct Roles(Vec<String>);

impl Roles {
    fn create(project: &TestProject, names: &[&str]) -> Roles {
        let roles: Vec<String> = names
            .iter()
            .map(|name| format!("{}_{name}", project.schema))
            .collect();
        for role in &roles {
            psql(&format!("drop role if exists {role}"));
            psql(&format!("create role {role} login"));
        }
        Roles(roles)
    }

    fn name(&self, index: usize) -> &str {
        &self.0[index]
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        for role in &self.0 {
            let _ = std::process::Command::new("psql")
                .args(["-X", "-q", "-h", &common::database().host, "-p"])
                .arg(common::database().port.to_string())
                .args([
                    "-U",
                    &common::database().user,
                    "-d",
                    &common::database().dbname,
                    "-c",
                ])
                .arg(format!(
                    "drop owned by {role} cascade; drop role if exists {role}"
                ))
                .output();
        }
    }
}

fn sales_project(name: &str, materialized: &str, config: &str) -> TestProject {
    TestProject::new(
        name,
        &[
            (
                "seeds/raw_sales.csv",
                "id,region,amount\n1,north,10\n2,south,20\n3,north,30\n4,west,40\n",
            ),
            (
                "models/sales.sql",
                &format!(
                    "{{{{ config(materialized='{materialized}', unique_key='id') }}}}\nselect * from {{{{ ref('raw_sales') }}}}\n"
                ),
            ),
            (
                "models/schema.yml",
                &format!("version: 2\nmodels:\n  - name: sales\n    config:\n{config}"),
            ),
        ],
    )
}

fn grantees(project: &TestProject, relation: &str) -> String {
    psql(&format!(
        "select string_agg(grantee || ':' || lower(privilege_type), ',' order by grantee, privilege_type)
         from information_schema.role_table_grants
         where table_schema = '{}' and table_name = '{relation}' and grantee <> current_user",
        project.schema
    ))
}

fn indexes(project: &TestProject, relation: &str) -> String {
    psql(&format!(
        "select string_agg(indexdef, E'\\n' order by indexname) from pg_indexes where schemaname = '{}' and tablename = '{relation}'",
        project.schema
    ))
    .replace(&project.schema, "<schema>")
}

#[test]
fn a_rebuilt_table_has_its_grants_and_indexes_when_it_appears() {
    let project = sales_project("access_table", "table", "");
    let roles = Roles::create(&project, &["bi", "etl"]);
    let (bi, etl) = (roles.name(0), roles.name(1));
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2\nmodels:\n  - name: sales\n    config:\n      grants: {{select: [{bi}], insert: [{etl}]}}\n      indexes:\n        - {{columns: [region]}}\n        - {{columns: [id], unique: true}}\n"
        ),
    );
    for _ in 0..2 {
        // The first build creates the table, the second swaps a new one in.
        assert_ok(&project.tmk(&["build"]));
        assert_eq!(grantees(&project, "sales"), format!("{bi}:select,{etl}:insert"));
        assert_eq!(
            indexes(&project, "sales"),
            "CREATE UNIQUE INDEX sales_id_key ON <schema>.sales USING btree (id)\nCREATE INDEX sales_region_idx ON <schema>.sales USING btree (region)"
        );
        psql(&format!(
            "grant usage on schema {} to {bi}, {etl}",
            project.schema
        ));
        // The BI role reads the table; the ETL role may insert but not read.
        let count = format!("select count(*) from {}.sales", project.schema);
        assert_eq!(psql_as(bi, &database().dbname, &count), Ok("4".to_string()));
        let denied = psql_as(etl, &database().dbname, &count).expect_err("the ETL role may not read");
        assert!(denied.contains("permission denied for table sales"), "{denied}");
    }
}

#[test]
fn an_incremental_run_revokes_what_the_config_no_longer_grants() {
    let project = sales_project("access_incremental", "incremental", "");
    let roles = Roles::create(&project, &["bi", "old"]);
    let (bi, old) = (roles.name(0), roles.name(1));
    let config = |grantees: &str| {
        format!(
            "version: 2\nmodels:\n  - name: sales\n    config:\n      grants: {{select: [{grantees}]}}\n      indexes: [{{columns: [amount], type: brin}}]\n"
        )
    };
    project.write("models/schema.yml", &config(&format!("{bi}, {old}")));
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(grantees(&project, "sales"), format!("{bi}:select,{old}:select"));
    project.write("models/schema.yml", &config(bi));
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert_eq!(grantees(&project, "sales"), format!("{bi}:select"));
    assert_eq!(
        indexes(&project, "sales"),
        "CREATE INDEX sales_amount_idx ON <schema>.sales USING brin (amount)"
    );
}

#[test]
fn a_role_sees_only_the_rows_its_policy_allows() {
    let project = sales_project("access_rls", "table", "");
    let roles = Roles::create(&project, &["north", "all"]);
    let (north, all) = (roles.name(0), roles.name(1));
    project.write(
        "models/schema.yml",
        &format!(
            "version: 2
models:
  - name: sales
    config:
      grants: {{select: [{north}, {all}]}}
      row_security:
        - name: own_region
          to: [{north}]
          using: \"region = 'north'\"
        - name: every_region
          to: [{all}]
          using: \"true\"
"
        ),
    );
    for _ in 0..2 {
        assert_ok(&project.tmk(&["build"]));
        psql(&format!(
            "grant usage on schema {} to {north}, {all}",
            project.schema
        ));
        let query = format!(
            "select string_agg(id::text, ',' order by id) from {}.sales",
            project.schema
        );
        assert_eq!(psql_as(north, &database().dbname, &query), Ok("1,3".to_string()));
        assert_eq!(
            psql_as(all, &database().dbname, &query),
            Ok("1,2,3,4".to_string())
        );
        // The owner (tmk's own role) is not bound by the policies.
        assert_eq!(psql(&query), "1,2,3,4");
    }
    // Without policies in the config, row security is off again.
    project.write(
        "models/schema.yml",
        &format!("version: 2\nmodels:\n  - name: sales\n    config:\n      grants: {{select: [{north}]}}\n"),
    );
    project.write(
        "models/sales.sql",
        "{{ config(materialized='incremental') }}\nselect * from {{ ref('raw_sales') }} where false\n",
    );
    assert_ok(&project.tmk(&["run"]));
    let query = format!("select count(*) from {}.sales", project.schema);
    assert_eq!(psql_as(north, &database().dbname, &query), Ok("4".to_string()));
}

#[test]
fn indexes_or_policies_on_a_view_are_errors_before_anything_changes() {
    let project = sales_project(
        "access_view",
        "view",
        "      row_security: [{name: p, using: \"true\"}]\n",
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout
            .contains("model `sales` is a view: `row_security` applies to table and"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("sales"));
    let indexed = sales_project(
        "access_view_indexes",
        "view",
        "      indexes: [{columns: [region]}]\n",
    );
    let run = indexed.tmk(&["build"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout
            .contains("model `sales` is a view: `indexes` applies to table and"),
        "{}",
        run.stdout
    );
    assert!(!indexed.exists("sales"));
}

#[test]
fn a_malformed_setting_is_an_error_at_its_yaml_entry() {
    let project = sales_project(
        "access_malformed",
        "table",
        "      grants: {selects: [someone]}\n",
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 2);
    assert!(
        run.stderr.contains("unknown privilege `selects`") && run.stderr.contains("models/schema.yml:5:7"),
        "{}",
        run.stderr
    );
    assert!(!project.exists("raw_sales"));
}
