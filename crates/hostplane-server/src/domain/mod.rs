//! The domain: what hostplane does, in ZStack's terms, independent of how a call arrived.
//!
//! - [`api`]: the catalogue of APIs (names, classes, parameters) both faces share.
//! - [`validate`]: `@APIParam` validation in ZStack's order.
//! - [`identity`]: accounts, login, sessions.
//! - [`global_config`]: the configuration keys, their validation and a live cache.
//! - [`zone`], [`cluster`]: the containers hosts live in.
//! - [`host`]: KVM hosts — add, connect, facts, state machines, delete, ping tracking.
//! - [`catalogue`]: what each resource exposes to the query language; [`query`] runs queries.
//! - [`jobs`]: asynchronous calls as durable jobs; [`refused`]: the answers to async calls
//!   refused before any work (no valid session), kept in memory only.
//! - [`management_node`]: this server as a ZStack management node.
//! - [`cancel`]: a reason to stop waiting (connects cut short, jobs at a graceful stop).
//! - [`plane`]: several management nodes on one database: membership, host ownership,
//!   fencing, leases, notifications between nodes.
//!
//! [`call`] is the one entry point: it checks the session, validates parameters and runs the
//! API's operation (each entry of [`api::APIS`] names its parameter struct, whose
//! [`api::Operation`] impl calls the function named after the API). Operations return an [`Output`]; the HTTP face decides how
//! it looks on the wire. This module never sees an HTTP request, status or header.

pub mod api;
pub mod cancel;
pub mod catalogue;
pub mod cluster;
pub mod global_config;
pub mod host;
pub mod identity;
pub mod jobs;
pub mod management_node;
pub mod plane;
pub mod query;
pub mod refused;
pub mod validate;
pub mod zone;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::Store;
use api::{ApiSpec, Op, Params};

pub use crate::ids::new_uuid;

/// Everything the operations share, and all of a server's state: built once by the server
/// and passed as `Arc<App>`. Nothing lives in process-wide statics, so two `App`s in one
/// process (several management nodes in a test) never see each other's state.
pub struct App {
    pub store: Store,
    pub configs: global_config::Configs,
    pub node: management_node::Node,
    /// This node among the management nodes: who owns which host, leases, fencing.
    pub plane: plane::Plane,
    /// Host credentials, in-flight connects, per-IP add locks, the ping tracker.
    pub hosts: host::Hosts,
    /// Sessions recently found valid.
    pub sessions: identity::SessionCache,
    /// Login bounds: argon2 verifier threads, wrong-password counts and lockouts.
    pub logins: identity::Logins,
    /// The steps of running jobs.
    pub jobs: jobs::Jobs,
    /// What `GET /metrics` shows.
    pub metrics: crate::metrics::Metrics,
    /// Host events on their way to webhook subscriptions.
    pub event_hooks: host::event_hooks::EventHooks,
}

/// Who is calling: the session id the caller presented, if any, and the address the call
/// came from (the TCP peer; None when not over TCP).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub session: Option<String>,
    pub source: Option<std::net::IpAddr>,
}

/// One call of an API: its parameters, and for query APIs the parsed query.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub params: Params,
    pub query: Option<hostplane_query::Query>,
}

/// An inventory object and the ZStack class it stands for (used for the `schema` map).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub class: String,
    pub json: Map<String, Value>,
}

/// What an operation produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Output {
    /// `{"inventory": ...}`
    Inventory(Inventory),
    /// `{"inventories": [...], "total"?: n}`
    Inventories {
        items: Vec<Inventory>,
        total: Option<i64>,
    },
    /// `{"total": n}` (a query with `count=true`)
    Total(i64),
    /// `{}`
    Empty,
    /// GetVersion
    Version(String),
    /// ValidateSession
    Valid(bool),
    /// GetCurrentTime, epoch milliseconds
    CurrentTime(i64),
    /// GetManagementNodeArch
    Architecture(String),
    /// GetHypervisorTypes
    HypervisorTypes(Vec<String>),
    /// A reply's own fields as they are (CheckKVMHost, the from-file APIs, GetHostTask).
    /// `success`: REST copies the inherited `success` too (`@RestResponse(fieldsTo = {"all"})`).
    Fields {
        fields: Map<String, Value>,
        success: bool,
    },
}

/// Run one API call: session check, validation, then the API's operation.
pub async fn call(
    app: &Arc<App>,
    spec: &'static ApiSpec,
    caller: &Caller,
    mut call: Call,
) -> Result<Output> {
    let session = if spec.needs_session {
        Some(identity::check_session(app, caller.session.as_deref()).await?)
    } else {
        None
    };
    let out = match spec.op {
        Op::Query => {
            let resource = spec.query.expect("a query API names its resource");
            query::run(app, resource, &call.query.take().unwrap_or_default()).await
        }
        Op::Run { run, .. } => {
            validate::validate(&app.store, spec, &mut call.params).await?;
            // What the table does not name is not the operation's business.
            call.params.0.retain(|k, _| spec.param(k).is_some());
            identity::with_source(caller.source, run(app.clone(), session, call.params)).await
        }
    }?;
    // The table's declared answer is what the OpenAPI document promises: every test that
    // calls an API checks it.
    debug_assert!(
        spec.answer.fits(&out),
        "{} answered {out:?}, not its declared {:?}",
        spec.name,
        spec.answer
    );
    Ok(out)
}

/// A create whose `resourceUuid` is taken: ZStack fails at insert with an internal error;
/// hostplane says what is wrong.
pub(crate) fn duplicate_uuid(e: sqlx::Error, uuid: &str) -> Error {
    if crate::store::is_unique_violation(&e) {
        Error::invalid_argument(format!(
            "resourceUuid[{uuid}] is already used by another resource"
        ))
    } else {
        e.into()
    }
}

/// The delete APIs answer success for a missing but well-formed uuid, and SYS.1003 for a
/// malformed one (`successIfResourceNotExisting`).
pub(crate) fn missing_delete_target(uuid: &str) -> Result<Output> {
    if validate::is_resource_uuid(uuid) {
        Ok(Output::Empty)
    } else {
        Err(Error::not_found(format!(
            "invalid value[{uuid}] of field [uuid]"
        )))
    }
}
