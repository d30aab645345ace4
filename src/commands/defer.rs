//! `--defer` for the commands that compile (build, run, test, seed, snapshot, compile, show):
//! read each node's relation in the earlier run, let `compile::defer` choose the nodes that
//! read it given which relations the target has, and say which ones do.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::adapter::postgres::Postgres;
use crate::artifacts::earlier_relations;
use crate::cli::{DeferArgs, SelectionArgs};
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

/// The earlier run `defer` names (`--defer-state`, else `selection`'s `--state`), read; None without
/// `--defer`. Read before anything connects, so that a wrong directory changes nothing; a run
/// that built none of the project's nodes gets a warning.
pub fn read(
    manifest: &Manifest,
    defer: &DeferArgs,
    selection: &SelectionArgs,
    console: &Console,
) -> Result<Option<Deferral>> {
    if !defer.defer {
        return Ok(None);
    }
    let (flag, dir) = match (&defer.defer_state, &selection.state) {
        (Some(dir), _) => ("--defer-state", dir.as_path()),
        (None, Some(dir)) => ("--state", dir.as_path()),
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--defer needs the artifacts of the run to defer to",
            )
            .hint("add --state DIR (or --defer-state DIR): the target directory of that run, e.g. a copy of production's target/"));
        }
    };
    let earlier = earlier_relations(manifest, flag, dir)?;
    if earlier.iter().all(Option::is_none) {
        console.warn(
            &Error::new(
                ErrorKind::Usage,
                format!(
                    "the run in {flag} `{}` built no model, seed or snapshot of this project: --defer reads nothing from it",
                    dir.display()
                ),
            )
            .hint("give the target directory of a run of this project"),
        );
    }
    Ok(Some(Deferral {
        dir: dir.to_path_buf(),
        earlier,
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

    /// Defer the nodes dbt would, given the nodes the command builds (`built`), those it runs
    /// (`selected`, what dbt counts as selected) and which relations the target has
    /// (`exists`), and say which of them the nodes it runs read.
    pub fn apply(
        self,
        manifest: &mut Manifest,
        built: &HashSet<usize>,
        selected: &[usize],
        exists: impl Fn(&Relation) -> bool,
        console: &Console,
    ) {
        let selected_set: HashSet<usize> = selected.iter().copied().collect();
        let rule = DeferRule {
            favor_state: self.favor_state,
            built,
            selected: &selected_set,
        };
        let deferred = manifest.defer(self.earlier, &rule, exists);
        // What the selected nodes read, directly or through ephemeral models.
        let read: HashSet<usize> = selected
            .iter()
            .copied()
            .chain(manifest.ephemeral_ancestors_of(selected))
            .flat_map(|reader| manifest.nodes[reader].depends_on.iter().copied())
            .collect();
        let mut names: Vec<&str> = deferred
            .iter()
            .filter(|index| read.contains(index))
            .map(|&index| manifest.nodes[index].name.as_str())
            .collect();
        if names.is_empty() {
            return;
        }
        const NAMED: usize = 8;
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
    let (existing, _) = postgres.existing_relations(&manifest.schemas(), false).await?;
    deferral.apply(
        manifest,
        &HashSet::new(),
        selected,
        |relation| existing.contains_key(relation),
        console,
    );
    Ok(())
}
