//! hostplane's web console: a single-page application served by the same binary as the API.
//!
//! The pages (ES modules, CSS, the vendored htm + Preact under `assets/vendor/`) live in
//! `assets/` and are built into the binary by `build.rs`: nothing to install, no Node at run
//! time, no CDN, works offline. [`router`] serves them:
//!
//! - `GET /` → `index.html` (the application; pages are addressed by `#/...` fragments, so no
//!   other path of the server is ever taken by the console);
//! - `GET /console/<path>` → one asset, with its content type and an ETag (`If-None-Match`
//!   answers 304); `vendor/` assets carry their version in the path and may be cached a year,
//!   everything else is revalidated on each load;
//! - every answer carries a strict Content-Security-Policy (scripts, styles and requests only
//!   from this origin, no inline script or style, no frames, no plugins).
//!
//! The console talks to the server only through the public REST API (`/zstack/v1/...`) with an
//! ordinary session, like any other client. This crate must never reach into the server's
//! state, and it never takes a path under `/zstack` or `/v1`.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
pub struct Asset {
    /// Path under `assets/`, `/`-separated (`pages/hosts.js`).
    pub path: &'static str,
    pub content_type: &'static str,
    /// A strong ETag: a hash of the bytes, quoted.
    pub etag: &'static str,
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The Content-Security-Policy of every console answer.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The asset at `path`, if the console has it.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The console's routes: `/` and `/console/...`. Merge them into the server's router; they
/// hold no state, so they fit any router state `S`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/console", get(to_index))
        .route("/console/", get(to_index))
        .route("/console/{*path}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve(
        asset("index.html").expect("index.html is embedded"),
        &headers,
    )
}

async fn to_index() -> Response {
    with_security_headers(
        (
            StatusCode::FOUND,
            [(header::LOCATION, HeaderValue::from_static("/"))],
        )
            .into_response(),
    )
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match asset(&path) {
        Some(a) => serve(a, &headers),
        None => with_security_headers(
            (
                StatusCode::NOT_FOUND,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                format!("the console has no file {path}"),
            )
                .into_response(),
        ),
    }
}

fn serve(a: &'static Asset, headers: &HeaderMap) -> Response {
    let cache = if a.path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = a.body.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        r
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(a.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    with_security_headers(r)
}

fn with_security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, etag: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        router::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn index_assets_types_cache_and_csp() {
        let r = get("/", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(r.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");

        let r = get("/console/app.js", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        let r = get("/console/app.js", Some(&etag)).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

        let r = get("/console/console.css", None).await;
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");

        let r = get(
            "/console/vendor/htm-preact-3.1.1/standalone.module.js",
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));

        let r = get("/console/nothing.js", None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        let r = get("/console/", None).await;
        assert_eq!(r.status(), StatusCode::FOUND);
    }

    /// No inline script or style anywhere: the CSP would block it.
    #[test]
    fn no_inline_script_or_style() {
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".html")) {
            let text = std::str::from_utf8(a.body).unwrap();
            for (i, _) in text.match_indices("<script") {
                let tag = &text[i..text[i..].find('>').map(|e| i + e).unwrap()];
                assert!(tag.contains("src="), "{}: inline script {tag}", a.path);
            }
            assert!(!text.contains("<style"), "{}: inline style", a.path);
            assert!(!text.contains(" style="), "{}: style attribute", a.path);
            let lower = text.to_ascii_lowercase();
            for (i, _) in lower.match_indices(" on") {
                let name: String = lower[i + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                assert!(
                    name.is_empty() || !lower[i + 3 + name.len()..].starts_with('='),
                    "{}: event handler attribute on{name}",
                    a.path
                );
            }
        }
    }
}
