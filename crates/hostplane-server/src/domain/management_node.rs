//! This server as a ZStack management node: its identity and the version it reports. Its
//! heartbeat and its life among other nodes are `domain::plane`'s.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;

use super::api::operation;
use super::{App, Output};
use crate::error::Result;
use crate::time::now_ms;

/// The version GetVersion reports. ZStack clients compare it with their own; hostplane speaks
/// ZStack 5.2's API, so it answers as 5.2.0 (its own version is in the logs and `--version`).
pub const VERSION: &str = "5.2.0";

#[derive(Debug, Clone)]
pub struct Node {
    pub uuid: String,
    pub host_name: String,
    /// The local address this node's SSH connections to hosts come from (None: the system
    /// picks). With several nodes on one machine, it tells hosts (and tests) which node it is.
    pub ssh_source: Option<IpAddr>,
}

impl Node {
    /// A node identity kept across restarts in the data directory (or made fresh).
    pub fn new(uuid: String) -> Node {
        let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        Node {
            uuid,
            host_name,
            ssh_source: None,
        }
    }
}

/// The parameters of GetVersion, GetCurrentTime and GetManagementNodeArch: tags only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagsOnly {
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APIGetVersionMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct GetVersion(pub TagsOnly);
/// APIGetCurrentTimeMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct GetCurrentTime(pub TagsOnly);
/// APIGetManagementNodeArchMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct GetManagementNodeArch(pub TagsOnly);

/// APIIsReadyToGoMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IsReadyToGo {
    pub management_node_id: Option<String>,
}

operation!(
    GetVersion => get_version,
    GetCurrentTime => get_current_time,
    GetManagementNodeArch => get_management_node_arch,
    IsReadyToGo => is_ready_to_go,
);

/// ZStack: APIGetVersionMsg, PUT /v1/management-nodes/actions {"getVersion": {}}
pub async fn get_version(_: &Arc<App>, _: GetVersion) -> Result<Output> {
    Ok(Output::Version(VERSION.to_string()))
}

/// ZStack: APIGetCurrentTimeMsg, PUT /v1/management-nodes/actions {"getCurrentTime": {}}
pub async fn get_current_time(_: &Arc<App>, _: GetCurrentTime) -> Result<Output> {
    Ok(Output::CurrentTime(now_ms()))
}

/// ZStack: APIGetManagementNodeArchMsg, PUT /v1/management-nodes/actions
pub async fn get_management_node_arch(_: &Arc<App>, _: GetManagementNodeArch) -> Result<Output> {
    Ok(Output::Architecture(std::env::consts::ARCH.to_string()))
}

/// ZStack: APIIsReadyToGoMsg, GET /v1/management-nodes/ready
pub async fn is_ready_to_go(_: &Arc<App>, _: IsReadyToGo) -> Result<Output> {
    Ok(Output::Empty)
}
