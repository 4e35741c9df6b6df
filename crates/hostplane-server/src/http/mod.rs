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
//! - [`limits`]: the listener and the guard around every request (body limit, read timeouts,
//!   connection cap, request ids, access log, panics).
//! - [`metrics`]: `GET /metrics`, and the layer that gives each request an id and counts it.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the API and route tables, at
//!   `/zstack/v1/openapi.json`; [`docs`]: the browsable reference at `/docs` (Swagger UI).
//!
//! Handlers stay thin: no SQL, no SSH and no business rule lives here.

pub mod decode;
pub mod docs;
pub mod encode;
pub mod gate;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod rest;
pub mod routes;
pub mod rpc;
pub mod webhook;

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
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
        // The web console: `/` and `/console/...` only (pages are `#/...` fragments).
        .merge(hostplane_console::router())
        .route("/metrics", get(metrics::serve))
        .route("/zstack/v1/openapi.json", get(openapi::serve))
        .route("/docs", get(docs::index))
        .route("/docs/", get(docs::index))
        .route("/docs/{file}", get(docs::asset))
        .fallback(rest::dispatch)
        .layer(from_fn_with_state(app.clone(), metrics::track))
        .with_state(app)
}
