//! What the extract readers share: a source table's columns with the PostgreSQL types they load
//! as, and rows encoded in PostgreSQL's COPY text format, sent in chunks of about 1 MiB through
//! a bounded channel — the reader waits while the loader is behind, so memory stays flat
//! however many rows move. It must not connect anywhere: `mysql` and `postgres` read and load.

use tokio::sync::mpsc;

use crate::error::Error;

/// A chunk is sent once it holds this many bytes.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks waiting for the loader at most (the reader blocks beyond).
const CHUNKS_IN_FLIGHT: usize = 4;

/// How a source value is written into COPY text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Text as it comes, escaped.
    Text,
    /// A date or time: MySQL's zero dates (`0000-00-00`) load as NULL.
    Temporal,
    /// Bytes, written as `bytea` hex.
    Binary,
}

/// A column of a source table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceColumn {
    /// Its name.
    pub name: String,
    /// The PostgreSQL type it loads as.
    pub pg_type: String,
    /// How its values are encoded.
    pub kind: ValueKind,
}

/// A source table as its catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTable {
    /// Columns in order.
    pub columns: Vec<SourceColumn>,
    /// The primary key's columns (empty when it has none).
    pub primary_key: Vec<String>,
}

/// A chunk of COPY text rows, or the error that ended the reading.
pub type Chunk = Result<Vec<u8>, Error>;

/// The bounded channel between a reader and the loader.
pub fn channel() -> (mpsc::Sender<Chunk>, mpsc::Receiver<Chunk>) {
    mpsc::channel(CHUNKS_IN_FLIGHT)
}

/// COPY text's NULL.
pub const NULL: &[u8] = b"\\N";

/// Append one value (None is NULL) of `kind` to a COPY text row.
pub fn push_value(buffer: &mut Vec<u8>, kind: ValueKind, value: Option<&[u8]>) {
    let Some(value) = value else {
        buffer.extend_from_slice(NULL);
        return;
    };
    match kind {
        ValueKind::Temporal if value.starts_with(b"0000-00-00") => buffer.extend_from_slice(NULL),
        ValueKind::Binary => {
            // `\\x` is an escaped backslash then `x`: bytea's hex format.
            buffer.extend_from_slice(b"\\\\x");
            for byte in value {
                buffer.push(HEX[usize::from(byte >> 4)]);
                buffer.push(HEX[usize::from(byte & 0xf)]);
            }
        }
        _ => push_text(buffer, value),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append text escaped for COPY: backslash, tab, newline and carriage return.
fn push_text(buffer: &mut Vec<u8>, value: &[u8]) {
    if !value
        .iter()
        .any(|byte| matches!(byte, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buffer.extend_from_slice(value);
        return;
    }
    for &byte in value {
        match byte {
            b'\\' => buffer.extend_from_slice(b"\\\\"),
            b'\t' => buffer.extend_from_slice(b"\\t"),
            b'\n' => buffer.extend_from_slice(b"\\n"),
            b'\r' => buffer.extend_from_slice(b"\\r"),
            other => buffer.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[(ValueKind, Option<&[u8]>)]) -> String {
        let mut buffer = Vec::new();
        for (index, (kind, value)) in values.iter().enumerate() {
            if index > 0 {
                buffer.push(b'\t');
            }
            push_value(&mut buffer, *kind, *value);
        }
        String::from_utf8(buffer).expect("utf-8")
    }

    #[test]
    fn values_are_escaped_for_copy_text() {
        assert_eq!(
            row(&[
                (ValueKind::Text, Some(b"a\tb\nc\\d\re")),
                (ValueKind::Text, None),
                (ValueKind::Temporal, Some(b"0000-00-00 00:00:00")),
                (ValueKind::Temporal, Some(b"2024-01-02")),
                (ValueKind::Binary, Some(&[0x00, 0xff])),
            ]),
            "a\\tb\\nc\\\\d\\re\t\\N\t\\N\t2024-01-02\t\\\\x00ff"
        );
    }
}
