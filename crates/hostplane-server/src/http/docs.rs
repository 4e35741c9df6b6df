//! `/docs`: the browsable API reference — Swagger UI (vendored from the npm registry, see
//! `assets/swagger-ui-5.35.0/README.md`) on the server's own `/zstack/v1/openapi.json`.
//!
//! Every file is embedded in the binary: the page works offline and loads nothing from any
//! other origin. Each answer carries a strict Content-Security-Policy (scripts, styles, images
//! and requests from this server only; no inline scripts, no eval, no framing), `nosniff`, and
//! no referrer. No session is needed to read the reference; "try it out" sends the session the
//! reader enters (Authorize: `OAuth <session uuid>`) to this server only.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const VENDOR: &str = "swagger-ui-5.35.0";

/// (name under /docs/, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui-5.35.0/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/swagger-ui-5.35.0/swagger-ui.css"),
    ),
    (
        "favicon-32x32.png",
        "image/png",
        include_bytes!("../../assets/swagger-ui-5.35.0/favicon-32x32.png"),
    ),
    (
        "LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui-5.35.0/LICENSE"),
    ),
    (
        "NOTICE",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui-5.35.0/NOTICE"),
    ),
    (
        "swagger-ui-bundle.js.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui-5.35.0/swagger-ui-bundle.js.LICENSE.txt"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/init.js"),
    ),
];

const INDEX: &[u8] = include_bytes!("../../assets/docs/index.html");

/// The policy of every `/docs` answer. Swagger UI sets element styles through the CSSOM
/// (allowed by `style-src 'self'`) and shows inline SVG and data: images.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn answer(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// `GET /docs`.
pub async fn index() -> Response {
    answer("text/html; charset=utf-8", INDEX)
}

/// `GET /docs/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, ty, body)) => answer(ty, body),
        None => (
            StatusCode::NOT_FOUND,
            format!("no such file in the API reference ({VENDOR})"),
        )
            .into_response(),
    }
}
