//! UpdateHost and UpdateKVMHost: change a host's name, description, management IP, login
//! user, password or key, or SSH port. Only the given fields change; the host is not
//! reconnected (the next connect uses the new values) and the call works in any state or
//! status. A management IP already used by any host — this one included, as in ZStack — is
//! refused. New credentials are sealed like at add time, and they re-enable automatic
//! reconnects that a changed password had stopped.

use std::sync::Arc;

use super::Secret;
use serde::Deserialize;

use crate::domain::api::operation;
use crate::domain::catalogue::HOST;
use crate::domain::{query, App, Output};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// APIUpdateHostMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateHost {
    pub uuid: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub management_ip: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// APIUpdateKVMHostMsg's parameters (UpdateHost's and the login), with hostplane's
/// `privateKey`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateKvmHost {
    pub uuid: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub management_ip: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ssh_port: Option<i64>,
    pub private_key: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

impl From<UpdateHost> for UpdateKvmHost {
    fn from(p: UpdateHost) -> Self {
        UpdateKvmHost {
            uuid: p.uuid,
            name: p.name,
            description: p.description,
            management_ip: p.management_ip,
            system_tags: p.system_tags,
            user_tags: p.user_tags,
            ..Default::default()
        }
    }
}

async fn update_plain_host(app: &Arc<App>, p: UpdateHost) -> Result<Output> {
    update_host(app, p.into()).await
}

operation!(UpdateHost => update_plain_host, UpdateKvmHost => update_host);

/// ZStack: APIUpdateHostMsg (PUT /v1/hosts/{uuid}/actions) and APIUpdateKVMHostMsg
/// (PUT /v1/hosts/kvm/{uuid}/actions)
pub async fn update_host(app: &Arc<App>, p: UpdateKvmHost) -> Result<Output> {
    let uuid = p.uuid.as_str();
    let ip = p.management_ip.as_deref();
    let dup = || {
        Error::invalid_argument(format!(
            "there has been a host having managementIp[{}]",
            ip.unwrap_or_default()
        ))
    };
    if let Some(ip) = ip {
        if app.store.host_uuid_by_ip(ip).await?.is_some() {
            return Err(dup());
        }
    }
    let secret = match (
        p.private_key.as_deref().filter(|k| !k.trim().is_empty()),
        p.password.as_deref(),
    ) {
        (Some(pem), pw) => Some(Secret::PrivateKey {
            pem: pem.to_string(),
            password: pw.filter(|s| !s.is_empty()).map(str::to_string),
        }),
        (None, Some(pw)) => Some(Secret::Password(pw.to_string())),
        (None, None) => None,
    };
    let sealed = secret
        .map(|s| app.hosts.crypto.seal(uuid, &s))
        .transpose()?;
    let r = app
        .store
        .host_update(
            uuid,
            p.name.as_deref(),
            p.description.as_deref(),
            ip,
            p.username.as_deref(),
            sealed.as_deref(),
            p.ssh_port,
            now_ms(),
        )
        .await;
    if let Err(e) = r {
        return Err(if crate::store::is_unique_violation(&e) {
            dup()
        } else {
            e.into()
        });
    }
    if sealed.is_some() || p.username.is_some() {
        app.hosts.tracker.credentials_changed(uuid);
    }
    Ok(Output::Inventory(
        query::inventory_of(app, &HOST, uuid).await?,
    ))
}
