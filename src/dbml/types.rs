//! Column types as DBML writes them (`varchar(255)`, `decimal(10,2)`, `int[]`, `core.status`)
//! and their canonical PostgreSQL spelling, the one `format_type` reports for a built table
//! (`integer`, `character varying(255)`, `numeric(10,2)`, `timestamp without time zone`), so a
//! model's built columns can be compared with its DBML table. It must not know about dialects'
//! DDL beyond type names.

use std::fmt;

/// A column type as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataType {
    /// The schema, for a qualified (enum) type.
    pub schema: Option<String>,
    /// The name, possibly several words (`double precision`).
    pub name: String,
    /// The arguments as written without blanks (`10,2`), when any.
    pub args: Option<String>,
    /// `[]`: an array.
    pub array: bool,
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        f.write_str(&self.name)?;
        if let Some(args) = &self.args {
            write!(f, "({args})")?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

impl DataType {
    /// The type as PostgreSQL's `format_type` spells it, for comparison with a built table.
    /// Enum types (qualified or not) are left as their bare name, as `format_type` shows them
    /// when their schema is on the search path — callers compare those by name.
    pub fn postgres_canonical(&self) -> String {
        let lower = self.name.to_ascii_lowercase();
        let base = match lower.as_str() {
            "int" | "integer" | "int4" | "serial" | "serial4" => "integer",
            "bigint" | "int8" | "bigserial" | "serial8" => "bigint",
            "smallint" | "int2" | "smallserial" | "serial2" => "smallint",
            "varchar" | "character varying" => "character varying",
            "char" | "character" | "bpchar" => "character",
            "decimal" | "numeric" => "numeric",
            "bool" | "boolean" => "boolean",
            "float" | "float8" | "double" | "double precision" => "double precision",
            "float4" | "real" => "real",
            "timestamp" | "timestamp without time zone" | "datetime" => "timestamp without time zone",
            "timestamptz" | "timestamp with time zone" => "timestamp with time zone",
            "time" | "time without time zone" => "time without time zone",
            "timetz" | "time with time zone" => "time with time zone",
            "varbit" | "bit varying" => "bit varying",
            other => other,
        };
        let mut out = base.to_string();
        if let Some(args) = &self.args {
            out = match base {
                "timestamp without time zone" => format!("timestamp({args}) without time zone"),
                "timestamp with time zone" => format!("timestamp({args}) with time zone"),
                "time without time zone" => format!("time({args}) without time zone"),
                "time with time zone" => format!("time({args}) with time zone"),
                _ => format!("{base}({args})"),
            };
        } else if base == "character" {
            out = "character(1)".to_string();
        }
        if self.array {
            out.push_str("[]");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::DataType;

    fn data_type(name: &str, args: Option<&str>) -> DataType {
        DataType {
            schema: None,
            name: name.to_string(),
            args: args.map(str::to_string),
            array: false,
        }
    }

    #[test]
    fn canonical_names_match_format_type() {
        assert_eq!(data_type("int", None).postgres_canonical(), "integer");
        assert_eq!(
            data_type("varchar", Some("255")).postgres_canonical(),
            "character varying(255)"
        );
        assert_eq!(
            data_type("decimal", Some("12,2")).postgres_canonical(),
            "numeric(12,2)"
        );
        assert_eq!(
            data_type("timestamp", None).postgres_canonical(),
            "timestamp without time zone"
        );
        assert_eq!(
            data_type("timestamptz", Some("3")).postgres_canonical(),
            "timestamp(3) with time zone"
        );
        assert_eq!(data_type("text", None).postgres_canonical(), "text");
    }
}
