//! `GET /zstack/v1/api-jobs/{uuid}`: polling an asynchronous call. No authentication, as in
//! ZStack (the job uuid is the secret).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::encode::{error_response, json_response, rest_body, text};
use super::rest::wants_schema;
use crate::domain::jobs::{view, JobView};
use crate::domain::App;

pub async fn poll(
    State(app): State<Arc<App>>,
    method: Method,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET method is allowed for querying job status",
        );
    }
    match view(&app, &uuid).await {
        Ok(None) => text(StatusCode::NOT_FOUND, "the job has been expired"),
        Ok(Some((_, JobView::Running))) => json_response(StatusCode::ACCEPTED, &json!({})),
        Ok(Some((_, JobView::Done(Ok(out))))) => {
            json_response(StatusCode::OK, &rest_body(&out, wants_schema(&headers)))
        }
        Ok(Some((_, JobView::Done(Err(e))))) => error_response(&e),
        Err(e) => error_response(&e),
    }
}
