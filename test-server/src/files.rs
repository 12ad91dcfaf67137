//! Static files from the `--www` directory.

use std::path::{Path, PathBuf};

use crate::http::{Request, Response};

/// The content type for a file name, by extension.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("ts") => "application/typescript; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps the request path to a file under `www`, or an error response.
fn resolve(www: &Path, req: &Request) -> Result<PathBuf, Response> {
    if req.raw_path.contains("..") || req.segments.iter().any(|s| s.contains("..")) {
        return Err(Response::text(403, "paths containing '..' are not served"));
    }
    let mut path = www.to_path_buf();
    for seg in req.segments.iter().filter(|s| !s.is_empty()) {
        if seg.contains(['/', '\\', '\0']) || seg.contains(':') {
            return Err(Response::text(403, "unsupported characters in path"));
        }
        path.push(seg);
    }
    Ok(path)
}

/// Serves a GET/HEAD request from `www` (`/` and directories map to `index.html`).
pub(crate) async fn serve(www: &Path, req: &Request) -> Response {
    let mut path = match resolve(www, req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let read = tokio::task::spawn_blocking(move || {
        if path.is_dir() {
            path.push("index.html");
        }
        let data = std::fs::read(&path);
        (path, data)
    })
    .await;
    match read {
        Ok((path, Ok(data))) => Response::empty(200)
            .header("Content-Type", content_type(&path))
            .revalidated()
            .body(data),
        Ok((_, Err(e))) if e.kind() == std::io::ErrorKind::NotFound => {
            Response::text(404, format!("not found: {}", req.raw_path))
        }
        Ok((path, Err(e))) => {
            crate::log(format_args!("reading {} failed: {e}", path.display()));
            Response::text(404, format!("not found: {}", req.raw_path))
        }
        Err(e) => {
            crate::log(format_args!("file task failed: {e}"));
            Response::text(500, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        let t = |p: &str| content_type(Path::new(p));
        assert_eq!(t("index.html"), "text/html; charset=utf-8");
        assert_eq!(t("pkg/resocket.js"), "text/javascript; charset=utf-8");
        assert_eq!(t("a.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(t("a.wasm"), "application/wasm");
        assert_eq!(t("a.js.map"), "application/json");
        assert_eq!(t("a.d.ts"), "application/typescript; charset=utf-8");
        assert_eq!(t("a.PNG"), "image/png");
        assert_eq!(t("noext"), "application/octet-stream");
    }
}
