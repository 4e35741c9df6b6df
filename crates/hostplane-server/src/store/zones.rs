//! Zones.

use super::{IntBool, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ZoneRow {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub state: String,
    #[sqlx(rename = "type")]
    pub zone_type: String,
    #[sqlx(try_from = "IntBool")]
    pub is_default: bool,
}

impl Store {
    pub async fn zone_insert(&self, z: &ZoneRow, now: i64) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        if z.is_default {
            sqlx::query("UPDATE zone SET is_default = 0, last_op_date = $1 WHERE is_default = 1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO zone (uuid, name, description, state, type, is_default, create_date, last_op_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&z.uuid)
        .bind(&z.name)
        .bind(&z.description)
        .bind(&z.state)
        .bind(&z.zone_type)
        .bind(z.is_default as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn zone_get(&self, uuid: &str) -> sqlx::Result<Option<ZoneRow>> {
        sqlx::query_as(
            "SELECT uuid, name, description, state, type, is_default FROM zone WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(self.pool())
        .await
    }

    /// Apply the fields that are `Some`; `is_default = Some(true)` clears the flag elsewhere.
    pub async fn zone_update(
        &self,
        uuid: &str,
        name: Option<&str>,
        description: Option<&str>,
        is_default: Option<bool>,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        if is_default == Some(true) {
            sqlx::query("UPDATE zone SET is_default = 0, last_op_date = $1 WHERE is_default = 1 AND uuid <> $2")
                .bind(now)
                .bind(uuid)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE zone SET name = COALESCE($1, name), description = COALESCE($2, description), \
             is_default = COALESCE($3, is_default), last_op_date = $4 WHERE uuid = $5",
        )
        .bind(name)
        .bind(description)
        .bind(is_default.map(|b| b as i64))
        .bind(now)
        .bind(uuid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn zone_set_state(&self, uuid: &str, state: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE zone SET state = $1, last_op_date = $2 WHERE uuid = $3")
            .bind(state)
            .bind(now)
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Delete the zone row; its clusters go with it (ON DELETE CASCADE). Hosts must already be
    /// gone: the domain deletes them first, because a host's deletion does more than a row.
    pub async fn zone_delete(&self, uuid: &str) -> sqlx::Result<()> {
        let clusters = self.cluster_uuids_in_zone(uuid).await?;
        let mut tx = self.pool().begin().await?;
        for c in clusters.iter().map(String::as_str).chain([uuid]) {
            super::tags::delete_tags_of(&mut tx, c).await?;
        }
        sqlx::query("DELETE FROM cluster WHERE zone_uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM zone WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}
