//! YAML reading for every project file: typed deserialisation with serde-saphyr, errors mapped
//! to located tmk errors (with a did-you-mean hint for unknown keys), and `Yaml`, a free-form
//! tree that keeps the line and column of every key and value for config maps. It must not
//! know what any key means.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::error::{Error, SourceLocation, did_you_mean};

/// A line/column position inside one YAML file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Pos {
    fn of<T>(spanned: &Spanned<T>) -> Pos {
        Pos {
            line: spanned.referenced.line() as usize,
            column: spanned.referenced.column() as usize,
        }
    }
}

/// A free-form YAML value that remembers where each part was written.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence of positioned values.
    Seq(Vec<(Pos, Yaml)>),
    /// A mapping of positioned keys to positioned values, in written order.
    Map(Vec<YamlEntry>),
}

/// One key/value pair of a YAML mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlEntry {
    /// The key.
    pub key: String,
    /// Where the key was written.
    pub key_pos: Pos,
    /// The value.
    pub value: Yaml,
    /// Where the value was written.
    pub value_pos: Pos,
}

impl Yaml {
    /// The entries when this is a mapping.
    pub fn as_map(&self) -> Option<&[YamlEntry]> {
        match self {
            Yaml::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The string when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(text) => Some(text),
            _ => None,
        }
    }

    /// Convert to JSON (positions dropped), for Jinja and artifacts.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Yaml::Null => serde_json::Value::Null,
            Yaml::Bool(value) => serde_json::Value::Bool(*value),
            Yaml::Int(value) => serde_json::Value::from(*value),
            Yaml::Float(value) => serde_json::Value::from(*value),
            Yaml::Str(value) => serde_json::Value::String(value.clone()),
            Yaml::Seq(items) => items.iter().map(|(_, item)| item.to_json()).collect(),
            Yaml::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|entry| (entry.key.clone(), entry.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Yaml, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(deserializer)
    }
    fn visit_bool<E>(self, value: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(value))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Yaml, E> {
        i64::try_from(value)
            .map(Yaml::Int)
            .or(Ok(Yaml::Float(value as f64)))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(value))
    }
    fn visit_str<E>(self, value: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(value.to_string()))
    }
    fn visit_string<E>(self, value: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(value))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Yaml>>()? {
            items.push((Pos::of(&item), item.value));
        }
        Ok(Yaml::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<YamlKey>>()? {
            let value = map.next_value::<Spanned<Yaml>>()?;
            entries.push(YamlEntry {
                key_pos: Pos::of(&key),
                key: key.value.0,
                value_pos: Pos::of(&value),
                value: value.value,
            });
        }
        Ok(Yaml::Map(entries))
    }
}

/// A mapping key: any scalar, read as its text (YAML allows `1:` or `true:` as keys).
struct YamlKey(String);

impl<'de> Deserialize<'de> for YamlKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<YamlKey, D::Error> {
        match Yaml::deserialize(deserializer)? {
            Yaml::Str(text) => Ok(YamlKey(text)),
            Yaml::Int(value) => Ok(YamlKey(value.to_string())),
            Yaml::Float(value) => Ok(YamlKey(value.to_string())),
            Yaml::Bool(value) => Ok(YamlKey(value.to_string())),
            Yaml::Null => Ok(YamlKey("null".to_string())),
            Yaml::Seq(_) | Yaml::Map(_) => Err(de::Error::custom("a mapping key must be a scalar")),
        }
    }
}

/// A file being read: its display path and text, to build located errors.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to users (relative to the project root).
    pub path: std::path::PathBuf,
    /// The file's text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// A new source file.
    pub fn new(path: &Path, text: Arc<str>) -> SourceFile {
        SourceFile {
            path: path.to_path_buf(),
            text,
        }
    }

    /// A location in this file with an excerpt.
    pub fn location(&self, pos: Pos) -> SourceLocation {
        SourceLocation::new(&self.path, pos.line, pos.column).with_text(self.text.clone())
    }

    /// A location highlighting `length` characters.
    pub fn span(&self, pos: Pos, length: usize) -> SourceLocation {
        self.location(pos).with_length(length)
    }

    /// A project error at `pos`.
    pub fn error(&self, pos: Pos, message: impl Into<String>) -> Error {
        Error::project_at(message, self.location(pos))
    }

    /// Deserialise the whole file as `T`; an empty file deserialises from an empty mapping.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let text: &str = if self.text.trim().is_empty() {
            "{}"
        } else {
            &self.text
        };
        serde_saphyr::from_str::<T>(text).map_err(|error| self.yaml_error(&error))
    }

    fn yaml_error(&self, error: &serde_saphyr::Error) -> Error {
        let message = error.without_snippet().to_string();
        let message = message.lines().next().unwrap_or("invalid YAML").to_string();
        let hint = unknown_field_hint(&message);
        let message = readable_yaml_message(&message);
        let pos = error
            .location()
            .map(|location| Pos {
                line: location.line() as usize,
                column: location.column() as usize,
            })
            .unwrap_or(Pos { line: 1, column: 1 });
        let message = format!("invalid YAML in `{}`: {}", self.path.display(), message);
        Error::project_at(message, self.location(pos)).maybe_hint(hint)
    }
}

/// The parser's message without its position suffix (the excerpt shows it), and unknown
/// fields as "unknown key `x`" (the hint names the closest valid key).
fn readable_yaml_message(message: &str) -> String {
    if let Some(rest) = message.split("unknown field `").nth(1)
        && let Some((field, _)) = rest.split_once('`')
    {
        return format!("unknown key `{field}`");
    }
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// From "unknown field `x`, expected one of `a`, `b`" (serde) or "... expected one of a, b at
/// line 3, column 1" (serde-saphyr) build "did you mean `a`?".
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (field, rest) = rest.split_once('`')?;
    let list = rest
        .split("expected one of")
        .nth(1)
        .or_else(|| rest.split("expected").nth(1))?;
    let list = list.split(" at line ").next().unwrap_or(list);
    let expected: Vec<&str> = list
        .split(',')
        .map(|name| name.trim().trim_matches('`').trim_end_matches('.'))
        .filter(|name| !name.is_empty())
        .collect();
    did_you_mean(field, expected.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::unknown_field_hint;

    #[test]
    fn unknown_field_hints_read_both_message_formats() {
        let saphyr = "unknown field `modles`, expected one of name, profile, models at line 3, column 1";
        assert_eq!(
            unknown_field_hint(saphyr),
            Some("did you mean `models`?".to_string())
        );
        let serde = "unknown field `descrption`, expected one of `name`, `description`";
        assert_eq!(
            unknown_field_hint(serde),
            Some("did you mean `description`?".to_string())
        );
    }
}
