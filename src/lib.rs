#![recursion_limit = "256"]
//! tmk: a SQL-model build tool for PostgreSQL that reads dbt projects unmodified.
//!
//! Data flows one way: `project` (files → raw types) → `compile` (Jinja → nodes) → `graph`
//! (DAG, selection) → `plan` (plain data) → `execute` (through `adapter`) → `artifacts`.
//! `docs` builds the static site from the artifacts. `commands` wires the stages; `console` owns
//! terminal output; `error` the one error type.
//! This file only declares the modules; it must not hold logic of its own.

pub mod adapter;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod console;
pub mod dbml;
pub mod docs;
pub mod embedded_pg;
pub mod error;
pub mod execute;
pub mod fs;
pub mod generate;
pub mod graph;
pub mod invocation;
pub mod plan;
pub mod project;
pub mod seed;
pub mod sql;
