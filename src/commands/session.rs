//! What every command starts from: the project read and parsed, the target resolved (a
//! profile, or the embedded PostgreSQL when no profile exists), `--vars` parsed, the target
//! directory, and the selection evaluated. Commands call these in order; nothing here runs SQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::selectors::Selectors;
use crate::artifacts::{config_with_defaults, earlier_state};
use crate::cli::{IndirectSelectionArg, ProjectArgs, SelectionArgs};
use crate::compile::jinja::context::TargetInfo;
use crate::compile::{self, Manifest};
use crate::console::Console;
use crate::error::{Error, ErrorKind, Result, SourceLocation};
use crate::graph::SelectorExpr;
use crate::graph::selector::{self, IndirectSelection, SelectableNode};
use crate::project::profile::{self, PostgresTarget};
use crate::project::yaml::{SourceFile, Yaml};
use crate::project::{self, Project};

/// Where the target came from.
#[derive(Debug, Clone)]
pub enum TargetOrigin {
    /// A profiles.yml file.
    Profile(PathBuf),
    /// The embedded PostgreSQL under `.tmk/postgres` (started on demand).
    Embedded(PathBuf),
}

/// A loaded project with its target.
pub struct Session {
    /// The project as read.
    pub project: Project,
    /// The connection settings (port 0 for an embedded cluster not started yet).
    pub target: PostgresTarget,
    /// Where the target came from.
    pub origin: TargetOrigin,
    /// The parsed project.
    pub manifest: Manifest,
    /// The target directory (absolute).
    pub target_dir: PathBuf,
}

/// The schema the embedded default builds into.
const EMBEDDED_SCHEMA: &str = "public";

/// Read and parse the project named by `args`.
pub fn load(args: &ProjectArgs, console: &Console) -> Result<Session> {
    let project = project::load(&args.project_dir)?;
    let (target, origin) = resolve_target(&project, args)?;
    let cli_vars = parse_vars(args.vars.as_deref())?;
    let info = target_info(&target);
    let manifest = compile::parse(&project, info, cli_vars)?;
    for warning in &manifest.warnings {
        console.warn(warning);
    }
    let target_dir = target_dir(&project, args);
    Ok(Session {
        project,
        target,
        origin,
        manifest,
        target_dir,
    })
}

/// The target directory: `--target-path`, else the project's `target-path`, else target/.
pub fn target_dir(project: &Project, args: &ProjectArgs) -> PathBuf {
    match &args.target_path {
        Some(path) => path.clone(),
        None => project
            .root
            .join(project.file.target_path.as_deref().unwrap_or("target")),
    }
}

fn resolve_target(project: &Project, args: &ProjectArgs) -> Result<(PostgresTarget, TargetOrigin)> {
    let candidates = profile::profile_candidates(args.profiles_dir.as_deref(), &project.root);
    let Some(path) = candidates.iter().find(|path| crate::fs::is_file(path)) else {
        if let Some(dir) = &args.profiles_dir {
            return Err(Error::new(ErrorKind::Usage, format!("no profiles.yml in `{}`", dir.display()))
                .hint("pass the directory that holds profiles.yml, or leave --profiles-dir out to use the embedded PostgreSQL"));
        }
        let root = project.root.join(".tmk").join("postgres");
        return Ok((
            embedded_target(args.target.as_deref(), 0),
            TargetOrigin::Embedded(root),
        ));
    };
    let text = crate::fs::read_text(path)?;
    let rendered = render_profile(path, &text)?;
    let file = SourceFile::new(path, Arc::from(rendered.as_str()));
    let (profile_name, profile_location) = match &project.file.profile {
        Some(profile) => {
            let pos = crate::project::yaml::Pos {
                line: profile.referenced.line() as usize,
                column: profile.referenced.column() as usize,
            };
            (
                profile.value.clone(),
                Some(project.file_source.span(pos, profile.value.chars().count())),
            )
        }
        None => (project.file.name.value.clone(), None),
    };
    let target = profile::read_target(&file, &profile_name, profile_location, args.target.as_deref())?;
    Ok((target, TargetOrigin::Profile(path.clone())))
}

/// The embedded cluster's target (port filled in once it runs).
pub fn embedded_target(name: Option<&str>, port: u16) -> PostgresTarget {
    PostgresTarget {
        name: name.unwrap_or("embedded").to_string(),
        profile_name: "embedded".to_string(),
        host: "127.0.0.1".to_string(),
        port,
        user: "postgres".to_string(),
        password: None,
        dbname: "postgres".to_string(),
        schema: EMBEDDED_SCHEMA.to_string(),
        threads: 4,
        connect_timeout: Some(10),
        sslmode: None,
        search_path: None,
        role: None,
        application_name: None,
    }
}

/// profiles.yml is Jinja (`{{ env_var('X', 'd') }}`), rendered before it is read.
fn render_profile(path: &Path, text: &Arc<str>) -> Result<String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    compile::jinja::render_standalone(text).map_err(|(message, line)| {
        Error::new(
            ErrorKind::Project,
            format!("cannot render `{}`: {message}", path.display()),
        )
        .at(SourceLocation::new(path, line, 1).with_text(text.clone()))
    })
}

fn target_info(target: &PostgresTarget) -> TargetInfo {
    TargetInfo {
        name: target.name.clone(),
        profile_name: target.profile_name.clone(),
        kind: "postgres".to_string(),
        database: target.dbname.clone(),
        dbname: target.dbname.clone(),
        schema: target.schema.clone(),
        host: target.host.clone(),
        user: target.user.clone(),
        port: target.port,
        threads: target.threads,
    }
}

/// `--vars` as a mapping (YAML or JSON).
fn parse_vars(vars: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>> {
    let Some(text) = vars else {
        return Ok(Default::default());
    };
    let file = SourceFile::new(Path::new("--vars"), Arc::from(text));
    let parsed: Yaml = file.parse().map_err(|mut error| {
        error.kind = ErrorKind::Usage;
        error
    })?;
    match parsed.to_json() {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(Error::new(
            ErrorKind::Usage,
            format!("--vars must be a mapping, like '{{key: value}}', not `{text}`"),
        )),
    }
}

/// The selected node indices: by `--select`/`--exclude`, by `--selector` (selectors.yml), or by
/// the selector selectors.yml marks `default: true` when neither is given.
pub fn select(session: &Session, args: &SelectionArgs) -> Result<Vec<usize>> {
    let manifest = &session.manifest;
    let with_state = args.state.is_some();
    let defined = match (&args.selector, &session.project.selectors) {
        (Some(name), None) => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--selector `{name}`: the project has no selectors.yml"),
            )
            .hint("define named selectors in selectors.yml next to dbt_project.yml, or use --select"));
        }
        (name, Some(file)) => {
            let selectors = Selectors::read(file, with_state)?;
            // Every definition is checked, as dbt does, whichever is used.
            selectors.check_all()?;
            match name {
                Some(name) => Some(selectors.named(name)?),
                None if args.select.is_empty() && args.exclude.is_empty() => selectors.default()?,
                None => None,
            }
        }
        (None, None) => None,
    };
    let defined_terms = defined.as_ref().map(SelectorExpr::describe);
    let terms = || args.select.iter().chain(&args.exclude).chain(&defined_terms);
    // `config.` selects on the configs manifest.json shows, dbt's defaults included, as dbt and
    // the docs site do; they are built only when a selector asks.
    let configs: Vec<serde_json::Map<String, serde_json::Value>> =
        if terms().any(|arg| arg.contains("config.")) {
            manifest.nodes.iter().map(config_with_defaults).collect()
        } else {
            Vec::new()
        };
    let selection_error = |flag: &str, error: selector::SelectorError| {
        let text: Arc<str> = Arc::from(error.argument.as_str());
        Error::new(ErrorKind::Usage, format!("bad selector: {}", error.message))
            .at(SourceLocation::new(flag, 1, error.column).with_text(text))
            .maybe_hint(error.hint.clone())
    };
    let parse = |terms: &[String], flag: &str| match terms {
        [] => Ok(None),
        _ => selector::parse_selection(terms, with_state)
            .map(Some)
            .map_err(|error| selection_error(flag, error)),
    };
    let include = parse(&args.select, "--select")?;
    let exclude = parse(&args.exclude, "--exclude")?;
    // Read once the selectors parsed (a mistyped `state:` value is reported first), and only
    // when a selector compares with it.
    let earlier = match &args.state {
        Some(dir) if terms().any(|arg| arg.contains("state:") || arg.contains("result:")) => {
            let earlier = earlier_state(manifest, dir)?;
            if earlier.statuses.is_none() && terms().any(|arg| arg.contains("result:")) {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "--state `{}` has no run_results.json, which `result:` reads",
                        dir.display()
                    ),
                )
                .hint(
                    "give the target directory of a run that ran nodes (build, run, test, seed or snapshot)",
                ));
            }
            Some(earlier)
        }
        _ => None,
    };
    let nodes: Vec<SelectableNode> = manifest
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| SelectableNode {
            name: &node.name,
            resource_type: node.resource_type.as_str(),
            package: &node.package,
            fqn: &node.fqn,
            path: &node.path,
            tags: &node.tags,
            config: configs.get(index).unwrap_or(&node.config),
            source_name: node.source_name.as_deref(),
            test_type: match (&node.test, node.resource_type) {
                (Some(_), _) => Some("generic"),
                (None, crate::compile::node::ResourceType::Test) => Some("singular"),
                _ => None,
            },
            test_name: node.test.as_ref().map(|test| test.name.as_str()),
            state: earlier.as_ref().map(|earlier| earlier.changes[index]),
            previous_status: earlier
                .as_ref()
                .and_then(|earlier| earlier.statuses.as_ref()?[index].as_deref()),
        })
        .collect();
    let indirect = match args.indirect_selection {
        IndirectSelectionArg::Eager => IndirectSelection::Eager,
        IndirectSelectionArg::Cautious => IndirectSelection::Cautious,
        IndirectSelectionArg::Buildable => IndirectSelection::Buildable,
        IndirectSelectionArg::Empty => IndirectSelection::Empty,
    };
    match &defined {
        Some(expression) => selector::select_defined(&manifest.dag, &nodes, expression, indirect),
        None => selector::select(
            &manifest.dag,
            &nodes,
            include.as_ref(),
            exclude.as_ref(),
            indirect,
        ),
    }
    .map_err(|error| selection_error("--select", error))
}
