//! `GET /metrics` (Prometheus's text format, see [`crate::metrics`]) and the layer every
//! request passes through: it gives the request an id (the caller's `X-Request-Id` when it is
//! a short token, else a new one, echoed in the answer), runs it inside a `request` span (so
//! log lines name it, and a job started by it too), and counts it by route template.
//!
//! `/metrics` shows counts only and needs no session. With `--metrics-token` (env
//! `HOSTPLANE_METRICS_TOKEN`) it requires `Authorization: Bearer <token>` instead (401
//! otherwise). Route labels are templates (`/zstack/v1/hosts/{uuid}`), never raw paths: a path
//! no route matches is counted as `unmatched`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::routes::{literal_segments, match_path, ROUTES};
use crate::domain::App;

/// `GET /metrics`.
pub async fn serve(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(token) = app.metrics.bearer_token() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if !same(given.as_bytes(), token.as_bytes()) {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "this server's metrics need Authorization: Bearer <the metrics token>",
            )
                .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    app.metrics.set_fenced(app.plane.fenced());
    app.metrics
        .refresh_counts(&app.store, app.plane.dead_after())
        .await;
    let mut r = (StatusCode::OK, app.metrics.encode()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    r
}

/// Equal, in a time that depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The route template of a path the REST face serves: `/zstack/v1/hosts/{uuid}`.
pub fn rest_template(path: &str) -> Option<String> {
    let (prefix, rest) = if let Some(r) = path.strip_prefix("/zstack/v1") {
        ("/zstack/v1", r)
    } else {
        ("/v1", path.strip_prefix("/v1")?)
    };
    ROUTES
        .iter()
        .filter(|r| match_path(r.path, rest).is_some())
        .max_by_key(|r| literal_segments(r.path))
        .map(|r| format!("{prefix}{}", r.path))
}

/// The request's id: the caller's when it is 1-64 characters of `[A-Za-z0-9._-]`, else new.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map(str::to_string)
        .unwrap_or_else(crate::domain::new_uuid)
}

/// The layer around every request (see the module doc).
pub async fn track(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_string(),
        None => rest_template(req.uri().path()).unwrap_or_else(|| "unmatched".into()),
    };
    let id = request_id(req.headers());
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    app.metrics.http_request(
        method.as_str(),
        &route,
        resp.status().as_u16(),
        started.elapsed(),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            rest_template("/zstack/v1/hosts/0123456789abcdef0123456789abcdef").as_deref(),
            Some("/zstack/v1/hosts/{uuid}")
        );
        assert_eq!(
            rest_template("/zstack/v1/hosts/hypervisor-types").as_deref(),
            Some("/zstack/v1/hosts/hypervisor-types")
        );
        assert_eq!(
            rest_template("/v1/hosts/abc/actions").as_deref(),
            Some("/v1/hosts/{uuid}/actions")
        );
        assert_eq!(rest_template("/zstack/v1/no/such/thing/here"), None);
        assert_eq!(rest_template("/etc/passwd"), None);
    }

    #[test]
    fn request_ids() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123.x_y"));
        assert_eq!(request_id(&h), "abc-123.x_y");
        h.insert(
            "x-request-id",
            HeaderValue::from_static("bad id\" with spaces"),
        );
        assert_eq!(request_id(&h).len(), 32);
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
