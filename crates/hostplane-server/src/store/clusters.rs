//! Clusters.

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClusterRow {
    pub uuid: String,
    pub zone_uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub state: String,
    pub hypervisor_type: String,
    #[sqlx(rename = "type")]
    pub cluster_type: String,
    pub architecture: Option<String>,
}

impl Store {
    pub async fn cluster_insert(&self, c: &ClusterRow, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO cluster (uuid, zone_uuid, name, description, state, hypervisor_type, type, architecture, create_date, last_op_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&c.uuid)
        .bind(&c.zone_uuid)
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.state)
        .bind(&c.hypervisor_type)
        .bind(&c.cluster_type)
        .bind(&c.architecture)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn cluster_get(&self, uuid: &str) -> sqlx::Result<Option<ClusterRow>> {
        sqlx::query_as(
            "SELECT uuid, zone_uuid, name, description, state, hypervisor_type, type, architecture FROM cluster WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(self.pool())
        .await
    }

    /// The uuids of the clusters named `name`.
    pub async fn cluster_uuids_by_name(&self, name: &str) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar("SELECT uuid FROM cluster WHERE name = $1")
            .bind(name)
            .fetch_all(self.pool())
            .await
    }

    pub async fn cluster_uuids_in_zone(&self, zone_uuid: &str) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar("SELECT uuid FROM cluster WHERE zone_uuid = $1")
            .bind(zone_uuid)
            .fetch_all(self.pool())
            .await
    }

    pub async fn cluster_update(
        &self,
        uuid: &str,
        name: Option<&str>,
        description: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE cluster SET name = COALESCE($1, name), description = COALESCE($2, description), last_op_date = $3 WHERE uuid = $4",
        )
        .bind(name)
        .bind(description)
        .bind(now)
        .bind(uuid)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn cluster_set_state(&self, uuid: &str, state: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE cluster SET state = $1, last_op_date = $2 WHERE uuid = $3")
            .bind(state)
            .bind(now)
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Set the architecture only if the cluster has none yet (the first host decides it).
    /// Returns the cluster's architecture after the call.
    pub async fn cluster_adopt_architecture(
        &self,
        uuid: &str,
        arch: &str,
        now: i64,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query("UPDATE cluster SET architecture = $1, last_op_date = $2 WHERE uuid = $3 AND architecture IS NULL")
            .bind(arch)
            .bind(now)
            .bind(uuid)
            .execute(self.pool())
            .await?;
        let arch: Option<Option<String>> =
            sqlx::query_scalar("SELECT architecture FROM cluster WHERE uuid = $1")
                .bind(uuid)
                .fetch_optional(self.pool())
                .await?;
        Ok(arch.flatten())
    }

    /// Delete the cluster row and its tags. Hosts must already be gone (see `zone_delete`).
    pub async fn cluster_delete(&self, uuid: &str) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        super::tags::delete_tags_of(&mut tx, uuid).await?;
        sqlx::query("DELETE FROM cluster WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}
