//! The `tmk` binary: parse arguments, run the command on a tokio runtime, and map the outcome
//! to dbt's exit codes (0 ok, 1 a node failed, 2 tmk could not run), and 130 for a run that
//! Ctrl-C cancelled (128 + SIGINT, as a shell reports a process the signal ended; dbt has no
//! code of its own for it). It must not do any command's work itself: that lives in
//! `commands`, and errors are shown by `console`.

use clap::Parser;

use tmk::cli::{Cli, Command, DocsCommand, SourceCommand};
use tmk::commands;
use tmk::console::Console;
use tmk::plan::PlanKind;

/// mimalloc: a compile spends a quarter of its time allocating and freeing small strings and
/// maps on several threads, where glibc's malloc is slowest (README, "Compile"). Its arenas are
/// committed lazily (`.cargo/config.toml`), which keeps peak memory where glibc's was.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Fix the invocation's id and start time now (`run_started_at` is when tmk started).
    let _ = tmk::invocation::started_at_time();
    let cli = Cli::parse();
    let console = Console::new(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(2);
        }
    };
    let outcome = runtime.block_on(async {
        match &cli.command {
            Command::Build(args) => {
                commands::build::run(&args.run, PlanKind::Build, args.checks.strict, &console).await
            }
            Command::Run(args) => {
                commands::build::run(&args.run, PlanKind::Run, args.checks.strict, &console).await
            }
            Command::Seed(args) => commands::build::run(args, PlanKind::Seed, false, &console).await,
            Command::Test(args) => commands::build::run(args, PlanKind::Test, false, &console).await,
            Command::Snapshot(args) => commands::build::run(args, PlanKind::Snapshot, false, &console).await,
            Command::Source {
                command: SourceCommand::Freshness(args),
            } => commands::build::run(args, PlanKind::Freshness, false, &console).await,
            Command::Extract(args) => commands::build::run(args, PlanKind::Extract, false, &console).await,
            Command::Generate(args) => commands::generate::run(args, &console).await,
            Command::Compile(args) => commands::compile::run(args, &console).await,
            Command::Show(args) => commands::show::run(args, &console).await,
            Command::Ls(args) => commands::ls::run(args, &console),
            Command::Debug(args) => commands::debug::run(args, &console).await,
            Command::Clean(args) => commands::clean::run(args, &console),
            Command::Ddl(args) => commands::ddl::run(args, &console).await,
            Command::Docs(args) => match &args.command {
                Some(DocsCommand::Generate(project)) => commands::docs::generate(project, &console).await,
                Some(DocsCommand::Serve(serve)) => commands::docs::serve(serve, &console),
                None => commands::docs::graph(args, &console),
            },
        }
    });
    let code = match outcome {
        Ok(code) => code,
        Err(error) => {
            console.error(&error);
            error.exit_code()
        }
    };
    std::process::exit(code);
}
