//! Seeds: the bytes of a CSV file in, a typed PostgreSQL `COPY` payload out.
//!
//! This module owns reading a dbt seed exactly as dbt-postgres reads it (Python's `csv` module
//! through agate, with dbt's type tester) and turning it into column types plus CSV bytes for
//! `COPY t FROM STDIN WITH (FORMAT csv, NULL '\N')`. It must not touch a database or the file
//! system: the caller hands in the file's bytes and streams [`SeedTable::copy_data`] itself.
//!
//! What dbt does, and so what this module does:
//! - The file is UTF-8 with an optional BOM; `\r\n` and a lone `\r` become `\n` everywhere, even
//!   inside quoted values (Python reads the file with universal newlines). The first record is the
//!   header; the delimiter is configurable. After a closing quote, the rest of the field is kept
//!   literally (`"ab"c` is `abc`), as Python's non-strict reader does.
//! - A row with fewer fields than the header, or a blank line, is padded with NULLs (agate pads
//!   short rows; Python's reader yields a blank line as an empty row).
//! - The empty string and `null` (any case, ignoring surrounding whitespace) are NULL in every
//!   column, overridden ones included. Text keeps its raw, untrimmed value.
//! - Each column gets the first type that accepts every non-NULL value: number, date
//!   (`%Y-%m-%d`), datetime (`%Y-%m-%d %H:%M:%S`), ISO 8601 datetime (isodate's grammar), boolean
//!   (`true`/`false`), text. Numbers follow agate: `%` and the currency symbols are stripped from
//!   the ends, `,` and `_` anywhere, a leading `-` is read before the symbols; the value is then a
//!   Python `Decimal` (`NaN` and `Infinity` included) rounded to 28 significant digits.
//! - A number column is `float8` when agate's `MaxPrecision` of the column is non-zero (it counts
//!   digits after the point of the *normalised* value, so `1.0` is an integer), else `integer`. A
//!   column with no non-NULL value, or a header-only file, is therefore `integer` too.
//! - Values are written so PostgreSQL stores what dbt's `INSERT` stores: numbers without group
//!   separators or symbols, `-0` as `0`, `NaN` and `Infinity` as `NaN` in a `float8` column
//!   (psycopg2 sends every non-finite decimal as `'NaN'::numeric`).
//! - `column_types` replaces the inferred type of the named column; its values go to `COPY` as
//!   text and PostgreSQL casts them.
//!
//! Where this module knowingly differs from dbt:
//! - An integer column holding a value outside the `i32` range is `bigint` (dbt creates `integer`
//!   and fails at load). A value outside `i64`, or a `NaN`/`Infinity` in an integer column, is an
//!   error here; dbt fails on it too.
//! - A duplicate or empty header name is an error (dbt renames it to `a_2` or a letter), and so is
//!   an unterminated quote (Python's reader would swallow the rest of the file into one value).
//! - A timestamp with a UTC offset (`Z`, `+02:00`) is converted to UTC. dbt inserts it as
//!   `timestamptz`, which PostgreSQL converts to the session's `TimeZone`: the same when that is
//!   UTC.
//! - Only ASCII digits count as digits (Python also accepts other Unicode decimal digits), a
//!   number whose adjusted exponent is beyond ±999999 is not a number (dbt crashes on it), and a
//!   fraction of an hour or minute in an ISO time is read to 24 digits.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use indexmap::IndexMap;

/// The NULL marker used in [`SeedTable::copy_data`]; the loader writes
/// `COPY ... (FORMAT csv, NULL '\N')`. A text value equal to it is written quoted, so it loads as
/// text.
pub const COPY_NULL: &str = "\\N";

/// Options from the seed's config.
pub struct SeedOptions<'a> {
    /// The field delimiter (`delimiter` config, default `,`); must be an ASCII byte other than a
    /// quote or a line break.
    pub delimiter: u8,
    /// The `column_types` config: column name to SQL type, replacing inference for that column.
    pub column_types: &'a IndexMap<String, String>,
}

/// A seed ready to load.
#[derive(Debug)]
pub struct SeedTable {
    /// The columns in file order, with the SQL type to create each with.
    pub columns: Vec<SeedColumn>,
    /// The number of data rows (the header excluded, blank lines included as NULL rows).
    pub row_count: usize,
    /// CSV bytes for `COPY t FROM STDIN WITH (FORMAT csv, NULL '\N')`: no header, comma-delimited,
    /// `\n`-terminated, NULLs as the unquoted [`COPY_NULL`], every other value written so
    /// PostgreSQL parses it as the column's type.
    pub copy_data: Vec<u8>,
}

/// One column of a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedColumn {
    /// The name exactly as in the header (dbt quotes seed columns by default).
    pub name: String,
    /// `integer`, `bigint`, `float8`, `date`, `timestamp without time zone`, `boolean`, `text`,
    /// or the `column_types` override verbatim.
    pub data_type: String,
}

/// Why a seed could not be read, and where.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SeedError {
    /// The 1-based line in the file.
    pub line: usize,
    /// The 1-based byte column in that line of the file (a BOM counts), or 1 when not known.
    pub column: usize,
    /// What went wrong, with names and values in backticks.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub hint: Option<String>,
}

/// Parse a seed file. `bytes` is the file content.
pub fn read_seed(bytes: &[u8], options: &SeedOptions) -> Result<SeedTable, SeedError> {
    check_delimiter(options.delimiter)?;
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let bom_length = bytes.len() - body.len();
    read_body(body, options).map_err(|mut error| {
        if error.line == 1 {
            error.column += bom_length;
        }
        error
    })
}

/// [`read_seed`] after the BOM; positions are relative to `bytes`.
fn read_body(bytes: &[u8], options: &SeedOptions) -> Result<SeedTable, SeedError> {
    let text = decode(bytes)?;
    let table = parse_csv(&text, options.delimiter)?;
    let (columns, kinds) = infer_columns(&text, &table, options.column_types)?;
    Ok(SeedTable {
        columns,
        row_count: table.rows.len(),
        copy_data: encode(&table, &kinds),
    })
}

impl SeedError {
    /// An error at a byte offset of `text`.
    fn at(text: &str, offset: usize, message: String) -> Self {
        let (line, column) = locate(text.as_bytes(), offset);
        SeedError {
            line,
            column,
            message,
            hint: None,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The 1-based line and byte column of `offset`, counting `\r\n`, `\r` and `\n` as line breaks.
fn locate(bytes: &[u8], offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut line_start = 0;
    for (index, &byte) in bytes.iter().enumerate().take(offset) {
        let crlf = byte == b'\r' && bytes.get(index + 1) == Some(&b'\n');
        if byte == b'\n' || (byte == b'\r' && !crlf) {
            line += 1;
            line_start = index + 1;
        }
    }
    (line, offset.saturating_sub(line_start) + 1)
}

fn check_delimiter(delimiter: u8) -> Result<(), SeedError> {
    if delimiter.is_ascii() && !matches!(delimiter, b'"' | b'\n' | b'\r' | 0) {
        return Ok(());
    }
    Err(SeedError {
        line: 1,
        column: 1,
        message: format!("the delimiter `{}` cannot be used", delimiter.escape_ascii()),
        hint: Some("use a single ASCII character other than a quote or a line break".into()),
    })
}

// ---------------------------------------------------------------------------------------------
// Text: BOM, UTF-8, line breaks.

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file after its BOM as text: UTF-8 checked, line breaks turned into `\n`.
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, SeedError> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = locate(bytes, error.valid_up_to());
        SeedError {
            line,
            column,
            message: "the seed is not valid UTF-8".into(),
            hint: Some("save the file as UTF-8".into()),
        }
    })?;
    if let Some(offset) = text.find('\0') {
        return Err(SeedError::at(text, offset, "the seed contains a NUL byte".into())
            .with_hint("PostgreSQL text cannot hold NUL; remove it"));
    }
    Ok(normalize_line_breaks(text))
}

/// `\r\n` and a lone `\r` become `\n`, as Python's universal newlines do.
fn normalize_line_breaks(text: &str) -> Cow<'_, str> {
    if !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find('\r') {
        out.push_str(&rest[..index]);
        out.push('\n');
        rest = &rest[index + 1..];
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// CSV: Python's `csv.reader` with the excel dialect (non-strict), on `\n`-only text.

/// One value and where it starts in the text.
struct Field<'a> {
    value: Cow<'a, str>,
    offset: usize,
}

/// One data row: a range of [`Table::fields`] and where the row starts.
struct Row {
    start: usize,
    end: usize,
    offset: usize,
}

/// The parsed file: header names, then all data fields in one vector.
struct Table<'a> {
    header: Vec<Field<'a>>,
    fields: Vec<Field<'a>>,
    rows: Vec<Row>,
}

impl<'a> Table<'a> {
    fn row(&self, row: &Row) -> &[Field<'a>] {
        self.fields.get(row.start..row.end).unwrap_or_default()
    }
}

fn parse_csv<'a>(text: &'a str, delimiter: u8) -> Result<Table<'a>, SeedError> {
    let mut reader = CsvReader {
        text,
        pos: 0,
        delimiter,
    };
    let mut header = Vec::new();
    if !reader.next_record(&mut header)? {
        return Err(SeedError::at(text, 0, "the seed file is empty".into())
            .with_hint("a seed needs a header row naming its columns"));
    }
    check_header(text, &header)?;
    let mut fields = Vec::new();
    let mut rows = Vec::new();
    loop {
        let (start, offset) = (fields.len(), reader.pos);
        if !reader.next_record(&mut fields)? {
            break;
        }
        let row = Row {
            start,
            end: fields.len(),
            offset,
        };
        check_row_length(text, &fields, &row, rows.len() + 1, header.len())?;
        rows.push(row);
    }
    Ok(Table { header, fields, rows })
}

fn check_header(text: &str, header: &[Field]) -> Result<(), SeedError> {
    if header.is_empty() {
        return Err(SeedError::at(text, 0, "the header row is empty".into())
            .with_hint("the first line of a seed names its columns"));
    }
    for (index, field) in header.iter().enumerate() {
        if field.value.is_empty() {
            let message = format!("column {} has an empty name in the header", index + 1);
            return Err(SeedError::at(text, field.offset, message)
                .with_hint("give every column a name in the first line"));
        }
        if header[..index].iter().any(|seen| seen.value == field.value) {
            let message = format!("the column name `{}` appears twice", field.value);
            return Err(SeedError::at(text, field.offset, message)
                .with_hint("give every column a unique name in the first line"));
        }
    }
    Ok(())
}

fn check_row_length(
    text: &str,
    fields: &[Field],
    row: &Row,
    number: usize,
    width: usize,
) -> Result<(), SeedError> {
    let count = row.end - row.start;
    if count <= width {
        return Ok(());
    }
    let offset = fields.get(row.start + width).map_or(row.offset, |f| f.offset);
    let message = format!("row {number} has {count} fields but the header has {width}");
    Err(SeedError::at(text, offset, message)
        .with_hint("a value that contains the delimiter must be quoted: `\"a, b\"`"))
}

struct CsvReader<'a> {
    text: &'a str,
    pos: usize,
    delimiter: u8,
}

impl<'a> CsvReader<'a> {
    fn byte(&self, index: usize) -> Option<u8> {
        self.text.as_bytes().get(index).copied()
    }

    /// Appends the next record's fields; `false` at the end of the text. A blank line is a
    /// record without fields.
    fn next_record(&mut self, fields: &mut Vec<Field<'a>>) -> Result<bool, SeedError> {
        match self.byte(self.pos) {
            None => return Ok(false),
            Some(b'\n') => {
                self.pos += 1;
                return Ok(true);
            }
            Some(_) => {}
        }
        loop {
            let offset = self.pos;
            let value = match self.byte(offset) {
                Some(b'"') => self.quoted()?,
                _ => Cow::Borrowed(self.unquoted_run()),
            };
            fields.push(Field { value, offset });
            let terminator = self.byte(self.pos);
            if terminator.is_some() {
                self.pos += 1;
            }
            if terminator != Some(self.delimiter) {
                return Ok(true);
            }
        }
    }

    /// The text up to the next delimiter or line break, which is left unread.
    fn unquoted_run(&mut self) -> &'a str {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.pos) {
            if byte == self.delimiter || byte == b'\n' {
                break;
            }
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// A field starting with a quote: `""` is a quote, and text after the closing quote is kept.
    fn quoted(&mut self) -> Result<Cow<'a, str>, SeedError> {
        let open = self.pos;
        let mut owned: Option<String> = None;
        let mut segment = open + 1;
        loop {
            let Some(close) = self.text.get(segment..).and_then(|rest| rest.find('"')) else {
                return Err(
                    SeedError::at(self.text, open, "a quoted value is never closed".into())
                        .with_hint("end it with `\"`; a quote inside a quoted value is written `\"\"`"),
                );
            };
            let close = segment + close;
            let piece = self.text.get(segment..close).unwrap_or_default();
            if self.byte(close + 1) == Some(b'"') {
                let buffer = owned.get_or_insert_with(String::new);
                buffer.push_str(piece);
                buffer.push('"');
                segment = close + 2;
                continue;
            }
            self.pos = close + 1;
            let tail = self.unquoted_run();
            return Ok(match owned {
                None if tail.is_empty() => Cow::Borrowed(piece),
                owned => Cow::Owned(owned.unwrap_or_default() + piece + tail),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inference: one pass narrowing each column's candidate types, in dbt's order of preference.

const NUMBER: u8 = 1;
const DATE: u8 = 2;
const DATETIME: u8 = 4;
const ISO_DATETIME: u8 = 8;
const BOOLEAN: u8 = 16;
const ALL_TYPES: u8 = NUMBER | DATE | DATETIME | ISO_DATETIME | BOOLEAN;

/// How a column's values are written to `COPY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Float,
    Date,
    DateTime,
    IsoDateTime,
    Boolean,
    Text,
}

/// What inference knows about one column so far.
struct ColumnState {
    candidates: u8,
    numbers: NumberStats,
}

/// agate's `MaxPrecision` inputs, and the first value an integer column could not hold.
struct NumberStats {
    max_whole_places: i64,
    max_decimal_places: i64,
    needs_bigint: bool,
    /// The offset and stripped text of the first value outside `bigint`, or not finite.
    not_integer: Option<(usize, String)>,
}

fn infer_columns(
    text: &str,
    table: &Table,
    overrides: &IndexMap<String, String>,
) -> Result<(Vec<SeedColumn>, Vec<Kind>), SeedError> {
    let mut states: Vec<ColumnState> = table
        .header
        .iter()
        .map(|name| ColumnState::new(overrides.contains_key(name.value.as_ref())))
        .collect();
    for row in &table.rows {
        for (state, field) in states.iter_mut().zip(table.row(row)) {
            state.observe(field);
        }
    }
    let mut columns = Vec::with_capacity(states.len());
    let mut kinds = Vec::with_capacity(states.len());
    for (name, state) in table.header.iter().zip(&states) {
        let (kind, data_type) = match overrides.get(name.value.as_ref()) {
            Some(data_type) => (Kind::Text, data_type.clone()),
            None => state.resolve(text, &name.value)?,
        };
        columns.push(SeedColumn {
            name: name.value.to_string(),
            data_type,
        });
        kinds.push(kind);
    }
    Ok((columns, kinds))
}

impl ColumnState {
    fn new(overridden: bool) -> Self {
        ColumnState {
            candidates: if overridden { 0 } else { ALL_TYPES },
            numbers: NumberStats {
                max_whole_places: 1,
                max_decimal_places: 0,
                needs_bigint: false,
                not_integer: None,
            },
        }
    }

    /// Drops every candidate type that cannot hold the field's value.
    fn observe(&mut self, field: &Field) {
        if self.candidates == 0 {
            return;
        }
        let value = py_strip(&field.value);
        if is_null_word(value) {
            return;
        }
        let candidates = &mut self.candidates;
        keep_if(candidates, NUMBER, || self.numbers.observe(value, field.offset));
        keep_if(candidates, DATE, || strptime_date(value).is_some());
        keep_if(candidates, DATETIME, || strptime_datetime(value).is_some());
        keep_if(candidates, ISO_DATETIME, || iso_datetime(value).is_some());
        keep_if(candidates, BOOLEAN, || parse_bool(&field.value).is_some());
    }

    fn has(&self, candidate: u8) -> bool {
        self.candidates & candidate != 0
    }

    /// The first surviving candidate in dbt's order, with its PostgreSQL type.
    fn resolve(&self, text: &str, name: &str) -> Result<(Kind, String), SeedError> {
        if self.has(NUMBER) {
            return self.numbers.resolve(text, name);
        }
        let (kind, data_type) = if self.has(DATE) {
            (Kind::Date, "date")
        } else if self.has(DATETIME) {
            (Kind::DateTime, "timestamp without time zone")
        } else if self.has(ISO_DATETIME) {
            (Kind::IsoDateTime, "timestamp without time zone")
        } else if self.has(BOOLEAN) {
            (Kind::Boolean, "boolean")
        } else {
            (Kind::Text, "text")
        };
        Ok((kind, data_type.to_string()))
    }
}

/// Drops `candidate` from `candidates` unless it is already gone or `accepts` the value.
fn keep_if(candidates: &mut u8, candidate: u8, accepts: impl FnOnce() -> bool) {
    if *candidates & candidate != 0 && !accepts() {
        *candidates &= !candidate;
    }
}

/// Python's decimal context precision, which agate's arithmetic rounds to.
const DECIMAL_PRECISION: i64 = 28;

impl NumberStats {
    /// Records a non-NULL value; `false` when it is not a number.
    fn observe(&mut self, value: &str, offset: usize) -> bool {
        let Some(number) = parse_number(value) else {
            return false;
        };
        let integer = match number {
            Number::Finite(finite) => {
                self.max_whole_places = self.max_whole_places.max(finite.whole_places());
                self.max_decimal_places = self.max_decimal_places.max(-finite.exponent);
                if finite.exponent < 0 {
                    return true;
                }
                finite.to_i64()
            }
            Number::NonFinite => None,
        };
        match integer {
            Some(integer) => self.needs_bigint |= i32::try_from(integer).is_err(),
            None if self.not_integer.is_none() => {
                self.not_integer = Some((offset, value.to_string()));
            }
            None => {}
        }
        true
    }

    /// agate's `MaxPrecision`, clipped to the context precision as agate does.
    fn max_precision(&self) -> i64 {
        if self.max_whole_places + self.max_decimal_places > DECIMAL_PRECISION {
            DECIMAL_PRECISION - self.max_whole_places
        } else {
            self.max_decimal_places
        }
    }

    fn resolve(&self, text: &str, name: &str) -> Result<(Kind, String), SeedError> {
        if self.max_precision() != 0 {
            return Ok((Kind::Float, "float8".into()));
        }
        if let Some((offset, value)) = &self.not_integer {
            return Err(not_an_integer(text, *offset, name, value));
        }
        let data_type = if self.needs_bigint { "bigint" } else { "integer" };
        Ok((Kind::Integer, data_type.into()))
    }
}

fn not_an_integer(text: &str, offset: usize, name: &str, value: &str) -> SeedError {
    let message = format!(
        "column `{name}` is inferred as integer, but its value `{value}` is not an integer \
         that fits in `bigint`"
    );
    SeedError::at(text, offset, message).with_hint(format!(
        "dbt cannot load this seed either; set `column_types: {{{name}: numeric}}` \
         (or `float8`) in the seed's config"
    ))
}

// ---------------------------------------------------------------------------------------------
// Values: agate's casts, one function per type.

/// Python's `str.isspace`: Unicode `White_Space` plus the separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
fn py_strip(value: &str) -> &str {
    value.trim_matches(is_py_space)
}

/// dbt's `null_values=('null', '')`, compared after stripping and lowercasing.
fn is_null_word(stripped: &str) -> bool {
    stripped.is_empty() || stripped.eq_ignore_ascii_case("null")
}

/// agate's `DEFAULT_CURRENCY_SYMBOLS`, in its order (each is stripped from both ends in turn).
const CURRENCY_SYMBOLS: [char; 19] = [
    '؋', '$', 'ƒ', '៛', '¥', '₡', '₱', '£', '€', '¢', '﷼', '₪', '₩', '₭', '₮', '₦', '฿', '₤', '₫',
];

/// Python's decimal context `Emax`; a larger adjusted exponent overflows.
const DECIMAL_EMAX: i64 = 999_999;

/// A value agate's `Number` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    Finite(Finite),
    /// `NaN` or `Infinity` of either sign.
    NonFinite,
}

/// `coefficient × 10^exponent`, normalised: no trailing zeros in the coefficient, and zero is
/// `0 × 10^0` without a sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Finite {
    negative: bool,
    coefficient: u128,
    exponent: i64,
}

/// agate's `Number.cast` on a stripped, non-NULL value.
fn parse_number(stripped: &str) -> Option<Number> {
    let value = stripped.trim_matches('%');
    let (negative, value) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let value = CURRENCY_SYMBOLS
        .iter()
        .fold(value, |value, &symbol| value.trim_matches(symbol));
    let literal: Cow<str> = if value.contains([',', '_']) {
        Cow::Owned(value.chars().filter(|c| !matches!(c, ',' | '_')).collect())
    } else {
        Cow::Borrowed(value)
    };
    let number = parse_decimal(py_strip(&literal))?;
    Some(match number {
        Number::Finite(finite) if negative => Number::Finite(finite.negated()),
        other => other,
    })
}

/// Python's `Decimal(str)` syntax, rounded to the context as `Decimal * 1` is.
fn parse_decimal(literal: &str) -> Option<Number> {
    let (negative, body) = match literal.as_bytes().first() {
        Some(b'-') => (true, &literal[1..]),
        Some(b'+') => (false, &literal[1..]),
        _ => (false, literal),
    };
    if is_non_finite(body) {
        return Some(Number::NonFinite);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(index) => (&body[..index], parse_exponent(&body[index + 1..])?),
        None => (body, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.len() + fraction.len() == 0 || !is_digits(whole) || !is_digits(fraction) {
        return None;
    }
    let exponent = exponent.saturating_sub(i64::try_from(fraction.len()).ok()?);
    let digits = whole.bytes().chain(fraction.bytes()).map(|b| b - b'0');
    let finite = Finite::rounded(digits, exponent)?;
    Some(Number::Finite(if negative { finite.negated() } else { finite }))
}

/// `Inf`, `Infinity`, `NaN` and `NaN` with a payload, any case (`sNaN` fails in arithmetic).
fn is_non_finite(body: &str) -> bool {
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return true;
    }
    let nan = body.get(..3).is_some_and(|head| head.eq_ignore_ascii_case("nan"));
    nan && body.get(3..).is_some_and(is_digits)
}

fn is_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// An exponent: optional sign and at least one digit; saturates far beyond Python's range.
fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !is_digits(digits) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        (acc * 10 + i64::from(b - b'0')).min(1_000_000_000_000)
    });
    Some(if negative { -magnitude } else { magnitude })
}

impl Finite {
    /// The decimal with these digits and exponent, rounded half-even to 28 significant digits
    /// and normalised; `None` when the adjusted exponent overflows Python's context.
    fn rounded(digits: impl Iterator<Item = u8>, exponent: i64) -> Option<Finite> {
        let mut coefficient: u128 = 0;
        let mut kept = 0;
        let (mut dropped, mut first_dropped, mut sticky) = (0i64, 0u8, false);
        for digit in digits.skip_while(|&d| d == 0) {
            if kept < DECIMAL_PRECISION {
                coefficient = coefficient * 10 + u128::from(digit);
                kept += 1;
            } else {
                if dropped == 0 {
                    first_dropped = digit;
                } else {
                    sticky |= digit != 0;
                }
                dropped += 1;
            }
        }
        let odd = coefficient % 2 == 1;
        if first_dropped > 5 || (first_dropped == 5 && (sticky || odd)) {
            coefficient += 1;
        }
        Finite::normalized(coefficient, exponent.saturating_add(dropped))
    }

    fn normalized(mut coefficient: u128, mut exponent: i64) -> Option<Finite> {
        if coefficient == 0 {
            return Some(Finite {
                negative: false,
                coefficient: 0,
                exponent: 0,
            });
        }
        while coefficient.is_multiple_of(10) {
            coefficient /= 10;
            exponent = exponent.saturating_add(1);
        }
        let finite = Finite {
            negative: false,
            coefficient,
            exponent,
        };
        let adjusted = finite.whole_places() - 1;
        (adjusted.abs() <= DECIMAL_EMAX).then_some(finite)
    }

    fn negated(self) -> Finite {
        Finite {
            negative: !self.negative && self.coefficient != 0,
            ..self
        }
    }

    fn digit_count(&self) -> i64 {
        self.coefficient
            .checked_ilog10()
            .map_or(1, |log| i64::from(log) + 1)
    }

    /// agate's "whole places": digits of the normalised value left of the point.
    fn whole_places(&self) -> i64 {
        self.digit_count().saturating_add(self.exponent)
    }

    fn to_i64(self) -> Option<i64> {
        let scale = 10u128.checked_pow(u32::try_from(self.exponent).ok()?)?;
        let magnitude = i128::try_from(self.coefficient.checked_mul(scale)?).ok()?;
        i64::try_from(if self.negative { -magnitude } else { magnitude }).ok()
    }

    /// Positional notation for modest exponents, `<digits>e<exponent>` beyond.
    fn write_decimal(self, out: &mut String) {
        if self.negative {
            out.push('-');
        }
        let digits = self.coefficient.to_string();
        let point = self.whole_places();
        if self.exponent >= 0 && self.exponent <= 30 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', self.exponent.unsigned_abs() as usize));
        } else if self.exponent < 0 && point > 0 {
            let (whole, fraction) = digits.split_at(point.unsigned_abs() as usize);
            out.extend([whole, ".", fraction]);
        } else if self.exponent < 0 && point > -30 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            out.extend([digits, format!("e{}", self.exponent)]);
        }
    }
}

/// agate's `Boolean` with dbt's `true_values=('true',)`, `false_values=('false',)`: commas are
/// removed before anything else. `Some(None)` is NULL.
fn parse_bool(raw: &str) -> Option<Option<bool>> {
    let cleaned: Cow<str> = if raw.contains(',') {
        Cow::Owned(raw.replace(',', ""))
    } else {
        Cow::Borrowed(raw)
    };
    let value = py_strip(&cleaned);
    if is_null_word(value) {
        Some(None)
    } else if value.eq_ignore_ascii_case("true") {
        Some(Some(true))
    } else if value.eq_ignore_ascii_case("false") {
        Some(Some(false))
    } else {
        None
    }
}

/// A date Python's `date` can hold (years 1 to 9999).
fn calendar_date(year: u32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day).filter(in_python_range)
}

fn in_python_range(date: &NaiveDate) -> bool {
    (1..=9999).contains(&date.year())
}

/// A `strptime` number: one or two ASCII digits within `min..=max`.
fn strptime_number(token: &str, min: u32, max: u32) -> Option<u32> {
    let value = match token.as_bytes() {
        [a] if a.is_ascii_digit() => u32::from(a - b'0'),
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => u32::from(a - b'0') * 10 + u32::from(b - b'0'),
        _ => return None,
    };
    (min..=max).contains(&value).then_some(value)
}

/// `%d`, which also accepts a space before a single digit.
fn strptime_day(token: &str) -> Option<u32> {
    let token = match token.strip_prefix(' ') {
        Some(digit) if digit.len() == 1 => digit,
        Some(_) => return None,
        None => token,
    };
    strptime_number(token, 1, 31)
}

/// `%Y-` then `%m-`: four digits, a dash, the month, a dash; returns what follows.
fn strptime_year_month(value: &str) -> Option<(u32, u32, &str)> {
    let (year, rest) = (value.get(..4)?, value.get(4..)?.strip_prefix('-')?);
    if !is_digits(year) {
        return None;
    }
    let (month, rest) = rest.split_once('-')?;
    Some((year.parse().ok()?, strptime_number(month, 1, 12)?, rest))
}

/// agate's `Date` with `date_format='%Y-%m-%d'`.
fn strptime_date(value: &str) -> Option<NaiveDate> {
    let (year, month, day) = strptime_year_month(value)?;
    calendar_date(year, month, strptime_day(day)?)
}

/// agate's `DateTime` with `datetime_format='%Y-%m-%d %H:%M:%S'` (the space matches any run of
/// whitespace).
fn strptime_datetime(value: &str) -> Option<NaiveDateTime> {
    let (year, month, rest) = strptime_year_month(value)?;
    let day_length = if rest.starts_with(' ') {
        2
    } else {
        rest.bytes().take_while(u8::is_ascii_digit).count()
    };
    let (day, after_day) = (rest.get(..day_length)?, rest.get(day_length..)?);
    let clock = after_day.trim_start_matches(is_py_space);
    if clock.len() == after_day.len() {
        return None;
    }
    let (hour, rest) = clock.split_once(':')?;
    let (minute, second) = rest.split_once(':')?;
    calendar_date(year, month, strptime_day(day)?)?.and_hms_opt(
        strptime_number(hour, 0, 23)?,
        strptime_number(minute, 0, 59)?,
        strptime_number(second, 0, 59)?,
    )
}

/// Field letters for [`match_shape`]: year, month, day, week, ordinal day, century, hour,
/// minute, second.
const FIELD_LETTERS: &[u8; 9] = b"ymdwochns";

type Fields = [Option<u32>; 9];

/// Matches `text` against `shape`, where a lowercase letter from [`FIELD_LETTERS`] is one ASCII
/// digit of that field and any other byte must appear as is.
fn match_shape(text: &str, shape: &str) -> Option<Fields> {
    if text.len() != shape.len() {
        return None;
    }
    let mut fields: Fields = [None; 9];
    for (byte, letter) in text.bytes().zip(shape.bytes()) {
        match FIELD_LETTERS.iter().position(|&l| l == letter) {
            Some(slot) if byte.is_ascii_digit() => {
                let field = fields.get_mut(slot)?;
                *field = Some(field.unwrap_or(0) * 10 + u32::from(byte - b'0'));
            }
            Some(_) => return None,
            None if byte != letter => return None,
            None => {}
        }
    }
    Some(fields)
}

/// isodate's date forms with four-digit years, in its order.
const ISO_DATE_SHAPES: [&str; 12] = [
    "yyyy-mm-dd",
    "yyyymmdd",
    "yyyy-Www-d",
    "yyyyWwwd",
    "yyyy-ooo",
    "yyyyooo",
    "yyyy-Www",
    "yyyyWww",
    "yyyy-mm",
    "yyyymm",
    "yyyy",
    "cc",
];

/// isodate's `parse_date`, including its leniencies (month `00` is January; week and ordinal
/// days are not range-checked but counted on from January 1st).
fn iso_date(text: &str) -> Option<NaiveDate> {
    let fields = ISO_DATE_SHAPES
        .iter()
        .find_map(|shape| match_shape(text, shape))?;
    let [year, month, day, week, ordinal, century, ..] = fields;
    if let Some(century) = century {
        return calendar_date(century * 100 + 1, 1, 1);
    }
    let year = year?;
    match (week, ordinal) {
        (Some(week), _) => week_date(year, week, day.unwrap_or(1)),
        (None, Some(ordinal)) => days_after_new_year(year, i64::from(ordinal) - 1),
        (None, None) => calendar_date(year, month.filter(|&m| m != 0).unwrap_or(1), day.unwrap_or(1)),
    }
}

fn week_date(year: u32, week: u32, weekday: u32) -> Option<NaiveDate> {
    let new_year = calendar_date(year, 1, 1)?;
    let weeks = i64::from(week) - i64::from(new_year.iso_week().week() == 1);
    let weekday_shift = i64::from(weekday) - i64::from(new_year.weekday().number_from_monday());
    days_after_new_year(year, weeks * 7 + weekday_shift)
}

fn days_after_new_year(year: u32, days: i64) -> Option<NaiveDate> {
    calendar_date(year, 1, 1)?
        .checked_add_signed(TimeDelta::try_days(days)?)
        .filter(in_python_range)
}

/// isodate's time forms, in its order; the fraction belongs to the last field present.
const ISO_CLOCK_SHAPES: [&str; 5] = ["hh:nn:ss", "hhnnss", "hh:nn", "hhnn", "hh"];

/// A time of day and an optional UTC offset in minutes.
struct Clock {
    hour: u32,
    minute: u32,
    second: u32,
    micro: u32,
    offset: Option<i64>,
}

/// isodate's `parse_datetime`: exactly one `T` between an ISO date and an ISO time. A value
/// with an offset is converted to UTC.
fn iso_datetime(value: &str) -> Option<NaiveDateTime> {
    let (date, time) = value.split_once('T')?;
    if time.contains('T') {
        return None;
    }
    let (date, clock) = (iso_date(date)?, iso_clock(time)?);
    let local = date.and_hms_micro_opt(clock.hour, clock.minute, clock.second, clock.micro)?;
    match clock.offset {
        None => Some(local),
        Some(minutes) => local.checked_sub_signed(TimeDelta::try_minutes(minutes)?),
    }
}

fn iso_clock(text: &str) -> Option<Clock> {
    let zone_at = text.find(['Z', '+', '-']).unwrap_or(text.len());
    let (clock, zone) = text.split_at(zone_at);
    let offset = if zone.is_empty() {
        None
    } else {
        Some(iso_offset(zone)?)
    };
    let (main, fraction) = match clock.find([',', '.']) {
        Some(index) => (&clock[..index], &clock[index + 1..]),
        None => (clock, ""),
    };
    if main.len() != clock.len() && (fraction.is_empty() || !is_digits(fraction)) {
        return None;
    }
    let fields = ISO_CLOCK_SHAPES
        .iter()
        .find_map(|shape| match_shape(main, shape))?;
    let [.., hour, minute, second] = fields;
    let (minute, second, micro) = match (minute, second) {
        (Some(minute), Some(second)) => (minute, second, truncated_micros(fraction)),
        (Some(minute), None) => minute_fraction(minute, fraction),
        _ => hour_fraction(fraction)?,
    };
    let valid = minute < 60 && second < 60 && micro < 1_000_000;
    let hour = hour.filter(|&h| h < 24 && valid)?;
    Some(Clock {
        hour,
        minute,
        second,
        micro,
        offset,
    })
}

/// `Z`, `±hh`, `±hhmm` or `±hh:mm`, in minutes east of UTC (less than a day, as Python needs).
fn iso_offset(zone: &str) -> Option<i64> {
    if zone == "Z" {
        return Some(0);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let fields = ["hh", "hhnn", "hh:nn"]
        .iter()
        .find_map(|shape| match_shape(rest, shape))?;
    let [.., Some(hours), minutes, _] = fields else {
        return None;
    };
    let total = i64::from(hours) * 60 + i64::from(minutes.unwrap_or(0));
    (total < 24 * 60).then_some(sign * total)
}

/// A seconds fraction, truncated to microseconds (isodate quantizes with `ROUND_FLOOR`).
fn truncated_micros(fraction: &str) -> u32 {
    fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(6)
        .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

/// The longest fraction of an hour or minute read exactly.
const MAX_FRACTION_DIGITS: usize = 24;

/// `0.<fraction> × factor` as a quotient and remainder over `10^digits`.
fn scaled_fraction(fraction: &str, factor: u128) -> (u128, u128, u128) {
    let digits = fraction.get(..MAX_FRACTION_DIGITS).unwrap_or(fraction);
    let numerator = digits
        .bytes()
        .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'));
    let denominator = 10u128.pow(u32::try_from(digits.len()).unwrap_or(0));
    let total = numerator * factor;
    (total / denominator, total % denominator, denominator)
}

/// `hh:mm.mmm`: the fraction of a minute becomes seconds, floored to microseconds.
fn minute_fraction(minute: u32, fraction: &str) -> (u32, u32, u32) {
    let (micros, _, _) = scaled_fraction(fraction, 60_000_000);
    let second = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
    let micro = u32::try_from(micros % 1_000_000).unwrap_or(u32::MAX);
    (minute, second, micro)
}

/// `hh.hhh`: minutes and seconds by division, microseconds rounded half-even; a microsecond
/// rounded up to 1,000,000 is out of range, as in Python.
fn hour_fraction(fraction: &str) -> Option<(u32, u32, u32)> {
    let (micros, remainder, denominator) = scaled_fraction(fraction, 3_600_000_000);
    let half = remainder * 2;
    let round_up = half > denominator || (half == denominator && micros % 2 == 1);
    let minute = u32::try_from(micros / 60_000_000).ok()?;
    let second = u32::try_from(micros / 1_000_000 % 60).ok()?;
    let micro = u32::try_from(micros % 1_000_000 + u128::from(round_up)).ok()?;
    Some((minute, second, micro))
}

// ---------------------------------------------------------------------------------------------
// Encoding: the COPY payload.

fn encode(table: &Table, kinds: &[Kind]) -> Vec<u8> {
    let mut out = String::with_capacity(table.fields.len() * 8 + table.rows.len());
    for row in &table.rows {
        let fields = table.row(row);
        for (index, kind) in kinds.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            match fields.get(index) {
                Some(field) => encode_value(&mut out, *kind, &field.value),
                None => out.push_str(COPY_NULL),
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn encode_value(out: &mut String, kind: Kind, raw: &str) {
    let value = py_strip(raw);
    let written = match kind {
        Kind::Boolean => write_bool(out, raw),
        _ if is_null_word(value) => {
            out.push_str(COPY_NULL);
            true
        }
        Kind::Text => false,
        Kind::Integer => write_integer(out, value),
        Kind::Float => write_float(out, value),
        Kind::Date => strptime_date(value).map(|date| write_date(out, date)).is_some(),
        Kind::DateTime => strptime_datetime(value)
            .map(|t| write_timestamp(out, t))
            .is_some(),
        Kind::IsoDateTime => iso_datetime(value).map(|t| write_timestamp(out, t)).is_some(),
    };
    if !written {
        write_text(out, raw);
    }
}

fn write_bool(out: &mut String, raw: &str) -> bool {
    match parse_bool(raw) {
        Some(Some(value)) => out.push_str(if value { "true" } else { "false" }),
        Some(None) => out.push_str(COPY_NULL),
        None => return false,
    }
    true
}

fn write_integer(out: &mut String, value: &str) -> bool {
    let Some(Number::Finite(finite)) = parse_number(value) else {
        return false;
    };
    let Some(integer) = finite.to_i64() else {
        return false;
    };
    out.push_str(&integer.to_string());
    true
}

fn write_float(out: &mut String, value: &str) -> bool {
    match parse_number(value) {
        Some(Number::Finite(finite)) => finite.write_decimal(out),
        Some(Number::NonFinite) => out.push_str("NaN"),
        None => return false,
    }
    true
}

fn write_date(out: &mut String, date: NaiveDate) {
    out.push_str(&format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    ));
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][ BC]`; years before 1 only arise from a UTC offset.
fn write_timestamp(out: &mut String, timestamp: NaiveDateTime) {
    let (year, era) = match timestamp.year() {
        year if year < 1 => (1 - year, " BC"),
        year => (year, ""),
    };
    out.push_str(&format!(
        "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        timestamp.month(),
        timestamp.day(),
        timestamp.hour(),
        timestamp.minute(),
        timestamp.second()
    ));
    let micro = timestamp.nanosecond() / 1000;
    if micro != 0 {
        out.push_str(&format!(".{micro:06}"));
    }
    out.push_str(era);
}

/// A text value, quoted when it holds a comma, quote, line break or backslash (so neither
/// [`COPY_NULL`] nor the `\.` end marker can be misread).
fn write_text(out: &mut String, raw: &str) {
    if !raw.contains([',', '"', '\n', '\r', '\\']) {
        out.push_str(raw);
        return;
    }
    out.push('"');
    out.push_str(&raw.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(csv: &[u8], delimiter: u8, overrides: &[(&str, &str)]) -> SeedTable {
        let column_types: IndexMap<String, String> = overrides
            .iter()
            .map(|(name, data_type)| (name.to_string(), data_type.to_string()))
            .collect();
        let options = SeedOptions {
            delimiter,
            column_types: &column_types,
        };
        read_seed(csv, &options).expect("the seed should load")
    }

    fn load(csv: &str) -> SeedTable {
        load_with(csv.as_bytes(), b',', &[])
    }

    fn error_for(csv: &[u8]) -> SeedError {
        let column_types = IndexMap::new();
        let options = SeedOptions {
            delimiter: b',',
            column_types: &column_types,
        };
        match read_seed(csv, &options) {
            Ok(table) => panic!("expected an error, got {table:?}"),
            Err(error) => error,
        }
    }

    fn types(table: &SeedTable) -> Vec<&str> {
        table.columns.iter().map(|c| c.data_type.as_str()).collect()
    }

    fn copy(table: &SeedTable) -> &str {
        std::str::from_utf8(&table.copy_data).expect("COPY data is UTF-8")
    }

    /// The single column's type and COPY lines.
    fn column(csv: &str) -> (String, Vec<String>) {
        let table = load(csv);
        let lines = copy(&table).lines().map(str::to_string).collect();
        (types(&table).join(","), lines)
    }

    #[test]
    fn integers_are_integer() {
        let (data_type, lines) = column("n\n1\n-20\n 300 \n+4\n");
        assert_eq!(data_type, "integer");
        assert_eq!(lines, ["1", "-20", "300", "4"]);
    }

    #[test]
    fn decimals_are_float8_written_without_trailing_noise() {
        let (data_type, lines) = column("x\n1.5\n2\n-2.50\n12345e-2\n0.001\n");
        assert_eq!(data_type, "float8");
        assert_eq!(lines, ["1.5", "2", "-2.5", "123.45", "0.001"]);
    }

    #[test]
    fn one_point_zero_is_an_integer_because_agate_normalises() {
        assert_eq!(column("x\n1.0\n2.000\n").0, "integer");
        assert_eq!(column("x\n1.0\n2.000\n").1, ["1", "2"]);
        assert_eq!(column("x\n1.50\n").0, "float8");
    }

    #[test]
    fn exponents_count_as_agate_counts_them() {
        assert_eq!(column("x\n1e3\n2E+1\n").1, ["1000", "20"]);
        assert_eq!(column("x\n1e3\n").0, "integer");
        assert_eq!(column("x\n1e-3\n").0, "float8");
        assert_eq!(column("x\n1e-40\n").1, ["1e-40"]);
        assert_eq!(column("x\n1.5e3\n").0, "integer");
    }

    #[test]
    fn currency_group_separators_and_percent_are_stripped() {
        let (data_type, lines) = column("p\n$5\n\"-$1,000.50\"\n€3\n£2\n50%\n1_000\n\"$-7\"\n");
        assert_eq!(data_type, "float8");
        assert_eq!(lines, ["5", "-1000.5", "3", "2", "50", "1000", "-7"]);
    }

    #[test]
    fn currency_symbols_are_stripped_in_agates_order() {
        assert_eq!(column("p\n$€5\n").0, "integer");
        assert_eq!(column("p\n€$5\n").0, "text");
    }

    #[test]
    fn things_that_are_not_numbers_make_text() {
        for value in ["0x10", "1.2.3", "1 000", "snan", "%", "$", "abc"] {
            assert_eq!(column(&format!("x\n{value}\n")).0, "text", "{value}");
        }
    }

    #[test]
    fn minus_zero_loads_as_zero() {
        assert_eq!(column("x\n-0\n").1, ["0"]);
        assert_eq!(column("x\n-0.0\n1.5\n").1, ["0", "1.5"]);
    }

    #[test]
    fn nan_and_infinity_load_as_nan_in_a_float8_column() {
        let (data_type, lines) = column("x\n1.5\nNaN\n-inf\nInfinity\n");
        assert_eq!(data_type, "float8");
        assert_eq!(lines, ["1.5", "NaN", "NaN", "NaN"]);
    }

    #[test]
    fn values_are_rounded_to_28_significant_digits_like_python_decimal() {
        assert_eq!(column("x\n1.00000000000000000000000000001\n").0, "integer");
        assert_eq!(column("x\n1.0000000000000000000000001\n").0, "float8");
    }

    #[test]
    fn integers_beyond_i32_are_bigint() {
        let (data_type, lines) = column("x\n2147483648\n1\n");
        assert_eq!(data_type, "bigint");
        assert_eq!(lines, ["2147483648", "1"]);
        assert_eq!(column("x\n-2147483648\n").0, "integer");
    }

    #[test]
    fn an_integer_beyond_bigint_is_an_error_at_its_line() {
        let error = error_for(b"id,x\n1,1\n2,\"99999999999999999999\"\n");
        assert_eq!((error.line, error.column), (3, 3));
        assert!(error.message.contains("`x`"), "{}", error.message);
        assert!(error.message.contains("`99999999999999999999`"));
        assert!(error.hint.is_some_and(|hint| hint.contains("column_types")));
    }

    #[test]
    fn nan_in_an_integer_column_is_an_error() {
        let error = error_for(b"x\n1\nNaN\n");
        assert_eq!(error.line, 3);
        assert!(error.message.contains("`NaN`"), "{}", error.message);
    }

    #[test]
    fn dates_follow_strptime() {
        let (data_type, lines) = column("d\n2024-01-02\n2024-1-2\n2024-01- 5\n 2024-12-31 \n");
        assert_eq!(data_type, "date");
        assert_eq!(lines, ["2024-01-02", "2024-01-02", "2024-01-05", "2024-12-31"]);
        for value in ["2024-02-30", "0000-01-01", "2024-13-01", "2024-01-32", "24-01-01"] {
            assert_eq!(column(&format!("d\n{value}\n")).0, "text", "{value}");
        }
    }

    #[test]
    fn datetimes_follow_strptime_without_fractions() {
        let (data_type, lines) = column("t\n2024-01-02 03:04:05\n2024-01-02\t3:4:5\n");
        assert_eq!(data_type, "timestamp without time zone");
        assert_eq!(lines, ["2024-01-02 03:04:05", "2024-01-02 03:04:05"]);
        assert_eq!(column("t\n2024-01-02 03:04:05.123\n").0, "text");
        assert_eq!(column("t\n2024-01-02 24:00:00\n").0, "text");
    }

    #[test]
    fn iso_datetimes_are_timestamps_and_offsets_become_utc() {
        let csv = "t\n2024-01-02T03:04:05\n2024-01-02T03:04:05.1234567\n\
                   2024-01-02T03:04:05Z\n2024-01-02T03:04:05+02:00\n2024-01-02T03:04-0130\n";
        let (data_type, lines) = column(csv);
        assert_eq!(data_type, "timestamp without time zone");
        assert_eq!(
            lines,
            [
                "2024-01-02 03:04:05",
                "2024-01-02 03:04:05.123456",
                "2024-01-02 03:04:05",
                "2024-01-02 01:04:05",
                "2024-01-02 04:34:00",
            ]
        );
    }

    #[test]
    fn iso_datetimes_accept_isodates_other_forms() {
        let csv = "t\n20240102T030405\n2024-W01-1T10\n2024-032T10.5\n\"2024-02T10:30,5\"\n\
                   2024T1030\n20T00\n2024-00-05T00\n";
        let (_, lines) = column(csv);
        assert_eq!(
            lines,
            [
                "2024-01-02 03:04:05",
                "2024-01-01 10:00:00",
                "2024-02-01 10:30:00",
                "2024-02-01 10:30:30",
                "2024-01-01 10:30:00",
                "2001-01-01 00:00:00",
                "2024-01-05 00:00:00",
            ]
        );
    }

    #[test]
    fn fractional_hours_and_minutes_are_divided_like_isodate() {
        assert_eq!(
            column("t\n2024-01-02T10.123456789\n").1,
            ["2024-01-02 10:07:24.444440"]
        );
        assert_eq!(
            column("t\n2024-01-02T10:59.9999999999\n").1,
            ["2024-01-02 10:59:59.999999"]
        );
        assert_eq!(column("t\n2024-01-02T10.99999999999999\n").0, "text");
    }

    #[test]
    fn iso_times_out_of_range_are_text() {
        for value in [
            "2024-01-02T24:00",
            "2024-01-02T23:60",
            "2024-01-02T10:00:60",
            "2024-01-02T",
        ] {
            assert_eq!(column(&format!("t\n{value}\n")).0, "text", "{value}");
        }
        assert_eq!(column("t\n2024-01-02t03:04\n").0, "text");
        assert_eq!(column("t\n2024-01-02T03:04+24:00\n").0, "text");
    }

    #[test]
    fn an_offset_before_year_one_is_written_bc() {
        assert_eq!(
            column("t\n0001-01-01T00:30+01:00\n").1,
            ["0001-12-31 23:30:00 BC"]
        );
    }

    #[test]
    fn dates_and_datetimes_of_different_formats_make_text() {
        assert_eq!(column("t\n2024-01-02\n2024-01-02T00:00\n").0, "text");
        assert_eq!(column("t\n2024-01-02 00:00:00\n2024-01-02T00:00\n").0, "text");
    }

    #[test]
    fn booleans_ignore_case_and_commas() {
        let (data_type, lines) = column("b\ntrue\nFALSE\n True \n\"t,rue\"\n\",\"\n");
        assert_eq!(data_type, "boolean");
        assert_eq!(lines, ["true", "false", "true", "true", "\\N"]);
    }

    #[test]
    fn one_and_zero_are_numbers_and_yes_no_is_text() {
        assert_eq!(column("b\n1\n0\n").0, "integer");
        assert_eq!(column("b\nyes\nno\n").0, "text");
        assert_eq!(column("b\ntrue\n1\n").0, "text");
    }

    #[test]
    fn mixed_columns_fall_to_text_and_keep_raw_values() {
        let (data_type, lines) = column("m\n1\n2024-01-02\ntrue\n  padded  \n");
        assert_eq!(data_type, "text");
        assert_eq!(lines, ["1", "2024-01-02", "true", "  padded  "]);
    }

    #[test]
    fn null_words_are_null_in_every_type() {
        let table = load(
            "i,f,d,t,b,s\nnull,NULL, Null ,,null,null\n1,1.5,2024-01-02,2024-01-02T00:00,true,x\n ,\"\",nUlL,   ,,  \n",
        );
        assert_eq!(
            types(&table),
            [
                "integer",
                "float8",
                "date",
                "timestamp without time zone",
                "boolean",
                "text"
            ]
        );
        let lines: Vec<&str> = copy(&table).lines().collect();
        assert_eq!(lines[0], "\\N,\\N,\\N,\\N,\\N,\\N");
        assert_eq!(lines[2], "\\N,\\N,\\N,\\N,\\N,\\N");
    }

    #[test]
    fn an_all_null_column_and_a_header_only_file_are_integer() {
        assert_eq!(column("x\n\nnull\n").0, "integer");
        let table = load("a,b\n");
        assert_eq!(types(&table), ["integer", "integer"]);
        assert_eq!((table.row_count, table.copy_data.len()), (0, 0));
    }

    #[test]
    fn short_rows_and_blank_lines_are_padded_with_nulls() {
        let table = load("a,b,c\n1\n\n2,3\n");
        assert_eq!(table.row_count, 3);
        assert_eq!(copy(&table), "1,\\N,\\N\n\\N,\\N,\\N\n2,3,\\N\n");
    }

    #[test]
    fn text_equal_to_the_null_marker_is_quoted() {
        let (data_type, lines) = column("s\n\\N\n\\.\nplain\nback\\slash\n");
        assert_eq!(data_type, "text");
        assert_eq!(lines, ["\"\\N\"", "\"\\.\"", "plain", "\"back\\slash\""]);
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_newlines() {
        let table = load("a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",\"ab\"cd\n");
        assert_eq!(table.row_count, 2);
        assert_eq!(
            copy(&table),
            "\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",abcd\n"
        );
    }

    #[test]
    fn a_bom_is_skipped_but_counts_in_error_columns() {
        let table = load_with(b"\xEF\xBB\xBFid,name\n1,a\n", b',', &[]);
        assert_eq!(table.columns[0].name, "id");
        let error = error_for(b"\xEF\xBB\xBFid,id\n1,2,3\n");
        assert_eq!((error.line, error.column), (1, 7));
        let error = error_for(b"\xEF\xBB\xBFa,b\n1,2,3\n");
        assert_eq!((error.line, error.column), (2, 5));
    }

    #[test]
    fn crlf_and_lone_cr_are_line_breaks_even_inside_quotes() {
        let table = load("a,b\r\n1,\"x\r\ny\"\r\n2,z");
        assert_eq!(types(&table), ["integer", "text"]);
        assert_eq!(copy(&table), "1,\"x\ny\"\n2,z\n");
        assert_eq!(load("a\r1\r2\r").row_count, 2);
    }

    #[test]
    fn a_missing_final_newline_and_a_trailing_delimiter_are_handled() {
        assert_eq!(copy(&load("a,b\n1,2")), "1,2\n");
        assert_eq!(copy(&load("a,b\n1,\n")), "1,\\N\n");
    }

    #[test]
    fn another_delimiter_is_read_and_commas_are_written() {
        let table = load_with(b"a;b;c\n1.5;x,y;1,5\n", b';', &[]);
        assert_eq!(types(&table), ["float8", "text", "integer"]);
        assert_eq!(copy(&table), "1.5,\"x,y\",15\n");
        let table = load_with(b"a\tb\n1\t2\n", b'\t', &[]);
        assert_eq!(copy(&table), "1,2\n");
    }

    #[test]
    fn column_types_override_inference_and_pass_values_verbatim() {
        let table = load_with(
            b"zip,amount,n\n 01234,$5,x\nnull,,y\n",
            b',',
            &[("zip", "varchar(10)"), ("amount", "numeric(10,2)")],
        );
        assert_eq!(types(&table), ["varchar(10)", "numeric(10,2)", "text"]);
        assert_eq!(copy(&table), " 01234,$5,x\n\\N,\\N,y\n");
    }

    #[test]
    fn column_names_are_kept_exactly() {
        let table = load("\" a \",\"b,c\",\"d\"\"e\"\n1,2,3\n");
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, [" a ", "b,c", "d\"e"]);
    }

    #[test]
    fn a_long_row_is_an_error_at_its_line() {
        let error = error_for(b"a,b,c\n\"x\ny\",1,2\n1,2,3,4\n");
        assert_eq!(error.message, "row 2 has 4 fields but the header has 3");
        assert_eq!((error.line, error.column), (4, 7));
    }

    #[test]
    fn invalid_utf8_is_an_error_at_its_line() {
        let error = error_for(b"a\r\nok\r\nab\xFFc\n");
        assert_eq!((error.line, error.column), (3, 3));
        assert!(error.message.contains("UTF-8"));
    }

    #[test]
    fn duplicate_and_empty_column_names_are_errors() {
        let error = error_for(b"id,name,id\n1,2,3\n");
        assert_eq!((error.line, error.column), (1, 9));
        assert!(error.message.contains("`id`"));
        let error = error_for(b"id,,x\n1,2,3\n");
        assert_eq!((error.line, error.column), (1, 4));
        assert!(error.message.contains("empty name"));
    }

    #[test]
    fn an_unterminated_quote_is_an_error_at_the_opening_quote() {
        let error = error_for(b"a,b\n1,2\n3,\"abc\n4,5\n");
        assert_eq!((error.line, error.column), (3, 3));
        assert!(error.message.contains("never closed"));
    }

    #[test]
    fn empty_files_headers_nul_bytes_and_bad_delimiters_are_errors() {
        assert!(error_for(b"").message.contains("empty"));
        assert!(error_for(b"\xEF\xBB\xBF").message.contains("empty"));
        assert!(error_for(b"\n1\n").message.contains("header row is empty"));
        let error = error_for(b"a\nx\0y\n");
        assert_eq!((error.line, error.column), (2, 2));
        let column_types = IndexMap::new();
        let options = SeedOptions {
            delimiter: b'"',
            column_types: &column_types,
        };
        assert!(read_seed(b"a\n", &options).is_err());
    }

    #[test]
    fn unicode_whitespace_is_stripped_from_typed_values() {
        assert_eq!(column("x\n\u{a0}12\u{2003}\n").1, ["12"]);
        assert_eq!(column("x\n\u{1c}true\u{1f}\n").0, "boolean");
    }

    #[test]
    fn a_wide_seed_is_read_in_one_pass() {
        let mut csv = String::from("id,amount,day,flag,name\n");
        for i in 0..20_000 {
            csv.push_str(&format!("{i},{i}.5,2024-01-{:02},true,\"n, {i}\"\n", i % 28 + 1));
        }
        let table = load(&csv);
        assert_eq!(table.row_count, 20_000);
        assert_eq!(types(&table), ["integer", "float8", "date", "boolean", "text"]);
        assert!(copy(&table).ends_with("19999,19999.5,2024-01-08,true,\"n, 19999\"\n"));
    }
}
