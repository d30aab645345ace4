//! `--defer` for the commands that compile (build, run, test, seed, snapshot, compile, show):
//! read each node's relation in the earlier run, let `compile::defer` choose the nodes that
//! read it given which relations the target has, and say which ones do.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::adapter::postgres::Postgres;
use crate::artifacts::earlier_relations;
use crate::cli::DeferArgs;
use crate::compile::Manifest;
use crate::compile::defer::DeferRule;
use crate::compile::node::{DeferRelation, Relation};
use crate::console::Console;
use crate::error::{Error, ErrorKind, Result, display_path};

/// The earlier run a command defers to.
pub struct Deferral {
    /// Its target directory.
    dir: PathBuf,
    /// Each node's relation there, by node index.
    earlier: Vec<Option<DeferRelation>>,
    /// `--favor-state`.
    favor_state: bool,
}

/// The earlier run `defer` names (`--defer-state`, else `--state`), read; None without
/// `--defer`. Read before anything connects, so that a wrong directory changes nothing.
pub fn read(manifest: &Manifest, defer: &DeferArgs, state: Option<&Path>) -> Result<Option<Deferral>> {
    if !defer.defer {
        return Ok(None);
    }
    let (flag, dir) = match (&defer.defer_state, state) {
        (Some(dir), _) => ("--defer-state", dir.as_path()),
        (None, Some(dir)) => ("--state", dir),
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--defer needs the artifacts of the run to defer to",
            )
            .hint("add --state DIR (or --defer-state DIR): the target directory of that run, e.g. a copy of production's target/"));
        }
    };
    Ok(Some(Deferral {
        dir: dir.to_path_buf(),
        earlier: earlier_relations(manifest, flag, dir)?,
        favor_state: defer.favor_state,
    }))
}

impl Deferral {
    /// The schemas of the earlier relations: a command that reads the columns of what its
    /// nodes read reads theirs too.
    pub fn schemas(&self) -> impl Iterator<Item = String> + '_ {
        self.earlier
            .iter()
            .flatten()
            .map(|earlier| earlier.relation.schema.clone())
    }

    /// Defer the nodes dbt would, given the nodes the command builds (`built`), the selected
    /// ones and which relations the target has (`exists`), and say which.
    pub fn apply(
        self,
        manifest: &mut Manifest,
        built: &HashSet<usize>,
        selected: &[usize],
        exists: impl Fn(&Relation) -> bool,
        console: &Console,
    ) {
        let selected: HashSet<usize> = selected.iter().copied().collect();
        let rule = DeferRule {
            favor_state: self.favor_state,
            built,
            selected: &selected,
        };
        let deferred = manifest.defer(self.earlier, &rule, exists);
        if deferred.is_empty() {
            return;
        }
        const NAMED: usize = 8;
        let mut names: Vec<&str> = deferred
            .iter()
            .map(|&index| manifest.nodes[index].name.as_str())
            .collect();
        names.sort_unstable();
        let more = match names.len().saturating_sub(NAMED) {
            0 => String::new(),
            more => format!(" and {more} more"),
        };
        names.truncate(NAMED);
        console.info(&format!(
            "Deferred to `{}`: {}{more} read the relations built there.",
            display_path(&self.dir, &manifest.root).display(),
            names.join(", ")
        ));
    }
}

/// For commands that build nothing (compile, show): defer what `deferral` defers, asking the
/// target which of the nodes' relations it has (one catalog query, no columns).
pub async fn defer_unbuilt(
    manifest: &mut Manifest,
    deferral: Deferral,
    selected: &[usize],
    postgres: &Postgres,
    console: &Console,
) -> Result<()> {
    let mut schemas: Vec<String> = manifest
        .nodes
        .iter()
        .filter_map(|node| Some(node.relation.as_ref()?.schema.clone()))
        .collect();
    schemas.sort();
    schemas.dedup();
    let (existing, _) = postgres.existing_relations(&schemas, false).await?;
    deferral.apply(
        manifest,
        &HashSet::new(),
        selected,
        |relation| existing.contains_key(relation),
        console,
    );
    Ok(())
}
