//! Finding and reading a project: the project file, SQL models, seeds, snapshots, singular
//! tests, analyses, macros, docs blocks and properties YAML, into raw types that keep their
//! source text and positions. It knows nothing of Jinja, graphs or databases.

pub mod blocks;
pub mod profile;
pub mod project_file;
pub mod properties;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Result};
use crate::fs;
use project_file::{PROJECT_FILE_NAMES, RawProjectFile};
use properties::RawPropertiesFile;
use yaml::SourceFile;

/// A SQL or CSV file of the project.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    /// Path relative to the project root, '/'-separated (dbt's original_file_path).
    pub relative_path: String,
    /// File name without extension: the node name.
    pub stem: String,
    /// Folders between the resource directory and the file (for the config tree and fqn).
    pub folders: Vec<String>,
    /// The file's text (empty for seeds, which are read when loaded).
    pub text: Arc<str>,
}

/// A `{% docs name %}...{% enddocs %}` block.
#[derive(Debug, Clone)]
pub struct DocBlock {
    /// Block name.
    pub name: String,
    /// The block's text, trimmed.
    pub text: String,
    /// The file it came from (relative path).
    pub relative_path: String,
}

/// A properties YAML file, parsed.
#[derive(Debug, Clone)]
pub struct PropertiesFile {
    /// The file, for error locations.
    pub source: SourceFile,
    /// Its contents.
    pub content: RawPropertiesFile,
}

/// Everything a project holds, as written.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project directory (absolute).
    pub root: PathBuf,
    /// The project file.
    pub file: RawProjectFile,
    /// The project file's source, for error locations.
    pub file_source: SourceFile,
    /// SQL models.
    pub models: Vec<ProjectFile>,
    /// CSV seeds (text not read yet).
    pub seeds: Vec<ProjectFile>,
    /// Snapshot SQL files.
    pub snapshots: Vec<ProjectFile>,
    /// Singular tests.
    pub singular_tests: Vec<ProjectFile>,
    /// Analyses.
    pub analyses: Vec<ProjectFile>,
    /// Macro files.
    pub macros: Vec<ProjectFile>,
    /// Docs blocks from .md files.
    pub docs: Vec<DocBlock>,
    /// Properties YAML files.
    pub properties: Vec<PropertiesFile>,
    /// DBML files under `dbml-paths` (default `project/`), read but not parsed: only models
    /// that name a DBML table need them.
    pub dbml: Vec<ProjectFile>,
    /// `selectors.yml` at the project root (dbt's named selectors), when there is one.
    pub selectors: Option<SelectorsFile>,
}

/// `selectors.yml`, read as a positioned YAML tree.
#[derive(Debug, Clone)]
pub struct SelectorsFile {
    /// The file, for error locations.
    pub source: SourceFile,
    /// Its contents.
    pub content: yaml::Yaml,
}

/// Find the project file in `dir`.
pub fn find_project_file(dir: &Path) -> Result<PathBuf> {
    PROJECT_FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| fs::is_file(path))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                format!("no `dbt_project.yml` or `tmk_project.yml` in `{}`", dir.display()),
            )
            .hint("run tmk in a project directory or pass `--project-dir`")
        })
}

/// Read the whole project under `root`.
pub fn load(root: &Path) -> Result<Project> {
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let project_path = find_project_file(&root)?;
    let file_source = SourceFile::new(
        &crate::error::display_path(&project_path, &root),
        fs::read_text(&project_path)?,
    );
    let file: RawProjectFile = file_source.parse()?;
    if let Some(version) = &file.config_version
        && version.value != 2
    {
        return Err(file_source
            .error(
                yaml::Pos {
                    line: version.referenced.line() as usize,
                    column: version.referenced.column() as usize,
                },
                format!("`config-version: {}` is not supported", version.value),
            )
            .hint("use `config-version: 2`"));
    }
    let dirs = |configured: &Option<Vec<String>>, default: &str| RawProjectFile::paths(configured, default);
    let model_dirs = dirs(&file.model_paths, "models");
    let seed_dirs = dirs(&file.seed_paths, "seeds");
    let test_dirs = dirs(&file.test_paths, "tests");
    let analysis_dirs = dirs(&file.analysis_paths, "analyses");
    let macro_dirs = dirs(&file.macro_paths, "macros");
    let snapshot_dirs = dirs(&file.snapshot_paths, "snapshots");

    let models = read_files(&root, &model_dirs, &["sql"], true)?;
    let seeds = read_files(&root, &seed_dirs, &["csv"], false)?;
    let snapshots = read_files(&root, &snapshot_dirs, &["sql"], true)?;
    let dbml = read_files(&root, &dirs(&file.dbml_paths, "project"), &["dbml"], true)?;
    let singular_tests = read_files(&root, &test_dirs, &["sql"], true)?;
    let analyses = read_files(&root, &analysis_dirs, &["sql"], true)?;
    let macros = read_files(&root, &macro_dirs, &["sql"], true)?;

    let mut yaml_dirs: Vec<String> = [
        &model_dirs,
        &seed_dirs,
        &snapshot_dirs,
        &analysis_dirs,
        &macro_dirs,
        &test_dirs,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    yaml_dirs.sort();
    yaml_dirs.dedup();
    let properties = read_properties(&root, &yaml_dirs)?;
    let docs_dirs = file.docs_paths.clone().unwrap_or_else(|| yaml_dirs.clone());
    let docs = read_docs(&root, &docs_dirs)?;
    let selectors = read_selectors(&root)?;
    Ok(Project {
        root,
        file,
        file_source,
        models,
        seeds,
        snapshots,
        singular_tests,
        analyses,
        macros,
        docs,
        properties,
        dbml,
        selectors,
    })
}

/// `selectors.yml` at `root`, when there is one.
fn read_selectors(root: &Path) -> Result<Option<SelectorsFile>> {
    let path = root.join("selectors.yml");
    if !fs::is_file(&path) {
        return Ok(None);
    }
    let source = SourceFile::new(Path::new("selectors.yml"), fs::read_text(&path)?);
    let content = source.parse()?;
    Ok(Some(SelectorsFile { source, content }))
}

fn relative(root: &Path, path: &Path) -> String {
    crate::error::display_path(path, root)
        .components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn read_files(
    root: &Path,
    dirs: &[String],
    extensions: &[&str],
    read_text: bool,
) -> Result<Vec<ProjectFile>> {
    let mut paths = Vec::new();
    for dir in dirs {
        let base = root.join(dir);
        for path in fs::files_with_extensions(&base, extensions)? {
            paths.push((base.clone(), path));
        }
    }
    paths
        .par_iter()
        .map(|(base, path)| {
            let text = if read_text {
                fs::read_text(path)?
            } else {
                Arc::from("")
            };
            let inner = path.strip_prefix(base).unwrap_or(path);
            let mut folders: Vec<String> = inner
                .components()
                .map(|component| component.as_os_str().to_string_lossy().into_owned())
                .collect();
            folders.pop();
            Ok(ProjectFile {
                relative_path: relative(root, path),
                stem: path
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                folders,
                text,
            })
        })
        .collect()
}

fn read_properties(root: &Path, dirs: &[String]) -> Result<Vec<PropertiesFile>> {
    let mut paths = Vec::new();
    for dir in dirs {
        paths.extend(fs::files_with_extensions(&root.join(dir), &["yml", "yaml"])?);
    }
    paths.sort();
    paths.dedup();
    paths
        .par_iter()
        .map(|path| {
            let source = SourceFile::new(Path::new(&relative(root, path)), fs::read_text(path)?);
            let content = source.parse()?;
            Ok(PropertiesFile { source, content })
        })
        .collect()
}

fn read_docs(root: &Path, dirs: &[String]) -> Result<Vec<DocBlock>> {
    let mut docs = Vec::new();
    for dir in dirs {
        for path in fs::files_with_extensions(&root.join(dir), &["md"])? {
            let text = fs::read_text(&path)?;
            let relative_path = relative(root, &path);
            let found = blocks::find_blocks(&text, "docs").map_err(|error| {
                SourceFile::new(Path::new(&relative_path), text.clone())
                    .error(blocks::position(&text, error.offset), error.message)
            })?;
            docs.extend(found.into_iter().map(|block| DocBlock {
                name: block.name,
                text: text[block.body].trim().to_string(),
                relative_path: relative_path.clone(),
            }));
        }
    }
    Ok(docs)
}
