//! `profiles.yml`: finding it (`--profiles-dir`, `./profiles.yml`, `~/.tmk/`, `~/.dbt/`), rendering
//! it with Jinja (for `env_var`), and reading one target's PostgreSQL connection settings.
//! It must not connect anywhere.

use std::path::{Path, PathBuf};

use super::yaml::{Pos, SourceFile, Yaml};
use crate::error::{Error, ErrorKind, Result, SourceLocation, did_you_mean};

/// Where a profiles.yml may be, in lookup order.
pub fn profile_candidates(profiles_dir: Option<&Path>, project_root: &Path) -> Vec<PathBuf> {
    if let Some(dir) = profiles_dir {
        return vec![dir.join("profiles.yml")];
    }
    let mut candidates = vec![project_root.join("profiles.yml")];
    if let Ok(current) = std::env::current_dir() {
        let here = current.join("profiles.yml");
        if !candidates.contains(&here) {
            candidates.push(here);
        }
    }
    if let Some(home) = crate::fs::home_dir() {
        candidates.push(home.join(".tmk").join("profiles.yml"));
        candidates.push(home.join(".dbt").join("profiles.yml"));
    }
    candidates
}

/// PostgreSQL connection settings of one target, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresTarget {
    /// Target name (`dev`).
    pub name: String,
    /// Profile name.
    pub profile_name: String,
    /// Host name, or a directory for a Unix socket.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Password, if any.
    pub password: Option<String>,
    /// Database.
    pub dbname: String,
    /// Default schema.
    pub schema: String,
    /// Worker threads.
    pub threads: usize,
    /// Connect timeout in seconds.
    pub connect_timeout: Option<u64>,
    /// sslmode.
    pub sslmode: Option<String>,
    /// search_path set on each connection.
    pub search_path: Option<String>,
    /// Role set on each connection.
    pub role: Option<String>,
    /// application_name.
    pub application_name: Option<String>,
}

const TARGET_KEYS: [&str; 17] = [
    "type",
    "host",
    "port",
    "user",
    "username",
    "password",
    "pass",
    "dbname",
    "database",
    "schema",
    "threads",
    "connect_timeout",
    "sslmode",
    "search_path",
    "role",
    "keepalives_idle",
    "application_name",
];

/// Read `target` (or the profile's default target) of `profile` from a rendered profiles.yml;
/// `profile_location` is where the project file names the profile (for the error when it is missing).
pub fn read_target(
    file: &SourceFile,
    profile: &str,
    profile_location: Option<SourceLocation>,
    target: Option<&str>,
) -> Result<PostgresTarget> {
    let document: Yaml = file.parse()?;
    let entries = document
        .as_map()
        .ok_or_else(|| file.error(Pos::default(), "profiles.yml must be a mapping of profiles"))?;
    let entry = entries.iter().find(|entry| entry.key == profile).ok_or_else(|| {
        let names = entries
            .iter()
            .map(|entry| entry.key.as_str())
            .filter(|key| *key != "config");
        let error = Error::new(
            ErrorKind::Project,
            format!("profile `{profile}` not found in `{}`", file.path.display()),
        )
        .maybe_hint(did_you_mean(profile, names));
        match profile_location.clone() {
            Some(location) => error.at(location),
            None => error,
        }
    })?;
    let fields = entry.value.as_map().ok_or_else(|| {
        file.error(
            entry.value_pos,
            format!("profile `{profile}` must be a mapping with `target` and `outputs`"),
        )
    })?;
    let field = |name: &str| fields.iter().find(|field| field.key == name);
    let target_name = target
        .map(str::to_string)
        .or_else(|| field("target").map(|field| scalar_text(&field.value)))
        .unwrap_or_else(|| "default".to_string());
    let outputs_entry = field("outputs")
        .ok_or_else(|| file.error(entry.key_pos, format!("profile `{profile}` has no `outputs`")))?;
    let outputs = outputs_entry
        .value
        .as_map()
        .ok_or_else(|| file.error(outputs_entry.value_pos, "`outputs` must be a mapping of targets"))?;
    let output = outputs
        .iter()
        .find(|output| output.key == target_name)
        .ok_or_else(|| {
            file.error(
                entry.key_pos,
                format!("target `{target_name}` not found in profile `{profile}`"),
            )
            .hint(
                did_you_mean(&target_name, outputs.iter().map(|o| o.key.as_str())).unwrap_or_else(|| {
                    let names: Vec<String> = outputs.iter().map(|o| format!("`{}`", o.key)).collect();
                    format!("the profile's targets are {}", names.join(", "))
                }),
            )
        })?;
    postgres_target(file, profile, &target_name, &output.value, output.value_pos)
}

fn postgres_target(
    file: &SourceFile,
    profile: &str,
    target: &str,
    output: &Yaml,
    pos: Pos,
) -> Result<PostgresTarget> {
    let fields = output
        .as_map()
        .ok_or_else(|| file.error(pos, format!("target `{target}` must be a mapping")))?;
    for field in fields {
        if !TARGET_KEYS.contains(&field.key.as_str()) {
            return Err(file
                .error(
                    field.key_pos,
                    format!("unknown key `{}` in target `{target}`", field.key),
                )
                .maybe_hint(did_you_mean(&field.key, TARGET_KEYS)));
        }
    }
    let get = |names: &[&str]| fields.iter().find(|field| names.contains(&field.key.as_str()));
    let text = |names: &[&str]| get(names).map(|field| scalar_text(&field.value));
    let required = |names: &[&str]| {
        text(names).ok_or_else(|| file.error(pos, format!("target `{target}` has no `{}`", names[0])))
    };
    let kind = required(&["type"])?;
    if kind != "postgres" {
        return Err(file.error(
            get(&["type"]).map_or(pos, |field| field.value_pos),
            format!("target `{target}` has type `{kind}`; tmk supports `postgres`"),
        ));
    }
    let number = |names: &[&str], default: u64| -> Result<u64> {
        match get(names) {
            None => Ok(default),
            Some(field) => scalar_text(&field.value)
                .trim()
                .parse::<u64>()
                .map_err(|_| file.error(field.value_pos, format!("`{}` must be a whole number", field.key))),
        }
    };
    let port = number(&["port"], 5432)?;
    let port = u16::try_from(port).map_err(|_| file.error(pos, format!("port {port} is out of range")))?;
    Ok(PostgresTarget {
        name: target.to_string(),
        profile_name: profile.to_string(),
        host: text(&["host"]).unwrap_or_else(|| "localhost".to_string()),
        port,
        user: required(&["user", "username"])?,
        password: text(&["password", "pass"]),
        dbname: required(&["dbname", "database"])?,
        schema: required(&["schema"])?,
        threads: number(&["threads"], 1)?.max(1) as usize,
        connect_timeout: get(&["connect_timeout"])
            .map(|_| number(&["connect_timeout"], 10))
            .transpose()?,
        sslmode: text(&["sslmode"]),
        search_path: text(&["search_path"]),
        role: text(&["role"]),
        application_name: text(&["application_name"]),
    })
}

fn scalar_text(value: &Yaml) -> String {
    match value {
        Yaml::Str(text) => text.clone(),
        Yaml::Int(number) => number.to_string(),
        Yaml::Float(number) => number.to_string(),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Null => String::new(),
        other => other.to_json().to_string(),
    }
}
