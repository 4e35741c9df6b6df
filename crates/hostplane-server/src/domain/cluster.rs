//! Clusters: CreateCluster, UpdateCluster, ChangeClusterState, DeleteCluster.
//!
//! A cluster belongs to a zone and holds hosts of one hypervisor type. Its architecture is
//! set at creation or taken from its first host. Enabling or disabling a cluster passes the
//! event to its hosts that are not in maintenance; deleting it deletes its hosts first.

use std::sync::Arc;

use super::api::Params;
use super::catalogue::CLUSTER;
use super::{host, new_uuid, query, App, Output};
use crate::error::{Code, Error, Result};
use crate::store::clusters::ClusterRow;
use crate::time::now_ms;

/// ZStack: APICreateClusterMsg, POST /v1/clusters
pub async fn create_cluster(app: &Arc<App>, mut p: Params) -> Result<Output> {
    let hypervisor = p.req("hypervisorType").to_string();
    let ctype = p.str("type").unwrap_or("zstack").to_string();
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
    super::validate::check_system_tags(&mut p)?;
    let row = ClusterRow {
        uuid: p
            .str("resourceUuid")
            .map(str::to_string)
            .unwrap_or_else(new_uuid),
        zone_uuid: p.req("zoneUuid").to_string(),
        name: p.req("name").to_string(),
        description: p.str("description").map(str::to_string),
        state: "Enabled".into(),
        hypervisor_type: hypervisor,
        cluster_type: ctype,
        architecture: p.str("architecture").map(str::to_string),
    };
    let now = now_ms();
    app.store
        .cluster_insert(&row, now)
        .await
        .map_err(|e| super::duplicate_uuid(e, &row.uuid))?;
    app.store
        .tags_add(
            true,
            &row.uuid,
            "ClusterVO",
            &p.list("systemTags"),
            false,
            now,
        )
        .await?;
    app.store
        .tags_add(
            false,
            &row.uuid,
            "ClusterVO",
            &p.list("userTags"),
            false,
            now,
        )
        .await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &CLUSTER, &row.uuid).await?,
    ))
}

/// ZStack: APIUpdateClusterMsg, PUT /v1/clusters/{uuid}/actions
pub async fn update_cluster(app: &Arc<App>, p: &Params) -> Result<Output> {
    let uuid = p.req("uuid");
    app.store
        .cluster_update(uuid, p.str("name"), p.str("description"), now_ms())
        .await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &CLUSTER, uuid).await?,
    ))
}

/// ZStack: APIChangeClusterStateMsg, PUT /v1/clusters/{uuid}/actions
pub async fn change_cluster_state(app: &Arc<App>, p: &Params) -> Result<Output> {
    let uuid = p.req("uuid");
    apply_state_event(app, uuid, p.req("stateEvent")).await?;
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
pub async fn delete_cluster(app: &Arc<App>, p: &Params) -> Result<Output> {
    let uuid = p.req("uuid");
    if app.store.cluster_get(uuid).await?.is_none() {
        return super::missing_delete_target(uuid);
    }
    remove_cluster(app, uuid, p.str("deleteMode") == Some("Enforcing"))
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
