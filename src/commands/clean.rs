//! `tmk clean`: remove the project's clean-targets (target/ by default). Paths outside the
//! project are refused, as dbt does. It must not connect to a database or remove anything but
//! whole clean-target directories, and only through `fs`.

use crate::cli::ProjectArgs;
use crate::console::Console;
use crate::error::{Error, ErrorKind, Result};

/// Clean; returns the exit code.
pub fn run(args: &ProjectArgs, console: &Console) -> Result<i32> {
    let project = crate::project::load(&args.project_dir)?;
    let targets = project.file.clean_targets.clone().unwrap_or_else(|| {
        vec![
            project
                .file
                .target_path
                .clone()
                .unwrap_or_else(|| "target".to_string()),
        ]
    });
    for target in targets {
        let path = project.root.join(&target);
        let inside = std::path::absolute(&path)
            .map(|path| path.starts_with(&project.root) && path != project.root)
            .unwrap_or(false);
        if !inside || target.contains("..") {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("clean-target `{target}` is outside the project; not removing it"),
            ));
        }
        if crate::fs::remove_dir_all(&path)? {
            console.info(&format!("Removed {target}/"));
        }
    }
    Ok(0)
}
