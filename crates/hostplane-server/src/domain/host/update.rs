//! UpdateHost and UpdateKVMHost: change a host's name, description, management IP, login
//! user, password or key, or SSH port. Only the given fields change; the host is not
//! reconnected (the next connect uses the new values) and the call works in any state or
//! status. A management IP already used by any host — this one included, as in ZStack — is
//! refused. New credentials are sealed like at add time, and they re-enable automatic
//! reconnects that a changed password had stopped.

use std::sync::Arc;

use super::Secret;
use crate::domain::api::Params;
use crate::domain::catalogue::HOST;
use crate::domain::{query, App, Output};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// ZStack: APIUpdateHostMsg (PUT /v1/hosts/{uuid}/actions) and APIUpdateKVMHostMsg
/// (PUT /v1/hosts/kvm/{uuid}/actions)
pub async fn update_host(app: &Arc<App>, p: &Params) -> Result<Output> {
    let uuid = p.req("uuid");
    let ip = p.str("managementIp");
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
        p.str("privateKey").filter(|k| !k.trim().is_empty()),
        p.str("password"),
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
            p.str("name"),
            p.str("description"),
            ip,
            p.str("username"),
            sealed.as_deref(),
            p.int("sshPort"),
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
    if sealed.is_some() || p.str("username").is_some() {
        app.hosts.tracker.credentials_changed(uuid);
    }
    Ok(Output::Inventory(
        query::inventory_of(app, &HOST, uuid).await?,
    ))
}
