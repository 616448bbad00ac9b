//! The README's column tables are the code's: each table between
//! `<!-- columns:NAME -->` and `<!-- /columns:NAME -->` must equal the
//! markdown made from the report's column table in `src/report/`. After
//! changing a column, rewrite them with
//! `FTPCAP_BLESS=1 cargo test --test readme`.

use ftpcap::report::columns::{markdown_table, Column};
use ftpcap::report::transfers::TRANSFER_COLUMNS;
use ftpcap::report::{incident_columns, SESSION_COLUMNS};
use std::path::PathBuf;

fn tables() -> Vec<(&'static str, Vec<Column>)> {
    vec![
        ("incidents", incident_columns(true)),
        ("transfers", TRANSFER_COLUMNS.to_vec()),
        ("sessions", SESSION_COLUMNS.to_vec()),
    ]
}

/// The text between the markers of `name`, and where it is.
fn section(readme: &str, name: &str) -> Option<(usize, usize)> {
    let open = format!("<!-- columns:{name} -->\n");
    let close = format!("<!-- /columns:{name} -->");
    let start = readme.find(&open)? + open.len();
    let end = start + readme[start..].find(&close)?;
    Some((start, end))
}

#[test]
fn column_tables_match_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let mut readme = std::fs::read_to_string(&path).expect("README.md");
    let bless = std::env::var_os("FTPCAP_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, columns) in tables() {
        let (start, end) = section(&readme, name).unwrap_or_else(|| panic!("README has no columns:{name} section"));
        let want = markdown_table(&columns);
        if readme[start..end] != want {
            stale.push(name);
            readme.replace_range(start..end, &want);
        }
    }
    if bless {
        std::fs::write(&path, readme).expect("write README.md");
    } else {
        assert!(
            stale.is_empty(),
            "README column tables out of date: {stale:?} (FTPCAP_BLESS=1 cargo test --test readme)"
        );
    }
}
