//! The `tmk docs` site: a self-contained static site built from the artifacts only (manifest,
//! catalog, run results) and the column lineage. `data` turns them into one JSON document,
//! `layout` places the lineage graph, the page itself (HTML, CSS, JS written by hand, no
//! framework, no CDN) is embedded in the binary and written next to the data, so the site
//! works from file:// offline; `serve` serves the directory on 127.0.0.1. It must not read the
//! project, compile, or reach the database.

pub mod data;
pub mod layout;
pub mod serve;

use std::path::Path;

use serde_json::Value;

use crate::error::Result;

/// The page's files, embedded in the binary: (name, content).
const ASSETS: [(&str, &str); 4] = [
    ("index.html", include_str!("assets/index.html")),
    ("tmk.css", include_str!("assets/tmk.css")),
    ("select.js", include_str!("assets/select.js")),
    ("tmk.js", include_str!("assets/tmk.js")),
];

/// Write the site into `dir`: the page's assets and `data.js` (the data document as a
/// script, which loads from file:// where fetching JSON would not).
pub fn write_site(dir: &Path, data: &Value) -> Result<()> {
    for (name, content) in ASSETS {
        crate::fs::write_if_changed(&dir.join(name), content.as_bytes())?;
    }
    let mut script = b"window.TMK_DATA = ".to_vec();
    // A `Value` always serialises; the fallback only keeps the page loadable.
    if serde_json::to_writer(&mut script, data).is_err() {
        script.extend_from_slice(b"null");
    }
    script.extend_from_slice(b";\n");
    crate::fs::write(&dir.join("data.js"), script)
}
