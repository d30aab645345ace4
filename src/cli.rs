//! The command line, as dbt users type it: subcommands `build`, `run`, `seed`, `test`,
//! `compile`, `ls`, `debug`, `clean`, `ddl`, `docs generate|serve`, and the everyday flags
//! (`-s/--select`, `--exclude`, `-f/--full-refresh`, `-x/--fail-fast`, `--threads`,
//! `-t/--target`, `--vars`, `--profiles-dir`, `--project-dir`, `--target-path`). Parsing only; `commands` acts on it.
//! It must not read the project or connect anywhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::console::LogFormat;

/// tmk builds SQL models on PostgreSQL. It reads dbt projects unmodified.
#[derive(Debug, Parser)]
#[command(name = "tmk", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Output format: lines for people, or one JSON object per line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "TMK_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seed, run and test the selected nodes in DAG order; a failing test skips what depends on it.
    Build(BuildArgs),
    /// Build the selected models.
    Run(BuildArgs),
    /// Load the selected seeds (CSV files) with COPY.
    Seed(RunArgs),
    /// Run the selected data tests.
    Test(RunArgs),
    /// Run the selected snapshots (SCD type 2 history tables).
    Snapshot(RunArgs),
    /// Copy the new and changed rows of the selected `loader: tmk` sources into the target.
    Extract(RunArgs),
    /// Write deterministic TechMarket OLTP test data (auth, catalog, orders, payments).
    Generate(GenerateArgs),
    /// Source commands (`tmk source freshness`).
    Source {
        /// What to do with the sources.
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Render the selected nodes to SQL under target/compiled (no database needed).
    Compile(CompileArgs),
    /// Print the first rows the selected models' SQL returns (`--limit`, default 5).
    Show(ShowArgs),
    /// List the selected nodes.
    #[command(alias = "list")]
    Ls(ListArgs),
    /// Show the project, profile and target in use, and test the connection.
    Debug(ProjectArgs),
    /// Remove the clean-targets directories (target/ by default).
    Clean(ProjectArgs),
    /// Write the DDL of DBML files (schemas, enums, tables, indexes, comments, foreign keys),
    /// apply it, or print the ALTER statements between two versions (`--diff OLD NEW`).
    Ddl(DdlArgs),
    /// The documentation site (`tmk docs generate`, `tmk docs serve`), or the graph for other
    /// tools (`tmk docs --format dot|mermaid|json [--columns]`).
    Docs(DocsArgs),
}

/// Options of ddl.
#[derive(Debug, Args, Clone)]
pub struct DdlArgs {
    /// The DBML files, read as one schema (refs may cross files).
    #[arg(required_unless_present = "diff", conflicts_with = "diff")]
    pub files: Vec<PathBuf>,
    /// The SQL dialect to write.
    #[arg(long, value_enum, default_value = "postgres")]
    pub dialect: DialectArg,
    /// Print the statements that migrate OLD to NEW instead of the whole DDL.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    pub diff: Option<Vec<PathBuf>>,
    /// Run the statements in one transaction (PostgreSQL: on the profile's target; MySQL: on
    /// `--url`) instead of printing them.
    #[arg(long)]
    pub apply: bool,
    /// With `--apply --dialect mysql`: the server, e.g. `mysql://root@127.0.0.1:3306`.
    #[arg(long, env = "TMK_MYSQL_URL")]
    pub url: Option<String>,
    /// Project and profile (for `--apply` on PostgreSQL).
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// SQL dialects of `tmk ddl`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DialectArg {
    /// PostgreSQL.
    Postgres,
    /// MySQL 8 / MariaDB 10.11.
    Mysql,
}

/// Options of `docs`: a subcommand, or `--format` to write the graph to stdout.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DocsArgs {
    /// What to do with the site.
    #[command(subcommand)]
    pub command: Option<DocsCommand>,
    /// Project and profile.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Write the graph (models, seeds, snapshots, sources) to stdout in this format.
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
    /// With --format: the column lineage read from the compiled SQL instead of the node graph.
    #[arg(long, requires = "format")]
    pub columns: bool,
}

/// Formats of `docs --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// JSON (with `--columns`, the project's column lineage).
    Json,
}

/// `tmk docs ...`.
#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Compile every node, write manifest.json and catalog.json (columns and types from the
    /// database when the target answers) and the static site in target/docs.
    Generate(ProjectArgs),
    /// Serve target/docs on 127.0.0.1 until Ctrl-C.
    Serve(DocsServeArgs),
}

/// Options of `docs serve`.
#[derive(Debug, Args, Clone)]
pub struct DocsServeArgs {
    /// Project and profile (for the target directory).
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

/// Where the project and its profile are.
#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    /// The project directory (holding dbt_project.yml or tmk_project.yml).
    #[arg(long, env = "DBT_PROJECT_DIR", default_value = ".")]
    pub project_dir: PathBuf,
    /// The directory holding profiles.yml (default: the project directory, ./, ~/.tmk, ~/.dbt).
    #[arg(long, env = "DBT_PROFILES_DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// The profile's target to use (default: the profile's `target`).
    #[arg(short = 't', long)]
    pub target: Option<String>,
    /// Variables as a YAML or JSON mapping, e.g. '{start_date: 2024-01-01}'.
    #[arg(long)]
    pub vars: Option<String>,
    /// Where artifacts go (default: the project's target-path, or target/).
    #[arg(long)]
    pub target_path: Option<PathBuf>,
}

/// Which nodes.
#[derive(Debug, Args, Clone)]
pub struct SelectionArgs {
    /// Nodes to include: names, `tag:x`, `path:models/x`, `+m`, `m+`, `@m`, `a,b` (intersection).
    #[arg(short = 's', long = "select", alias = "models", short_alias = 'm', num_args = 1.., action = clap::ArgAction::Append)]
    pub select: Vec<String>,
    /// Nodes to leave out (same syntax as --select).
    #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
    pub exclude: Vec<String>,
    /// A selector of the project's selectors.yml, by name, instead of --select and --exclude.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["select", "exclude"])]
    pub selector: Option<String>,
    /// Which tests of selected nodes to include.
    #[arg(long, value_enum, default_value = "eager")]
    pub indirect_selection: IndirectSelectionArg,
    /// The artifacts of an earlier run (its target/ directory: manifest.json, and
    /// run_results.json for `result:`), which `state:modified`, `state:new` and `result:error`
    /// compare against.
    #[arg(long, value_name = "DIR", env = "DBT_STATE")]
    pub state: Option<PathBuf>,
}

/// `--defer`: refs to nodes this command does not build read the relations of an earlier run
/// (dbt's deferral).
#[derive(Debug, Args, Clone, Default)]
pub struct DeferArgs {
    /// Refs to nodes this command does not build, and that are missing from the target, read
    /// the relations of the run in `--state` (or `--defer-state`) instead: build a change in a
    /// CI or development schema against production's tables.
    #[arg(long, env = "DBT_DEFER", value_parser = clap::builder::BoolishValueParser::new())]
    pub defer: bool,
    /// With --defer: refs to unselected nodes read the earlier run's relations even when the
    /// target has its own.
    #[arg(long, requires = "defer")]
    pub favor_state: bool,
    /// With --defer: the earlier run to defer to, when it is not the `--state` one.
    #[arg(long, requires = "defer", value_name = "DIR")]
    pub defer_state: Option<PathBuf>,
}

/// dbt's --indirect-selection modes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IndirectSelectionArg {
    /// Tests with any selected parent.
    Eager,
    /// Tests whose parents are all selected.
    Cautious,
    /// Tests whose parents are selected or ancestors of selected nodes.
    Buildable,
    /// No tests unless selected directly.
    Empty,
}

/// `tmk source ...`.
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Check how fresh the selected sources are (`loaded_at_field` against `freshness`
    /// thresholds); writes target/sources.json; exit code 1 when one is stale.
    Freshness(RunArgs),
}

/// Options of build, run, seed and test.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Project and profile.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Selection.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Deferral to an earlier run's relations.
    #[command(flatten)]
    pub defer: DeferArgs,
    /// Rebuild incremental models and seeds from scratch.
    #[arg(short = 'f', long)]
    pub full_refresh: bool,
    /// Stop at the first failure.
    #[arg(short = 'x', long)]
    pub fail_fast: bool,
    /// How many nodes to build at once (default: the profile's threads).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the plan (steps in order, with what each waits for) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait, in seconds, when another run is changing the same target.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub lock_timeout: u64,
    /// Microbatch models process batches from this time (`2024-01-01` or `2024-01-01 06:00:00`).
    #[arg(long, value_parser = event_time, value_name = "TIME")]
    pub event_time_start: Option<chrono::NaiveDateTime>,
    /// Microbatch models process batches up to this time (default: now).
    #[arg(long, value_parser = event_time, value_name = "TIME")]
    pub event_time_end: Option<chrono::NaiveDateTime>,
}

/// Options of build and run: those of every run, and the checks of the compiled SQL.
#[derive(Debug, Args, Clone)]
pub struct BuildArgs {
    /// Everything a run takes.
    #[command(flatten)]
    pub run: RunArgs,
    /// What to make of problems in the compiled SQL (with `--strict`, nothing runs).
    #[command(flatten)]
    pub checks: SqlChecksArgs,
}

/// Whether problems found in the compiled SQL stop the command.
#[derive(Debug, Args, Clone)]
pub struct SqlChecksArgs {
    /// Problems found in the compiled SQL (SQL sqlparser cannot read, a relation named
    /// instead of ref()/source(), a column an upstream model does not return) are errors
    /// (exit code 2; build and run then run nothing).
    #[arg(long)]
    pub strict: bool,
}

/// Parse `--event-time-start/--event-time-end`.
fn event_time(text: &str) -> Result<chrono::NaiveDateTime, String> {
    crate::compile::microbatch::parse_time(text)
        .ok_or_else(|| format!("`{text}` is not a date or time like `2024-01-01` or `2024-01-01 06:00:00`"))
}

/// Options of generate.
#[derive(Debug, Args, Clone)]
pub struct GenerateArgs {
    /// Where the data goes: `mysql://user:pw@host:3306` (one database per service),
    /// `postgres://user@host:5432/db` (one schema per service), or `target` (the profile's
    /// target, the embedded PostgreSQL without a profile).
    #[arg(long, env = "TECHMARKET_OLTP_URL", default_value = "target")]
    pub into: String,
    /// Size: 1 is 600 orders, 1000 is 600,000.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub scale: u32,
    /// The random seed; the same scale and seed give the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Prefix of the database (MySQL) or schema (PostgreSQL) names: `t1_` gives `t1_orders`.
    #[arg(long, env = "TECHMARKET_OLTP_PREFIX", default_value = "")]
    pub prefix: String,
    /// Change the existing data instead of creating it: new orders, status changes and price
    /// updates, with `updated_at` moved forward.
    #[arg(long)]
    pub changes: bool,
    /// The project and profile (for `--into target`).
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Options of compile.
#[derive(Debug, Args, Clone)]
pub struct CompileArgs {
    /// Project and profile.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Selection.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Deferral to an earlier run's relations.
    #[command(flatten)]
    pub defer: DeferArgs,
    /// What to make of problems in the compiled SQL.
    #[command(flatten)]
    pub checks: SqlChecksArgs,
}

/// Options of show.
#[derive(Debug, Args, Clone)]
pub struct ShowArgs {
    /// Project and profile.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Selection (models and snapshots; tests are left out).
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Deferral to an earlier run's relations.
    #[command(flatten)]
    pub defer: DeferArgs,
    /// How many rows to print.
    #[arg(long, default_value_t = 5)]
    pub limit: u64,
}

/// Options of ls.
#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Project and profile.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Selection.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Only these resource types (model, seed, test, source, snapshot, analysis).
    #[arg(long = "resource-type", alias = "resource-types", num_args = 1..)]
    pub resource_types: Vec<String>,
    /// What to print for each node.
    #[arg(short = 'o', long, value_enum, default_value = "selector")]
    pub output: ListOutput,
}

/// What `ls` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListOutput {
    /// The fqn, dotted (dbt's default).
    Selector,
    /// The node name.
    Name,
    /// The file path.
    Path,
    /// One JSON object per node.
    Json,
}
