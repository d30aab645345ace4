//! dbt's `modules` namespace: `modules.datetime` with `datetime.now()`, `datetime.utcnow()`,
//! `date.today()` and date-time values that offer `strftime`, `isoformat` and the usual fields.
//! Pure: reads the clock, nothing else.

use std::fmt;
use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Timelike};
use minijinja::value::{Object, Value};
use minijinja::{Error as JinjaError, State};

use super::context::jinja_error;

/// The `modules` value.
pub fn modules_value() -> Value {
    Value::from_pairs([("datetime", Value::from_object(DatetimeModule))])
}

/// `modules.datetime`.
#[derive(Debug)]
struct DatetimeModule;

impl Object for DatetimeModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "datetime" => Some(Value::from_object(DatetimeClass { date_only: false })),
            "date" => Some(Value::from_object(DatetimeClass { date_only: true })),
            _ => None,
        }
    }
}

/// `datetime.datetime` or `datetime.date`.
#[derive(Debug)]
struct DatetimeClass {
    date_only: bool,
}

impl Object for DatetimeClass {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, JinjaError> {
        let now = match method {
            "now" | "today" => chrono::Local::now().naive_local(),
            "utcnow" => chrono::Utc::now().naive_utc(),
            _ => return Err(jinja_error(format!("datetime has no method `{method}` in tmk"))),
        };
        Ok(Value::from_object(DatetimeValue {
            value: now,
            date_only: self.date_only,
        }))
    }
}

/// A date or date-time value.
#[derive(Debug)]
struct DatetimeValue {
    value: NaiveDateTime,
    date_only: bool,
}

impl Object for DatetimeValue {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let value = &self.value;
        Some(Value::from(match key.as_str()? {
            "year" => value.year(),
            "month" => value.month() as i32,
            "day" => value.day() as i32,
            "hour" => value.hour() as i32,
            "minute" => value.minute() as i32,
            "second" => value.second() as i32,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, JinjaError> {
        match method {
            "strftime" => {
                let (format,): (String,) = minijinja::value::from_args(args)?;
                Ok(Value::from(self.value.format(&format).to_string()))
            }
            "isoformat" => Ok(Value::from(self.iso())),
            "date" => Ok(Value::from_object(DatetimeValue {
                value: self.value,
                date_only: true,
            })),
            _ => Err(jinja_error(format!(
                "datetime value has no method `{method}` in tmk"
            ))),
        }
    }

    fn render(self: &Arc<Self>, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.date_only {
            write!(formatter, "{}", self.value.format("%Y-%m-%d"))
        } else {
            write!(formatter, "{}", self.value.format("%Y-%m-%d %H:%M:%S%.6f"))
        }
    }
}

impl DatetimeValue {
    fn iso(&self) -> String {
        if self.date_only {
            self.value.format("%Y-%m-%d").to_string()
        } else {
            self.value.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
        }
    }
}
