//! The HTTP face: ZStack's REST v1 API and its legacy RPC endpoint, over axum.
//!
//! - [`routes`]: the REST route table (method + path → API).
//! - [`rest`]: the one REST handler: route, decode, check headers, call the domain, encode.
//! - [`decode`]: query strings, bodies and the `q=` grammar → a domain call.
//! - [`encode`]: domain outputs and errors → response bodies (`schema`, ErrorCode JSON).
//! - [`jobs`]: `GET /v1/api-jobs/{uuid}`.
//! - [`gate`]: what the listener answers while the node is still starting.
//! - [`rpc`]: `POST /zstack/api` and `GET /zstack/api/result/{uuid}`.
//! - [`webhook`]: `X-Web-Hook`, the result of an async call POSTed to the caller's URL.
//!
//! Handlers stay thin: no SQL, no SSH and no business rule lives here.

pub mod decode;
pub mod encode;
pub mod gate;
pub mod jobs;
pub mod rest;
pub mod routes;
pub mod rpc;
pub mod webhook;

use std::sync::Arc;

use axum::routing::{any, get, post};
use axum::Router;

use crate::domain::App;

/// The whole HTTP surface.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/zstack/v1/api-jobs/{uuid}", any(jobs::poll))
        .route("/v1/api-jobs/{uuid}", any(jobs::poll))
        .route("/zstack/api", post(rpc::call))
        .route("/zstack/api/", post(rpc::call))
        .route("/zstack/api/result/{uuid}", get(rpc::result))
        .fallback(rest::dispatch)
        .with_state(app)
}
