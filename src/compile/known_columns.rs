//! Columns of nodes known without reading their SQL, and where each list comes from: a seed's
//! CSV header, a model's contract, the DBML table a model or source is bound to, the database's
//! catalog (relations that exist and that the command does not rebuild), a source's `columns:`
//! in properties YAML. Column lineage expands `*` over them and checks the columns a model
//! reads against them. Pure: the commands read the seed files and the database and hand the
//! lists in; nothing here reads files or connects.

use std::collections::HashMap;

use super::Manifest;
use super::node::{Node, Relation, ResourceType};

/// Columns known from outside the project's SQL and YAML, by unique_id.
#[derive(Debug, Clone, Default)]
pub struct KnownColumns {
    /// Each seed's CSV header.
    pub seeds: HashMap<String, Vec<String>>,
    /// The columns of the relations that exist in the database and that the command does not
    /// rebuild (empty without a database).
    pub catalog: HashMap<String, Vec<String>>,
}

/// Where the columns of a node whose SQL is not read are known from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnsOrigin {
    /// The seed's CSV header.
    SeedFile,
    /// The model's enforced contract.
    Contract,
    /// The DBML table the node is bound to (`dbml: schema.table`).
    Dbml,
    /// The relation in the database.
    Catalog,
    /// The source's `columns:` in its properties YAML.
    Properties,
}

impl KnownColumns {
    /// The columns of `node` known without its SQL, and where from. A seed's are its file's
    /// (the table in the database, when the file cannot be read). A source's are the table in
    /// the database, else its DBML table, else its `columns:` (names folded to lower case, as
    /// PostgreSQL folds unquoted names). A model's or snapshot's are what its build gives it
    /// (a contract, a DBML table it is checked against), else the relation that exists now.
    pub fn of(&self, node: &Node) -> Option<(Vec<String>, ColumnsOrigin)> {
        use ColumnsOrigin::{Catalog, Contract, Dbml, Properties, SeedFile};
        let order: &[ColumnsOrigin] = match node.resource_type {
            ResourceType::Seed => &[SeedFile, Catalog],
            ResourceType::Source => &[Catalog, Dbml, Properties],
            _ => &[Contract, Dbml, Catalog],
        };
        order
            .iter()
            .find_map(|&origin| Some((self.from(node, origin)?, origin)))
    }

    /// The columns of `node` that `origin` knows.
    fn from(&self, node: &Node, origin: ColumnsOrigin) -> Option<Vec<String>> {
        // A source's DBML table and YAML columns describe the remote table: the columns
        // extract excludes are not loaded.
        let loaded = |name: &String| node.extract.as_ref().is_none_or(|spec| spec.copies(name));
        match origin {
            ColumnsOrigin::SeedFile => self.seeds.get(&node.unique_id).cloned(),
            ColumnsOrigin::Catalog => self.catalog.get(&node.unique_id).cloned(),
            ColumnsOrigin::Contract => node.contract.as_ref().map(|contract| {
                contract
                    .columns
                    .iter()
                    .map(|column| column.name.clone())
                    .collect()
            }),
            ColumnsOrigin::Dbml => node.dbml.as_ref().map(|binding| {
                binding
                    .columns
                    .iter()
                    .map(|column| column.name.clone())
                    .filter(loaded)
                    .collect()
            }),
            ColumnsOrigin::Properties => (!node.columns.is_empty()).then(|| {
                node.columns
                    .keys()
                    .map(|name| name.to_lowercase())
                    .filter(loaded)
                    .collect()
            }),
        }
    }

    /// Add the database's columns: `columns_of` gives a relation's columns when it exists.
    /// The nodes `rebuilt` says the command replaces are left out: their columns may change.
    pub fn add_catalog(
        &mut self,
        manifest: &Manifest,
        columns_of: impl Fn(&Relation) -> Option<Vec<String>>,
        rebuilt: impl Fn(usize) -> bool,
    ) {
        for (index, node) in manifest.nodes.iter().enumerate() {
            if rebuilt(index) {
                continue;
            }
            if let Some(columns) = node.read_relation().and_then(&columns_of) {
                self.catalog.insert(node.unique_id.clone(), columns);
            }
        }
    }
}

impl ColumnsOrigin {
    /// Where the columns of `node` come from, for people: `the seed's CSV header`.
    pub fn describe(self, node: &Node) -> String {
        match self {
            ColumnsOrigin::SeedFile => "the seed's CSV header".to_string(),
            ColumnsOrigin::Contract => "its contract".to_string(),
            ColumnsOrigin::Dbml => match &node.dbml {
                Some(binding) => format!("DBML table `{}` at {}", binding.table, binding.declared_at),
                None => "its DBML table".to_string(),
            },
            ColumnsOrigin::Catalog => "the database".to_string(),
            ColumnsOrigin::Properties => format!(
                "the `columns:` of {}",
                node.patch_path.as_deref().unwrap_or(&node.path)
            ),
        }
    }
}
