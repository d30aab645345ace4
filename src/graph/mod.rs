//! The project's dependency graph and dbt's node selection syntax.
//!
//! This module owns petgraph and everything about `--select`/`--exclude` (and the set
//! operations of selectors.yml definitions, handed over as [`selector::SelectorExpr`]):
//! [`dag::Dag`] (cycles, topological order, ancestors and descendants) and
//! [`selector`] (parsing and evaluating selections, indirect test selection).
//! No petgraph type leaves this module. It must not read files, parse
//! manifests or YAML, or talk to the database: callers hand it node indices,
//! edges and [`selector::SelectableNode`] views.

mod criterion;
pub mod dag;
pub mod export;
mod matching;
pub mod selector;

pub use criterion::ModifiedPart;
pub use dag::{CycleError, Dag};
pub use selector::{
    IndirectSelection, SelectableNode, Selection, SelectorError, SelectorExpr, StateChange, parse_selection,
    select, select_defined,
};
