//! The minijinja environment tmk renders with: dbt's functions and objects, the macro module,
//! every template registered once under its file path, and rendering that returns the output
//! together with what the render captured. Errors become tmk errors located in the model or
//! macro file. Shared read-only across rayon threads; nothing here touches files or the planner.

pub mod context;
mod database;
mod functions;
pub mod macros;
mod modules;
pub mod relation;

use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};

use crate::error::{Error, ErrorKind, Result, SourceLocation};
use context::{CONTEXT_VARIABLE, Captured, RenderContext};
use macros::{MODULE_NAME, MacroModule};

/// A template to register: its name (the file path) and Jinja source.
pub struct TemplateSource {
    /// Template name, normally the file path relative to the project.
    pub name: String,
    /// The source text as written.
    pub text: Arc<str>,
}

/// The rendering environment of one project.
pub struct Jinja {
    env: Environment<'static>,
    macros: MacroModule,
}

/// The result of one render.
pub struct Rendered {
    /// The rendered text.
    pub output: String,
    /// What the render captured (configs, refs, sources, logs).
    pub captured: Captured,
}

impl Jinja {
    /// Build the environment with the macro module and these templates.
    pub fn new(macros: MacroModule, templates: Vec<TemplateSource>) -> Result<Jinja> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        // SQL is never escaped (minijinja would JSON-escape templates named `*.yml`).
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_recursion_limit(1000);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        minijinja_contrib::add_to_environment(&mut env);
        functions::register(&mut env);
        database::register(&mut env);
        register_filters(&mut env);
        macros.register(&mut env)?;
        let mut jinja = Jinja { env, macros };
        jinja.add_templates(templates)?;
        Ok(jinja)
    }

    /// Register more templates (generic tests, once they are read).
    pub fn add_templates(&mut self, templates: Vec<TemplateSource>) -> Result<()> {
        for template in templates {
            let prefix = self.macros.prefix_for(&template.text);
            let source = format!("{prefix}{}", template.text);
            let prefix_chars = prefix.chars().count();
            self.env
                .add_template_owned(template.name.clone(), source.clone())
                .map_err(|error| syntax_error(&error, &template, &source, prefix_chars))?;
        }
        Ok(())
    }

    /// Render the registered template `name` with `context` and extra variables.
    pub fn render(
        &self,
        name: &str,
        text: &Arc<str>,
        context: RenderContext,
        extra: &[(&str, Value)],
    ) -> Result<Rendered> {
        let template = self.env.get_template(name).map_err(|error| {
            Error::new(
                ErrorKind::Compilation,
                format!("template `{name}` is not registered: {error}"),
            )
        })?;
        let mut values: Vec<(&str, Value)> = vec![(CONTEXT_VARIABLE, Value::from_object(context))];
        values.extend(extra.iter().cloned());
        let ctx = Value::from_pairs(values);
        let captured = template
            .render_captured(ctx)
            .map_err(|error| self.render_error(&error, name, text))?;
        Ok(take_rendered(captured))
    }

    /// Render a template given as a string (generic tests, profiles), without a file.
    pub fn render_str(
        &self,
        name: &str,
        body: &str,
        context: RenderContext,
        extra: &[(&str, Value)],
    ) -> Result<Rendered> {
        let source = format!("{}{body}", self.macros.prefix_for(body));
        let template = self
            .env
            .template_from_named_str(name, &source)
            .map_err(|error| Error::new(ErrorKind::Compilation, format!("in `{name}`: {error}")))?;
        let mut values: Vec<(&str, Value)> = vec![(CONTEXT_VARIABLE, Value::from_object(context))];
        values.extend(extra.iter().cloned());
        let captured = template
            .render_captured(Value::from_pairs(values))
            .map_err(|error| self.render_error(&error, name, &Arc::from(body)))?;
        Ok(take_rendered(captured))
    }

    /// Whether the project defines a macro named `name`.
    pub fn has_macro(&self, name: &str) -> bool {
        self.macros.names.iter().any(|macro_name| macro_name == name)
    }

    /// The macro module (for artifacts).
    pub fn macros(&self) -> &MacroModule {
        &self.macros
    }

    fn render_error(&self, error: &minijinja::Error, name: &str, text: &Arc<str>) -> Error {
        // The innermost error with a line is the most precise; the outer ones are call sites.
        let mut chain: Vec<&minijinja::Error> = vec![error];
        let mut current: &dyn std::error::Error = error;
        while let Some(next) = current.source() {
            if let Some(inner) = next.downcast_ref::<minijinja::Error>() {
                chain.push(inner);
            }
            current = next;
        }
        let innermost = chain
            .iter()
            .rev()
            .find(|error| error.line().is_some())
            .copied()
            .unwrap_or(error);
        let message = innermost
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| innermost.kind().to_string());
        let (message, hint) = match message.split_once("\nhint: ") {
            Some((message, hint)) => (message.to_string(), Some(hint.to_string())),
            None => (message, None),
        };
        let mut tmk_error = Error::new(ErrorKind::Compilation, message).maybe_hint(hint);
        if let Some(location) = self.locate(innermost, name, text) {
            tmk_error = tmk_error.at(location);
        }
        if innermost.name() == Some(MODULE_NAME) {
            tmk_error = tmk_error.detail(self.call_site(innermost, name, text));
        }
        tmk_error
    }

    /// Where the template being rendered calls the macro that failed: "called from file:line",
    /// or "while rendering file" when the call is indirect.
    fn call_site(&self, error: &minijinja::Error, name: &str, text: &str) -> String {
        let called = error.line().and_then(|line| self.macros.enclosing_macro(line));
        let line = called.and_then(|macro_name| {
            let offset = text.find(&format!("{macro_name}("))?;
            Some(text[..offset].matches('\n').count() + 1)
        });
        match line {
            Some(line) => format!("called from {name}:{line}"),
            None => format!("while rendering {name}"),
        }
    }

    fn locate(&self, error: &minijinja::Error, name: &str, text: &Arc<str>) -> Option<SourceLocation> {
        let line = error.line()?;
        let template_name = error.name().unwrap_or(name);
        if template_name == MODULE_NAME {
            let column = error
                .range()
                .map(|range| column_of(&self.macros.source, range.start))
                .unwrap_or(1);
            return Some(self.macros.locate(line, column));
        }
        let source = self
            .env
            .get_template(template_name)
            .ok()
            .map(|template| template.source().to_string());
        let mut column = match (error.range(), &source) {
            (Some(range), Some(source)) => column_of(source, range.start),
            _ => 1,
        };
        let mut length = error.range().map(|range| range.len()).unwrap_or(1);
        if line == 1
            && let Some(source) = &source
        {
            let prefix = self.macros.prefix_for(source);
            if source.starts_with(&prefix) {
                column = column.saturating_sub(prefix.chars().count()).max(1);
            }
        }
        if length > 200 {
            length = 1;
        }
        Some(
            SourceLocation::new(template_name, line, column)
                .with_text(text.clone())
                .with_length(length),
        )
    }
}

/// The output and captures of a finished render.
fn take_rendered(mut captured: minijinja::Captured) -> Rendered {
    let taken = captured.with_state_mut(|state| state.get_extension_mut::<Captured>().map(std::mem::take));
    Rendered {
        output: captured.into_output(),
        captured: taken.unwrap_or_default(),
    }
}

fn column_of(source: &str, offset: usize) -> usize {
    let offset = offset.min(source.len());
    let line_start = source[..offset].rfind('\n').map_or(0, |index| index + 1);
    source[line_start..offset].chars().count() + 1
}

/// A template that does not parse, located in its file (`source` is the registered text, with
/// the import prefix on line 1).
fn syntax_error(
    error: &minijinja::Error,
    template: &TemplateSource,
    source: &str,
    prefix_chars: usize,
) -> Error {
    let line = error.line().unwrap_or(1);
    let mut column = error
        .range()
        .map(|range| column_of(source, range.start))
        .unwrap_or(1);
    if line == 1 {
        column = column.saturating_sub(prefix_chars).max(1);
    }
    let message = format!(
        "Jinja syntax error: {}",
        error.detail().unwrap_or("invalid template")
    );
    Error::new(ErrorKind::Compilation, message)
        .at(SourceLocation::new(&template.name, line, column).with_text(template.text.clone()))
}

fn register_filters(env: &mut Environment<'static>) {
    env.add_filter("as_bool", |value: Value| -> Value {
        match value.as_str() {
            Some(text) => Value::from(matches!(
                text.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes"
            )),
            None => Value::from(value.is_true()),
        }
    });
    env.add_filter("as_number", |value: Value| -> Value {
        match value.as_str() {
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.trim().parse::<f64>().map(Value::from))
                .unwrap_or(value),
            None => value,
        }
    });
    env.add_filter("as_native", |value: Value| value);
    env.add_filter("as_text", |value: Value| value.to_string());
}

/// Render a text that needs only `env_var` and the cast filters (profiles.yml), outside any
/// project. Errors give the message and the line.
pub fn render_standalone(text: &str) -> std::result::Result<String, (String, usize)> {
    let mut env = Environment::new();
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("env_var", functions::env_var_function);
    register_filters(&mut env);
    env.render_str(text, ()).map_err(|error| {
        (
            error.detail().unwrap_or("invalid template").to_string(),
            error.line().unwrap_or(1),
        )
    })
}
