//! The parse pass: turn the raw project into nodes with resolved configs, relations and
//! dependencies, and build the DAG. Models, singular tests and analyses are rendered once with
//! `execute = false` (in parallel) to capture their `config()`, `ref()` and `source()` calls;
//! properties YAML adds descriptions, columns, configs and generic tests. Every user mistake
//! found here is an error located in its file. It must not read files or reach the database:
//! it works on the loaded `Project` and renders without a database handle.

use crate::compile::jinja::context::FromSerde;
use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::Value;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::config::{self, ConfigExt, ConfigMap};
use super::contract::{Contract, ForeignTarget, foreign_target};
use super::dbml_binding;
use super::extract;
use super::freshness;
use super::generic_tests::{self, GenericTest, TestTarget};
use super::jinja::context::{Captured, Lookup, RefTarget, RenderContext, TargetInfo};
use super::jinja::macros::MacroModule;
use super::jinja::relation::RelationValue;
use super::jinja::{Jinja, TemplateSource};
use super::microbatch::MicrobatchSpec;
use super::node::{
    AUDIT_SCHEMA, ColumnInfo, Materialization, Node, Relation, ResourceType, TestMetadata, TestedRelation,
};
use super::snapshot::{self, SnapshotSpec};
use super::{Manifest, common_context, ephemeral};
use crate::error::{Error, ErrorKind, Result, SourceLocation, did_you_mean};
use crate::graph::Dag;
use crate::project::blocks;
use crate::project::properties::{RawColumn, RawNodeProperties};
use crate::project::yaml::{Pos, SourceFile, Yaml};
use crate::project::{Project, ProjectFile};

/// A node whose SQL renders from a registered template, before it is parsed.
struct TemplateNode {
    resource_type: ResourceType,
    name: String,
    fqn: Vec<String>,
    /// The file it is defined in (dbt's original_file_path).
    path: String,
    /// The registered template's name.
    template: String,
    /// The node's raw code; error excerpts show it, so its lines are the template's.
    text: Arc<str>,
    /// Where errors about its refs and sources point.
    source_file: SourceFile,
}

/// A snapshot SQL file and its `{% snapshot %}` blocks.
struct SnapshotFile<'p> {
    file: &'p ProjectFile,
    blocks: Vec<blocks::Block>,
}

/// Find the snapshot blocks of every snapshot file (a file without any is an error, as in dbt).
fn snapshot_files(files: &[ProjectFile]) -> Result<Vec<SnapshotFile<'_>>> {
    files
        .iter()
        .map(|file| {
            let located = |offset: usize, message: String| {
                SourceFile::new(std::path::Path::new(&file.relative_path), file.text.clone())
                    .error(blocks::position(&file.text, offset), message)
            };
            let found = blocks::find_blocks(&file.text, "snapshot")
                .map_err(|error| located(error.offset, error.message))?;
            if found.is_empty() {
                return Err(located(0, "this snapshot file has no `{% snapshot name %}` block".to_string())
                    .hint("wrap the query in `{% snapshot name %} ... {% endsnapshot %}`, or define the snapshot in YAML with `relation:`"));
            }
            Ok(SnapshotFile { file, blocks: found })
        })
        .collect()
}

/// The template of a snapshot file: one render per block, selected by `tmk_snapshot`.
fn snapshot_template(snapshot_file: &SnapshotFile) -> TemplateSource {
    let ranges: Vec<_> = snapshot_file
        .blocks
        .iter()
        .map(|block| (block.name.clone(), block.open.clone(), block.close.clone()))
        .collect();
    TemplateSource {
        name: snapshot_file.file.relative_path.clone(),
        text: snapshot::block_template(&snapshot_file.file.text, &ranges).into(),
    }
}

/// The YAML snapshots (snapshot properties with a `relation`), by name.
fn yaml_snapshots<'p>(
    properties: &'p PropertiesIndex<'p>,
) -> Vec<(&'p str, (&'p SourceFile, &'p RawNodeProperties, Pos))> {
    let mut found: Vec<_> = properties
        .iter()
        .filter(|((kind, _), (_, raw, _))| *kind == ResourceType::Snapshot && raw.relation.is_some())
        .map(|((_, name), entry)| (name.as_str(), *entry))
        .collect();
    found.sort_by_key(|(name, _)| *name);
    found
}

/// A quarantined model checks its `relationships` tests itself while it builds, so their
/// parent models must exist first: they become its parents too.
fn add_quarantine_parents(drafts: &mut [Draft]) {
    let parents: Vec<(String, String)> = drafts
        .iter()
        .filter_map(|draft| {
            let test = draft.node.test.as_ref()?;
            let TestedRelation::Node(model) = &test.tested else {
                return None;
            };
            let to = test.kwargs.get("to")?.as_str()?;
            match (test.name.as_str(), foreign_target(to)) {
                ("relationships", ForeignTarget::Ref(parent)) => Some((model.clone(), parent.to_string())),
                _ => None,
            }
        })
        .collect();
    for draft in drafts.iter_mut() {
        let node = &draft.node;
        if node.resource_type != ResourceType::Model || !node.config.flag("quarantine", false) {
            continue;
        }
        for (model, parent) in &parents {
            if model == &node.name
                && parent != &node.name
                && !draft.refs.iter().any(|(name, _)| name == parent)
            {
                draft.refs.push((parent.clone(), None));
            }
        }
    }
}

/// Bind models and sources that name a DBML table (`dbml: schema.table`) to it. A model is
/// checked against its table when built and gets its keys; a foreign key to a table another
/// model is bound to makes that model a parent (it must be built first). A source gets its
/// table's columns, for column lineage.
fn add_dbml_bindings(project: &Project, drafts: &mut [Draft]) -> Result<()> {
    let bound: Vec<(usize, String)> = drafts
        .iter()
        .enumerate()
        .filter(|(_, draft)| {
            matches!(
                draft.node.resource_type,
                ResourceType::Model | ResourceType::Source
            )
        })
        .filter_map(|(index, draft)| Some((index, draft.node.config.text("dbml")?.to_string())))
        .collect();
    if bound.is_empty() {
        return Ok(());
    }
    // `model `x``, `source `s.t``.
    let label = |node: &Node| match node.resource_type {
        ResourceType::Source => format!(
            "source `{}.{}`",
            node.source_name.as_deref().unwrap_or_default(),
            node.name
        ),
        _ => format!("model `{}`", node.name),
    };
    // Models point at `dbml` in their file, sources at the table it names in their YAML.
    let at_config = |draft: &Draft, table: &str, message: String| {
        let (text, needle) = match draft.node.resource_type {
            ResourceType::Source => (draft.source_file.as_ref().map_or("", |file| &file.text), table),
            _ => (&draft.node.raw_code[..], "dbml"),
        };
        match &draft.source_file {
            Some(file) => {
                let offset = text.find(needle).unwrap_or(0);
                file.error(blocks::position(text, offset), message)
            }
            None => Error::new(ErrorKind::Project, message),
        }
    };
    let Some(schema) = dbml_binding::load_schema(project)? else {
        let (index, table) = &bound[0];
        let draft = &drafts[*index];
        return Err(at_config(
            draft,
            table,
            format!(
                "{} names DBML table `{table}`, but the project has no DBML files",
                label(&draft.node)
            ),
        )
        .hint("put the .dbml files under `project/` or list their directories in `dbml-paths`"));
    };
    let models: HashMap<String, String> = bound
        .iter()
        .filter(|(index, _)| drafts[*index].node.resource_type == ResourceType::Model)
        .map(|(index, table)| (table.clone(), drafts[*index].node.name.clone()))
        .collect();
    let model_of = |table: &str| models.get(table).cloned();
    for (index, table) in &bound {
        let draft = &mut drafts[*index];
        let binding = dbml_binding::bind(&schema, table, &model_of)
            .map_err(|message| at_config(draft, table, format!("{}: {message}", label(&draft.node))))?;
        if draft.node.resource_type == ResourceType::Model {
            for foreign in &binding.foreign_keys {
                if let Some(parent) = &foreign.target_model
                    && parent != &draft.node.name
                    && !draft.refs.iter().any(|(name, _)| name == parent)
                {
                    draft.refs.push((parent.clone(), None));
                }
            }
        }
        draft.node.dbml = Some(Arc::new(binding));
    }
    Ok(())
}

/// A YAML snapshot's SQL, as dbt writes it: every column of its `relation`.
fn yaml_snapshot_sql(raw: &RawNodeProperties) -> String {
    let relation = raw
        .relation
        .as_ref()
        .map_or("", |relation| relation.value.as_str());
    format!("select * from {{{{ {relation} }}}}")
}

/// The folders of a YAML file below its resource directory (for fqns).
fn yaml_folders(file: &SourceFile) -> Vec<String> {
    let mut parts: Vec<String> = file
        .path
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    parts.pop();
    parts.into_iter().skip(1).collect()
}

/// A node before its relation and dependencies are known.
struct Draft {
    node: Node,
    refs: Vec<(String, Option<String>)>,
    sources: Vec<(String, String)>,
    /// Where to point errors about this node: its refs (its file), a source's config (its YAML).
    source_file: Option<SourceFile>,
}

/// Parse the project for `target` with command-line `cli_vars`.
pub fn parse(
    project: &Project,
    target: TargetInfo,
    cli_vars: serde_json::Map<String, serde_json::Value>,
) -> Result<Manifest> {
    let project_name = project.file.name.value.clone();
    check_trees(project)?;
    let target = Arc::new(target);
    let vars = Arc::new(merge_vars(project, &project_name, cli_vars));
    let docs: Arc<HashMap<String, String>> = Arc::new(
        project
            .docs
            .iter()
            .map(|block| (block.name.clone(), block.text.clone()))
            .collect(),
    );
    let macros = MacroModule::assemble(&project.macros)?;
    let properties = index_properties(project)?;
    let snapshot_files = snapshot_files(&project.snapshots)?;
    let mut templates: Vec<TemplateSource> = project
        .models
        .iter()
        .chain(&project.singular_tests)
        .chain(&project.analyses)
        .map(|file| TemplateSource {
            name: file.relative_path.clone(),
            text: file.text.clone(),
        })
        .collect();
    templates.extend(snapshot_files.iter().map(snapshot_template));
    templates.extend(
        yaml_snapshots(&properties)
            .into_iter()
            .map(|(name, (_, raw, _))| TemplateSource {
                name: format!("snapshot.{project_name}.{name}"),
                text: yaml_snapshot_sql(raw).into(),
            }),
    );
    let mut jinja = Jinja::new(macros, templates)?;
    let parser = Parser::new(project, &project_name, &target, &vars, &docs, &jinja, &properties);
    let mut drafts = Vec::new();
    drafts.extend(parser.sql_nodes(&project.models, ResourceType::Model)?);
    drafts.extend(parser.snapshots(&snapshot_files)?);
    drafts.extend(parser.seeds()?);
    drafts.extend(parser.sources()?);
    drafts.extend(parser.sql_nodes(&project.singular_tests, ResourceType::Test)?);
    drafts.extend(parser.sql_nodes(&project.analyses, ResourceType::Analysis)?);
    // Generic tests are registered as templates (compiled once for both passes), then rendered.
    let tests = parser.generic_tests(&drafts)?;
    let warnings = parser.unused_properties(&drafts);
    jinja.add_templates(
        tests
            .iter()
            .map(|(draft, _)| TemplateSource {
                name: draft.node.unique_id.clone(),
                text: draft.node.raw_code.clone(),
            })
            .collect(),
    )?;
    let parser = Parser::new(project, &project_name, &target, &vars, &docs, &jinja, &properties);
    drafts.extend(parser.render_generic_tests(tests)?);
    drafts.retain(|draft| draft.node.config.flag("enabled", true));
    add_quarantine_parents(&mut drafts);
    add_dbml_bindings(project, &mut drafts)?;
    parser.name_relations(&mut drafts)?;
    let lookup = Arc::new(build_lookup(&drafts)?);
    let (nodes, edges) = resolve_dependencies(drafts, &lookup)?;
    let dag = Dag::new(nodes.len(), &edges).map_err(|cycle| cycle_error(&nodes, &cycle.path))?;
    Ok(Manifest {
        project_name,
        root: project.root.clone(),
        nodes,
        dag,
        jinja,
        target,
        vars,
        docs,
        lookup,
        warnings,
        sql: Default::default(),
        on_run_start: crate::project::project_file::hook_list(&project.file.on_run_start),
        on_run_end: crate::project::project_file::hook_list(&project.file.on_run_end),
    })
}

fn check_trees(project: &Project) -> Result<()> {
    let file = &project.file;
    for tree in [
        &file.models,
        &file.seeds,
        &file.snapshots,
        &file.data_tests,
        &file.tests,
        &file.sources,
    ]
    .into_iter()
    .flatten()
    {
        config::check_project_tree(&project.file_source, &tree.value)?;
    }
    Ok(())
}

/// Project vars (global, then scoped to this project), then `--vars`.
fn merge_vars(
    project: &Project,
    project_name: &str,
    cli_vars: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut vars = serde_json::Map::new();
    if let Some(serde_json::Value::Object(project_vars)) = project.file.vars.as_ref().map(Yaml::to_json) {
        for (key, value) in &project_vars {
            if key != project_name {
                vars.insert(key.clone(), value.clone());
            }
        }
        if let Some(serde_json::Value::Object(scoped)) = project_vars.get(project_name) {
            vars.extend(scoped.clone());
        }
    }
    vars.extend(cli_vars);
    vars
}

/// Dependency edges (parent, child).
type Edges = Vec<(usize, usize)>;

/// One generic test entry to read, with what it is attached to.
struct TestRequest<'a> {
    file: &'a SourceFile,
    pos: Pos,
    entry: &'a Yaml,
    target: TestTarget<'a>,
    column: Option<String>,
    attached: String,
}

impl<'a> TestRequest<'a> {
    fn new(
        file: &'a SourceFile,
        pos: Pos,
        entry: &'a Yaml,
        target: TestTarget<'a>,
        column: Option<String>,
        attached: String,
    ) -> TestRequest<'a> {
        TestRequest {
            file,
            pos,
            entry,
            target,
            column,
            attached,
        }
    }
}

/// Properties by (resource type, name), with the file they came from.
type PropertiesIndex<'p> = HashMap<(ResourceType, String), (&'p SourceFile, &'p RawNodeProperties, Pos)>;

fn index_properties(project: &Project) -> Result<PropertiesIndex<'_>> {
    let mut index = PropertiesIndex::new();
    for file in &project.properties {
        let groups = [
            (ResourceType::Model, &file.content.models),
            (ResourceType::Seed, &file.content.seeds),
            (ResourceType::Snapshot, &file.content.snapshots),
            (ResourceType::Analysis, &file.content.analyses),
        ];
        for (kind, entries) in groups {
            for entry in entries {
                let pos = pos_of(&entry.value.name);
                if kind != ResourceType::Snapshot
                    && let Some(relation) = &entry.value.relation
                {
                    return Err(file.source.error(
                        pos_of(relation),
                        format!(
                            "`relation` defines a snapshot; {} `{}` cannot have one",
                            kind.as_str(),
                            entry.value.name.value
                        ),
                    ));
                }
                let key = (kind, entry.value.name.value.clone());
                if let Some((other, _, _)) = index.get(&key) {
                    return Err(file
                        .source
                        .error(pos, format!("{} `{}` is described twice", kind.as_str(), key.1))
                        .detail(format!("also in `{}`", other.path.display())));
                }
                index.insert(key, (&file.source, &entry.value, pos));
            }
        }
    }
    Ok(index)
}

pub(super) fn pos_of<T>(spanned: &serde_saphyr::Spanned<T>) -> Pos {
    Pos {
        line: spanned.referenced.line() as usize,
        column: spanned.referenced.column() as usize,
    }
}

struct Parser<'p> {
    project: &'p Project,
    project_name: &'p str,
    target: &'p Arc<TargetInfo>,
    vars: &'p Arc<serde_json::Map<String, serde_json::Value>>,
    docs: &'p Arc<HashMap<String, String>>,
    jinja: &'p Jinja,
    properties: &'p PropertiesIndex<'p>,
}

impl<'p> Parser<'p> {
    fn new(
        project: &'p Project,
        project_name: &'p str,
        target: &'p Arc<TargetInfo>,
        vars: &'p Arc<serde_json::Map<String, serde_json::Value>>,
        docs: &'p Arc<HashMap<String, String>>,
        jinja: &'p Jinja,
        properties: &'p PropertiesIndex<'p>,
    ) -> Parser<'p> {
        Parser {
            project,
            project_name,
            target,
            vars,
            docs,
            jinja,
            properties,
        }
    }

    fn parse_context(&self, node_config: ConfigMap) -> RenderContext {
        RenderContext {
            target: self.target.clone(),
            vars: self.vars.clone(),
            lookup: None,
            node_config,
            execute: false,
            is_incremental: false,
            database: None,
            docs: self.docs.clone(),
            watermark: None,
            batch: None,
        }
    }

    fn tree(&self, resource_type: ResourceType) -> Option<&Yaml> {
        let file = &self.project.file;
        let tree = match resource_type {
            ResourceType::Model => file.models.as_ref(),
            ResourceType::Seed => file.seeds.as_ref(),
            ResourceType::Snapshot => file.snapshots.as_ref(),
            ResourceType::Test => file.data_tests.as_ref().or(file.tests.as_ref()),
            ResourceType::Source => file.sources.as_ref(),
            ResourceType::Analysis => file.analyses.as_ref(),
        };
        tree.map(|tree| &tree.value)
    }

    fn tree_config(&self, resource_type: ResourceType, fqn: &[String]) -> Result<ConfigMap> {
        match self.tree(resource_type) {
            Some(tree) => config::from_project_tree(&self.project.file_source, tree, fqn),
            None => Ok(ConfigMap::new()),
        }
    }

    fn fqn(&self, file: &ProjectFile) -> Vec<String> {
        let mut fqn = vec![self.project_name.to_string()];
        fqn.extend(file.folders.iter().cloned());
        fqn.push(file.stem.clone());
        fqn
    }

    /// Models, singular tests and analyses: render once to capture configs, refs and sources.
    fn sql_nodes(&self, files: &[ProjectFile], resource_type: ResourceType) -> Result<Vec<Draft>> {
        files
            .par_iter()
            .map(|file| self.sql_node(file, resource_type))
            .collect()
    }

    fn sql_node(&self, file: &ProjectFile, resource_type: ResourceType) -> Result<Draft> {
        self.template_node(TemplateNode {
            resource_type,
            name: file.stem.clone(),
            fqn: self.fqn(file),
            path: file.relative_path.clone(),
            template: file.relative_path.clone(),
            text: file.text.clone(),
            source_file: SourceFile::new(std::path::Path::new(&file.relative_path), file.text.clone()),
        })
    }

    /// A node whose SQL renders from a registered template: configs from the project tree and
    /// properties, then one render to capture its `config()`, `ref()` and `source()` calls.
    fn template_node(&self, source: TemplateNode) -> Result<Draft> {
        let TemplateNode {
            resource_type,
            name,
            fqn,
            path,
            template,
            text,
            source_file,
        } = source;
        let mut node_config = self.tree_config(resource_type, &fqn)?;
        let properties = self.properties.get(&(resource_type, name.clone()));
        if let Some((source, raw, _)) = properties
            && let Some(raw_config) = &raw.config
        {
            config::merge_into(
                &mut node_config,
                &config::from_yaml_mapping(source, &raw_config.value, pos_of(raw_config))?,
            );
        }
        let unique_id = format!("{}.{}.{name}", resource_type.as_str(), self.project_name);
        let mut node = self.new_node(unique_id, resource_type, name.clone(), fqn, path, text.clone());
        node.template = template;
        node.config = node_config.clone();
        let context = self.parse_context(node_config);
        let this = RelationValue::value(self.default_relation(&name), None);
        let extra = common_context(self.target, self.project_name, &node, this, false);
        let rendered = self.jinja.render(&node.template, &text, context, &extra)?;
        let captured: Captured = rendered.captured;
        config::merge_into(&mut node.config, &captured.config);
        let default_materialization = match resource_type {
            ResourceType::Model => "view",
            ResourceType::Test => "test",
            ResourceType::Snapshot => "snapshot",
            _ => "none",
        };
        let materialized = node
            .config
            .text("materialized")
            .unwrap_or(default_materialization)
            .to_string();
        node.config.insert(
            "materialized".to_string(),
            serde_json::Value::from(materialized.clone()),
        );
        node.materialized = Materialization::parse(&materialized);
        node.needs_database = captured.used_database;
        if let Some((source, raw, _)) = properties {
            self.apply_properties(&mut node, source, raw)?;
        }
        finish_config(&mut node);
        if node.materialized == Materialization::Incremental
            && node.config.text("incremental_strategy") == Some("microbatch")
        {
            let spec = MicrobatchSpec::from_config(&node.config).map_err(|message| {
                let offset = text.find("microbatch").unwrap_or(0);
                source_file.error(
                    blocks::position(&text, offset),
                    format!("model `{name}`: {message}"),
                )
            })?;
            node.microbatch = Some(Arc::new(spec));
        }
        let enforced = node
            .config
            .get("contract")
            .and_then(|contract| contract.get("enforced"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        if enforced {
            let Some((file, raw, pos)) = properties else {
                let offset = text.find("contract").unwrap_or(0);
                return Err(source_file
                    .error(
                        blocks::position(&text, offset),
                        format!("model `{name}` enforces a contract but declares no columns"),
                    )
                    .hint(
                        "describe the model in a properties file with its `columns`, each with a `data_type`",
                    ));
            };
            let contract = Contract::from_properties(raw, *pos)
                .map_err(|error| file.error(error.pos, format!("model `{name}`: {}", error.message)))?;
            node.contract = Some(Arc::new(contract));
        }
        let mut refs: Vec<(String, Option<String>)> = captured
            .refs
            .into_iter()
            .map(|call| (call.name, call.package))
            .collect();
        let mut sources = captured.sources;
        // A foreign key to another model makes it a parent: it must exist first.
        for target in node
            .contract
            .iter()
            .flat_map(|contract| contract.foreign_targets())
        {
            match foreign_target(target) {
                ForeignTarget::Ref(name) => refs.push((name.to_string(), None)),
                ForeignTarget::Source(source, table) => sources.push((source.to_string(), table.to_string())),
                ForeignTarget::Written(_) => {}
            }
        }
        Ok(Draft {
            node,
            refs,
            sources,
            source_file: Some(source_file),
        })
    }

    /// Snapshots: `{% snapshot %}` blocks of the snapshot files and YAML snapshots (properties
    /// entries with a `relation`), each with its validated snapshot settings.
    fn snapshots(&self, files: &[SnapshotFile]) -> Result<Vec<Draft>> {
        let mut sources = Vec::new();
        for snapshot_file in files {
            let file = snapshot_file.file;
            let source_file = SourceFile::new(std::path::Path::new(&file.relative_path), file.text.clone());
            for block in &snapshot_file.blocks {
                let mut fqn = self.fqn(file);
                fqn.push(block.name.clone());
                let pos = blocks::position(&file.text, block.open.start);
                let source = TemplateNode {
                    resource_type: ResourceType::Snapshot,
                    name: block.name.clone(),
                    fqn,
                    path: file.relative_path.clone(),
                    template: file.relative_path.clone(),
                    text: file.text.clone(),
                    source_file: source_file.clone(),
                };
                sources.push((source, pos));
            }
        }
        for (name, (file, raw, pos)) in yaml_snapshots(self.properties) {
            let mut fqn = vec![self.project_name.to_string()];
            fqn.extend(yaml_folders(file));
            fqn.push(name.to_string());
            let source = TemplateNode {
                resource_type: ResourceType::Snapshot,
                name: name.to_string(),
                fqn,
                path: file.path.to_string_lossy().replace('\\', "/"),
                template: format!("snapshot.{}.{name}", self.project_name),
                text: yaml_snapshot_sql(raw).into(),
                source_file: file.clone(),
            };
            sources.push((source, pos));
        }
        sources
            .into_par_iter()
            .map(|(source, pos)| {
                let file = source.source_file.clone();
                let mut draft = self.template_node(source)?;
                let spec = SnapshotSpec::from_config(&draft.node.config).map_err(|message| {
                    file.error(pos, format!("snapshot `{}`: {message}", draft.node.name))
                })?;
                if draft.node.materialized != Materialization::Snapshot {
                    return Err(file.error(
                        pos,
                        format!(
                            "snapshot `{}` sets `materialized: {}`; snapshots are always materialized as snapshots",
                            draft.node.name,
                            draft.node.materialized.as_str()
                        ),
                    ));
                }
                draft.node.snapshot = Some(Arc::new(spec));
                Ok(draft)
            })
            .collect()
    }

    fn seeds(&self) -> Result<Vec<Draft>> {
        self.project
            .seeds
            .iter()
            .map(|file| {
                let fqn = self.fqn(file);
                let mut node_config = self.tree_config(ResourceType::Seed, &fqn)?;
                let unique_id = format!("seed.{}.{}", self.project_name, file.stem);
                let properties = self.properties.get(&(ResourceType::Seed, file.stem.clone()));
                if let Some((source, raw, _)) = properties
                    && let Some(raw_config) = &raw.config
                {
                    config::merge_into(
                        &mut node_config,
                        &config::from_yaml_mapping(source, &raw_config.value, pos_of(raw_config))?,
                    );
                }
                let mut node = self.new_node(
                    unique_id,
                    ResourceType::Seed,
                    file.stem.clone(),
                    fqn,
                    file.relative_path.clone(),
                    Arc::from(""),
                );
                node_config.insert("materialized".to_string(), serde_json::Value::from("seed"));
                node.config = node_config;
                node.materialized = Materialization::Seed;
                if let Some((source, raw, _)) = properties {
                    self.apply_properties(&mut node, source, raw)?;
                }
                finish_config(&mut node);
                Ok(Draft {
                    node,
                    refs: Vec::new(),
                    sources: Vec::new(),
                    source_file: None,
                })
            })
            .collect()
    }

    fn sources(&self) -> Result<Vec<Draft>> {
        let mut drafts = Vec::new();
        for file in &self.project.properties {
            let folders = yaml_folders(&file.source);
            for source in &file.content.sources {
                let source = &source.value;
                let source_name = &source.name.value;
                for table in &source.tables {
                    let table = &table.value;
                    let table_name = &table.name.value;
                    let mut fqn = vec![self.project_name.to_string()];
                    fqn.extend(folders.iter().cloned());
                    fqn.push(source_name.clone());
                    fqn.push(table_name.clone());
                    let mut node_config = self.tree_config(ResourceType::Source, &fqn)?;
                    for raw_config in [&source.config, &table.config].into_iter().flatten() {
                        config::merge_into(
                            &mut node_config,
                            &config::from_yaml_mapping(&file.source, &raw_config.value, pos_of(raw_config))?,
                        );
                    }
                    // The source's and the table's own `tags:` add to the configs' (as dbt).
                    for tags in [&source.tags, &table.tags].into_iter().flatten() {
                        config::merge_into(
                            &mut node_config,
                            &ConfigMap::from_iter([("tags".to_string(), tags.to_json())]),
                        );
                    }
                    let unique_id = format!("source.{}.{source_name}.{table_name}", self.project_name);
                    let mut node = self.new_node(
                        unique_id,
                        ResourceType::Source,
                        table_name.clone(),
                        fqn,
                        file.source.path.to_string_lossy().replace('\\', "/"),
                        Arc::from(""),
                    );
                    node.config = node_config;
                    node.source_name = Some(source_name.clone());
                    node.patch_path = Some(file.source.path.to_string_lossy().into_owned());
                    node.description = self
                        .render_description(table.description.as_deref().or(source.description.as_deref()))?;
                    node.relation = Some(Relation {
                        database: source
                            .database
                            .clone()
                            .unwrap_or_else(|| self.target.database.clone()),
                        schema: source.schema.clone().unwrap_or_else(|| source_name.clone()),
                        identifier: table.identifier.clone().unwrap_or_else(|| table_name.clone()),
                    });
                    node.columns = self.columns(&table.columns)?;
                    let loaded_at_field = table
                        .loaded_at_field
                        .as_deref()
                        .or(source.loaded_at_field.as_deref());
                    node.freshness = freshness::resolve(
                        source.freshness.as_ref(),
                        table.freshness.as_ref(),
                        loaded_at_field,
                    )
                    .map_err(|error| {
                        let pos = error.pos.unwrap_or_else(|| pos_of(&table.name));
                        file.source.error(
                            pos,
                            format!("source `{source_name}.{table_name}`: {}", error.message),
                        )
                    })?
                    .map(Arc::new);
                    node.extract = extract::resolve(&file.source, source, table)?.map(Arc::new);
                    finish_config(&mut node);
                    drafts.push(Draft {
                        node,
                        refs: Vec::new(),
                        sources: Vec::new(),
                        source_file: Some(file.source.clone()),
                    });
                }
            }
        }
        Ok(drafts)
    }

    fn new_node(
        &self,
        unique_id: String,
        resource_type: ResourceType,
        name: String,
        fqn: Vec<String>,
        path: String,
        raw_code: Arc<str>,
    ) -> Node {
        let checksum = format!("{:x}", Sha256::digest(raw_code.as_bytes()));
        Node {
            unique_id,
            resource_type,
            name,
            package: self.project_name.to_string(),
            fqn,
            template: path.clone(),
            path,
            patch_path: None,
            raw_code,
            config: ConfigMap::new(),
            materialized: Materialization::None,
            relation: None,
            defer_relation: None,
            deferred: false,
            depends_on: Vec::new(),
            compiled_sql: None,
            description: String::new(),
            columns: Default::default(),
            test: None,
            source_name: None,
            tags: Vec::new(),
            needs_database: false,
            checksum,
            compile_error: None,
            rendered_sql: None,
            snapshot: None,
            microbatch: None,
            freshness: None,
            extract: None,
            contract: None,
            dbml: None,
        }
    }

    fn default_relation(&self, name: &str) -> Relation {
        Relation {
            database: self.target.database.clone(),
            schema: self.target.schema.clone(),
            identifier: name.to_string(),
        }
    }

    fn apply_properties(&self, node: &mut Node, source: &SourceFile, raw: &RawNodeProperties) -> Result<()> {
        node.patch_path = Some(source.path.to_string_lossy().into_owned());
        node.description = self.render_description(raw.description.as_deref())?;
        node.columns = self.columns(&raw.columns)?;
        if let Some(tags) = &raw.tags {
            config::merge_into(
                &mut node.config,
                &ConfigMap::from_iter([("tags".to_string(), tags.to_json())]),
            );
        }
        Ok(())
    }

    fn columns(
        &self,
        columns: &[serde_saphyr::Spanned<RawColumn>],
    ) -> Result<indexmap::IndexMap<String, ColumnInfo>> {
        columns
            .iter()
            .map(|column| {
                let column = &column.value;
                Ok((
                    column.name.value.clone(),
                    ColumnInfo {
                        name: column.name.value.clone(),
                        description: self.render_description(column.description.as_deref())?,
                        data_type: column.data_type.clone(),
                        meta: column
                            .meta
                            .as_ref()
                            .map(Yaml::to_json)
                            .unwrap_or(serde_json::Value::Object(Default::default())),
                    },
                ))
            })
            .collect()
    }

    /// Descriptions are Jinja (`{{ doc('x') }}`); most are plain text and skip rendering.
    fn render_description(&self, description: Option<&str>) -> Result<String> {
        let Some(text) = description else {
            return Ok(String::new());
        };
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(text.to_string());
        }
        let context = self.parse_context(ConfigMap::new());
        Ok(self.jinja.render_str("<description>", text, context, &[])?.output)
    }

    /// Generic tests of every model, seed, snapshot and source table.
    fn generic_tests(&self, drafts: &[Draft]) -> Result<Vec<(Draft, Pos)>> {
        let mut requests: Vec<TestRequest> = Vec::new();
        let node_names: HashMap<(ResourceType, &str), usize> = drafts
            .iter()
            .enumerate()
            .map(|(index, draft)| ((draft.node.resource_type, draft.node.name.as_str()), index))
            .collect();
        for ((resource_type, name), (source, raw, _)) in self.properties {
            if !node_names.contains_key(&(*resource_type, name.as_str())) {
                continue;
            }
            for test in raw.all_tests() {
                requests.push(TestRequest::new(
                    source,
                    pos_of(test),
                    &test.value,
                    TestTarget::Node(name),
                    None,
                    name.clone(),
                ));
            }
            for column in &raw.columns {
                for test in column.value.all_tests() {
                    requests.push(TestRequest::new(
                        source,
                        pos_of(test),
                        &test.value,
                        TestTarget::Node(name),
                        Some(column.value.name.value.clone()),
                        name.clone(),
                    ));
                }
            }
        }
        for file in &self.project.properties {
            for source in &file.content.sources {
                let source_name = &source.value.name.value;
                for table in &source.value.tables {
                    let table = &table.value;
                    let attached = format!("{source_name}.{}", table.name.value);
                    for test in table.all_tests() {
                        requests.push(TestRequest::new(
                            &file.source,
                            pos_of(test),
                            &test.value,
                            TestTarget::Source(source_name, &table.name.value),
                            None,
                            attached.clone(),
                        ));
                    }
                    for column in &table.columns {
                        for test in column.value.all_tests() {
                            requests.push(TestRequest::new(
                                &file.source,
                                pos_of(test),
                                &test.value,
                                TestTarget::Source(source_name, &table.name.value),
                                Some(column.value.name.value.clone()),
                                attached.clone(),
                            ));
                        }
                    }
                }
            }
        }
        requests.sort_by(|left, right| {
            (left.file.path.as_path(), left.pos.line, left.pos.column).cmp(&(
                right.file.path.as_path(),
                right.pos.line,
                right.pos.column,
            ))
        });
        let tests: Vec<(Draft, Pos)> = requests
            .par_iter()
            .map(|request| {
                let test = generic_tests::read_test(
                    request.file,
                    request.entry,
                    request.pos,
                    &request.target,
                    request.column.as_deref(),
                    self.jinja.macros(),
                )?;
                let pos = test.pos;
                Ok((
                    self.generic_test_node(request.file, test, &request.attached, &request.target)?,
                    pos,
                ))
            })
            .collect::<Result<_>>()?;
        let mut seen: HashMap<&str, &Draft> = HashMap::new();
        for (test, pos) in &tests {
            if seen.insert(test.node.unique_id.as_str(), test).is_some() {
                let mut error = Error::new(
                    ErrorKind::Project,
                    format!("two data tests are both named `{}`", test.node.name),
                )
                .hint("give one of them a `name:`");
                if let Some(file) = &test.source_file {
                    error = error.at(file.location(*pos));
                }
                return Err(error);
            }
        }
        Ok(tests)
    }

    /// Render generic tests (registered as templates named by unique id) to capture their refs.
    fn render_generic_tests(&self, tests: Vec<(Draft, Pos)>) -> Result<Vec<Draft>> {
        tests
            .into_par_iter()
            .map(|(mut draft, pos)| {
                let node = &draft.node;
                let context = self.parse_context(node.config.clone());
                let this = RelationValue::value(self.default_relation(&node.name), None);
                let extra = common_context(self.target, self.project_name, node, this, false);
                let rendered = self
                    .jinja
                    .render(&node.unique_id, &node.raw_code, context, &extra);
                let rendered = match (rendered, &draft.source_file) {
                    (Ok(rendered), _) => rendered,
                    (Err(error), Some(file)) => return Err(relocate(error, file, pos)),
                    (Err(error), None) => return Err(error),
                };
                draft.refs = rendered
                    .captured
                    .refs
                    .into_iter()
                    .map(|call| (call.name, call.package))
                    .collect();
                draft.sources = rendered.captured.sources;
                Ok(draft)
            })
            .collect()
    }

    fn generic_test_node(
        &self,
        file: &SourceFile,
        test: GenericTest,
        attached: &str,
        target: &TestTarget,
    ) -> Result<Draft> {
        let test_pos = test.pos;
        let mut fqn = vec![self.project_name.to_string()];
        fqn.extend(yaml_folders(file));
        fqn.push(test.name.clone());
        let mut node_config = self.tree_config(ResourceType::Test, &fqn)?;
        config::merge_into(&mut node_config, &test.config);
        node_config.insert("materialized".to_string(), serde_json::Value::from("test"));
        node_config
            .entry("severity")
            .or_insert(serde_json::Value::from("ERROR"));
        use md5::Md5;
        let hash = format!("{:x}", Md5::digest(format!("{}{attached}", test.name).as_bytes()));
        let unique_id = format!("test.{}.{}.{}", self.project_name, test.name, &hash[..10]);
        let raw: Arc<str> = Arc::from(test.raw_code.as_str());
        let path = file.path.to_string_lossy().replace('\\', "/");
        let mut node = self.new_node(
            unique_id,
            ResourceType::Test,
            test.name.clone(),
            fqn,
            path,
            raw.clone(),
        );
        node.template = node.unique_id.clone();
        node.config = node_config;
        node.materialized = Materialization::Test;
        node.test = Some(TestMetadata {
            name: test.test_name,
            namespace: test.namespace,
            kwargs: test.kwargs,
            column_name: test.column_name,
            tested: match target {
                TestTarget::Node(name) => TestedRelation::Node(name.to_string()),
                TestTarget::Source(source, table) => {
                    TestedRelation::Source(source.to_string(), table.to_string())
                }
            },
            attached_node: None,
            declared_at: Some(file.location(test_pos)),
        });
        finish_config(&mut node);
        Ok(Draft {
            node,
            refs: Vec::new(),
            sources: Vec::new(),
            source_file: Some(file.clone()),
        })
    }

    /// Properties that describe no node: dbt warns, tmk warns with the location.
    fn unused_properties(&self, drafts: &[Draft]) -> Vec<Error> {
        let names: std::collections::HashSet<(ResourceType, &str)> = drafts
            .iter()
            .map(|draft| (draft.node.resource_type, draft.node.name.as_str()))
            .collect();
        let mut warnings: Vec<Error> = self
            .properties
            .iter()
            .filter(|((kind, name), _)| !names.contains(&(*kind, name.as_str())))
            .map(|((kind, name), (file, _, pos))| {
                let known: Vec<&str> = names
                    .iter()
                    .filter(|(other, _)| other == kind)
                    .map(|(_, name)| *name)
                    .collect();
                generic_tests::unknown_node_error(file, *pos, kind.as_str(), name, &known)
            })
            .collect();
        warnings.sort_by_key(|warning| warning.one_line());
        warnings
    }

    /// Name the relation of every model, seed and snapshot, and of each test that stores its
    /// failures (schema via `generate_schema_name`; a test's custom schema defaults to dbt's
    /// `dbt_test__audit`).
    fn name_relations(&self, drafts: &mut [Draft]) -> Result<()> {
        for draft in drafts.iter_mut() {
            let node = &mut draft.node;
            let named = match node.resource_type {
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot => {
                    node.materialized != Materialization::Ephemeral
                }
                ResourceType::Test => config::store_failures_as(&node.config).is_some(),
                _ => false,
            };
            if !named {
                continue;
            }
            let custom_schema = match (node.config.text("schema"), node.resource_type) {
                (Some(schema), _) => Some(schema.to_string()),
                (None, ResourceType::Test) => Some(AUDIT_SCHEMA.to_string()),
                (None, _) => None,
            };
            // A snapshot's legacy `target_schema`/`target_database` are used as written.
            let legacy = |key: &str| {
                (node.resource_type == ResourceType::Snapshot)
                    .then(|| node.config.text(key).map(str::to_string))
                    .flatten()
            };
            let schema = match legacy("target_schema") {
                Some(schema) => schema,
                None => self.generate_name("generate_schema_name", custom_schema.as_deref(), node, || {
                    match &custom_schema {
                        None => self.target.schema.clone(),
                        Some(custom) => format!("{}_{}", self.target.schema, custom.trim()),
                    }
                })?,
            };
            let custom_alias = node.config.text("alias").map(str::to_string);
            let identifier =
                self.generate_name("generate_alias_name", custom_alias.as_deref(), node, || {
                    custom_alias.clone().unwrap_or_else(|| node.name.clone())
                })?;
            let custom_database = node.config.text("database").map(str::to_string);
            let database = match legacy("target_database") {
                Some(database) => database,
                None => {
                    self.generate_name("generate_database_name", custom_database.as_deref(), node, || {
                        custom_database
                            .clone()
                            .unwrap_or_else(|| self.target.database.clone())
                    })?
                }
            };
            node.relation = Some(Relation {
                database,
                schema,
                identifier,
            });
        }
        Ok(())
    }

    /// Call the project's `macro_name(custom, node)` when it defines one, else the default.
    fn generate_name(
        &self,
        macro_name: &str,
        custom: Option<&str>,
        node: &Node,
        default: impl FnOnce() -> String,
    ) -> Result<String> {
        if !self.jinja.has_macro(macro_name) {
            return Ok(default());
        }
        let context = self.parse_context(node.config.clone());
        let node_value = Value::from_pairs([
            ("name", Value::from(node.name.clone())),
            ("resource_type", Value::from(node.resource_type.as_str())),
            ("unique_id", Value::from(node.unique_id.clone())),
            ("fqn", Value::from(node.fqn.clone())),
            ("original_file_path", Value::from(node.path.clone())),
            ("package_name", Value::from(node.package.clone())),
            ("config", Value::from_serde(&node.config)),
        ]);
        let extra = [
            ("__custom", Value::from(custom.map(str::to_string))),
            ("__node", node_value),
            ("target", Value::from_serde(&**self.target)),
        ];
        let body = format!("{{{{ {macro_name}(__custom, __node) }}}}");
        let rendered = self.jinja.render_str(macro_name, &body, context, &extra)?;
        Ok(rendered.output.trim().to_string())
    }
}

/// Tags from config into the node; defaults dbt always shows.
fn finish_config(node: &mut Node) {
    node.tags = config::as_string_list(node.config.get("tags"));
    node.config
        .insert("tags".to_string(), serde_json::Value::from(node.tags.clone()));
    node.config
        .entry("enabled")
        .or_insert(serde_json::Value::Bool(true));
}

/// Move a compile error of generated test Jinja to the YAML entry that declared the test.
fn relocate(mut error: Error, file: &SourceFile, pos: Pos) -> Error {
    error.location = Some(Box::new(file.location(pos)));
    error
}

fn build_lookup(drafts: &[Draft]) -> Result<Lookup> {
    let mut lookup = Lookup::default();
    let mut owners: HashMap<&str, &Draft> = HashMap::new();

    for draft in drafts {
        let node = &draft.node;
        match node.resource_type {
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot => {
                if let Some(other) = owners.insert(node.name.as_str(), draft) {
                    return Err(Error::new(
                        ErrorKind::Project,
                        format!(
                            "two resources are named `{}`: `{}` and `{}`",
                            node.name, other.node.path, node.path
                        ),
                    )
                    .hint("names of models, seeds and snapshots must be unique, as in dbt"));
                }
                let target = if node.materialized == Materialization::Ephemeral {
                    RefTarget {
                        relation: None,
                        own_relation: None,
                        cte_name: Some(ephemeral::cte_name(&node.name)),
                    }
                } else {
                    RefTarget {
                        relation: node.relation.clone(),
                        own_relation: node.relation.clone(),
                        cte_name: None,
                    }
                };
                lookup.refs.insert(node.name.clone(), target);
            }
            ResourceType::Source => {
                if let (Some(source), Some(relation)) = (&node.source_name, &node.relation) {
                    lookup
                        .sources
                        .insert((source.clone(), node.name.clone()), relation.clone());
                }
            }
            _ => {}
        }
        if let (Some(relation), Some(event_time)) = (&node.relation, node.config.text("event_time")) {
            lookup
                .event_times
                .insert(relation.clone(), event_time.to_string());
        }
    }
    // Names are unique by now; two nodes may still name the same relation (alias, schema).
    let mut relations: HashMap<&Relation, &Draft> = HashMap::new();
    for draft in drafts.iter().filter(|draft| draft.node.is_buildable()) {
        if let Some(relation) = &draft.node.relation
            && let Some(other) = relations.insert(relation, draft)
        {
            return Err(Error::new(
                ErrorKind::Project,
                format!(
                    "`{}` and `{}` would both build {}",
                    other.node.path,
                    draft.node.path,
                    relation.render()
                ),
            )
            .hint("give one of them another `alias` or `schema`"));
        }
    }
    Ok(lookup)
}

/// Turn captured refs and sources into node indices and edges; unknown names are errors.
fn resolve_dependencies(drafts: Vec<Draft>, lookup: &Lookup) -> Result<(Vec<Node>, Edges)> {
    let by_name: HashMap<&str, usize> = drafts
        .iter()
        .enumerate()
        .filter(|(_, draft)| {
            matches!(
                draft.node.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            )
        })
        .map(|(index, draft)| (draft.node.name.as_str(), index))
        .collect();
    let by_source: HashMap<(&str, &str), usize> = drafts
        .iter()
        .enumerate()
        .filter_map(|(index, draft)| {
            Some((
                (draft.node.source_name.as_deref()?, draft.node.name.as_str()),
                index,
            ))
        })
        .collect();
    let mut dependencies: Vec<Vec<usize>> = Vec::with_capacity(drafts.len());
    for draft in &drafts {
        let mut parents = Vec::new();
        for (name, _package) in &draft.refs {
            let parent = by_name.get(name.as_str()).copied().ok_or_else(|| {
                let known: Vec<&str> = lookup.refs.keys().map(String::as_str).collect();
                missing_error(
                    draft,
                    &format!("ref('{name}')"),
                    name,
                    &format!(
                        "`{}` refers to `{name}`, which is not a model, seed or snapshot of this project",
                        draft.node.path
                    ),
                )
                .maybe_hint(did_you_mean(name, known.iter().copied()))
            })?;
            parents.push(parent);
        }
        for (source, table) in &draft.sources {
            let parent = by_source
                .get(&(source.as_str(), table.as_str()))
                .copied()
                .ok_or_else(|| {
                    let known: Vec<String> = by_source
                        .keys()
                        .map(|(source, table)| format!("{source}.{table}"))
                        .collect();
                    missing_error(
                        draft,
                        table,
                        table,
                        &format!(
                            "`{}` refers to source `{source}.{table}`, which is not defined",
                            draft.node.path
                        ),
                    )
                    .maybe_hint(did_you_mean(
                        &format!("{source}.{table}"),
                        known.iter().map(String::as_str),
                    ))
                })?;
            parents.push(parent);
        }
        parents.sort_unstable();
        parents.dedup();
        dependencies.push(parents);
    }
    let by_name_owned: HashMap<String, usize> = by_name
        .iter()
        .map(|(name, &index)| (name.to_string(), index))
        .collect();
    let mut nodes: Vec<Node> = drafts.into_iter().map(|draft| draft.node).collect();
    let mut edges = Vec::new();
    for (index, parents) in dependencies.into_iter().enumerate() {
        for &parent in &parents {
            edges.push((parent, index));
        }
        if let Some(test) = &mut nodes[index].test
            && let TestedRelation::Node(name) = &test.tested
        {
            test.attached_node = by_name_owned.get(name).copied();
        }
        nodes[index].depends_on = parents;
    }
    Ok((nodes, edges))
}

/// An error about a missing ref or source, pointing at where the name is written.
fn missing_error(draft: &Draft, call_text: &str, name: &str, message: &str) -> Error {
    let error = Error::new(ErrorKind::Compilation, message.to_string());
    let Some(file) = &draft.source_file else {
        return error;
    };
    let needle_positions = [format!("'{name}'"), format!("\"{name}\""), call_text.to_string()];
    let found = needle_positions
        .iter()
        .find_map(|needle| file.text.find(needle.as_str()));
    match found {
        Some(offset) => {
            let line = file.text[..offset].matches('\n').count() + 1;
            let line_start = file.text[..offset].rfind('\n').map_or(0, |index| index + 1);
            let column = file.text[line_start..offset].chars().count() + 1;
            error.at(SourceLocation::new(&file.path, line, column)
                .with_text(file.text.clone())
                .with_length(name.chars().count() + 2))
        }
        None => error.at(SourceLocation::new(&file.path, 1, 1).with_text(file.text.clone())),
    }
}

fn cycle_error(nodes: &[Node], path: &[usize]) -> Error {
    let names: Vec<&str> = path
        .iter()
        .map(|&index| nodes[index].unique_id.as_str())
        .collect();
    let mut error = Error::new(
        ErrorKind::Graph,
        format!("dependency cycle: {}", names.join(" → ")),
    );
    // Point at the ref() in the second node that names the first (edges run parent → child).
    if let [parent, child, ..] = path {
        let (parent, child) = (&nodes[*parent], &nodes[*child]);
        let quoted = [format!("'{}'", parent.name), format!("\"{}\"", parent.name)];
        if let Some(offset) = quoted
            .iter()
            .find_map(|needle| child.raw_code.find(needle.as_str()))
        {
            let text = &child.raw_code;
            let line = text[..offset].matches('\n').count() + 1;
            let line_start = text[..offset].rfind('\n').map_or(0, |index| index + 1);
            let column = text[line_start..offset].chars().count() + 1;
            error = error.at(SourceLocation::new(&child.path, line, column)
                .with_text(child.raw_code.clone())
                .with_length(parent.name.chars().count() + 2));
        }
    }
    error.hint("break the cycle by removing one of the ref() calls between these models")
}
