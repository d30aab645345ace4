//! Source freshness, compile side: the validated `freshness` of a source table (`warn_after` /
//! `error_after` thresholds, an optional `filter`) and its `loaded_at_field`, read once from the
//! properties YAML with the table's settings over the source's (dbt's precedence), and how an
//! age compares with the thresholds. It must not reach the database.

use crate::project::yaml::{Pos, Yaml};

/// A time unit of a freshness threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
}

/// `{count: 12, period: hour}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// How many periods.
    pub count: u32,
    /// The unit.
    pub period: Period,
}

impl Period {
    /// The period as dbt writes it (`minute`, `hour`, `day`).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }
}

impl Threshold {
    /// The threshold in seconds.
    pub fn seconds(self) -> f64 {
        let unit = match self.period {
            Period::Minute => 60.0,
            Period::Hour => 3600.0,
            Period::Day => 86400.0,
        };
        f64::from(self.count) * unit
    }

    /// `12 hour`, as dbt prints criteria.
    pub fn describe(self) -> String {
        format!("{} {}", self.count, self.period.as_str())
    }
}

/// How fresh a source table's data is, against its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Younger than both thresholds.
    Pass,
    /// Older than `warn_after`.
    Warn,
    /// Older than `error_after`, or the table has no rows.
    Stale,
}

/// A source table's validated freshness settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FreshnessSpec {
    /// The column (or expression) holding each row's load time.
    pub loaded_at_field: String,
    /// Warn when the newest row is older than this.
    pub warn_after: Option<Threshold>,
    /// Fail when the newest row is older than this.
    pub error_after: Option<Threshold>,
    /// A condition limiting the rows looked at (`filter:`), pasted as written.
    pub filter: Option<String>,
}

impl FreshnessSpec {
    /// Judge the age (seconds since the newest row; None when there is no row).
    pub fn judge(&self, age: Option<f64>) -> Freshness {
        let Some(age) = age else {
            return Freshness::Stale;
        };
        let older =
            |threshold: Option<Threshold>| threshold.is_some_and(|threshold| age > threshold.seconds());
        if older(self.error_after) {
            Freshness::Stale
        } else if older(self.warn_after) {
            Freshness::Warn
        } else {
            Freshness::Pass
        }
    }

    /// The thresholds as dbt's `criteria` describes them.
    pub fn criteria(&self) -> String {
        let mut parts = Vec::new();
        if let Some(warn) = self.warn_after {
            parts.push(format!("warn after {}", warn.describe()));
        }
        if let Some(error) = self.error_after {
            parts.push(format!("error after {}", error.describe()));
        }
        parts.join(", ")
    }
}

/// A freshness problem and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshnessError {
    /// What is wrong.
    pub message: String,
    /// Where, when known.
    pub pos: Option<Pos>,
}

/// The freshness of a table: its own `freshness` keys over its source's, its own
/// `loaded_at_field` over its source's. None when no threshold applies.
pub fn resolve(
    source_freshness: Option<&Yaml>,
    table_freshness: Option<&Yaml>,
    loaded_at_field: Option<&str>,
) -> Result<Option<FreshnessSpec>, FreshnessError> {
    let mut warn_after = None;
    let mut error_after = None;
    let mut filter = None;
    let mut anchor = None;
    for block in [source_freshness, table_freshness].into_iter().flatten() {
        let Some(entries) = block.as_map() else {
            return Err(FreshnessError {
                message: "`freshness` must be a mapping with `warn_after` and/or `error_after`".to_string(),
                pos: None,
            });
        };
        for entry in entries {
            anchor.get_or_insert(entry.key_pos);
            match entry.key.as_str() {
                "warn_after" => warn_after = threshold(&entry.value, entry.value_pos)?,
                "error_after" => error_after = threshold(&entry.value, entry.value_pos)?,
                "filter" => filter = entry.value.as_str().map(str::to_string),
                other => {
                    return Err(FreshnessError {
                        message: format!(
                            "`freshness.{other}` is not a freshness setting (use warn_after, error_after, filter)"
                        ),
                        pos: Some(entry.key_pos),
                    });
                }
            }
        }
    }
    if warn_after.is_none() && error_after.is_none() {
        return Ok(None);
    }
    let loaded_at_field = loaded_at_field.ok_or_else(|| FreshnessError {
        message: "`freshness` needs `loaded_at_field`: the column holding each row's load time".to_string(),
        pos: anchor,
    })?;
    Ok(Some(FreshnessSpec {
        loaded_at_field: loaded_at_field.to_string(),
        warn_after,
        error_after,
        filter,
    }))
}

/// `{count: N, period: minute|hour|day}`; null or an empty mapping means no threshold.
fn threshold(value: &Yaml, pos: Pos) -> Result<Option<Threshold>, FreshnessError> {
    let error = |message: String| FreshnessError {
        message,
        pos: Some(pos),
    };
    let entries = match value {
        Yaml::Null => return Ok(None),
        Yaml::Map(entries) if entries.is_empty() => return Ok(None),
        Yaml::Map(entries) => entries,
        _ => return Err(error("a threshold is `{count: 12, period: hour}`".to_string())),
    };
    let field = |key: &str| {
        entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.value)
    };
    let count = match field("count") {
        Some(Yaml::Int(count)) if *count > 0 => {
            u32::try_from(*count).map_err(|_| error(format!("`count: {count}` is too large")))?
        }
        Some(other) => {
            return Err(error(format!(
                "`count` must be a positive whole number, not `{}`",
                other.to_json()
            )));
        }
        None => return Err(error("a threshold needs `count`".to_string())),
    };
    let period = match field("period").and_then(Yaml::as_str) {
        Some("minute") => Period::Minute,
        Some("hour") => Period::Hour,
        Some("day") => Period::Day,
        Some(other) => {
            return Err(error(format!(
                "`period: {other}` is not valid (use minute, hour or day)"
            )));
        }
        None => {
            return Err(error(
                "a threshold needs `period`: minute, hour or day".to_string(),
            ));
        }
    };
    Ok(Some(Threshold { count, period }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::yaml::YamlEntry;

    fn pos(line: usize) -> Pos {
        Pos { line, column: 1 }
    }

    fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .enumerate()
                .map(|(line, (key, value))| YamlEntry {
                    key: key.to_string(),
                    key_pos: pos(line + 1),
                    value,
                    value_pos: pos(line + 1),
                })
                .collect(),
        )
    }

    fn after(count: i64, period: &str) -> Yaml {
        map(vec![
            ("count", Yaml::Int(count)),
            ("period", Yaml::Str(period.to_string())),
        ])
    }

    #[test]
    fn the_table_overrides_the_source_key_by_key_and_ages_are_judged() {
        let source = map(vec![
            ("warn_after", after(12, "hour")),
            ("error_after", after(1, "day")),
        ]);
        let table = map(vec![("error_after", after(36, "hour"))]);
        let spec = resolve(Some(&source), Some(&table), Some("loaded_at"))
            .expect("valid")
            .expect("thresholds");
        assert_eq!(spec.criteria(), "warn after 12 hour, error after 36 hour");
        assert_eq!(spec.judge(Some(3600.0)), Freshness::Pass);
        assert_eq!(spec.judge(Some(13.0 * 3600.0)), Freshness::Warn);
        assert_eq!(spec.judge(Some(37.0 * 3600.0)), Freshness::Stale);
        assert_eq!(spec.judge(None), Freshness::Stale);
        assert_eq!(resolve(None, None, Some("loaded_at")), Ok(None));
    }

    #[test]
    fn bad_settings_are_located_errors() {
        let no_field =
            resolve(Some(&map(vec![("warn_after", after(1, "hour"))])), None, None).expect_err("an error");
        assert!(no_field.message.contains("`loaded_at_field`"));
        let bad_period = resolve(
            Some(&map(vec![("warn_after", after(1, "week"))])),
            None,
            Some("x"),
        )
        .expect_err("an error");
        assert!(bad_period.message.contains("`period: week`"));
        assert_eq!(bad_period.pos, Some(pos(1)));
        let bad_key =
            resolve(Some(&map(vec![("warn", after(1, "hour"))])), None, Some("x")).expect_err("an error");
        assert!(bad_key.message.contains("`freshness.warn`"));
    }
}
