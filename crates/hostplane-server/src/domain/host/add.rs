//! AddKVMHost: validate, write the host as Connecting (row and tags in one transaction),
//! connect it, and on any failure remove every trace of it (row, tags, tracker, and the
//! takeover flag if the connect got as far as writing it) before answering with the step that
//! failed. A refused connection, no route or a name that does not resolve fail the add at
//! once: for a new host that is a wrong address or port, not a host that is rebooting.
//!
//! Adds of one management IP run one at a time, and the database's unique index on the IP
//! makes sure only one row can ever exist for it. Adds of different IPs run in parallel up to
//! `host.add.parallelismDegree`; the rest wait their turn.

use std::sync::Arc;

use serde::Deserialize;

use super::connect::{connect, Mode, PortWait};
use super::events::{self, Change, Kind};
use super::{Secret, CONNECTED};
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
    if let Some(other) = app.store.host_uuid_by_ip(&ip).await? {
        let name = app.store.host_get(&other).await?.map(|h| h.name);
        return Err(Error::invalid_argument(format!(
            "there has been a kvm host having management ip[{ip}]: host {} (uuid {other})",
            name.unwrap_or_default()
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
        system_tags: std::mem::take(&mut p.system_tags),
        user_tags: std::mem::take(&mut p.user_tags),
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
        connect(
            app,
            &uuid,
            Mode {
                new_add: true,
                port: if app.configs.get(keys::HOST_ADD_FAIL_FAST) {
                    PortWait::FailFast
                } else {
                    PortWait::Wait
                },
                ..Mode::default()
            },
        )
        .await?;
        query::inventory_of(app, &HOST, &uuid).await
    }
    .await;
    match result {
        Ok(inv) => {
            let c = Change::new(Kind::Added, None, Some(CONNECTED));
            events::record(app, &uuid, c).await;
            Ok(Output::Inventory(inv))
        }
        Err(e) => {
            // Roll back completely: no row, tag, tracker or takeover flag stays.
            app.hosts.tracker.untrack(&uuid);
            let flag = flag_may_exist(&e);
            if let Err(de) = super::delete::roll_back(app, &uuid, flag).await {
                tracing::error!(host.uuid = %uuid, error = %de, "rolling back a failed add failed");
            }
            Err(e)
        }
    }
}

/// Whether a failed add may have left its takeover flag on the host: only once the connect got
/// as far as writing it (or failed where the step is unknown).
fn flag_may_exist(e: &Error) -> bool {
    const BEFORE_THE_FLAG: &[&str] = &[
        "check-state",
        "load-credential",
        "wait-for-ssh-port",
        "ssh-login",
        "verify-host-key",
        "check-sudo",
        "check-takeover",
        "collect-facts",
        "check-host",
        "check-virtualization",
        "check-memory",
        "check-architecture",
        "check-os",
    ];
    let step = e
        .opaque
        .as_ref()
        .and_then(|o| o.get("step"))
        .and_then(|s| s.as_str());
    !step.is_some_and(|s| BEFORE_THE_FLAG.contains(&s))
}
