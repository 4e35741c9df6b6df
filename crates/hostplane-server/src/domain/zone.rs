//! Zones: CreateZone, UpdateZone, ChangeZoneState, DeleteZone.
//!
//! A zone holds clusters, which hold hosts. Deleting a zone deletes its hosts (each the way
//! DeleteHost does, in the call's delete mode), then its clusters, then the zone. Changing a
//! zone's state passes the event to its clusters, and they to their hosts.

use std::sync::Arc;

use serde::Deserialize;

use super::api::operation;
use super::catalogue::ZONE;
use super::{cluster, new_uuid, query, App, Output};
use crate::error::{Code, Error, Result};
use crate::store::zones::ZoneRow;
use crate::time::now_ms;

/// ZStack's zone-name rule `^(?! )[\u4e00-\u9fa5a-zA-Z0-9\-_.():+" ]*(?<! )$`, without regex
/// look-around: allowed characters, and no space at either end.
pub fn check_zone_name(name: &str) -> Result<()> {
    let ok_char = |c: char| {
        c.is_ascii_alphanumeric()
            || "-_.():+\" ".contains(c)
            || ('\u{4e00}'..='\u{9fa5}').contains(&c)
    };
    if name.chars().all(ok_char) && !name.starts_with(' ') && !name.ends_with(' ') {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "zone name[{name}] is invalid: use letters, digits, Chinese characters, spaces and -_.():+\" only, with no space at either end"
        )))
    }
}

fn reject_system_tags(system_tags: &[String], msg_class: &str) -> Result<()> {
    if system_tags.iter().any(|t| !t.starts_with("ephemeral::")) {
        return Err(Error::internal(format!(
            "API message[{msg_class}] doesn't define resource type by @TagResourceType"
        )));
    }
    Ok(())
}

/// APICreateZoneMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateZone {
    pub name: String,
    pub description: Option<String>,
    pub is_default: Option<bool>,
    pub resource_uuid: Option<String>,
    #[serde(default)]
    pub tag_uuids: Vec<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(
    CreateZone => create_zone,
    UpdateZone => update_zone,
    ChangeZoneState => change_zone_state,
    DeleteZone => delete_zone,
);

/// ZStack: APICreateZoneMsg, POST /v1/zones
pub async fn create_zone(app: &Arc<App>, p: CreateZone) -> Result<Output> {
    check_zone_name(&p.name)?;
    reject_system_tags(&p.system_tags, "org.zstack.header.zone.APICreateZoneMsg")?;
    let row = ZoneRow {
        uuid: p.resource_uuid.unwrap_or_else(new_uuid),
        name: p.name,
        description: p.description,
        state: "Enabled".into(),
        zone_type: "zstack".into(),
        is_default: p.is_default.unwrap_or(false),
    };
    let now = now_ms();
    app.store
        .zone_insert(&row, now)
        .await
        .map_err(|e| super::duplicate_uuid(e, &row.uuid))?;
    app.store
        .tags_add(false, &row.uuid, "ZoneVO", &p.user_tags, false, now)
        .await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &ZONE, &row.uuid).await?,
    ))
}

/// APIUpdateZoneMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateZone {
    pub uuid: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_default: Option<bool>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// ZStack: APIUpdateZoneMsg, PUT /v1/zones/{uuid}/actions
pub async fn update_zone(app: &Arc<App>, p: UpdateZone) -> Result<Output> {
    if let Some(name) = &p.name {
        check_zone_name(name)?;
    }
    let uuid = &p.uuid;
    app.store
        .zone_update(
            uuid,
            p.name.as_deref(),
            p.description.as_deref(),
            p.is_default,
            now_ms(),
        )
        .await?;
    Ok(Output::Inventory(
        query::inventory_of(app, &ZONE, uuid).await?,
    ))
}

/// APIChangeZoneStateMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeZoneState {
    pub uuid: String,
    pub state_event: String,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// ZStack: APIChangeZoneStateMsg, PUT /v1/zones/{uuid}/actions — cascades to clusters.
pub async fn change_zone_state(app: &Arc<App>, p: ChangeZoneState) -> Result<Output> {
    let uuid = p.uuid.as_str();
    let event = p.state_event.as_str();
    let state = if event == "enable" {
        "Enabled"
    } else {
        "Disabled"
    };
    app.store.zone_set_state(uuid, state, now_ms()).await?;
    for c in app.store.cluster_uuids_in_zone(uuid).await? {
        cluster::apply_state_event(app, &c, event).await?;
    }
    Ok(Output::Inventory(
        query::inventory_of(app, &ZONE, uuid).await?,
    ))
}

/// APIDeleteZoneMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteZone {
    pub uuid: String,
    pub delete_mode: Option<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

/// ZStack: APIDeleteZoneMsg, DELETE /v1/zones/{uuid} — a missing zone is a success.
pub async fn delete_zone(app: &Arc<App>, p: DeleteZone) -> Result<Output> {
    let uuid = p.uuid.as_str();
    if app.store.zone_get(uuid).await?.is_none() {
        return super::missing_delete_target(uuid);
    }
    let enforcing = p.delete_mode.as_deref() == Some("Enforcing");
    for c in app.store.cluster_uuids_in_zone(uuid).await? {
        cluster::remove_cluster(app, &c, enforcing)
            .await
            .map_err(|e| {
                Error::wrap(
                    Code::DeleteResourceError,
                    format!("unable to delete zone[uuid:{uuid}]"),
                    e,
                )
            })?;
    }
    app.store.zone_delete(uuid).await?;
    Ok(Output::Empty)
}

#[cfg(test)]
mod tests {
    #[test]
    fn zone_names() {
        use super::check_zone_name as c;
        assert!(c("zone-1 (test):a+b\"c\"").is_ok());
        assert!(c("区域一").is_ok());
        assert!(c("").is_ok());
        assert!(c(" lead").is_err());
        assert!(c("a/b").is_err());
        assert!(c("a@b").is_err());
    }
}
