//! `tmk docs serve`: a small HTTP server for the generated site, bound to 127.0.0.1 only.
//! GET and HEAD of files under the site directory; anything outside it, or missing, is a 404.
//! It blocks until the process is stopped (Ctrl-C). It must not write anything.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Bind 127.0.0.1:`port` (0: any free port), call `ready` with the URL, then serve `dir`.
pub fn serve(dir: &Path, port: u16, ready: impl FnOnce(&str)) -> Result<()> {
    let server = tiny_http::Server::http(("127.0.0.1", port)).map_err(|error| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot listen on 127.0.0.1:{port}: {error}"),
        )
        .hint("pass another port with --port, or --port 0 for any free one")
    })?;
    let bound = server
        .server_addr()
        .to_ip()
        .map_or(port, |address| address.port());
    ready(&format!("http://127.0.0.1:{bound}/"));
    for request in server.incoming_requests() {
        let response = match file_for(dir, request.url()) {
            Some(path) if crate::fs::is_file(&path) => match crate::fs::read_bytes(&path) {
                Ok(bytes) => {
                    let mut response = tiny_http::Response::from_data(bytes);
                    for (name, value) in [
                        ("Content-Type", content_type(&path)),
                        ("Cache-Control", "no-cache"),
                    ] {
                        if let Ok(header) = tiny_http::Header::from_bytes(name, value) {
                            response.add_header(header);
                        }
                    }
                    response
                }
                Err(_) => not_found(),
            },
            _ => not_found(),
        };
        // A client that went away is no reason to stop serving.
        let _ = request.respond(response);
    }
    Ok(())
}

/// The file a URL path names under `dir`: `/` is index.html; `..` and absolute parts are refused.
fn file_for(dir: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let relative = Path::new(path);
    relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)))
        .then(|| dir.join(relative))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn not_found() -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_string("not found").with_status_code(404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_to_files_inside_the_site_only() {
        let dir = Path::new("/site");
        assert_eq!(file_for(dir, "/"), Some(PathBuf::from("/site/index.html")));
        assert_eq!(file_for(dir, "/tmk.js?v=1"), Some(PathBuf::from("/site/tmk.js")));
        assert_eq!(file_for(dir, "/../etc/passwd"), None);
        assert_eq!(file_for(dir, "/a/./b"), Some(PathBuf::from("/site/a/b")));
    }
}
