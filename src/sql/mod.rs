//! Understanding compiled SQL with sqlparser (PostgreSQL dialect). Pure: it reads SQL text and
//! answers questions about it; it must not render Jinja or reach a database.

pub mod lineage;
pub mod parse;
