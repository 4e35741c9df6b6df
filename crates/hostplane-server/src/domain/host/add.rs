//! AddKVMHost: validate, write the host as Connecting, connect it, and on any failure remove
//! every trace of it (row, tags, tracker) before answering with the step that failed.
//!
//! Adds of one management IP run one at a time, and the database's unique index on the IP
//! makes sure only one row can ever exist for it. Adds of different IPs run in parallel up to
//! `host.add.parallelismDegree`; the rest wait their turn.

use std::sync::Arc;

use super::connect::{connect, Mode};
use super::{Secret, HOST_VO};
use crate::domain::api::Params;
use crate::domain::catalogue::HOST;
use crate::domain::{new_uuid, query, validate, App, Output};
use crate::error::{Error, Result};
use crate::store::hosts::NewHost;
use crate::time::now_ms;

/// ZStack's `NetworkUtils.isHostname`: dot-separated labels of letters and digits, with
/// inner hyphens.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// A dotted-quad IPv4 address, each octet 0-255.
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

fn duplicate_ip(ip: &str) -> Error {
    Error::invalid_argument(format!("there has been a host having managementIp[{ip}]"))
}

/// ZStack: APIAddKVMHostMsg, POST /v1/hosts/kvm
pub async fn add_kvm_host(app: &Arc<App>, mut p: Params) -> Result<Output> {
    let ip = p.req("managementIp").to_string();
    if !is_ipv4(&ip) && !is_hostname(&ip) {
        return Err(Error::invalid_argument(format!(
            "managementIp[{ip}] is neither an IPv4 address nor a valid hostname"
        )));
    }
    let cluster = app
        .store
        .cluster_get(p.req("clusterUuid"))
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "cluster[uuid:{}] is not existing",
                p.req("clusterUuid")
            ))
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
    validate::check_system_tags(&mut p)?;
    let uuid = p
        .str("resourceUuid")
        .map(str::to_string)
        .unwrap_or_else(new_uuid);
    let secret = match p.str("privateKey").filter(|k| !k.trim().is_empty()) {
        Some(pem) => Secret::PrivateKey {
            pem: pem.to_string(),
            password: p
                .str("password")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        },
        None => Secret::Password(p.req("password").to_string()),
    };

    // Same-IP adds queue here; the first one wins, the others find the IP taken.
    let ip_lock = app.hosts.ip_lock(&ip);
    let _same_ip = ip_lock.lock().await;
    let limit = app.configs.int("host.add.parallelismDegree").max(1) as usize;
    let _slot = app.hosts.add_gate.enter(limit).await;
    if app.store.host_uuid_by_ip(&ip).await?.is_some() {
        return Err(duplicate_ip(&ip));
    }
    let row = NewHost {
        uuid: uuid.clone(),
        zone_uuid: cluster.zone_uuid.clone(),
        cluster_uuid: cluster.uuid.clone(),
        name: p.req("name").to_string(),
        description: p.str("description").map(str::to_string),
        management_ip: ip.clone(),
        username: p.req("username").to_string(),
        ssh_port: p.int("sshPort").unwrap_or(22),
        credential: app.hosts.crypto.seal(&uuid, &secret)?,
        host_key_fingerprint: p.str("hostKeyFingerprint").map(str::to_string),
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
            .tags_add(true, &uuid, HOST_VO, &p.list("systemTags"), false, now)
            .await?;
        app.store
            .tags_add(false, &uuid, HOST_VO, &p.list("userTags"), false, now)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_ip_rules() {
        assert!(is_ipv4("127.0.0.2"));
        assert!(!is_ipv4("300.1.1.1"));
        assert!(is_hostname("300.1.1.1"), "ZStack accepts it as a hostname");
        assert!(is_hostname("localhost"));
        assert!(is_hostname("kvm-1.example.com"));
        assert!(!is_hostname("###"));
        assert!(!is_hostname("-a.b"));
        assert!(!is_hostname("fe80::1"));
        assert!(!is_hostname("a..b"));
    }
}
