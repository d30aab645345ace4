//! The only place that touches the file system (enforced by clippy.toml): every failure names
//! the path it concerns. It must not interpret file contents.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

fn io_error(action: &str, path: &Path, error: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot {action} `{}`", path.display())).detail(error.to_string())
}

/// Read a UTF-8 text file.
pub fn read_text(path: &Path) -> Result<Arc<str>> {
    #[allow(clippy::disallowed_methods)]
    let bytes = std::fs::read(path).map_err(|error| io_error("read", path, error))?;
    String::from_utf8(bytes).map(Arc::from).map_err(|error| {
        Error::new(ErrorKind::Io, format!("`{}` is not valid UTF-8", path.display())).detail(format!(
            "invalid byte at offset {}",
            error.utf8_error().valid_up_to()
        ))
    })
}

/// Read a file's bytes.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    #[allow(clippy::disallowed_methods)]
    std::fs::read(path).map_err(|error| io_error("read", path, error))
}

/// Write a file, creating its parent directories.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    #[allow(clippy::disallowed_methods)]
    std::fs::write(path, contents).map_err(|error| io_error("write", path, error))
}

/// Write a file unless it already holds exactly `contents` (compiled SQL rarely changes
/// between runs, and writes cost far more than reads). Returns whether it wrote.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<bool> {
    #[allow(clippy::disallowed_methods)]
    match std::fs::read(path) {
        Ok(existing) if existing == contents => Ok(false),
        _ => write(path, contents).map(|()| true),
    }
}

/// Create a directory and its parents.
pub fn create_dir_all(path: &Path) -> Result<()> {
    #[allow(clippy::disallowed_methods)]
    std::fs::create_dir_all(path).map_err(|error| io_error("create directory", path, error))
}

/// Remove a directory tree; a missing directory is fine.
pub fn remove_dir_all(path: &Path) -> Result<bool> {
    #[allow(clippy::disallowed_methods)]
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(io_error("remove", path, error)),
    }
}

/// Whether a path is an existing file.
pub fn is_file(path: &Path) -> bool {
    path.is_file()
}

/// All files under `root` whose extension is one of `extensions`, sorted, with paths relative to
/// `root`'s parent kept absolute. A missing root yields nothing (dbt treats missing dirs as empty).
pub fn files_with_extensions(root: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(root).to_path_buf();
            Error::new(ErrorKind::Io, format!("cannot list `{}`", path.display())).detail(error.to_string())
        })?;
        let is_wanted = entry.file_type().is_file()
            && entry
                .path()
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| extensions.contains(&extension));
        if is_wanted {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// The user's home directory, when known.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}
