//! Clusters: CreateCluster, UpdateCluster, ChangeClusterState, DeleteCluster.
//!
//! A cluster belongs to a zone and holds hosts of one hypervisor type. Its architecture is
//! set at creation or taken from its first host. Enabling or disabling a cluster passes the
//! event to its hosts that are not in maintenance; deleting it deletes its hosts first.

use std::sync::Arc;

use serde::Deserialize;

use super::api::operation;
use super::catalogue::CLUSTER;
use super::{host, new_uuid, query, App, Output};
use crate::error::{Code, Error, Result};
use crate::store::clusters::ClusterRow;
use crate::time::now_ms;

/// APICreateClusterMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCluster {
    pub zone_uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub hypervisor_type: String,
    #[serde(rename = "type")]
    pub cluster_type: Option<String>,
    pub architecture: Option<String>,
    pub resource_uuid: Option<String>,
    #[serde(default)]
    pub tag_uuids: Vec<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APIUpdateClusterMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCluster {
    pub uuid: String,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APIChangeClusterStateMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeClusterState {
    pub uuid: String,
    pub state_event: String,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APIDeleteClusterMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteCluster {
    pub uuid: String,
    pub delete_mode: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(
    CreateCluster => create_cluster,
    UpdateCluster => update_cluster,
    ChangeClusterState => change_cluster_state,
    DeleteCluster => delete_cluster,
);

/// ZStack: APICreateClusterMsg, POST /v1/clusters
pub async fn create_cluster(app: &Arc<App>, mut p: CreateCluster) -> Result<Output> {
    let hypervisor = p.hypervisor_type.clone();
    let ctype = p.cluster_type.clone().unwrap_or_else(|| "zstack".into());
    if (ctype == "baremetal") != (hypervisor == "baremetal") {
        return Err(Error::invalid_argument(
            "if cluster type is baremetal, then hypervisorType must be baremetal too, or vice versa",
        ));
    }
    if ctype != "zstack" {
        return Err(Error::invalid_argument(format!(
            "cluster type[{ctype}] is not supported by hostplane; use zstack"
        )));
    }
    super::validate::check_system_tags(&mut p.system_tags)?;
    let row = ClusterRow {
        uuid: p.resource_uuid.take().unwrap_or_else(new_uuid),
        zone_uuid: p.zone_uuid,
        name: p.name,
        description: p.description,
        state: "Enabled".into(),
        hypervisor_type: hypervisor,
        cluster_type: ctype,
        architecture: p.architecture,
    };
    let now = now_ms();
    app.store
        .cluster_insert(&row, now)
        .await
        .map_err(|e| super::duplicate_uuid(e, &row.uuid))?;
    app.store
        .tags_add(true, &row.uuid, "ClusterVO", &p.system_tags, false, now)
        .await?;
    app.store
        .tags_add(false, &row.uuid, "ClusterVO", &p.user_tags, false, now)
        .await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &CLUSTER, &row.uuid).await?,
    ))
}

/// ZStack: APIUpdateClusterMsg, PUT /v1/clusters/{uuid}/actions
pub async fn update_cluster(app: &Arc<App>, p: UpdateCluster) -> Result<Output> {
    let uuid = p.uuid.as_str();
    app.store
        .cluster_update(uuid, p.name.as_deref(), p.description.as_deref(), now_ms())
        .await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &CLUSTER, uuid).await?,
    ))
}

/// ZStack: APIChangeClusterStateMsg, PUT /v1/clusters/{uuid}/actions
pub async fn change_cluster_state(app: &Arc<App>, p: ChangeClusterState) -> Result<Output> {
    let uuid = p.uuid.as_str();
    apply_state_event(app, uuid, &p.state_event).await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &CLUSTER, uuid).await?,
    ))
}

/// Enable or disable a cluster and pass the event on to its hosts outside maintenance.
pub async fn apply_state_event(app: &Arc<App>, uuid: &str, event: &str) -> Result<()> {
    let state = if event == "enable" {
        "Enabled"
    } else {
        "Disabled"
    };
    app.store.cluster_set_state(uuid, state, now_ms()).await?;
    for h in app.store.host_uuids_in_cluster(uuid).await? {
        host::state::cascade_state_event(app, &h, event).await?;
    }
    Ok(())
}

/// ZStack: APIDeleteClusterMsg, DELETE /v1/clusters/{uuid} — a missing cluster is a success.
pub async fn delete_cluster(app: &Arc<App>, p: DeleteCluster) -> Result<Output> {
    let uuid = p.uuid.as_str();
    if app.store.cluster_get(uuid).await?.is_none() {
        return super::missing_delete_target(uuid);
    }
    remove_cluster(app, uuid, p.delete_mode.as_deref() == Some("Enforcing"))
        .await
        .map_err(|e| {
            Error::wrap(
                Code::DeleteResourceError,
                format!("unable to delete cluster[uuid:{uuid}]"),
                e,
            )
        })?;
    Ok(Output::Empty)
}

/// Delete a cluster's hosts, then the cluster.
pub async fn remove_cluster(app: &Arc<App>, uuid: &str, enforcing: bool) -> Result<()> {
    for h in app.store.host_uuids_in_cluster(uuid).await? {
        host::delete::remove_host(app, &h, enforcing).await?;
    }
    app.store.cluster_delete(uuid).await?;
    Ok(())
}
