//! The HTTP control interface: look at the simulated hosts and switch their faults at run time.
//!
//! | request | does |
//! |---|---|
//! | `GET /stats` | totals: hosts, hosts up, open connections, logins, commands |
//! | `GET /hosts` | every host: address, faults, key generation and fingerprint, connections |
//! | `GET /hosts/{selector}` | the selected hosts |
//! | `POST /hosts/{selector}` with a JSON [`FaultChange`] | change their faults; answers `{"changed": n}` |
//! | `GET /peers`, `GET /peers/{selector}` | per host, which client addresses connected or logged in, how often, first and last time ([`PeerStats`](crate::host::PeerStats)) |
//! | `DELETE /peers` | forget those per-address counts |
//!
//! A selector is `all`, an index (`7`), an index range (`0-9`), an address (`127.1.0.5` or
//! `127.1.0.5:2222`), or a comma-separated list of these. Example:
//! `curl -X POST localhost:18200/hosts/0-9 -d '{"down":true}'` takes the first ten hosts down.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::config::FaultChange;
use crate::host::HostView;
use crate::Sim;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/stats", get(stats))
        .route("/hosts", get(all_hosts))
        .route("/hosts/{selector}", get(some_hosts).post(change))
        .route("/peers", get(all_peers).delete(reset_peers))
        .route("/peers/{selector}", get(some_peers))
        .with_state(sim)
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim.stats()))
}

async fn all_hosts(State(sim): State<Arc<Sim>>) -> Json<Vec<HostView>> {
    Json(sim.hosts().iter().map(|h| h.view()).collect())
}

async fn some_hosts(
    State(sim): State<Arc<Sim>>,
    Path(selector): Path<String>,
) -> Result<Json<Vec<HostView>>, (StatusCode, String)> {
    let hosts = sim
        .select(&selector)
        .map_err(|e| (StatusCode::NOT_FOUND, e))?;
    Ok(Json(hosts.iter().map(|h| h.view()).collect()))
}

/// One host's per-address counts.
fn peers_of(h: &crate::SimHost) -> Value {
    let peers: serde_json::Map<String, Value> = h
        .peers()
        .into_iter()
        .map(|(ip, p)| (ip.to_string(), json!(p)))
        .collect();
    json!({ "index": h.index, "address": h.address(), "peers": peers })
}

async fn all_peers(State(sim): State<Arc<Sim>>) -> Json<Vec<Value>> {
    Json(sim.hosts().iter().map(|h| peers_of(h)).collect())
}

async fn some_peers(
    State(sim): State<Arc<Sim>>,
    Path(selector): Path<String>,
) -> Result<Json<Vec<Value>>, (StatusCode, String)> {
    let hosts = sim
        .select(&selector)
        .map_err(|e| (StatusCode::NOT_FOUND, e))?;
    Ok(Json(hosts.iter().map(|h| peers_of(h)).collect()))
}

async fn reset_peers(State(sim): State<Arc<Sim>>) -> Json<Value> {
    for h in sim.hosts() {
        h.reset_peers();
    }
    Json(json!({ "reset": sim.hosts().len() }))
}

async fn change(
    State(sim): State<Arc<Sim>>,
    Path(selector): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, (StatusCode, String)> {
    let c: FaultChange = serde_json::from_slice(&body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("body must be a fault change such as {{\"down\":true}}: {e}"),
        )
    })?;
    let hosts = sim
        .select(&selector)
        .map_err(|e| (StatusCode::NOT_FOUND, e))?;
    for h in &hosts {
        h.apply(&c);
    }
    tracing::info!(selector = %selector, hosts = hosts.len(), change = ?c, "faults changed");
    Ok(Json(json!({ "changed": hosts.len() })))
}
