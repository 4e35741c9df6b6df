//! AddKVMHost: validate, write the host as Connecting, connect it, and on any failure remove
//! every trace of it (row, tags, tracker) before answering with the step that failed.
//!
//! Adds of one management IP run one at a time, and the database's unique index on the IP
//! makes sure only one row can ever exist for it. Adds of different IPs run in parallel up to
//! `host.add.parallelismDegree`; the rest wait their turn.

use std::sync::Arc;

use serde::Deserialize;

use super::connect::{connect, Mode};
use super::{Secret, HOST_VO};
use crate::domain::api::operation;
use crate::domain::catalogue::HOST;
use crate::domain::global_config::keys;
use crate::domain::validate::{is_hostname, is_ipv4};
use crate::domain::{new_uuid, query, validate, App, Output};
use crate::error::{Error, Result};
use crate::store::hosts::NewHost;
use crate::time::now_ms;

fn duplicate_ip(ip: &str) -> Error {
    Error::invalid_argument(format!("there has been a host having managementIp[{ip}]"))
}

/// APIAddKVMHostMsg's parameters, with hostplane's `privateKey` and `hostKeyFingerprint`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddKvmHost {
    pub name: String,
    pub description: Option<String>,
    pub management_ip: String,
    pub cluster_uuid: String,
    pub username: String,
    pub password: String,
    pub ssh_port: Option<i64>,
    pub private_key: Option<String>,
    pub host_key_fingerprint: Option<String>,
    pub resource_uuid: Option<String>,
    #[serde(default)]
    pub tag_uuids: Vec<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(AddKvmHost => add_kvm_host);

/// ZStack: APIAddKVMHostMsg, POST /v1/hosts/kvm
pub async fn add_kvm_host(app: &Arc<App>, mut p: AddKvmHost) -> Result<Output> {
    let ip = p.management_ip.clone();
    if !is_ipv4(&ip) && !is_hostname(&ip) {
        return Err(Error::invalid_argument(format!(
            "managementIp[{ip}] is neither an IPv4 address nor a valid hostname"
        )));
    }
    let cluster = app
        .store
        .cluster_get(&p.cluster_uuid)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("cluster[uuid:{}] is not existing", p.cluster_uuid))
        })?;
    if cluster.hypervisor_type != "KVM" {
        return Err(Error::operation(format!(
            "cluster[uuid:{}] hypervisorType is {}, not KVM; add the host to a KVM cluster",
            cluster.uuid, cluster.hypervisor_type
        )));
    }
    if app.store.host_uuid_by_ip(&ip).await?.is_some() {
        return Err(Error::invalid_argument(format!(
            "there has been a kvm host having management ip[{ip}]"
        )));
    }
    validate::check_system_tags(&mut p.system_tags)?;
    let uuid = p.resource_uuid.clone().unwrap_or_else(new_uuid);
    let secret = match p.private_key.take().filter(|k| !k.trim().is_empty()) {
        Some(pem) => Secret::PrivateKey {
            pem,
            password: Some(p.password.clone()).filter(|s| !s.is_empty()),
        },
        None => Secret::Password(p.password.clone()),
    };

    // Same-IP adds queue here; the first one wins, the others find the IP taken.
    let ip_lock = app.hosts.ip_lock(&ip);
    let _same_ip = ip_lock.lock().await;
    // The same across management nodes; and the host's own lease, so that no node takes the
    // new row for an add a dead node cut off (domain::plane).
    let _same_ip_any_node = app.plane.ip_lease(&ip).await?;
    let _host_lease = app.plane.host_lease(&uuid).await?;
    let limit = app.configs.get(keys::HOST_ADD_PARALLELISM).max(1) as usize;
    let _slot = app.hosts.add_gate.enter(limit).await;
    if app.store.host_uuid_by_ip(&ip).await?.is_some() {
        return Err(duplicate_ip(&ip));
    }
    let row = NewHost {
        uuid: uuid.clone(),
        zone_uuid: cluster.zone_uuid.clone(),
        cluster_uuid: cluster.uuid.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        management_ip: ip.clone(),
        username: p.username.clone(),
        ssh_port: p.ssh_port.unwrap_or(22),
        credential: app.hosts.crypto.seal(&uuid, &secret)?,
        host_key_fingerprint: p.host_key_fingerprint.clone(),
    };
    let now = now_ms();
    if let Err(e) = app.store.host_insert(&row, now).await {
        return Err(if crate::store::is_unique_violation(&e) {
            if app.store.exists("host", &uuid).await? {
                Error::invalid_argument(format!(
                    "resourceUuid[{uuid}] is already used by another resource"
                ))
            } else {
                duplicate_ip(&ip)
            }
        } else {
            e.into()
        });
    }
    let result = async {
        app.store
            .tags_add(true, &uuid, HOST_VO, &p.system_tags, false, now)
            .await?;
        app.store
            .tags_add(false, &uuid, HOST_VO, &p.user_tags, false, now)
            .await?;
        connect(
            app,
            &uuid,
            Mode {
                new_add: true,
                repin: false,
            },
        )
        .await?;
        query::inventory_of(app, &HOST, &uuid).await
    }
    .await;
    match result {
        Ok(inv) => Ok(Output::Inventory(inv)),
        Err(e) => {
            // Roll back completely: no row, tag or tracker stays.
            app.hosts.tracker.untrack(&uuid);
            if let Err(de) = app.store.host_delete(&uuid).await {
                tracing::error!(host.uuid = %uuid, error = %de, "rolling back a failed add failed");
            }
            Err(e)
        }
    }
}
