//! Microbatch incremental models (dbt 1.9): the validated settings (`event_time`, `batch_size`,
//! `begin`, `lookback`) and the batches a run processes — from `begin` when the table is built
//! from scratch, else the last `lookback` batches before now and the current one, or the window
//! given by `--event-time-start/--event-time-end`. Pure: the adapter replaces each batch's rows.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::config::{ConfigExt, ConfigMap};

/// The length of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One calendar month.
    Month,
    /// One calendar year.
    Year,
}

impl BatchSize {
    /// The start of the batch holding `time`.
    pub fn floor(self, time: NaiveDateTime) -> NaiveDateTime {
        let date = time.date();
        match self {
            BatchSize::Hour => date.and_time(NaiveTime::from_hms_opt(time.hour(), 0, 0).unwrap_or_default()),
            BatchSize::Day => date.and_time(NaiveTime::MIN),
            BatchSize::Month => first_day(date.year(), date.month()),
            BatchSize::Year => first_day(date.year(), 1),
        }
    }

    /// The start of the batch after the one starting at `start`.
    pub fn next(self, start: NaiveDateTime) -> NaiveDateTime {
        match self {
            BatchSize::Hour => start + Duration::hours(1),
            BatchSize::Day => start + Duration::days(1),
            BatchSize::Month if start.month() == 12 => first_day(start.year() + 1, 1),
            BatchSize::Month => first_day(start.year(), start.month() + 1),
            BatchSize::Year => first_day(start.year() + 1, 1),
        }
    }

    /// The start of the batch `count` batches before the one starting at `start`.
    fn back(self, start: NaiveDateTime, count: u32) -> NaiveDateTime {
        let months_back = |months: i32| {
            let index = start.year() * 12 + start.month0() as i32 - months;
            first_day(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
        };
        match self {
            BatchSize::Hour => start - Duration::hours(i64::from(count)),
            BatchSize::Day => start - Duration::days(i64::from(count)),
            BatchSize::Month => months_back(count as i32),
            BatchSize::Year => months_back(12 * count as i32),
        }
    }
}

fn first_day(year: i32, month: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, month, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

/// A microbatch model's validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrobatchSpec {
    /// The model's own time column: a batch replaces the rows whose value falls in it.
    pub event_time: String,
    /// The batch length.
    pub batch_size: BatchSize,
    /// Where history starts (the first build processes every batch from here).
    pub begin: NaiveDateTime,
    /// Batches before the current one that later runs process again (late data).
    pub lookback: u32,
}

/// One batch: rows with `start <= event_time < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchWindow {
    /// Inclusive start.
    pub start: NaiveDateTime,
    /// Exclusive end.
    pub end: NaiveDateTime,
}

impl BatchWindow {
    /// dbt's literal for a batch bound: `'2024-01-01 00:00:00+00:00'`.
    pub fn literal(time: NaiveDateTime) -> String {
        format!("'{}+00:00'", time.format("%Y-%m-%d %H:%M:%S"))
    }

    /// The condition selecting this batch's rows of `column` (pasted as written).
    pub fn condition(&self, column: &str) -> String {
        format!(
            "{column} >= {} and {column} < {}",
            Self::literal(self.start),
            Self::literal(self.end)
        )
    }
}

/// `--event-time-start` / `--event-time-end`: a window chosen on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventTimeWindow {
    /// First time to process.
    pub start: Option<NaiveDateTime>,
    /// Time to process up to.
    pub end: Option<NaiveDateTime>,
}

impl MicrobatchSpec {
    /// Validate a microbatch model's config; the message names the offending key.
    pub fn from_config(config: &ConfigMap) -> Result<MicrobatchSpec, String> {
        let event_time = config
            .text("event_time")
            .ok_or("a microbatch model needs `event_time`: its column holding each row's time")?
            .to_string();
        let batch_size = match config.text("batch_size") {
            Some("hour") => BatchSize::Hour,
            Some("day") => BatchSize::Day,
            Some("month") => BatchSize::Month,
            Some("year") => BatchSize::Year,
            Some(other) => {
                return Err(format!(
                    "`batch_size: {other}` is not valid (use hour, day, month or year)"
                ));
            }
            None => return Err("a microbatch model needs `batch_size`: hour, day, month or year".to_string()),
        };
        let begin_text = config
            .text("begin")
            .ok_or("a microbatch model needs `begin`: the date its history starts, like `2024-01-01`")?;
        let begin = parse_time(begin_text).ok_or_else(|| {
            format!("`begin: {begin_text}` is not a date or time like `2024-01-01` or `2024-01-01 06:00:00`")
        })?;
        let lookback = match config.get("lookback") {
            None | Some(serde_json::Value::Null) => 1,
            Some(value) => value
                .as_u64()
                .and_then(|lookback| u32::try_from(lookback).ok())
                .ok_or_else(|| format!("`lookback` must be a whole number of batches, not `{value}`"))?,
        };
        Ok(MicrobatchSpec {
            event_time,
            batch_size,
            begin,
            lookback,
        })
    }

    /// The batches to process at `now`: from `begin` when the table is built from scratch,
    /// else from `lookback` batches before the current one; a command-line window wins.
    pub fn batches(
        &self,
        now: NaiveDateTime,
        from_scratch: bool,
        window: EventTimeWindow,
    ) -> Vec<BatchWindow> {
        let size = self.batch_size;
        let start = match window.start {
            Some(start) => size.floor(start),
            None if from_scratch => size.floor(self.begin),
            None => size.back(size.floor(now), self.lookback),
        };
        let end = window.end.unwrap_or(now);
        let mut batches = Vec::new();
        let mut batch_start = start;
        while batch_start < end || batches.is_empty() {
            let batch_end = size.next(batch_start);
            batches.push(BatchWindow {
                start: batch_start,
                end: batch_end,
            });
            batch_start = batch_end;
        }
        batches
    }
}

/// A date (`2024-01-01`) or a date and time (`2024-01-01 06:00:00`, `2024-01-01T06:00:00`).
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|date| date.and_time(NaiveTime::MIN))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn time(text: &str) -> NaiveDateTime {
        parse_time(text).expect("a time")
    }

    fn spec(batch_size: &str, lookback: u32) -> MicrobatchSpec {
        let config = json!({"event_time": "at", "batch_size": batch_size, "begin": "2024-01-30", "lookback": lookback});
        MicrobatchSpec::from_config(config.as_object().expect("a map")).expect("valid")
    }

    fn starts(batches: &[BatchWindow]) -> Vec<String> {
        batches.iter().map(|batch| batch.start.to_string()).collect()
    }

    #[test]
    fn a_first_build_runs_every_batch_from_begin_and_later_runs_the_lookback() {
        let daily = spec("day", 1);
        let now = time("2024-02-02 13:30:00");
        assert_eq!(
            starts(&daily.batches(now, true, EventTimeWindow::default())),
            [
                "2024-01-30 00:00:00",
                "2024-01-31 00:00:00",
                "2024-02-01 00:00:00",
                "2024-02-02 00:00:00"
            ]
        );
        let later = daily.batches(now, false, EventTimeWindow::default());
        assert_eq!(starts(&later), ["2024-02-01 00:00:00", "2024-02-02 00:00:00"]);
        assert_eq!(later[1].end, time("2024-02-03"));
        assert_eq!(
            later[0].condition("at"),
            "at >= '2024-02-01 00:00:00+00:00' and at < '2024-02-02 00:00:00+00:00'"
        );
    }

    #[test]
    fn months_and_years_follow_the_calendar_and_a_window_wins() {
        let monthly = spec("month", 2);
        let now = time("2024-01-15 08:00:00");
        assert_eq!(
            starts(&monthly.batches(now, false, EventTimeWindow::default())),
            [
                "2023-11-01 00:00:00",
                "2023-12-01 00:00:00",
                "2024-01-01 00:00:00"
            ]
        );
        let window = EventTimeWindow {
            start: Some(time("2023-12-10")),
            end: Some(time("2024-02-01")),
        };
        assert_eq!(
            starts(&monthly.batches(now, true, window)),
            ["2023-12-01 00:00:00", "2024-01-01 00:00:00"]
        );
        assert_eq!(BatchSize::Year.next(time("2024-05-01")), time("2025-01-01"));
        assert_eq!(
            BatchSize::Hour.floor(time("2024-05-01 10:59:59")),
            time("2024-05-01 10:00:00")
        );
    }

    #[test]
    fn missing_and_wrong_settings_name_the_key() {
        let error = |value: serde_json::Value| {
            MicrobatchSpec::from_config(value.as_object().expect("a map")).expect_err("an error")
        };
        assert!(error(json!({"batch_size": "day", "begin": "2024-01-01"})).contains("`event_time`"));
        assert!(error(json!({"event_time": "at", "begin": "2024-01-01"})).contains("`batch_size`"));
        assert!(
            error(json!({"event_time": "at", "batch_size": "week", "begin": "2024-01-01"}))
                .contains("`batch_size: week`")
        );
        assert!(error(json!({"event_time": "at", "batch_size": "day"})).contains("`begin`"));
        assert!(
            error(json!({"event_time": "at", "batch_size": "day", "begin": "soon"}))
                .contains("`begin: soon`")
        );
        assert!(
            error(json!({"event_time": "at", "batch_size": "day", "begin": "2024-01-01", "lookback": -1}))
                .contains("`lookback`")
        );
    }
}
