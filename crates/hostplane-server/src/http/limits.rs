//! The listener and what every request goes through before a handler: bounds and records.
//!
//! [`serve`] accepts connections itself (hyper's HTTP/1 server on tokio) so that it can:
//! - cap open connections at `rest.maxConnections` (more wait in the kernel's listen queue);
//! - cut off a client whose request headers take longer than `rest.request.readTimeout`
//!   (a kept-alive connection that stays silent that long is closed too);
//! - give every request its TCP peer ([`Peer`], also as axum's `ConnectInfo<SocketAddr>`);
//! - stop accepting on shutdown and let open requests finish.
//!
//! [`guard`] wraps the router:
//! - a body larger than `rest.request.maxBodySize` is answered 413 before it is read (by its
//!   `Content-Length`; a chunked body is cut at the limit); a body that takes longer than
//!   `rest.request.readTimeout` to arrive is answered 408 and the connection closed;
//! - every request gets an id: `X-Request-Id` as the client sent it (when it is a short token),
//!   else a new one, echoed in the reply;
//! - a panic in a handler becomes 503 SYS.1000 with an error id, its message going to the log;
//! - one access-log line per request (target `hostplane::access`): method, path, status,
//!   duration, the peer's address and the request id. Never a header value, a query string or
//!   a body, and a session token in a path (`/accounts/sessions/{token}`) is masked.
//!
//! The peer is the TCP peer: behind a reverse proxy it is the proxy. `X-Forwarded-For` is not
//! trusted (anyone can send it).

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use futures::FutureExt;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use super::encode::{error_response, text};
use crate::domain::global_config::keys;
use crate::domain::App;
use crate::error::Error;

/// The TCP peer of a request (unspecified when the request did not come through [`serve`]).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Peer {
    pub fn ip(self) -> Option<IpAddr> {
        Some(self.0.ip()).filter(|ip| !ip.is_unspecified())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
                .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        ))
    }
}

/// Open connections, and a wake-up for the accept loop when one closes.
#[derive(Default)]
struct Open {
    count: AtomicUsize,
    closed: Notify,
}

/// Holds one connection's place in [`Open`].
struct Slot(Arc<Open>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
        self.0.closed.notify_one();
    }
}

/// `router` behind [`guard`] (what [`serve`] serves; tests drive it in-process).
pub fn guarded(app: Arc<App>, router: Router) -> Router {
    // The guard enforces rest.request.maxBodySize; axum's own 2 MB default would cap it.
    router
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(app, guard))
}

/// Serve `router` on `listener` until `shutdown` completes, then let open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = guarded(app.clone(), router);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = Arc::new(Open::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for room under the connection cap (read again each time: it is live).
        loop {
            let cap = app.configs.get(keys::REST_MAX_CONNECTIONS).max(1) as usize;
            let closed = open.closed.notified();
            if open.count.load(Ordering::SeqCst) < cap {
                break;
            }
            tokio::select! {
                _ = closed => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = &mut shutdown => return finish(graceful).await,
            }
        }
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return finish(graceful).await,
        };
        let _ = stream.set_nodelay(true);
        open.count.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(open.clone());
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(app.configs.get(keys::REST_READ_TIMEOUT))
            .keep_alive(true);
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
}

async fn finish(graceful: hyper_util::server::graceful::GracefulShutdown) -> std::io::Result<()> {
    graceful.shutdown().await;
    Ok(())
}

/// How much of a refused body is still read (and dropped) after the 413, so the client sees
/// the answer rather than a reset connection.
const DRAIN_MAX: u64 = 16 << 20;

/// Bounds, request id, panics and the access log, around every request.
pub async fn guard(State(app): State<Arc<App>>, peer: Peer, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers());
    let method = req.method().clone();
    let path = masked_path(req.uri().path());
    let mut resp = match read_body(&app, req).await {
        Ok(req) => match AssertUnwindSafe(next.run(req)).catch_unwind().await {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                error_response(&Error::internal_logged("the request", msg))
            }
        },
        Err(refused) => refused,
    };
    resp.headers_mut().insert("x-request-id", id.clone());
    tracing::info!(
        target: "hostplane::access",
        request_id = %id.to_str().unwrap_or_default(),
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        peer = %peer.0,
        "request"
    );
    resp
}

/// Read the whole body within the limits, or the answer that refuses it.
async fn read_body(app: &App, req: Request) -> Result<Request, Response> {
    let limit = app.configs.get(keys::REST_MAX_BODY_SIZE).0.max(0) as u64;
    let timeout = app.configs.get(keys::REST_READ_TIMEOUT);
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        // Answer before reading; drop what arrives meanwhile (bounded), so the answer is seen.
        tokio::spawn(async move {
            let mut body = body;
            let mut read = 0u64;
            let _ = tokio::time::timeout(timeout, async {
                while let Some(Ok(frame)) = body.frame().await {
                    read += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if read > DRAIN_MAX {
                        break;
                    }
                }
            })
            .await;
        });
        return Err(too_large(limit));
    }
    let limited = http_body_util::Limited::new(body, limit as usize);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(Request::from_parts(parts, Body::from(collected.to_bytes()))),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Ok(Err(_)) => Err(text(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )),
        Err(_) => {
            let mut r = text(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s (rest.request.readTimeout)",
                    timeout.as_secs()
                ),
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(r)
        }
    }
}

fn too_large(limit: u64) -> Response {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {limit} bytes (rest.request.maxBodySize)"),
    )
}

/// The client's `X-Request-Id` when it is a short token, else a new id.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get("x-request-id")
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty()
                && b.len() <= 128
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&crate::ids::new_uuid()).expect("a uuid is a header value")
        })
}

/// The path for the log: a session token in it (`.../sessions/{token}...`) is masked.
fn masked_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len().min(256));
    let mut after_sessions = false;
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if after_sessions && !seg.is_empty() {
            out.push_str("***");
        } else {
            out.push_str(seg);
        }
        after_sessions = seg == "sessions";
        if out.len() > 256 {
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_in_paths() {
        assert_eq!(
            masked_path("/zstack/v1/accounts/sessions/0123abcd/valid"),
            "/zstack/v1/accounts/sessions/***/valid"
        );
        assert_eq!(masked_path("/zstack/v1/zones"), "/zstack/v1/zones");
        assert!(masked_path(&"/x".repeat(1000)).len() < 300);
    }

    #[test]
    fn request_ids_are_echoed_only_when_sane() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("a b<script>"));
        assert_eq!(request_id(&h).len(), 32);
        assert_eq!(request_id(&HeaderMap::new()).len(), 32);
    }
}
