//! A report's columns: one table per row type, naming each column and
//! saying what it holds. The CSV header, the JSONL keys and the README's
//! column tables all come from these tables.

/// One column of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name: the CSV header cell and the JSONL key.
    pub name: &'static str,
    /// What it holds, for the README (markdown).
    pub meaning: &'static str,
}

/// The table of `columns` as the README shows it.
pub fn markdown_table(columns: &[Column]) -> String {
    let mut out = String::from("| column | meaning |\n|---|---|\n");
    for c in columns {
        out.push_str(&format!("| `{}` | {} |\n", c.name, c.meaning));
    }
    out
}

/// Defines a report row struct and its column table from one list, so the
/// fields (serialized in declaration order, CSV and JSONL alike) and the
/// columns cannot drift apart:
///
/// ```text
/// report_row! {
///     /// doc
///     pub struct SessionRow, SESSION_COLUMNS {
///         capture: String => "the capture file",
///         ...
///     }
/// }
/// ```
macro_rules! report_row {
    (
        $(#[$meta:meta])*
        pub struct $row:ident, $table:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty => $meaning:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        pub struct $row {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        #[doc = concat!("The columns of [`", stringify!($row), "`], in order.")]
        pub const $table: &[$crate::report::columns::Column] = &[
            $( $crate::report::columns::Column { name: stringify!($field), meaning: $meaning }, )*
        ];
    };
}
pub(crate) use report_row;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_one_row_per_column() {
        let cols = [Column { name: "a", meaning: "first" }, Column { name: "b", meaning: "second" }];
        assert_eq!(markdown_table(&cols), "| column | meaning |\n|---|---|\n| `a` | first |\n| `b` | second |\n");
    }
}
