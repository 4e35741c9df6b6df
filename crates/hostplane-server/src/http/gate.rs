//! The listener opens before the store: until the application is built (the store opened and
//! migrated, what the last stop left half done settled), every request is answered here with
//! ZStack's error body — IsReadyToGo says the node is not ready, every other call that the node
//! is starting. Then [`Gate::open`] hands every request to the full router. Nothing here reads
//! the store or knows an API.

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;

use super::encode::error_response;
use crate::error::Error;

/// The router the listener serves from its first second on.
#[derive(Clone, Default)]
pub struct Gate {
    app: Arc<OnceLock<Router>>,
}

impl Gate {
    /// The router to serve: answers "starting" until [`Gate::open`].
    pub fn router(&self) -> Router {
        Router::new().fallback(forward).with_state(self.app.clone())
    }

    /// From now on, every request goes to `app`.
    pub fn open(&self, app: Router) {
        let _ = self.app.set(app);
    }
}

async fn forward(State(app): State<Arc<OnceLock<Router>>>, req: Request) -> Response {
    match app.get() {
        Some(router) => match router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        },
        None => starting(&req),
    }
}

fn starting(req: &Request) -> Response {
    let e = if req.uri().path().ends_with("/management-nodes/ready") {
        Error::operation("the management node is not ready yet: it is opening its store")
    } else {
        Error::operation(
            "the management node is starting (opening its store); call again in a moment",
        )
    };
    error_response(&e.with_opaque("reason", "NODE.STARTING").with_opaque(
        "hint",
        "retry in a second; IsReadyToGo answers once the node serves",
    ))
    .into_response()
}
