//! The domain: what hostplane does, in ZStack's terms, independent of how a call arrived.
//!
//! - [`api`]: the catalogue of APIs (names, classes, parameters) both faces share.
//! - [`validate`]: `@APIParam` validation in ZStack's order.
//! - [`identity`]: accounts, login, sessions.
//! - [`global_config`]: the configuration keys, their validation and a live cache.
//! - [`zone`], [`cluster`]: the containers hosts live in.
//! - [`host`]: KVM hosts — add, connect, facts, state machines, delete, ping tracking.
//! - [`catalogue`]: what each resource exposes to the query language; [`query`] runs queries.
//! - [`jobs`]: asynchronous calls as durable jobs.
//! - [`management_node`]: this server as a ZStack management node.
//!
//! [`call`] is the one entry point: it checks the session, validates parameters and runs the
//! operation named after the API. Operations return an [`Output`]; the HTTP face decides how
//! it looks on the wire. This module never sees an HTTP request, status or header.

pub mod api;
pub mod catalogue;
pub mod cluster;
pub mod global_config;
pub mod host;
pub mod identity;
pub mod jobs;
pub mod management_node;
pub mod query;
pub mod validate;
pub mod zone;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::Store;
use api::{ApiSpec, Params};

/// A fresh 32-hex-digit uuid (v4, dashes stripped), as ZStack makes them.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Everything the operations share. Built once by the server and passed as `Arc<App>`.
pub struct App {
    pub store: Store,
    pub configs: global_config::Configs,
    pub node: management_node::Node,
    pub hosts: host::Hosts,
}

/// Who is calling: the session id the caller presented, if any.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub session: Option<String>,
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
}

/// Run one API call: session check, validation, then the operation named after the API.
pub async fn call(
    app: &Arc<App>,
    spec: &'static ApiSpec,
    caller: &Caller,
    mut call: Call,
) -> Result<Output> {
    if spec.needs_session {
        identity::check_session(app, caller.session.as_deref()).await?;
    }
    if let (Some(resource), Some(q)) = (spec.query, call.query.take()) {
        return query::run(app, resource, &q).await;
    }
    validate::validate(&app.store, spec, &mut call.params).await?;
    let p = call.params;
    match spec.name {
        "LogInByAccount" => identity::log_in_by_account(app, &p).await,
        "LogOut" => identity::log_out(app, &p).await,
        "ValidateSession" => identity::validate_session(app, &p).await,
        "UpdateAccount" => identity::update_account(app, caller, &p).await,
        "GetVersion" => Ok(Output::Version(management_node::VERSION.to_string())),
        "GetCurrentTime" => Ok(Output::CurrentTime(crate::time::now_ms())),
        "GetManagementNodeArch" => Ok(Output::Architecture(std::env::consts::ARCH.to_string())),
        "IsReadyToGo" => Ok(Output::Empty),
        "CreateZone" => zone::create_zone(app, p).await,
        "UpdateZone" => zone::update_zone(app, &p).await,
        "ChangeZoneState" => zone::change_zone_state(app, &p).await,
        "DeleteZone" => zone::delete_zone(app, &p).await,
        "CreateCluster" => cluster::create_cluster(app, p).await,
        "UpdateCluster" => cluster::update_cluster(app, &p).await,
        "ChangeClusterState" => cluster::change_cluster_state(app, &p).await,
        "DeleteCluster" => cluster::delete_cluster(app, &p).await,
        "AddKVMHost" => host::add::add_kvm_host(app, p).await,
        "DeleteHost" => host::delete::delete_host(app, &p).await,
        "ReconnectHost" => host::connect::reconnect_host(app, &p).await,
        "ChangeHostState" => host::state::change_host_state(app, &p).await,
        "UpdateHost" | "UpdateKVMHost" => host::update::update_host(app, &p).await,
        "GetHypervisorTypes" => Ok(Output::HypervisorTypes(vec!["KVM".into()])),
        "UpdateGlobalConfig" => global_config::update_global_config(app, &p).await,
        other => Err(Error::internal(format!("API {other} has no operation"))),
    }
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
