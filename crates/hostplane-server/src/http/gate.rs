//! The listener opens before the store. Until the application is built (the store opened and
//! migrated, what the last stop left half done settled), [`while_starting`] answers every
//! request on the listener itself with ZStack's error body — IsReadyToGo that the node is not
//! ready, every other call that it is starting — and closes each connection after its answer,
//! so no client keeps a connection from before the full server ([`super::limits::serve`])
//! took the listener over. Nothing here reads the store or knows an API.

use std::convert::Infallible;
use std::future::Future;

use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::encode::error_response;
use crate::error::Error;

/// Answer "starting" on `listener` until `ready` completes; its output.
pub async fn while_starting<T>(listener: &TcpListener, ready: impl Future<Output = T>) -> T {
    let mut ready = std::pin::pin!(ready);
    loop {
        tokio::select! {
            out = &mut ready => return out,
            conn = listener.accept() => {
                let Ok((stream, _)) = conn else { continue };
                let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(starting(req.uri().path()))
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// The answer while the node starts: 503 with ZStack's error body, and the connection closes.
pub fn starting(path: &str) -> axum::response::Response {
    let e = if path.ends_with("/management-nodes/ready") {
        Error::operation("the management node is not ready yet: it is opening its store")
    } else {
        Error::operation(
            "the management node is starting (opening its store); call again in a moment",
        )
    };
    let mut r = error_response(&e.with_opaque("reason", "NODE.STARTING").with_opaque(
        "hint",
        "retry in a second; IsReadyToGo answers once the node serves",
    ))
    .into_response();
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}
